/* Convolutional layers: gradient checks of conv (2-D and 1-D), pooling,
 * global pooling, flatten, batch norm (training mode) and activation
 * layers against central differences of an independent double-precision
 * forward pass with direct (not im2col) loops (tests/ref_net.c); values worked
 * out by hand; batch norm's evaluation mode and running statistics against
 * PyTorch's formulas; thread-count determinism. */
#include "check.h"
#include "mynn.h"
#include "network/network.h"
#include "ref_net.h"

#include <stdint.h>
#include <unistd.h>

#define MAXV 4096   /* values per sample in these tests */
#define MAXN 7

static double g_worst;

static int last_is_softmax(const mynn_net *net)
{
    mynn_layer_info L;
    return mynn_layer_get_info(net, mynn_n_layers(net) - 1, &L) == MYNN_OK &&
           L.activation == MYNN_ACT_SOFTMAX;
}

/* Builds spec on input shape c×h×w (h = 0: 1-D c×w), checks dW, dB of every
 * layer and dX at batch n against central differences of ref_cost. */
static void check_spec(const char *spec, int c, int h, int w, int n, uint64_t seed)
{
    static float x[MAXN * MAXV], dx[MAXN * MAXV], y[MAXN * 16];
    static double xd[MAXN * MAXV], yd[MAXN * 16], pd[40000], gref[40000];
    mynn_net *net = NULL;
    int d = c * (h ? h : 1) * w;
    CHECK_OK(mynn_create(&net, d));
    CHECK_OK(h ? mynn_set_input_shape(net, c, h, w) : mynn_set_input_shape_1d(net, c, w));
    CHECK_OK(mynn_add_layers(net, spec));
    int k = mynn_n_outputs(net);
    int ce = k > 1 && last_is_softmax(net);
    CHECK_OK(mynn_set_loss(net, ce ? MYNN_LOSS_CE : MYNN_LOSS_MSE));
    CHECK_OK(mynn_build(net, n, MYNN_INIT_XAVIER, seed));
    size_t np;
    float *p = mynn_params(net, &np);
    if (!p || np > 40000 || d > MAXV) {
        CHECK(0, "%s: setup failed (%zu params)", spec, np);
        mynn_free(net);
        return;
    }
    mynn_rng r;
    mynn_rng_seed(&r, seed * 31 + 7);
    for (size_t i = 0; i < np; i++) pd[i] = p[i] = (float)(0.6 * (2.0 * mynn_rng_uniform(&r) - 1.0));
    for (int i = 0; i < n * d; i++) xd[i] = x[i] = (float)(2.0 * mynn_rng_uniform(&r) - 1.0);
    for (int s = 0; s < n; s++) {
        double sum = 0;
        for (int i = 0; i < k; i++) sum += yd[s * k + i] = 0.05 + mynn_rng_uniform(&r);
        for (int i = 0; i < k; i++) {
            if (ce) yd[s * k + i] /= sum;
            y[s * k + i] = (float)yd[s * k + i];
        }
    }
    mn_forward(net, x, n, 1);
    double cost = mn_backward_dx(net, y, n, dx);
    double cref = ref_cost(net, pd, xd, yd, n);
    CHECK(fabs(cost - cref) <= 1e-5 * (1.0 + fabs(cref)), "%s n=%d: cost %.9g vs reference %.9g", spec,
          n, cost, cref);
    const double hstep = 1e-5;
    for (size_t i = 0; i < np; i++) {
        double keep = pd[i];
        pd[i] = keep + hstep;
        double up = ref_cost(net, pd, xd, yd, n);
        pd[i] = keep - hstep;
        double down = ref_cost(net, pd, xd, yd, n);
        pd[i] = keep;
        gref[i] = (up - down) / (2 * hstep);
    }
    const float *g = mynn_grads(net, NULL);
    size_t off = 0;
    for (int l = 0; l < mynn_n_layers(net); l++) {
        mynn_layer_info L;
        mynn_layer_get_info(net, l, &L);
        if (!L.n_params) continue;
        size_t nb = L.kind == MYNN_LAYER_BATCHNORM ? (size_t)L.in_shape[0] : (size_t)L.out_shape[0];
        if (L.kind == MYNN_LAYER_DENSE) nb = (size_t)L.n_outputs;
        size_t nw = L.n_params - nb;
        /* A bias right before batch norm has a zero gradient in exact
         * arithmetic (the mean is subtracted), so its float rounding is
         * measured against the scale of the layer's weight gradient. */
        double floor = 0;
        mynn_layer_info next;
        if (l + 1 < mynn_n_layers(net) && mynn_layer_get_info(net, l + 1, &next) == MYNN_OK &&
            next.kind == MYNN_LAYER_BATCHNORM)
            for (size_t i = 0; i < nw; i++) floor = fabs(gref[off + i]) > floor ? fabs(gref[off + i]) : floor;
        double ew = ref_rel_err(g + off, gref + off, nw, 0), eb = ref_rel_err(g + off + nw, gref + off + nw, nb, floor);
        CHECK(ew <= 1e-4, "%s n=%d layer %d (%s): weight gradient rel err %.3g", spec, n, l, L.kind_name, ew);
        CHECK(eb <= 1e-4, "%s n=%d layer %d (%s): bias gradient rel err %.3g", spec, n, l, L.kind_name, eb);
        g_worst = ew > g_worst ? ew : g_worst;
        g_worst = eb > g_worst ? eb : g_worst;
        off += L.n_params;
    }
    for (int i = 0; i < n * d; i++) {
        double keep = xd[i];
        xd[i] = keep + hstep;
        double up = ref_cost(net, pd, xd, yd, n);
        xd[i] = keep - hstep;
        double down = ref_cost(net, pd, xd, yd, n);
        xd[i] = keep;
        gref[i] = (up - down) / (2 * hstep);
    }
    double ex = ref_rel_err(dx, gref, (size_t)n * d, 0);
    CHECK(ex <= 1e-4, "%s n=%d: input gradient rel err %.3g", spec, n, ex);
    g_worst = ex > g_worst ? ex : g_worst;
    mynn_free(net);
}

/* Conv on odd shapes: non-square images, stride 1 and 2, padding 0/1/2,
 * kernels 1/3/5, 1/3/8 channels, batch 1 and 7, every element-wise
 * activation. */
static void test_conv_gradients(void)
{
    for (int n = 1; n <= 7; n += 6) {
        check_spec("conv:4:3:tanh:pad=1,flatten,3:softmax", 3, 5, 7, n, 1);
        check_spec("conv:3:5:sigmoid:stride=2:pad=2,4", 1, 9, 6, n, 2);
        check_spec("conv:2:1:gelu,3", 8, 3, 4, n, 3);
        check_spec("conv:3:3:leaky_relu:stride=2,conv:2:3:relu:pad=1,2", 3, 8, 7, n, 4);
        check_spec("conv:2:3x5:identity:pad=same,3:softmax", 1, 5, 6, n, 5);
        check_spec("conv:5:2:tanh:stride=2:pad=1,2", 2, 4, 5, n, 6);
    }
}

static void test_pool_gradients(void)
{
    for (int n = 1; n <= 7; n += 6) {
        check_spec("conv:3:3:tanh:pad=1,maxpool:2,3:softmax", 2, 6, 7, n, 11);
        check_spec("maxpool:3:stride=2,2", 3, 7, 6, n, 12);
        check_spec("conv:2:3:sigmoid,avgpool:2:stride=1,3", 1, 6, 5, n, 13);
        check_spec("avgpool:3,2", 3, 7, 8, n, 14);
        check_spec("maxpool:2,3", 2, 5, 7, n, 16);
        check_spec("conv:4:3:tanh:pad=1,gap,3:softmax", 3, 5, 4, n, 15);
    }
}

/* Batch norm in training mode, after a conv (per channel over N×H×W) and
 * after a dense layer (per feature over N), with activation layers. */
static void test_batchnorm_gradients(void)
{
    check_spec("conv:3:3:pad=1,batchnorm,tanh,maxpool:2,2", 2, 6, 5, 7, 21);
    check_spec("conv:4:3,batchnorm,gelu,gap,3:softmax", 3, 5, 6, 2, 22);
    check_spec("conv:3:3:pad=1,batchnorm,tanh,2", 2, 4, 5, 1, 25);
    check_spec("6:identity,batchnorm,sigmoid,3", 4, 1, 1, 7, 23);
    check_spec("conv:2:1,batchnorm,softmax,flatten,2", 3, 2, 3, 7, 24);
}

static void test_conv1d_gradients(void)
{
    for (int n = 1; n <= 7; n += 6) {
        check_spec("conv1d:4:3:tanh:pad=1,maxpool1d:2,3:softmax", 2, 0, 9, n, 31);
        check_spec("conv1d:3:5:sigmoid:stride=2:pad=2,avgpool1d:2,2", 3, 0, 11, n, 32);
        check_spec("conv1d:2:1,batchnorm,relu,gap,2", 4, 0, 6, n, 33);
    }
}

/* A 3×3 image through a 2×2 all-ones kernel, then with stride 2 and
 * padding 1; 4×4 max and average pooling: values worked out by hand. */
static void test_known_values(void)
{
    float img[9] = {1, 2, 3, 4, 5, 6, 7, 8, 9}, out[9];
    mynn_net *net = NULL;
    CHECK_OK(mynn_create(&net, 9));
    CHECK_OK(mynn_set_input_shape(net, 1, 3, 3));
    CHECK_OK(mynn_add_layers(net, "conv:1:2,flatten,1"));
    CHECK_OK(mynn_build(net, 1, MYNN_INIT_XAVIER, 1));
    float *w = mynn_layer_tensor(net, 0, "weight", NULL, NULL), *b = mynn_layer_tensor(net, 0, "bias", NULL, NULL);
    for (int i = 0; i < 4; i++) w[i] = 1.0f;
    b[0] = 0.5f;
    mn_forward(net, img, 1, 0);
    const float *y = net->layers[0].out;
    CHECK(y[0] == 12.5f && y[1] == 16.5f && y[2] == 24.5f && y[3] == 28.5f,
          "conv 2x2: %g %g %g %g (expected 12.5 16.5 24.5 28.5)", y[0], y[1], y[2], y[3]);
    mynn_free(net);

    /* kernel [[1,0],[0,-1]], stride 2, pad 1 over the padded 5×5 image:
     * windows at (-1,-1) (-1,1) (1,-1) (1,1) give -1, -3, -7, 5-9 = -4 */
    CHECK_OK(mynn_create(&net, 9));
    CHECK_OK(mynn_set_input_shape(net, 1, 3, 3));
    CHECK_OK(mynn_add_layers(net, "conv:1:2:stride=2:pad=1,flatten,1"));
    CHECK_OK(mynn_build(net, 1, MYNN_INIT_XAVIER, 1));
    w = mynn_layer_tensor(net, 0, "weight", NULL, NULL);
    w[0] = 1, w[1] = 0, w[2] = 0, w[3] = -1;
    mynn_layer_tensor(net, 0, "bias", NULL, NULL)[0] = 0;
    mn_forward(net, img, 1, 0);
    y = net->layers[0].out;
    CHECK(y[0] == -1 && y[1] == -3 && y[2] == -7 && y[3] == -4, "conv s2 p1: %g %g %g %g", y[0], y[1],
          y[2], y[3]);
    mynn_free(net);

    float x16[16];
    for (int i = 0; i < 16; i++) x16[i] = (float)((i * 7) % 16);   /* 0 7 14 5 12 3 10 1 8 15 6 13 4 11 2 9 */
    CHECK_OK(mynn_create(&net, 16));
    CHECK_OK(mynn_set_input_shape(net, 1, 4, 4));
    CHECK_OK(mynn_add_layers(net, "maxpool:2,flatten,1"));
    CHECK_OK(mynn_build(net, 1, MYNN_INIT_XAVIER, 1));
    mn_forward(net, x16, 1, 0);
    y = net->layers[0].out;
    CHECK(y[0] == 12 && y[1] == 14 && y[2] == 15 && y[3] == 13, "maxpool 2x2: %g %g %g %g", y[0], y[1],
          y[2], y[3]);
    mynn_free(net);
    CHECK_OK(mynn_create(&net, 16));
    CHECK_OK(mynn_set_input_shape(net, 1, 4, 4));
    CHECK_OK(mynn_add_layers(net, "avgpool:2,gap,1"));
    CHECK_OK(mynn_build(net, 1, MYNN_INIT_XAVIER, 1));
    mn_forward(net, x16, 1, 0);
    y = net->layers[0].out;
    CHECK(y[0] == 5.5f && y[1] == 7.5f && y[2] == 9.5f && y[3] == 7.5f, "avgpool 2x2: %g %g %g %g", y[0], y[1],
          y[2], y[3]);
    CHECK(net->layers[1].out[0] == 7.5f, "gap: %g (expected 7.5)", net->layers[1].out[0]);
    (void)out;
    mynn_free(net);
}

/* Running statistics after two training batches and the evaluation-mode
 * output, against PyTorch's BatchNorm2d formulas (momentum 0.1, eps 1e-5,
 * unbiased running variance) computed here in double. */
static void test_batchnorm_running_stats(void)
{
    const int n = 3, C = 2, S = 4;
    float x[2][3 * 2 * 4];
    mynn_rng r;
    mynn_rng_seed(&r, 5);
    for (int t = 0; t < 2; t++)
        for (int i = 0; i < n * C * S; i++) x[t][i] = (float)(3.0 * mynn_rng_uniform(&r) + t);
    mynn_net *net = NULL;
    CHECK_OK(mynn_create(&net, C * S));
    CHECK_OK(mynn_set_input_shape(net, C, 2, 2));
    CHECK_OK(mynn_add_layers(net, "identity,batchnorm,flatten,1"));
    CHECK_OK(mynn_build(net, n, MYNN_INIT_XAVIER, 1));
    float *gamma = mynn_layer_tensor(net, 1, "weight", NULL, NULL);
    float *beta = mynn_layer_tensor(net, 1, "bias", NULL, NULL);
    gamma[0] = 1.5f, gamma[1] = -0.5f, beta[0] = 0.25f, beta[1] = 2.0f;
    double rm[2] = {0, 0}, rv[2] = {1, 1};
    for (int t = 0; t < 2; t++) {
        mn_forward(net, x[t], n, 1);
        for (int c = 0; c < C; c++) {
            double mean = 0, var = 0;
            for (int s = 0; s < n; s++)
                for (int i = 0; i < S; i++) mean += x[t][(s * C + c) * S + i];
            mean /= n * S;
            for (int s = 0; s < n; s++)
                for (int i = 0; i < S; i++) var += pow(x[t][(s * C + c) * S + i] - mean, 2);
            rm[c] = 0.9 * rm[c] + 0.1 * mean;
            rv[c] = 0.9 * rv[c] + 0.1 * var / (n * S - 1);
        }
    }
    const float *m = mynn_layer_tensor(net, 1, "running_mean", NULL, NULL);
    const float *v = mynn_layer_tensor(net, 1, "running_var", NULL, NULL);
    for (int c = 0; c < C; c++) {
        CHECK(fabs(m[c] - rm[c]) <= 1e-6 * (1 + fabs(rm[c])), "running_mean[%d] %.8g vs %.8g", c, m[c], rm[c]);
        CHECK(fabs(v[c] - rv[c]) <= 1e-6 * (1 + fabs(rv[c])), "running_var[%d] %.8g vs %.8g", c, v[c], rv[c]);
    }
    mn_forward(net, x[0], n, 0);   /* evaluation mode uses the running statistics */
    const float *y = net->layers[1].out;
    for (int s = 0; s < n; s++)
        for (int c = 0; c < C; c++)
            for (int i = 0; i < S; i++) {
                int o = (s * C + c) * S + i;
                double want = gamma[c] * (x[0][o] - rm[c]) / sqrt(rv[c] + 1e-5) + beta[c];
                CHECK(fabs(y[o] - want) <= 1e-5 * (1 + fabs(want)), "eval y[%d] %.8g vs %.8g", o, y[o], want);
            }
    mynn_free(net);
}

/* A few Adam steps of a CNN with batch norm and dropout give bit-identical
 * weights and running statistics at 1 and 2 threads. */
static void test_thread_determinism(void)
{
    enum { N = 32, D = 2 * 12 * 10 };
    static float x[N * D], y[N * 3];
    mynn_rng r;
    mynn_rng_seed(&r, 9);
    for (int i = 0; i < N * D; i++) x[i] = mynn_rng_uniform(&r);
    for (int s = 0; s < N; s++) y[s * 3 + s % 3] = 1.0f;
    float *first = NULL;
    size_t nv = 0;
    for (int threads = 1; threads <= 2; threads++) {
        mynn_set_threads(threads);
        mynn_net *net = NULL;
        CHECK_OK(mynn_create(&net, D));
        CHECK_OK(mynn_set_input_shape(net, 2, 12, 10));
        CHECK_OK(mynn_add_layers(net, "conv:16:3:relu:pad=1,batchnorm,maxpool:2,conv:6:3,dropout:0.2,gap,3:softmax"));
        CHECK_OK(mynn_set_loss(net, MYNN_LOSS_CE));
        CHECK_OK(mynn_build(net, N, MYNN_INIT_AUTO, 3));
        mynn_optim_config c;
        mynn_optim_config_default(&c, MYNN_OPT_ADAM);
        mynn_optimizer *opt = NULL;
        CHECK_OK(mynn_optimizer_create(&opt, net, &c));
        for (int step = 0; step < 5; step++) {
            CHECK_OK(mynn_compute_gradients(net, x, y, N, NULL));
            CHECK_OK(mynn_optimizer_step(opt, 1e-3f));
        }
        nv = mn_net_values(net);
        if (!first) {
            first = malloc(nv * sizeof *first);
            memcpy(first, net->params, nv * sizeof *first);
        } else {
            CHECK(memcmp(first, net->params, nv * sizeof *first) == 0,
                  "weights or running statistics differ between 1 and 2 threads");
        }
        mynn_optimizer_free(opt);
        mynn_free(net);
    }
    mynn_set_threads(0);
    free(first);
}

/* Shapes that do not fit name the layer and the shapes. */
static void test_shape_errors(void)
{
    mynn_net *net = NULL;
    CHECK_OK(mynn_create(&net, 64 * 49));
    CHECK_OK(mynn_set_input_shape(net, 64, 7, 7));
    CHECK_OK(mynn_add_layers(net, "conv:8:3,batchnorm"));
    CHECK(mynn_add_layers(net, "conv:4:9") == MYNN_ERR_SHAPE, "9x9 kernel on 5x5 accepted");
    CHECK(strstr(mynn_last_error(), "layer 3 (conv): input 8×5×5 needs kernel") != NULL, "message: %s",
          mynn_last_error());
    CHECK(mynn_add_layers(net, "maxpool:6") == MYNN_ERR_SHAPE, "pool larger than its input accepted");
    CHECK(mynn_add_layers(net, "conv:4:3:stride=0") == MYNN_ERR_ARG, "stride 0 accepted");
    CHECK(mynn_add_layers(net, "conv:4:3:softmax") == MYNN_ERR_ARG, "softmax conv accepted");
    CHECK(mynn_add_layers(net, "conv:4:2:pad=same") == MYNN_ERR_ARG, "pad=same with an even kernel accepted");
    CHECK(mynn_add_layers(net, "conv:4:3:dilation=2") == MYNN_ERR_ARG, "unknown key accepted");
    CHECK(strstr(mynn_last_error(), "unknown key \"dilation\"") != NULL, "message: %s", mynn_last_error());
    CHECK(mynn_add_layers(net, "pool:2") == MYNN_ERR_ARG, "unknown kind accepted");
    CHECK(mynn_add_layers(net, "conv1d:4:3") == MYNN_ERR_SHAPE, "conv1d on an image accepted");
    mynn_free(net);
    CHECK_OK(mynn_create(&net, 10));
    CHECK(mynn_add_layers(net, "batchnorm,4") == MYNN_ERR_ARG, "batch norm first accepted");
    CHECK(mynn_set_input_shape(net, 3, 2, 2) == MYNN_ERR_SHAPE, "shape of 12 accepted for 10 inputs");
    mynn_free(net);
}

static mynn_net *make_cnn(int max_batch, uint64_t seed)
{
    mynn_net *net = NULL;
    CHECK_OK(mynn_create(&net, 2 * 12 * 10));
    CHECK_OK(mynn_set_input_shape(net, 2, 12, 10));
    CHECK_OK(mynn_add_layers(net, "conv:8:3:relu:pad=1,batchnorm,maxpool:2,conv:4:3x5:tanh:pad=same,"
                                  "dropout:0.25,flatten,6:relu,batchnorm,3:softmax"));
    CHECK_OK(mynn_set_loss(net, MYNN_LOSS_CE));
    CHECK_OK(mynn_build(net, max_batch, MYNN_INIT_AUTO, seed));
    return net;
}

/* A CNN with batch norm saved and loaded: same architecture, parameters,
 * running statistics and bit-identical predictions; an independent reader
 * (tests/read_safetensors.py) sees PyTorch's names and shapes. */
static void test_save_load(void)
{
    enum { N = 9, D = 240 };
    static float x[N * D], y[N * 3], p1[N * 3], p2[N * 3];
    mynn_rng r;
    mynn_rng_seed(&r, 4);
    for (int i = 0; i < N * D; i++) x[i] = mynn_rng_uniform(&r);
    for (int s = 0; s < N; s++) y[s * 3 + s % 3] = 1.0f;
    mynn_net *a = make_cnn(N, 8);
    mynn_optim_config c;
    mynn_optim_config_default(&c, MYNN_OPT_ADAM);
    mynn_optimizer *opt = NULL;
    CHECK_OK(mynn_optimizer_create(&opt, a, &c));
    for (int step = 0; step < 3; step++) {   /* moves the running statistics off 0 and 1 */
        CHECK_OK(mynn_compute_gradients(a, x, y, N, NULL));
        CHECK_OK(mynn_optimizer_step(opt, 1e-2f));
    }
    mynn_optimizer_free(opt);
    char path[64];   /* per process: the normal and sanitizer suites may run at once */
    snprintf(path, sizeof path, "/tmp/mynn_test_conv_%ld.safetensors", (long)getpid());
    CHECK_OK(mynn_save(a, path));
    mynn_net *b = NULL;
    CHECK_OK(mynn_load(&b, path, N));
    if (!b) {
        mynn_free(a);
        return;
    }
    CHECK(mn_net_values(a) == mn_net_values(b) &&
          memcmp(a->params, b->params, mn_net_values(a) * sizeof(float)) == 0,
          "parameters or running statistics differ after loading");
    int sh[3];
    CHECK(mynn_input_shape(b, sh) == 2 && sh[0] == 2 && sh[1] == 12 && sh[2] == 10, "input shape");
    CHECK_OK(mynn_predict(a, x, N, p1));
    CHECK_OK(mynn_predict(b, x, N, p2));
    CHECK(memcmp(p1, p2, sizeof p1) == 0, "predictions differ after loading");

    if (access("/usr/bin/python3", X_OK) == 0 && access("tests/read_safetensors.py", R_OK) == 0) {
        char cmd[160];
        snprintf(cmd, sizeof cmd, "/usr/bin/python3 tests/read_safetensors.py %s 2>&1", path);
        FILE *py = popen(cmd, "r");
        char line[4096];
        int seen = 0, shape_meta = 0;
        while (py && fgets(line, sizeof line, py)) {
            if (!strcmp(line, "meta input_shape \"2x12x10\"\n")) shape_meta = 1;
            char name[64], dims[64], first[64];
            unsigned long long b0, b1, h;
            char sum[64], last[64];
            if (sscanf(line, "tensor %63s %63s %llu %llu %63s %llu %63s %63s", name, dims, &b0, &b1, sum, &h,
                       first, last) != 8)
                continue;
            int layer;
            char field[32];
            if (sscanf(name, "layers.%d.%31s", &layer, field) != 2) continue;
            int rank;
            size_t dd[4];
            const float *v = mynn_layer_tensor(b, layer, field, &rank, dd);
            CHECK(v != NULL, "reader lists %s, which the net lacks", name);
            if (!v) continue;
            char want[64] = "";
            for (int k = 0; k < rank; k++)
                snprintf(want + strlen(want), sizeof want - strlen(want), "%s%zu", k ? "," : "", dd[k]);
            CHECK(!strcmp(dims, want), "%s: shape %s, expected %s", name, dims, want);
            CHECK(strtod(first, NULL) == (double)v[0], "%s: first value %s vs %.9g", name, first, v[0]);
            seen++;
        }
        if (py) CHECK(pclose(py) == 0, "read_safetensors.py failed");
        /* conv w+b, bn 4, conv w+b, dense w+b, bn 4, dense w+b */
        CHECK(seen == 16, "reader saw %d layer tensors, expected 16", seen);
        CHECK(shape_meta, "no input_shape metadata");
        int rank;
        size_t dd[4];
        mynn_layer_tensor(b, 3, "weight", &rank, dd);
        CHECK(rank == 4 && dd[0] == 4 && dd[1] == 8 && dd[2] == 3 && dd[3] == 5, "conv weight shape");
    }
    remove(path);
    mynn_free(a);
    mynn_free(b);
}

/* mynn_fit with checkpoints on a CNN with batch norm and dropout: stopping
 * after 2 of 4 epochs and resuming gives the uninterrupted run's weights
 * and running statistics bit for bit. */
static void test_checkpoint_resume(void)
{
    enum { N = 40, D = 240 };
    static float x[N * D], y[N * 3];
    static int labels[N];
    mynn_rng r;
    mynn_rng_seed(&r, 6);
    for (int s = 0; s < N; s++) {
        labels[s] = s % 3;
        y[s * 3 + s % 3] = 1.0f;
        for (int i = 0; i < D; i++) x[s * D + i] = mynn_rng_uniform(&r) + (i % 3 == s % 3 ? 0.5f : 0.0f);
    }
    mynn_dataset ds;
    memset(&ds, 0, sizeof ds);
    ds.n = N, ds.n_inputs = D, ds.n_outputs = 3, ds.n_classes = 3, ds.x = x, ds.y = y, ds.labels = labels;
    char ck[64];
    snprintf(ck, sizeof ck, "/tmp/mynn_test_conv_ckpt_%ld.safetensors", (long)getpid());
    remove(ck);
    mynn_fit_options o;
    mynn_fit_options_default(&o);
    o.epochs = 4;
    o.batch_size = 8;
    mynn_net *whole = make_cnn(8, 2), *part = make_cnn(8, 2);
    CHECK_OK(mynn_fit(whole, &ds, NULL, &o));
    o.checkpoint_path = ck;
    o.epochs = 2;
    CHECK_OK(mynn_fit(part, &ds, NULL, &o));
    mynn_free(part);
    part = make_cnn(8, 99);   /* other initial weights: all must come from the checkpoint */
    o.epochs = 4;
    o.resume = 1;
    CHECK_OK(mynn_fit(part, &ds, NULL, &o));
    CHECK(memcmp(whole->params, part->params, mn_net_values(whole) * sizeof(float)) == 0,
          "resumed run differs from the uninterrupted one");
    remove(ck);
    mynn_free(whole);
    mynn_free(part);
}

int main(void)
{
    CK_BEGIN("test_conv");
    RUN(test_conv_gradients);
    RUN(test_pool_gradients);
    RUN(test_batchnorm_gradients);
    RUN(test_conv1d_gradients);
    RUN(test_known_values);
    RUN(test_batchnorm_running_stats);
    RUN(test_thread_determinism);
    RUN(test_shape_errors);
    RUN(test_save_load);
    RUN(test_checkpoint_resume);
    printf("worst gradient relative error: %.3g (bound 1e-4)\n", g_worst);
    return CK_END();
}
