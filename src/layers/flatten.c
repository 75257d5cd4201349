/* Flatten: C × H × W -> (C·H·W) × 1 × 1.  Samples are stored channel-major
 * (NCHW) already, which is PyTorch's nn.Flatten order, so this is a copy. */
#include "layer.h"
#include "kernels/kernels.h"

#include <string.h>

static size_t flat_params(const mn_layer *l) { (void)l; return 0; }
static size_t flat_cache(const mn_layer *l) { (void)l; return 0; }
static void flat_init(mn_layer *l, mynn_init init, mynn_rng *rng) { (void)l; (void)init; (void)rng; }

static void flat_forward(mn_layer *l, const float *x, int n, int training)
{
    (void)training;
    MN_FOR_SHARE((size_t)n * l->n_out, 1, lo, hi, memcpy(l->out + lo, x + lo, (hi - lo) * sizeof *x));
}

static void flat_backward(mn_layer *l, const float *x, float *dy, int dy_is_dz, float *dx, int n)
{
    (void)x;
    (void)dy_is_dz;
    if (dx) MN_FOR_SHARE((size_t)n * l->n_in, 1, lo, hi, memcpy(dx + lo, dy + lo, (hi - lo) * sizeof *dx));
}

const mn_layer_ops mn_flatten_ops = {
    .kind = MYNN_LAYER_FLATTEN, .name = "flatten", .n_params = flat_params,
    .cache_per_sample = flat_cache, .init = flat_init, .forward = flat_forward,
    .backward = flat_backward,
};
