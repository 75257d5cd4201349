/* int8 against float inference, the same model in the same run:
 *   784-256-128-10 ReLU MLP (bench_mlp's), and a CNN (conv 8 3x3 + batch
 *   norm + ReLU, max pool, conv 16 3x3 ReLU, max pool, dense 10: the one
 *   tests/test_qcnn.c trains), Fashion-MNIST test images, batches of 1024,
 *   mynn_predict (float) vs mynn_qnet_predict (int8), alternating, median
 *   of RUNS; at 1 thread and at THREADS.
 * Usage: bench_int8 DATA_DIR THREADS RUNS
 * Prints a markdown table (bench/run.sh writes it to bench/RESULTS_int8.md). */
#include "mynn.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

enum { BATCH = 1024, MLP_BATCHES = 8, CNN_BATCHES = 2 };

static double clock_s(clockid_t c)
{
    struct timespec t;
    clock_gettime(c, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static double now(void) { return clock_s(CLOCK_MONOTONIC); }

static int die(const char *what)
{
    fprintf(stderr, "bench_int8: %s: %s\n", what, mynn_last_error());
    return 1;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Images per second of `batches` batches of BATCH images. */
static double ips(mynn_net *net, mynn_qnet *q, const float *x, float *y, int batches)
{
    double t0 = now();
    for (int b = 0; b < batches; b++) {
        const float *xb = x + (size_t)b * BATCH * 784;
        if (q ? mynn_qnet_predict(q, xb, BATCH, y) : mynn_predict(net, xb, BATCH, y)) return -1;
    }
    return (double)batches * BATCH / (now() - t0);
}

/* The model of spec (input 1 × 28 × 28 when image), built for BATCH, and
 * its int8 version calibrated on 2000 test images. */
static int models(const char *spec, int image, const mynn_dataset *test, mynn_net **net, mynn_qnet **q)
{
    static float shift[784], scale[784];
    for (int j = 0; j < 784; j++) scale[j] = 1.0f / 255.0f;
    mynn_quant_options qo;
    mynn_quant_options_default(&qo);
    qo.max_batch = BATCH;
    if (mynn_create(net, 784) || (image && mynn_set_input_shape(*net, 1, 28, 28)) ||
        mynn_add_layers(*net, spec) || mynn_set_loss(*net, MYNN_LOSS_CE) ||
        mynn_build(*net, BATCH, MYNN_INIT_AUTO, 1) || mynn_set_input_transform(*net, "scale", shift, scale))
        return die("network");
    if (mynn_quantize(q, *net, test->x, 2000, &qo)) return die("quantize");
    return 0;
}

/* One table row per thread count: float and int8 images/s, and the
 * process CPU time per int8 batch (medians).  CPU time that grows with the
 * threads is the parallel split's overhead (or its threads' spinning);
 * when it does not, the wall-clock gain is what the free cores allow. */
static void table(const char *name, mynn_net *net, mynn_qnet *q, const float *x, float *y,
                  int threads, int runs, int batches)
{
    double *f = malloc(sizeof(double) * runs), *i8 = malloc(sizeof(double) * runs);
    double *cpu = malloc(sizeof(double) * runs);
    int tlist[2] = {1, threads};
    for (int t = 0; t < (threads > 1 ? 2 : 1); t++) {
        mynn_set_threads(tlist[t]);
        ips(net, NULL, x, y, 1);   /* warm up both */
        ips(NULL, q, x, y, 1);
        for (int r = 0; r < runs; r++) {
            f[r] = ips(net, NULL, x, y, batches);
            double c0 = clock_s(CLOCK_PROCESS_CPUTIME_ID);
            i8[r] = ips(NULL, q, x, y, batches);
            cpu[r] = (clock_s(CLOCK_PROCESS_CPUTIME_ID) - c0) / batches;
        }
        qsort(f, (size_t)runs, sizeof *f, cmp);
        qsort(i8, (size_t)runs, sizeof *i8, cmp);
        qsort(cpu, (size_t)runs, sizeof *cpu, cmp);
        printf("| %s | %d | %.0f | %.0f | %.2f | %.2f |\n", name, mynn_get_threads(), f[runs / 2], i8[runs / 2],
               i8[runs / 2] / f[runs / 2], 1e3 * cpu[runs / 2]);
    }
    free(f);
    free(i8);
    free(cpu);
}

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: bench_int8 DATA_DIR THREADS RUNS\n");
        return 2;
    }
    int threads = atoi(argv[2]), runs = atoi(argv[3]);
    if (runs < 1 || runs > 99) runs = 5;
    mynn_dataset *test;
    if (mynn_dataset_load(&test, argv[1], NULL, 1)) return die("test data");
    if (test->n < BATCH * MLP_BATCHES) return die("too few test images");
    mynn_net *mlp, *cnn;
    mynn_qnet *qmlp, *qcnn;
    if (models("256:relu,128:relu,10:softmax", 0, test, &mlp, &qmlp) ||
        models("conv:8:3:pad=1,batchnorm,relu,maxpool:2,conv:16:3:relu:pad=1,maxpool:2,flatten,10:softmax",
               1, test, &cnn, &qcnn))
        return 1;
    float *y = malloc(sizeof(float) * BATCH * 10);
    printf("| model | threads | float images/s | int8 images/s | int8 / float | int8 CPU ms per batch |\n"
           "|---|---:|---:|---:|---:|---:|\n");
    table("MLP", mlp, qmlp, test->x, y, threads, runs, MLP_BATCHES);
    table("CNN", cnn, qcnn, test->x, y, threads, runs, CNN_BATCHES);
    free(y);
    mynn_qnet_free(qmlp);
    mynn_qnet_free(qcnn);
    mynn_free(mlp);
    mynn_free(cnn);
    mynn_dataset_free(test);
    return 0;
}
