/* Inverted dropout: in training each value is kept with probability 1-p
 * and scaled by 1/(1-p), so prediction needs no rescaling and is the
 * identity. */
#include "layer.h"

#include <string.h>

static size_t dropout_n_params(const mn_layer *l) { (void)l; return 0; }

/* The cache holds the mask (0 or 1/(1-p)) of the last training forward. */
static size_t dropout_cache(const mn_layer *l) { return (size_t)l->n_out; }

static void dropout_init(mn_layer *l, mynn_init init, mynn_rng *rng)
{
    (void)init;
    mynn_rng_seed(&l->rng, mynn_rng_next(rng));
}

static void dropout_forward(mn_layer *l, const float *x, int n, int training)
{
    size_t count = (size_t)n * l->n_out;
    if (!training || l->rate == 0.0f) {
        MN_FOR_SHARE(count, 1, lo, hi, memcpy(l->out + lo, x + lo, (hi - lo) * sizeof *x));
        return;
    }
    /* One random stream in order: on one thread. */
    float keep = 1.0f - l->rate, scale = 1.0f / keep;
    MN_TEAM_SOLO(for (size_t i = 0; i < count; i++) {
        float m = mynn_rng_uniform(&l->rng) < keep ? scale : 0.0f;
        l->cache[i] = m;
        l->out[i] = x[i] * m;
    });
}

/* Only called after a training forward, so the cache holds that mask. */
static void dropout_backward(mn_layer *l, const float *x, float *dy, int dy_is_dz, float *dx, int n)
{
    (void)x;
    (void)dy_is_dz;
    if (!dx) return;
    size_t count = (size_t)n * l->n_out;
    MN_FOR_SHARE(count, 1, lo, hi, for (size_t i = lo; i < hi; i++) dx[i] = dy[i] * l->cache[i]);
}

/* One draw per value, as dropout_forward (which draws nothing at rate 0). */
static void dropout_skip_rows(mn_layer *l, int rows)
{
    if (l->rate == 0.0f) return;
    size_t count = (size_t)rows * l->n_out;
    for (size_t i = 0; i < count; i++) mynn_rng_next(&l->rng);
}

const mn_layer_ops mn_dropout_ops = {
    .kind = MYNN_LAYER_DROPOUT, .name = "dropout", .n_params = dropout_n_params,
    .cache_per_sample = dropout_cache, .init = dropout_init, .forward = dropout_forward,
    .backward = dropout_backward, .skip_rows = dropout_skip_rows,
};
