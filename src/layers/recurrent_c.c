/* The recurrent kinds as standalone C (recurrent.h; io/export_c.c writes
 * the file).  Each kind's text holds three static functions named after
 * it (a model with an LSTM and a GRU gets both sets, none defined twice):
 *   X_row   one row of a product: (sum_f w[f] x[f * xs]) + b, summed from
 *           0.0f in f's order as the library's reference GEMM does
 *   X_cell  one step of one direction: the state (h, and c for an LSTM)
 *           updated in place from one step's input
 *   X_seq   T steps from the zero state, forwards or backwards, copying
 *           each step's h to the output (or to one place: the last step)
 * and the node's statements call X_seq once per direction in a
 * prediction, X_cell once in a step of a stream (NAME_step), where the
 * state is the caller's.  The input is read where it lies: T × F
 * row-major (the network input, a sequence) or C × L channel-major (a 1-D
 * layer's output, L steps of C), by its strides, so nothing is copied.
 *
 * The float operations are the library's (recurrent.c and the cells) in
 * the same order, with -ffp-contract=off: the pre-activation from the
 * input P = (x·w_ih) + b_ih, the recurrent part R = h·w_hh (zero at the
 * first step, which h = 0 gives exactly), then LSTM and RNN (P + R) +
 * b_hh, GRU P + (R + b_hh), the gates with libm's expf and tanhf.  The
 * library's cells compute e^x by their own vectorisable polynomial
 * (recurrent.h), so a prediction agrees with mynn_predict to about 1e-7,
 * not bit for bit; a stream's steps (NAME_step) equal NAME_predict bit for
 * bit. */
#include "recurrent.h"
#include "emit/cgen.h"

#include <stdio.h>

/* State vectors a cell keeps per direction: h, and c for an LSTM. */
static int c_states(const mn_layer *l) { return l->kind->cell->has_c ? 2 : 1; }

#define C_ROW(k)                                                                               \
    "/* (sum_f w[f] x[f * xs]) + b, summed from 0 in f's order */\n"                             \
    "static float " k "_row(const float *w, const float *x, long xs, int n, float b)\n"         \
    "{\n"                                                                                      \
    "    float acc = 0.0f;\n"                                                                  \
    "    int f;\n"                                                                             \
    "    for (f = 0; f < n; f++) acc += w[f] * x[f * xs];\n"                                   \
    "    return acc + b;\n"                                                                    \
    "}\n\n"

/* The walk through time; decl and arg: the RNN's extra parameter. */
#define C_SEQ(k, states, decl, arg)                                                            \
    "/* T steps from the zero state over x (step t at x + t * ts, its feature f\n"              \
    " * at [f * xs]), from the last step to the first when rev; st: the state\n"               \
    " * (" states "), a: nh floats of scratch.  After step t, h goes to y + t * ys\n"          \
    " * (ys 0: y ends as the final state). */\n"                                               \
    "static void " k "_seq(const float *w, const float *x, long ts, long xs, int T, int nx,\n"  \
    "                     int rev, float *st, float *a, int nh, float *y, long ys" decl ")\n"  \
    "{\n"                                                                                      \
    "    int s, t, j;\n"                                                                       \
    "    for (j = 0; j < " k "_STATES * nh; j++) st[j] = 0.0f;\n"                              \
    "    for (s = 0; s < T; s++) {\n"                                                          \
    "        t = rev ? T - 1 - s : s;\n"                                                       \
    "        " k "_cell(w, x + t * ts, xs, nx, st, a, nh" arg ");\n"                           \
    "        for (j = 0; j < nh; j++) y[t * ys + j] = st[j];\n"                                \
    "    }\n"                                                                                  \
    "}\n\n"

#define C_SIGMOID(v) "1.0f / (1.0f + expf(-" v "))"

const char mn_ctext_lstm[] =
    "#define lstm_STATES 2\n\n" C_ROW("lstm")
    "/* One LSTM step (PyTorch's gates i, f, g, o): the input x[f * xs] (f < nx),\n"
    " * the state st = h [nh] then c [nh], updated; a: nh floats of scratch.\n"
    " * w: weight_ih [4nh x nx], weight_hh [4nh x nh], bias_ih, bias_hh [4nh]. */\n"
    "static void lstm_cell(const float *w, const float *x, long xs, int nx, float *st,\n"
    "                      float *a, int nh)\n"
    "{\n"
    "    const float *wh = w + 4L * nh * nx, *bi = wh + 4L * nh * nh, *bh = bi + 4 * nh;\n"
    "    float *h = st, *c = st + nh, v[4];\n"
    "    int j, q;\n"
    "    for (j = 0; j < nh; j++) {\n"
    "        for (q = 0; q < 4; q++) {\n"
    "            int r = q * nh + j;\n"
    "            v[q] = lstm_row(w + (long)r * nx, x, xs, nx, bi[r]) +\n"
    "                   lstm_row(wh + (long)r * nh, h, 1, nh, 0.0f) + bh[r];\n"
    "        }\n"
    "        v[0] = " C_SIGMOID("v[0]") ";\n"
    "        v[1] = " C_SIGMOID("v[1]") ";\n"
    "        v[2] = tanhf(v[2]);\n"
    "        v[3] = " C_SIGMOID("v[3]") ";\n"
    "        c[j] = v[1] * c[j] + v[0] * v[2];\n"
    "        a[j] = v[3] * tanhf(c[j]);   /* h waits: the other units read the old one */\n"
    "    }\n"
    "    for (j = 0; j < nh; j++) h[j] = a[j];\n"
    "}\n\n" C_SEQ("lstm", "h then c", "", "");

const char mn_ctext_gru[] =
    "#define gru_STATES 1\n\n" C_ROW("gru")
    "/* One GRU step (PyTorch's gates r, z, n; n = tanh(P_n + r (W_hn h + b_hn))):\n"
    " * the input x[f * xs] (f < nx), the state st = h [nh], updated; a: nh floats\n"
    " * of scratch.  w: weight_ih [3nh x nx], weight_hh [3nh x nh], bias_ih,\n"
    " * bias_hh [3nh]. */\n"
    "static void gru_cell(const float *w, const float *x, long xs, int nx, float *st,\n"
    "                     float *a, int nh)\n"
    "{\n"
    "    const float *wh = w + 3L * nh * nx, *bi = wh + 3L * nh * nh, *bh = bi + 3 * nh;\n"
    "    float v[3], r[3];\n"
    "    int j, q;\n"
    "    for (j = 0; j < nh; j++) {\n"
    "        for (q = 0; q < 3; q++) {\n"
    "            int k = q * nh + j;\n"
    "            v[q] = gru_row(w + (long)k * nx, x, xs, nx, bi[k]);\n"
    "            r[q] = gru_row(wh + (long)k * nh, st, 1, nh, bh[k]);\n"
    "        }\n"
    "        v[0] = " C_SIGMOID("(v[0] + r[0])") ";\n"
    "        v[1] = " C_SIGMOID("(v[1] + r[1])") ";\n"
    "        v[2] = tanhf(v[2] + v[0] * r[2]);\n"
    "        a[j] = (1.0f - v[1]) * v[2] + v[1] * st[j];   /* h waits, as in lstm_cell */\n"
    "    }\n"
    "    for (j = 0; j < nh; j++) st[j] = a[j];\n"
    "}\n\n" C_SEQ("gru", "h", "", "");

const char mn_ctext_rnn[] =
    "#define rnn_STATES 1\n\n" C_ROW("rnn")
    "/* One Elman RNN step, h = f(W_ih x + b_ih + W_hh h + b_hh) with f relu when\n"
    " * relu, else tanh: the input x[f * xs] (f < nx), the state st = h [nh],\n"
    " * updated; a: nh floats of scratch.  w: weight_ih [nh x nx], weight_hh\n"
    " * [nh x nh], bias_ih, bias_hh [nh]. */\n"
    "static void rnn_cell(const float *w, const float *x, long xs, int nx, float *st,\n"
    "                     float *a, int nh, int relu)\n"
    "{\n"
    "    const float *wh = w + (long)nh * nx, *bi = wh + (long)nh * nh, *bh = bi + nh;\n"
    "    int j;\n"
    "    for (j = 0; j < nh; j++) {\n"
    "        float v = rnn_row(w + (long)j * nx, x, xs, nx, bi[j]) +\n"
    "                  rnn_row(wh + (long)j * nh, st, 1, nh, 0.0f) + bh[j];\n"
    "        a[j] = relu ? (v > 0.0f ? v : 0.0f) : tanhf(v);\n"
    "    }\n"
    "    for (j = 0; j < nh; j++) st[j] = a[j];\n"
    "}\n\n" C_SEQ("rnn", "h", ", int relu", ", relu");

/* A direction's floats in the node's parameters (recurrent.c's order). */
static size_t dir_floats(const mn_layer *l) { return mn_layer_params(l) / (l->bidir ? 2 : 1); }

size_t mn_rec_c_work(const mn_layer *l) { return (size_t)(c_states(l) + 1) * l->units; }

long mn_rec_c_state(const mn_layer *l, char *why, size_t n)
{
    if (l->bidir) {
        snprintf(why, n, "layer %d (%s) is bidirectional: its reverse direction starts at the last step",
                 l->id, l->kind->name);
        return -1;
    }
    return (long)c_states(l) * l->units;
}

/* Every parameter, both directions, as l<id>_w. */
mynn_status mn_rec_c_data(mn_atomic *a, const mn_cnode *x, size_t *bytes)
{
    const mn_layer *l = x->l;
    *bytes = 4 * mn_layer_params(l);
    if (!a) return MYNN_OK;
    int T, F;
    int tr = mn_rec_geometry(l, &T, &F);
    mn_atomic_printf(a, "/* layer %d: %s%s, %d steps of %d%s -> %d%s, %s; weight_ih, weight_hh, bias_ih, "
                        "bias_hh%s */\n", x->id, l->kind->name, l->bidir ? " (bidirectional)" : "", T, F,
                     tr ? " (channel-major)" : "", l->units, l->bidir ? " per direction" : "",
                     l->every_step ? "every step" : "the last step", l->bidir ? ", then the reverse's" : "");
    char name[48];
    snprintf(name, sizeof name, "l%d_w", x->id);
    return mn_cgen_floats(a, name, l->param, mn_layer_params(l));
}

/* A cell with has_act (the RNN) takes its non-linearity last: relu or tanh. */
static const char *rnn_arg(const mn_layer *l)
{
    if (!l->kind->cell->has_act) return "";
    return l->act == MYNN_ACT_RELU ? ", 1" : ", 0";
}

/* A prediction: X_seq per direction over the whole input. */
static mynn_status code_seq(mn_atomic *a, const mn_cnode *x, const char *src, const char *dst)
{
    const mn_layer *l = x->l;
    int T, F;
    int tr = mn_rec_geometry(l, &T, &F);
    const int H = l->units, D = l->bidir ? 2 : 1, S = c_states(l);
    const long ts = tr ? 1 : F, xs = tr ? T : 1, ys = l->every_step ? (long)D * H : 0;
    for (int d = 0; d < D; d++) {   /* the reverse direction: its weights, output after the forward's */
        char w[48], y[64];
        if (d) snprintf(w, sizeof w, "l%d_w + %zu", x->id, dir_floats(l)), snprintf(y, sizeof y, "%s + %d", dst, H);
        else snprintf(w, sizeof w, "l%d_w", x->id), snprintf(y, sizeof y, "%s", dst);
        mn_atomic_printf(a, "    %s_seq(%s, %s, %ld, %ld, %d, %d, %d, %s, %s + %d, %d, %s, %ld%s);\n",
                         l->kind->name, w, src, ts, xs, T, F, d, x->work, x->work, S * H, H, y, ys, rnn_arg(l));
    }
    return a->status;
}

/* A step of a stream: X_cell on this step's input and the caller's state. */
static mynn_status code_step(mn_atomic *a, const mn_cnode *x, const char *src, const char *dst)
{
    const mn_layer *l = x->l;
    int T, F;
    mn_rec_geometry(l, &T, &F);
    char why[160];
    if (mn_rec_c_state(l, why, sizeof why) < 0) return mn_layer_error(l, "%s", why);
    mn_atomic_printf(a, "    %s_cell(l%d_w, %s, 1, %d, %s, %s, %d%s);\n"
                        "    for (j = 0; j < %d; j++) %s[j] = %s[j];\n",
                     l->kind->name, x->id, src, F, x->state, x->work, l->units, rnn_arg(l), l->units, dst,
                     x->state);
    return a->status;
}

mynn_status mn_rec_c_code(mn_atomic *a, const mn_cnode *x, const char *const *src, int n_src, const char *dst)
{
    (void)n_src;
    mn_atomic_printf(a, "    /* layer %d: %s */\n", x->id, x->l->kind->name);
    return x->step ? code_step(a, x, src[0], dst) : code_seq(a, x, src[0], dst);
}
