/* The sequence benchmark, our side (bench/torch_seq.py is PyTorch's):
 *   bench_seq rows CELL THREADS SAMPLES   Fashion-MNIST rows (28 x 28) ->
 *       CELL (lstm|gru) 128 -> last state -> 10, Adam, batch 64: training
 *       seconds per epoch (SAMPLES timed, scaled to 60,000)
 *   bench_seq text CORPUS THREADS STEPS   embedding 64 -> lstm 256 (every
 *       step) -> the vocabulary, batch 32, 64 steps, Adam: ms per step,
 *       characters per second
 *   bench_seq gen CORPUS THREADS CHARS    that model at batch 1 through a
 *       stream (mynn_stream_step): characters per second
 * Prints key=value figures on one line (bench/run.py reads them). */
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
    fprintf(stderr, "bench_seq: %s: %s\n", what, mynn_last_error());
    return 1;
}

/* One epoch of mynn_fit over ds with Adam; its seconds. */
static double fit_seconds(mynn_net *net, const mynn_dataset *ds, int batch, float lr)
{
    mynn_fit_options o;
    mynn_fit_options_default(&o);
    mynn_optim_config_default(&o.optim, MYNN_OPT_ADAM);
    o.optim.lr = lr;
    o.epochs = 1;
    o.batch_size = batch;
    double t0 = now();
    if (mynn_fit(net, ds, NULL, &o)) return -1.0;
    return now() - t0;
}

static int rows(const char *cell, int samples)
{
    mynn_load_options lo;
    mynn_load_options_default(&lo);
    lo.shape[0] = 28, lo.shape[1] = 1, lo.shape[2] = 28, lo.shape_dims = 1;
    mynn_dataset *ds = NULL;
    if (mynn_dataset_load(&ds, "/usr/share/datasets/fashion-mnist", &lo, 0)) return die("data");
    if (samples < ds->n) ds->n = samples;
    char spec[64];
    snprintf(spec, sizeof spec, "%s:128,10:softmax", cell);
    mynn_net *net = NULL;
    if (mynn_create(&net, 784) || mynn_set_input_shape_1d(net, 28, 28) || mynn_add_layers(net, spec) ||
        mynn_set_loss(net, MYNN_LOSS_CE) || mynn_build(net, 64, MYNN_INIT_AUTO, 1))
        return die("network");
    double s = fit_seconds(net, ds, 64, 1e-3f);
    if (s < 0) return die("fit");
    printf("epoch_s=%.3f step_ms=%.3f\n", s * 60000.0 / ds->n, s * 1000.0 / ((ds->n + 63) / 64));
    mynn_free(net);
    mynn_dataset_free(ds);
    return 0;
}

/* The language model of make demo-text on the corpus's windows. */
static int lm(const char *corpus, int steps, int chars)
{
    char *text = NULL;
    size_t len = 0, n = 0;
    mynn_vocab *v = NULL;
    if (mynn_read_text(corpus, &text, &len) || mynn_vocab_build(text, len, 0, &v)) return die(corpus);
    float *ids = malloc(len * sizeof *ids);
    if (!ids || mynn_vocab_encode(v, text, len, ids, &n)) return die("encode");
    const int V = mynn_vocab_size(v);
    mynn_dataset *tr = NULL;
    if (mynn_text_dataset(ids, n, 64, 0.0, &tr, NULL)) return die("windows");
    char spec[96];
    snprintf(spec, sizeof spec, "embedding:%d:64,lstm:256:seq,%d:softmax", V, V);
    mynn_net *net = NULL;
    if (mynn_create(&net, 64) || mynn_add_layers(net, spec) || mynn_set_loss(net, MYNN_LOSS_CE) ||
        mynn_build(net, 32, MYNN_INIT_AUTO, 1))
        return die("network");
    if (steps > 0) {
        tr->n = 32;   /* warm-up step */
        fit_seconds(net, tr, 32, 2e-3f);
        tr->n = steps * 32;
        double s = fit_seconds(net, tr, 32, 2e-3f);
        if (s < 0) return die("fit");
        printf("step_ms=%.2f chars_s=%.0f vocab=%d\n", s * 1000.0 / steps, steps * 32.0 * 64.0 / s, V);
    } else {
        mynn_net *st = NULL;
        if (mynn_stream_create(net, &st)) return die("stream");
        float x = 0.0f, *p = malloc((size_t)V * sizeof *p);
        mynn_rng r;
        mynn_rng_seed(&r, 1);
        double t0 = now();
        for (int i = 0; i < chars; i++) {
            if (mynn_stream_step(st, &x, p)) return die("step");
            double u = mynn_rng_uniform(&r), at = 0;   /* a draw from the softmax */
            int k = 0;
            while (k < V - 1 && (at += p[k]) <= u) k++;
            x = (float)k;
        }
        printf("gen_chars_s=%.0f\n", chars / (now() - t0));
        free(p);
        mynn_free(st);
    }
    mynn_free(net);
    mynn_dataset_free(tr);
    free(ids);
    free(text);
    mynn_vocab_free(v);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc != 5) {
        fprintf(stderr, "usage: bench_seq rows lstm|gru THREADS SAMPLES | text CORPUS THREADS STEPS | "
                        "gen CORPUS THREADS CHARS\n");
        return 2;
    }
    mynn_set_threads(atoi(argv[3]));
    if (!strcmp(argv[1], "rows")) return rows(argv[2], atoi(argv[4]));
    if (!strcmp(argv[1], "text")) return lm(argv[2], atoi(argv[4]), 0);
    if (!strcmp(argv[1], "gen")) {
        mynn_set_threads(1);
        return lm(argv[2], 0, atoi(argv[4]));
    }
    fprintf(stderr, "bench_seq: unknown task %s\n", argv[1]);
    return 2;
}
