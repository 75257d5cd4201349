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

/* A tensor of the graph and its rank: 2 [N, F], 3 [N, C, L], 4 [N, C, H, W]. */
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

/* An initializer over count floats at data (not copied: they must outlive
 * the graph), of rank dims (0: a scalar, dims may then be NULL). */
mynn_status mn_onnx_init(mn_onnx *g, const char *name, const float *data, size_t count, int rank,
                         const int64_t *dims);

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

/* The graph as a model file (written atomically): its input "input"
 * float32 [N, in_dims...] and output "output" [N, n_out] (v renamed, or an
 * Identity), and metadata pairs meta[2k], meta[2k+1]. */
mynn_status mn_onnx_write(mn_onnx *g, const char *path, const mn_ovalue *result, const int64_t *in_dims,
                          int n_in_dims, int64_t n_out, const char *const *meta, int n_meta);

#endif
