/* Optimizers over the network's one flat parameter array and its one flat
 * gradient array: every update is a single loop over n_params.  The state
 * (momentum, moments, per-weight steps) is one array allocated by create;
 * step allocates nothing.
 *
 * Formulas (PyTorch's, g = the gradient after clipping and L2 decay):
 *   SGD       b = μ b + g;  d = nesterov ? g + μ b : b  (d = g when μ = 0);  p -= lr d
 *   Adam      m = β1 m + (1-β1) g;  v = β2 v + (1-β2) g²
 *             p -= lr/(1-β1^t) · m / (sqrt(v)/sqrt(1-β2^t) + eps)
 *   AdamW     p *= 1 - lr wd, then Adam without the L2 term
 *   RMSprop   v = α v + (1-α) g²;  p -= lr g / (sqrt(v) + eps)
 *   iRprop-   per weight a step Δ: same sign as the previous gradient ->
 *             Δ = min(Δ η+, Δmax), p -= sign(g) Δ; sign change ->
 *             Δ = max(Δ η-, Δmin), the stored gradient becomes 0 and the
 *             weight stays; previous gradient 0 -> p -= sign(g) Δ.
 * Clipping (clip_norm > 0) rescales the raw gradient to that global L2
 * norm before the L2 term is added, as torch.nn.utils.clip_grad_norm_
 * before optimizer.step() does.  L-BFGS (lbfgs.c) evaluates its own
 * gradients through a closure. */
#include "mynn.h"
#include "core/core.h"
#include "kernels/kernels.h"
#include "network/network.h"
#include "optim/optim.h"

#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char *const kind_names[] = { "sgd", "adam", "adamw", "rmsprop", "irprop", "lbfgs", "auto" };

static int name_is(const char *a, const char *b)
{
    for (; *a && *b; a++, b++)
        if (tolower((unsigned char)*a) != tolower((unsigned char)*b)) return 0;
    return *a == *b;
}

mynn_status mynn_optimizer_from_name(const char *name, mynn_optimizer_kind *out)
{
    if (!name || !out) return mn_error(MYNN_ERR_NULL, "mynn_optimizer_from_name: NULL argument");
    for (int k = 0; k <= MYNN_OPT_AUTO; k++)
        if (name_is(name, kind_names[k])) {
            *out = (mynn_optimizer_kind)k;
            return MYNN_OK;
        }
    if (name_is(name, "rprop") || name_is(name, "irprop-")) {
        *out = MYNN_OPT_IRPROP;
        return MYNN_OK;
    }
    if (name_is(name, "l-bfgs")) {
        *out = MYNN_OPT_LBFGS;
        return MYNN_OK;
    }
    return mn_error(MYNN_ERR_ARG,
                    "unknown optimizer \"%s\" (expected sgd, adam, adamw, rmsprop, irprop, lbfgs or auto)",
                    name);
}

const char *mynn_optimizer_name(mynn_optimizer_kind k)
{
    return (unsigned)k <= MYNN_OPT_AUTO ? kind_names[k] : "unknown";
}

void mynn_optim_config_default(mynn_optim_config *c, mynn_optimizer_kind kind)
{
    if (!c) return;
    memset(c, 0, sizeof *c);
    c->kind = kind;
    /* Every field gets a sensible value, so switching kind later works. */
    c->lr = 0.01f;
    c->momentum = 0.0f;
    c->nesterov = 0;
    c->beta1 = 0.9f;
    c->beta2 = 0.999f;
    c->eps = 1e-8f;
    c->alpha = 0.99f;
    c->weight_decay = 0.0f;
    c->clip_norm = 0.0f;
    c->eta_plus = 1.2f;
    c->eta_minus = 0.5f;
    c->delta0 = 0.1f;
    c->delta_min = 1e-6f;
    c->delta_max = 50.0f;
    c->history = 10;
    c->tolerance_grad = 1e-7f;
    c->tolerance_change = 1e-9f;
    c->max_evals = 0;
    switch (kind) {
    case MYNN_OPT_ADAM: c->lr = 1e-3f; break;
    case MYNN_OPT_LBFGS: c->lr = 1.0f; break;
    case MYNN_OPT_AUTO: c->lr = 0.0f; break;   /* each candidate's own */
    case MYNN_OPT_ADAMW: c->lr = 1e-3f; c->weight_decay = 0.01f; break;
    default: break; /* SGD, RMSprop: 0.01; iRprop-: lr unused */
    }
}

static int finite_in(float v, float lo, float hi) { return isfinite(v) && v >= lo && v <= hi; }

static mynn_status check_config(const mynn_optim_config *c)
{
    if (c->kind == MYNN_OPT_AUTO)
        return mn_error(MYNN_ERR_ARG, "auto is no optimizer: mynn_fit chooses one (MYNN_OPT_AUTO)");
    if ((unsigned)c->kind > MYNN_OPT_LBFGS)
        return mn_error(MYNN_ERR_ARG, "unknown optimizer kind %d", (int)c->kind);
    if (c->kind != MYNN_OPT_IRPROP && !finite_in(c->lr, 0.0f, INFINITY))
        return mn_error(MYNN_ERR_ARG, "learning rate must be a finite number >= 0, got %g",
                        (double)c->lr);
    if (!finite_in(c->weight_decay, 0.0f, INFINITY))
        return mn_error(MYNN_ERR_ARG, "weight decay must be a finite number >= 0, got %g",
                        (double)c->weight_decay);
    if (!finite_in(c->clip_norm, 0.0f, INFINITY))
        return mn_error(MYNN_ERR_ARG, "clip norm must be a finite number >= 0 (0 = off), got %g",
                        (double)c->clip_norm);
    switch (c->kind) {
    case MYNN_OPT_SGD:
        if (!finite_in(c->momentum, 0.0f, INFINITY))
            return mn_error(MYNN_ERR_ARG, "momentum must be a finite number >= 0, got %g",
                            (double)c->momentum);
        if (c->nesterov && c->momentum == 0.0f)
            return mn_error(MYNN_ERR_ARG, "Nesterov momentum needs a momentum > 0");
        break;
    case MYNN_OPT_ADAM:
    case MYNN_OPT_ADAMW:
        if (!finite_in(c->beta1, 0.0f, 1.0f) || c->beta1 == 1.0f || !finite_in(c->beta2, 0.0f, 1.0f) ||
            c->beta2 == 1.0f)
            return mn_error(MYNN_ERR_ARG, "Adam betas must be in [0, 1), got %g and %g",
                            (double)c->beta1, (double)c->beta2);
        if (!finite_in(c->eps, 0.0f, INFINITY))
            return mn_error(MYNN_ERR_ARG, "eps must be a finite number >= 0, got %g", (double)c->eps);
        break;
    case MYNN_OPT_RMSPROP:
        if (!finite_in(c->alpha, 0.0f, 1.0f))
            return mn_error(MYNN_ERR_ARG, "RMSprop alpha must be in [0, 1], got %g", (double)c->alpha);
        if (!finite_in(c->eps, 0.0f, INFINITY))
            return mn_error(MYNN_ERR_ARG, "eps must be a finite number >= 0, got %g", (double)c->eps);
        break;
    case MYNN_OPT_IRPROP:
        if (!(isfinite(c->eta_plus) && c->eta_plus >= 1.0f) ||
            !(isfinite(c->eta_minus) && c->eta_minus > 0.0f && c->eta_minus <= 1.0f))
            return mn_error(MYNN_ERR_ARG,
                            "iRprop- needs eta_plus >= 1 and 0 < eta_minus <= 1, got %g and %g",
                            (double)c->eta_plus, (double)c->eta_minus);
        if (!finite_in(c->delta_min, 0.0f, INFINITY) || !finite_in(c->delta_max, c->delta_min, INFINITY) ||
            !finite_in(c->delta0, c->delta_min, c->delta_max) || c->delta0 == 0.0f)
            return mn_error(MYNN_ERR_ARG,
                            "iRprop- needs 0 <= delta_min <= delta0 <= delta_max and delta0 > 0, "
                            "got %g, %g, %g", (double)c->delta_min, (double)c->delta0,
                            (double)c->delta_max);
        break;
    case MYNN_OPT_LBFGS:
        if (!(c->lr > 0.0f))
            return mn_error(MYNN_ERR_ARG, "L-BFGS needs a learning rate (first trial step) > 0, got %g",
                            (double)c->lr);
        if (c->history < 1 || c->history > 1000)
            return mn_error(MYNN_ERR_ARG, "L-BFGS history must be in 1..1000, got %d", c->history);
        if (!finite_in(c->tolerance_grad, 0.0f, INFINITY) || !finite_in(c->tolerance_change, 0.0f, INFINITY))
            return mn_error(MYNN_ERR_ARG, "L-BFGS tolerances must be finite numbers >= 0, got %g and %g",
                            (double)c->tolerance_grad, (double)c->tolerance_change);
        if (c->max_evals < 0)
            return mn_error(MYNN_ERR_ARG, "L-BFGS max_evals must be >= 0 (0 = no limit), got %ld",
                            c->max_evals);
        if (c->clip_norm != 0.0f)
            return mn_error(MYNN_ERR_ARG, "L-BFGS does not clip the gradient (its line search needs "
                            "the true gradient): clip norm must be 0, got %g", (double)c->clip_norm);
        break;
    case MYNN_OPT_AUTO: break;   /* refused above */
    }
    return MYNN_OK;
}

/* State floats per parameter: SGD 1 with momentum (else 0), Adam(W) 2
 * (m then v), RMSprop 1 (v), iRprop- 2 (previous gradient then Δ). */
static size_t state_per_param(const mynn_optim_config *c)
{
    switch (c->kind) {
    case MYNN_OPT_SGD: return c->momentum != 0.0f ? 1 : 0;
    case MYNN_OPT_RMSPROP: return 1;
    default: return 2;
    }
}

/* The state's length: per-parameter floats, or L-BFGS's layout. */
static int state_size(const mynn_optim_config *c, size_t n, size_t *out)
{
    if (c->kind == MYNN_OPT_LBFGS) {
        *out = mn_lbfgs_state_size(n, c->history);
        return *out == 0;
    }
    return mn_mul_size(state_per_param(c), n, out);
}

mynn_status mynn_optimizer_create(mynn_optimizer **out, mynn_net *net, const mynn_optim_config *cfg)
{
    if (!out) return mn_error(MYNN_ERR_NULL, "mynn_optimizer_create: out is NULL");
    *out = NULL;
    if (!net || !cfg) return mn_error(MYNN_ERR_NULL, "mynn_optimizer_create: NULL argument");
    if (!net->max_batch)
        return mn_error(MYNN_ERR_STATE, "mynn_optimizer_create: the network is not built");
    mynn_status s = check_config(cfg);
    if (s) return s;
    mynn_optimizer *o = mn_calloc(1, sizeof *o, "optimizer");
    if (!o) return MYNN_ERR_NOMEM;
    o->net = net;
    o->cfg = *cfg;
    o->n = net->n_params;
    if (state_size(cfg, o->n, &o->n_state)) {
        free(o);
        return mn_error(MYNN_ERR_NOMEM, "optimizer state size overflows");
    }
    if (o->n_state) {
        o->state = mn_calloc(o->n_state, sizeof(float), "optimizer state");
        if (!o->state) {
            free(o);
            return MYNN_ERR_NOMEM;
        }
    }
    if (cfg->kind == MYNN_OPT_IRPROP)
        for (size_t i = 0; i < o->n; i++) o->state[o->n + i] = cfg->delta0;
    if (cfg->kind == MYNN_OPT_LBFGS) {
        o->x0 = mn_calloc(o->n ? o->n : 1, sizeof *o->x0, "L-BFGS line-search start");
        o->al = mn_calloc((size_t)cfg->history, sizeof *o->al, "L-BFGS coefficients");
        if (!o->x0 || !o->al) {
            mynn_optimizer_free(o);
            return MYNN_ERR_NOMEM;
        }
        mn_lbfgs_init(o);
    }
    *out = o;
    return MYNN_OK;
}

void mynn_optimizer_free(mynn_optimizer *opt)
{
    if (!opt) return;
    free(opt->state);
    free(opt->x0);
    free(opt->al);
    free(opt);
}

float *mynn_optimizer_state(mynn_optimizer *opt, size_t *n)
{
    if (n) *n = opt ? opt->n_state : 0;
    return opt ? opt->state : NULL;
}

long mynn_optimizer_steps(const mynn_optimizer *opt) { return opt ? opt->t : 0; }

void mynn_optimizer_set_steps(mynn_optimizer *opt, long t)
{
    if (opt) opt->t = t > 0 ? t : 0;
}

/* The factor that brings the gradient's global L2 norm down to clip. */
static float clip_scale(const float *g, size_t n, float clip)
{
    if (clip <= 0.0f) return 1.0f;
    double s = 0.0;
    for (size_t i = 0; i < n; i++) s += (double)g[i] * g[i];
    double norm = sqrt(s);
    return norm > (double)clip ? (float)((double)clip / norm) : 1.0f;
}

static mynn_status check_step(const mynn_optimizer *opt, float lr, const char *who)
{
    mynn_net *net = opt->net;
    if (!net->max_batch || net->n_params != opt->n)
        return mn_error(MYNN_ERR_STATE,
                        "%s: the network was rebuilt or freed since the optimizer was created", who);
    const mynn_optim_config *c = &opt->cfg;
    if (c->kind == MYNN_OPT_LBFGS)
        return mn_error(MYNN_ERR_STATE, "%s: L-BFGS evaluates the loss itself: "
                        "use mynn_optimizer_step_closure", who);
    if (c->kind != MYNN_OPT_IRPROP && !(isfinite(lr) && lr >= 0.0f))
        return mn_error(MYNN_ERR_ARG, "learning rate must be a finite number >= 0, got %g",
                        (double)lr);
    return MYNN_OK;
}

int mn_optimizer_fusable(const mynn_optimizer *o)
{
    const mynn_optimizer_kind k = o->cfg.kind;
    return o->cfg.clip_norm <= 0.0f && (k == MYNN_OPT_SGD || k == MYNN_OPT_ADAM ||
                                        k == MYNN_OPT_ADAMW || k == MYNN_OPT_RMSPROP);
}

/* Adam (L2 added to the gradient) and AdamW (p *= 1 - lr·wd first), with
 * PyTorch's bias correction: p -= lr/(1-b1^t) · m / (sqrt(v)/sqrt(1-b2^t) + eps). */
mynn_status mn_optimizer_begin(mynn_optimizer *opt, float lr, float cs, mn_update *u)
{
    mynn_status s = check_step(opt, lr, "mynn_optimizer_step");
    if (s) return s;
    const mynn_optim_config *c = &opt->cfg;
    if (c->kind == MYNN_OPT_IRPROP)
        return mn_error(MYNN_ERR_STATE, "mn_optimizer_begin: iRprop- is not element-wise per step");
    memset(u, 0, sizeof *u);
    opt->t++;
    u->cs = cs;
    u->lr = lr;
    u->wd = c->weight_decay;
    float *st = opt->state;
    switch (c->kind) {
    case MYNN_OPT_SGD:
        u->rule = MN_UPD_SGD;
        u->mu = c->momentum;
        u->nesterov = c->nesterov;
        u->s0 = c->momentum != 0.0f ? st : NULL;
        break;
    case MYNN_OPT_ADAM:
    case MYNN_OPT_ADAMW: {
        const int decoupled = c->kind == MYNN_OPT_ADAMW;
        u->rule = MN_UPD_ADAM;
        u->wd = decoupled ? 0.0f : c->weight_decay;
        u->shrink = decoupled ? (float)(1.0 - (double)lr * c->weight_decay) : 1.0f;
        u->b1 = c->beta1;
        u->b2 = c->beta2;
        u->step = (float)((double)lr / (1.0 - pow(c->beta1, (double)opt->t)));
        u->sqrt_bc2 = (float)sqrt(1.0 - pow(c->beta2, (double)opt->t));
        u->eps = c->eps;
        u->s0 = st;
        u->s1 = st + opt->n;
        break;
    }
    case MYNN_OPT_RMSPROP:
        u->rule = MN_UPD_RMSPROP;
        u->alpha = c->alpha;
        u->eps = c->eps;
        u->s0 = st;
        break;
    default:
        break;
    }
    return MYNN_OK;
}

static void step_irprop(const mynn_optim_config *c, float *p, const float *gr, float *prev,
                        float *delta, size_t n, float cs)
{
    const float up = c->eta_plus, down = c->eta_minus, wd = c->weight_decay;
    const float dmin = c->delta_min, dmax = c->delta_max;
    for (size_t i = 0; i < n; i++) {
        float g = gr[i] * cs + wd * p[i];
        float sign = prev[i] * g;
        if (sign > 0.0f) {
            float d = delta[i] * up;
            delta[i] = d < dmax ? d : dmax;
        } else if (sign < 0.0f) {
            float d = delta[i] * down;
            delta[i] = d > dmin ? d : dmin;
            g = 0.0f; /* iRprop-: forget this gradient, do not move */
        }
        if (g > 0.0f) p[i] -= delta[i];
        else if (g < 0.0f) p[i] += delta[i];
        prev[i] = g;
    }
}

mynn_status mynn_optimizer_step(mynn_optimizer *opt, float lr)
{
    if (!opt) return mn_error(MYNN_ERR_NULL, "mynn_optimizer_step: optimizer is NULL");
    mynn_status s = check_step(opt, lr, "mynn_optimizer_step");
    if (s) return s;
    mynn_net *net = opt->net;
    const mynn_optim_config *c = &opt->cfg;
    size_t n = opt->n;
    float *p = net->params;
    const float *g = net->grads;
    float cs = clip_scale(g, n, c->clip_norm);
    if (c->kind == MYNN_OPT_IRPROP) {
        opt->t++;
        step_irprop(c, p, g, opt->state, opt->state + n, n, cs);
        return MYNN_OK;
    }
    mn_update u;
    s = mn_optimizer_begin(opt, lr, cs, &u);
    if (s) return s;
    mn_k_update(&u, p, g, 0, n);
    return MYNN_OK;
}

mynn_status mynn_optimizer_step_closure(mynn_optimizer *opt, float lr, mynn_closure f, void *user,
                                        float *loss)
{
    if (!opt || !f) return mn_error(MYNN_ERR_NULL, "mynn_optimizer_step_closure: NULL argument");
    mynn_net *net = opt->net;
    if (!net->max_batch || net->n_params != opt->n)
        return mn_error(MYNN_ERR_STATE,
                        "mynn_optimizer_step_closure: the network was rebuilt or freed since the "
                        "optimizer was created");
    if (opt->cfg.kind == MYNN_OPT_LBFGS) {
        if (!(isfinite(lr) && lr > 0.0f))
            return mn_error(MYNN_ERR_ARG, "L-BFGS needs a learning rate (first trial step) > 0, got %g",
                            (double)lr);
        return mn_lbfgs_step(opt, lr, f, user, loss);
    }
    double l = 0.0;
    mynn_status s = f(user, &l);
    if (s) return s;
    if (loss) *loss = (float)l;
    if (!isfinite(l))
        return mn_error(MYNN_ERR_NUMERIC, "loss is %s before the optimizer step", isnan(l) ? "nan" : "inf");
    return mynn_optimizer_step(opt, lr);
}

int mynn_optimizer_converged(const mynn_optimizer *opt)
{
    return opt && opt->cfg.kind == MYNN_OPT_LBFGS && mn_lbfgs_converged(opt);
}
