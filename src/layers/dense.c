/* Fully connected layer: Y = f(W·X + B) for a batch of row vectors.
 * With samples as rows, the seed's column-vector equations become
 *   forward   Z = X·Wᵀ + B,  Y = f(Z)
 *   backward  dZ = f'(Z) ⊙ dY,  dW = dZᵀ·X,  dB = Σ_rows dZ,  dX = dZ·W
 * which is the seed's dC/dW = dC/dz · Xᵀ and dC/dX = Wᵀ · dC/dz, one
 * sample per row.  Spec item UNITS[:ACT]; PyTorch's nn.Linear: weight
 * [out, in], bias [out].  A spatial input is read flattened (channel-major,
 * nn.Flatten's order). */
#include "layer.h"
#include "activations/activation.h"
#include "emit/cgen.h"
#include "kernels/kernels.h"
#include "kernels/qgemm.h"

#include <stdio.h>
#include <stdlib.h>

/* On a sequence (T steps of F) the layer applies to every step, as
 * nn.Linear on [N, T, F]: weight [out, F], T rows per sample. */
static int n_in1(const mn_layer *l) { return l->n_in / mn_layer_steps(l); }    /* per step */
static int n_out1(const mn_layer *l) { return l->n_out / mn_layer_steps(l); }

/* ---- description ---------------------------------------------------------- */

/* UNITS[:ACT]: the registry sends every item that starts with a number here. */
static mynn_status dense_parse(mn_layer *l, const mn_item *it)
{
    if (mn_item_int(it->kind, 1, MN_MAX_UNITS, &l->units))
        return mn_error(MYNN_ERR_ARG, "layer %d: \"%s\" is not a unit count in 1..%d (as 128:relu)",
                        it->index, it->kind, MN_MAX_UNITS);
    if (it->n_pos > 1 || it->n_keys)
        return mn_error(MYNN_ERR_ARG, "layer %d: expected UNITS[:ACTIVATION], as 128:relu", it->index);
    l->act = MYNN_ACT_IDENTITY;
    if (it->n_pos == 1 && mynn_activation_from_name(it->pos[0], &l->act) != MYNN_OK)
        return mn_error(MYNN_ERR_ARG, "layer %d: unknown activation \"%s\" (identity, sigmoid, tanh, relu, "
                        "leaky_relu, gelu, softmax)", it->index, it->pos[0]);
    return MYNN_OK;
}

static void dense_print(const mn_layer *l, char *buf, size_t n)
{
    snprintf(buf, n, "%d:%s", l->units, mynn_activation_name(l->act));
}

static void dense_describe(const mn_layer *l, char *buf, size_t n)
{
    snprintf(buf, n, "%s", mynn_activation_name(l->act));
}

static mynn_status dense_shape(mn_layer *l, const mn_shape *in, int n_in)
{
    (void)in;
    (void)n_in;
    if (l->units < 1 || l->units > MN_MAX_UNITS)
        return mn_error(MYNN_ERR_ARG, "dense layer: units must be in 1..%d, got %d", MN_MAX_UNITS, l->units);
    if ((unsigned)l->act >= MYNN_ACT_COUNT)
        return mn_error(MYNN_ERR_ARG, "dense layer: unknown activation %d", (int)l->act);
    l->out_shape = (mn_shape){l->units, 1, 1, in ? in[0].t : 0};
    return MYNN_OK;
}

/* ---- parameters --------------------------------------------------------------- */

static int dense_tensors(const mn_layer *l, mn_tensor_desc d[MN_MAX_TENSORS])
{
    const size_t I = (size_t)n_in1(l), O = (size_t)n_out1(l);
    d[0] = (mn_tensor_desc){"weight", 2, {O, I, 0, 0}, O * I, 0, 0};
    d[1] = mn_vec_desc("bias", O, d[0].count, 0);
    return 2;
}

/* The cache holds Z from forward; backward overwrites it with dZ. */
static size_t dense_cache(const mn_layer *l) { return (size_t)l->n_out; }

static void dense_init(mn_layer *l, mynn_init init, mynn_rng *rng)
{
    const int I = n_in1(l), O = n_out1(l);
    size_t nw = (size_t)O * I;
    mn_init_weights(l->param, nw, l->param + nw, (size_t)O, init, l->act, (double)I, (double)O, rng);
}

/* ---- compute ------------------------------------------------------------------ */

/* x: [n × in], W: [out × in], B: [out] -> Z (cache), Y: [n × out].
 * ReLU, leaky ReLU and identity run as the GEMM's epilogue, on each tile
 * while it is in L1 (the same operations, so the same bits as the separate
 * pass); inference skips Z, which only backward and the fused losses
 * (softmax, sigmoid: not fused here) read. */
static void dense_forward(mn_layer *l, const float *const *xs, float *y, int n, int training)
{
    const int I = n_in1(l), O = n_out1(l);
    const float *x = xs[0], *w = l->param, *b = l->param + (size_t)O * I;
    n *= mn_layer_steps(l);
    float *z = l->cache;
    mn_epilogue ep = {b, MN_EPI_NONE, MN_LEAKY_SLOPE, y, O};
    if (l->act == MYNN_ACT_RELU) ep.act = MN_EPI_RELU;
    else if (l->act == MYNN_ACT_LEAKY_RELU) ep.act = MN_EPI_LEAKY;
    else if (l->act != MYNN_ACT_IDENTITY) {
        mn_sgemm(0, 1, n, O, I, 1.0f, x, I, w, I, 0.0f, z, O);
        mn_act_forward_bias(l->act, z, b, y, n, O);
        return;
    }
    if (!training) { /* Y only */
        z = y;
        ep.y = NULL;
    }
    mn_sgemm_epi(0, 1, n, O, I, 1.0f, x, I, w, I, 0.0f, z, O, &ep);
}

/* x: [n × in], dY: [n × out] -> dW: [out × in], dB: [out], dX: [n × in] */
static void dense_backward(mn_layer *l, const float *const *xs, const float *y, float *dy, int dy_is_dz,
                           float *const *dxs, int n)
{
    const int I = n_in1(l), O = n_out1(l);
    size_t nw = (size_t)O * I;
    n *= mn_layer_steps(l);
    const float *x = xs[0], *w = l->param;
    float *dw = l->grad, *db = l->grad + nw, *dz = dy, *dx = dxs[0];
    if (dy_is_dz) {
        mn_sum_rows(db, dz, n, O, 0);
    } else {
        dz = l->cache; /* Z is no longer needed once dZ is known */
        mn_act_backward_bias(l->act, l->cache, y, dy, dz, db, n, O);
    }
    mn_sgemm(1, 0, O, I, n, 1.0f, dz, O, x, I, 0.0f, dw, I);
    if (dx)
        mn_sgemm(0, 0, n, I, O, 1.0f, dz, O, w, I, 0.0f, dx, I);
}

/* Backward fused with the optimizer step.  One sample: dZ = f'(Z) ⊙ dY,
 * then one pass over W (mn_k_dense_update) gives dX from W before the step
 * and applies the step for dW = dZᵀ·X, dB = dZ without forming them.  More
 * samples: backward, then the step over the node's slice (dW is a real
 * GEMM there).  x: [n × in], dY: [n × out] -> dX: [n × in]; W, B stepped by u */
static void dense_backward_update(mn_layer *l, const float *x, const float *y, float *dy, int dy_is_dz,
                                  float *dx, int n, const mn_update *u, size_t off)
{
    if (n * mn_layer_steps(l) != 1) {
        float *dxs[1] = {dx};
        dense_backward(l, &x, y, dy, dy_is_dz, dxs, n);
        mn_k_update(u, l->param, l->grad, off, mn_layer_params(l));
        return;
    }
    float *dz = dy;
    if (!dy_is_dz) {
        dz = l->cache; /* Z is no longer needed once dZ is known */
        mn_act_backward(l->act, l->cache, y, dy, dz, 1, l->n_out);
    }
    float *w = l->param, *b = l->param + (size_t)l->n_out * l->n_in;
    /* dx as backward computes it (from W before the step) where the fused
     * pass would round its sums differently: the fused step then equals
     * the unfused one for the whole network, not only for this node. */
    if (dx && !mn_k_dense_update_dx_exact(l->n_out, l->n_in)) {
        mn_sgemm(0, 0, 1, l->n_in, l->n_out, 1.0f, dz, l->n_out, w, l->n_in, 0.0f, dx, l->n_in);
        dx = NULL;
    }
    mn_k_dense_update(u, w, b, x, dz, dx, l->n_out, l->n_in, off);
}

/* ---- ONNX ------------------------------------------------------------------ */

/* x: [N, in] -> Gemm(x, W [out, in], B [out]; transB=1): [N, out] -> f. */
/* On a sequence [N, T, F]: MatMul with the weight transposed (Gemm takes
 * two dimensions only; the Transpose of a constant keeps the model file's
 * tensor as it is), Add the bias, then the activation on each step. */
static mynn_status dense_onnx_steps(mn_onnx *g, const mn_layer *l, const char *prefix, const mn_ovalue *in,
                                    mn_ovalue *out)
{
    char t[MN_MAX_TENSORS][MN_ONNX_NAME];
    *out = in[0];
    if (mn_onnx_tensors(g, l, prefix, t) || mn_onnx_steps(g, l, prefix, out)) return MYNN_ERR_NOMEM;
    static const int64_t swap[2] = {1, 0};
    mn_ovalue wt = {"", 2};
    snprintf(wt.name, sizeof wt.name, "%s", t[0]);
    if (mn_onnx_transpose(g, prefix, "weight_t", &wt, swap)) return MYNN_ERR_NOMEM;
    const char *ins[2] = {out->name, wt.name};
    if (!mn_onnx_node(g, "MatMul", prefix, "matmul", ins, 2, out)) return MYNN_ERR_NOMEM;
    ins[0] = out->name, ins[1] = t[1];
    if (!mn_onnx_node(g, "Add", prefix, l->act == MYNN_ACT_IDENTITY ? "out" : "sum", ins, 2, out))
        return MYNN_ERR_NOMEM;
    return mn_onnx_step_activation(g, l->act, prefix, out);
}

static mynn_status dense_onnx(mn_onnx *g, const mn_layer *l, const char *prefix, const mn_ovalue *in,
                              int n_in, mn_ovalue *out)
{
    (void)n_in;
    if (l->in_shape.t) return dense_onnx_steps(g, l, prefix, in, out);
    char t[MN_MAX_TENSORS][MN_ONNX_NAME];
    *out = in[0];
    if (mn_onnx_tensors(g, l, prefix, t) || mn_onnx_flatten(g, prefix, out)) return MYNN_ERR_NOMEM;
    const char *ins[3] = {out->name, t[0], t[1]};
    mn_onode *node = mn_onnx_node(g, "Gemm", prefix, l->act == MYNN_ACT_IDENTITY ? "out" : "gemm", ins, 3, out);
    if (!node) return MYNN_ERR_NOMEM;
    mn_onnx_attr_int(node, "transB", 1);
    return mn_onnx_activation(g, l->act, prefix, out);
}

/* ---- standalone C ----------------------------------------------------------------- */

static const char dense_c_text[] =
    "/* y[o] = sum_k w[o][k] x[k] + b[o]; w: [n_out x n_in] */\n"
    "static void dense(const float *w, const float *b, const float *x, float *y, int n_in,\n"
    "                  int n_out)\n"
    "{\n"
    "    int o, k;\n"
    "    for (o = 0; o < n_out; o++) {\n"
    "        const float *wr = w + (long)o * n_in;\n"
    "        float acc = 0.0f;\n"
    "        for (k = 0; k < n_in; k++) acc += wr[k] * x[k];\n"
    "        y[o] = acc + b[o];\n"
    "    }\n"
    "}\n\n";

/* Weight [n_out × n_in] row-major as in the model, then bias [n_out]
 * (folded with the batch norm after it, when there is one). */
static mynn_status dense_c_data(mn_atomic *a, const mn_cnode *x, size_t *bytes)
{
    const mn_layer *l = x->l;
    *bytes = 4 * mn_layer_params(l);
    if (!a) return MYNN_OK;
    mn_atomic_printf(a, "/* layer %d: dense %d -> %d", x->id, n_in1(l), n_out1(l));
    if (l->in_shape.t) mn_atomic_printf(a, " on each of %d steps", l->in_shape.t);
    mn_atomic_printf(a, ", %s%s */\n", mynn_activation_name(l->act),
                     x->bn ? "; the batch norm after it folded in" : "");
    return mn_c_weights(a, x->id, l, x->bn);
}

/* One call per step on a sequence ([T][in] -> [T][out]); one step of a
 * stream is one call. */
static mynn_status dense_c_code(mn_atomic *a, const mn_cnode *x, const char *const *src, int n_src,
                                const char *dst)
{
    (void)n_src;
    const mn_layer *l = x->l;
    const int I = n_in1(l), O = n_out1(l), T = x->step ? 1 : mn_layer_steps(l);
    if (T == 1) {
        mn_atomic_printf(a, "    dense(l%d_w, l%d_b, %s, %s, %d, %d);\n", x->id, x->id, src[0], dst, I, O);
        return mn_cgen_act_call(a, l->act, dst, O);
    }
    mn_atomic_printf(a, "    for (j = 0; j < %d; j++)\n"
                        "        dense(l%d_w, l%d_b, %s + (long)j * %d, %s + (long)j * %d, %d, %d);\n",
                     T, x->id, x->id, src[0], I, dst, O, I, O);
    return mn_cgen_act_steps(a, l->act, dst, T, O);
}

/* ---- int8 ------------------------------------------------------------------------ */

static void dense_q_shape(const mn_layer *l, mn_qweights *q)
{
    q->n_in = l->n_in;
    q->n_out = l->n_out;
    q->positions = 1;
    q->image = 0;
}

/*   q   = mn_q8(x / in_scale) + 128         x: [c × in] -> q: [c × kpad(in)] uint8
 *   acc = sum_k (q - 128) · w               int32 [c × out] (mn_qgemm)
 *   z   = acc · (in_scale · w_scale[o]) + b[o],  y = f(z)   float [c × out] */
static void dense_qforward(const mn_layer *l, const mn_qweights *q, const mn_qscratch *s, const float *x,
                           const float *shift, const float *scale, int c, float *z, float *y)
{
    int kp = mn_qgemm_kpad(q->n_in);
    mn_quantize_rows_serial(x, shift, scale, c, q->n_in, q->in_inv, s->rows, kp);
    mn_qgemm_serial(c, q->n_out, q->n_in, s->rows, kp, q->wp, q->corr, s->acc, q->n_out);
    for (int r = 0; r < c; r++) {
        const int32_t *ar = s->acc + (size_t)r * q->n_out;
        float *zr = z + (size_t)r * q->n_out;
        for (int o = 0; o < q->n_out; o++) zr[o] = (float)ar[o] * q->mult[o] + q->bias[o];
    }
    mn_act_forward(l->act, z, y, c, q->n_out);
}

static const char dense_qc_text[] =
    "/* q = q8(x' * inv) with x' = x, or (x - shift) * scale when shift is given;\n"
    " * y[o] = (sum_k q[k] w[o][k]) * mult[o] + b[o]; w: [n_out x n_in] */\n"
    "static void qdense(const signed char *w, const float *mult, const float *b, float inv,\n"
    "                   const float *x, const float *shift, const float *scale, signed char *q,\n"
    "                   float *y, int n_in, int n_out)\n"
    "{\n"
    "    int o, k;\n"
    "    for (k = 0; k < n_in; k++) {\n"
    "        float v = shift ? (x[k] - shift[k]) * scale[k] : x[k];\n"
    "        q[k] = (signed char)q8(v * inv);\n"
    "    }\n"
    "    for (o = 0; o < n_out; o++) {\n"
    "        const signed char *wr = w + (long)o * n_in;\n"
    "        long acc = 0;\n"
    "        for (k = 0; k < n_in; k++) acc += (long)q[k] * wr[k];\n"
    "        y[o] = (float)acc * mult[o] + b[o];\n"
    "    }\n"
    "}\n\n";

static mynn_status dense_qc_data(mn_atomic *a, const mn_cnode *x, size_t *bytes)
{
    const mn_qweights *q = x->q;
    *bytes = (size_t)q->n_out * q->n_in + 8 * (size_t)q->n_out + 4;
    if (!a) return MYNN_OK;
    char lit[MN_CGEN_FLOAT_BUFSZ];
    mn_cgen_hexf(lit, sizeof lit, q->in_inv);
    mn_atomic_printf(a, "/* layer %d: dense %d -> %d, %s; input scale 1/inv */\n"
                        "static const float l%d_inv = %s;\n", x->id, q->n_in, q->n_out,
                     mynn_activation_name(x->l->act), x->id, lit);
    return mn_c_qweights(a, x->id, q);
}

static mynn_status dense_qc_code(mn_atomic *a, const mn_cnode *x, const char *const *src, int n_src,
                                 const char *dst, const char *shift, const char *scale)
{
    (void)n_src;
    const mn_qweights *q = x->q;
    mn_atomic_printf(a, "    qdense(l%d_w, l%d_mult, l%d_b, l%d_inv, %s, %s, %s, q, %s, %d, %d);\n", x->id, x->id,
                     x->id, x->id, src[0], shift, scale, dst, q->n_in, q->n_out);
    return mn_cgen_act_call(a, x->l->act, dst, q->n_out);
}

const mn_kind mn_dense_kind = {
    .id = MYNN_LAYER_DENSE, .name = "dense", .numeric_item = 1, .max_inputs = 1, .reads_seq = 1,
    .parse = dense_parse, .print = dense_print, .describe = dense_describe, .shape = dense_shape,
    .tensors = dense_tensors, .init = dense_init, .cache_per_sample = dense_cache, .folds_bn = 1,
    .forward = dense_forward, .backward = dense_backward, .backward_update = dense_backward_update,
    .onnx = dense_onnx,
    .c_text = dense_c_text, .c_text_bytes = 60, .c_data = dense_c_data, .c_code = dense_c_code,
    .q_role = MN_Q_WEIGHTS, .q_shape = dense_q_shape, .qforward = dense_qforward,
    .qc_text = dense_qc_text, .qc_text_bytes = 120, .qc_data = dense_qc_data, .qc_code = dense_qc_code,
};
