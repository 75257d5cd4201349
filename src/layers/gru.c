/* GRU: spec item gru:HIDDEN[:seq][:bi]; PyTorch's nn.GRU (batch_first,
 * one layer; stack by writing two).  Per step, gates in PyTorch's order
 * r, z, n (blocks of weight_ih_l0 [3H, F], weight_hh_l0 [3H, H]), with
 * P = W_ih·x_t + b_ih and R = W_hh·h_{t-1} + b_hh:
 *   r = σ(P_r + R_r)   z = σ(P_z + R_z)   n = tanh(P_n + r ⊙ R_n)
 *   h_t = (1 - z) ⊙ n + z ⊙ h_{t-1}
 * (the reset gate multiplies R_n with its bias: PyTorch's equation, ONNX's
 * linear_before_reset=1).  backward, with dh = dC/dh_t:
 *   dn = dh ⊙ (1-z) ⊙ (1-n²)    dP_n = dn    dR_n = dn ⊙ r
 *   dP_r = dR_r = dn ⊙ R_n ⊙ r(1-r)
 *   dP_z = dR_z = dh ⊙ (h_{t-1} - n) ⊙ z(1-z)
 *   dC/dh_{t-1} = dh ⊙ z + dR·W_hh (recurrent.c)
 * The walk through time, shapes and tensors: recurrent.c. */
#include "recurrent.h"

/* Element [lo, hi) of the n × H block of one step (recurrent.h). */
static void gru_step(const mn_rec_step *s, size_t lo, size_t hi)
{
    const size_t H = (size_t)s->H, G = 3 * H;
    for (size_t e = lo; e < hi; e++) {
        const size_t b = e / H, j = e % H, x = b * s->sh + j;
        float *p = s->p + b * s->sp;
        const float *r = s->r ? s->r + b * G : NULL;
        const float rr = (r ? r[j] : 0.0f) + s->bh[j], rz = (r ? r[H + j] : 0.0f) + s->bh[H + j];
        const float rn = (r ? r[2 * H + j] : 0.0f) + s->bh[2 * H + j];
        const float rg = mn_sigmoidf(p[j] + rr), z = mn_sigmoidf(p[H + j] + rz);
        const float n = tanhf(p[2 * H + j] + rg * rn);
        if (s->first) s->hp[x] = 0.0f;
        const float h = (1.0f - z) * n + z * s->hp[x];
        p[j] = rg, p[H + j] = z, p[2 * H + j] = n;
        s->aux[x] = rn;
        if (s->hp_next) s->hp_next[x] = h;
        if (s->y) s->y[b * s->sy + j] = h;
    }
}

static void gru_step_back(const mn_rec_step *s, size_t lo, size_t hi)
{
    const size_t H = (size_t)s->H;
    for (size_t e = lo; e < hi; e++) {
        const size_t b = e / H, j = e % H, x = b * s->sh + j;
        float *p = s->p + b * s->sp, *dr = s->dr + b * s->sp;
        const float rg = p[j], z = p[H + j], n = p[2 * H + j], rn = s->aux[x];
        const float dh = s->dh[e] + (s->dy ? s->dy[b * s->sdy + j] : 0.0f);
        const float dn = dh * (1.0f - z) * (1.0f - n * n);
        const float dar = dn * rn * rg * (1.0f - rg), daz = dh * (s->hp[x] - n) * z * (1.0f - z);
        p[j] = dr[j] = dar;
        p[H + j] = dr[H + j] = daz;
        p[2 * H + j] = dn;
        dr[2 * H + j] = dn * rg;
        s->dh[e] = dh * z;
    }
}

static const mn_cell gru_cell = {.gates = 3, .has_aux = 1, .step = gru_step, .step_back = gru_step_back};

static mynn_status gru_parse(mn_layer *l, const mn_item *it) { return mn_rec_parse(l, it, NULL); }
static void gru_print(const mn_layer *l, char *buf, size_t n) { mn_rec_print(l, buf, n, 0); }
static int gru_tensors(const mn_layer *l, mn_tensor_desc d[MN_MAX_TENSORS])
{
    return mn_rec_tensors(&gru_cell, l, d);
}
static void gru_init(mn_layer *l, mynn_init init, mynn_rng *rng)
{
    (void)init;
    mn_rec_init(&gru_cell, l, rng);
}
static size_t gru_cache(const mn_layer *l) { return mn_rec_cache(&gru_cell, l); }
static size_t gru_work(const mn_layer *l, int max_batch) { return mn_rec_work(&gru_cell, l, max_batch); }

static void gru_forward(mn_layer *l, const float *const *x, float *y, int n, int training)
{
    (void)training;
    mn_rec_forward(&gru_cell, l, x[0], y, n);
}

static void gru_backward(mn_layer *l, const float *const *x, const float *y, float *dy, int dy_is_dz,
                         float *const *dx, int n)
{
    (void)y, (void)dy_is_dz;
    mn_rec_backward(&gru_cell, l, x[0], dy, dx[0], n);
}

static const char *const gru_names[] = {"gru", NULL};

const mn_kind mn_gru_kind = {
    .id = MYNN_LAYER_GRU, .name = "gru", .spec_names = gru_names, .max_inputs = 1, .reads_seq = 1,
    .parse = gru_parse, .print = gru_print, .describe = mn_rec_describe, .shape = mn_rec_shape,
    .tensors = gru_tensors, .init = gru_init, .cache_per_sample = gru_cache, .work_size = gru_work,
    .forward = gru_forward, .backward = gru_backward, .q_role = MN_Q_REFUSE,
};
