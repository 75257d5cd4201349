#!/bin/sh
# Build the library and bench/bench_gemm.c, then print the GEMM table
# (ours vs OpenBLAS).  Arguments go to bench_gemm: [seconds-per-rep] [reps].
# MYNN_GEMM=avx2|generic|... benchmarks a lower engine.
set -e
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
CC=${CC:-cc}
make -s lib BUILD="$BUILD"
mkdir -p "$BUILD/bench"
$CC -O2 -std=c11 -Iinclude -Isrc -I/usr/include/x86_64-linux-gnu/openblas-pthread \
    bench/bench_gemm.c "$BUILD/libmynn.a" -o "$BUILD/bench/bench_gemm" \
    -fopenmp -lopenblas -lm -lpthread
exec "$BUILD/bench/bench_gemm" "$@"
