/* The ONNX graph builder and its encoding (onnx_graph.h); field numbers
 * from onnx.proto. */
#include "onnx_graph.h"
#include "atomic_file.h"
#include "core/core.h"
#include "protobuf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ONNX_IR_VERSION 7
#define ONNX_OPSET 13
#define ONNX_FLOAT 1            /* TensorProto.DataType FLOAT */
#define ONNX_INT64 7            /* and INT64 */
#define MAX_IN 8                /* Concat, Sum of up to 8 inputs; BatchNormalization 5 */
#define MAX_ATTR 4
#define MAX_INTS 8
#define MAX_INIT_INTS 4         /* an int64 initializer: a shape of up to 4 values */

/* AttributeProto.AttributeType */
enum { ATTR_FLOAT = 1, ATTR_INT = 2, ATTR_STRING = 3, ATTR_INTS = 7, ATTR_STRINGS = 8 };

typedef struct onnx_attr {
    const char *name;
    int type;
    float f;
    int64_t i;
    int64_t ints[MAX_INTS];
    const char *strs[MAX_INTS];   /* strs[0]: a STRING's value */
    int n_ints;                   /* also the count of STRINGS */
} onnx_attr;

struct mn_onode {
    const char *op;
    char name[MN_ONNX_NAME];
    char in[MAX_IN][MN_ONNX_NAME];
    int n_in;
    char out[MN_ONNX_NAME];
    int out_at;            /* out's position among the operator's outputs */
    onnx_attr attr[MAX_ATTR];
    int n_attr;
};

typedef struct onnx_init {
    char name[MN_ONNX_NAME];
    int64_t dims[4];
    int rank;
    const float *data;     /* the network's own arrays: nothing is copied */
    size_t count;
    float *owned;          /* or the graph's own copy (mn_onnx_init_new), freed with it */
    int64_t ints[MAX_INIT_INTS];   /* an INT64 tensor of count values (data NULL) */
    int is_int;
} onnx_init;

struct mn_onnx {
    mn_onode *nodes;
    int n_nodes, cap_nodes;
    onnx_init *inits;
    int n_inits, cap_inits;
    int have_gelu;         /* the GELU constants are in inits */
};

mn_onnx *mn_onnx_new(void)
{
    mn_onnx *g = calloc(1, sizeof *g);
    if (!g) mn_error(MYNN_ERR_NOMEM, "out of memory building the ONNX graph");
    return g;
}

void mn_onnx_free(mn_onnx *g)
{
    if (!g) return;
    for (int i = 0; i < g->n_inits; i++) free(g->inits[i].owned);
    free(g->nodes);
    free(g->inits);
    free(g);
}

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

static void copy_name(char *dst, const char *src)
{
    size_t len = strnlen(src, MN_ONNX_NAME - 1);
    memcpy(dst, src, len);
    dst[len] = '\0';
}

static int name_taken(const mn_onnx *g, const char *name)
{
    for (int i = 0; i < g->n_nodes; i++)
        if (strcmp(g->nodes[i].name, name) == 0) return 1;
    return 0;
}

/* A value name some node already writes (the graph must stay in SSA form:
 * a join flattening two of its inputs asks for "<prefix>.flat" twice). */
static int output_taken(const mn_onnx *g, const char *name)
{
    for (int i = 0; i < g->n_nodes; i++)
        if (strcmp(g->nodes[i].out, name) == 0) return 1;
    return 0;
}

mn_onode *mn_onnx_node(mn_onnx *g, const char *op, const char *prefix, const char *suffix,
                       const char *const *in, int n_in, mn_ovalue *out)
{
    mn_onode *nodes = room(g->nodes, g->n_nodes, &g->cap_nodes, sizeof *nodes);
    if (!nodes) {
        mn_error(MYNN_ERR_NOMEM, "out of memory building the ONNX graph");
        return NULL;
    }
    g->nodes = nodes;
    mn_onode *n = &g->nodes[g->n_nodes];
    memset(n, 0, sizeof *n);
    n->op = op;
    snprintf(n->name, MN_ONNX_NAME, "%s.%s", prefix, op);
    for (int k = 2; name_taken(g, n->name); k++) snprintf(n->name, MN_ONNX_NAME, "%s.%s_%d", prefix, op, k);
    for (int k = 0; k < n_in && k < MAX_IN; k++) copy_name(n->in[n->n_in++], in[k]);
    snprintf(n->out, MN_ONNX_NAME, "%s.%s", prefix, suffix);
    for (int k = 2; output_taken(g, n->out); k++) snprintf(n->out, MN_ONNX_NAME, "%s.%s_%d", prefix, suffix, k);
    if (out) copy_name(out->name, n->out);
    g->n_nodes++;
    return n;
}

void mn_onnx_input(mn_onode *n, const char *name)
{
    if (n->n_in < MAX_IN) copy_name(n->in[n->n_in++], name);
}

static onnx_attr *new_attr(mn_onode *n, const char *name, int type)
{
    onnx_attr *a = &n->attr[n->n_attr++];
    memset(a, 0, sizeof *a);
    a->name = name;
    a->type = type;
    return a;
}

void mn_onnx_attr_int(mn_onode *n, const char *name, int64_t v) { new_attr(n, name, ATTR_INT)->i = v; }
void mn_onnx_attr_float(mn_onode *n, const char *name, float v) { new_attr(n, name, ATTR_FLOAT)->f = v; }

void mn_onnx_attr_ints(mn_onode *n, const char *name, const int64_t *v, int count)
{
    onnx_attr *a = new_attr(n, name, ATTR_INTS);
    for (int k = 0; k < count && k < MAX_INTS; k++) a->ints[a->n_ints++] = v[k];
}

void mn_onnx_attr_string(mn_onode *n, const char *name, const char *v)
{
    new_attr(n, name, ATTR_STRING)->strs[0] = v;
}

void mn_onnx_attr_strings(mn_onode *n, const char *name, const char *const *v, int count)
{
    onnx_attr *a = new_attr(n, name, ATTR_STRINGS);
    for (int k = 0; k < count && k < MAX_INTS; k++) a->strs[a->n_ints++] = v[k];
}

void mn_onnx_output_at(mn_onode *n, int index) { n->out_at = index; }

mynn_status mn_onnx_init(mn_onnx *g, const char *name, const float *data, size_t count, int rank,
                         const int64_t *dims)
{
    onnx_init *inits = room(g->inits, g->n_inits, &g->cap_inits, sizeof *inits);
    if (!inits) return mn_error(MYNN_ERR_NOMEM, "out of memory building the ONNX graph");
    g->inits = inits;
    onnx_init *t = &g->inits[g->n_inits++];
    memset(t, 0, sizeof *t);
    copy_name(t->name, name);
    t->rank = rank;
    for (int k = 0; k < rank; k++) t->dims[k] = dims[k];
    t->data = data;
    t->count = count;
    return MYNN_OK;
}

float *mn_onnx_init_new(mn_onnx *g, const char *name, size_t count, int rank, const int64_t *dims)
{
    float *data = calloc(count ? count : 1, sizeof *data);
    if (!data || mn_onnx_init(g, name, data, count, rank, dims)) {
        free(data);
        mn_error(MYNN_ERR_NOMEM, "out of memory building the ONNX graph");
        return NULL;
    }
    g->inits[g->n_inits - 1].owned = data;
    return data;
}

mynn_status mn_onnx_init_ints(mn_onnx *g, const char *name, const int64_t *v, int count)
{
    const int64_t dims[1] = {count};
    if (count < 1 || count > MAX_INIT_INTS)
        return mn_error(MYNN_ERR_ARG, "%s: an int64 initializer of %d values", name, count);
    if (mn_onnx_init(g, name, NULL, (size_t)count, 1, dims)) return MYNN_ERR_NOMEM;
    onnx_init *t = &g->inits[g->n_inits - 1];
    t->is_int = 1;
    for (int k = 0; k < count; k++) t->ints[k] = v[k];
    return MYNN_OK;
}

static int init_taken(const mn_onnx *g, const char *name)
{
    for (int i = 0; i < g->n_inits; i++)
        if (strcmp(g->inits[i].name, name) == 0) return 1;
    return 0;
}

mynn_status mn_onnx_reshape(mn_onnx *g, const char *prefix, const char *suffix, mn_ovalue *v,
                            const int64_t *dims, int n_dims)
{
    int64_t shape[MAX_INIT_INTS] = {0};   /* 0: N, copied from the input */
    char name[MN_ONNX_NAME];
    if (n_dims < 1 || n_dims >= MAX_INIT_INTS)
        return mn_error(MYNN_ERR_ARG, "%s: a reshape to rank %d", prefix, n_dims + 1);
    for (int k = 0; k < n_dims; k++) shape[k + 1] = dims[k];
    snprintf(name, sizeof name, "%s.%s_shape", prefix, suffix);
    for (int k = 2; init_taken(g, name); k++) snprintf(name, sizeof name, "%s.%s_shape_%d", prefix, suffix, k);
    if (mn_onnx_init_ints(g, name, shape, n_dims + 1)) return MYNN_ERR_NOMEM;
    const char *in[2] = {v->name, name};
    if (!mn_onnx_node(g, "Reshape", prefix, suffix, in, 2, v)) return MYNN_ERR_NOMEM;
    v->rank = n_dims + 1;
    return MYNN_OK;
}

mynn_status mn_onnx_transpose(mn_onnx *g, const char *prefix, const char *suffix, mn_ovalue *v,
                              const int64_t *perm)
{
    const char *in[1] = {v->name};
    mn_onode *n = mn_onnx_node(g, "Transpose", prefix, suffix, in, 1, v);
    if (!n) return MYNN_ERR_NOMEM;
    mn_onnx_attr_ints(n, "perm", perm, v->rank);
    return MYNN_OK;
}

mynn_status mn_onnx_flatten(mn_onnx *g, const char *prefix, mn_ovalue *v)
{
    if (v->rank == 2) return MYNN_OK;
    const char *in[1] = {v->name};
    mn_onode *n = mn_onnx_node(g, "Flatten", prefix, "flat", in, 1, v);
    if (!n) return MYNN_ERR_NOMEM;
    mn_onnx_attr_int(n, "axis", 1);
    v->rank = 2;
    return MYNN_OK;
}

mynn_status mn_onnx_same_rank(mn_onnx *g, const char *prefix, const mn_ovalue *in, int n, mn_ovalue *v)
{
    int same = 1;
    for (int j = 0; j < n; j++) {
        v[j] = in[j];
        same &= in[j].rank == in[0].rank;
    }
    for (int j = 0; !same && j < n; j++)
        if (mn_onnx_flatten(g, prefix, &v[j])) return MYNN_ERR_NOMEM;
    return MYNN_OK;
}

static const float gelu_inv_sqrt2 = 0.70710678118654752f, gelu_one = 1.0f, gelu_half = 0.5f;

/* GELU(z) = 0.5 · z · (1 + erf(z / √2)), as five elementwise nodes. */
static mynn_status gelu(mn_onnx *g, const char *prefix, mn_ovalue *v)
{
    if (!g->have_gelu) {
        if (mn_onnx_init(g, "const.inv_sqrt2", &gelu_inv_sqrt2, 1, 0, NULL) ||
            mn_onnx_init(g, "const.one", &gelu_one, 1, 0, NULL) ||
            mn_onnx_init(g, "const.half", &gelu_half, 1, 0, NULL))
            return MYNN_ERR_NOMEM;
        g->have_gelu = 1;
    }
    char z[MN_ONNX_NAME];
    copy_name(z, v->name);
    const char *in[2] = {v->name, "const.inv_sqrt2"};
    if (!mn_onnx_node(g, "Mul", prefix, "gelu_scaled", in, 2, v)) return MYNN_ERR_NOMEM;
    in[0] = v->name;
    if (!mn_onnx_node(g, "Erf", prefix, "gelu_erf", in, 1, v)) return MYNN_ERR_NOMEM;
    in[0] = v->name, in[1] = "const.one";
    if (!mn_onnx_node(g, "Add", prefix, "gelu_1p", in, 2, v)) return MYNN_ERR_NOMEM;
    in[0] = v->name, in[1] = z;
    if (!mn_onnx_node(g, "Mul", prefix, "gelu_z1p", in, 2, v)) return MYNN_ERR_NOMEM;
    in[0] = v->name, in[1] = "const.half";
    return mn_onnx_node(g, "Mul", prefix, "out", in, 2, v) ? MYNN_OK : MYNN_ERR_NOMEM;
}

mynn_status mn_onnx_activation(mn_onnx *g, mynn_activation act, const char *prefix, mn_ovalue *v)
{
    static const char *const ops[MYNN_ACT_COUNT] = {
        [MYNN_ACT_SIGMOID] = "Sigmoid", [MYNN_ACT_TANH] = "Tanh", [MYNN_ACT_RELU] = "Relu",
        [MYNN_ACT_LEAKY_RELU] = "LeakyRelu", [MYNN_ACT_SOFTMAX] = "Softmax"};
    if (act == MYNN_ACT_IDENTITY) return MYNN_OK;
    if (act == MYNN_ACT_GELU) return gelu(g, prefix, v);
    if ((unsigned)act >= MYNN_ACT_COUNT || !ops[act])
        return mn_error(MYNN_ERR_ARG, "%s: activation %d has no ONNX form", prefix, (int)act);
    if (act == MYNN_ACT_SOFTMAX && mn_onnx_flatten(g, prefix, v)) return MYNN_ERR_NOMEM;
    const char *in[1] = {v->name};
    mn_onode *n = mn_onnx_node(g, ops[act], prefix, "out", in, 1, v);
    if (!n) return MYNN_ERR_NOMEM;
    if (act == MYNN_ACT_LEAKY_RELU) mn_onnx_attr_float(n, "alpha", 0.01f);
    if (act == MYNN_ACT_SOFTMAX) mn_onnx_attr_int(n, "axis", 1);
    return MYNN_OK;
}

mynn_status mn_onnx_step_activation(mn_onnx *g, mynn_activation act, const char *prefix, mn_ovalue *v)
{
    if (act != MYNN_ACT_SOFTMAX) return mn_onnx_activation(g, act, prefix, v);   /* element-wise */
    const char *in[1] = {v->name};
    mn_onode *n = mn_onnx_node(g, "Softmax", prefix, "out", in, 1, v);
    if (!n) return MYNN_ERR_NOMEM;
    mn_onnx_attr_int(n, "axis", -1);
    return MYNN_OK;
}

/* ------------------------------------------------------------------------ */
/* Encoding                                                                  */
/* ------------------------------------------------------------------------ */

static void put_attr(mn_pb *b, const onnx_attr *a)
{
    size_t m = mn_pb_begin(b, 5);              /* NodeProto.attribute */
    mn_pb_string(b, 1, a->name);
    if (a->type == ATTR_FLOAT) mn_pb_float(b, 2, a->f);
    if (a->type == ATTR_INT) mn_pb_varint(b, 3, (uint64_t)a->i);
    if (a->type == ATTR_STRING) mn_pb_string(b, 4, a->strs[0]);
    for (int k = 0; a->type == ATTR_INTS && k < a->n_ints; k++) mn_pb_varint(b, 8, (uint64_t)a->ints[k]);
    for (int k = 0; a->type == ATTR_STRINGS && k < a->n_ints; k++) mn_pb_string(b, 9, a->strs[k]);
    mn_pb_varint(b, 20, (uint64_t)a->type);
    mn_pb_end(b, m);
}

static void put_node(mn_pb *b, const mn_onode *n)
{
    size_t m = mn_pb_begin(b, 1);              /* GraphProto.node */
    for (int k = 0; k < n->n_in; k++) mn_pb_string(b, 1, n->in[k]);
    for (int k = 0; k < n->out_at; k++) mn_pb_string(b, 2, "");
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
    mn_pb_varint(b, 2, t->is_int ? ONNX_INT64 : ONNX_FLOAT);
    mn_pb_string(b, 8, t->name);
    if (t->is_int) {
        unsigned char raw[8 * MAX_INIT_INTS];
        for (size_t k = 0; k < t->count; k++)
            for (int j = 0; j < 8; j++) raw[8 * k + j] = (unsigned char)((uint64_t)t->ints[k] >> (8 * j));
        mn_pb_bytes(b, 9, raw, 8 * t->count);  /* raw_data, little-endian */
    } else {
        mn_pb_floats_le(b, 9, t->data, t->count);
    }
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

/* The result renamed "output": its node's output, or an Identity when no
 * node wrote it (a net of nothing but dropout) or a later one read it. */
static mynn_status name_output(mn_onnx *g, const mn_ovalue *result)
{
    mn_onode *last = NULL;
    for (int i = g->n_nodes - 1; i >= 0 && !last; i--)
        if (strcmp(g->nodes[i].out, result->name) == 0) last = &g->nodes[i];
    for (int i = 0; last && i < g->n_nodes; i++)
        for (int k = 0; k < g->nodes[i].n_in; k++)
            if (strcmp(g->nodes[i].in[k], result->name) == 0) last = NULL;
    if (!last) {
        const char *in[1] = {result->name};
        if (!(last = mn_onnx_node(g, "Identity", "output", "identity", in, 1, NULL))) return MYNN_ERR_NOMEM;
    }
    copy_name(last->out, "output");
    return MYNN_OK;
}

mynn_status mn_onnx_write(mn_onnx *g, const char *path, const mn_ovalue *result, const int64_t *in_dims,
                          int n_in_dims, int64_t n_out, const char *const *meta, int n_meta)
{
    mynn_status s = name_output(g, result);
    if (s) return s;
    mn_pb b;
    mn_pb_init(&b);
    mn_pb_varint(&b, 1, ONNX_IR_VERSION);
    mn_pb_string(&b, 2, "mynn");
    mn_pb_string(&b, 3, MYNN_VERSION_STRING);
    size_t graph = mn_pb_begin(&b, 7);
    for (int i = 0; i < g->n_nodes; i++) put_node(&b, &g->nodes[i]);
    mn_pb_string(&b, 2, "mynn");
    for (int i = 0; i < g->n_inits; i++) put_init(&b, &g->inits[i]);
    put_value_info(&b, 11, "input", in_dims, n_in_dims);
    put_value_info(&b, 12, "output", &n_out, 1);
    mn_pb_end(&b, graph);
    size_t opset = mn_pb_begin(&b, 8);         /* OperatorSetIdProto, default domain */
    mn_pb_varint(&b, 2, ONNX_OPSET);
    mn_pb_end(&b, opset);
    for (int k = 0; k < n_meta; k++) put_meta(&b, meta[2 * k], meta[2 * k + 1]);
    if (b.failed) s = MYNN_ERR_NOMEM;
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
