#!/bin/sh
# make bench: builds what the benchmarks need, runs them, prints the table and
# writes it to bench/RESULTS.md.  THREADS=2 RUNS=3 by default.
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
cc -O2 -std=c11 -D_POSIX_C_SOURCE=200809L -Iinclude bench/bench_cnn.c build/libmynn.a \
   -o build/bench/bench_cnn -lm -lz -fopenmp
exec /usr/bin/python3 bench/run.py "$@"
