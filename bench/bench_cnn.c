/* mynn side of the CNN benchmarks (bench/run.py; the PyTorch side is
 * bench/torch_cnn.py, same models and figures), by default
 *   Conv(1->32, 3, pad 1)-ReLU-MaxPool2-Conv(32->64, 3, pad 1)-ReLU-MaxPool2
 *   -Flatten-Dense(3136->128)-ReLU-Dense(128->10), softmax + cross-entropy,
 *   Adam (lr 1e-3), Fashion-MNIST scaled to [0, 1];
 * with a sixth argument, that layer description instead (the ResNet).
 * Usage: bench_cnn DATA_DIR BATCH THREADS SAMPLES INFER_BATCH [LAYERS]
 * Prints: epoch_s=... infer_ips=... acc=... (epoch time scaled to 60,000). */
#include "mynn.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define LAYERS "conv:32:3:relu:pad=1,maxpool:2,conv:64:3:relu:pad=1,maxpool:2,flatten,128:relu,10:softmax"

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static int die(const char *what)
{
    fprintf(stderr, "bench_cnn: %s: %s\n", what, mynn_last_error());
    return 1;
}

static const char *g_layers = LAYERS;

static mynn_status make_net(mynn_net **net, int max_batch)
{
    static float shift[784], scale[784];
    for (int j = 0; j < 784; j++) scale[j] = 1.0f / 255.0f;
    mynn_status s = mynn_create(net, 784);
    if (!s) s = mynn_set_input_shape(*net, 1, 28, 28);
    if (!s) s = mynn_add_layers(*net, g_layers);
    if (!s) s = mynn_set_loss(*net, MYNN_LOSS_CE);
    if (!s) s = mynn_build(*net, max_batch, MYNN_INIT_AUTO, 1);
    if (!s) s = mynn_set_input_transform(*net, "scale", shift, scale);
    return s;
}

int main(int argc, char **argv)
{
    if (argc != 6 && argc != 7) {
        fprintf(stderr, "usage: bench_cnn DATA_DIR BATCH THREADS SAMPLES INFER_BATCH [LAYERS]\n");
        return 2;
    }
    if (argc == 7) g_layers = argv[6];
    const char *dir = argv[1];
    int batch = atoi(argv[2]), threads = atoi(argv[3]), samples = atoi(argv[4]), ib = atoi(argv[5]);
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
    mynn_optim_config_default(&o.optim, MYNN_OPT_ADAM);
    o.epochs = 1;
    o.batch_size = batch;
    o.seed = 1;
    double t0 = now();
    if (mynn_fit(net, train, NULL, &o)) return die("fit");
    double epoch = (now() - t0) * (60000.0 / n);
    mynn_metrics m;
    if (mynn_evaluate(net, test, &m, NULL)) return die("evaluate");

    mynn_net *inf;
    if (make_net(&inf, ib)) return die("network");
    size_t np;
    float *src = mynn_params(net, &np), *dst = mynn_params(inf, NULL);
    for (size_t i = 0; i < np; i++) dst[i] = src[i];
    float *out = malloc((size_t)ib * 10 * sizeof *out);
    int reps = 5000 / ib > 0 ? 5000 / ib : 1;
    mynn_predict(inf, test->x, ib, out);
    t0 = now();
    for (int r = 0; r < reps; r++) mynn_predict(inf, test->x, ib, out);
    double ips = (double)reps * ib / (now() - t0);
    printf("epoch_s=%.4f infer_ips=%.1f acc=%.4f threads=%d\n", epoch, ips, m.accuracy, mynn_get_threads());
    free(out);
    mynn_free(inf);
    mynn_free(net);
    mynn_dataset_free(train);
    mynn_dataset_free(test);
    return 0;
}
