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
    const float *last_x;      /* the input of the last forward, for backward */

    float *shift, *scale;     /* input transform [n_inputs] each, or NULL */
    char transform_kind[16];

    int n_meta;               /* key/value strings read from a model file */
    char *meta_key[MN_MAX_META], *meta_val[MN_MAX_META];
};

/* Forward n <= max_batch samples; returns the last layer's output. */
const float *mn_forward(mynn_net *net, const float *x, int n, int training);
/* Backward after mn_forward on the same batch: fills net->grads. Returns the cost. */
double mn_backward(mynn_net *net, const float *y, int n);
/* The same, also writing dC/dX of the (transformed) network input into dx_in
 * ([n × n_inputs]) when it is not NULL. */
double mn_backward_dx(mynn_net *net, const float *y, int n, float *dx_in);
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
