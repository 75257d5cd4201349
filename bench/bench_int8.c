/* int8 against float inference, the same model in the same run:
 *   784-256-128-10 ReLU MLP (bench_mlp's), Fashion-MNIST test images,
 *   batches of 1024, mynn_predict (float GEMM) vs mynn_qnet_predict (int8
 *   GEMM), alternating, median of RUNS; at 1 thread and at THREADS.
 * Usage: bench_int8 DATA_DIR THREADS RUNS
 * Prints a markdown table (bench/run.sh writes it to bench/RESULTS_int8.md). */
#include "mynn.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

enum { BATCH = 1024, BATCHES = 8 };

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

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

/* Images per second of BATCHES batches of BATCH images. */
static double ips(mynn_net *net, mynn_qnet *q, const float *x, float *y)
{
    double t0 = now();
    for (int b = 0; b < BATCHES; b++) {
        const float *xb = x + (size_t)b * BATCH * 784;
        if (q ? mynn_qnet_predict(q, xb, BATCH, y) : mynn_predict(net, xb, BATCH, y)) return -1;
    }
    return (double)BATCHES * BATCH / (now() - t0);
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
    if (test->n < BATCH * BATCHES) return die("too few test images");
    static float shift[784], scale[784];
    for (int j = 0; j < 784; j++) scale[j] = 1.0f / 255.0f;
    mynn_net *net;
    mynn_qnet *q;
    mynn_quant_options qo;
    mynn_quant_options_default(&qo);
    qo.max_batch = BATCH;
    if (mynn_create(&net, 784) || mynn_add_layers(net, "256:relu,128:relu,10:softmax") ||
        mynn_set_loss(net, MYNN_LOSS_CE) || mynn_build(net, BATCH, MYNN_INIT_AUTO, 1) ||
        mynn_set_input_transform(net, "scale", shift, scale))
        return die("network");
    if (mynn_quantize(&q, net, test->x, 2000, &qo)) return die("quantize");
    float *y = malloc(sizeof(float) * BATCH * 10);
    double *f = malloc(sizeof(double) * runs), *i8 = malloc(sizeof(double) * runs);
    printf("| threads | float images/s | int8 images/s | int8 / float |\n|---:|---:|---:|---:|\n");
    int tlist[2] = {1, threads};
    for (int t = 0; t < (threads > 1 ? 2 : 1); t++) {
        mynn_set_threads(tlist[t]);
        ips(net, NULL, test->x, y);   /* warm up both */
        ips(NULL, q, test->x, y);
        for (int r = 0; r < runs; r++) {
            f[r] = ips(net, NULL, test->x, y);
            i8[r] = ips(NULL, q, test->x, y);
        }
        qsort(f, (size_t)runs, sizeof *f, cmp);
        qsort(i8, (size_t)runs, sizeof *i8, cmp);
        printf("| %d | %.0f | %.0f | %.2f |\n", mynn_get_threads(), f[runs / 2], i8[runs / 2],
               i8[runs / 2] / f[runs / 2]);
    }
    free(y);
    free(f);
    free(i8);
    mynn_qnet_free(q);
    mynn_free(net);
    mynn_dataset_free(test);
    return 0;
}
