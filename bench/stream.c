/* STREAM-like bandwidth for make bench (bench/run.py): the ceiling that
 * per-sample training is measured against.
 *   stream THREADS BYTES [SECONDS]
 * BYTES is the working set of the copy (two float arrays of BYTES/2 each:
 * below the L2 size it measures the L2, above the L3 the memory); the
 * triad uses three arrays of BYTES/2.  Each kernel repeats until SECONDS
 * (0.2 by default) have passed; the best repetition counts, as in STREAM.
 * Bytes moved count each array read or written once (STREAM's convention:
 * a copy of n floats moves 8n bytes; the write-allocate read is not counted).
 * Prints "bytes=B threads=T copy_gbs=C triad_gbs=R". */
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>

/* a[i] = b[i] over this thread's slice: the split is the same in every
 * repetition, so each thread keeps its part of the arrays in its own cache. */
static void copy(float *restrict a, const float *restrict b, size_t n)
{
#pragma omp parallel for schedule(static)
    for (size_t i = 0; i < n; i++) a[i] = b[i];
}

static void triad(float *restrict a, const float *restrict b, const float *restrict c, size_t n)
{
#pragma omp parallel for schedule(static)
    for (size_t i = 0; i < n; i++) a[i] = b[i] + 3.0f * c[i];
}

/* Best bytes/s of kernel k (0 copy, 1 triad) over SECONDS of repetitions;
 * the passes are batched so that a timer call costs little beside a small
 * working set. */
static double best_rate(int k, float *a, float *b, float *c, size_t n, double seconds)
{
    double moved = (k ? 3.0 : 2.0) * (double)n * sizeof(float), best = 0.0;
    int inner = (int)(4e6 / (double)n) + 1;
    double start = omp_get_wtime();
    do {
        double t0 = omp_get_wtime();
        for (int r = 0; r < inner; r++) {
            if (k) triad(a, b, c, n);
            else copy(a, b, n);
        }
        double dt = omp_get_wtime() - t0;
        if (dt > 0 && moved * inner / dt > best) best = moved * inner / dt;
    } while (omp_get_wtime() - start < seconds);
    return best;
}

int main(int argc, char **argv)
{
    if (argc != 3 && argc != 4) {
        fprintf(stderr, "usage: stream THREADS BYTES [SECONDS]\n");
        return 2;
    }
    int threads = atoi(argv[1]);
    double bytes = atof(argv[2]), seconds = argc == 4 ? atof(argv[3]) : 0.2;
    size_t n = (size_t)(bytes / 2 / sizeof(float));
    if (threads < 1 || n < 64 || seconds <= 0) {
        fprintf(stderr, "stream: need THREADS >= 1, BYTES >= 512 and SECONDS > 0\n");
        return 2;
    }
    omp_set_num_threads(threads);
    float *a = malloc(n * sizeof *a), *b = malloc(n * sizeof *b), *c = malloc(n * sizeof *c);
    if (!a || !b || !c) {
        fprintf(stderr, "stream: cannot allocate 3 x %zu bytes\n", n * sizeof *a);
        return 1;
    }
    /* First touch by the threads that use each slice. */
#pragma omp parallel for schedule(static)
    for (size_t i = 0; i < n; i++) {
        a[i] = 0.0f;
        b[i] = 1.0f;
        c[i] = 2.0f;
    }
    double cp = best_rate(0, a, b, c, n, seconds), tr = best_rate(1, a, b, c, n, seconds);
    printf("bytes=%.0f threads=%d copy_gbs=%.2f triad_gbs=%.2f check=%g\n", 2.0 * n * sizeof(float), threads,
           cp / 1e9, tr / 1e9, (double)a[n / 2]);
    free(a);
    free(b);
    free(c);
    return 0;
}
