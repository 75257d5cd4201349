/* The walk through time that the recurrent kinds share (recurrent.h).
 *
 * Forward, one direction, n samples of T steps:
 *   P = X·W_ihᵀ + b_ih                 one product over all n·T rows
 *   for each step t (T-1 down to 0 for the reverse direction):
 *     R = h_prev·W_hhᵀ                 one product over the n samples
 *     the cell: gates from P[t] + R + b_hh, the new state h (and c)
 * Backward (backpropagation through time) walks the steps the other way:
 *   the cell turns dC/dh (from the output and from the later step) into
 *   dP[t] (kept in P's place) and dR[t] (the same but for GRU's n gate),
 *   dC/dh_prev = dR[t]·W_hh + what the cell passes directly;
 * then dW_ih = dPᵀ·X, dW_hh = dRᵀ·H_prev, db_ih, db_hh their row sums and
 * dX = dP·W_ih, each one product over all n·T rows.  A bidirectional
 * layer runs both directions on the same input and concatenates their h
 * per step (forward first), as PyTorch's output does; its last-step
 * output is each direction's final state (PyTorch's h_n, forward then
 * reverse).
 *
 * Cache for a batch of n, per direction, each [n][T][·]: P (gates, then
 * dP) [G·H], H_prev [H]; LSTM c_prev and c [H] each; GRU R_n [H]; and the
 * input made time-major [T][F] when it is read channel-major. */
#include "recurrent.h"
#include "kernels/kernels.h"

#include <stdio.h>
#include <string.h>

#define PAR_MIN 4096   /* elements of a step below which one thread runs it */

static int dirs(const mn_layer *l) { return l->bidir ? 2 : 1; }

/* ---- description ------------------------------------------------------ */

mynn_status mn_rec_parse(mn_layer *l, const mn_item *it, const char *const *acts)
{
    if (it->n_pos < 1 || mn_item_int(it->pos[0], 1, MN_MAX_UNITS, &l->units))
        return mn_item_error(it, "expected %s:HIDDEN[:seq][:bi], HIDDEN in 1..%d", it->kind, MN_MAX_UNITS);
    l->act = MYNN_ACT_TANH;
    if (acts) mynn_activation_from_name(acts[0], &l->act);
    for (int k = 1; k < it->n_pos; k++) {
        const char *f = it->pos[k];
        int is_act = 0;
        for (const char *const *a = acts; a && *a; a++)
            if (strcmp(f, *a) == 0 && mynn_activation_from_name(f, &l->act) == MYNN_OK) is_act = 1;
        if (is_act) continue;
        if (strcmp(f, "seq") == 0) l->every_step = 1;
        else if (strcmp(f, "bi") == 0) l->bidir = 1;
        else
            return mn_item_error(it, "unknown setting \"%.32s\" (seq: every step's output; bi: both "
                                 "directions%s)", f, acts ? "; tanh or relu" : "");
    }
    return mn_item_keys(it, NULL);
}

void mn_rec_print(const mn_layer *l, char *buf, size_t n, int with_act)
{
    snprintf(buf, n, "%s:%d%s%s%s%s", l->kind->name, l->units, l->every_step ? ":seq" : "", l->bidir ? ":bi" : "",
             with_act ? ":" : "", with_act ? mynn_activation_name(l->act) : "");
}

void mn_rec_describe(const mn_layer *l, char *buf, size_t n)
{
    int T, F;
    int tr = mn_rec_geometry(l, &T, &F);
    snprintf(buf, n, "%d step%s%s, %s%s", T, T == 1 ? "" : "s", tr ? " of C" : "", l->every_step ? "seq" : "last",
             l->bidir ? ", bi" : "");
}

int mn_rec_geometry(const mn_layer *l, int *T, int *F)
{
    const mn_shape in = l->in_shape;
    if (in.t > 0) {
        *T = in.t;
        *F = in.c * in.h * in.w;
        return 0;
    }
    if (l->src[0] == MN_NET_INPUT || in.h != 1) {   /* the data's T × F, row-major */
        *T = in.c;
        *F = in.h * in.w;
        return 0;
    }
    *T = in.w;     /* a layer's C × 1 × L, channel-major: L steps of C */
    *F = in.c;
    return 1;
}

mynn_status mn_rec_shape(mn_layer *l, const mn_shape *in, int n_in)
{
    (void)n_in;
    if (l->units < 1 || l->units > MN_MAX_UNITS)
        return mn_layer_error(l, "hidden size must be in 1..%d, got %d", MN_MAX_UNITS, l->units);
    const int DH = dirs(l) * l->units;
    if (!in) {
        l->out_shape = (mn_shape){DH, 1, 1, l->every_step ? 1 : 0};
        return MYNN_OK;
    }
    if (in[0].t == 0 && l->src[0] != MN_NET_INPUT && in[0].h != 1)
        return mn_shape_error(l, in[0], "is a 2-D feature map; a recurrent layer reads a sequence, the "
                              "network input as steps × features, or a 1-D signal C × L (L steps of C)");
    int T, F;
    mn_rec_geometry(l, &T, &F);
    size_t gh = (size_t)4 * l->units;
    if (T < 1 || F < 1 || gh * (size_t)F > MN_MAX_UNITS || gh * (size_t)l->units > MN_MAX_UNITS)
        return mn_shape_error(l, in[0], "(%d steps of %d) gives weights of more than %d values", T, F,
                              MN_MAX_UNITS);
    l->out_shape = (mn_shape){DH, 1, 1, l->every_step ? T : 0};
    return MYNN_OK;
}

/* ---- parameters ------------------------------------------------------- */

/* PyTorch's names and order: weight_ih_l0 [G·H, F], weight_hh_l0 [G·H, H],
 * bias_ih_l0, bias_hh_l0 [G·H], then the same with _reverse. */
int mn_rec_tensors(const mn_layer *l, mn_tensor_desc d[MN_MAX_TENSORS])
{
    const mn_cell *cell = l->kind->cell;
    static const char *const names[2][4] = {
        {"weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0"},
        {"weight_ih_l0_reverse", "weight_hh_l0_reverse", "bias_ih_l0_reverse", "bias_hh_l0_reverse"}};
    int T, F;
    mn_rec_geometry(l, &T, &F);
    const size_t H = (size_t)l->units, GH = (size_t)cell->gates * H;
    size_t off = 0;
    int k = 0;
    for (int dir = 0; dir < dirs(l); dir++) {
        d[k++] = (mn_tensor_desc){names[dir][0], 2, {GH, (size_t)F, 0, 0}, GH * F, off, 0};
        off += GH * F;
        d[k++] = (mn_tensor_desc){names[dir][1], 2, {GH, H, 0, 0}, GH * H, off, 0};
        off += GH * H;
        d[k++] = mn_vec_desc(names[dir][2], GH, off, 0);
        off += GH;
        d[k++] = mn_vec_desc(names[dir][3], GH, off, 0);
        off += GH;
    }
    return k;
}

/* PyTorch's initialisation: every weight and bias U(-1/√H, 1/√H). */
void mn_rec_init(mn_layer *l, mynn_init init, mynn_rng *rng)
{
    (void)init;
    const float a = 1.0f / sqrtf((float)l->units);
    for (size_t i = 0, n = mn_layer_params(l); i < n; i++) l->param[i] = a * (2.0f * mynn_rng_uniform(rng) - 1.0f);
}

/* Floats per step of one sample and direction in the cache. */
static size_t step_floats(const mn_cell *cell, const mn_layer *l)
{
    const size_t H = (size_t)l->units;
    return (size_t)cell->gates * H + H + (cell->has_c ? 2 * H : 0) + (cell->has_aux ? H : 0);
}

size_t mn_rec_cache(const mn_layer *l)
{
    const mn_cell *cell = l->kind->cell;
    int T, F;
    int tr = mn_rec_geometry(l, &T, &F);
    return (size_t)T * ((tr ? (size_t)F : 0) + (size_t)dirs(l) * step_floats(cell, l));
}

/* A stream's state: h, then c (LSTM), of its one sample. */
size_t mn_rec_aux(const mn_layer *l)
{
    const mn_cell *cell = l->kind->cell;
    return l->stateful ? (size_t)l->units * (cell->has_c ? 2 : 1) : 0;
}

size_t mn_rec_work(const mn_layer *l, int max_batch)
{
    const mn_cell *cell = l->kind->cell;
    int T, F;
    int tr = mn_rec_geometry(l, &T, &F);
    const size_t H = (size_t)l->units, GH = (size_t)cell->gates * H;
    return (size_t)max_batch * (GH + 2 * H + (cell->has_aux ? (size_t)T * GH : 0) + (tr ? (size_t)T * F : 0));
}

/* ---- compute ------------------------------------------------------------ */

/* The cache and work of a batch of n, carved as the comment at the top says. */
typedef struct views {
    int T, F, H, GH, tr;
    float *xt;                   /* the input time-major, when read channel-major */
    float *p[2], *hp[2], *cp[2], *c[2], *aux[2];
    float *r, *dh, *dc, *dr, *dxt;   /* work */
} views;

static views carve(const mn_cell *cell, const mn_layer *l, int n)
{
    views v;
    memset(&v, 0, sizeof v);
    v.tr = mn_rec_geometry(l, &v.T, &v.F);
    v.H = l->units;
    v.GH = cell->gates * l->units;
    const size_t rows = (size_t)n * v.T;
    float *at = l->cache;
    if (v.tr) {
        v.xt = at;
        at += rows * v.F;
    }
    for (int d = 0; d < dirs(l); d++) {
        v.p[d] = at, at += rows * v.GH;
        v.hp[d] = at, at += rows * v.H;
        if (cell->has_c) {
            v.cp[d] = at, at += rows * v.H;
            v.c[d] = at, at += rows * v.H;
        }
        if (cell->has_aux) v.aux[d] = at, at += rows * v.H;
    }
    float *w = l->work;
    v.r = w, w += (size_t)n * v.GH;
    v.dh = w, w += (size_t)n * v.H;
    v.dc = w, w += (size_t)n * v.H;
    if (cell->has_aux) v.dr = w, w += rows * v.GH;
    if (v.tr) v.dxt = w;
    return v;
}

/* Direction d's weights. */
static void weights(const mn_layer *l, const views *v, int d, int grad, float **wih, float **whh, float **bih,
                    float **bhh)
{
    const size_t per = (size_t)v->GH * v->F + (size_t)v->GH * v->H + 2 * (size_t)v->GH;
    float *base = (grad ? l->grad : l->param) + d * per;
    *wih = base;
    *whh = *wih + (size_t)v->GH * v->F;
    *bih = *whh + (size_t)v->GH * v->H;
    *bhh = *bih + v->GH;
}

/* x [n × F × T] channel-major -> xt [n × T × F], and back (add: accumulate). */
static void transpose_in(const float *x, float *xt, int n, int T, int F)
{
    const size_t total = (size_t)n * T * F;
    MN_FOR_SHARE(total, total >= PAR_MIN ? mn_threads() : 1, lo, hi, {
        for (size_t i = lo; i < hi; i++) {
            size_t b = i / ((size_t)T * F), r = i % ((size_t)T * F), t = r / F, f = r % F;
            xt[i] = x[b * T * F + f * T + t];
        }
    });
}

static void transpose_out(const float *dxt, float *dx, int n, int T, int F)
{
    const size_t total = (size_t)n * T * F;
    MN_FOR_SHARE(total, total >= PAR_MIN ? mn_threads() : 1, lo, hi, {
        for (size_t i = lo; i < hi; i++) {
            size_t b = i / ((size_t)T * F), r = i % ((size_t)T * F), f = r / T, t = r % T;
            dx[i] = dxt[b * T * F + t * F + f];
        }
    });
}

static void run_steps(void (*fn)(const mn_rec_step *, size_t, size_t), const mn_rec_step *s, int n)
{
    const size_t count = (size_t)n * s->H;
    MN_FOR_SHARE(count, count >= PAR_MIN ? mn_threads() : 1, lo, hi, fn(s, lo, hi));
}

/* x: [n × T × F] (or [n × F × T] read channel-major) -> y: [n × T × D·H]
 * (every step) or [n × D·H] (the last). */
void mn_rec_forward(mn_layer *l, const float *const *xs, float *y, int n, int training)
{
    (void)training;
    const mn_cell *cell = l->kind->cell;
    const float *x = xs[0];
    views v = carve(cell, l, n);
    const int T = v.T, H = v.H, GH = v.GH, DH = dirs(l) * H;
    const float *xin = x;
    if (v.tr) {
        transpose_in(x, v.xt, n, T, v.F);
        xin = v.xt;
    }
    /* A stream (one sample, one direction) starts from its kept state and
     * leaves its last h and c there. */
    float *state = l->stateful ? l->aux : NULL;
    for (int d = 0; d < dirs(l); d++) {
        float *wih, *whh, *bih, *bhh;
        weights(l, &v, d, 0, &wih, &whh, &bih, &bhh);
        mn_epilogue ep = {bih, MN_EPI_NONE, 0.0f, NULL, 0};
        mn_sgemm_epi(0, 1, n * T, GH, v.F, 1.0f, xin, v.F, wih, v.F, 0.0f, v.p[d], GH, &ep);
        if (state)
            MN_TEAM_SOLO({
                memcpy(v.hp[d], state, (size_t)H * sizeof *state);
                if (cell->has_c) memcpy(v.cp[d], state + H, (size_t)H * sizeof *state);
            });
        for (int s = 0; s < T; s++) {
            const int t = d ? T - 1 - s : s, tn = d ? t - 1 : t + 1, last = s == T - 1, from_h = s || state;
            if (from_h) mn_sgemm(0, 1, n, GH, H, 1.0f, v.hp[d] + (size_t)t * H, T * H, whh, H, 0.0f, v.r, GH);
            mn_rec_step st = {.H = H, .relu = l->act == MYNN_ACT_RELU, .first = !from_h, .p = v.p[d] + (size_t)t * GH, .sp = (size_t)T * GH,
                              .r = from_h ? v.r : NULL, .bh = bhh, .hp = v.hp[d] + (size_t)t * H,
                              .hp_next = last ? state : v.hp[d] + (size_t)tn * H, .sh = (size_t)T * H};
            if (cell->has_c) {
                st.cp = v.cp[d] + (size_t)t * H;
                st.c = v.c[d] + (size_t)t * H;
                st.cp_next = last ? (state ? state + H : NULL) : v.cp[d] + (size_t)tn * H;
            }
            if (cell->has_aux) st.aux = v.aux[d] + (size_t)t * H;
            if (l->every_step) {
                st.y = y + (size_t)t * DH + (size_t)d * H;
                st.sy = (size_t)T * DH;
            } else if (last) {
                st.y = y + (size_t)d * H;
                st.sy = (size_t)DH;
            }
            run_steps(cell->step, &st, n);
        }
    }
}

static void zero(float *a, size_t count)
{
    MN_FOR_SHARE(count, 1, lo, hi, memset(a + lo, 0, (hi - lo) * sizeof *a));
}

/* After a forward on the same x.  dy: [n × T × D·H] or [n × D·H] -> the
 * parameter gradients, dx [n × T × F] (or channel-major; NULL: not needed). */
void mn_rec_backward(mn_layer *l, const float *const *xs, const float *y, float *dy, int dy_is_dz,
                     float *const *dxs, int n)
{
    (void)y, (void)dy_is_dz;
    const mn_cell *cell = l->kind->cell;
    const float *x = xs[0];
    float *dx = dxs[0];
    views v = carve(cell, l, n);
    const int T = v.T, H = v.H, GH = v.GH, DH = dirs(l) * H, rows = n * T;
    const float *xin = v.tr ? v.xt : x;
    float *dxin = v.tr ? v.dxt : dx;
    for (int d = 0; d < dirs(l); d++) {
        float *wih, *whh, *bih, *bhh, *dwih, *dwhh, *dbih, *dbhh;
        weights(l, &v, d, 0, &wih, &whh, &bih, &bhh);
        weights(l, &v, d, 1, &dwih, &dwhh, &dbih, &dbhh);
        zero(v.dh, (size_t)n * H);
        if (cell->has_c) zero(v.dc, (size_t)n * H);
        for (int s = T - 1; s >= 0; s--) {
            const int t = d ? T - 1 - s : s;
            mn_rec_step st = {.H = H, .relu = l->act == MYNN_ACT_RELU, .first = s == 0, .p = v.p[d] + (size_t)t * GH, .sp = (size_t)T * GH,
                              .hp = v.hp[d] + (size_t)t * H, .sh = (size_t)T * H, .dh = v.dh, .dc = v.dc};
            if (cell->has_c) {
                st.cp = v.cp[d] + (size_t)t * H;
                st.c = v.c[d] + (size_t)t * H;
            }
            if (cell->has_aux) {
                st.aux = v.aux[d] + (size_t)t * H;
                st.dr = v.dr + (size_t)t * GH;
            }
            if (l->every_step) {
                st.dy = dy + (size_t)t * DH + (size_t)d * H;
                st.sdy = (size_t)T * DH;
            } else if (s == T - 1) {
                st.dy = dy + (size_t)d * H;
                st.sdy = (size_t)DH;
            }
            run_steps(cell->step_back, &st, n);
            if (s) mn_sgemm(0, 0, n, H, GH, 1.0f, st.dr ? st.dr : st.p, T * GH, whh, H, 1.0f, v.dh, H);
        }
        const float *dp = v.p[d], *dr = cell->has_aux ? v.dr : v.p[d];
        mn_sgemm(1, 0, GH, v.F, rows, 1.0f, dp, GH, xin, v.F, 0.0f, dwih, v.F);
        mn_sum_rows(dbih, dp, rows, GH, 0);
        mn_sgemm(1, 0, GH, H, rows, 1.0f, dr, GH, v.hp[d], H, 0.0f, dwhh, H);
        mn_sum_rows(dbhh, dr, rows, GH, 0);
        if (dx) mn_sgemm(0, 0, rows, v.F, GH, 1.0f, dp, GH, wih, v.F, d ? 1.0f : 0.0f, dxin, v.F);
    }
    if (dx && v.tr) transpose_out(v.dxt, dx, n, T, v.F);
}
