/* Elman RNN: spec item rnn:HIDDEN[:seq][:bi][:tanh|relu]; PyTorch's nn.RNN
 * (batch_first, one layer, nonlinearity tanh or relu).  Per step
 *   h_t = f(W_ih·x_t + b_ih + W_hh·h_{t-1} + b_hh)
 * with weight_ih_l0 [H, F], weight_hh_l0 [H, H]; backward, with dh =
 * dC/dh_t: da = f'(h_t) ⊙ dh (tanh: 1 - h²; relu: h > 0), dC/dh_{t-1} =
 * da·W_hh (recurrent.c, which walks through time and names the tensors). */
#include "recurrent.h"

#include <stdio.h>

static void rnn_step_act(const mn_rec_step *s, size_t lo, size_t hi, int relu)
{
    const size_t H = (size_t)s->H;
    for (size_t e = lo; e < hi; e++) {
        const size_t b = e / H, j = e % H, x = b * s->sh + j;
        float *p = s->p + b * s->sp;
        const float a = p[j] + (s->r ? s->r[b * H + j] : 0.0f) + s->bh[j];
        const float h = relu ? (a > 0.0f ? a : 0.0f) : tanhf(a);
        if (s->first) s->hp[x] = 0.0f;
        p[j] = h;
        if (s->hp_next) s->hp_next[x] = h;
        if (s->y) s->y[b * s->sy + j] = h;
    }
}

static void rnn_back_act(const mn_rec_step *s, size_t lo, size_t hi, int relu)
{
    const size_t H = (size_t)s->H;
    for (size_t e = lo; e < hi; e++) {
        const size_t b = e / H, j = e % H;
        float *p = s->p + b * s->sp;
        const float h = p[j], dh = s->dh[e] + (s->dy ? s->dy[b * s->sdy + j] : 0.0f);
        p[j] = relu ? (h > 0.0f ? dh : 0.0f) : dh * (1.0f - h * h);
        s->dh[e] = 0.0f;
    }
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

static const char *const rnn_names[] = {"rnn", NULL};

const mn_kind mn_rnn_kind = {
    .id = MYNN_LAYER_RNN, .name = "rnn", .spec_names = rnn_names, .max_inputs = 1, .reads_seq = 1,
    .parse = rnn_parse, .print = rnn_print, .describe = rnn_describe, .shape = rnn_shape,
    .tensors = rnn_tensors, .init = rnn_init, .cache_per_sample = rnn_cache, .work_size = rnn_work,
    .forward = rnn_forward, .backward = rnn_backward, .q_role = MN_Q_REFUSE,
};
