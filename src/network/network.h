/* The network: a graph of nodes (layers) in topological order, each
 * reading earlier nodes or the network input (src/layers/layer.h), over
 * one flat parameter buffer, one flat gradient buffer and one activation
 * block, all allocated by mynn_build.  A plain sequence is the graph in
 * which every node reads the one before.  Internal: the public handle is
 * opaque. */
#ifndef MN_NETWORK_H
#define MN_NETWORK_H

#include "mynn.h"
#include "layers/layer.h"

#define MN_MAX_META 32
#define MN_MAX_NODES 65536
/* Floats after the gradients, unused by backward: data-parallel training
 * sends the batch loss and a stop flag through the gradients' all-reduce
 * in them. */
#define MN_GRAD_SPARE 2

/* Where backward puts dC/dx of one input of one node (graph.c's plan):
 * straight into the input's gradient (the first of its readers in
 * backward order), or into scratch that is then added to it. */
typedef struct mn_dx_route {
    int into;                 /* the input's node id, or MN_NET_INPUT */
    size_t scratch;           /* offset in gbuf of the scratch, or (size_t)-1: direct */
} mn_dx_route;

struct mynn_net {
    int n_inputs;
    mn_shape in_shape;        /* per-sample input shape (n_inputs × 1 × 1 unless set) */
    int in_dims;              /* 0 flat, 1 C × L, 2 C × H × W (as declared) */
    int syntax_only;          /* made by mynn_parse_layers: shapes unchecked, never built */
    int n_layers, cap_layers;
    mn_layer *layers;         /* the nodes, in topological order */
    mynn_loss loss;

    int max_batch;            /* 0: not built */
    size_t n_params;          /* trainable parameters */
    size_t n_buffers;         /* non-trainable state after them (batch-norm statistics) */
    float *params, *grads;    /* [n_params + n_buffers] and [n_params + MN_GRAD_SPARE] */
    float *acts;              /* every node's out and cache */
    /* Backward's gradients, planned once by lifetime (graph.c): node i's
     * dC/d(output) at gofs[i] in gbuf, and where each of its inputs'
     * gradients goes (route[i * MN_MAX_INPUTS + j]). */
    float *gbuf;
    size_t *gofs;
    mn_dx_route *route;
    float *xin;               /* transformed input: [max_batch × n_inputs] */
    float *work;              /* scratch shared by the nodes (convolution columns) */
    float *aux;               /* every node's small fixed scratch */
    const float *last_x;      /* the input of the last forward, for backward */

    float *shift, *scale;     /* input transform [n_inputs] each, or NULL */
    char transform_kind[16];

    int n_meta;               /* key/value strings read from a model file */
    char *meta_key[MN_MAX_META], *meta_val[MN_MAX_META];
};

/* ---- building the graph (add_layers.c) ------------------------------------ */
/* A node of kind with its settings zeroed (activation identity). */
mn_layer mn_new_layer(const mn_kind *kind);
/* Appends a copy of l (its kind and settings) reading src[0..n_src)
 * (node ids, MN_NET_INPUT for the network input; all earlier): checks the
 * inputs and the settings against their shapes (kind->shape) and sets the
 * node's shapes.  Errors name the node. */
mynn_status mn_net_append(mynn_net *net, mn_layer *l, const int *src, int n_src);
/* The input the next node reads by default: the last node, or the
 * network input when there is none. */
int mn_net_tail(const mynn_net *net);
/* How many later nodes read node i (i = MN_NET_INPUT: the input). */
int mn_net_readers(const mynn_net *net, int i);
/* The output of node i (or the input, for MN_NET_INPUT) in the last forward. */
const float *mn_node_output(const mynn_net *net, int i);

/* ---- the description (spec.c) ------------------------------------------- */
/* The description that rebuilds net's nodes exactly (each node's item,
 * as=NAME, and from= where it reads other than the node before); NULL
 * when out of memory.  Free with free(). */
char *mn_net_spec(const mynn_net *net);

/* ---- build, forward, backward (graph.c) ----------------------------------- */
/* What mynn_build allocates for max_batch, with overflow and limit checks. */
typedef struct mn_build_sizes {
    size_t n_params, n_buffers, n_acts, n_work, n_aux;
} mn_build_sizes;
mynn_status mn_build_sizes_of(const mynn_net *net, int max_batch, mn_build_sizes *z);

/* The plan of backward's buffers (net->gofs, net->route) for max_batch;
 * *total receives the floats of net->gbuf. */
mynn_status mn_plan_gradients(mynn_net *net, int max_batch, size_t *total);
/* Forward n <= max_batch samples; returns the last node's output. */
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
 * NULL) one optimizer step applied to each node's parameters as soon as
 * their gradient is complete, while the earlier nodes are still in
 * backward: the same floats as mn_backward then mn_k_update over all
 * parameters.  A non-finite cost applies no update.  In the step's team
 * (kernels.h) every thread calls mn_forward and this on the same
 * arguments, loss pointing at one shared double. */
void mn_backward_update(mynn_net *net, const float *y, int n, const mn_update *u, double *loss);
/* Advance every node's random stream as a training forward of rows
 * samples would (data-parallel training: the other ranks' rows). */
void mn_net_skip_rows(mynn_net *net, int rows);
/* Floats of a full copy of the model: parameters, then buffers. */
size_t mn_net_values(const mynn_net *net);
/* A second, independent network with src's nodes, loss, input shape and
 * transform, values (parameters and buffers) and random streams, built for
 * max_batch; no metadata.  Trains exactly as src would (auto's candidates). */
mynn_status mn_net_copy(const mynn_net *src, int max_batch, mynn_net **out);
/* Store a metadata pair (copied); replaces an existing key. */
mynn_status mn_net_set_meta(mynn_net *net, const char *key, const char *value);
/* The nodes that read the network input as something other than numbers
 * (an embedding's token ids) check n samples x: MYNN_ERR_ARG naming the
 * first sample, position and value they cannot read. */
mynn_status mn_net_check_input(const mynn_net *net, const float *x, int n);
/* 1 when the targets are class ids, one per step of a sequence output
 * (mynn_n_targets); then mn_net_check_targets checks n samples' y. */
int mn_net_target_ids(const mynn_net *net);
mynn_status mn_net_check_targets(const mynn_net *net, const float *y, int n);
/* Non-zero if any of the n floats is NaN or infinite; *at receives the index. */
int mn_find_nonfinite(const float *v, size_t n, size_t *at);

/* ---- buffers planned by lifetime (plan.c) ---------------------------------- */
/* A buffer of size floats alive over the steps [born, dies]. */
typedef struct mn_span {
    size_t size, at;
    int born, dies;
} mn_span;
/* First fit: each span, in the given order (of birth), at the lowest
 * offset, a multiple of align floats, that no span alive at the same time
 * covers (sets at); returns the floats the spans need together. */
size_t mn_first_fit(mn_span *s, int n, size_t align);

/* What a node does with buffers in an inference pass (the C export, the
 * int8 engine): computes into one of its own, is its first input
 * (nothing computed: dropout, flatten, a folded batch norm), or computes
 * and may write over its only input's buffer when nothing later reads it. */
enum { MN_PLAN_COMPUTE, MN_PLAN_ALIAS, MN_PLAN_IN_PLACE };
#define MN_PLAN_INPUT (-1L)    /* offset of a value that is the caller's input */
#define MN_PLAN_OUTPUT (-2L)   /* ... the caller's output (the last node) */
/* Offsets, in floats per sample, of every node's output in one arena
 * (ofs[n_layers]; an alias has its input's), each buffer living from its
 * node to the last node reading it, buffers whose lives do not meet
 * sharing memory.  The network input is the caller's (MN_PLAN_INPUT)
 * unless input_in_arena (a transformed copy: *input_ofs); the last node
 * writes the caller's output (MN_PLAN_OUTPUT).  *total: the arena's
 * floats per sample. */
mynn_status mn_plan_outputs(const mynn_net *net, const int *role, int input_in_arena, long *ofs, long *input_ofs,
                            size_t *total);

#endif
