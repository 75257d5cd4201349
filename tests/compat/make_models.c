/* Writes tests/data/compat/: model files saved by mynn 0.1.0 before the
 * graph redesign (issue 17), each with inputs and the outputs that release
 * predicted for them, so every later release is tested against them
 * (tests/test_compat.c).  Run once, with that release:
 *   cc -O2 -Iinclude tests/compat/make_models.c build/libmynn.a -lm -fopenmp -lz -o /tmp/mk
 *   /tmp/mk tests/data/compat
 * Kept for the record of how the files were made; not part of the build. */
#include <mynn.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *g_dir;

static void die(const char *what)
{
    fprintf(stderr, "%s: %s\n", what, mynn_last_error());
    exit(1);
}

static void write_f32(const char *name, const float *v, size_t n)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", g_dir, name);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(v, sizeof *v, n, f) != n || fclose(f)) {
        perror(path);
        exit(1);
    }
}

/* n samples of d inputs, label k classes from a fixed rule; y one-hot
 * (k > 1), one 0/1 column (k == 1) or regression targets (k < 0: -k columns). */
static void make_data(int n, int d, int k, uint64_t seed, float **x, float **y)
{
    mynn_rng r;
    mynn_rng_seed(&r, seed);
    int ky = k > 0 ? k : -k;
    *x = malloc(sizeof(float) * (size_t)n * d);
    *y = calloc((size_t)n * ky, sizeof(float));
    for (int s = 0; s < n; s++) {
        double acc = 0;
        for (int j = 0; j < d; j++) {
            float v = mynn_rng_uniform(&r) * 4.0f - 1.0f;
            (*x)[(size_t)s * d + j] = v;
            acc += v * ((j % 3) - 1.0) + 0.3 * sin(j * v);
        }
        if (k > 1) (*y)[(size_t)s * k + (((int)floor(acc * 2.0) % k) + k) % k] = 1.0f;
        else if (k == 1) (*y)[s] = acc > 0.0;
        else
            for (int c = 0; c < ky; c++) (*y)[(size_t)s * ky + c] = (float)(sin(acc + c) * 3.0 + c);
    }
}

static void train(mynn_net *net, float *x, float *y, int n, int d, int ky, int epochs)
{
    mynn_dataset ds = {0};
    ds.n = n;
    ds.n_inputs = d;
    ds.n_outputs = ky;
    ds.x = x;
    ds.y = y;
    mynn_fit_options o;
    mynn_fit_options_default(&o);
    o.epochs = epochs;
    o.batch_size = 16;
    o.seed = 3;
    if (mynn_fit(net, &ds, NULL, &o)) die("fit");
}

/* Saves net as NAME.safetensors, and the outputs it predicts for m fresh
 * inputs as NAME.x.f32 / NAME.y.f32. */
static void save_with_outputs(mynn_net *net, const char *name, int m, uint64_t seed)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s.safetensors", g_dir, name);
    if (mynn_save(net, path)) die(name);
    int d = mynn_n_inputs(net), k = mynn_n_outputs(net);
    float *x, *y, *p = malloc(sizeof(float) * (size_t)m * k);
    make_data(m, d, 2, seed, &x, &y);
    for (int i = 0; i < m * d; i++) x[i] = x[i] * 30.0f + 40.0f;  /* raw units: the transform matters */
    mynn_net *back;
    if (mynn_load(&back, path, 64)) die("reload");
    if (mynn_predict(back, x, m, p)) die("predict");
    snprintf(path, sizeof path, "%s.x.f32", name);
    write_f32(path, x, (size_t)m * d);
    snprintf(path, sizeof path, "%s.y.f32", name);
    write_f32(path, p, (size_t)m * k);
    mynn_free(back);
    free(x);
    free(y);
    free(p);
}

static mynn_net *make(int d, const int *shape, int dims, const char *spec, mynn_loss loss, const char *norm,
                      int k, int epochs, uint64_t seed)
{
    mynn_net *net;
    if (mynn_create(&net, d)) die("create");
    if (dims == 2 && mynn_set_input_shape(net, shape[0], shape[1], shape[2])) die("shape");
    if (dims == 1 && mynn_set_input_shape_1d(net, shape[0], shape[2])) die("shape");
    if (mynn_add_layers(net, spec) || mynn_set_loss(net, loss) || mynn_build(net, 64, MYNN_INIT_AUTO, seed))
        die(spec);
    float *x, *y;
    const int n = 256;
    make_data(n, d, k, seed + 100, &x, &y);
    for (int i = 0; i < n * d; i++) x[i] = x[i] * 30.0f + 40.0f;
    if (norm && mynn_fit_input_transform(net, norm, x, n)) die("normalize");
    train(net, x, y, n, d, k > 0 ? k : -k, epochs);
    free(x);
    free(y);
    return net;
}

int main(int argc, char **argv)
{
    if (argc != 2) return fprintf(stderr, "usage: make_models DIR\n"), 2;
    g_dir = argv[1];
    mynn_set_threads(1);

    mynn_net *mlp = make(6, NULL, 0, "16:relu,dropout:0.25,8:tanh,3:softmax", MYNN_LOSS_CE, "standard", 3, 4, 11);
    save_with_outputs(mlp, "mlp", 40, 501);

    int img[3] = {1, 12, 12};
    mynn_net *cnn = make(144, img, 2,
                         "conv:6:3:relu:pad=1,batchnorm,maxpool:2,conv:8:3x5:pad=same,batchnorm,relu,"
                         "avgpool:2:stride=1,flatten,dropout:0.1,16:leaky_relu,4:softmax",
                         MYNN_LOSS_CE, "scale", 4, 3, 12);
    save_with_outputs(cnn, "cnn", 24, 502);

    int sig[3] = {2, 1, 20};
    mynn_net *c1 = make(40, sig, 1,
                        "conv1d:4:3:gelu:stride=2,maxpool1d:2,conv1d:6:3:pad=same,batchnorm,sigmoid,"
                        "avgpool1d:2,gap,1:sigmoid",
                        MYNN_LOSS_BCE, "standard", 1, 3, 13);
    save_with_outputs(c1, "conv1d", 24, 503);

    mynn_net *reg = make(5, NULL, 0, "8:tanh,7:gelu,2", MYNN_LOSS_MSE, NULL, -2, 5, 14);
    save_with_outputs(reg, "regression", 32, 504);

    /* int8: the CNN quantised (one batch norm folds, the other follows pooling's... no: a conv) */
    int img2[3] = {2, 10, 10};
    mynn_net *qsrc = make(200, img2, 2,
                          "conv:5:3:pad=1,batchnorm,relu,maxpool:2,batchnorm,conv:6:3:relu,gap,12:relu,3:softmax",
                          MYNN_LOSS_CE, "standard", 3, 3, 15);
    {
        float *x, *y;
        make_data(64, 200, 3, 600, &x, &y);
        for (int i = 0; i < 64 * 200; i++) x[i] = x[i] * 30.0f + 40.0f;
        mynn_qnet *q;
        if (mynn_quantize(&q, qsrc, x, 64, NULL)) die("quantize");
        char path[512];
        snprintf(path, sizeof path, "%s/cnn_int8.safetensors", g_dir);
        if (mynn_qnet_save(q, path)) die("qsave");
        mynn_qnet_free(q);
        mynn_qnet *back;
        if (mynn_qnet_load(&back, path, 16)) die("qload");
        float *p = malloc(sizeof(float) * 24 * 3);
        make_data(24, 200, 2, 505, &x, &y);
        for (int i = 0; i < 24 * 200; i++) x[i] = x[i] * 30.0f + 40.0f;
        if (mynn_qnet_predict(back, x, 24, p)) die("qpredict");
        write_f32("cnn_int8.x.f32", x, 24 * 200);
        write_f32("cnn_int8.y.f32", p, 24 * 3);
        mynn_qnet_free(back);
        free(p);
    }
    /* the float source of the int8 model too */
    save_with_outputs(qsrc, "cnn_bn", 24, 505);

    mynn_free(mlp);
    mynn_free(cnn);
    mynn_free(c1);
    mynn_free(reg);
    mynn_free(qsrc);
    return 0;
}
