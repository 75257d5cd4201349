/* Batch norm folded into the layer before it (src/network/fold.c): with
 * random weights, random γ, β and random running statistics, a network
 * whose conv (2-D or 1-D) or dense layer carries the folded weight and
 * bias and has no batch norm predicts what the unfolded network predicts
 * at inference, to 1e-5 of each row's largest output; a batch norm that
 * cannot fold (after a non-linear activation, after pooling) is the
 * per-channel affine x·s + t. */
#include "check.h"
#include "mynn.h"
#include "network/fold.h"
#include "network/network.h"

static mynn_rng g_rng;

static float unif(float lo, float hi) { return lo + (hi - lo) * mynn_rng_uniform(&g_rng); }

static double row_rel_diff(const float *a, const float *b, int n, int k)
{
    double worst = 0.0;
    for (int r = 0; r < n; r++) {
        double m = 1e-30, d = 0.0;
        for (int j = 0; j < k; j++) {
            double bj = fabs(b[(size_t)r * k + j]), dj = fabs((double)a[(size_t)r * k + j] - b[(size_t)r * k + j]);
            if (bj > m) m = bj;
            if (dj > d) d = dj;
        }
        if (d / m > worst) worst = d / m;
    }
    return worst;
}

static mynn_net *build(int c, int h, int w, const char *spec)
{
    mynn_net *net = NULL;
    CHECK_OK(mynn_create(&net, c * h * w));
    if (h == 1 && w > 1) CHECK_OK(mynn_set_input_shape_1d(net, c, w));
    else if (h > 1) CHECK_OK(mynn_set_input_shape(net, c, h, w));
    CHECK_OK(mynn_add_layers(net, spec));
    CHECK_OK(mynn_build(net, 16, MYNN_INIT_AUTO, 7));
    return net;
}

/* Random γ, β, running mean and variance for every batch norm, and biases
 * that are not zero. */
static void randomise(mynn_net *net)
{
    for (int i = 0; i < net->n_layers; i++) {
        mn_layer *l = &net->layers[i];
        size_t np = mn_layer_params(l);
        if (l->kind->id == MYNN_LAYER_BATCHNORM) {
            int C = l->in_shape.c;
            for (int c = 0; c < C; c++) {
                l->param[c] = unif(0.5f, 1.5f);
                l->param[C + c] = unif(-0.5f, 0.5f);
                l->buf[c] = unif(-0.3f, 0.3f);
                l->buf[C + c] = unif(0.05f, 2.0f);
            }
        } else if (np > (size_t)l->out_shape.c) {
            for (int c = 0; c < l->out_shape.c; c++) l->param[np - l->out_shape.c + c] = unif(-0.2f, 0.2f);
        }
    }
}

static float *inputs(int n, int d)
{
    float *x = malloc(sizeof(float) * (size_t)n * d);
    for (size_t i = 0; i < (size_t)n * d; i++) x[i] = unif(-1.0f, 1.0f);
    return x;
}

/* full: a spec with "batchnorm" right after layer `at`; bare: the same
 * without it.  bare's layer `at` gets the folded pair, the others full's. */
static void check_fold(int c, int h, int w, const char *full, const char *bare, int at)
{
    mynn_net *a = build(c, h, w, full), *b = build(c, h, w, bare);
    randomise(a);
    CHECK(mn_fold_next(a, at), "%s: layer %d does not fold", full, at);
    for (int i = 0, j = 0; i < a->n_layers; i++, j++) {
        mn_layer *la = &a->layers[i], *lb = &b->layers[j];
        if (i == at) {
            mn_bn_fold(la, &a->layers[i + 1], lb->param, lb->param + mn_layer_params(lb) - lb->out_shape.c);
            i++;
            continue;
        }
        size_t np = mn_layer_params(la), nb = mn_layer_buffers(la);
        CHECK(np == mn_layer_params(lb) && nb == mn_layer_buffers(lb), "layer %d: sizes differ", i);
        if (np) memcpy(lb->param, la->param, np * sizeof(float));
        if (nb) memcpy(lb->buf, la->buf, nb * sizeof(float));
    }
    int n = 16, d = c * h * w, k = mynn_n_outputs(a);
    float *x = inputs(n, d), *ya = malloc(sizeof(float) * (size_t)n * k), *yb = malloc(sizeof(float) * (size_t)n * k);
    CHECK_OK(mynn_predict(a, x, n, ya));
    CHECK_OK(mynn_predict(b, x, n, yb));
    double rel = row_rel_diff(yb, ya, n, k);
    CHECK(rel <= 1e-5, "%s: folded differs by %g", full, rel);
    printf("  %-58s folded: %.2g\n", full, rel);
    free(x);
    free(ya);
    free(yb);
    mynn_free(a);
    mynn_free(b);
}

static void test_conv2d_fold(void)
{
    check_fold(3, 9, 9, "conv:6:3:pad=1:stride=2,batchnorm,relu,conv:4:3:pad=same,batchnorm,flatten,5",
               "conv:6:3:pad=1:stride=2,relu,conv:4:3:pad=same,batchnorm,flatten,5", 0);
    check_fold(3, 9, 9, "conv:6:3:pad=1:stride=2,batchnorm,relu,conv:4:3:pad=same,batchnorm,flatten,5",
               "conv:6:3:pad=1:stride=2,batchnorm,relu,conv:4:3:pad=same,flatten,5", 3);
}

static void test_conv1d_fold(void)
{
    check_fold(2, 1, 20, "conv1d:5:3:pad=1,batchnorm,tanh,gap,3", "conv1d:5:3:pad=1,tanh,gap,3", 0);
}

static void test_dense_fold(void)
{
    check_fold(12, 1, 1, "10,batchnorm,gelu,4", "10,gelu,4", 0);
}

/* Not foldable: the affine map on what the layer before gives (each
 * layer's output of the last prediction is in its out buffer). */
static void check_affine(int c, int h, int w, const char *spec, int at)
{
    mynn_net *a = build(c, h, w, spec);
    randomise(a);
    CHECK(!mn_fold_next(a, at - 1), "%s: layer %d folds", spec, at - 1);
    const mn_layer *bn = &a->layers[at];
    int C = bn->in_shape.c, S = bn->in_shape.h * bn->in_shape.w, n = 8, d = c * h * w, k = bn->n_out;
    float *s = malloc(sizeof(float) * C), *t = malloc(sizeof(float) * C);
    mn_bn_affine(bn, s, t);
    float *x = inputs(n, d), *y = malloc(sizeof(float) * (size_t)n * mynn_n_outputs(a));
    float *yb = malloc(sizeof(float) * (size_t)n * k);
    CHECK_OK(mynn_predict(a, x, n, y));
    const float *before = a->layers[at - 1].out;
    for (int r = 0; r < n; r++)
        for (int q = 0; q < C; q++)
            for (int p = 0; p < S; p++) {
                size_t o = (size_t)r * k + (size_t)q * S + p;
                yb[o] = before[o] * s[q] + t[q];
            }
    double rel = row_rel_diff(yb, bn->out, n, k);
    CHECK(rel <= 1e-6, "%s: affine differs by %g", spec, rel);
    printf("  %-58s affine: %.2g\n", spec, rel);
    free(s);
    free(t);
    free(x);
    free(y);
    free(yb);
    mynn_free(a);
}

static void test_not_foldable(void)
{
    check_affine(2, 8, 8, "conv:4:3:relu,batchnorm,flatten,3", 1);
    check_affine(2, 8, 8, "conv:4:3,maxpool:2,batchnorm,flatten,3", 2);
    check_affine(2, 1, 16, "conv1d:3:3,avgpool1d:2,batchnorm,flatten,3", 2);
    check_affine(6, 1, 1, "5:sigmoid,batchnorm,3", 1);
    /* the predicates themselves */
    mynn_net *net = build(2, 6, 6, "conv:3:3,flatten,batchnorm,8,batchnorm,batchnorm,2");
    CHECK(!mn_fold_next(net, 0) && !mn_fold_next(net, 1), "conv, flatten, batchnorm folds");
    CHECK(mn_fold_next(net, 3) && !mn_fold_next(net, 4), "dense, batchnorm, batchnorm");
    CHECK(!mn_fold_next(net, 5) && !mn_fold_next(net, -1) && !mn_fold_next(NULL, 0), "out of range");
    mynn_free(net);
}

int main(void)
{
    CK_BEGIN("test_fold");
    mynn_set_threads(1);
    mynn_rng_seed(&g_rng, 11);
    RUN(test_conv2d_fold);
    RUN(test_conv1d_fold);
    RUN(test_dense_fold);
    RUN(test_not_foldable);
    return CK_END();
}
