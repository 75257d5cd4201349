/* Element-wise (and softmax row-wise) activations with their derivatives. */
#ifndef MN_ACTIVATION_H
#define MN_ACTIVATION_H

#include "mynn.h"

#define MN_LEAKY_SLOPE 0.01f

/* y = f(z); z, y: [rows × cols]; y may alias z. */
void mn_act_forward(mynn_activation a, const float *z, float *y, int rows, int cols);

/* dz = f'(z) ⊙ dy (softmax: the Jacobian-vector product
 * dz_i = y_i (dy_i - Σ_j dy_j y_j)); y = f(z).  dz may alias z or dy. */
void mn_act_backward(mynn_activation a, const float *z, const float *y, const float *dy,
                     float *dz, int rows, int cols);

/* The dense layer's epilogue in one sweep over Z: z += b (per row), then
 * y = f(z); z, y: [rows × cols], b: [cols]. */
void mn_act_forward_bias(mynn_activation a, float *z, const float *b, float *y, int rows, int cols);

/* The dense layer's backward prologue in one sweep: dz = f'(z) ⊙ dy as
 * mn_act_backward, and db = Σ_rows dz ([cols], overwritten). */
void mn_act_backward_bias(mynn_activation a, const float *z, const float *y, const float *dy,
                          float *dz, float *db, int rows, int cols);

#endif
