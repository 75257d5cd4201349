/* The per-layer generators of mynn_export_c (export_c.c: dense and
 * activation layers; export_c_conv.c: convolution, pooling, batch norm).
 * Internal. */
#ifndef MN_EXPORT_C_H
#define MN_EXPORT_C_H

#include "cgen.h"
#include "layers/layer.h"

/* One layer as its generator sees it: the layer, its index in the network,
 * and the batch norm folded into it (network/fold.h), or NULL. */
typedef struct mn_xlayer {
    const mn_layer *l, *bn;
    int i;
} mn_xlayer;

/* Functions of the generated file that layers call, each written once
 * (in this order) when some layer needs it: a bit per function. */
enum {
    MN_XFN_DENSE = 1 << 0,
    MN_XFN_CONV = 1 << 1,
    MN_XFN_POOL_SHAPE = 1 << 2,
    MN_XFN_MAXPOOL = 1 << 3,
    MN_XFN_AVGPOOL = 1 << 4,
    MN_XFN_GAP = 1 << 5,
    MN_XFN_BATCHNORM = 1 << 6,
    MN_XFN_COUNT = 7
};

typedef struct mn_layer_gen {
    /* 1 if the layer computes anything at prediction (dropout does not). */
    int writes;
    /* 1 if element-wise: its code may read and write the same buffer. */
    int in_place;
    /* The MN_XFN_ functions its code calls. */
    unsigned fns;
    /* Bytes of const data the layer adds (flash); NULL: none. */
    size_t (*data_bytes)(const mn_xlayer *x);
    /* Its static const arrays, named l<i>_...; NULL: none. */
    mynn_status (*data)(mn_atomic *a, const mn_xlayer *x);
    /* Statements reading src [n_in] and writing dst [n_out]: a different
     * buffer, or the same one for an in_place layer. */
    mynn_status (*code)(mn_atomic *a, const mn_xlayer *x, const char *src, const char *dst);
} mn_layer_gen;

/* The generators of export_c_conv.c: conv, maxpool, avgpool, gap, batchnorm
 * (NULL for other kinds). */
const mn_layer_gen *mn_export_c_conv_gen(mynn_layer_kind k);
/* The text of MN_XFN_ function bit k (0 <= k < MN_XFN_COUNT), and an
 * estimate of its machine code bytes. */
const char *mn_export_c_fn_text(int k);
/* MYNN_ERR_NUMERIC: folding x's batch norm overflowed. */
mynn_status mn_export_c_fold_error(const mn_xlayer *x);
size_t mn_export_c_fn_bytes(int k);

#endif
