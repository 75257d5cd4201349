/* The int8 model (mynn_qnet): one record per dense layer of the float
 * architecture it keeps beside (q->net: layers, transform, loss, metadata,
 * dequantised weights).  Built by mynn_quantize (calibrate.c) or
 * mynn_qnet_load (qfile.c), run by qnet.c, written as C by qexport_c.c.
 * Not part of the public API. */
#ifndef MN_QNET_H
#define MN_QNET_H

#include "mynn.h"

#include <stdint.h>

typedef struct mn_qlayer {
    int src;                  /* index of the dense or conv layer in q->net */
    int n_in, n_out;          /* dense: inputs, outputs; conv: K = C·kh·kw, F */
    int positions;            /* conv: output positions P = OH·OW per sample; dense: 1 */
    mynn_activation act;
    float in_scale, in_inv;   /* input x ≈ in_scale · q; in_inv = 1 / in_scale */
    int8_t *w;                /* [n_out × n_in] (conv: [F × C × kh × kw]) */
    float *w_scale, *bias;    /* [n_out] each */
    float *mult;              /* [n_out]: in_scale · w_scale, the sum's factor */
    int8_t *wp;               /* w packed for mn_qgemm */
    int32_t *corr;            /* [n_out] */
} mn_qlayer;

/* One thread's scratch for a chunk of q->chunk samples (per-sample sizes
 * q->fw floats, q->rw bytes, q->aw int32s; q->qw bytes for qin). */
typedef struct mn_qslot {
    float *f[2];              /* float layer outputs */
    uint8_t *qin;             /* a conv layer's quantised input image (one, padded) */
    uint8_t *qx;              /* rows for mn_qgemm (dense input, conv patches) */
    int32_t *acc;             /* the sums */
} mn_qslot;

struct mynn_qnet {
    mynn_net *net;
    int n_layers;             /* quantised (dense and conv) layers */
    mn_qlayer *layers;
    int *qidx;                /* [net->n_layers]: the layer's index in layers, or -1 */
    float **affine;           /* [net->n_layers]: a batch norm's y = x·s[c] + t[c] as
                               * s then t [2C] (mn_bn_affine), else NULL */
    char calibration[96];     /* how the input scales were chosen (metadata) */
    int max_batch;
    int chunk;                /* samples a thread takes through every layer at once */
    size_t fw, qw, rw, aw;    /* per-sample scratch sizes */
    int n_slots;
    mn_qslot *slots;          /* [n_slots], one per thread */
    float *out, *z;           /* [max_batch × n_outputs]: outputs, last pre-activation */
};
#define MN_QNET_FORMAT "mynn-int8"
#define MN_QNET_QUANTIZATION "int8 weights (symmetric, one scale per output), int8 " \
                             "layer inputs (symmetric, one scale per layer), int32 sums"

/* A float net of n_inputs (shaped c × h × w per dims, as mynn_input_shape;
 * dims 0: flat) with the layers of spec and loss, built for one sample
 * (the int8 model's float view). */
mynn_status mn_qnet_shape(mynn_net **out, int n_inputs, int dims, const int shape[3],
                          const char *spec, mynn_loss loss);
/* MYNN_ERR_ARG naming the first layer the int8 forward pass cannot run,
 * or when the last layer is not dense.  Dense and conv layers run in int8;
 * pooling, batch norm (a float affine per channel) and activation layers
 * in float; dropout and flatten are the identity. */
mynn_status mn_qnet_check_layers(const mynn_net *net, const char *who);
/* A new q around the built float architecture net (taken over) with room
 * for its dense and conv layers; the caller fills w, w_scale, bias, in_scale of
 * each, then calls mn_qnet_finish. */
mynn_status mn_qnet_alloc(mynn_qnet **out, mynn_net *net);
/* Derive mult, in_inv, the packed weights, the dequantised float weights,
 * and allocate the buffers for max_batch samples and mn_threads() threads. */
mynn_status mn_qnet_finish(mynn_qnet *q, int max_batch);

/* At least n thread slots of scratch. */
mynn_status mn_qnet_slots(mynn_qnet *q, int n);
/* n <= max_batch samples x [n × n_inputs] through every layer: q->out and
 * q->z [n × n_outputs].  MYNN_ERR_NUMERIC (no message) with *bad_at the
 * index in x of the first NaN or infinity, if there is one. */
mynn_status mn_qforward(mynn_qnet *q, const float *x, int n, size_t *bad_at);

#endif
