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
    int src;                  /* index of the dense layer in q->net */
    int n_in, n_out;
    mynn_activation act;
    float in_scale, in_inv;   /* input x ≈ in_scale · q; in_inv = 1 / in_scale */
    int8_t *w;                /* [n_out × n_in] */
    float *w_scale, *bias;    /* [n_out] each */
    float *mult;              /* [n_out]: in_scale · w_scale, the sum's factor */
    int8_t *wp;               /* w packed for mn_qgemm */
    int32_t *corr;            /* [n_out] */
} mn_qlayer;

struct mynn_qnet {
    mynn_net *net;
    int n_layers;
    mn_qlayer *layers;
    char calibration[96];     /* how the input scales were chosen (metadata) */
    int max_batch;
    float *f[2];              /* [max_batch × width]: layer outputs */
    float *z;                 /* [max_batch × n_outputs]: last pre-activation */
    uint8_t *qx;              /* [max_batch × kmax]: quantised layer input */
    int32_t *acc;             /* [max_batch × width] */
};

#define MN_QNET_FORMAT "mynn-int8"
#define MN_QNET_QUANTIZATION "int8 weights (symmetric, one scale per output), int8 " \
                             "layer inputs (symmetric, one scale per layer), int32 sums"

/* A float net of n_inputs with the layers of spec and loss, built for one
 * sample (the int8 model's float view). */
mynn_status mn_qnet_shape(mynn_net **out, int n_inputs, const char *spec, mynn_loss loss);
/* MYNN_ERR_ARG naming the first layer the int8 forward pass cannot run
 * (only dense, and dropout and flatten as the identity). */
mynn_status mn_qnet_check_layers(const mynn_net *net, const char *who);
/* A new q around the built float architecture net (taken over) with room
 * for its dense layers; the caller fills w, w_scale, bias, in_scale of
 * each, then calls mn_qnet_finish. */
mynn_status mn_qnet_alloc(mynn_qnet **out, mynn_net *net);
/* Derive mult, in_inv, the packed weights, the dequantised float weights,
 * and allocate the buffers for max_batch samples. */
mynn_status mn_qnet_finish(mynn_qnet *q, int max_batch);

#endif
