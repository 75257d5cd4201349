# mynn - build, test, install.
#   make                 libmynn.a, libmynn.so, the mynn tool and the examples (in build/)
#   make test            the test suite, then again under ASan+UBSan (build-san/)
#   make valgrind        memcheck over the fast tests and the tool (build-vg/, no OpenMP)
#   make demo            the main job (see README)
#   make demo-cnn        a CNN with batch norm on Fashion-MNIST
#   make bench           benchmarks (bench/RESULTS.md)
#   make install PREFIX=/usr/local
# Switches: OPENMP=0|1 (default: 1 where the compiler has it), ZLIB=0|1 (default:
# 1 where zlib.h exists), BLAS=openblas (GEMM from OpenBLAS instead of ours),
# SAN=1 (sanitizer build), DEBUG=1.

CC      ?= cc
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

LIB_SRC   := $(sort $(wildcard src/*/*.c))
CLI_SRC   := $(sort $(wildcard cli/*.c))
EX_SRC    := $(sort $(wildcard examples/*.c))
TEST_SRC  := $(sort $(wildcard tests/test_*.c))
TEST_UTIL := $(filter-out $(TEST_SRC),$(wildcard tests/*.c))

LIB_OBJ   := $(LIB_SRC:%.c=$(BUILD)/%.o)
CLI_OBJ   := $(CLI_SRC:%.c=$(BUILD)/%.o)
TEST_UOBJ := $(TEST_UTIL:%.c=$(BUILD)/%.o)
EXAMPLES  := $(EX_SRC:examples/%.c=$(BUILD)/examples/%)
TESTS     := $(TEST_SRC:tests/%.c=$(BUILD)/tests/%)

STATIC  := $(BUILD)/libmynn.a
SHARED  := $(BUILD)/libmynn.so
TOOL    := $(BUILD)/mynn

.PHONY: all lib test test-run valgrind demo demo-cnn bench install clean fuzz fuzz-build
all: lib $(TOOL) $(EXAMPLES)
lib: $(STATIC) $(SHARED)

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -MMD -MP -c $< -o $@

$(STATIC): $(LIB_OBJ)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

$(SHARED): $(LIB_OBJ)
	$(CC) -shared $(LDFLAGS) -Wl,-soname,libmynn.so.0 -o $@ $^ $(LDLIBS)

$(TOOL): $(CLI_OBJ) $(STATIC)
	$(CC) $(LDFLAGS) -o $@ $(CLI_OBJ) $(STATIC) $(LDLIBS)

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

# Tests see internal headers (src/) and the built tool's path.
test-run: all $(TESTS)
	@MYNN_TOOL=$(TOOL) sh tests/run.sh $(TESTS)

test:
	@$(MAKE) --no-print-directory test-run
	@echo "== the same suite under AddressSanitizer + UndefinedBehaviorSanitizer"
	@$(MAKE) --no-print-directory BUILD=build-san SAN=1 MYNN_SAN=1 test-run

# Memcheck (0 errors, no definite leaks) over the tests that finish in under
# a minute there, then the tool on small data; built without OpenMP, whose
# thread pool would only add noise.
VG_TESTS := core grad model data optim fit fuzz_corpus encoding npy fann
VALGRIND := valgrind -q --error-exitcode=1 --leak-check=full \
            --errors-for-leak-kinds=definite --show-leak-kinds=definite
valgrind:
	@$(MAKE) --no-print-directory BUILD=build-vg OPENMP=0 build-vg/mynn $(VG_TESTS:%=build-vg/tests/test_%)
	@VALGRIND="$(VALGRIND)" sh tests/valgrind.sh build-vg $(VG_TESTS:%=build-vg/tests/test_%)

demo: all
	@sh examples/demo.sh $(TOOL) $(BUILD)/examples

demo-cnn: all
	@sh examples/demo_cnn.sh $(TOOL)

bench: all
	@sh bench/run.sh

install: lib
	install -d $(DESTDIR)$(PREFIX)/include $(DESTDIR)$(PREFIX)/lib/pkgconfig $(DESTDIR)$(PREFIX)/bin
	install -m 644 include/mynn.h $(DESTDIR)$(PREFIX)/include/
	install -m 644 $(STATIC) $(DESTDIR)$(PREFIX)/lib/
	install -m 755 $(SHARED) $(DESTDIR)$(PREFIX)/lib/libmynn.so.0
	ln -sf libmynn.so.0 $(DESTDIR)$(PREFIX)/lib/libmynn.so
	install -m 755 $(TOOL) $(DESTDIR)$(PREFIX)/bin/
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@VERSION@|0.1.0|' \
	    -e 's|@LIBS@|$(LDLIBS) $(if $(filter 1,$(OPENMP)),-fopenmp)|' mynn.pc.in \
	    > $(DESTDIR)$(PREFIX)/lib/pkgconfig/mynn.pc

# Fuzzing (clang + libFuzzer): FUZZ_TIME seconds per target (default 60).
FUZZ_TARGETS := csv fann idx safetensors layers dataset checkpoint npy
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
	rm -rf build build-san build-fuzz build-vg

-include $(LIB_OBJ:.o=.d) $(CLI_OBJ:.o=.d) $(TEST_UOBJ:.o=.d) $(TEST_SRC:%.c=$(BUILD)/%.d) $(EX_SRC:%.c=$(BUILD)/%.d)
