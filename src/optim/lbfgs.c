/* L-BFGS over the network's flat parameters, one iteration per step, with
 * the strong-Wolfe line search (cubic interpolation, then zoom) of
 * PyTorch's torch.optim.LBFGS(line_search_fn="strong_wolfe"), itself after
 * minFunc.  A step with max_iter = 1 there is a step here; the history,
 * direction and previous gradient carry over from step to step, so K
 * steps follow LBFGS(max_iter=K) (see mynn.h for the tolerances and the
 * evaluation count).
 *
 * Objective: the closure's loss plus wd/2 |p|^2 (gradient + wd p), so the
 * line search sees a loss and gradient that agree.  Vectors are float as
 * the parameters; dot products and the line search's scalars are double,
 * summed in index order, so results do not depend on the thread count.
 *
 * State (one float array, so checkpoints carry it bit for bit):
 *   d [n]          the last search direction
 *   prev_g [n]     the gradient where that direction was computed
 *   g [n]          the gradient at the current parameters (the last step's
 *                  final evaluation, reused by the next step)
 *   S [m × n]      steps s = t d, a ring of m slots
 *   Y [m × n]      gradient changes y = g - prev_g, same slots
 *   ro [m]         1 / (y·s) per slot
 *   scalars        below (integers held exactly as floats; the objective
 *                  at the current parameters as a float pair hi + lo)
 * The closure's last evaluation in a step is always at the parameters the
 * step leaves (one more evaluation when the accepted point was not the
 * last tried), so the next step starts from stored values instead of
 * evaluating again, and mynn_fit's statistics are those of the new weights.
 * Nothing is allocated here: x0 and al come with the optimizer. */
#include "optim/optim.h"
#include "core/core.h"
#include "network/network.h"

#include <limits.h>
#include <math.h>
#include <string.h>

enum { SC_T, SC_HDIAG, SC_COUNT, SC_HEAD, SC_EVALS_LO, SC_EVALS_HI, SC_CONVERGED, SC_HAVE_CUR,
       SC_F_HI, SC_F_LO, N_SCALARS };
#define EVALS_SPLIT 1048576.0   /* evaluations = hi * 2^20 + lo, both exact in a float */
#define MAX_LS 25               /* line-search evaluations per step (PyTorch's max_ls) */
#define C1 1e-4                 /* sufficient decrease (Armijo) */
#define C2 0.9                  /* curvature */

size_t mn_lbfgs_state_size(size_t n, int m)
{
    size_t vecs, fl;
    if (mn_mul_size((size_t)2 * (size_t)m + 3, n, &vecs)) return 0;
    fl = vecs + (size_t)m + N_SCALARS;
    return fl < vecs ? 0 : fl;
}

/* The pieces of the state array. */
typedef struct lb_view {
    float *d, *prev_g, *g, *S, *Y, *ro, *sc;
} lb_view;

static lb_view view(const mynn_optimizer *o)
{
    const size_t n = o->n, m = (size_t)o->cfg.history;
    lb_view v;
    v.d = o->state;
    v.prev_g = v.d + n;
    v.g = v.prev_g + n;
    v.S = v.g + n;
    v.Y = v.S + m * n;
    v.ro = v.Y + m * n;
    v.sc = v.ro + m;
    return v;
}

void mn_lbfgs_init(mynn_optimizer *o)
{
    view(o).sc[SC_HDIAG] = 1.0f;
}

int mn_lbfgs_converged(const mynn_optimizer *o) { return view(o).sc[SC_CONVERGED] != 0.0f; }

static long get_evals(const float *sc)
{
    return (long)sc[SC_EVALS_HI] * (long)EVALS_SPLIT + (long)sc[SC_EVALS_LO];
}

static void set_evals(float *sc, long e)
{
    sc[SC_EVALS_HI] = (float)(e / (long)EVALS_SPLIT);
    sc[SC_EVALS_LO] = (float)(e % (long)EVALS_SPLIT);
}

static double dot(const float *a, const float *b, size_t n)
{
    double s = 0.0;
    for (size_t i = 0; i < n; i++) s += (double)a[i] * b[i];
    return s;
}

static double max_abs(const float *a, size_t n)
{
    float m = 0.0f;
    for (size_t i = 0; i < n; i++) m = fabsf(a[i]) > m ? fabsf(a[i]) : m;
    return m;
}

/* One evaluation of the objective: the closure at the current parameters,
 * then the L2 term added to its loss and gradient. */
typedef struct lb_eval {
    mynn_optimizer *o;
    mynn_closure fn;
    void *user;
    const float *d;
    int count;              /* evaluations in this step */
    int ls_start;           /* count when the line search began (INT_MAX before) */
    float last_tf;          /* the step (from x0) of the last evaluation; NaN: none */
    double last_loss;       /* the closure's loss there */
} lb_eval;

typedef struct lb_point {
    double t, f, gtd, gmax; /* step, objective, g·d, max|g| */
} lb_point;

static mynn_status objective(lb_eval *e, double *data_loss, double *f)
{
    mynn_net *net = e->o->net;
    const size_t n = e->o->n;
    const float wd = e->o->cfg.weight_decay;
    double loss = 0.0;
    mynn_status s = e->fn(e->user, &loss);
    if (s) return s;
    e->count++;
    if (!isfinite(loss)) {
        if (e->count > e->ls_start)
            return mn_error(MYNN_ERR_NUMERIC,
                            "loss is %s at line-search evaluation %d of the L-BFGS step",
                            isnan(loss) ? "nan" : "inf", e->count - e->ls_start);
        return mn_error(MYNN_ERR_NUMERIC, "loss is %s at the L-BFGS step's starting weights",
                        isnan(loss) ? "nan" : "inf");
    }
    *data_loss = loss;
    e->last_loss = loss;
    *f = loss;
    if (wd != 0.0f) {
        float *p = net->params, *g = net->grads;
        for (size_t i = 0; i < n; i++) g[i] += wd * p[i];
        *f += 0.5 * wd * dot(p, p, n);
    }
    return MYNN_OK;
}

/* The objective at x0 + t d (parameters set to that point). */
static mynn_status eval_at(lb_eval *e, double t, lb_point *pt)
{
    mynn_optimizer *o = e->o;
    float *p = o->net->params;
    const float tf = (float)t;
    for (size_t i = 0; i < o->n; i++) p[i] = o->x0[i] + tf * e->d[i];
    double dl;
    pt->t = t;
    e->last_tf = NAN;
    mynn_status s = objective(e, &dl, &pt->f);
    if (s) return s;
    e->last_tf = tf;
    pt->gtd = dot(o->net->grads, e->d, o->n);
    pt->gmax = max_abs(o->net->grads, o->n);
    if (!isfinite(pt->gtd))
        return mn_error(MYNN_ERR_NUMERIC, "gradient is not finite at evaluation %d of the L-BFGS step",
                        e->count);
    return MYNN_OK;
}

/* The minimiser of the cubic through (x1, f1, g1) and (x2, f2, g2),
 * clamped to [lo, hi]; the midpoint when the cubic has none. */
static double cubic_min(double x1, double f1, double g1, double x2, double f2, double g2, double lo,
                        double hi)
{
    double d1 = g1 + g2 - 3.0 * (f1 - f2) / (x1 - x2);
    double d2sq = d1 * d1 - g1 * g2;
    if (!(d2sq >= 0.0)) return 0.5 * (lo + hi);
    double d2 = sqrt(d2sq), m;
    if (x1 <= x2) m = x2 - (x2 - x1) * ((g2 + d2 - d1) / (g2 - g1 + 2.0 * d2));
    else m = x1 - (x1 - x2) * ((g1 + d2 - d1) / (g1 - g2 + 2.0 * d2));
    if (!isfinite(m)) return 0.5 * (lo + hi);
    return m < lo ? lo : m > hi ? hi : m;
}

/* Near a minimum the decrease a step promises, -t g·d, falls below the
 * rounding noise of a float32 forward pass (relative 1e-7 or so of the
 * loss), and comparing losses says nothing: PyTorch's search then fails
 * (t = 0) with the gradient still far from zero.  There a trial is also
 * accepted on the approximate Wolfe conditions of Hager and Zhang
 * (CG_DESCENT): loss within NOISE |f0| of the start and the strong
 * curvature condition.  Above the noise nothing changes. */
#define NOISE 1e-6
static int approx_wolfe(const lb_point *p0, const lb_point *q)
{
    const double eps = NOISE * fabs(p0->f);
    return -q->t * p0->gtd <= eps && q->f <= p0->f + eps && fabs(q->gtd) <= -C2 * p0->gtd;
}

/* Zoom: shrink the bracket b[0], b[1] around a strong-Wolfe point. */
static mynn_status zoom(lb_eval *e, const lb_point *p0, lb_point *b, int *low, double tol, double d_norm)
{
    int lo = b[0].f <= b[1].f ? 0 : 1, hi = 1 - lo, insufficient = 0;
    while (e->count - e->ls_start - 1 < MAX_LS) {
        if (fabs(b[1].t - b[0].t) * d_norm < tol) break;
        double t = cubic_min(b[0].t, b[0].f, b[0].gtd, b[1].t, b[1].f, b[1].gtd,
                             fmin(b[0].t, b[1].t), fmax(b[0].t, b[1].t));
        double bmax = fmax(b[0].t, b[1].t), bmin = fmin(b[0].t, b[1].t), eps = 0.1 * (bmax - bmin);
        /* Too close to an end (twice, or outside): move a tenth inside. */
        if (fmin(bmax - t, t - bmin) < eps) {
            if (insufficient || t >= bmax || t <= bmin) {
                t = fabs(t - bmax) < fabs(t - bmin) ? bmax - eps : bmin + eps;
                insufficient = 0;
            } else {
                insufficient = 1;
            }
        } else {
            insufficient = 0;
        }
        lb_point q;
        mynn_status s = eval_at(e, t, &q);
        if (s) return s;
        if (approx_wolfe(p0, &q)) {
            b[lo] = q;
            break;
        }
        if (q.f > p0->f + C1 * t * p0->gtd || q.f >= b[lo].f) {
            b[hi] = q;
            lo = b[0].f <= b[1].f ? 0 : 1;
            hi = 1 - lo;
        } else {
            int done = fabs(q.gtd) <= -C2 * p0->gtd;
            if (!done && q.gtd * (b[hi].t - b[lo].t) >= 0.0) b[hi] = b[lo];
            b[lo] = q;
            if (done) break;
        }
    }
    *low = lo;
    return MYNN_OK;
}

/* The strong-Wolfe line search from p0 (t = 0) along e->d, first trial t.
 * *best receives the accepted point (possibly t = 0). */
static mynn_status strong_wolfe(lb_eval *e, const lb_point *p0, double t, double tol, lb_point *best)
{
    const double d_norm = max_abs(e->d, e->o->n);
    lb_point prev = *p0, cur, b[2];
    mynn_status s = eval_at(e, t, &cur);
    if (s) return s;
    int ls_iter = 0, done = 0, bracketed = 0;
    while (ls_iter < MAX_LS) {
        if (approx_wolfe(p0, &cur)) {
            done = 1;
            break;
        }
        if (cur.f > p0->f + C1 * cur.t * p0->gtd || (ls_iter > 1 && cur.f >= prev.f)) {
            bracketed = 1;
            break;
        }
        if (fabs(cur.gtd) <= -C2 * p0->gtd) {
            done = 1;
            break;
        }
        if (cur.gtd >= 0.0) {
            bracketed = 1;
            break;
        }
        /* Extrapolate: a cubic step between 1.01 t and 10 t. */
        double next = cubic_min(prev.t, prev.f, prev.gtd, cur.t, cur.f, cur.gtd,
                                cur.t + 0.01 * (cur.t - prev.t), cur.t * 10.0);
        prev = cur;
        if ((s = eval_at(e, next, &cur))) return s;
        ls_iter++;
    }
    if (done) {
        *best = cur;
        return MYNN_OK;
    }
    if (!bracketed) {   /* out of evaluations: the better of the start and the last */
        *best = cur.f < p0->f ? cur : *p0;
        return MYNN_OK;
    }
    b[0] = prev;
    b[1] = cur;
    int low;
    if ((s = zoom(e, p0, b, &low, tol, d_norm))) return s;
    *best = b[low];
    return MYNN_OK;
}

/* Push the pair (s = t d, y = g - prev_g) into the history when y·s is
 * safely positive (keeps the inverse-Hessian estimate positive definite). */
static void update_history(mynn_optimizer *o, lb_view v, const float *g)
{
    const size_t n = o->n;
    const int m = o->cfg.history;
    const float t = v.sc[SC_T];
    double ys = 0.0, yy = 0.0;
    for (size_t i = 0; i < n; i++) {
        float y = g[i] - v.prev_g[i], s = v.d[i] * t;
        ys += (double)y * s;
        yy += (double)y * y;
    }
    if (!(ys > 1e-10)) return;
    int count = (int)v.sc[SC_COUNT], head = (int)v.sc[SC_HEAD], slot;
    if (count < m) {
        slot = (head + count) % m;
        count++;
    } else {   /* full: the oldest slot gets the new pair */
        slot = head;
        head = (head + 1) % m;
    }
    float *S = v.S + (size_t)slot * n, *Y = v.Y + (size_t)slot * n;
    for (size_t i = 0; i < n; i++) {
        Y[i] = g[i] - v.prev_g[i];
        S[i] = v.d[i] * t;
    }
    v.ro[slot] = (float)(1.0 / ys);
    v.sc[SC_HDIAG] = (float)(ys / yy);
    v.sc[SC_COUNT] = (float)count;
    v.sc[SC_HEAD] = (float)head;
}

/* d = -H g by the two-loop recursion over the history, oldest at head. */
static void direction(mynn_optimizer *o, lb_view v, const float *g)
{
    const size_t n = o->n;
    const int m = o->cfg.history, count = (int)v.sc[SC_COUNT], head = (int)v.sc[SC_HEAD];
    float *d = v.d;
    for (size_t i = 0; i < n; i++) d[i] = -g[i];
    for (int k = count - 1; k >= 0; k--) {
        int j = (head + k) % m;
        const float *S = v.S + (size_t)j * n, *Y = v.Y + (size_t)j * n;
        double a = dot(S, d, n) * v.ro[j];
        o->al[k] = a;
        const float af = (float)a;
        for (size_t i = 0; i < n; i++) d[i] -= af * Y[i];
    }
    const float h = v.sc[SC_HDIAG];
    for (size_t i = 0; i < n; i++) d[i] *= h;
    for (int k = 0; k < count; k++) {
        int j = (head + k) % m;
        const float *S = v.S + (size_t)j * n, *Y = v.Y + (size_t)j * n;
        double be = dot(Y, d, n) * v.ro[j];
        const float c = (float)(o->al[k] - be);
        for (size_t i = 0; i < n; i++) d[i] += c * S[i];
    }
}

/* The objective and gradient at the current parameters: the stored ones
 * from the last step, or a fresh evaluation. */
static mynn_status start_point(lb_eval *e, lb_view v, lb_point *p0)
{
    mynn_optimizer *o = e->o;
    if (v.sc[SC_HAVE_CUR] == 0.0f) {
        double dl;
        mynn_status s = objective(e, &dl, &p0->f);
        if (s) return s;
        e->last_tf = 0.0f;
        memcpy(v.g, o->net->grads, o->n * sizeof *v.g);
    } else {
        p0->f = (double)v.sc[SC_F_HI] + (double)v.sc[SC_F_LO];
    }
    p0->gmax = max_abs(v.g, o->n);
    return MYNN_OK;
}

/* Make the last evaluation the one at the final parameters (x0 + tf d,
 * or unchanged when tf = 0) and store its objective and gradient. */
static mynn_status finish(lb_eval *e, lb_view v, float tf, float *loss)
{
    mynn_optimizer *o = e->o;
    if (!(e->last_tf == tf)) {
        double dl, f;
        mynn_status s = objective(e, &dl, &f);
        if (s) return s;
        memcpy(v.g, o->net->grads, o->n * sizeof *v.g);
        v.sc[SC_F_HI] = (float)f;
        v.sc[SC_F_LO] = (float)(f - (double)v.sc[SC_F_HI]);
    }
    v.sc[SC_HAVE_CUR] = 1.0f;
    if (loss) *loss = (float)e->last_loss;
    return MYNN_OK;
}

mynn_status mn_lbfgs_step(mynn_optimizer *o, float lr, mynn_closure fn, void *user, float *loss)
{
    lb_view v = view(o);
    const size_t n = o->n;
    const mynn_optim_config *c = &o->cfg;
    float *p = o->net->params;
    const float *g = v.g;
    lb_eval e = {o, fn, user, v.d, 0, INT_MAX, NAN, 0.0};
    lb_point p0 = {0.0, 0.0, 0.0, 0.0};
    if (v.sc[SC_CONVERGED] != 0.0f) return finish(&e, v, 0.0f, loss);
    mynn_status s = start_point(&e, v, &p0);
    if (s) return s;
    const int first = o->t == 0;
    long evals = get_evals(v.sc) + e.count;
    set_evals(v.sc, evals);
    if (p0.gmax <= c->tolerance_grad) {
        v.sc[SC_CONVERGED] = 1.0f;
        return finish(&e, v, 0.0f, loss);
    }
    if (first) {
        for (size_t i = 0; i < n; i++) v.d[i] = -g[i];
    } else {
        update_history(o, v, g);
        direction(o, v, g);
    }
    memcpy(v.prev_g, g, n * sizeof *g);
    double t = lr;
    if (first) {
        double l1 = 0.0;
        for (size_t i = 0; i < n; i++) l1 += fabs((double)g[i]);
        t = fmin(1.0, 1.0 / l1) * lr;
    }
    o->t++;
    p0.gtd = dot(g, v.d, n);
    if (p0.gtd > -c->tolerance_change) {   /* not a descent direction any more */
        v.sc[SC_T] = (float)t;
        v.sc[SC_CONVERGED] = 1.0f;
        return finish(&e, v, 0.0f, loss);
    }
    memcpy(o->x0, p, n * sizeof *p);
    e.ls_start = e.count;
    lb_point best;
    s = strong_wolfe(&e, &p0, t, c->tolerance_change, &best);
    if (s) {
        memcpy(p, o->x0, n * sizeof *p);
        return s;
    }
    const float tf = (float)best.t;
    float moved = 0.0f;
    for (size_t i = 0; i < n; i++) {
        float st = tf * v.d[i];
        p[i] = o->x0[i] + st;
        moved = fabsf(st) > moved ? fabsf(st) : moved;
    }
    v.sc[SC_T] = tf;
    evals += e.count - e.ls_start;
    set_evals(v.sc, evals);
    if ((c->max_evals > 0 && evals >= c->max_evals) || best.gmax <= c->tolerance_grad ||
        moved <= c->tolerance_change || fabs(best.f - p0.f) < c->tolerance_change)
        v.sc[SC_CONVERGED] = 1.0f;
    /* The accepted point's values, when it was the last evaluated. */
    if (e.last_tf == tf) {
        memcpy(v.g, o->net->grads, n * sizeof *v.g);
        v.sc[SC_F_HI] = (float)best.f;
        v.sc[SC_F_LO] = (float)(best.f - (double)v.sc[SC_F_HI]);
    }
    return finish(&e, v, tf, loss);
}
