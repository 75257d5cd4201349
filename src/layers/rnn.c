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

static void rnn_step(const mn_rec_step *s, size_t lo, size_t hi)
{
    const int relu = s->relu;
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

static void rnn_step_back(const mn_rec_step *s, size_t lo, size_t hi)
{
    const int relu = s->relu;
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

static const mn_cell rnn_cell = {.gates = 1, .step = rnn_step, .step_back = rnn_step_back, .has_act = 1,
                                 .onnx = {"RNN", 1, {0, 0, 0, 0}, 0, 1}};

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

static const char *const rnn_names[] = {"rnn", NULL};

const mn_kind mn_rnn_kind = {
    .id = MYNN_LAYER_RNN, .name = "rnn", .spec_names = rnn_names, MN_REC_MEMBERS(rnn_cell),
    .parse = rnn_parse, .print = rnn_print, .describe = rnn_describe, .shape = rnn_shape,
    MN_REC_C_MEMBERS(mn_ctext_rnn, 1200),   /* code and libm's expf, tanhf */
};
