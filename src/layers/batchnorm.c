/* Batch normalisation per channel, PyTorch's nn.BatchNorm2d (after a conv:
 * statistics over N × H × W) and nn.BatchNorm1d (after a dense layer, or a
 * 1-D conv: over N, or N × L).  Per channel c with m = N·H·W values:
 *   training  μ = mean(x),  σ² = mean((x - μ)²)  (biased, as PyTorch)
 *             x̂ = (x - μ) / sqrt(σ² + eps),  y = γ x̂ + β
 *             running_mean = (1 - momentum) running_mean + momentum μ
 *             running_var  = (1 - momentum) running_var  + momentum σ² m/(m-1)
 *   eval      y = γ (x - running_mean) / sqrt(running_var + eps) + β
 *   backward  dβ = Σ dy,  dγ = Σ dy x̂,
 *             dx = γ / (m sqrt(σ² + eps)) · (m dy - dβ - x̂ dγ)
 * Parameters: weight γ [C], bias β [C]; buffers running_mean [C],
 * running_var [C]; the cache holds x̂, aux μ and 1/sqrt(σ² + eps).
 * With m = 1 the unbiased variance is undefined (PyTorch refuses to
 * train): running_var is then left as it is.  Sums run in double, one
 * channel per thread in a fixed order: thread-count independent. */
#include "layer.h"
#include "kernels/kernels.h"

#include <math.h>

static size_t bn_params(const mn_layer *l) { return 2 * (size_t)l->in_shape.c; }
static size_t bn_buffers(const mn_layer *l) { return 2 * (size_t)l->in_shape.c; }
static size_t bn_aux(const mn_layer *l) { return 2 * (size_t)l->in_shape.c; }
static size_t bn_cache(const mn_layer *l) { return (size_t)l->n_in; }

static void bn_init(mn_layer *l, mynn_init init, mynn_rng *rng)
{
    (void)init;
    (void)rng;
    const int C = l->in_shape.c;
    for (int c = 0; c < C; c++) {
        l->param[c] = 1.0f;
        l->param[C + c] = 0.0f;
        l->buf[c] = 0.0f;
        l->buf[C + c] = 1.0f;
    }
}

static int bn_threads(const mn_layer *l, int n)
{
    return (size_t)n * l->n_in >= 16384 && l->in_shape.c > 1 ? mn_threads() : 1;
}

/* x: [n × C×S] -> Y: [n × C×S] (S = H·W) */
static void bn_forward(mn_layer *l, const float *x, int n, int training)
{
    const int C = l->in_shape.c, S = l->in_shape.h * l->in_shape.w;
    const float *gamma = l->param, *beta = l->param + C;
    float *rmean = l->buf, *rvar = l->buf + C, *mu = l->aux, *istd = l->aux + C;
    const double m = (double)n * S;
    int nt = bn_threads(l, n);
    MN_FOR_SHARE(C, nt, lo_, hi_,
    for (int c = (int)lo_; c < (int)hi_; c++) {
        float mean, inv;
        if (training) {
            double sum = 0.0, sq = 0.0;
            for (int s = 0; s < n; s++) {
                const float *xp = x + ((size_t)s * C + c) * S;
                for (int i = 0; i < S; i++) sum += xp[i];
            }
            double dm = sum / m;
            for (int s = 0; s < n; s++) {
                const float *xp = x + ((size_t)s * C + c) * S;
                for (int i = 0; i < S; i++) sq += (xp[i] - dm) * (xp[i] - dm);
            }
            double var = sq / m;
            mean = (float)dm;
            inv = (float)(1.0 / sqrt(var + (double)l->eps));
            mu[c] = mean;
            istd[c] = inv;
            rmean[c] = (1.0f - l->momentum) * rmean[c] + l->momentum * mean;
            if (m > 1.0) rvar[c] = (1.0f - l->momentum) * rvar[c] + l->momentum * (float)(var * m / (m - 1.0));
        } else {
            mean = rmean[c];
            inv = (float)(1.0 / sqrt((double)rvar[c] + (double)l->eps));
        }
        for (int s = 0; s < n; s++) {
            size_t o = ((size_t)s * C + c) * S;
            const float *xp = x + o;
            float *yp = l->out + o, *hp = l->cache + o;
            if (training)
                for (int i = 0; i < S; i++) {
                    hp[i] = (xp[i] - mean) * inv;
                    yp[i] = gamma[c] * hp[i] + beta[c];
                }
            else
                for (int i = 0; i < S; i++) yp[i] = gamma[c] * ((xp[i] - mean) * inv) + beta[c];
        }
    });
}

/* dY: [n × C×S] -> dγ, dβ: [C], dX: [n × C×S] */
static void bn_backward(mn_layer *l, const float *x, float *dy, int dy_is_dz, float *dx, int n)
{
    (void)x;
    (void)dy_is_dz;
    const int C = l->in_shape.c, S = l->in_shape.h * l->in_shape.w;
    const float *gamma = l->param, *istd = l->aux + C;
    float *dgamma = l->grad, *dbeta = l->grad + C;
    const double m = (double)n * S;
    int nt = bn_threads(l, n);
    MN_FOR_SHARE(C, nt, lo_, hi_,
    for (int c = (int)lo_; c < (int)hi_; c++) {
        double sb = 0.0, sg = 0.0;
        for (int s = 0; s < n; s++) {
            size_t o = ((size_t)s * C + c) * S;
            for (int i = 0; i < S; i++) {
                sb += dy[o + i];
                sg += (double)dy[o + i] * l->cache[o + i];
            }
        }
        dbeta[c] = (float)sb;
        dgamma[c] = (float)sg;
        if (!dx) continue;
        const float k = (float)(gamma[c] * istd[c] / m), db = (float)sb, dg = (float)sg, mf = (float)m;
        for (int s = 0; s < n; s++) {
            size_t o = ((size_t)s * C + c) * S;
            for (int i = 0; i < S; i++) dx[o + i] = k * (mf * dy[o + i] - db - l->cache[o + i] * dg);
        }
    });
}

const mn_layer_ops mn_batchnorm_ops = {
    .kind = MYNN_LAYER_BATCHNORM, .name = "batchnorm", .n_params = bn_params,
    .cache_per_sample = bn_cache, .init = bn_init, .forward = bn_forward,
    .backward = bn_backward, .n_buffers = bn_buffers, .aux_size = bn_aux,
};
