/* The network: an ordered list of layers over one flat parameter buffer,
 * one flat gradient buffer and one activation block, all allocated by
 * mynn_build.  Internal: the public handle is opaque. */
#ifndef MN_NETWORK_H
#define MN_NETWORK_H

#include "mynn.h"
#include "layers/layer.h"

#define MN_MAX_META 32
/* Floats after the gradients, unused by backward: data-parallel training
 * sends the batch loss and a stop flag through the gradients' all-reduce
 * in them. */
#define MN_GRAD_SPARE 2

struct mynn_net {
    int n_inputs;
    mn_shape in_shape;        /* per-sample input shape (n_inputs × 1 × 1 unless set) */
    int in_dims;              /* 0 flat, 1 C × L, 2 C × H × W (as declared) */
    int syntax_only;          /* made by mynn_parse_layers: shapes unchecked, never built */
    int n_layers, cap_layers;
    mn_layer *layers;
    mynn_loss loss;

    int max_batch;            /* 0: not built */
    size_t n_params;          /* trainable parameters */
    size_t n_buffers;         /* non-trainable state after them (batch-norm statistics) */
    float *params, *grads;    /* [n_params + n_buffers] and [n_params + MN_GRAD_SPARE] */
    float *acts;              /* every layer's out and cache */
    float *back[2];           /* backward ping-pong: [max_batch × max width] */
    float *xin;               /* transformed input: [max_batch × n_inputs] */
    float *work;              /* scratch shared by the layers (convolution columns) */
    float *aux;               /* every layer's small fixed scratch */
    const float *last_x;      /* the input of the last forward, for backward */

    float *shift, *scale;     /* input transform [n_inputs] each, or NULL */
    char transform_kind[16];

    int n_meta;               /* key/value strings read from a model file */
    char *meta_key[MN_MAX_META], *meta_val[MN_MAX_META];
};

/* What mynn_build allocates for max_batch, with overflow and limit checks. */
typedef struct mn_build_sizes {
    size_t n_params, n_buffers, n_acts, width, n_work, n_aux;
} mn_build_sizes;
mynn_status mn_build_sizes_of(const mynn_net *net, int max_batch, mn_build_sizes *z);

/* One named tensor of a layer: name suffix, PyTorch shape, and where its
 * floats lie: at offset in the layer's parameters (buffer 0) or in its
 * buffers (buffer 1).  Valid before build (offsets, not pointers). */
typedef struct mn_tensor_desc {
    const char *name;         /* "weight", "bias", "running_mean", "running_var" */
    int rank;
    size_t dims[4];
    size_t count, offset;
    int buffer;
} mn_tensor_desc;
/* Fills up to 4 descriptors of l's tensors; returns how many. */
int mn_layer_tensors(const mn_layer *l, mn_tensor_desc d[4]);

/* Forward n <= max_batch samples; returns the last layer's output. */
const float *mn_forward(mynn_net *net, const float *x, int n, int training);
/* The same on x already through the input transform (net->shift/scale;
 * x may be net->xin): for a caller that transforms while it gathers. */
const float *mn_forward_transformed(mynn_net *net, const float *x, int n, int training);
/* Backward after mn_forward on the same batch: fills net->grads. Returns the cost. */
double mn_backward(mynn_net *net, const float *y, int n);
/* The same, also writing dC/dX of the (transformed) network input into dx_in
 * ([n × n_inputs]) when it is not NULL. */
double mn_backward_dx(mynn_net *net, const float *y, int n, float *dx_in);
/* Backward as mn_backward, *loss receiving the cost, and with u (not
 * NULL) one optimizer step applied to each layer's parameters as soon as
 * their gradient is complete, while the earlier layers are still in
 * backward: the same floats as mn_backward then mn_k_update over all
 * parameters.  A non-finite cost applies no update.  In the step's team
 * (kernels.h) every thread calls mn_forward and this on the same
 * arguments, loss pointing at one shared double. */
void mn_backward_update(mynn_net *net, const float *y, int n, const mn_update *u, double *loss);
/* Advance every layer's random stream as a training forward of rows
 * samples would (data-parallel training: the other ranks' rows). */
void mn_net_skip_rows(mynn_net *net, int rows);
/* Floats of a full copy of the model: parameters, then buffers. */
size_t mn_net_values(const mynn_net *net);
/* Store a metadata pair (copied); replaces an existing key. */
mynn_status mn_net_set_meta(mynn_net *net, const char *key, const char *value);
/* Non-zero if any of the n floats is NaN or infinite; *at receives the index. */
int mn_find_nonfinite(const float *v, size_t n, size_t *at);

#endif
