/* The layer interface.  A network is an ordered list of layers; each kind
 * supplies these operations, so a new kind slots in without touching the
 * others.
 *
 * Shapes.  Every layer sees one sample as a C × H × W tensor stored
 * channel-major (PyTorch's NCHW per sample; a dense vector is F × 1 × 1, a
 * 1-D signal C × 1 × L), so a batch is an N × (C·H·W) matrix, row-major,
 * and flattening into a dense layer needs no reordering.  The output shape
 * is computed (and checked) when the layer is added.
 *
 * Buffers are owned by the network and handed to the layer at build time:
 * param/grad are views into the network's flat arrays, buf (non-trainable
 * state such as batch-norm statistics) lies after all parameters in the
 * parameter array, out and cache are in its activation block sized for
 * max_batch samples, aux is a small per-layer scratch and work a scratch
 * shared by every layer (used only within one forward or backward call). */
#ifndef MN_LAYER_H
#define MN_LAYER_H

#include "mynn.h"
#include "kernels/kernels.h"

typedef struct mn_layer mn_layer;

typedef struct mn_shape { int c, h, w; } mn_shape;

typedef struct mn_layer_ops {
    mynn_layer_kind kind;
    const char *name;
    /* Trainable floats (weights then bias). */
    size_t (*n_params)(const mn_layer *l);
    /* Floats of per-sample cache the layer keeps between forward and backward. */
    size_t (*cache_per_sample)(const mn_layer *l);
    void (*init)(mn_layer *l, mynn_init init, mynn_rng *rng);
    /* x: [n × n_in] -> l->out: [n × n_out]. */
    void (*forward)(mn_layer *l, const float *x, int n, int training);
    /* dy: [n × n_out] (dC/dz itself when dy_is_dz: a fused loss); writes
     * the parameter gradients and dx: [n × n_in] (dx NULL: not needed).
     * May overwrite the cache and dy.  Only called after a training forward. */
    void (*backward)(mn_layer *l, const float *x, float *dy, int dy_is_dz, float *dx, int n);
    /* Optional (NULL: none): non-trainable floats, shared scratch floats
     * for a batch of max_batch, per-layer scratch floats. */
    size_t (*n_buffers)(const mn_layer *l);
    size_t (*work_size)(const mn_layer *l, int max_batch);
    size_t (*aux_size)(const mn_layer *l);
    /* Optional: draw and discard what a training forward of rows samples draws from
     * l->rng (NULL: the layer draws nothing).  Data-parallel training skips
     * the other ranks' rows, so masks follow the global batch order. */
    void (*skip_rows)(mn_layer *l, int rows);
    /* Optional: backward that also applies one optimizer step u to the
     * layer's parameters (off: their offset in the network's flat array,
     * where u's state is indexed), dx computed from the weights before the
     * update, the gradient not necessarily stored.  Must equal backward then
     * mn_k_update over the layer's slice bit for bit, dx included (so the
     * whole fused step equals the unfused one).  NULL: the network does
     * exactly that. */
    void (*backward_update)(mn_layer *l, const float *x, float *dy, int dy_is_dz, float *dx, int n,
                            const mn_update *u, size_t off);
} mn_layer_ops;

struct mn_layer {
    const mn_layer_ops *ops;
    mn_shape in_shape, out_shape;  /* per sample */
    int n_in, n_out;        /* their sizes: in.c·in.h·in.w, out.c·out.h·out.w */
    mynn_activation act;    /* dense, conv (fused), activation layer */
    float rate;             /* dropout */
    int dims;               /* conv and pooling: 1 (1-D) or 2 */
    int kh, kw, sh, sw;     /* conv and pooling: kernel and stride */
    int ph, pw;             /* conv: zero padding */
    float momentum, eps;    /* batch norm */
    float *param, *grad;    /* views: weight then bias */
    float *buf;             /* view: non-trainable state */
    float *out;             /* [max_batch × n_out] */
    float *cache;           /* [max_batch × cache_per_sample] */
    float *aux, *work;
    mynn_rng rng;           /* dropout masks */
};

extern const mn_layer_ops mn_dense_ops;
/* Dense's backward_update (dense_update.c). */
void mn_dense_backward_update(mn_layer *l, const float *x, float *dy, int dy_is_dz, float *dx, int n,
                              const mn_update *u, size_t off);
extern const mn_layer_ops mn_dropout_ops;
extern const mn_layer_ops mn_conv_ops;
extern const mn_layer_ops mn_maxpool_ops;
extern const mn_layer_ops mn_avgpool_ops;
extern const mn_layer_ops mn_gap_ops;
extern const mn_layer_ops mn_flatten_ops;
extern const mn_layer_ops mn_batchnorm_ops;
extern const mn_layer_ops mn_activation_ops;

/* Weight w [nw] and bias b [nb] for init (AUTO: He after relu-like act,
 * else Xavier; uniform bounds sqrt(6/fan_in) or sqrt(6/(fan_in+fan_out));
 * bias 0), or the seed's U[0,1) for both. */
void mn_init_weights(float *w, size_t nw, float *b, size_t nb, mynn_init init, mynn_activation act,
                     double fan_in, double fan_out, mynn_rng *rng);

/* The layer's size of an optional op (0 when the kind has none). */
size_t mn_layer_buffers(const mn_layer *l);
size_t mn_layer_work(const mn_layer *l, int max_batch);
size_t mn_layer_aux(const mn_layer *l);

#endif
