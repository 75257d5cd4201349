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

/* Element [lo, hi) of the n × H block of one step (recurrent.h). */
static void lstm_step(const mn_rec_step *s, size_t lo, size_t hi)
{
    const size_t H = (size_t)s->H, G = 4 * H;
    for (size_t e = lo; e < hi; e++) {
        const size_t b = e / H, j = e % H, x = b * s->sh + j;
        float *p = s->p + b * s->sp;
        const float *r = s->r ? s->r + b * G : NULL;
        float a[4];
        for (int k = 0; k < 4; k++) a[k] = p[k * H + j] + (r ? r[k * H + j] : 0.0f) + s->bh[k * H + j];
        const float i = mn_sigmoidf(a[0]), f = mn_sigmoidf(a[1]), g = tanhf(a[2]), o = mn_sigmoidf(a[3]);
        if (s->first) s->hp[x] = s->cp[x] = 0.0f;
        const float c = f * s->cp[x] + i * g, h = o * tanhf(c);
        p[j] = i, p[H + j] = f, p[2 * H + j] = g, p[3 * H + j] = o;
        s->c[x] = c;
        if (s->hp_next) s->hp_next[x] = h, s->cp_next[x] = c;
        if (s->y) s->y[b * s->sy + j] = h;
    }
}

static void lstm_step_back(const mn_rec_step *s, size_t lo, size_t hi)
{
    const size_t H = (size_t)s->H;
    for (size_t e = lo; e < hi; e++) {
        const size_t b = e / H, j = e % H, x = b * s->sh + j;
        float *p = s->p + b * s->sp;
        const float i = p[j], f = p[H + j], g = p[2 * H + j], o = p[3 * H + j];
        const float dh = s->dh[e] + (s->dy ? s->dy[b * s->sdy + j] : 0.0f);
        const float tc = tanhf(s->c[x]);
        const float dc = s->dc[e] + dh * o * (1.0f - tc * tc);
        p[j] = dc * g * i * (1.0f - i);
        p[H + j] = dc * s->cp[x] * f * (1.0f - f);
        p[2 * H + j] = dc * i * (1.0f - g * g);
        p[3 * H + j] = dh * tc * o * (1.0f - o);
        s->dc[e] = dc * f;
        s->dh[e] = 0.0f;
    }
}

static const mn_cell lstm_cell = {.gates = 4, .has_c = 1, .step = lstm_step, .step_back = lstm_step_back};

static mynn_status lstm_parse(mn_layer *l, const mn_item *it) { return mn_rec_parse(l, it, NULL); }
static void lstm_print(const mn_layer *l, char *buf, size_t n) { mn_rec_print(l, buf, n, 0); }
static int lstm_tensors(const mn_layer *l, mn_tensor_desc d[MN_MAX_TENSORS])
{
    return mn_rec_tensors(&lstm_cell, l, d);
}
static void lstm_init(mn_layer *l, mynn_init init, mynn_rng *rng)
{
    (void)init;
    mn_rec_init(&lstm_cell, l, rng);
}
static size_t lstm_cache(const mn_layer *l) { return mn_rec_cache(&lstm_cell, l); }
static size_t lstm_work(const mn_layer *l, int max_batch) { return mn_rec_work(&lstm_cell, l, max_batch); }

static void lstm_forward(mn_layer *l, const float *const *x, float *y, int n, int training)
{
    (void)training;
    mn_rec_forward(&lstm_cell, l, x[0], y, n);
}

static void lstm_backward(mn_layer *l, const float *const *x, const float *y, float *dy, int dy_is_dz,
                          float *const *dx, int n)
{
    (void)y, (void)dy_is_dz;
    mn_rec_backward(&lstm_cell, l, x[0], dy, dx[0], n);
}

static const char *const lstm_names[] = {"lstm", NULL};

const mn_kind mn_lstm_kind = {
    .id = MYNN_LAYER_LSTM, .name = "lstm", .spec_names = lstm_names, .max_inputs = 1, .reads_seq = 1,
    .parse = lstm_parse, .print = lstm_print, .describe = mn_rec_describe, .shape = mn_rec_shape,
    .tensors = lstm_tensors, .init = lstm_init, .cache_per_sample = lstm_cache, .work_size = lstm_work,
    .forward = lstm_forward, .backward = lstm_backward, .q_role = MN_Q_REFUSE,
};
