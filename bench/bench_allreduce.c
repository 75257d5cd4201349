/* MPI_Allreduce(MPI_IN_PLACE, MPI_SUM) of N floats, as mynn's gradient
 * step does: the median time per call over REPS calls (after warm-up),
 * printed by rank 0 as "allreduce N floats: T us (median of REPS)".
 * Usage: mpirun -np P bench_allreduce N [REPS]. */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    int n = argc > 1 ? atoi(argv[1]) : 235146, reps = argc > 2 ? atoi(argv[2]) : 200, rank;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    float *buf = malloc((size_t)n * sizeof *buf);
    double *t = malloc((size_t)reps * sizeof *t);
    for (int i = 0; i < n; i++) buf[i] = 1e-3f * (float)(i % 1000);
    for (int i = 0; i < 20; i++) MPI_Allreduce(MPI_IN_PLACE, buf, n, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
    for (int i = 0; i < reps; i++) {
        MPI_Barrier(MPI_COMM_WORLD);
        double t0 = MPI_Wtime();
        MPI_Allreduce(MPI_IN_PLACE, buf, n, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
        t[i] = MPI_Wtime() - t0;
        for (int j = 0; j < n; j += 1024) buf[j] *= 0.5f;   /* keep the values bounded */
    }
    qsort(t, (size_t)reps, sizeof *t, cmp);
    if (rank == 0) printf("allreduce %d floats: %.1f us (median of %d)\n", n, 1e6 * t[reps / 2], reps);
    free(buf);
    free(t);
    MPI_Finalize();
    return 0;
}
