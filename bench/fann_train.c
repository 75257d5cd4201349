/* FANN 2.2 per-sample baseline for make bench (bench/run.py): the MLP of
 * bench_mlp.c, 784-256-128-10, trained one sample at a time by fann_train
 * (plain backpropagation, weights updated after every sample: FANN's
 * incremental training, no momentum; learning rate 0.05, the best of 0.01,
 * 0.05 and 0.2 on 6,000 samples, the rate does not change the time) on
 * Fashion-MNIST scaled to [0, 1], one thread (FANN has none).
 *
 * FANN 2.2 has neither ReLU nor softmax: the hidden layers use
 * FANN_LINEAR_PIECE (y = x clipped to [0, 1], steepness 1: ReLU's
 * cost and shape on [0, 1]), the outputs FANN_SIGMOID on one-hot targets with
 * the linear (MSE) error function.  The work per sample is the same
 * 235,146-weight forward, backward and update as ours.
 *   fann_train DATA_DIR SAMPLES
 * prints "sps=S acc=A" (S: training samples per second over SAMPLES
 * samples, A: test accuracy of the first 10,000 test images afterwards). */
#include <floatfann.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zlib.h>

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static unsigned be32(const unsigned char *p)
{
    return (unsigned)p[0] << 24 | (unsigned)p[1] << 16 | (unsigned)p[2] << 8 | p[3];
}

/* The payload of a gzipped IDX file (images: n × 784 bytes, labels: n);
 * *n gets the item count.  NULL on any error. */
static unsigned char *read_idx(const char *dir, const char *name, unsigned *n, unsigned item)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    gzFile f = gzopen(path, "rb");
    if (!f) return NULL;
    unsigned char head[16];
    unsigned hl = item == 1 ? 8 : 16;
    unsigned char *buf = NULL;
    if (gzread(f, head, hl) == (int)hl) {
        *n = be32(head + 4);
        size_t bytes = (size_t)*n * item;
        buf = malloc(bytes);
        if (buf && gzread(f, buf, (unsigned)bytes) != (int)bytes) {
            free(buf);
            buf = NULL;
        }
    }
    gzclose(f);
    return buf;
}

/* Images as [0, 1] floats, labels as one-hot rows, FANN's layout. */
static struct fann_train_data *load(const char *dir, const char *images, const char *labels, unsigned max)
{
    unsigned ni = 0, nl = 0;
    unsigned char *x = read_idx(dir, images, &ni, 784), *y = read_idx(dir, labels, &nl, 1);
    struct fann_train_data *d = NULL;
    if (x && y && ni == nl) {
        unsigned n = max && max < ni ? max : ni;
        d = fann_create_train(n, 784, 10);
        for (unsigned i = 0; d && i < n; i++) {
            for (unsigned j = 0; j < 784; j++) d->input[i][j] = x[(size_t)i * 784 + j] / 255.0f;
            for (unsigned k = 0; k < 10; k++) d->output[i][k] = k == y[i] ? 1.0f : 0.0f;
        }
    }
    free(x);
    free(y);
    return d;
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: fann_train DATA_DIR SAMPLES\n");
        return 2;
    }
    unsigned samples = (unsigned)atoi(argv[2]);
    struct fann_train_data *tr = load(argv[1], "train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz", samples);
    struct fann_train_data *te = load(argv[1], "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz", 10000);
    if (!tr || !te || samples < 1) {
        fprintf(stderr, "fann_train: cannot read Fashion-MNIST from %s\n", argv[1]);
        return 1;
    }
    srand(1);   /* FANN draws its initial weights with rand() */
    struct fann *ann = fann_create_standard(4, 784, 256, 128, 10);
    fann_set_activation_function_hidden(ann, FANN_LINEAR_PIECE);
    fann_set_activation_steepness_hidden(ann, 1.0f);
    fann_set_activation_function_output(ann, FANN_SIGMOID);
    fann_set_train_error_function(ann, FANN_ERRORFUNC_LINEAR);
    fann_set_training_algorithm(ann, FANN_TRAIN_INCREMENTAL);
    fann_set_learning_rate(ann, 0.05f);
    fann_set_learning_momentum(ann, 0.0f);
    fann_randomize_weights(ann, -0.05f, 0.05f);
    unsigned n = fann_length_train_data(tr);
    double t0 = now();
    for (unsigned i = 0; i < n; i++) fann_train(ann, tr->input[i], tr->output[i]);
    double sps = n / (now() - t0);
    unsigned right = 0, nt = fann_length_train_data(te);
    for (unsigned i = 0; i < nt; i++) {
        fann_type *out = fann_run(ann, te->input[i]);
        unsigned best = 0, truth = 0;
        for (unsigned k = 1; k < 10; k++) {
            if (out[k] > out[best]) best = k;
            if (te->output[i][k] > te->output[i][truth]) truth = k;
        }
        right += best == truth;
    }
    printf("sps=%.1f acc=%.4f samples=%u engine=fann\n", sps, (double)right / nt, n);
    fann_destroy(ann);
    fann_destroy_train(tr);
    fann_destroy_train(te);
    return 0;
}
