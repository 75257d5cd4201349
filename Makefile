# mynn - build, test, install.
#   make                 libmynn.a, libmynn.so, the mynn tool and the examples (in build/)
#   make test            the test suite, then again under ASan+UBSan (build-san/)
#   make valgrind        memcheck over the fast tests and the tool (build-vg/, no OpenMP)
#   make demo            the main job (see README)
#   make demo-cnn        a CNN with batch norm on Fashion-MNIST
#   make demo-resnet     a small ResNet with augmentation on Fashion-MNIST (about 20 minutes)
#   make demo-lstm       Fashion-MNIST rows as sequences through an LSTM
#   make demo-text       a character-level LSTM language model of Debian's fortunes, then generated text
#   make bench           benchmarks (bench/RESULTS.md; BENCH_QUICK=1: a quick check, docs/bench.md)
#   make bench-small     mynn's defaults against FANN and scikit-learn on 21 public tables
#                        (docs/small-data.md; needs libfann-dev, python3-sklearn,
#                        python3-statsmodels, r-base-core; about an hour on 2 busy cores)
#   make test-mpi        data-parallel tests over Open MPI (build-mpi/, MPI=1)
#   make bench-mpi       1 rank x 2 threads against 2 ranks x 1 thread (bench/RESULTS.md)
#   make install PREFIX=/usr/local
#   make onnxruntime     ONNX Runtime from npm into build/npm, for the ONNX export tests
#   make test-python     the Python package's pytest suite (python/tests; part of make test)
#   make install-python  pip install the Python package (PIP_FLAGS=--break-system-packages
#                        for a system install on Debian 12)
# Switches: OPENMP=0|1 (default: 1 where the compiler has it), ZLIB=0|1 (default:
# 1 where zlib.h exists), BLAS=openblas (GEMM from OpenBLAS instead of ours),
# SAN=1 (sanitizer build), DEBUG=1, CROSS=aarch64-linux-gnu- (cross build with
# that toolchain prefix, in build-aarch64-linux-gnu/; see docs/arm.md), MPI=1
# (data-parallel training over MPI: build/libmynn_mpi.a and an mpirun-aware
# tool; flags from `mpicc --showme`).
#   make test-arm        the tests cross-built for 64-bit Arm, run under qemu-aarch64

ifneq ($(CROSS),)
ifeq ($(origin CC),default)
CC      := $(CROSS)gcc
endif
ifeq ($(origin AR),default)
AR      := $(CROSS)ar
endif
BUILD   ?= build-$(patsubst %-,%,$(CROSS))
endif
CC      ?= cc
AR      ?= ar
PREFIX  ?= /usr/local
BUILD   ?= build

# have FLAGS,PROLOGUE: 1 if a program with PROLOGUE compiles and links with FLAGS.
hash := \#
have = $(shell printf '$(2)\nint main(void){return 0;}\n' | $(CC) -x c - $(1) -o /dev/null >/dev/null 2>&1 && echo 1 || echo 0)
ifeq ($(origin OPENMP),undefined)
OPENMP := $(call have,-fopenmp,)
endif
ifeq ($(origin ZLIB),undefined)
ZLIB := $(call have,-lz,$(hash)include <zlib.h>)
endif

CFLAGS  ?= -O3 -g
CFLAGS  += -std=c11 -Wall -Wextra -Wpedantic -fPIC -fvisibility=hidden -fno-math-errno
CPPFLAGS += -Iinclude -Isrc -D_POSIX_C_SOURCE=200809L
LDLIBS  += -lm

ifeq ($(DEBUG),1)
CFLAGS  += -O0
endif
ifeq ($(OPENMP),1)
CFLAGS  += -fopenmp
LDFLAGS += -fopenmp
endif
ifeq ($(ZLIB),1)
CPPFLAGS += -DMYNN_HAVE_ZLIB
LDLIBS  += -lz
endif
ifeq ($(BLAS),openblas)
CPPFLAGS += -DMYNN_BLAS_OPENBLAS -I/usr/include/x86_64-linux-gnu/openblas-pthread
LDLIBS  += -lopenblas
endif
ifeq ($(SAN),1)
CFLAGS  += -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
LDFLAGS += -fsanitize=address,undefined
endif
CFLAGS  += $(EXTRA_CFLAGS)

# MPI=1: only src/mpi/ and the tool's cli/dist.c see MPI; libmynn never does.
MPI ?= 0
MPI_SRC   := $(sort $(wildcard src/mpi/*.c))
MPI_OBJ   := $(MPI_SRC:%.c=$(BUILD)/%.o)
MPILIB    := $(BUILD)/libmynn_mpi.a
ifeq ($(MPI),1)
MPICC     ?= mpicc
MPI_CFLAGS := $(shell $(MPICC) --showme:compile 2>/dev/null || $(MPICC) -compile-info 2>/dev/null | cut -d' ' -f2-)
MPI_LIBS  := $(shell $(MPICC) --showme:link 2>/dev/null || $(MPICC) -link-info 2>/dev/null | cut -d' ' -f2-)
DIST_OBJ  := $(BUILD)/cli/dist_mpi.o
TOOL_LDLIBS := $(MPI_LIBS) -pthread
else
DIST_OBJ  := $(BUILD)/cli/dist.o
endif

LIB_SRC   := $(sort $(filter-out src/mpi/%,$(wildcard src/*/*.c)))
CLI_SRC   := $(sort $(wildcard cli/*.c))
EX_SRC    := $(sort $(wildcard examples/*.c))
TEST_SRC  := $(sort $(wildcard tests/test_*.c))
TEST_UTIL := $(filter-out $(TEST_SRC),$(wildcard tests/*.c))

LIB_OBJ   := $(LIB_SRC:%.c=$(BUILD)/%.o)
# Each layer kind's kernels that the generated C copies (tools/ctext.awk):
# src/layers/K.c includes K.ctext.h, made from its own ctext blocks.
LAYER_SRC := $(sort $(wildcard src/layers/*.c))
CTEXT     := $(LAYER_SRC:src/layers/%.c=$(BUILD)/gen/%.ctext.h)
CPPFLAGS  += -I$(BUILD)/gen
CLI_OBJ   := $(filter-out $(BUILD)/cli/dist.o,$(CLI_SRC:%.c=$(BUILD)/%.o)) $(DIST_OBJ)
TEST_UOBJ := $(TEST_UTIL:%.c=$(BUILD)/%.o)
EXAMPLES  := $(EX_SRC:examples/%.c=$(BUILD)/examples/%)
TESTS     := $(TEST_SRC:tests/%.c=$(BUILD)/tests/%)

STATIC  := $(BUILD)/libmynn.a
SHARED  := $(BUILD)/libmynn.so
TOOL    := $(BUILD)/mynn

.PHONY: all lib test test-run test-arm valgrind demo demo-cnn demo-resnet demo-lstm demo-text bench bench-small install clean \
        fuzz fuzz-build test-mpi bench-mpi FORCE onnxruntime test-python install-python
all: lib $(TOOL) $(EXAMPLES)
lib: $(STATIC) $(SHARED)

# The recurrent cells' gate arithmetic (src/layers/recurrent.h) becomes vector
# code only when float compares may be if-converted: values are unchanged,
# only floating-point exception flags (which nothing reads) may differ.
CELL_OBJ := $(BUILD)/src/layers/lstm.o $(BUILD)/src/layers/gru.o $(BUILD)/src/layers/rnn.o
$(CELL_OBJ): CFLAGS += -fno-trapping-math

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/gen/%.ctext.h: src/layers/%.c tools/ctext.awk
	@mkdir -p $(dir $@)
	awk -f tools/ctext.awk $< > $@.tmp && mv $@.tmp $@

$(LAYER_SRC:src/layers/%.c=$(BUILD)/src/layers/%.o): $(BUILD)/src/layers/%.o: $(BUILD)/gen/%.ctext.h

$(STATIC): $(LIB_OBJ)
	@mkdir -p $(dir $@)
	rm -f $@ && $(AR) rcs $@ $^

$(SHARED): $(LIB_OBJ)
	$(CC) -shared $(LDFLAGS) -Wl,-soname,libmynn.so.0 -o $@ $^ $(LDLIBS)

# The tool is relinked when MPI changes (its objects differ, not their dates).
$(BUILD)/mpi.flag: FORCE
	@mkdir -p $(dir $@)
	@echo $(MPI) | cmp -s - $@ || echo $(MPI) > $@
FORCE:

$(TOOL): $(CLI_OBJ) $(STATIC) $(BUILD)/mpi.flag $(if $(filter 1,$(MPI)),$(MPILIB))
	$(CC) $(LDFLAGS) -o $@ $(CLI_OBJ) $(if $(filter 1,$(MPI)),$(MPILIB)) $(STATIC) $(LDLIBS) $(TOOL_LDLIBS)

$(MPI_OBJ): $(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(MPI_CFLAGS) $(CFLAGS) -MMD -MP -c $< -o $@

$(MPILIB): $(MPI_OBJ)
	rm -f $@ && ar rcs $@ $^

$(BUILD)/cli/dist_mpi.o: cli/dist.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) -DMYNN_HAVE_MPI $(MPI_CFLAGS) $(CFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/examples/%: $(BUILD)/examples/%.o $(STATIC)
	$(CC) $(LDFLAGS) -o $@ $< $(STATIC) $(LDLIBS)

$(BUILD)/tests/%: $(BUILD)/tests/%.o $(TEST_UOBJ) $(STATIC)
	$(CC) $(LDFLAGS) -o $@ $< $(TEST_UOBJ) $(STATIC) $(LDLIBS)

# tests/test_fann.c compares the FANN recipe with Debian's libfann
# (libfann-dev) where it is installed, and skips that part otherwise.
FANN_TEST := $(call have,-lfann -lm,$(hash)include <fann.h>)
ifeq ($(FANN_TEST),1)
$(BUILD)/tests/test_fann.o: CPPFLAGS += -DMYNN_HAVE_FANN
$(BUILD)/tests/test_fann: LDLIBS += -lfann
endif

# The reducer test plays ranks with threads.
$(BUILD)/tests/test_dist: LDLIBS += -pthread

# Tests see internal headers (src/) and the built tool's path.
test-run: all $(TESTS)
	@MYNN_TOOL=$(TOOL) sh tests/run.sh $(TESTS)

test:
	@$(MAKE) --no-print-directory test-run
	@$(MAKE) --no-print-directory test-python
	@echo "== the same suite under AddressSanitizer + UndefinedBehaviorSanitizer"
	@$(MAKE) --no-print-directory BUILD=build-san SAN=1 MYNN_SAN=1 test-run

# The Python package (python/) over this build's libmynn.so; once, in the
# normal build only (make test runs it before the sanitizer pass).
PYTHON ?= /usr/bin/python3
PIP_FLAGS ?=
test-python: lib $(TOOL)
	@echo "== python/tests (pytest)"
	@if $(PYTHON) -c "import pytest, numpy" 2>/dev/null; then \
	    MYNN_LIBRARY=$(abspath $(SHARED)) MYNN_TOOL=$(abspath $(TOOL)) $(PYTHON) -m pytest -q python/tests; \
	else echo "python tests skipped: $(PYTHON) lacks pytest or numpy (apt-get install python3-pytest python3-numpy)"; fi

install-python: lib
	$(PYTHON) -m pip install --no-build-isolation $(PIP_FLAGS) ./python

# Memcheck (0 errors, no definite leaks) over the tests that finish in under
# a minute there, then the tool on small data; built without OpenMP, whose
# thread pool would only add noise.
VG_TESTS := core grad conv model data optim fit step lbfgs dist fuzz_corpus onnx encoding npy fann rank1 fold seq
VALGRIND := valgrind -q --error-exitcode=1 --leak-check=full \
            --errors-for-leak-kinds=definite --show-leak-kinds=definite
valgrind:
	@$(MAKE) --no-print-directory BUILD=build-vg OPENMP=0 build-vg/mynn $(VG_TESTS:%=build-vg/tests/test_%)
	@VALGRIND="$(VALGRIND)" sh tests/valgrind.sh build-vg $(VG_TESTS:%=build-vg/tests/test_%)

# The test suite cross-built for AArch64 and run under user-mode emulation
# (test_gemm then covers the NEON engine); test_cli runs the cross-built
# tool through a wrapper script that starts the emulator.  MYNN_EMU=1 skips
# wall-clock limits and the Fashion-MNIST trainings (minutes emulated).
ARM_CROSS := aarch64-linux-gnu-
ARM_BUILD := build-$(patsubst %-,%,$(ARM_CROSS))
ARM_TESTS := $(TEST_SRC:tests/test_%.c=%)
QEMU_ARM  ?= qemu-aarch64
test-arm:
	@$(MAKE) --no-print-directory CROSS=$(ARM_CROSS) BUILD=$(ARM_BUILD) \
	    $(ARM_BUILD)/mynn $(ARM_TESTS:%=$(ARM_BUILD)/tests/test_%)
	@printf '#!/bin/sh\nexec %s "$$(dirname "$$0")/mynn" "$$@"\n' "$(QEMU_ARM)" >$(ARM_BUILD)/mynn-emu
	@chmod +x $(ARM_BUILD)/mynn-emu
	@QEMU_LD_PREFIX=/usr/$(patsubst %-,%,$(ARM_CROSS)) MYNN_TEST_WRAP="$(QEMU_ARM)" MYNN_EMU=1 \
	    MYNN_TOOL=$(ARM_BUILD)/mynn-emu sh tests/run.sh $(ARM_TESTS:%=$(ARM_BUILD)/tests/test_%)
# Data-parallel tests and benchmark: an MPI build of the tool in build-mpi/.
test-mpi:
	@$(MAKE) --no-print-directory BUILD=build-mpi MPI=1 build-mpi/mynn build-mpi/tests/mpi_compare
	@sh tests/mpi/run.sh build-mpi

bench-mpi:
	@$(MAKE) --no-print-directory BUILD=build-mpi MPI=1 build-mpi/mynn
	@sh bench/mpi.sh build-mpi/mynn

$(BUILD)/tests/mpi_compare: tests/mpi/compare.c $(STATIC)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(LDFLAGS) -o $@ $< $(STATIC) $(LDLIBS)

demo: all
	@sh examples/demo.sh $(TOOL) $(BUILD)/examples

demo-cnn: all
	@sh examples/demo_cnn.sh $(TOOL)

demo-resnet: all
	@sh examples/demo_resnet.sh $(TOOL)

demo-lstm: all
	@sh examples/demo_lstm.sh $(TOOL)

demo-text: all
	@sh examples/demo_text.sh $(TOOL)

bench: all
	@sh bench/run.sh

# Every method measured in the same run: the cache of earlier runs is dropped.
bench-small: all
	@mkdir -p build/bench
	$(CC) -O2 bench/fann_rprop.c -o build/bench/fann_rprop -lfann -lm
	rm -f build/small_data/results.json
	$(PYTHON) bench/small_data.py

install: all
	install -d $(DESTDIR)$(PREFIX)/include $(DESTDIR)$(PREFIX)/lib/pkgconfig $(DESTDIR)$(PREFIX)/bin
	install -m 644 include/mynn.h $(DESTDIR)$(PREFIX)/include/
	install -m 644 $(STATIC) $(DESTDIR)$(PREFIX)/lib/
	install -m 755 $(SHARED) $(DESTDIR)$(PREFIX)/lib/libmynn.so.0
	ln -sf libmynn.so.0 $(DESTDIR)$(PREFIX)/lib/libmynn.so
	install -m 755 $(TOOL) $(DESTDIR)$(PREFIX)/bin/
	$(if $(filter 1,$(MPI)),install -m 644 include/mynn_mpi.h $(DESTDIR)$(PREFIX)/include/)
	$(if $(filter 1,$(MPI)),install -m 644 $(MPILIB) $(DESTDIR)$(PREFIX)/lib/)
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@VERSION@|0.1.0|' \
	    -e 's|@LIBS@|$(LDLIBS) $(if $(filter 1,$(OPENMP)),-fopenmp)|' mynn.pc.in \
	    > $(DESTDIR)$(PREFIX)/lib/pkgconfig/mynn.pc

# ONNX Runtime for tests/test_onnx.c (which skips without it): the npm
# package onnxruntime-node carries its CPU runtime, so no install script runs.
# The test looks in $$MYNN_ORT_DIR, default build/npm.  Tested with 1.30.0.
ORT_DIR ?= build/npm
ORT_VERSION ?= 1.30.0
# A registry that cannot be reached is not an error here: the ONNX Runtime
# checks then skip, saying so (the onnx checker still runs).
onnxruntime:
	@test -d $(ORT_DIR)/node_modules/onnxruntime-node || \
	    { mkdir -p $(ORT_DIR) && cd $(ORT_DIR) && \
	      npm install --ignore-scripts --no-audit --no-fund onnxruntime-node@$(ORT_VERSION); } || \
	    echo "make onnxruntime: npm could not install onnxruntime-node; its tests will skip"

# Fuzzing (clang + libFuzzer): FUZZ_TIME seconds per target (default 60).
FUZZ_TARGETS := csv fann idx safetensors layers dataset checkpoint qmodel npy text
FUZZ_BIN := $(FUZZ_TARGETS:%=build-fuzz/fuzz_%)
FUZZ_SAN := -fsanitize=address,undefined -fno-sanitize-recover=undefined
FUZZ_TIME ?= 60

fuzz-build:
	@$(MAKE) --no-print-directory BUILD=build-fuzz CC=clang OPENMP=0 \
	    EXTRA_CFLAGS="-fsanitize=fuzzer-no-link $(FUZZ_SAN)" build-fuzz/libmynn.a
	@for t in $(FUZZ_TARGETS); do \
	    clang -g -O1 -fsanitize=fuzzer $(FUZZ_SAN) $(CPPFLAGS) -DFUZZ_TARGET=fuzz_$$t \
	        fuzz/driver.c fuzz/targets.c build-fuzz/libmynn.a $(LDLIBS) -o build-fuzz/fuzz_$$t || exit 1; \
	done

fuzz: fuzz-build
	@sh fuzz/run.sh $(FUZZ_TIME) $(FUZZ_TARGETS)

clean:
	rm -rf build build-san build-fuzz build-vg build-aarch64-linux-gnu
	rm -rf build build-san build-fuzz build-vg build-mpi

-include $(LIB_OBJ:.o=.d) $(CLI_OBJ:.o=.d) $(MPI_OBJ:.o=.d) $(TEST_UOBJ:.o=.d) $(TEST_SRC:%.c=$(BUILD)/%.d) $(EX_SRC:%.c=$(BUILD)/%.d)
