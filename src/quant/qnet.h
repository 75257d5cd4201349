/* The int8 model (mynn_qnet): a float architecture it keeps beside (q->net:
 * the nodes, transform, loss, metadata, dequantised weights) and, for each
 * node whose kind quantises its weights (dense, conv), that node's int8
 * form (layers/layer.h: mn_qweights); every other node runs in float
 * (its kind's infer, or qinfer).  Built by mynn_quantize (calibrate.c) or
 * mynn_qnet_load (qfile.c), run by qforward.c, written as C by
 * qexport_c.c.  Not part of the public API. */
#ifndef MN_QNET_H
#define MN_QNET_H

#include "mynn.h"
#include "network/network.h"

#include <stdint.h>

/* One thread's scratch for a chunk of q->chunk samples. */
typedef struct mn_qslot {
    float *arena;             /* the chunk's node outputs (q->arena floats per sample) */
    mn_qscratch s;            /* the int8 products' scratch */
} mn_qslot;

struct mynn_qnet {
    mynn_net *net;
    mn_qweights **q;          /* [net->n_layers]: node i's int8 form, or NULL (float) */
    char calibration[96];     /* how the input scales were chosen (metadata) */
    int max_batch;
    int chunk;                /* samples a thread takes through every node at once */
    int *role;                /* [net->n_layers]: MN_PLAN_* */
    long *ofs, input_ofs;     /* the outputs' offsets per sample (network/plan.c) */
    size_t arena;             /* floats per sample */
    size_t rows, acc, image;  /* the products' scratch: bytes and int32s per sample, one image */
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
/* MYNN_ERR_ARG naming the first node the int8 forward pass cannot run,
 * or when the last node is not dense. */
mynn_status mn_qnet_check_layers(const mynn_net *net, const char *who);
/* A new q around the built float architecture net (taken over) with room
 * for its quantised nodes; the caller fills w, w_scale, bias, in_scale of
 * each, then calls mn_qnet_finish. */
mynn_status mn_qnet_alloc(mynn_qnet **out, mynn_net *net);
/* Derive mult, in_inv, the packed weights, the dequantised float weights,
 * the buffer plan, and allocate the buffers for max_batch samples and
 * mn_threads() threads. */
mynn_status mn_qnet_finish(mynn_qnet *q, int max_batch);

/* At least n thread slots of scratch. */
mynn_status mn_qnet_slots(mynn_qnet *q, int n);
/* n <= max_batch samples x [n × n_inputs] through every node: q->out and
 * q->z [n × n_outputs].  MYNN_ERR_NUMERIC (no message) with *bad_at the
 * index in x of the first NaN or infinity, if there is one. */
mynn_status mn_qforward(mynn_qnet *q, const float *x, int n, size_t *bad_at);

#endif
