/* The dense layer's backward fused with the optimizer step.  One sample:
 * dZ = f'(Z) ⊙ dY, then one pass over W (mn_k_dense_update) gives dX from
 * W before the step and applies the step for dW = dZᵀ·X, dB = dZ without
 * forming them.  More samples: backward, then the step over the layer's
 * slice (dW is a real GEMM there). */
#include "layer.h"
#include "activations/activation.h"
#include "kernels/kernels.h"

/* x: [n × in], dY: [n × out] -> dX: [n × in]; W, B stepped by u */
void mn_dense_backward_update(mn_layer *l, const float *x, float *dy, int dy_is_dz, float *dx, int n,
                              const mn_update *u, size_t off)
{
    if (n != 1) {
        l->ops->backward(l, x, dy, dy_is_dz, dx, n);
        mn_k_update(u, l->param, l->grad, off, l->ops->n_params(l));
        return;
    }
    float *dz = dy;
    if (!dy_is_dz) {
        dz = l->cache; /* Z is no longer needed once dZ is known */
        mn_act_backward(l->act, l->cache, l->out, dy, dz, 1, l->n_out);
    }
    float *w = l->param, *b = l->param + (size_t)l->n_out * l->n_in;
    /* dx as backward computes it (from W before the step) where the fused
     * pass would round its sums differently: the fused step then equals
     * the unfused one for the whole network, not only for this layer. */
    if (dx && !mn_k_dense_update_dx_exact(l->n_out, l->n_in)) {
        mn_sgemm(0, 0, 1, l->n_in, l->n_out, 1.0f, dz, l->n_out, w, l->n_in, 0.0f, dx, l->n_in);
        dx = NULL;
    }
    mn_k_dense_update(u, w, b, x, dz, dx, l->n_out, l->n_in, off);
}
