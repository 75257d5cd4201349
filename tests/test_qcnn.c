/* int8 convolutional networks: the int8 patch gathering against the float
 * im2col, the int8 forward pass of every layer kind against an independent
 * direct-loop implementation of its arithmetic (bit for bit), against the
 * float network (bounded error, class agreement), batch norm folding
 * (inside residual branches too, and a batch norm that cannot fold, its
 * conv read twice), graphs (residual, inception, concat, 1-D),
 * thread count / chunking / file round trip / the exported int8 C (gcc and
 * clang -std=c99 -Werror) giving the same bits, and a CNN trained on
 * Fashion-MNIST whose int8 version loses <= 0.5 accuracy points, in a file
 * >= 3x smaller, through the tool too. */
#include "check.h"
#include "gen_c.h"
#include "mynn.h"
#include "kernels/kernels.h"
#include "kernels/qgemm.h"
#include "network/fold.h"
#include "network/network.h"

#include <math.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define FM_DIR "/usr/share/datasets/fashion-mnist"

static char tmpdir[256];

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static const char *tmp_path(const char *name)
{
    static char buf[4][512];
    static int k;
    k = (k + 1) % 4;
    snprintf(buf[k], sizeof buf[k], "%s/%s", tmpdir, name);
    return buf[k];
}

/* ---- the patch rows ------------------------------------------------------ */

static void test_qim2row(void)
{
    /* c, h, w, kh, kw, sh, sw, ph, pw: the patches of the zero-padded image
     * against the float im2col's (which pads itself) */
    static const int g[][9] = {{1, 5, 5, 3, 3, 1, 1, 1, 1}, {2, 6, 7, 3, 2, 2, 1, 0, 1},
                               {3, 4, 9, 1, 5, 1, 2, 0, 2}, {2, 7, 7, 5, 5, 2, 2, 2, 2},
                               {1, 1, 12, 1, 3, 1, 1, 0, 0}, {4, 5, 6, 3, 3, 2, 2, 1, 1}};
    mynn_rng r;
    mynn_rng_seed(&r, 9);
    for (size_t t = 0; t < sizeof g / sizeof *g; t++) {
        int c = g[t][0], h = g[t][1], w = g[t][2], kh = g[t][3], kw = g[t][4], sh = g[t][5], sw = g[t][6];
        int ph = g[t][7], pw = g[t][8], oh = (h + 2 * ph - kh) / sh + 1, ow = (w + 2 * pw - kw) / sw + 1;
        int K = c * kh * kw, ld = mn_qgemm_kpad(K) + 4, P = oh * ow;
        uint8_t *q = malloc((size_t)c * h * w), *rows = malloc((size_t)P * ld);
        float *x = malloc(sizeof(float) * c * h * w), *col = malloc(sizeof(float) * K * P);
        for (int i = 0; i < c * h * w; i++) {
            q[i] = (uint8_t)(mynn_rng_uniform(&r) * 256);
            x[i] = (float)q[i] - 128.0f;
        }
        mn_im2col(x, 1, c, h, w, kh, kw, sh, sw, ph, pw, oh, ow, col);
        int hp = h + 2 * ph, wp = w + 2 * pw;
        uint8_t *qp = malloc((size_t)c * hp * wp);
        memset(qp, 128, (size_t)c * hp * wp);
        for (int ci = 0; ci < c; ci++)
            for (int y = 0; y < h; y++) memcpy(qp + ((size_t)ci * hp + y + ph) * wp + pw, q + ((size_t)ci * h + y) * w, (size_t)w);
        mn_qim2row(qp, c, hp, wp, kh, kw, sh, sw, oh, ow, rows, ld);
        free(qp);
        long bad = 0;
        for (int p = 0; p < P; p++) {
            for (int k = 0; k < K; k++) bad += (float)rows[(size_t)p * ld + k] - 128.0f != col[(size_t)k * P + p];
            for (int k = K; k < ld; k++) bad += rows[(size_t)p * ld + k] != 128;
        }
        CHECK(bad == 0, "geometry %zu: %ld bytes differ from im2col", t, bad);
        free(q);
        free(rows);
        free(x);
        free(col);
    }
}

/* ---- an independent int8 forward pass ------------------------------------ */

static void act(mynn_activation a, float *v, int n)
{
    for (int o = 0; o < n; o++) {
        float z = v[o];
        switch (a) {
        case MYNN_ACT_RELU: v[o] = z > 0 ? z : 0; break;
        case MYNN_ACT_TANH: v[o] = tanhf(z); break;
        case MYNN_ACT_SIGMOID: v[o] = z >= 0 ? 1.0f / (1.0f + expf(-z)) : expf(z) / (1.0f + expf(z)); break;
        case MYNN_ACT_LEAKY_RELU: v[o] = z > 0 ? z : 0.01f * z; break;
        case MYNN_ACT_GELU: v[o] = 0.5f * z * (1.0f + erff(z * 0.70710678118654752f)); break;
        default: break;
        }
    }
    if (a == MYNN_ACT_SOFTMAX) {
        float m = v[0], sum = 0;
        for (int o = 1; o < n; o++) m = v[o] > m ? v[o] : m;
        for (int o = 0; o < n; o++) sum += (v[o] = expf(v[o] - m));
        for (int o = 0; o < n; o++) v[o] *= 1.0f / sum;
    }
}

/* The int8 weight back from the float view's dequantised one. */
static long wint(float w, float scale) { return lroundf(w / scale); }

/* One sample through the int8 model by direct loops over the float view's
 * layer descriptions, node by node through the graph (each reading its
 * inputs: mynn_layer_inputs) (mynn.h's arithmetic: mn_q8 of x / in_scale,
 * exact integer sums, z = sum · in_scale · w_scale + b; batch norm as
 * x·s + t with s = γ / sqrt(var + eps) and t = β - mean·s in double;
 * pooling over the window's part inside the plane, the average dividing
 * by the whole window; add summing its inputs in order, then its
 * activation; concat one input after another). */
static void reference_forward(const mynn_qnet *q, const float *x, float *y)
{
    const mynn_net *f = mynn_qnet_float(q);
    const int n = mynn_n_inputs(f), N = mynn_n_layers(f);
    float *in = malloc(sizeof(float) * n), **val = malloc(sizeof(float *) * N);
    for (int j = 0; j < n; j++) in[j] = (x[j] - f->shift[j]) * f->scale[j];
    for (int i = 0; i < N; i++) {
        mynn_layer_info li;
        mynn_layer_get_info(f, i, &li);
        const mn_layer *l = &f->layers[i];
        int ids[8], m = mynn_layer_inputs(f, i, ids, 8), size[8];
        const float *xs[8];
        for (int j = 0; j < m; j++) {
            xs[j] = ids[j] == MYNN_INPUT ? in : val[ids[j]];
            size[j] = ids[j] == MYNN_INPUT ? n : f->layers[ids[j]].n_out;
        }
        const float *a = xs[0];
        float *b = val[i] = malloc(sizeof(float) * li.n_outputs);
        int C = li.in_shape[0], H = li.in_shape[1], W = li.in_shape[2];
        int F = li.out_shape[0], OH = li.out_shape[1], OW = li.out_shape[2];
        float s = 0;
        const float *ws = NULL;
        if (li.kind == MYNN_LAYER_DENSE || li.kind == MYNN_LAYER_CONV) CHECK_OK(mynn_qnet_layer_scales(q, i, &s, &ws));
        switch (li.kind) {
        case MYNN_LAYER_DENSE:
            for (int o = 0; o < li.n_outputs; o++) {
                long acc = 0;
                for (int k = 0; k < li.n_inputs; k++)
                    acc += mn_q8(a[k] * (1.0f / s)) * wint(l->param[o * li.n_inputs + k], ws[o]);
                b[o] = (float)acc * (s * ws[o]) + l->param[li.n_outputs * li.n_inputs + o];
            }
            act(li.activation, b, li.n_outputs);
            break;
        case MYNN_LAYER_CONV: {
            int kh = li.kernel[0], kw = li.kernel[1], K = C * kh * kw;
            for (int fo = 0; fo < F; fo++)
                for (int oy = 0; oy < OH; oy++)
                    for (int ox = 0; ox < OW; ox++) {
                        long acc = 0;
                        for (int ci = 0; ci < C; ci++)
                            for (int u = 0; u < kh; u++)
                                for (int v = 0; v < kw; v++) {
                                    int iy = oy * li.stride[0] - li.pad[0] + u, ix = ox * li.stride[1] - li.pad[1] + v;
                                    if (iy < 0 || iy >= H || ix < 0 || ix >= W) continue;
                                    acc += mn_q8(a[(ci * H + iy) * W + ix] * (1.0f / s)) *
                                           wint(l->param[fo * K + (ci * kh + u) * kw + v], ws[fo]);
                                }
                        b[(fo * OH + oy) * OW + ox] = (float)acc * (s * ws[fo]) + l->param[F * K + fo];
                    }
            for (int fo = 0; fo < F; fo++) act(li.activation, b + fo * OH * OW, OH * OW);
            break;
        }
        case MYNN_LAYER_MAXPOOL:
        case MYNN_LAYER_AVGPOOL:
        case MYNN_LAYER_GLOBAL_AVGPOOL: {
            int gap = li.kind == MYNN_LAYER_GLOBAL_AVGPOOL;
            int kh = gap ? H : li.kernel[0], kw = gap ? W : li.kernel[1];
            int sh = gap ? 1 : li.stride[0], sw = gap ? 1 : li.stride[1];
            int ph = gap ? 0 : li.pad[0], pw = gap ? 0 : li.pad[1];
            for (int c = 0; c < F; c++)
                for (int oy = 0; oy < OH; oy++)
                    for (int ox = 0; ox < OW; ox++) {
                        float mx = -INFINITY, sum = 0;
                        for (int u = 0; u < kh; u++)
                            for (int v = 0; v < kw; v++) {
                                int iy = oy * sh - ph + u, ix = ox * sw - pw + v;
                                if (iy < 0 || iy >= H || ix < 0 || ix >= W) continue;
                                float e = a[(c * H + iy) * W + ix];
                                mx = e > mx ? e : mx;
                                sum += e;
                            }
                        b[(c * OH + oy) * OW + ox] = li.kind == MYNN_LAYER_MAXPOOL ? mx : sum * (1.0f / (float)(kh * kw));
                    }
            break;
        }
        case MYNN_LAYER_BATCHNORM:
            for (int c = 0; c < C; c++) {
                double sc = (double)l->param[c] / sqrt((double)l->buf[C + c] + (double)li.eps);
                float sf = (float)sc, t = (float)((double)l->param[C + c] - (double)l->buf[c] * sc);
                for (int k = 0; k < H * W; k++) b[c * H * W + k] = a[c * H * W + k] * sf + t;
            }
            break;
        case MYNN_LAYER_ACTIVATION:
            memcpy(b, a, sizeof(float) * li.n_inputs);
            act(li.activation, b, li.n_inputs);
            break;
        case MYNN_LAYER_ADD:
            for (int k = 0; k < li.n_outputs; k++) {
                float v = xs[0][k];
                for (int j = 1; j < m; j++) v += xs[j][k];
                b[k] = v;
            }
            act(li.activation, b, li.n_outputs);
            break;
        case MYNN_LAYER_CONCAT: {
            float *o = b;
            for (int j = 0; j < m; j++, o += size[j - 1]) memcpy(o, xs[j], sizeof(float) * size[j]);
            break;
        }
        default:   /* flatten, dropout */
            memcpy(b, a, sizeof(float) * li.n_inputs);
            break;
        }
    }
    memcpy(y, val[N - 1], sizeof(float) * mynn_n_outputs(f));
    for (int i = 0; i < N; i++) free(val[i]);
    free(val);
    free(in);
}

/* ---- every layer kind ------------------------------------------------------ */

typedef struct cnn_case {
    const char *spec;
    int dims, c, h, w;
    int folds;          /* batch norms that fold (the others run as x·s + t) */
    double tol;         /* int8 vs float, max |diff| (0: 0.06) */
} cnn_case;

static const cnn_case g_cases[] = {
    {"conv:4:3:pad=1,batchnorm,relu,maxpool:2,conv:6:3:tanh,avgpool:2:stride=1,flatten,dropout:0.2,"
     "8:relu,3:softmax", 2, 2, 10, 10, 1, 0},
    {"conv:4:3:relu:pad=same,batchnorm,gap,5:softmax", 2, 3, 6, 6, 0, 0},
    {"conv:5:3:stride=2,batchnorm,leaky_relu,flatten,4:softmax", 2, 1, 9, 9, 1, 0},
    {"conv1d:4:5:relu:pad=2,maxpool1d:2,conv1d:3:3,batchnorm,gelu,flatten,3:softmax", 1, 3, 1, 20, 1, 0},
    {"conv:3:2x3:sigmoid:stride=2,flatten,8,batchnorm,relu,3:softmax", 2, 2, 7, 8, 1, 0},
    /* graphs.  Every batch norm here scales by up to 4.5 (γ up to 2,
     * variance down to 0.2) and the int8 rounding with it, so the deeper
     * ones are held to a wider bound against float; their arithmetic is
     * checked bit for bit and their calibration exactly.
     * Residual blocks whose batch norms all fold inside the branches (the
     * projection shortcut's too), the identity shortcut of the first
     * block reading the (transformed) network input */
    {"res(conv:2:3:pad=same,batchnorm,relu,conv:2:3:pad=same,batchnorm):relu,conv:4:3:pad=1,batchnorm,relu,"
     "res(conv:4:3:pad=same,batchnorm,relu,conv:4:3:pad=same,batchnorm):relu,"
     "res(conv:6:3:stride=2:pad=1,batchnorm,relu,conv:6:3:pad=same,batchnorm | conv:6:1:stride=2,batchnorm):relu,"
     "gap,5:softmax", 2, 2, 10, 10, 8, 0.15},
    /* the first conv's output read by its batch norm and by the add: that
     * batch norm cannot fold; the block's two do */
    {"conv:4:3:pad=1:as=c,batchnorm,add:relu:from=c+-1,"
     "res(conv:4:3:pad=same,batchnorm,relu,conv:4:3:pad=same,batchnorm):relu,maxpool:3:stride=2:pad=1,"
     "flatten,5:softmax", 2, 3, 9, 9, 2, 0.15},
    /* an inception block with padded pooling, a batch norm after the concat
     * (not foldable), concatenated and added vectors */
    {"cat(conv:3:1:relu | conv:3:3:tanh:pad=same | maxpool:3:stride=1:pad=1 | avgpool:3:stride=1:pad=1),"
     "batchnorm,conv:4:3:relu:stride=2,flatten,8:relu:as=h,8:tanh,add:from=h+-1,6:sigmoid:from=h,"
     "concat:from=-2+-1,3:softmax", 2, 2, 8, 8, 0, 0},
    /* two batch norms in a row (the first folds; the second, which then
     * reads the conv, must not fold again: the float view keeps it), in a
     * residual branch and after a dense layer.  Each pair scales by up to
     * 20 here, and the int8 rounding with it: the same net with each pair
     * merged into one batch norm (the same function) is exactly as far
     * from float (measured: the same max |diff| to three digits) */
    {"conv:4:3:pad=1,batchnorm,batchnorm,relu,maxpool:2,res(conv:4:3:pad=same,batchnorm,batchnorm,tanh),flatten,"
     "6,batchnorm,batchnorm,3:softmax", 2, 2, 8, 8, 3, 0.3},
    /* 1-D: a residual block and a padded max pool beside a 1x1 conv */
    {"conv1d:4:3:pad=1,batchnorm,relu,res(conv1d:4:3:pad=same,batchnorm,relu,conv1d:4:3:pad=same,batchnorm):relu,"
     "cat(conv1d:3:1:tanh | maxpool1d:3:stride=1:pad=1),gap,3:softmax", 1, 2, 1, 24, 3, 0},
};

static mynn_net *case_net(const cnn_case *cc, int seed)
{
    mynn_net *net = NULL;
    int d = cc->c * cc->h * cc->w;
    CHECK_OK(mynn_create(&net, d));
    if (cc->dims == 2) CHECK_OK(mynn_set_input_shape(net, cc->c, cc->h, cc->w));
    else CHECK_OK(mynn_set_input_shape_1d(net, cc->c, cc->w));
    CHECK_OK(mynn_add_layers(net, cc->spec));
    CHECK_OK(mynn_set_loss(net, MYNN_LOSS_CE));
    CHECK_OK(mynn_build(net, 16, MYNN_INIT_AUTO, seed));
    /* batch norms with statistics far from the identity, so folding matters */
    mynn_rng r;
    mynn_rng_seed(&r, (uint64_t)seed + 100);
    for (int i = 0; i < net->n_layers; i++) {
        mn_layer *l = &net->layers[i];
        if (l->kind->id != MYNN_LAYER_BATCHNORM) continue;
        int C = l->in_shape.c;
        for (int c = 0; c < C; c++) {
            l->param[c] = 0.5f + 1.5f * mynn_rng_uniform(&r);
            l->param[C + c] = mynn_rng_uniform(&r) - 0.5f;
            l->buf[c] = 0.4f * (mynn_rng_uniform(&r) - 0.5f);
            l->buf[C + c] = 0.2f + mynn_rng_uniform(&r);
        }
    }
    float *shift = calloc((size_t)d, sizeof(float)), *scale = malloc(sizeof(float) * d);
    for (int j = 0; j < d; j++) scale[j] = j % 3 ? 1.0f : 0.5f;
    CHECK_OK(mynn_set_input_transform(net, "custom", shift, scale));
    free(shift);
    free(scale);
    return net;
}

static float *random_x(int n, int d, uint64_t seed)
{
    float *x = malloc(sizeof(float) * (size_t)n * d);
    mynn_rng r;
    mynn_rng_seed(&r, seed);
    for (int i = 0; i < n * d; i++) x[i] = 4.0f * mynn_rng_uniform(&r) - 2.0f;
    return x;
}

static int argmax(const float *v, int k)
{
    int b = 0;
    for (int j = 1; j < k; j++) b = v[j] > v[b] ? j : b;
    return b;
}

/* Every quantised node's input scale is max |x| / 127 over the
 * calibration samples x, x being what that node reads in the float net
 * (the transformed input, or a batch norm's output where the batch norm
 * folded into the node the quantised one reads in the int8 model), to
 * 1e-5: the folded weights round differently. */
static void check_input_scales(mynn_net *net, const mynn_qnet *q, const float *x, int n, size_t t)
{
    const mynn_net *f = mynn_qnet_float(q);
    int *orig = malloc(sizeof(int) * f->n_layers), j = 0;
    for (int i = 0; i < net->n_layers; i++)
        if (mn_fold_source(net, i) < 0 && j < f->n_layers) orig[j++] = i;
    CHECK(j == f->n_layers, "case %zu: %d nodes left after folding, the int8 model has %d", t, j, f->n_layers);
    float *amax = calloc((size_t)f->n_layers, sizeof(float));
    const int d = net->n_inputs;
    for (int r = 0; r < n && j == f->n_layers; r += net->max_batch) {
        int c = n - r < net->max_batch ? n - r : net->max_batch;
        mn_forward(net, x + (size_t)r * d, c, 0);
        for (int i = 0; i < f->n_layers; i++) {
            float s;
            if (mynn_qnet_layer_scales(q, i, &s, NULL) != MYNN_OK) continue;
            const mn_layer *l = &net->layers[orig[i]];
            const float *v = mn_node_output(net, l->src[0]);
            for (size_t e = 0; e < (size_t)c * l->n_in; e++) amax[i] = fabsf(v[e]) > amax[i] ? fabsf(v[e]) : amax[i];
        }
    }
    for (int i = 0; i < f->n_layers && j == f->n_layers; i++) {
        float s;
        if (mynn_qnet_layer_scales(q, i, &s, NULL) != MYNN_OK) continue;
        CHECK(fabs(s * 127.0 - amax[i]) <= 1e-5 * amax[i], "case %zu: node %d: input scale %g, max |x| / 127 %g", t,
              i, s, amax[i] / 127.0);
    }
    free(orig);
    free(amax);
}

static void test_layer_kinds(void)
{
    for (size_t t = 0; t < sizeof g_cases / sizeof *g_cases; t++) {
        const cnn_case *cc = &g_cases[t];
        mynn_net *net = case_net(cc, (int)t + 1);
        if (!net) continue;
        int d = mynn_n_inputs(net), k = mynn_n_outputs(net), n = 300;
        float *x = random_x(n, d, 40 + t);
        mynn_qnet *q = NULL;
        CHECK_OK(mynn_quantize(&q, net, x, n, NULL));
        if (!q) {
            mynn_free(net);
            free(x);
            continue;
        }
        const mynn_net *f = mynn_qnet_float(q);
        int bn_left = 0, bn_all = 0;
        for (int i = 0; i < mynn_n_layers(f); i++) bn_left += f->layers[i].kind->id == MYNN_LAYER_BATCHNORM;
        for (int i = 0; i < mynn_n_layers(net); i++) bn_all += net->layers[i].kind->id == MYNN_LAYER_BATCHNORM;
        CHECK(mynn_n_layers(f) == mynn_n_layers(net) - cc->folds, "case %zu: %d layers after folding, want %d",
              t, mynn_n_layers(f), mynn_n_layers(net) - cc->folds);
        CHECK(bn_left == bn_all - cc->folds, "case %zu: %d batch norms left, want %d", t, bn_left,
              bn_all - cc->folds);
        check_input_scales(net, q, x, n, t);
        float *y = malloc(sizeof(float) * n * k), *yf = malloc(sizeof(float) * n * k);
        float *y2 = malloc(sizeof(float) * n * k), ref[16];
        CHECK_OK(mynn_qnet_predict(q, x, n, y));
        CHECK_OK(mynn_predict(net, x, n, yf));
        long differ = 0, agree = 0;
        double worst = 0;
        for (int r = 0; r < n; r++) {
            reference_forward(q, x + (size_t)r * d, ref);
            for (int j = 0; j < k; j++) {
                differ += memcmp(&ref[j], &y[r * k + j], 4) != 0;
                worst = fmax(worst, fabs(y[r * k + j] - yf[r * k + j]));
            }
            agree += argmax(y + r * k, k) == argmax(yf + r * k, k);
        }
        printf("  case %zu: int8 vs float max |diff| %.3g, classes agree %.1f%%\n", t, worst, 100.0 * agree / n);
        CHECK(differ == 0, "case %zu: %ld outputs differ from the reference int8 arithmetic", t, differ);
        CHECK(worst < (cc->tol > 0 ? cc->tol : 0.06), "case %zu: int8 vs float: max |diff| %g", t, worst);
        CHECK(agree >= 0.9 * n, "case %zu: classes agree on %ld of %d", t, agree, n);
        /* the same bits at 1 and 2 threads and in chunks of 3 */
        mynn_set_threads(1);
        CHECK_OK(mynn_qnet_predict(q, x, n, y2));
        CHECK(!memcmp(y, y2, sizeof(float) * n * k), "case %zu: 1 thread differs", t);
        mynn_set_threads(2);
        CHECK_OK(mynn_qnet_predict(q, x, n, y2));
        CHECK(!memcmp(y, y2, sizeof(float) * n * k), "case %zu: 2 threads differ", t);
        mynn_set_threads(0);
        mynn_qnet *q3 = NULL;
        mynn_quant_options o;
        mynn_quant_options_default(&o);
        o.max_batch = 3;
        CHECK_OK(mynn_quantize(&q3, net, x, n, &o));
        if (q3) {
            CHECK_OK(mynn_qnet_predict(q3, x, n, y2));
            CHECK(!memcmp(y, y2, sizeof(float) * n * k), "case %zu: max_batch 3 differs", t);
        }
        mynn_qnet_free(q3);
        /* the exported int8 C, compiled -std=c99 -Werror: the same bits */
        char dir[64];
        snprintf(dir, sizeof dir, "c%zu", t);
        CHECK(mkdir(tmp_path(dir), 0755) == 0, "mkdir");
        CHECK_OK(mynn_qexport_c(q, tmp_path(dir), "m"));
        for (int cc_i = 0; cc_i < 2; cc_i++) {
            if (!gen_c_have(gen_c_cc[cc_i])) continue;
            int rc = gen_c_compile_run(tmp_path(dir), gen_c_cc[cc_i], x, n, d, k, y2);
            CHECK(rc == 0, "case %zu: %s: %d", t, gen_c_cc[cc_i], rc);
            if (!rc)
                CHECK(!memcmp(y, y2, sizeof(float) * n * k), "case %zu: %s: the exported int8 C differs from "
                      "mynn_qnet_predict", t, gen_c_cc[cc_i]);
        }
        /* the file round trip */
        const char *p = tmp_path("cnn8.safetensors");
        mynn_qnet *l = NULL;
        CHECK_OK(mynn_qnet_save(q, p));
        CHECK_OK(mynn_qnet_load(&l, p, 32));
        if (l) {
            CHECK_OK(mynn_qnet_predict(l, x, n, y2));
            CHECK(!memcmp(y, y2, sizeof(float) * n * k), "case %zu: the loaded model differs", t);
            int sh[3], sh2[3];
            CHECK(mynn_input_shape(mynn_qnet_float(l), sh) == cc->dims &&
                  mynn_input_shape(net, sh2) == cc->dims && !memcmp(sh, sh2, sizeof sh),
                  "case %zu: input shape lost", t);
        }
        mynn_qnet_free(l);
        mynn_qnet_free(q);
        mynn_free(net);
        free(x);
        free(y);
        free(yf);
        free(y2);
    }
}

/* A convolution summing more than 65536 products per output (int32 sums
 * could overflow) is refused, naming it. */
static void test_refusals(void)
{
    mynn_net *net = NULL;
    CHECK_OK(mynn_create(&net, 1100 * 64));
    CHECK_OK(mynn_set_input_shape(net, 1100, 8, 8));
    CHECK_OK(mynn_add_layers(net, "conv:1:8,flatten,2"));
    CHECK_OK(mynn_build(net, 1, MYNN_INIT_AUTO, 1));
    float *x = calloc(1100 * 64, sizeof *x);
    mynn_qnet *q = NULL;
    CHECK(mynn_quantize(&q, net, x, 1, NULL) == MYNN_ERR_ARG && q == NULL &&
              strstr(mynn_last_error(), "layer 0 sums 70400 inputs"), "wide conv: %s", mynn_last_error());
    free(x);
    mynn_free(net);
}

/* ---- Fashion-MNIST ------------------------------------------------------- */

static int run_tool(const char *args)
{
    char tool[4096] = "";
    const char *t = getenv("MYNN_TOOL");
    if (t[0] != '/' && !getcwd(tool, sizeof tool - strlen(t) - 2)) return 127;
    if (t[0] != '/') strcat(tool, "/");
    strcat(tool, t);
    char cmd[9000];
    snprintf(cmd, sizeof cmd, "cd '%s' && '%s' %s >tool.out 2>tool.err", tmpdir, tool, args);
    int rc = system(cmd);
    return WIFEXITED(rc) ? WEXITSTATUS(rc) : 128;
}

static void test_fashion_mnist_cnn(void)
{
    if (ck_emulated()) SKIP("Fashion-MNIST training is minutes under emulation");
    if (access(FM_DIR, R_OK) != 0) SKIP("Fashion-MNIST not installed in %s", FM_DIR);
    mynn_dataset *train = NULL, *test = NULL;
    CHECK_OK(mynn_dataset_load(&train, FM_DIR, NULL, 0));
    CHECK_OK(mynn_dataset_load(&test, FM_DIR, NULL, 1));
    if (!train || !test) return;
    train->n = ck_sanitized() ? 4000 : 12000;
    mynn_net *net = NULL;
    CHECK_OK(mynn_create(&net, 784));
    CHECK_OK(mynn_set_input_shape(net, 1, 28, 28));
    CHECK_OK(mynn_add_layers(net, "conv:8:3:pad=1,batchnorm,relu,maxpool:2,conv:16:3:relu:pad=1,maxpool:2,"
                                  "flatten,10:softmax"));
    CHECK_OK(mynn_set_loss(net, MYNN_LOSS_CE));
    CHECK_OK(mynn_build(net, 64, MYNN_INIT_AUTO, 1));
    float shift[784] = {0}, scale[784];
    for (int j = 0; j < 784; j++) scale[j] = 1.0f / 255.0f;
    CHECK_OK(mynn_set_input_transform(net, "scale", shift, scale));
    mynn_fit_options fo;
    mynn_fit_options_default(&fo);
    fo.epochs = 1;
    fo.batch_size = 32;
    double t0 = now_s();
    CHECK_OK(mynn_fit(net, train, NULL, &fo));
    printf("  trained in %.1f s\n", now_s() - t0);
    mynn_qnet *q = NULL;
    CHECK_OK(mynn_quantize(&q, net, train->x, 2000, NULL));
    mynn_metrics mf, mq;
    CHECK_OK(mynn_evaluate(net, test, &mf, NULL));
    if (q) CHECK_OK(mynn_qnet_evaluate(q, test, &mq, NULL));
    printf("  Fashion-MNIST CNN test accuracy: float %.2f%%, int8 %.2f%%\n", 100 * mf.accuracy, 100 * mq.accuracy);
    CHECK(mf.accuracy > (ck_sanitized() ? 0.70f : 0.80f), "float accuracy %g", mf.accuracy);
    CHECK(mq.accuracy >= mf.accuracy - 0.005f, "int8 loses %.2f points", 100 * (mf.accuracy - mq.accuracy));
    const char *pf = tmp_path("cnn.safetensors"), *pq = tmp_path("cnn8.safetensors");
    CHECK_OK(mynn_save(net, pf));
    if (q) CHECK_OK(mynn_qnet_save(q, pq));
    struct stat sf, sq;
    CHECK(stat(pf, &sf) == 0 && stat(pq, &sq) == 0 && (double)sf.st_size / sq.st_size >= 3.0,
          "file sizes %ld / %ld", (long)sf.st_size, (long)sq.st_size);
    printf("  files: float %ld bytes, int8 %ld bytes (%.2fx)\n", (long)sf.st_size, (long)sq.st_size,
           (double)sf.st_size / sq.st_size);
    /* the exported int8 C on 2000 test images: mynn_qnet_predict's bits */
    int ne = 2000;
    float *ye = malloc(sizeof(float) * 10 * ne), *yc = malloc(sizeof(float) * 10 * ne);
    CHECK(mkdir(tmp_path("fmc"), 0755) == 0, "mkdir");
    if (q) CHECK_OK(mynn_qexport_c(q, tmp_path("fmc"), "m"));
    if (q) CHECK_OK(mynn_qnet_predict(q, test->x, ne, ye));
    if (q && gen_c_have(gen_c_cc[0])) {
        int rc = gen_c_compile_run(tmp_path("fmc"), gen_c_cc[0], test->x, ne, 784, 10, yc);
        CHECK(rc == 0 && !memcmp(ye, yc, sizeof(float) * 10 * ne), "exported int8 CNN: rc %d, or it differs", rc);
    }
    free(ye);
    free(yc);
    const char *tool = getenv("MYNN_TOOL");
    if (!tool || access(tool, X_OK) != 0) {
        mynn_qnet_free(q);
        mynn_free(net);
        mynn_dataset_free(train);
        mynn_dataset_free(test);
        SKIP("MYNN_TOOL not set: the tool is not tested");
    }
    CHECK(run_tool("quantize cnn.safetensors --calib " FM_DIR " --samples 2000 --out t8.safetensors") == 0,
          "mynn quantize failed");
    CHECK(run_tool("eval t8.safetensors " FM_DIR " --json") == 0, "eval");
    FILE *f = fopen(tmp_path("tool.out"), "r");
    char line[4096] = "";
    if (f) {
        if (!fgets(line, sizeof line, f)) line[0] = '\0';
        fclose(f);
    }
    char want[64];
    snprintf(want, sizeof want, "\"correct\":%ld,", lroundf(mq.accuracy * test->n));
    CHECK(strstr(line, want) != NULL, "eval --json: want %s in %.200s", want, line);
    CHECK(run_tool("info t8.safetensors") == 0, "info");
    CHECK(run_tool("predict t8.safetensors " FM_DIR " --out p8.csv") == 0, "predict");
    CHECK(run_tool("export t8.safetensors --format c --out . --name fm8") == 0, "export");
    CHECK(access(tmp_path("fm8.c"), R_OK) == 0 && access(tmp_path("fm8.h"), R_OK) == 0, "export files");
    mynn_qnet_free(q);
    mynn_free(net);
    mynn_dataset_free(train);
    mynn_dataset_free(test);
}

int main(void)
{
    CK_BEGIN("test_qcnn");
    const char *base = getenv("TMPDIR");
    snprintf(tmpdir, sizeof tmpdir, "%s/mynn_qcnn_XXXXXX", base && *base ? base : "/tmp");
    if (!mkdtemp(tmpdir)) {
        perror("mkdtemp");
        return 1;
    }
    RUN(test_qim2row);
    RUN(test_layer_kinds);
    RUN(test_refusals);
    RUN(test_fashion_mnist_cnn);
    if (!ck_failed) {
        char cmd[400];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
        if (system(cmd) != 0) printf("  could not remove %s\n", tmpdir);
    }
    return CK_END();
}
