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

#include <string.h>

/* The loops of a step over m units of one sample, each a plain loop over
 * restrict pointers so that it becomes vector code. */
static void add_rec(size_t m, float *restrict p, const float *restrict r)
{
    for (size_t j = 0; j < m; j++) p[j] += r[j];
}

/* rn = R_n + b_hn (R_n: the n block of rec, NULL at the first step). */
static void rec_n(size_t m, float *restrict rn, const float *restrict rec_n, const float *restrict bhn)
{
    if (rec_n)
        for (size_t j = 0; j < m; j++) rn[j] = rec_n[j] + bhn[j];
    else
        memcpy(rn, bhn, m * sizeof *rn);
}

/* The gates r, z, n in place of their pre-activations. */
static void gates(size_t m, size_t H, float *restrict pr, const float *restrict bh, const float *restrict rn)
{
    float *restrict pz = pr + H, *restrict pn = pz + H;
    for (size_t j = 0; j < m; j++) {
        const float rg = mn_sigmoidf(pr[j] + bh[j]), z = mn_sigmoidf(pz[j] + bh[H + j]);
        pr[j] = rg, pz[j] = z, pn[j] = mn_rec_tanh(pn[j] + rg * rn[j]);
    }
}

static void out_h(size_t m, const float *restrict z, const float *restrict n, const float *restrict hp,
                  float *restrict h)
{
    for (size_t j = 0; j < m; j++) h[j] = (1.0f - z[j]) * n[j] + z[j] * hp[j];
}

/* Elements [lo, hi) of the n × H block of one step (recurrent.h). */
static void gru_step(const mn_rec_step *s, size_t lo, size_t hi)
{
    const size_t H = (size_t)s->H;
    MN_REC_ROWS(lo, hi, H, b, j0, j1, {
        const size_t m = j1 - j0, row = b * s->sh + j0;
        float *p = s->p + b * s->sp + j0;
        const float *rec = s->r ? s->r + b * 3 * H + j0 : NULL;
        if (s->first) memset(s->hp + row, 0, m * sizeof(float));
        if (rec) add_rec(m, p, rec), add_rec(m, p + H, rec + H);
        rec_n(m, s->aux + row, rec ? rec + 2 * H : NULL, s->bh + 2 * H + j0);
        gates(m, H, p, s->bh + j0, s->aux + row);
        float *h = s->hp_next ? s->hp_next + row : s->y ? s->y + b * s->sy + j0 : NULL;
        if (h) out_h(m, p + H, p + 2 * H, s->hp + row, h);
        if (h && s->hp_next && s->y) memcpy(s->y + b * s->sy + j0, h, m * sizeof *h);
    });
}

/* dP in place of the gates, dR beside (their n parts differ), dh ⊙ z for
 * the step before. */
static void back(size_t m, size_t H, float *restrict pr, float *restrict dr, const float *restrict rn,
                 const float *restrict hp, float *restrict dh)
{
    float *restrict pz = pr + H, *restrict pn = pz + H, *restrict dz = dr + H, *restrict dn = dz + H;
    for (size_t j = 0; j < m; j++) {
        const float rg = pr[j], z = pz[j], n = pn[j];
        const float dnj = dh[j] * (1.0f - z) * (1.0f - n * n);
        const float dar = dnj * rn[j] * rg * (1.0f - rg), daz = dh[j] * (hp[j] - n) * z * (1.0f - z);
        pr[j] = dr[j] = dar;
        pz[j] = dz[j] = daz;
        pn[j] = dnj;
        dn[j] = dnj * rg;
        dh[j] *= z;
    }
}

static void gru_step_back(const mn_rec_step *s, size_t lo, size_t hi)
{
    const size_t H = (size_t)s->H;
    MN_REC_ROWS(lo, hi, H, b, j0, j1, {
        const size_t m = j1 - j0, row = b * s->sh + j0;
        float *dh = s->dh + b * H + j0;
        if (s->dy) add_rec(m, dh, s->dy + b * s->sdy + j0);
        back(m, H, s->p + b * s->sp + j0, s->dr + b * s->sp + j0, s->aux + row, s->hp + row, dh);
    });
}

/* ONNX orders the gates z, r, h (PyTorch r, z, n); linear_before_reset is
 * PyTorch's equation. */
static const mn_cell gru_cell = {.gates = 3, .has_aux = 1, .step = gru_step, .step_back = gru_step_back,
                                 .onnx = {"GRU", 3, {1, 0, 2, 0}, 1, 0}};

static mynn_status gru_parse(mn_layer *l, const mn_item *it) { return mn_rec_parse(l, it, NULL); }
static void gru_print(const mn_layer *l, char *buf, size_t n) { mn_rec_print(l, buf, n, 0); }

static const char *const gru_names[] = {"gru", NULL};

const mn_kind mn_gru_kind = {
    .id = MYNN_LAYER_GRU, .name = "gru", .spec_names = gru_names, MN_REC_MEMBERS(gru_cell),
    .parse = gru_parse, .print = gru_print, .describe = mn_rec_describe, .shape = mn_rec_shape,
    MN_REC_C_MEMBERS(mn_ctext_gru, 1900),   /* code and libm's expf, tanhf */
};
