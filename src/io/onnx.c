/* ONNX export: the inference graph of a network as an ONNX model file
 * (IR version 7, opset 13 of the default domain), written with the small
 * protobuf writer in protobuf.c.
 *
 * The graph takes "input" [N, n_inputs], or [N, C, L] / [N, C, H, W] for a
 * net with a 1-D / 2-D input shape, and gives "output" [N, n_outputs]
 * (float32, N a symbolic batch dimension):
 *   input transform   Sub(x, input.shift), Mul(., input.scale)
 *   dense layer i     Gemm(x, layers.i.weight [out, in], layers.i.bias; transB=1)
 *                     (Flatten first after a spatial layer)
 *   activation        none for identity; GELU as 0.5·z·(1 + Erf(z/√2)),
 *                     since Gelu is not in opset 13; softmax over each
 *                     sample (Flatten first on a spatial tensor)
 *   conv              Conv (kernel_shape, strides, pads) + its activation
 *   pooling           MaxPool, AveragePool, GlobalAveragePool
 *   batchnorm         BatchNormalization with the running statistics
 *   flatten           Flatten(axis=1)
 *   dropout           nothing (identity at inference)
 * Initializer names match the safetensors model's tensor names.
 *
 * The graph is first collected as node and initializer lists (one handler
 * per layer kind, in the table below), then encoded: a new layer kind adds
 * one handler. */
#include "atomic_file.h"
#include "core/core.h"
#include "network/network.h"
#include "protobuf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ONNX_IR_VERSION 7
#define ONNX_OPSET 13
#define ONNX_FLOAT 1            /* TensorProto.DataType FLOAT */
#define NAME_LEN 64
#define MAX_IN 5      /* BatchNormalization: x, scale, B, mean, var */
#define MAX_ATTR 4
#define MAX_INTS 8

enum { ATTR_FLOAT = 1, ATTR_INT = 2, ATTR_INTS = 7 };   /* AttributeProto.AttributeType */

typedef struct onnx_attr {
    const char *name;
    int type;
    float f;
    int64_t i;
    int64_t ints[MAX_INTS];
    int n_ints;
} onnx_attr;

typedef struct onnx_node {
    const char *op;
    char name[NAME_LEN];
    char in[MAX_IN][NAME_LEN];
    int n_in;
    char out[NAME_LEN];
    onnx_attr attr[MAX_ATTR];
    int n_attr;
} onnx_node;

typedef struct onnx_init {
    char name[NAME_LEN];
    int64_t dims[4];
    int rank;
    const float *data;     /* the network's own arrays: nothing is copied */
    size_t count;
} onnx_init;

typedef struct onnx_graph {
    onnx_node *nodes;
    int n_nodes, cap_nodes;
    onnx_init *inits;
    int n_inits, cap_inits;
    char cur[NAME_LEN];    /* the tensor the next node reads */
    int rank;              /* its rank: 2 [N, F], 3 [N, C, L], 4 [N, C, H, W] */
    int have_gelu;         /* the GELU constants are in inits */
} onnx_graph;

/* ------------------------------------------------------------------------ */
/* Building the graph                                                        */
/* ------------------------------------------------------------------------ */

/* p (n items of size bytes, capacity *cap) with room for one more: p
 * itself, a reallocation, or NULL (p still valid) when out of memory. */
static void *room(void *p, int n, int *cap, size_t size)
{
    if (n < *cap) return p;
    int nc = *cap ? 2 * *cap : 16;
    void *q = realloc(p, (size_t)nc * size);
    if (q) *cap = nc;
    return q;
}

/* A new node op named "<prefix>.<op>" reading g->cur and writing
 * "<prefix>.<suffix>", which becomes g->cur; NULL when out of memory. */
static onnx_node *add_node(onnx_graph *g, const char *op, const char *prefix, const char *suffix)
{
    onnx_node *nodes = room(g->nodes, g->n_nodes, &g->cap_nodes, sizeof *nodes);
    if (!nodes) {
        mn_error(MYNN_ERR_NOMEM, "out of memory building the ONNX graph");
        return NULL;
    }
    g->nodes = nodes;
    onnx_node *n = &g->nodes[g->n_nodes++];
    memset(n, 0, sizeof *n);
    n->op = op;
    snprintf(n->name, NAME_LEN, "%s.%s", prefix, op);
    snprintf(n->in[0], NAME_LEN, "%s", g->cur);
    n->n_in = 1;
    snprintf(n->out, NAME_LEN, "%s.%s", prefix, suffix);
    snprintf(g->cur, NAME_LEN, "%s", n->out);
    return n;
}

static void node_input(onnx_node *n, const char *name)
{
    char *dst = n->in[n->n_in++];
    size_t len = strnlen(name, NAME_LEN - 1);
    memcpy(dst, name, len);
    dst[len] = '\0';
}

static onnx_attr *node_attr(onnx_node *n, const char *name, int type)
{
    onnx_attr *a = &n->attr[n->n_attr++];
    memset(a, 0, sizeof *a);
    a->name = name;
    a->type = type;
    return a;
}

/* An initializer over count floats at data, of rank dims (0: a scalar,
 * dims may then be NULL). */
static mynn_status add_init(onnx_graph *g, const char *name, const float *data, size_t count,
                            int rank, const int64_t *dims)
{
    onnx_init *inits = room(g->inits, g->n_inits, &g->cap_inits, sizeof *inits);
    if (!inits) return mn_error(MYNN_ERR_NOMEM, "out of memory building the ONNX graph");
    g->inits = inits;
    onnx_init *t = &g->inits[g->n_inits++];
    memset(t, 0, sizeof *t);
    snprintf(t->name, NAME_LEN, "%s", name);
    t->rank = rank;
    for (int k = 0; k < rank; k++) t->dims[k] = dims[k];
    t->data = data;
    t->count = count;
    return MYNN_OK;
}

static const float gelu_inv_sqrt2 = 0.70710678118654752f, gelu_one = 1.0f, gelu_half = 0.5f;

/* GELU(z) = 0.5 · z · (1 + erf(z / √2)), as five elementwise nodes. */
static mynn_status emit_gelu(onnx_graph *g, const char *prefix)
{
    if (!g->have_gelu) {
        if (add_init(g, "const.inv_sqrt2", &gelu_inv_sqrt2, 1, 0, NULL) ||
            add_init(g, "const.one", &gelu_one, 1, 0, NULL) || add_init(g, "const.half", &gelu_half, 1, 0, NULL))
            return MYNN_ERR_NOMEM;
        g->have_gelu = 1;
    }
    char z[NAME_LEN];
    snprintf(z, NAME_LEN, "%s", g->cur);
    onnx_node *n;
    if (!(n = add_node(g, "Mul", prefix, "gelu_scaled"))) return MYNN_ERR_NOMEM;
    node_input(n, "const.inv_sqrt2");
    if (!(n = add_node(g, "Erf", prefix, "gelu_erf"))) return MYNN_ERR_NOMEM;
    if (!(n = add_node(g, "Add", prefix, "gelu_1p"))) return MYNN_ERR_NOMEM;
    node_input(n, "const.one");
    if (!(n = add_node(g, "Mul", prefix, "gelu_z1p"))) return MYNN_ERR_NOMEM;
    snprintf(n->name, NAME_LEN, "%s.Mul_z", prefix);   /* node names are unique */
    node_input(n, z);
    if (!(n = add_node(g, "Mul", prefix, "out"))) return MYNN_ERR_NOMEM;
    snprintf(n->name, NAME_LEN, "%s.Mul_half", prefix);
    node_input(n, "const.half");
    return MYNN_OK;
}

/* [N, C, ...] -> [N, C·...] (nothing on a rank-2 tensor). */
static mynn_status emit_flatten_if_spatial(onnx_graph *g, const char *prefix)
{
    if (g->rank == 2) return MYNN_OK;
    onnx_node *n = add_node(g, "Flatten", prefix, "flat");
    if (!n) return MYNN_ERR_NOMEM;
    node_attr(n, "axis", ATTR_INT)->i = 1;
    g->rank = 2;
    return MYNN_OK;
}

/* The activation act applied to g->cur; nothing for identity. */
static mynn_status emit_activation(onnx_graph *g, mynn_activation act, const char *prefix)
{
    onnx_node *n = NULL;
    if (act == MYNN_ACT_SOFTMAX && emit_flatten_if_spatial(g, prefix)) return MYNN_ERR_NOMEM;
    switch (act) {
    case MYNN_ACT_IDENTITY: return MYNN_OK;
    case MYNN_ACT_SIGMOID: n = add_node(g, "Sigmoid", prefix, "out"); break;
    case MYNN_ACT_TANH: n = add_node(g, "Tanh", prefix, "out"); break;
    case MYNN_ACT_RELU: n = add_node(g, "Relu", prefix, "out"); break;
    case MYNN_ACT_LEAKY_RELU:
        if ((n = add_node(g, "LeakyRelu", prefix, "out"))) node_attr(n, "alpha", ATTR_FLOAT)->f = 0.01f;
        break;
    case MYNN_ACT_GELU: return emit_gelu(g, prefix);
    case MYNN_ACT_SOFTMAX:
        if ((n = add_node(g, "Softmax", prefix, "out"))) node_attr(n, "axis", ATTR_INT)->i = 1;
        break;
    default: return mn_error(MYNN_ERR_ARG, "%s: activation %d has no ONNX form", prefix, (int)act);
    }
    return n ? MYNN_OK : MYNN_ERR_NOMEM;
}

/* Layer l's tensors as initializers "<prefix>.<name>" (the model file's
 * names and PyTorch's layouts); their names into names[] in order. */
static mynn_status add_layer_tensors(onnx_graph *g, const mn_layer *l, const char *prefix,
                                     char names[4][NAME_LEN])
{
    mn_tensor_desc d[4];
    int nd = mn_layer_tensors(l, d);
    for (int k = 0; k < nd; k++) {
        snprintf(names[k], NAME_LEN, "%s.%s", prefix, d[k].name);
        const float *data = (d[k].buffer ? l->buf : l->param) + d[k].offset;
        int64_t dims[4];
        for (int j = 0; j < 4; j++) dims[j] = (int64_t)d[k].dims[j];
        if (add_init(g, names[k], data, d[k].count, d[k].rank, dims)) return MYNN_ERR_NOMEM;
    }
    return MYNN_OK;
}

/* x: [N, in] -> Gemm(x, W [out, in], B [out]; transB=1): [N, out] -> f. */
static mynn_status emit_dense(onnx_graph *g, const mn_layer *l, const char *prefix)
{
    char t[4][NAME_LEN];
    if (add_layer_tensors(g, l, prefix, t) || emit_flatten_if_spatial(g, prefix)) return MYNN_ERR_NOMEM;
    onnx_node *n = add_node(g, "Gemm", prefix, l->act == MYNN_ACT_IDENTITY ? "out" : "gemm");
    if (!n) return MYNN_ERR_NOMEM;
    node_input(n, t[0]);
    node_input(n, t[1]);
    node_attr(n, "transB", ATTR_INT)->i = 1;
    return emit_activation(g, l->act, prefix);
}

/* A spatial layer needs [N, C, L] (1-D) or [N, C, H, W] (2-D). */
static mynn_status check_spatial(const onnx_graph *g, const mn_layer *l, const char *prefix)
{
    if (g->rank == l->dims + 2) return MYNN_OK;
    return mn_error(MYNN_ERR_ARG, "%s (%s) cannot be expressed in ONNX: its input is not %d-D here "
                    "(it follows a softmax over a spatial tensor)", prefix, l->ops->name, l->dims);
}

/* kernel_shape, strides and (with_pads) pads of a 1-D or 2-D window. */
static void window_attrs(onnx_node *n, const mn_layer *l, int with_pads)
{
    onnx_attr *k = node_attr(n, "kernel_shape", ATTR_INTS), *s = node_attr(n, "strides", ATTR_INTS);
    if (l->dims == 1) {
        k->ints[k->n_ints++] = l->kw;
        s->ints[s->n_ints++] = l->sw;
    } else {
        k->ints[k->n_ints++] = l->kh;
        k->ints[k->n_ints++] = l->kw;
        s->ints[s->n_ints++] = l->sh;
        s->ints[s->n_ints++] = l->sw;
    }
    if (!with_pads) return;
    onnx_attr *p = node_attr(n, "pads", ATTR_INTS);   /* begins, then ends */
    for (int side = 0; side < 2; side++) {
        if (l->dims == 2) p->ints[p->n_ints++] = l->ph;
        p->ints[p->n_ints++] = l->pw;
    }
}

/* x: [N, C, (H,) W] -> Conv(x, W [F, C, (kh,) kw], B [F]) -> f. */
static mynn_status emit_conv(onnx_graph *g, const mn_layer *l, const char *prefix)
{
    char t[4][NAME_LEN];
    mynn_status s = check_spatial(g, l, prefix);
    if (s) return s;
    if (add_layer_tensors(g, l, prefix, t)) return MYNN_ERR_NOMEM;
    onnx_node *n = add_node(g, "Conv", prefix, l->act == MYNN_ACT_IDENTITY ? "out" : "conv");
    if (!n) return MYNN_ERR_NOMEM;
    node_input(n, t[0]);
    node_input(n, t[1]);
    window_attrs(n, l, 1);
    return emit_activation(g, l->act, prefix);
}

/* MaxPool / AveragePool: no padding, floor rounding (ceil_mode 0). */
static mynn_status emit_pool(onnx_graph *g, const mn_layer *l, const char *prefix)
{
    mynn_status s = check_spatial(g, l, prefix);
    if (s) return s;
    onnx_node *n = add_node(g, l->ops->kind == MYNN_LAYER_MAXPOOL ? "MaxPool" : "AveragePool", prefix, "out");
    if (!n) return MYNN_ERR_NOMEM;
    window_attrs(n, l, 0);
    return MYNN_OK;
}

/* [N, C, ...] -> [N, C, 1, ...]: the mean of each plane. */
static mynn_status emit_gap(onnx_graph *g, const mn_layer *l, const char *prefix)
{
    if (g->rank < 3)
        return mn_error(MYNN_ERR_ARG, "%s (%s) cannot be expressed in ONNX: its input is not spatial here",
                        prefix, l->ops->name);
    return add_node(g, "GlobalAveragePool", prefix, "out") ? MYNN_OK : MYNN_ERR_NOMEM;
}

static mynn_status emit_flatten(onnx_graph *g, const mn_layer *l, const char *prefix)
{
    (void)l;
    return emit_flatten_if_spatial(g, prefix);
}

/* Inference form: γ (x - running_mean) / sqrt(running_var + eps) + β per channel. */
static mynn_status emit_batchnorm(onnx_graph *g, const mn_layer *l, const char *prefix)
{
    char t[4][NAME_LEN];
    if (add_layer_tensors(g, l, prefix, t)) return MYNN_ERR_NOMEM;
    onnx_node *n = add_node(g, "BatchNormalization", prefix, "out");
    if (!n) return MYNN_ERR_NOMEM;
    for (int k = 0; k < 4; k++) node_input(n, t[k]);   /* scale, B, mean, var: the descriptor order */
    node_attr(n, "epsilon", ATTR_FLOAT)->f = l->eps;
    node_attr(n, "momentum", ATTR_FLOAT)->f = 1.0f - l->momentum;  /* ONNX weighs the old value */
    return MYNN_OK;
}

static mynn_status emit_activation_layer(onnx_graph *g, const mn_layer *l, const char *prefix)
{
    if (l->act == MYNN_ACT_IDENTITY) return MYNN_OK;
    return emit_activation(g, l->act, prefix);
}

/* Dropout is the identity at inference: no node. */
static mynn_status emit_dropout(onnx_graph *g, const mn_layer *l, const char *prefix)
{
    (void)g, (void)l, (void)prefix;
    return MYNN_OK;
}

typedef mynn_status (*emit_fn)(onnx_graph *g, const mn_layer *l, const char *prefix);
static const struct {
    mynn_layer_kind kind;
    emit_fn emit;
} emitters[] = {
    {MYNN_LAYER_DENSE, emit_dense},
    {MYNN_LAYER_DROPOUT, emit_dropout},
    {MYNN_LAYER_CONV, emit_conv},
    {MYNN_LAYER_MAXPOOL, emit_pool},
    {MYNN_LAYER_AVGPOOL, emit_pool},
    {MYNN_LAYER_GLOBAL_AVGPOOL, emit_gap},
    {MYNN_LAYER_FLATTEN, emit_flatten},
    {MYNN_LAYER_BATCHNORM, emit_batchnorm},
    {MYNN_LAYER_ACTIVATION, emit_activation_layer},
};

static emit_fn find_emitter(mynn_layer_kind kind)
{
    for (size_t i = 0; i < sizeof emitters / sizeof emitters[0]; i++)
        if (emitters[i].kind == kind) return emitters[i].emit;
    return NULL;
}

/* The input's dimensions after N: [F], [C, L] or [C, H, W]; returns how many. */
static int input_dims(const mynn_net *net, int64_t d[3])
{
    if (net->in_dims == 2) {
        d[0] = net->in_shape.c, d[1] = net->in_shape.h, d[2] = net->in_shape.w;
        return 3;
    }
    if (net->in_dims == 1) {
        d[0] = net->in_shape.c, d[1] = net->in_shape.w;
        return 2;
    }
    d[0] = net->n_inputs;
    return 1;
}

/* x' = (x - shift) · scale, as the network applies it (shift and scale
 * shaped as one sample, broadcast over N). */
static mynn_status emit_transform(onnx_graph *g, const mynn_net *net)
{
    int64_t d[3] = {0, 0, 0};
    int r = input_dims(net, d);
    if (add_init(g, "input.shift", net->shift, (size_t)net->n_inputs, r, d) ||
        add_init(g, "input.scale", net->scale, (size_t)net->n_inputs, r, d))
        return MYNN_ERR_NOMEM;
    onnx_node *n = add_node(g, "Sub", "input", "shifted");
    if (!n) return MYNN_ERR_NOMEM;
    node_input(n, "input.shift");
    if (!(n = add_node(g, "Mul", "input", "normalized"))) return MYNN_ERR_NOMEM;
    node_input(n, "input.scale");
    return MYNN_OK;
}

static mynn_status build_graph(onnx_graph *g, const mynn_net *net)
{
    snprintf(g->cur, NAME_LEN, "input");
    int64_t d[3];
    g->rank = 1 + input_dims(net, d);
    mynn_status s = MYNN_OK;
    if (net->shift && net->scale && (s = emit_transform(g, net))) return s;
    for (int i = 0; i < net->n_layers; i++) {
        const mn_layer *l = &net->layers[i];
        emit_fn emit = find_emitter(l->ops->kind);
        if (!emit)
            return mn_error(MYNN_ERR_ARG, "layer %d (%s) cannot be expressed in ONNX", i, l->ops->name);
        char prefix[NAME_LEN];
        snprintf(prefix, NAME_LEN, "layers.%d", i);
        if ((s = emit(g, l, prefix))) return s;
    }
    if (emit_flatten_if_spatial(g, "output")) return MYNN_ERR_NOMEM;
    /* The graph's result is "output": the last node's output renamed, or an
     * Identity when no node wrote the current tensor (nothing but dropout). */
    onnx_node *last = g->n_nodes ? &g->nodes[g->n_nodes - 1] : NULL;
    if (!last || strcmp(last->out, g->cur) != 0)
        if (!(last = add_node(g, "Identity", "output", "identity"))) return MYNN_ERR_NOMEM;
    snprintf(last->out, NAME_LEN, "output");
    return MYNN_OK;
}

/* ------------------------------------------------------------------------ */
/* Encoding (field numbers from onnx.proto)                                  */
/* ------------------------------------------------------------------------ */

static void put_attr(mn_pb *b, const onnx_attr *a)
{
    size_t m = mn_pb_begin(b, 5);              /* NodeProto.attribute */
    mn_pb_string(b, 1, a->name);
    if (a->type == ATTR_FLOAT) mn_pb_float(b, 2, a->f);
    if (a->type == ATTR_INT) mn_pb_varint(b, 3, (uint64_t)a->i);
    for (int k = 0; a->type == ATTR_INTS && k < a->n_ints; k++) mn_pb_varint(b, 8, (uint64_t)a->ints[k]);
    mn_pb_varint(b, 20, (uint64_t)a->type);
    mn_pb_end(b, m);
}

static void put_node(mn_pb *b, const onnx_node *n)
{
    size_t m = mn_pb_begin(b, 1);              /* GraphProto.node */
    for (int k = 0; k < n->n_in; k++) mn_pb_string(b, 1, n->in[k]);
    mn_pb_string(b, 2, n->out);
    mn_pb_string(b, 3, n->name);
    mn_pb_string(b, 4, n->op);
    for (int k = 0; k < n->n_attr; k++) put_attr(b, &n->attr[k]);
    mn_pb_end(b, m);
}

static void put_init(mn_pb *b, const onnx_init *t)
{
    size_t m = mn_pb_begin(b, 5);              /* GraphProto.initializer */
    for (int k = 0; k < t->rank; k++) mn_pb_varint(b, 1, (uint64_t)t->dims[k]);
    mn_pb_varint(b, 2, ONNX_FLOAT);
    mn_pb_string(b, 8, t->name);
    mn_pb_floats_le(b, 9, t->data, t->count);  /* raw_data */
    mn_pb_end(b, m);
}

/* A ValueInfoProto "name" float32 [N, dims...] in GraphProto field. */
static void put_value_info(mn_pb *b, int field, const char *name, const int64_t *dims, int n_dims)
{
    size_t m = mn_pb_begin(b, field);
    mn_pb_string(b, 1, name);
    size_t type = mn_pb_begin(b, 2);           /* TypeProto */
    size_t tensor = mn_pb_begin(b, 1);         /* TypeProto.Tensor */
    mn_pb_varint(b, 1, ONNX_FLOAT);
    size_t shape = mn_pb_begin(b, 2);          /* TensorShapeProto */
    size_t d = mn_pb_begin(b, 1);
    mn_pb_string(b, 2, "N");                   /* dim_param: any batch size */
    mn_pb_end(b, d);
    for (int k = 0; k < n_dims; k++) {
        d = mn_pb_begin(b, 1);
        mn_pb_varint(b, 1, (uint64_t)dims[k]); /* dim_value */
        mn_pb_end(b, d);
    }
    mn_pb_end(b, shape);
    mn_pb_end(b, tensor);
    mn_pb_end(b, type);
    mn_pb_end(b, m);
}

static void put_meta(mn_pb *b, const char *key, const char *value)
{
    size_t m = mn_pb_begin(b, 14);             /* ModelProto.metadata_props */
    mn_pb_string(b, 1, key);
    mn_pb_string(b, 2, value);
    mn_pb_end(b, m);
}

static void put_model(mn_pb *b, const mynn_net *net, const onnx_graph *g)
{
    mn_pb_varint(b, 1, ONNX_IR_VERSION);
    mn_pb_string(b, 2, "mynn");
    mn_pb_string(b, 3, MYNN_VERSION_STRING);
    size_t graph = mn_pb_begin(b, 7);
    for (int i = 0; i < g->n_nodes; i++) put_node(b, &g->nodes[i]);
    mn_pb_string(b, 2, "mynn");
    for (int i = 0; i < g->n_inits; i++) put_init(b, &g->inits[i]);
    int64_t in[3], out = mynn_n_outputs(net);
    int n_in = input_dims(net, in);
    put_value_info(b, 11, "input", in, n_in);
    put_value_info(b, 12, "output", &out, 1);
    mn_pb_end(b, graph);
    size_t opset = mn_pb_begin(b, 8);          /* OperatorSetIdProto, default domain */
    mn_pb_varint(b, 2, ONNX_OPSET);
    mn_pb_end(b, opset);
    put_meta(b, "mynn.loss", mynn_loss_name(net->loss));
    if (net->shift && net->scale) put_meta(b, "mynn.normalize", net->transform_kind);
}

mynn_status mynn_export_onnx(const mynn_net *net, const char *path)
{
    if (!net || !path) return mn_error(MYNN_ERR_NULL, "mynn_export_onnx: NULL argument");
    if (!net->n_layers) return mn_error(MYNN_ERR_STATE, "mynn_export_onnx: the network has no layers");
    if (!net->max_batch || !net->params)
        return mn_error(MYNN_ERR_STATE, "mynn_export_onnx: the network is not built (no weights yet)");
    onnx_graph g;
    memset(&g, 0, sizeof g);
    mn_pb b;
    mn_pb_init(&b);
    mynn_status s = build_graph(&g, net);
    if (!s) {
        put_model(&b, net, &g);
        if (b.failed) s = MYNN_ERR_NOMEM;
    }
    free(g.nodes);
    free(g.inits);
    if (!s) {
        mn_atomic a;
        s = mn_atomic_open(&a, path);
        if (!s) s = mn_atomic_write(&a, b.data, b.len);
        if (!s) s = mn_atomic_commit(&a);
        else mn_atomic_abort(&a);
    }
    mn_pb_free(&b);
    return s;
}
