/* Elman RNN: spec item rnn:HIDDEN[:seq][:bi][:tanh|relu]; PyTorch's nn.RNN
 * (batch_first, one layer, nonlinearity tanh or relu).  Per step
 *   h_t = f(W_ih·x_t + b_ih + W_hh·h_{t-1} + b_hh)
 * with weight_ih_l0 [H, F], weight_hh_l0 [H, H]; backward, with dh =
 * dC/dh_t: da = f'(h_t) ⊙ dh (tanh: 1 - h²; relu: h > 0), dC/dh_{t-1} =
 * da·W_hh (recurrent.c, which walks through time and names the tensors). */
#include "recurrent.h"

#include <stdio.h>
#include <string.h>

static void add_rec(size_t m, float *restrict p, const float *restrict r)
{
    for (size_t j = 0; j < m; j++) p[j] += r[j];
}

static void act_tanh(size_t m, float *restrict p, const float *restrict bh)
{
    for (size_t j = 0; j < m; j++) p[j] = mn_rec_tanh(p[j] + bh[j]);
}

static void act_relu(size_t m, float *restrict p, const float *restrict bh)
{
    for (size_t j = 0; j < m; j++) p[j] = p[j] + bh[j] > 0.0f ? p[j] + bh[j] : 0.0f;
}

/* dC/da in place of h: f'(h) ⊙ dh. */
static void back_tanh(size_t m, float *restrict p, const float *restrict dh)
{
    for (size_t j = 0; j < m; j++) p[j] = dh[j] * (1.0f - p[j] * p[j]);
}

static void back_relu(size_t m, float *restrict p, const float *restrict dh)
{
    for (size_t j = 0; j < m; j++) p[j] = p[j] > 0.0f ? dh[j] : 0.0f;
}

static void rnn_step_act(const mn_rec_step *s, size_t lo, size_t hi, int relu)
{
    const size_t H = (size_t)s->H;
    MN_REC_ROWS(lo, hi, H, b, j0, j1, {
        const size_t m = j1 - j0, row = b * s->sh + j0;
        float *p = s->p + b * s->sp + j0;
        if (s->first) memset(s->hp + row, 0, m * sizeof(float));
        if (s->r) add_rec(m, p, s->r + b * H + j0);
        if (relu) act_relu(m, p, s->bh + j0);
        else act_tanh(m, p, s->bh + j0);
        if (s->hp_next) memcpy(s->hp_next + row, p, m * sizeof *p);
        if (s->y) memcpy(s->y + b * s->sy + j0, p, m * sizeof *p);
    });
}

static void rnn_back_act(const mn_rec_step *s, size_t lo, size_t hi, int relu)
{
    const size_t H = (size_t)s->H;
    MN_REC_ROWS(lo, hi, H, b, j0, j1, {
        const size_t m = j1 - j0;
        float *p = s->p + b * s->sp + j0, *dh = s->dh + b * H + j0;
        if (s->dy) add_rec(m, dh, s->dy + b * s->sdy + j0);
        if (relu) back_relu(m, p, dh);
        else back_tanh(m, p, dh);
        memset(dh, 0, m * sizeof *dh);
    });
}

static void tanh_step(const mn_rec_step *s, size_t lo, size_t hi) { rnn_step_act(s, lo, hi, 0); }
static void relu_step(const mn_rec_step *s, size_t lo, size_t hi) { rnn_step_act(s, lo, hi, 1); }
static void tanh_back(const mn_rec_step *s, size_t lo, size_t hi) { rnn_back_act(s, lo, hi, 0); }
static void relu_back(const mn_rec_step *s, size_t lo, size_t hi) { rnn_back_act(s, lo, hi, 1); }

static const mn_cell tanh_cell = {.gates = 1, .step = tanh_step, .step_back = tanh_back};
static const mn_cell relu_cell = {.gates = 1, .step = relu_step, .step_back = relu_back};

static const mn_cell *cell_of(const mn_layer *l) { return l->act == MYNN_ACT_RELU ? &relu_cell : &tanh_cell; }

static const char *const rnn_acts[] = {"tanh", "relu", NULL};

static mynn_status rnn_parse(mn_layer *l, const mn_item *it) { return mn_rec_parse(l, it, rnn_acts); }
static void rnn_print(const mn_layer *l, char *buf, size_t n) { mn_rec_print(l, buf, n, 1); }

static void rnn_describe(const mn_layer *l, char *buf, size_t n)
{
    char rest[96];
    mn_rec_describe(l, rest, sizeof rest);
    snprintf(buf, n, "%s, %s", mynn_activation_name(l->act), rest);
}

static mynn_status rnn_shape(mn_layer *l, const mn_shape *in, int n_in)
{
    if (l->act != MYNN_ACT_TANH && l->act != MYNN_ACT_RELU)
        return mn_layer_error(l, "activation must be tanh or relu, got %s", mynn_activation_name(l->act));
    return mn_rec_shape(l, in, n_in);
}

static int rnn_tensors(const mn_layer *l, mn_tensor_desc d[MN_MAX_TENSORS])
{
    return mn_rec_tensors(cell_of(l), l, d);
}
static void rnn_init(mn_layer *l, mynn_init init, mynn_rng *rng)
{
    (void)init;
    mn_rec_init(cell_of(l), l, rng);
}
static size_t rnn_cache(const mn_layer *l) { return mn_rec_cache(cell_of(l), l); }
static size_t rnn_aux(const mn_layer *l) { return mn_rec_aux(cell_of(l), l); }
static size_t rnn_work(const mn_layer *l, int max_batch) { return mn_rec_work(cell_of(l), l, max_batch); }

static void rnn_forward(mn_layer *l, const float *const *x, float *y, int n, int training)
{
    (void)training;
    mn_rec_forward(cell_of(l), l, x[0], y, n);
}

static void rnn_backward(mn_layer *l, const float *const *x, const float *y, float *dy, int dy_is_dz,
                         float *const *dx, int n)
{
    (void)y, (void)dy_is_dz;
    mn_rec_backward(cell_of(l), l, x[0], dy, dx[0], n);
}

static mynn_status rnn_onnx(mn_onnx *g, const mn_layer *l, const char *prefix, const mn_ovalue *in, int n_in,
                            mn_ovalue *out)
{
    static const mn_rec_onnx_form form = {"RNN", 1, {0, 0, 0, 0}, 0, 1};
    (void)n_in;
    return mn_rec_onnx(g, l, prefix, in, &form, out);
}

static const char *const rnn_names[] = {"rnn", NULL};

const mn_kind mn_rnn_kind = {
    .id = MYNN_LAYER_RNN, .name = "rnn", .spec_names = rnn_names, .max_inputs = 1, .reads_seq = 1, .recurrent = 1,
    .parse = rnn_parse, .print = rnn_print, .describe = rnn_describe, .shape = rnn_shape,
    .tensors = rnn_tensors, .init = rnn_init, .cache_per_sample = rnn_cache, .work_size = rnn_work, .aux_size = rnn_aux,
    .forward = rnn_forward, .backward = rnn_backward, .onnx = rnn_onnx, .q_role = MN_Q_REFUSE,
    MN_REC_C_MEMBERS(mn_ctext_rnn, 1200),   /* code and libm's expf, tanhf */
};
