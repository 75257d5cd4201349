#!/bin/sh
# make bench: builds what the benchmarks need, runs them, prints the table and
# writes it to bench/RESULTS.md.  THREADS=2 RUNS=3 by default; CNN_ONLY=1 (RESNET_ONLY=1, SEQ_ONLY=1) runs
# only the CNN against PyTorch and updates that section; BENCH_QUICK=1 runs
# everything once at small sample counts into build/bench/RESULTS_quick.md
# (a check of the scripts, about two minutes).  docs/bench.md has the rest.
set -e
cd "$(dirname "$0")/.."
make -s all
mkdir -p build/bench
cc -O2 -std=c11 -D_POSIX_C_SOURCE=200809L -Iinclude bench/bench_mlp.c build/libmynn.a \
   -o build/bench/bench_mlp -lm -lz -fopenmp
if [ -f bench/bench_gemm.c ]; then
    cc -O2 -std=c11 -D_POSIX_C_SOURCE=200809L -Iinclude -Isrc -I/usr/include/x86_64-linux-gnu/openblas-pthread \
       bench/bench_gemm.c build/libmynn.a -o build/bench/bench_gemm -lopenblas -lm -lz -fopenmp \
       || echo "bench_gemm not built (is libopenblas-dev installed?)"
fi
# FANN's per-sample training (Debian's libfann-dev, float build) and the
# STREAM-like bandwidth: built only here.
rm -f build/bench/fann_train
cc -O2 -std=c11 -D_POSIX_C_SOURCE=200809L bench/fann_train.c -o build/bench/fann_train -lfloatfann -lz -lm \
   || echo "fann_train not built (is libfann-dev installed?): no FANN figures"
cc -O3 -march=native -std=c11 -fopenmp bench/stream.c -o build/bench/stream
# int8 vs float inference (mynn quantize): its own table, bench/RESULTS_int8.md
cc -O2 -std=c11 -D_POSIX_C_SOURCE=200809L -Iinclude bench/bench_int8.c build/libmynn.a \
   -o build/bench/bench_int8 -lm -lz -fopenmp
[ "${CNN_ONLY:-0}" = 1 ] || [ "${RESNET_ONLY:-0}" = 1 ] || [ "${SEQ_ONLY:-0}" = 1 ] || [ "${BENCH_QUICK:-0}" = 1 ] || { echo "# int8 vs float inference (bench/bench_int8.c, make bench)"; echo;
  echo "784-256-128-10 ReLU MLP and CNN (conv 8 3x3 + batch norm + ReLU, max pool 2, conv 16 3x3 ReLU, max pool 2, dense 10; untrained:"
  echo "speed only), Fashion-MNIST test images, batches of 1024, median of 5, $(date -u +%F), CPU: $(sed -n 's/^model name[^:]*: //p' /proc/cpuinfo | head -n1);"
  echo "load average before the run: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cores (a shared machine is noisy;"
  echo "compare the ratio of one row, measured in the same run)."; echo;
  build/bench/bench_int8 /usr/share/datasets/fashion-mnist "${THREADS:-2}" 5; } | tee bench/RESULTS_int8.md
cc -O2 -std=c11 -D_POSIX_C_SOURCE=200809L -Iinclude bench/bench_cnn.c build/libmynn.a \
   -o build/bench/bench_cnn -lm -lz -fopenmp
cc -O2 -std=c11 -D_POSIX_C_SOURCE=200809L -Iinclude bench/bench_seq.c build/libmynn.a \
   -o build/bench/bench_seq -lm -lz -fopenmp
/usr/bin/python3 bench/run.py --selftest
exec /usr/bin/python3 bench/run.py "$@"
