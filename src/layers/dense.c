/* Fully connected layer: Y = f(W·X + B) for a batch of row vectors.
 * With samples as rows, the seed's column-vector equations become
 *   forward   Z = X·Wᵀ + B,  Y = f(Z)
 *   backward  dZ = f'(Z) ⊙ dY,  dW = dZᵀ·X,  dB = Σ_rows dZ,  dX = dZ·W
 * which is the seed's dC/dW = dC/dz · Xᵀ and dC/dX = Wᵀ · dC/dz, one
 * sample per row. */
#include "layer.h"
#include "activations/activation.h"
#include "kernels/kernels.h"


static size_t dense_n_params(const mn_layer *l)
{
    return (size_t)l->n_out * l->n_in + (size_t)l->n_out;
}

/* The cache holds Z from forward; backward overwrites it with dZ. */
static size_t dense_cache(const mn_layer *l) { return (size_t)l->n_out; }

static void dense_init(mn_layer *l, mynn_init init, mynn_rng *rng)
{
    size_t nw = (size_t)l->n_out * l->n_in;
    mn_init_weights(l->param, nw, l->param + nw, (size_t)l->n_out, init, l->act, (double)l->n_in,
                    (double)l->n_out, rng);
}

/* x: [n × in], W: [out × in], B: [out] -> Z (cache), Y (out): [n × out].
 * ReLU, leaky ReLU and identity run as the GEMM's epilogue, on each tile
 * while it is in L1 (the same operations, so the same bits as the separate
 * pass); inference skips Z, which only backward and the fused losses
 * (softmax, sigmoid: not fused here) read. */
static void dense_forward(mn_layer *l, const float *x, int n, int training)
{
    const float *w = l->param, *b = l->param + (size_t)l->n_out * l->n_in;
    float *z = l->cache;
    mn_epilogue ep = {b, MN_EPI_NONE, MN_LEAKY_SLOPE, l->out, l->n_out};
    if (l->act == MYNN_ACT_RELU) ep.act = MN_EPI_RELU;
    else if (l->act == MYNN_ACT_LEAKY_RELU) ep.act = MN_EPI_LEAKY;
    else if (l->act != MYNN_ACT_IDENTITY) {
        mn_sgemm(0, 1, n, l->n_out, l->n_in, 1.0f, x, l->n_in, w, l->n_in, 0.0f, z, l->n_out);
        mn_act_forward_bias(l->act, z, b, l->out, n, l->n_out);
        return;
    }
    if (!training) { /* Y only */
        z = l->out;
        ep.y = NULL;
    }
    mn_sgemm_epi(0, 1, n, l->n_out, l->n_in, 1.0f, x, l->n_in, w, l->n_in, 0.0f, z, l->n_out, &ep);
}

/* x: [n × in], dY: [n × out] -> dW: [out × in], dB: [out], dX: [n × in] */
static void dense_backward(mn_layer *l, const float *x, float *dy, int dy_is_dz, float *dx, int n)
{
    size_t nw = (size_t)l->n_out * l->n_in;
    const float *w = l->param;
    float *dw = l->grad, *db = l->grad + nw;
    float *dz = dy;
    if (dy_is_dz) {
        mn_sum_rows(db, dz, n, l->n_out, 0);
    } else {
        dz = l->cache; /* Z is no longer needed once dZ is known */
        mn_act_backward_bias(l->act, l->cache, l->out, dy, dz, db, n, l->n_out);
    }
    mn_sgemm(1, 0, l->n_out, l->n_in, n, 1.0f, dz, l->n_out, x, l->n_in, 0.0f, dw, l->n_in);
    if (dx)
        mn_sgemm(0, 0, n, l->n_in, l->n_out, 1.0f, dz, l->n_out, w, l->n_in, 0.0f, dx, l->n_in);
}

const mn_layer_ops mn_dense_ops = {
    .kind = MYNN_LAYER_DENSE, .name = "dense", .n_params = dense_n_params,
    .cache_per_sample = dense_cache, .init = dense_init, .forward = dense_forward,
    .backward = dense_backward, .backward_update = mn_dense_backward_update,
};
