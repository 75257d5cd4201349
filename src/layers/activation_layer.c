/* An activation as a layer of its own ("conv:16:3,batchnorm,relu"):
 * Y = f(X) element-wise (softmax: over each sample's values), backward
 * dX = f'(X) ⊙ dY with the input itself as z.  Threads take whole samples. */
#include "layer.h"
#include "activations/activation.h"
#include "kernels/kernels.h"

static size_t act_params(const mn_layer *l) { (void)l; return 0; }
static size_t act_cache(const mn_layer *l) { (void)l; return 0; }
static void act_init(mn_layer *l, mynn_init init, mynn_rng *rng) { (void)l; (void)init; (void)rng; }

static int act_threads(const mn_layer *l, int n)
{
    return (size_t)n * l->n_out >= 16384 && n > 1 ? mn_threads() : 1;
}

/* x: [n × F] -> Y: [n × F] */
static void act_forward(mn_layer *l, const float *x, int n, int training)
{
    (void)training;
    const size_t F = (size_t)l->n_out;
    int nt = act_threads(l, n);
    MN_FOR_SHARE(n, nt, lo_, hi_,
    for (int s = (int)lo_; s < (int)hi_; s++) mn_act_forward(l->act, x + s * F, l->out + s * F, 1, (int)F));
}

static void act_backward(mn_layer *l, const float *x, float *dy, int dy_is_dz, float *dx, int n)
{
    (void)dy_is_dz;
    if (!dx) return;
    const size_t F = (size_t)l->n_out;
    int nt = act_threads(l, n);
    MN_FOR_SHARE(n, nt, lo_, hi_,
    for (int s = (int)lo_; s < (int)hi_; s++)
        mn_act_backward(l->act, x + s * F, l->out + s * F, dy + s * F, dx + s * F, 1, (int)F));
}

const mn_layer_ops mn_activation_ops = {
    .kind = MYNN_LAYER_ACTIVATION, .name = "activation", .n_params = act_params,
    .cache_per_sample = act_cache, .init = act_init, .forward = act_forward,
    .backward = act_backward,
};
