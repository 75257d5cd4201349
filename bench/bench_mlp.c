/* mynn side of the MLP benchmark (bench/run.sh; the PyTorch side is
 * bench/torch_mlp.py, same model and figures):
 *   784-256-128-10, ReLU, softmax + cross-entropy, Adam (lr 1e-3) or
 *   SGD (lr 0.01, no momentum), Fashion-MNIST scaled to [0, 1].
 * Usage: bench_mlp DATA_DIR BATCH THREADS SAMPLES INFER_BATCH [adam|sgd]
 * (INFER_BATCH 0: no inference timing, infer_ips=0, for profiling training)
 * Prints: epoch_s=... infer_ips=... acc=... sps=... (epoch time scaled to
 * 60,000; sps: training samples per second). */
#include "mynn.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static int die(const char *what)
{
    fprintf(stderr, "bench_mlp: %s: %s\n", what, mynn_last_error());
    return 1;
}

static mynn_status make_net(mynn_net **net, int max_batch)
{
    static float shift[784], scale[784];
    for (int j = 0; j < 784; j++) scale[j] = 1.0f / 255.0f;
    mynn_status s = mynn_create(net, 784);
    if (!s) s = mynn_add_layers(*net, "256:relu,128:relu,10:softmax");
    if (!s) s = mynn_set_loss(*net, MYNN_LOSS_CE);
    if (!s) s = mynn_build(*net, max_batch, MYNN_INIT_AUTO, 1);
    if (!s) s = mynn_set_input_transform(*net, "scale", shift, scale);
    return s;
}

/* Inference images/s at batch ib: a network built for that batch, same
 * weights, timed over about 20,000 images. */
static mynn_status infer_rate(mynn_net *net, const mynn_dataset *test, int ib, double *ips)
{
    mynn_net *inf;
    mynn_status s = make_net(&inf, ib);
    if (s) return s;
    size_t np;
    float *src = mynn_params(net, &np), *dst = mynn_params(inf, NULL);
    for (size_t i = 0; i < np; i++) dst[i] = src[i];
    float *out = malloc((size_t)ib * 10 * sizeof *out);
    int reps = ib > 1 ? (20000 / ib > 0 ? 20000 / ib : 1) : 20000;
    s = out ? mynn_predict(inf, test->x, ib, out) : MYNN_ERR_NOMEM;
    double t0 = now();
    for (int r = 0; r < reps && !s; r++) s = mynn_predict(inf, test->x, ib, out);
    *ips = (double)reps * ib / (now() - t0);
    free(out);
    mynn_free(inf);
    return s;
}

int main(int argc, char **argv)
{
    if (argc != 6 && argc != 7) {
        fprintf(stderr, "usage: bench_mlp DATA_DIR BATCH THREADS SAMPLES INFER_BATCH [adam|sgd]\n");
        return 2;
    }
    int sgd = argc == 7 && strcmp(argv[6], "sgd") == 0;
    if (argc == 7 && !sgd && strcmp(argv[6], "adam") != 0) {
        fprintf(stderr, "bench_mlp: optimizer must be adam or sgd, got \"%s\"\n", argv[6]);
        return 2;
    }
    const char *dir = argv[1];
    int batch = atoi(argv[2]), threads = atoi(argv[3]), samples = atoi(argv[4]);
    int ib = atoi(argv[5]);
    mynn_set_threads(threads);
    mynn_dataset *train, *test;
    if (mynn_dataset_load(&train, dir, NULL, 0)) return die("train data");
    if (mynn_dataset_load(&test, dir, NULL, 1)) return die("test data");
    if (samples > 0 && samples < train->n) train->n = samples;
    int n = train->n;

    mynn_net *net;
    if (make_net(&net, batch)) return die("network");
    mynn_fit_options o;
    mynn_fit_options_default(&o);
    mynn_optim_config_default(&o.optim, sgd ? MYNN_OPT_SGD : MYNN_OPT_ADAM);
    o.epochs = 1;
    o.batch_size = batch;
    o.seed = 1;
    double t0 = now();
    if (mynn_fit(net, train, NULL, &o)) return die("fit");
    double fit_s = now() - t0, epoch = fit_s * (60000.0 / n);
    mynn_metrics m;
    if (mynn_evaluate(net, test, &m, NULL)) return die("evaluate");

    double ips = 0.0;
    if (ib > 0 && infer_rate(net, test, ib, &ips)) return die("inference");
    printf("epoch_s=%.4f infer_ips=%.1f acc=%.4f threads=%d engine=%s sps=%.1f optimizer=%s\n", epoch, ips,
           m.accuracy, mynn_get_threads(), "mynn", n / fit_s, sgd ? "sgd" : "adam");
    mynn_free(net);
    mynn_dataset_free(train);
    mynn_dataset_free(test);
    return 0;
}
