/* Convolution (2-D, and 1-D as a 2-D one of height 1) with a fused
 * activation, lowered to our GEMM through im2col (kernels/im2col.c).
 *
 * Per sample: input C × H × W, weight [F × C × kh × kw] (PyTorch's
 * nn.Conv2d layout; nn.Conv1d's [F × C × k] is the same floats), bias [F],
 * output F × OH × OW with OH = (H + 2ph - kh)/sh + 1, OW likewise; P = OH·OW,
 * K = C·kh·kw.  For a chunk of s samples (col and Z hold the chunk's
 * columns side by side):
 *   forward   col = im2col(X)              [K × s·P]
 *             Z = W · col + B              [F × s·P]   (cache)
 *             Y[n][f][p] = act(Z[f][n·P + p])          (out, NCHW)
 *   backward  dZ = act'(Z) ⊙ dY            [F × s·P]   (over Z in the cache;
 *                                                      ReLU reads only Y)
 *             dB = Σ_cols dZ,  dW += dZ · colᵀ
 *             dX = col2im(Wᵀ · dZ)
 * Chunks bound the shared workspace (col) to about CONV_WORK_FLOATS; the
 * chunk size depends only on the layer's shape, so results do not depend
 * on the batch size limit or the thread count. */
#include "layer.h"
#include "activations/activation.h"
#include "kernels/kernels.h"

#include <string.h>

#define CONV_WORK_FLOATS ((size_t)4 << 20)

static size_t conv_k(const mn_layer *l) { return (size_t)l->in_shape.c * l->kh * l->kw; }
static size_t conv_p(const mn_layer *l) { return (size_t)l->out_shape.h * l->out_shape.w; }

static size_t conv_n_params(const mn_layer *l)
{
    return (size_t)l->out_shape.c * conv_k(l) + (size_t)l->out_shape.c;
}

static size_t conv_cache(const mn_layer *l) { return (size_t)l->n_out; }

/* Samples per im2col chunk. */
static int conv_chunk(const mn_layer *l)
{
    size_t per = conv_k(l) * conv_p(l), c = CONV_WORK_FLOATS / (per ? per : 1);
    return c < 1 ? 1 : c > (1 << 20) ? (1 << 20) : (int)c;
}

static size_t conv_work(const mn_layer *l, int max_batch)
{
    int c = conv_chunk(l);
    return conv_k(l) * conv_p(l) * (size_t)(max_batch < c ? max_batch : c);
}

/* The dense layer's He/Xavier bounds with fan_in = C·kh·kw and fan_out =
 * F·kh·kw (PyTorch's own default for Conv2d is the narrower
 * U(±1/sqrt(fan_in))). */
static void conv_init(mn_layer *l, mynn_init init, mynn_rng *rng)
{
    size_t nw = (size_t)l->out_shape.c * conv_k(l);
    mn_init_weights(l->param, nw, l->param + nw, (size_t)l->out_shape.c, init, l->act, (double)conv_k(l),
                    (double)l->out_shape.c * l->kh * l->kw, rng);
}

static void lower(const mn_layer *l, const float *x, int s, float *col)
{
    mn_im2col(x, s, l->in_shape.c, l->in_shape.h, l->in_shape.w, l->kh, l->kw, l->sh, l->sw, l->ph, l->pw,
              l->out_shape.h, l->out_shape.w, col);
}

/* One P-long row of filter f for sample s: z += b, y = act(z).  ReLU and
 * identity, the common cases, in one vectorisable sweep. */
static void row_forward(mynn_activation act, float *restrict z, float b, float *restrict y, size_t P)
{
    if (act == MYNN_ACT_RELU) {   /* backward needs only y > 0: z is not written back */
        for (size_t p = 0; p < P; p++) {
            float v = z[p] + b;
            y[p] = v > 0.0f ? v : 0.0f;
        }
        return;
    }
    for (size_t p = 0; p < P; p++) z[p] += b;
    mn_act_forward(act, z, y, 1, (int)P);
}

/* dz = act'(z) ⊙ dy over z; returns Σ dz in the row's order. */
static float row_backward(mynn_activation act, float *restrict z, const float *restrict y,
                          const float *restrict dy, size_t P)
{
    float sum = 0.0f;
    if (act == MYNN_ACT_RELU) {   /* z > 0 exactly where y > 0 */
        for (size_t p = 0; p < P; p++) {
            float g = y[p] > 0.0f ? dy[p] : 0.0f;
            z[p] = g;
            sum += g;
        }
        return sum;
    }
    mn_act_backward(act, z, y, dy, z, 1, (int)P);
    for (size_t p = 0; p < P; p++) sum += z[p];
    return sum;
}

/* Z += B, then Y = act(Z) written in NCHW order; threads take filters. */
static void bias_act(const mn_layer *l, float *z, const float *b, float *y, int n)
{
    const int F = l->out_shape.c;
    const size_t P = conv_p(l), cols = (size_t)n * P;
    int nt = (size_t)F * cols >= 16384 ? mn_threads() : 1;
    MN_FOR_SHARE(F, nt, lo_, hi_,
    for (int f = (int)lo_; f < (int)hi_; f++) {
        float *zf = z + (size_t)f * cols;
        for (int s = 0; s < n; s++) row_forward(l->act, zf + (size_t)s * P, b[f], y + ((size_t)s * F + f) * P, P);
    });
}

/* dZ = act'(Z) ⊙ dY over Z, and dB; each filter summed in one fixed order. */
static void act_back_bias(const mn_layer *l, float *z, const float *y, const float *dy, float *db,
                          int n)
{
    const int F = l->out_shape.c;
    const size_t P = conv_p(l), cols = (size_t)n * P;
    int nt = (size_t)F * cols >= 16384 ? mn_threads() : 1;
    MN_FOR_SHARE(F, nt, lo_, hi_,
    for (int f = (int)lo_; f < (int)hi_; f++) {
        float *zf = z + (size_t)f * cols, sum = 0.0f;
        for (int s = 0; s < n; s++) {
            size_t o = ((size_t)s * F + f) * P;
            sum += row_backward(l->act, zf + (size_t)s * P, y + o, dy + o, P);
        }
        db[f] = sum;
    });
}

/* x: [n × C×H×W] -> Z (cache): [F × n·P], Y (out): [n × F×OH×OW] */
static void conv_forward(mn_layer *l, const float *x, int n, int training)
{
    (void)training;
    const int F = l->out_shape.c, K = (int)conv_k(l), P = (int)conv_p(l), chunk = conv_chunk(l);
    const float *w = l->param, *b = l->param + (size_t)F * K;
    const int ld = n * P;
    for (int s0 = 0; s0 < n; s0 += chunk) {
        int s = n - s0 < chunk ? n - s0 : chunk;
        lower(l, x + (size_t)s0 * l->n_in, s, l->work);
        mn_sgemm(0, 0, F, s * P, K, 1.0f, w, K, l->work, s * P, 0.0f, l->cache + (size_t)s0 * P, ld);
    }
    bias_act(l, l->cache, b, l->out, n);
}

/* dY: [n × F×OH×OW] -> dW: [F × K], dB: [F], dX: [n × C×H×W] */
static void conv_backward(mn_layer *l, const float *x, float *dy, int dy_is_dz, float *dx, int n)
{
    (void)dy_is_dz; /* never the output layer */
    const int F = l->out_shape.c, K = (int)conv_k(l), P = (int)conv_p(l), chunk = conv_chunk(l);
    const float *w = l->param;
    float *dw = l->grad, *db = l->grad + (size_t)F * K, *dz = l->cache;
    const int ld = n * P;
    act_back_bias(l, dz, l->out, dy, db, n);
    for (int s0 = 0; s0 < n; s0 += chunk) {
        int s = n - s0 < chunk ? n - s0 : chunk;
        const float *dzc = dz + (size_t)s0 * P;
        lower(l, x + (size_t)s0 * l->n_in, s, l->work);
        mn_sgemm(0, 1, F, K, s * P, 1.0f, dzc, ld, l->work, s * P, s0 ? 1.0f : 0.0f, dw, K);
        if (!dx) continue;
        mn_sgemm(1, 0, K, s * P, F, 1.0f, w, K, dzc, ld, 0.0f, l->work, s * P);
        mn_col2im(l->work, s, l->in_shape.c, l->in_shape.h, l->in_shape.w, l->kh, l->kw, l->sh, l->sw, l->ph, l->pw,
                  l->out_shape.h, l->out_shape.w, dx + (size_t)s0 * l->n_in);
    }
}

const mn_layer_ops mn_conv_ops = {
    .kind = MYNN_LAYER_CONV, .name = "conv", .n_params = conv_n_params,
    .cache_per_sample = conv_cache, .init = conv_init, .forward = conv_forward,
    .backward = conv_backward, .work_size = conv_work,
};
