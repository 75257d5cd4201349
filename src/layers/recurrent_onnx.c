/* The recurrent kinds in ONNX (recurrent.h): one LSTM, GRU or RNN operator
 * of opset 13 (their version 7, which has no layout attribute: X is
 * [T, N, F], so the input is transposed in and the output back).
 *
 *   X = Transpose(input as [N, T, F], or [N, C, L] read as L steps of C)
 *   Y, Y_h = OP(X, W, R, B)            Y [T, D, N, H], Y_h [D, N, H]
 *   :seq  Transpose(Y) [N, T, D, H], Reshape [N, T, D·H]   (PyTorch's output)
 *   last  Transpose(Y_h) [N, D, H], Flatten [N, D·H]       (PyTorch's h_n)
 *
 * The operators order the gate blocks differently from PyTorch (LSTM
 * i o f c for PyTorch's i f g o; GRU z r h for r z n), and take each
 * direction's weights stacked: W [D, G·H, F], R [D, G·H, H], B [D, 2·G·H]
 * (the input biases, then the recurrent ones).  So W, R and B are copies
 * reordered here ("<prefix>.W", .R, .B), not the model file's tensors. */
#include "recurrent.h"

#include <stdio.h>
#include <string.h>

/* dst [G·H × cols] <- src's blocks of H rows in the order given. */
static void reorder(float *dst, const float *src, const mn_rec_onnx_form *f, size_t H, size_t cols)
{
    const size_t block = H * cols;
    for (int k = 0; k < f->gates; k++) memcpy(dst + k * block, src + (size_t)f->order[k] * block, block * sizeof *dst);
}

/* W, R and B of both directions as initializers; names[] receives them. */
static mynn_status rec_weights(mn_onnx *g, const mn_layer *l, const char *prefix, const mn_rec_onnx_form *f,
                               char names[3][MN_ONNX_NAME])
{
    mn_tensor_desc d[MN_MAX_TENSORS];
    const int nd = mn_layer_tensors(l, d), D = nd / 4;   /* per direction: W_ih, W_hh, b_ih, b_hh */
    const size_t GH = d[0].dims[0], F = d[0].dims[1], H = GH / (size_t)f->gates;
    const int64_t dims[3][3] = {{D, (int64_t)GH, (int64_t)F}, {D, (int64_t)GH, (int64_t)H}, {D, 2 * (int64_t)GH}};
    const size_t count[3] = {GH * F, GH * H, 2 * GH};   /* per direction */
    static const char *const suffix[3] = {"W", "R", "B"};
    float *t[3];
    for (int k = 0; k < 3; k++) {
        snprintf(names[k], MN_ONNX_NAME, "%s.%s", prefix, suffix[k]);
        if (!(t[k] = mn_onnx_init_new(g, names[k], count[k] * D, k == 2 ? 2 : 3, dims[k]))) return MYNN_ERR_NOMEM;
    }
    for (int dir = 0; dir < D; dir++) {
        const mn_tensor_desc *x = &d[4 * dir];
        reorder(t[0] + dir * count[0], l->param + x[0].offset, f, H, F);
        reorder(t[1] + dir * count[1], l->param + x[1].offset, f, H, H);
        reorder(t[2] + dir * count[2], l->param + x[2].offset, f, H, 1);
        reorder(t[2] + dir * count[2] + GH, l->param + x[3].offset, f, H, 1);
    }
    return MYNN_OK;
}

/* The input as X [T, N, F]. */
static mynn_status rec_input(mn_onnx *g, const mn_layer *l, const char *prefix, const mn_ovalue *in, mn_ovalue *x)
{
    static const int64_t steps_first[3] = {1, 0, 2}, channel_major[3] = {2, 0, 1};
    int T, F;
    const int tr = mn_rec_geometry(l, &T, &F);
    *x = *in;
    /* The network input flat or C × H × W, or a vector: to [N, T, F] or [N, C, L]. */
    const int64_t d[2] = {tr ? F : T, tr ? T : F};
    if (x->rank != 3 && mn_onnx_reshape(g, prefix, "steps", x, d, 2)) return MYNN_ERR_NOMEM;
    return mn_onnx_transpose(g, prefix, "x", x, tr ? channel_major : steps_first);
}

/* Y [T, D, N, H] -> [N, T, D·H], or Y_h [D, N, H] -> [N, D·H]. */
static mynn_status rec_output(mn_onnx *g, const mn_layer *l, const char *prefix, mn_ovalue *v)
{
    static const int64_t batch_first4[4] = {2, 0, 1, 3}, batch_first3[3] = {1, 0, 2};
    if (!l->every_step) {
        if (mn_onnx_transpose(g, prefix, "h_n", v, batch_first3)) return MYNN_ERR_NOMEM;
        return mn_onnx_flatten(g, prefix, v);
    }
    int T, F;
    mn_rec_geometry(l, &T, &F);
    const int64_t d[2] = {T, (int64_t)l->out_shape.c};
    if (mn_onnx_transpose(g, prefix, "y_t", v, batch_first4)) return MYNN_ERR_NOMEM;
    return mn_onnx_reshape(g, prefix, "out", v, d, 2);
}

mynn_status mn_rec_onnx(mn_onnx *g, const mn_layer *l, const char *prefix, const mn_ovalue *in, int n_in,
                        mn_ovalue *out)
{
    (void)n_in;
    const mn_rec_onnx_form *f = &l->kind->cell->onnx;
    char w[3][MN_ONNX_NAME];
    mn_ovalue x;
    mynn_status s = rec_weights(g, l, prefix, f, w);
    if (!s) s = rec_input(g, l, prefix, in, &x);
    if (s) return s;
    const char *ins[4] = {x.name, w[0], w[1], w[2]};
    mn_onode *n = mn_onnx_node(g, f->op, prefix, l->every_step ? "y" : "y_h", ins, 4, out);
    if (!n) return MYNN_ERR_NOMEM;
    out->rank = l->every_step ? 4 : 3;
    if (!l->every_step) mn_onnx_output_at(n, 1);   /* Y_h; Y not wanted */
    mn_onnx_attr_int(n, "hidden_size", l->units);
    if (l->bidir) mn_onnx_attr_string(n, "direction", "bidirectional");
    if (f->linear_before_reset) mn_onnx_attr_int(n, "linear_before_reset", 1);
    if (f->act_attr) {   /* one activation per direction */
        const char *act = l->act == MYNN_ACT_RELU ? "Relu" : "Tanh";
        const char *acts[2] = {act, act};
        mn_onnx_attr_strings(n, "activations", acts, l->bidir ? 2 : 1);
    }
    return rec_output(g, l, prefix, out);
}
