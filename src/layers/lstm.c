/* LSTM: spec item lstm:HIDDEN[:seq][:bi]; PyTorch's nn.LSTM (batch_first,
 * one layer; stack by writing two).  Per step, gates in PyTorch's order
 * i, f, g, o (blocks of weight_ih_l0 [4H, F], weight_hh_l0 [4H, H]):
 *   a = W_ih·x_t + b_ih + W_hh·h_{t-1} + b_hh
 *   i = σ(a_i)  f = σ(a_f)  g = tanh(a_g)  o = σ(a_o)
 *   c_t = f ⊙ c_{t-1} + i ⊙ g      h_t = o ⊙ tanh(c_t)
 * backward, with dh = dC/dh_t (output and later step) and dc = dC/dc_t
 * from the later step:
 *   dc += dh ⊙ o ⊙ (1 - tanh²(c_t))
 *   da_i = dc ⊙ g ⊙ i(1-i)   da_f = dc ⊙ c_{t-1} ⊙ f(1-f)
 *   da_g = dc ⊙ i ⊙ (1-g²)   da_o = dh ⊙ tanh(c_t) ⊙ o(1-o)
 *   dC/dc_{t-1} = dc ⊙ f     dC/dh_{t-1} = da·W_hh (recurrent.c)
 * The walk through time, shapes and tensors: recurrent.c. */
#include "recurrent.h"

#include <string.h>

/* The loops of a step over m units of one sample, each a plain loop over
 * restrict pointers so that it becomes vector code. */
static void add_rec(size_t m, float *restrict p, const float *restrict r)
{
    for (size_t j = 0; j < m; j++) p[j] += r[j];
}

/* Gates from their pre-activations (b_hh still to add), in place; c. */
static void gates(size_t m, size_t H, float *restrict pi, const float *restrict bh, const float *restrict cp,
                  float *restrict c)
{
    float *restrict pf = pi + H, *restrict pg = pf + H, *restrict po = pg + H;
    for (size_t j = 0; j < m; j++) {
        const float i = mn_sigmoidf(pi[j] + bh[j]), f = mn_sigmoidf(pf[j] + bh[H + j]);
        const float g = mn_rec_tanh(pg[j] + bh[2 * H + j]), o = mn_sigmoidf(po[j] + bh[3 * H + j]);
        pi[j] = i, pf[j] = f, pg[j] = g, po[j] = o;
        c[j] = f * cp[j] + i * g;
    }
}

static void out_h(size_t m, const float *restrict o, const float *restrict c, float *restrict h)
{
    for (size_t j = 0; j < m; j++) h[j] = o[j] * mn_rec_tanh(c[j]);
}

/* Elements [lo, hi) of the n × H block of one step (recurrent.h). */
static void lstm_step(const mn_rec_step *s, size_t lo, size_t hi)
{
    const size_t H = (size_t)s->H;
    MN_REC_ROWS(lo, hi, H, b, j0, j1, {
        const size_t m = j1 - j0, row = b * s->sh + j0;
        float *p = s->p + b * s->sp + j0;
        if (s->first) {
            memset(s->hp + row, 0, m * sizeof(float));
            memset(s->cp + row, 0, m * sizeof(float));
        }
        if (s->r)
            for (int k = 0; k < 4; k++) add_rec(m, p + k * H, s->r + b * 4 * H + k * H + j0);
        gates(m, H, p, s->bh + j0, s->cp + row, s->c + row);
        /* h = o ⊙ tanh(c), where the next step and the output want it */
        float *h = s->hp_next ? s->hp_next + row : s->y ? s->y + b * s->sy + j0 : NULL;
        if (h) out_h(m, p + 3 * H, s->c + row, h);
        if (h && s->hp_next && s->y) memcpy(s->y + b * s->sy + j0, h, m * sizeof *h);
        if (s->cp_next) memcpy(s->cp_next + row, s->c + row, m * sizeof(float));
    });
}

/* dC/d(pre-activations) in place of the gates; dc for the step before. */
static void back(size_t m, size_t H, float *restrict pi, const float *restrict c, const float *restrict cp,
                 const float *restrict dh, float *restrict dc)
{
    float *restrict pf = pi + H, *restrict pg = pf + H, *restrict po = pg + H;
    for (size_t j = 0; j < m; j++) {
        const float i = pi[j], f = pf[j], g = pg[j], o = po[j];
        const float tc = mn_rec_tanh(c[j]);
        const float dcj = dc[j] + dh[j] * o * (1.0f - tc * tc);
        pi[j] = dcj * g * i * (1.0f - i);
        pf[j] = dcj * cp[j] * f * (1.0f - f);
        pg[j] = dcj * i * (1.0f - g * g);
        po[j] = dh[j] * tc * o * (1.0f - o);
        dc[j] = dcj * f;
    }
}

static void lstm_step_back(const mn_rec_step *s, size_t lo, size_t hi)
{
    const size_t H = (size_t)s->H;
    MN_REC_ROWS(lo, hi, H, b, j0, j1, {
        const size_t m = j1 - j0, row = b * s->sh + j0;
        float *dh = s->dh + b * H + j0;
        if (s->dy) add_rec(m, dh, s->dy + b * s->sdy + j0);
        back(m, H, s->p + b * s->sp + j0, s->c + row, s->cp + row, dh, s->dc + b * H + j0);
        memset(dh, 0, m * sizeof *dh);
    });
}

/* ONNX orders the gates i, o, f, c (PyTorch i, f, g, o). */
static const mn_cell lstm_cell = {.gates = 4, .has_c = 1, .step = lstm_step, .step_back = lstm_step_back,
                                  .onnx = {"LSTM", 4, {0, 3, 1, 2}, 0, 0}};

static mynn_status lstm_parse(mn_layer *l, const mn_item *it) { return mn_rec_parse(l, it, NULL); }
static void lstm_print(const mn_layer *l, char *buf, size_t n) { mn_rec_print(l, buf, n, 0); }

static const char *const lstm_names[] = {"lstm", NULL};

const mn_kind mn_lstm_kind = {
    .id = MYNN_LAYER_LSTM, .name = "lstm", .spec_names = lstm_names, MN_REC_MEMBERS(lstm_cell),
    .parse = lstm_parse, .print = lstm_print, .describe = mn_rec_describe, .shape = mn_rec_shape,
    MN_REC_C_MEMBERS(mn_ctext_lstm, 1900),   /* code and libm's expf, tanhf */
};
