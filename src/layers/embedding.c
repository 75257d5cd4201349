/* Embedding: spec item embedding:VOCAB:DIM; PyTorch's nn.Embedding, weight
 * [VOCAB, DIM].  It reads the network input: each of a sample's T values is
 * a token id (an integer stored as a float), and its output is the
 * sequence of T rows of the weight those ids pick ([T][DIM], time-major).
 *   forward   y[t] = W[id_t]
 *   backward  dW[v] = Σ over the positions t with id_t = v of dy[t]
 * The gradient touches only rows in use: the rows this batch reads are
 * cleared and summed into, and the rows the previous batch used and this
 * one does not are cleared (a flag per row, in the node's aux), so a step
 * costs the batch's rows, not VOCAB × DIM.  Ids are checked before a batch
 * runs (check_input: an error naming the sample, position and value); the
 * forward reads an id outside [0, VOCAB) as a zero vector, never out of
 * bounds. */
#include "layer.h"
#include "emit/cgen.h"
#include "kernels/kernels.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

static mynn_status emb_parse(mn_layer *l, const mn_item *it)
{
    if (it->n_pos != 2 || mn_item_int(it->pos[0], 1, MN_MAX_UNITS, &l->vocab) ||
        mn_item_int(it->pos[1], 1, MN_MAX_UNITS, &l->units))
        return mn_item_error(it, "expected embedding:VOCAB:DIM, as embedding:128:64 (each in 1..%d)", MN_MAX_UNITS);
    return mn_item_keys(it, NULL);
}

static void emb_print(const mn_layer *l, char *buf, size_t n) { snprintf(buf, n, "embedding:%d:%d", l->vocab, l->units); }

static void emb_describe(const mn_layer *l, char *buf, size_t n)
{
    snprintf(buf, n, "%d ids -> %d", l->vocab, l->units);
}

static mynn_status emb_shape(mn_layer *l, const mn_shape *in, int n_in)
{
    (void)n_in;
    if (l->vocab < 1 || l->units < 1 || (size_t)l->vocab * (size_t)l->units > MN_MAX_UNITS)
        return mn_layer_error(l, "a weight of %d × %d: each in 1.., at most %d values", l->vocab, l->units,
                              MN_MAX_UNITS);
    if (!in) {
        l->out_shape = (mn_shape){l->units, 1, 1, 1};
        return MYNN_OK;
    }
    if (l->src[0] != MN_NET_INPUT)
        return mn_layer_error(l, "reads token ids: its input must be the network input, not layer %d",
                              l->src[0] + 1);
    l->out_shape = (mn_shape){l->units, 1, 1, (int)mn_shape_size(in[0])};
    return MYNN_OK;
}

static int emb_tensors(const mn_layer *l, mn_tensor_desc d[MN_MAX_TENSORS])
{
    d[0] = (mn_tensor_desc){"weight", 2, {(size_t)l->vocab, (size_t)l->units, 0, 0},
                            (size_t)l->vocab * l->units, 0, 0};
    return 1;
}

/* PyTorch's initialisation: N(0, 1) (Box-Muller on the network's stream). */
static void emb_init(mn_layer *l, mynn_init init, mynn_rng *rng)
{
    (void)init;
    const size_t n = (size_t)l->vocab * l->units;
    for (size_t i = 0; i < n; i += 2) {
        double u1 = 1.0 - (double)mynn_rng_uniform(rng), u2 = mynn_rng_uniform(rng);
        double r = sqrt(-2.0 * log(u1)), a = 6.283185307179586 * u2;
        l->param[i] = (float)(r * cos(a));
        if (i + 1 < n) l->param[i + 1] = (float)(r * sin(a));
    }
}

/* One flag per row: its gradient row is not all zero. */
static size_t emb_aux(const mn_layer *l) { return (size_t)l->vocab; }

/* The row an id picks, or -1 when it is not an integer in [0, vocab). */
static long row_of(const mn_layer *l, float id)
{
    return id >= 0.0f && id < (float)l->vocab && id == floorf(id) ? (long)id : -1;
}

static mynn_status emb_check_input(const mn_layer *l, const float *x, int n, int first_sample)
{
    const int T = l->n_in;
    for (int b = 0; b < n; b++)
        for (int t = 0; t < T; t++)
            if (row_of(l, x[(size_t)b * T + t]) < 0)
                return mn_error(MYNN_ERR_ARG, "sample %d, position %d: token id %g is not an integer in "
                                "0..%d (layer %d: embedding:%d:%d)", first_sample + b + 1, t + 1,
                                (double)x[(size_t)b * T + t], l->vocab - 1, l->id + 1, l->vocab, l->units);
    return MYNN_OK;
}

/* x: [n × T] ids -> y: [n × T × DIM] */
static void emb_forward(mn_layer *l, const float *const *xs, float *y, int n, int training)
{
    (void)training;
    const float *x = xs[0];
    const size_t E = (size_t)l->units, rows = (size_t)n * l->n_in;
    MN_FOR_SHARE(rows, rows * E >= 16384 ? mn_threads() : 1, lo, hi, {
        for (size_t i = lo; i < hi; i++) {
            long v = row_of(l, x[i]);
            if (v >= 0) memcpy(y + i * E, l->param + (size_t)v * E, E * sizeof *y);
            else memset(y + i * E, 0, E * sizeof *y);
        }
    });
}

/* dy: [n × T × DIM] -> dW [VOCAB × DIM] (rows in use only; see the top).
 * Threads take blocks of columns, each summing the positions in order. */
static void emb_backward(mn_layer *l, const float *const *xs, const float *y, float *dy, int dy_is_dz,
                         float *const *dx, int n)
{
    (void)y, (void)dy_is_dz, (void)dx;
    const float *x = xs[0];
    const size_t E = (size_t)l->units, rows = (size_t)n * l->n_in, V = (size_t)l->vocab;
    float *used = l->aux, *dw = l->grad;
    MN_FOR_SHARE(E, 1, lo, hi, {
        for (size_t v = 0; v < V; v++)
            if (used[v] != 0.0f) memset(dw + v * E + lo, 0, (hi - lo) * sizeof *dw);
        for (size_t i = 0; i < rows; i++) {
            long v = row_of(l, x[i]);
            if (v >= 0 && used[v] == 0.0f) memset(dw + (size_t)v * E + lo, 0, (hi - lo) * sizeof *dw);
        }
        for (size_t i = 0; i < rows; i++) {
            long v = row_of(l, x[i]);
            if (v < 0) continue;
            float *g = dw + (size_t)v * E;
            const float *d = dy + i * E;
            for (size_t j = lo; j < hi; j++) g[j] += d[j];
        }
    });
    /* The flags after every thread's clearing: those of this batch's rows. */
    MN_TEAM_SOLO({
        memset(used, 0, V * sizeof *used);
        for (size_t i = 0; i < rows; i++) {
            long v = row_of(l, x[i]);
            if (v >= 0) used[v] = 1.0f;
        }
    });
}

/* ids [N, T] (the input flattened) Cast to int64, then Gather of the
 * weight's rows: [N, T, DIM].  The graph does not check the ids as
 * check_input does (Cast truncates, Gather reads a negative id from the
 * end): equal outputs for the ids mynn accepts. */
static mynn_status emb_onnx(mn_onnx *g, const mn_layer *l, const char *prefix, const mn_ovalue *in, int n_in,
                            mn_ovalue *out)
{
    (void)n_in;
    char t[MN_MAX_TENSORS][MN_ONNX_NAME];
    *out = in[0];
    if (mn_onnx_tensors(g, l, prefix, t) || mn_onnx_flatten(g, prefix, out)) return MYNN_ERR_NOMEM;
    const char *ins[2] = {out->name, NULL};
    mn_onode *cast = mn_onnx_node(g, "Cast", prefix, "ids", ins, 1, out);
    if (!cast) return MYNN_ERR_NOMEM;
    mn_onnx_attr_int(cast, "to", 7);   /* TensorProto INT64 */
    ins[0] = t[0], ins[1] = out->name;
    mn_onode *gather = mn_onnx_node(g, "Gather", prefix, "out", ins, 2, out);
    if (!gather) return MYNN_ERR_NOMEM;
    mn_onnx_attr_int(gather, "axis", 0);
    out->rank = 3;
    return MYNN_OK;
}

/* ---- standalone C ------------------------------------------------------- */

static const char emb_c_text[] =
    "/* y[t] = row x[t] of w [vocab x dim] for t < n; a zero row for an id that is\n"
    " * not an integer in [0, vocab) (the library refuses such an input) */\n"
    "static void embedding(const float *w, int vocab, int dim, const float *x, int n, float *y)\n"
    "{\n"
    "    int t, k;\n"
    "    for (t = 0; t < n; t++) {\n"
    "        float id = x[t];\n"
    "        int ok = id >= 0.0f && id < (float)vocab && id == floorf(id);\n"
    "        const float *row = w + (ok ? (long)id * dim : 0);\n"
    "        for (k = 0; k < dim; k++) y[(long)t * dim + k] = ok ? row[k] : 0.0f;\n"
    "    }\n"
    "}\n\n";

static mynn_status emb_c_data(mn_atomic *a, const mn_cnode *x, size_t *bytes)
{
    const mn_layer *l = x->l;
    *bytes = 4 * mn_layer_params(l);
    if (!a) return MYNN_OK;
    mn_atomic_printf(a, "/* layer %d: embedding of %d ids -> %d */\n", x->id, l->vocab, l->units);
    char name[48];
    snprintf(name, sizeof name, "l%d_w", x->id);
    return mn_cgen_floats(a, name, l->param, mn_layer_params(l));
}

/* Every id of the input, or the one id of a step of a stream. */
static mynn_status emb_c_code(mn_atomic *a, const mn_cnode *x, const char *const *src, int n_src, const char *dst)
{
    (void)n_src;
    const mn_layer *l = x->l;
    mn_atomic_printf(a, "    embedding(l%d_w, %d, %d, %s, %d, %s);\n", x->id, l->vocab, l->units, src[0],
                     x->step ? 1 : l->n_in, dst);
    return a->status;
}

/* A stream: one id per step, nothing kept between steps. */
static long emb_c_state(const mn_layer *l, char *why, size_t n)
{
    (void)l, (void)why, (void)n;
    return 0;
}

static const char *const emb_names[] = {"embedding", NULL};

const mn_kind mn_embedding_kind = {
    .id = MYNN_LAYER_EMBEDDING, .name = "embedding", .spec_names = emb_names, .max_inputs = 1,
    .parse = emb_parse, .print = emb_print, .describe = emb_describe, .shape = emb_shape,
    .tensors = emb_tensors, .init = emb_init, .aux_size = emb_aux, .check_input = emb_check_input,
    .forward = emb_forward, .backward = emb_backward, .onnx = emb_onnx, .q_role = MN_Q_REFUSE,
    .c_text = emb_c_text, .c_text_bytes = 80, .c_data = emb_c_data, .c_code = emb_c_code,
    .c_state = emb_c_state,
};
