#!/bin/sh
# make bench-mpi: the Fashion-MNIST MLP epoch with 1 rank x 2 threads against
# 2 ranks x 1 thread, the time per step in the gradient all-reduce, and the
# bare MPI_Allreduce of the MLP's gradient; writes the "Data-parallel
# training" section of bench/RESULTS.md.  Usage: bench/mpi.sh TOOL (an
# MPI=1 build).  RUNS=3 by default.
set -e
cd "$(dirname "$0")/.."
mkdir -p build-mpi/bench
mpicc -O2 bench/bench_allreduce.c -o build-mpi/bench/bench_allreduce
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
exec /usr/bin/python3 bench/mpi.py "$1" build-mpi/bench/bench_allreduce
