/* The layer interface.  A network is an ordered list of layers; each kind
 * supplies these operations, so a new kind (convolution, pooling, batch
 * norm) slots in without touching the others.
 *
 * Buffers are owned by the network and handed to the layer at build time:
 * param/grad are views into the network's two flat arrays, out and cache
 * into its activation block, all sized for max_batch samples. */
#ifndef MN_LAYER_H
#define MN_LAYER_H

#include "mynn.h"

typedef struct mn_layer mn_layer;

typedef struct mn_layer_ops {
    mynn_layer_kind kind;
    const char *name;
    /* Parameter floats (weights then bias). */
    size_t (*n_params)(const mn_layer *l);
    /* Floats of per-sample cache the layer keeps between forward and backward. */
    size_t (*cache_per_sample)(const mn_layer *l);
    void (*init)(mn_layer *l, mynn_init init, mynn_rng *rng);
    /* x: [n × n_in] -> l->out: [n × n_out]. */
    void (*forward)(mn_layer *l, const float *x, int n, int training);
    /* dy: [n × n_out] (dC/dz itself when dy_is_dz: a fused loss); writes
     * the parameter gradients and dx: [n × n_in] (dx NULL: not needed).
     * May overwrite the cache and dy. */
    void (*backward)(mn_layer *l, const float *x, float *dy, int dy_is_dz, float *dx, int n);
    /* Draw and discard what a training forward of rows samples draws from
     * l->rng (NULL: the layer draws nothing).  Data-parallel training skips
     * the other ranks' rows, so masks follow the global batch order. */
    void (*skip_rows)(mn_layer *l, int rows);
} mn_layer_ops;

struct mn_layer {
    const mn_layer_ops *ops;
    int n_in, n_out;        /* features per sample */
    mynn_activation act;    /* dense */
    float rate;             /* dropout */
    float *param, *grad;    /* views: weight [n_out × n_in] then bias [n_out] */
    float *out;             /* [max_batch × n_out] */
    float *cache;           /* [max_batch × cache_per_sample] */
    mynn_rng rng;           /* dropout masks */
};

extern const mn_layer_ops mn_dense_ops;
extern const mn_layer_ops mn_dropout_ops;

#endif
