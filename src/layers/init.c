/* Weight initialisation shared by the layers with a weight and a bias
 * (dense, conv): the same random stream order, so a dense net initialises
 * exactly as before convolutions existed. */
#include "layer.h"

#include <math.h>

void mn_init_weights(float *w, size_t nw, float *b, size_t nb, mynn_init init, mynn_activation act,
                     double fan_in, double fan_out, mynn_rng *rng)
{
    if (init == MYNN_INIT_AUTO)
        init = (act == MYNN_ACT_RELU || act == MYNN_ACT_LEAKY_RELU || act == MYNN_ACT_GELU)
                   ? MYNN_INIT_HE : MYNN_INIT_XAVIER;
    if (init == MYNN_INIT_UNIFORM01) {
        for (size_t i = 0; i < nw; i++) w[i] = mynn_rng_uniform(rng);
        for (size_t i = 0; i < nb; i++) b[i] = mynn_rng_uniform(rng);
        return;
    }
    double fan = init == MYNN_INIT_HE ? fan_in : fan_in + fan_out;
    float a = (float)sqrt(6.0 / fan);
    for (size_t i = 0; i < nw; i++) w[i] = a * (2.0f * mynn_rng_uniform(rng) - 1.0f);
    for (size_t i = 0; i < nb; i++) b[i] = 0.0f;
}
