/* Building an ONNX inference graph (IR version 7, opset 13 of the default
 * domain) as lists of nodes and initializers, then encoding it as a model
 * file with the small protobuf writer (protobuf.h).  The layer kinds add
 * their own nodes through this (src/layers/, their onnx member); the
 * export itself (io/onnx.c) walks the network.  Knows nothing of layers.
 * Internal. */
#ifndef MN_ONNX_GRAPH_H
#define MN_ONNX_GRAPH_H

#include "mynn.h"

#include <stddef.h>
#include <stdint.h>

#define MN_ONNX_NAME 64

typedef struct mn_onnx mn_onnx;
typedef struct mn_onode mn_onode;

/* A tensor of the graph and its rank: 2 [N, F], 3 [N, C, L] (or a
 * sequence [N, T, F]: the layer reading it knows which), 4 [N, C, H, W]. */
typedef struct mn_ovalue {
    char name[MN_ONNX_NAME];
    int rank;
} mn_ovalue;

mn_onnx *mn_onnx_new(void);
void mn_onnx_free(mn_onnx *g);

/* A node op reading in[0..n_in) and writing "<prefix>.<suffix>" (copied
 * into out when out is not NULL); named "<prefix>.<op>".  A number is
 * added to either name when it is taken (a value is written once, as ONNX
 * requires).  NULL when out of memory (message set). */
mn_onode *mn_onnx_node(mn_onnx *g, const char *op, const char *prefix, const char *suffix,
                       const char *const *in, int n_in, mn_ovalue *out);
/* One more input of n. */
void mn_onnx_input(mn_onode *n, const char *name);
void mn_onnx_attr_int(mn_onode *n, const char *name, int64_t v);
void mn_onnx_attr_float(mn_onode *n, const char *name, float v);
void mn_onnx_attr_ints(mn_onode *n, const char *name, const int64_t *v, int count);
/* String attributes; the strings must outlive the graph (literals). */
void mn_onnx_attr_string(mn_onode *n, const char *name, const char *v);
void mn_onnx_attr_strings(mn_onode *n, const char *name, const char *const *v, int count);
/* n's value becomes its output number index (an operator with several
 * outputs, as LSTM's Y_h: 1); the ones before it are left unnamed, which
 * ONNX reads as not wanted. */
void mn_onnx_output_at(mn_onode *n, int index);

/* An initializer over count floats at data (not copied: they must outlive
 * the graph), of rank dims (0: a scalar, dims may then be NULL). */
mynn_status mn_onnx_init(mn_onnx *g, const char *name, const float *data, size_t count, int rank,
                         const int64_t *dims);

/* An initializer of count floats that the graph owns, zeroed, for a
 * tensor the export computes (a recurrent layer's gate blocks in ONNX's
 * order); the caller fills it.  NULL when out of memory (message set). */
float *mn_onnx_init_new(mn_onnx *g, const char *name, size_t count, int rank, const int64_t *dims);
/* A 1-D int64 initializer of count (at most 4) values, copied: the shape
 * a Reshape reads. */
mynn_status mn_onnx_init_ints(mn_onnx *g, const char *name, const int64_t *v, int count);

/* v reshaped to [N, dims[0..n_dims)) (N kept: Reshape's 0), written as
 * "<prefix>.<suffix>"; rank 1 + n_dims (n_dims at most 3). */
mynn_status mn_onnx_reshape(mn_onnx *g, const char *prefix, const char *suffix, mn_ovalue *v,
                            const int64_t *dims, int n_dims);
/* v transposed by perm (v's rank values), written as "<prefix>.<suffix>". */
mynn_status mn_onnx_transpose(mn_onnx *g, const char *prefix, const char *suffix, mn_ovalue *v,
                              const int64_t *perm);
/* v flattened to [N, F] (nothing at rank 2). */
mynn_status mn_onnx_flatten(mn_onnx *g, const char *prefix, mn_ovalue *v);
/* The n inputs of a join (Add, Concat) at one rank: in[] copied into v[],
 * all flattened when their ranks differ (a dense output beside a pooled
 * plane: their values line up once flat). */
mynn_status mn_onnx_same_rank(mn_onnx *g, const char *prefix, const mn_ovalue *in, int n, mn_ovalue *v);
/* The activation act applied to v (v becomes its output): none for
 * identity; GELU as 0.5·z·(1 + Erf(z/√2)), since Gelu is not in opset 13;
 * softmax over each sample (flattened first). */
mynn_status mn_onnx_activation(mn_onnx *g, mynn_activation act, const char *prefix, mn_ovalue *v);
/* The same on every step of a sequence v [N, T, F]: softmax over each
 * step's F values (the last axis), as mynn computes it there. */
mynn_status mn_onnx_step_activation(mn_onnx *g, mynn_activation act, const char *prefix, mn_ovalue *v);

/* The graph as a model file (written atomically): its input "input"
 * float32 [N, in_dims...] and output "output" [N, n_out] (v renamed, or an
 * Identity), and metadata pairs meta[2k], meta[2k+1]. */
mynn_status mn_onnx_write(mn_onnx *g, const char *path, const mn_ovalue *result, const int64_t *in_dims,
                          int n_in_dims, int64_t n_out, const char *const *meta, int n_meta);

#endif
