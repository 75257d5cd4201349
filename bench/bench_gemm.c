/* GEMM benchmark: mn_sgemm against OpenBLAS cblas_sgemm in the same run,
 * interleaved (ours, OpenBLAS, ours, ...), median of REPS repetitions of
 * about BENCH_SECONDS each, at 1 and 2 threads.  Prints a markdown table.
 * Usage: bench_gemm [seconds-per-rep (0.2)] [reps (3)] */
#define _POSIX_C_SOURCE 200809L
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mynn.h"
#include "kernels/kernels.h"

void openblas_set_num_threads(int);

typedef struct { const char *name; int ta, tb, M, N, K; } shape;

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

static void call(int lib, const shape *s, const float *A, const float *B, float *C)
{
    int lda = s->ta ? s->M : s->K, ldb = s->tb ? s->K : s->N;
    if (lib == 0)
        mn_sgemm(s->ta, s->tb, s->M, s->N, s->K, 1.0f, A, lda, B, ldb, 0.0f, C, s->N);
    else
        cblas_sgemm(CblasRowMajor, s->ta ? CblasTrans : CblasNoTrans,
                    s->tb ? CblasTrans : CblasNoTrans, s->M, s->N, s->K, 1.0f, A,
                    lda, B, ldb, 0.0f, C, s->N);
}

/* GFLOP/s of one repetition lasting about secs. */
static double measure(int lib, const shape *s, const float *A, const float *B, float *C,
                      double secs)
{
    /* let the other library's idle threads stop spinning (OpenBLAS's spin
     * for a while after each call) so they don't steal a core */
    nanosleep(&(struct timespec){0, 120000000}, NULL);
    call(lib, s, A, B, C); /* warm */
    long n = 1;
    double t0 = now(), t;
    call(lib, s, A, B, C);
    t = now() - t0;
    n = t > 0 ? (long)(secs / t) : 1000;
    if (n < 1) n = 1;
    t0 = now();
    for (long i = 0; i < n; i++) call(lib, s, A, B, C);
    t = now() - t0;
    return 2.0 * s->M * s->N * s->K * n / t * 1e-9;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
    double secs = argc > 1 ? atof(argv[1]) : 0.2;
    int reps = argc > 2 ? atoi(argv[2]) : 3;
    if (reps < 1) reps = 1;
    if (reps > 15) reps = 15;
    static shape shapes[64];
    int ns = 0;
    int sq[] = {256, 512, 1024, 2048};
    static char names[64][48];
    for (int i = 0; i < 4; i++) {
        snprintf(names[ns], sizeof names[ns], "square %d", sq[i]);
        shapes[ns] = (shape){names[ns], 0, 0, sq[i], sq[i], sq[i]};
        ns++;
    }
    int layers[3][2] = {{784, 256}, {256, 128}, {128, 10}};
    /* batch 1 (inference latency): the forward GEMVs */
    for (int l = 0; l < 3; l++) {
        snprintf(names[ns], sizeof names[ns], "b1 %d>%d fwd x.W^T", layers[l][0], layers[l][1]);
        shapes[ns] = (shape){names[ns], 0, 1, 1, layers[l][1], layers[l][0]};
        ns++;
    }
    int batches[2] = {64, 256};
    for (int b = 0; b < 2; b++)
        for (int l = 0; l < 3; l++) {
            int bt = batches[b], in = layers[l][0], out = layers[l][1];
            snprintf(names[ns], sizeof names[ns], "b%d %d>%d fwd X.W^T", bt, in, out);
            shapes[ns] = (shape){names[ns], 0, 1, bt, out, in};
            ns++;
            snprintf(names[ns], sizeof names[ns], "b%d %d>%d dW=dZ^T.X", bt, in, out);
            shapes[ns] = (shape){names[ns], 1, 0, out, in, bt};
            ns++;
            snprintf(names[ns], sizeof names[ns], "b%d %d>%d dX=dZ.W", bt, in, out);
            shapes[ns] = (shape){names[ns], 0, 0, bt, in, out};
            ns++;
        }
    printf("engine: %s; %.2f s per repetition, median of %d\n\n", mn_gemm_engine(), secs, reps);
    printf("| shape | M x N x K | threads | ours GFLOP/s | OpenBLAS GFLOP/s | ratio |\n");
    printf("|---|---|---:|---:|---:|---:|\n");
    for (int i = 0; i < ns; i++) {
        const shape *s = &shapes[i];
        if (getenv("BENCH_ONLY") && !strstr(s->name, getenv("BENCH_ONLY"))) continue;
        size_t na = (size_t)s->M * s->K, nb = (size_t)s->K * s->N, nc = (size_t)s->M * s->N;
        float *A = malloc(na * sizeof *A), *B = malloc(nb * sizeof *B), *C = malloc(nc * sizeof *C);
        for (size_t j = 0; j < na; j++) A[j] = (float)((j * 7919) % 1000) / 1000.0f - 0.5f;
        for (size_t j = 0; j < nb; j++) B[j] = (float)((j * 104729) % 997) / 997.0f - 0.5f;
        for (int th = 1; th <= 2; th++) {
            mynn_set_threads(th);
            openblas_set_num_threads(th);
            double g[2][15];
            for (int r = 0; r < reps; r++)
                for (int lib = 0; lib < 2; lib++) g[lib][r] = measure(lib, s, A, B, C, secs);
            qsort(g[0], reps, sizeof(double), cmp);
            qsort(g[1], reps, sizeof(double), cmp);
            double o = g[0][reps / 2], b = g[1][reps / 2];
            printf("| %s | %dx%dx%d | %d | %.1f | %.1f | %.2f |\n", s->name, s->M, s->N, s->K,
                   th, o, b, o / b);
            fflush(stdout);
        }
        free(A); free(B); free(C);
    }
    return 0;
}
