/* Optimizers and schedules: every update checked against the formulas
 * written again here, plainly, in double precision, on a hand-set
 * parameter vector over several steps with hand-set gradients. */
#include "mynn.h"
#include "check.h"
#include "kernels/kernels.h"

#define NP 6      /* tiny net: 1 input -> 3 identity outputs = 3 weights + 3 biases */
#define STEPS 5
#define PI_ 3.14159265358979323846

static const double P0[NP] = { 0.5, -1.2, 2.0, 0.0, -0.3, 0.8 };
/* Gradients per step: sign changes, zeros and a large entry on purpose. */
static const double G[STEPS][NP] = {
    { 0.3, -0.2, 1.5, 0.0, 0.05, -4.0 },
    { 0.1, 0.4, 1.2, 0.2, -0.05, -3.0 },
    { -0.2, 0.3, 0.9, -0.1, -0.01, 2.0 },
    { 0.0, 0.1, -0.4, -0.3, 0.02, 1.0 },
    { 0.25, -0.6, 0.7, 0.0, 0.03, 0.5 },
};

static mynn_net *tiny_net(void)
{
    mynn_net *net = NULL;
    if (mynn_create(&net, 1) || mynn_add_dense(net, 3, MYNN_ACT_IDENTITY) ||
        mynn_build(net, 4, MYNN_INIT_XAVIER, 1)) {
        mynn_free(net);
        return NULL;
    }
    size_t n;
    float *p = mynn_params(net, &n);
    for (int i = 0; i < NP; i++) p[i] = (float)P0[i];
    return net;
}

static void set_grads(mynn_net *net, int t)
{
    float *g = mynn_grads(net, NULL);
    for (int i = 0; i < NP; i++) g[i] = (float)G[t][i];
}

static int close_to(double got, double want) { return fabs(got - want) <= 1e-6 + 2e-5 * fabs(want); }

/* The clipping factor for step t's gradient (1 when clip is 0). */
static double clip_factor(int t, double clip)
{
    if (clip <= 0) return 1.0;
    double s = 0;
    for (int i = 0; i < NP; i++) s += G[t][i] * G[t][i];
    double norm = sqrt(s);
    return norm > clip ? clip / norm : 1.0;
}

/* Run the library's optimizer and the double reference side by side. */
typedef void (*ref_step)(const mynn_optim_config *c, int t, double lr, double *p, double *s1,
                         double *s2);

static void compare(const char *what, const mynn_optim_config *c, double lr, ref_step ref)
{
    mynn_net *net = tiny_net();
    CHECK(net != NULL, "%s: net", what);
    if (!net) return;
    size_t n;
    CHECK(mynn_params(net, &n) && n == NP, "%s: %zu params", what, n);
    mynn_optimizer *opt = NULL;
    CHECK_OK(mynn_optimizer_create(&opt, net, c));
    if (!opt) {
        mynn_free(net);
        return;
    }
    double p[NP], s1[NP] = { 0 }, s2[NP] = { 0 };
    for (int i = 0; i < NP; i++) p[i] = P0[i];
    if (c->kind == MYNN_OPT_IRPROP)
        for (int i = 0; i < NP; i++) s2[i] = c->delta0;
    for (int t = 0; t < STEPS; t++) {
        set_grads(net, t);
        CHECK_OK(mynn_optimizer_step(opt, (float)lr));
        ref(c, t, lr, p, s1, s2);
        const float *got = mynn_params(net, NULL);
        for (int i = 0; i < NP; i++)
            CHECK(close_to(got[i], p[i]), "%s: step %d param %d: got %.9g, want %.9g", what, t + 1,
                  i, (double)got[i], p[i]);
        /* The gradient buffer is left as it was. */
        CHECK(mynn_grads(net, NULL)[0] == (float)G[t][0], "%s: gradients changed", what);
    }
    CHECK(mynn_optimizer_steps(opt) == STEPS, "%s: steps %ld", what, mynn_optimizer_steps(opt));
    size_t ns;
    const float *st = mynn_optimizer_state(opt, &ns);
    if (ns >= NP) /* the first state array (momentum, m, v or previous gradient) */
        for (int i = 0; i < NP; i++)
            CHECK(close_to(st[i], s1[i]), "%s: state %d: got %.9g, want %.9g", what, i,
                  (double)st[i], s1[i]);
    mynn_optimizer_free(opt);
    mynn_free(net);
}

/* ---- reference formulas ---- */

static void ref_sgd(const mynn_optim_config *c, int t, double lr, double *p, double *buf, double *unused)
{
    (void)unused;
    double cf = clip_factor(t, c->clip_norm);
    for (int i = 0; i < NP; i++) {
        double g = G[t][i] * cf + (double)c->weight_decay * p[i];
        if (c->momentum != 0) {
            buf[i] = c->momentum * buf[i] + g;
            g = c->nesterov ? g + c->momentum * buf[i] : buf[i];
        }
        p[i] -= lr * g;
    }
}

static void ref_adam(const mynn_optim_config *c, int t, double lr, double *p, double *m, double *v)
{
    double cf = clip_factor(t, c->clip_norm);
    double b1 = c->beta1, b2 = c->beta2, step = t + 1;
    int decoupled = c->kind == MYNN_OPT_ADAMW;
    for (int i = 0; i < NP; i++) {
        double g = G[t][i] * cf;
        if (decoupled) p[i] -= lr * c->weight_decay * p[i];
        else g += c->weight_decay * p[i];
        m[i] = b1 * m[i] + (1 - b1) * g;
        v[i] = b2 * v[i] + (1 - b2) * g * g;
        double mhat = m[i] / (1 - pow(b1, step));
        double vhat = v[i] / (1 - pow(b2, step));
        p[i] -= lr * mhat / (sqrt(vhat) + c->eps);
    }
}

static void ref_rmsprop(const mynn_optim_config *c, int t, double lr, double *p, double *v, double *unused)
{
    (void)unused;
    double cf = clip_factor(t, c->clip_norm);
    for (int i = 0; i < NP; i++) {
        double g = G[t][i] * cf + c->weight_decay * p[i];
        v[i] = c->alpha * v[i] + (1 - c->alpha) * g * g;
        p[i] -= lr * g / (sqrt(v[i]) + c->eps);
    }
}

static void ref_irprop(const mynn_optim_config *c, int t, double lr, double *p, double *prev, double *delta)
{
    (void)lr;
    double cf = clip_factor(t, c->clip_norm);
    for (int i = 0; i < NP; i++) {
        double g = G[t][i] * cf + c->weight_decay * p[i];
        if (prev[i] * g > 0) {
            delta[i] = fmin(delta[i] * c->eta_plus, c->delta_max);
        } else if (prev[i] * g < 0) {
            delta[i] = fmax(delta[i] * c->eta_minus, c->delta_min);
            g = 0;
        }
        if (g > 0) p[i] -= delta[i];
        if (g < 0) p[i] += delta[i];
        prev[i] = g;
    }
}

/* ---- tests ---- */

static void test_defaults_and_names(void)
{
    mynn_optim_config c;
    mynn_optim_config_default(&c, MYNN_OPT_SGD);
    CHECK(c.lr == 0.01f && c.momentum == 0.0f && !c.nesterov && c.weight_decay == 0.0f, "sgd defaults");
    mynn_optim_config_default(&c, MYNN_OPT_ADAM);
    CHECK(c.lr == 1e-3f && c.beta1 == 0.9f && c.beta2 == 0.999f && c.eps == 1e-8f &&
          c.weight_decay == 0.0f, "adam defaults");
    mynn_optim_config_default(&c, MYNN_OPT_ADAMW);
    CHECK(c.lr == 1e-3f && c.weight_decay == 0.01f, "adamw defaults");
    mynn_optim_config_default(&c, MYNN_OPT_RMSPROP);
    CHECK(c.lr == 0.01f && c.alpha == 0.99f && c.eps == 1e-8f, "rmsprop defaults");
    mynn_optim_config_default(&c, MYNN_OPT_IRPROP);
    CHECK(c.eta_plus == 1.2f && c.eta_minus == 0.5f && c.delta0 == 0.1f && c.delta_min == 1e-6f &&
          c.delta_max == 50.0f && c.clip_norm == 0.0f, "irprop defaults");

    const char *names[] = { "sgd", "adam", "adamw", "rmsprop", "irprop" };
    for (int k = 0; k <= MYNN_OPT_IRPROP; k++) {
        mynn_optimizer_kind got = MYNN_OPT_SGD;
        CHECK_OK(mynn_optimizer_from_name(names[k], &got));
        CHECK((int)got == k, "%s -> %d", names[k], (int)got);
        CHECK(strcmp(mynn_optimizer_name((mynn_optimizer_kind)k), names[k]) == 0, "name %d", k);
    }
    mynn_optimizer_kind got = MYNN_OPT_SGD;
    CHECK_OK(mynn_optimizer_from_name("rprop", &got));
    CHECK(got == MYNN_OPT_IRPROP, "rprop");
    got = MYNN_OPT_SGD;
    CHECK_OK(mynn_optimizer_from_name("iRprop-", &got));
    CHECK(got == MYNN_OPT_IRPROP, "irprop-");
    CHECK_OK(mynn_optimizer_from_name("Adam", &got));
    CHECK(got == MYNN_OPT_ADAM, "case");
    CHECK_OK(mynn_optimizer_from_name("L-BFGS", &got));
    CHECK(got == MYNN_OPT_LBFGS && !strcmp(mynn_optimizer_name(got), "lbfgs"), "l-bfgs");
    CHECK(mynn_optimizer_from_name("adamax", &got) == MYNN_ERR_ARG, "unknown name");
    CHECK(strstr(mynn_last_error(), "lbfgs") != NULL, "message: %s", mynn_last_error());
    CHECK(mynn_optimizer_from_name(NULL, &got) == MYNN_ERR_NULL, "NULL name");
    CHECK(strcmp(mynn_optimizer_name((mynn_optimizer_kind)42), "unknown") == 0, "bad kind name");
}

static void test_sgd(void)
{
    mynn_optim_config c;
    mynn_optim_config_default(&c, MYNN_OPT_SGD);
    compare("sgd", &c, 0.1, ref_sgd);
    c.weight_decay = 0.05f;
    compare("sgd+wd", &c, 0.1, ref_sgd);
    c.momentum = 0.9f;
    compare("sgd+momentum+wd", &c, 0.05, ref_sgd);
    c.nesterov = 1;
    compare("sgd+nesterov+wd", &c, 0.05, ref_sgd);
    c.weight_decay = 0.0f;
    c.clip_norm = 1.0f;
    compare("sgd+nesterov+clip", &c, 0.05, ref_sgd);
}

static void test_adam(void)
{
    mynn_optim_config c;
    mynn_optim_config_default(&c, MYNN_OPT_ADAM);
    compare("adam", &c, 0.01, ref_adam);
    c.weight_decay = 0.1f;
    c.beta1 = 0.8f;
    c.beta2 = 0.95f;
    c.eps = 1e-3f;
    compare("adam+l2", &c, 0.05, ref_adam);
    c.clip_norm = 0.5f;
    compare("adam+l2+clip", &c, 0.05, ref_adam);
    mynn_optim_config_default(&c, MYNN_OPT_ADAMW);
    compare("adamw", &c, 0.01, ref_adam);
    c.weight_decay = 0.5f;
    compare("adamw wd .5", &c, 0.1, ref_adam);

    /* AdamW's decay is decoupled: a zero gradient still shrinks p by lr·wd. */
    mynn_net *net = tiny_net();
    mynn_optimizer *opt = NULL;
    CHECK_OK(mynn_optimizer_create(&opt, net, &c));
    if (opt) {
        memset(mynn_grads(net, NULL), 0, NP * sizeof(float));
        CHECK_OK(mynn_optimizer_step(opt, 0.1f));
        for (int i = 0; i < NP; i++)
            CHECK(close_to(mynn_params(net, NULL)[i], P0[i] * (1 - 0.1 * 0.5)), "adamw decay %d", i);
        size_t ns;
        CHECK(mynn_optimizer_state(opt, &ns) && ns == 2 * NP, "adam state %zu", ns);
        /* Bias correction follows the step counter. */
        mynn_optimizer_set_steps(opt, 100);
        CHECK(mynn_optimizer_steps(opt) == 100, "set_steps");
        mynn_optimizer_set_steps(opt, -3);
        CHECK(mynn_optimizer_steps(opt) == 0, "negative set_steps");
    }
    mynn_optimizer_free(opt);
    mynn_free(net);
}

static void test_rmsprop(void)
{
    mynn_optim_config c;
    mynn_optim_config_default(&c, MYNN_OPT_RMSPROP);
    compare("rmsprop", &c, 0.01, ref_rmsprop);
    c.alpha = 0.9f;
    c.weight_decay = 0.02f;
    c.eps = 1e-4f;
    compare("rmsprop+wd", &c, 0.03, ref_rmsprop);
    c.clip_norm = 2.0f;
    compare("rmsprop+clip", &c, 0.03, ref_rmsprop);
}

static void test_irprop(void)
{
    mynn_optim_config c;
    mynn_optim_config_default(&c, MYNN_OPT_IRPROP);
    compare("irprop", &c, 123.0, ref_irprop);   /* lr is ignored */
    c.weight_decay = 0.01f;
    c.delta_max = 0.13f;                          /* the cap is reached */
    c.delta_min = 0.04f;                          /* and the floor */
    compare("irprop+wd+limits", &c, 0.0, ref_irprop);

    /* Sign change, by hand: weight 0's gradient goes +0.3, +0.1, -0.2. */
    mynn_optim_config_default(&c, MYNN_OPT_IRPROP);
    mynn_net *net = tiny_net();
    mynn_optimizer *opt = NULL;
    CHECK_OK(mynn_optimizer_create(&opt, net, &c));
    if (!opt) {
        mynn_free(net);
        return;
    }
    float *p = mynn_params(net, NULL);
    size_t ns;
    float *st = mynn_optimizer_state(opt, &ns);
    CHECK(ns == 2 * NP, "irprop state %zu", ns);
    set_grads(net, 0);
    mynn_optimizer_step(opt, 0.0f);
    CHECK(close_to(p[0], 0.5 - 0.1), "first step moves by delta0: %g", (double)p[0]);
    CHECK(close_to(p[3], 0.0), "zero gradient does not move: %g", (double)p[3]);
    set_grads(net, 1);
    mynn_optimizer_step(opt, 0.0f);
    CHECK(close_to(p[0], 0.5 - 0.1 - 0.12), "same sign grows by 1.2: %g", (double)p[0]);
    CHECK(close_to(st[NP + 0], 0.12), "delta 0.12: %g", (double)st[NP]);
    float before = p[0];
    set_grads(net, 2);
    mynn_optimizer_step(opt, 0.0f);
    CHECK(p[0] == before, "sign change: the weight stays (%g -> %g)", (double)before, (double)p[0]);
    CHECK(close_to(st[NP + 0], 0.06), "sign change halves delta: %g", (double)st[NP]);
    CHECK(st[0] == 0.0f, "sign change stores a zero gradient: %g", (double)st[0]);
    set_grads(net, 3);   /* gradient 0 now: previous 0, so no move and delta kept */
    mynn_optimizer_step(opt, 0.0f);
    CHECK(p[0] == before && close_to(st[NP], 0.06), "after the change");
    set_grads(net, 4);   /* +0.25 after a stored 0: moves by the kept delta */
    mynn_optimizer_step(opt, 0.0f);
    CHECK(close_to(p[0], before - 0.06), "moves again: %g", (double)p[0]);
    mynn_optimizer_free(opt);
    mynn_free(net);
}

static void test_sgd_state_layout(void)
{
    mynn_optim_config c;
    mynn_optim_config_default(&c, MYNN_OPT_SGD);
    mynn_net *net = tiny_net();
    mynn_optimizer *opt = NULL;
    size_t ns = 99;
    CHECK_OK(mynn_optimizer_create(&opt, net, &c));
    mynn_optimizer_state(opt, &ns);
    CHECK(ns == 0, "plain SGD has no state: %zu", ns);
    mynn_optimizer_free(opt);
    c.momentum = 0.5f;
    CHECK_OK(mynn_optimizer_create(&opt, net, &c));
    mynn_optimizer_state(opt, &ns);
    CHECK(ns == NP, "momentum state %zu", ns);
    mynn_optimizer_free(opt);
    mynn_optim_config_default(&c, MYNN_OPT_RMSPROP);
    CHECK_OK(mynn_optimizer_create(&opt, net, &c));
    mynn_optimizer_state(opt, &ns);
    CHECK(ns == NP, "rmsprop state %zu", ns);
    mynn_optimizer_free(opt);
    mynn_optimizer_free(NULL);
    CHECK(mynn_optimizer_state(NULL, &ns) == NULL && ns == 0, "NULL state");
    CHECK(mynn_optimizer_steps(NULL) == 0, "NULL steps");
    mynn_free(net);
}

static void test_bad_args(void)
{
    mynn_optim_config c;
    mynn_optim_config_default(&c, MYNN_OPT_SGD);
    mynn_optimizer *opt = NULL;
    mynn_net *net = tiny_net();
    mynn_net *unbuilt = NULL;
    mynn_create(&unbuilt, 2);
    mynn_add_dense(unbuilt, 1, MYNN_ACT_IDENTITY);

    CHECK(mynn_optimizer_create(NULL, net, &c) == MYNN_ERR_NULL, "NULL out");
    CHECK(mynn_optimizer_create(&opt, NULL, &c) == MYNN_ERR_NULL, "NULL net");
    CHECK(mynn_optimizer_create(&opt, net, NULL) == MYNN_ERR_NULL, "NULL config");
    CHECK(mynn_optimizer_create(&opt, unbuilt, &c) == MYNN_ERR_STATE, "unbuilt net");
    CHECK(strlen(mynn_last_error()) > 0, "message");

    struct { const char *what; mynn_optimizer_kind kind; int field; float value; } bad[] = {
        { "negative lr", MYNN_OPT_SGD, 0, -1.0f },
        { "nan lr", MYNN_OPT_ADAM, 0, NAN },
        { "inf lr", MYNN_OPT_RMSPROP, 0, INFINITY },
        { "negative momentum", MYNN_OPT_SGD, 1, -0.5f },
        { "beta1 = 1", MYNN_OPT_ADAM, 2, 1.0f },
        { "beta2 < 0", MYNN_OPT_ADAMW, 3, -0.1f },
        { "negative wd", MYNN_OPT_SGD, 4, -0.1f },
        { "nan clip", MYNN_OPT_ADAM, 5, NAN },
        { "alpha > 1", MYNN_OPT_RMSPROP, 6, 1.5f },
        { "eta_minus 0", MYNN_OPT_IRPROP, 7, 0.0f },
        { "delta0 > delta_max", MYNN_OPT_IRPROP, 8, 100.0f },
        { "negative eps", MYNN_OPT_ADAM, 9, -1e-8f },
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        mynn_optim_config_default(&c, bad[i].kind);
        float *f[] = { &c.lr, &c.momentum, &c.beta1, &c.beta2, &c.weight_decay, &c.clip_norm,
                       &c.alpha, &c.eta_minus, &c.delta0, &c.eps };
        *f[bad[i].field] = bad[i].value;
        opt = NULL;
        CHECK(mynn_optimizer_create(&opt, net, &c) == MYNN_ERR_ARG, "%s accepted", bad[i].what);
        CHECK(opt == NULL, "%s: out set", bad[i].what);
    }
    mynn_optim_config_default(&c, MYNN_OPT_SGD);
    c.nesterov = 1;
    CHECK(mynn_optimizer_create(&opt, net, &c) == MYNN_ERR_ARG, "nesterov without momentum");
    c.nesterov = 0;
    c.kind = (mynn_optimizer_kind)17;
    CHECK(mynn_optimizer_create(&opt, net, &c) == MYNN_ERR_ARG, "bad kind");

    mynn_optim_config_default(&c, MYNN_OPT_ADAM);
    CHECK_OK(mynn_optimizer_create(&opt, net, &c));
    CHECK(mynn_optimizer_step(NULL, 0.1f) == MYNN_ERR_NULL, "NULL step");
    CHECK(mynn_optimizer_step(opt, -0.1f) == MYNN_ERR_ARG, "negative lr step");
    CHECK(mynn_optimizer_step(opt, NAN) == MYNN_ERR_ARG, "nan lr step");
    CHECK(mynn_optimizer_steps(opt) == 0, "failed steps do not count");
    mynn_optimizer_free(opt);

    /* iRprop- ignores lr entirely. */
    mynn_optim_config_default(&c, MYNN_OPT_IRPROP);
    CHECK_OK(mynn_optimizer_create(&opt, net, &c));
    CHECK_OK(mynn_optimizer_step(opt, -5.0f));
    mynn_optimizer_free(opt);
    mynn_free(unbuilt);
    mynn_free(net);
}

static int near_f(float a, double b) { return fabs((double)a - b) <= 1e-6 * (1 + fabs(b)); }

/* A net large enough for the threaded, denormal-flushing update kernels:
 * every optimizer gives the same parameters at 1 and 2 threads, and Adam
 * matches the double-precision formula on a sample of entries, including
 * moments that decay towards the denormal range (gradients of 0). */
static void large_run(mynn_optimizer_kind kind, int threads, float *out, size_t *np)
{
    mynn_set_threads(threads);
    mynn_net *net = NULL;
    CHECK_OK(mynn_create(&net, 300));
    CHECK_OK(mynn_add_dense(net, 200, MYNN_ACT_RELU));
    CHECK_OK(mynn_build(net, 1, MYNN_INIT_XAVIER, 3));
    mynn_optim_config c;
    mynn_optim_config_default(&c, kind);
    if (kind == MYNN_OPT_SGD) c.momentum = 0.9f;
    mynn_optimizer *o = NULL;
    CHECK_OK(mynn_optimizer_create(&o, net, &c));
    size_t n;
    float *g = mynn_grads(net, &n);
    for (int t = 0; t < 300; t++) {
        for (size_t i = 0; i < n; i++) g[i] = t < 5 && i % 3 ? (float)((int)(i % 7) - 3) * 0.1f : 0.0f;
        CHECK_OK(mynn_optimizer_step(o, c.lr));
    }
    memcpy(out, mynn_params(net, NULL), n * sizeof *out);
    *np = n;
    mynn_optimizer_free(o);
    mynn_free(net);
    mynn_set_threads(0);
}

static void test_large_threaded(void)
{
    enum { N = 300 * 200 + 200 };
    static float a[N], b[N], p0[N];
    const mynn_optimizer_kind kinds[] = {MYNN_OPT_SGD, MYNN_OPT_ADAM, MYNN_OPT_ADAMW, MYNN_OPT_RMSPROP};
    for (int k = 0; k < 4; k++) {
        size_t na, nb;
        large_run(kinds[k], 1, a, &na);
        large_run(kinds[k], 2, b, &nb);
        CHECK(na == N && nb == N && memcmp(a, b, sizeof a) == 0, "%s: 1 and 2 threads differ",
              mynn_optimizer_name(kinds[k]));
    }
    /* Adam in double for a few entries, from the same initial weights. */
    mynn_net *net = NULL;
    CHECK_OK(mynn_create(&net, 300));
    CHECK_OK(mynn_add_dense(net, 200, MYNN_ACT_RELU));
    CHECK_OK(mynn_build(net, 1, MYNN_INIT_XAVIER, 3));
    memcpy(p0, mynn_params(net, NULL), sizeof p0);
    mynn_free(net);
    size_t n;
    large_run(MYNN_OPT_ADAM, 2, a, &n);
    for (size_t i = 0; i < N; i += 997) {
        double p = p0[i], m = 0, v = 0;
        for (int t = 1; t <= 300; t++) {
            double g = t <= 5 && i % 3 ? (double)(float)((int)(i % 7) - 3) * 0.1f : 0.0;
            m = 0.9 * m + 0.1 * g;
            v = 0.999 * v + 0.001 * g * g;
            p -= 1e-3 / (1 - pow(0.9, t)) * m / (sqrt(v) / sqrt(1 - pow(0.999, t)) + 1e-8);
        }
        CHECK(close_to(a[i], p), "adam entry %zu: %.9g vs %.9g", i, a[i], p);
    }
}

static void test_schedules(void)
{
    CHECK(mynn_schedule_lr(NULL, 0.3f, 7) == 0.3f, "NULL schedule");
    mynn_schedule s;
    memset(&s, 0, sizeof s);
    s.kind = MYNN_SCHED_CONSTANT;
    CHECK(mynn_schedule_lr(&s, 0.1f, 0) == 0.1f && mynn_schedule_lr(&s, 0.1f, 99) == 0.1f, "constant");

    s.kind = MYNN_SCHED_STEP;
    s.step_size = 2;
    s.gamma = 0.5f;
    const double step_want[] = { 0.1, 0.1, 0.05, 0.05, 0.025, 0.025, 0.0125 };
    for (int e = 0; e < 7; e++)
        CHECK(near_f(mynn_schedule_lr(&s, 0.1f, e), step_want[e]), "step e%d: %g", e,
              (double)mynn_schedule_lr(&s, 0.1f, e));

    s.kind = MYNN_SCHED_COSINE;
    s.total_epochs = 4;
    s.min_lr = 0.0f;
    const double cos_want[] = { 1.0, 0.5 + 0.5 * cos(PI_ / 4), 0.5, 0.5 + 0.5 * cos(3 * PI_ / 4), 0.0, 0.0 };
    for (int e = 0; e < 6; e++)
        CHECK(near_f(mynn_schedule_lr(&s, 1.0f, e), cos_want[e]), "cosine e%d: %g", e,
              (double)mynn_schedule_lr(&s, 1.0f, e));
    s.min_lr = 0.1f;
    CHECK(near_f(mynn_schedule_lr(&s, 1.0f, 2), 0.55), "cosine floor mid");
    CHECK(near_f(mynn_schedule_lr(&s, 1.0f, 4), 0.1), "cosine floor end");

    /* Warm-up 2 then step (size 1, gamma 0.1) on the shifted epoch. */
    s.kind = MYNN_SCHED_STEP;
    s.step_size = 1;
    s.gamma = 0.1f;
    s.warmup_epochs = 2;
    const double warm_want[] = { 0.5, 1.0, 1.0, 0.1, 0.01 };
    for (int e = 0; e < 5; e++)
        CHECK(near_f(mynn_schedule_lr(&s, 1.0f, e), warm_want[e]), "warm-up+step e%d: %g", e,
              (double)mynn_schedule_lr(&s, 1.0f, e));
    /* Warm-up 1 then cosine over the remaining 4 of 5 epochs. */
    s.kind = MYNN_SCHED_COSINE;
    s.warmup_epochs = 1;
    s.total_epochs = 5;
    s.min_lr = 0.0f;
    CHECK(near_f(mynn_schedule_lr(&s, 2.0f, 0), 2.0), "warm-up 1 is the full rate");
    CHECK(near_f(mynn_schedule_lr(&s, 2.0f, 1), 2.0), "cosine starts after warm-up");
    CHECK(near_f(mynn_schedule_lr(&s, 2.0f, 3), 1.0), "cosine middle after warm-up");
    CHECK(near_f(mynn_schedule_lr(&s, 2.0f, 5), 0.0), "cosine end after warm-up");
    s.kind = MYNN_SCHED_CONSTANT;
    s.warmup_epochs = 4;
    CHECK(near_f(mynn_schedule_lr(&s, 1.0f, 0), 0.25) && near_f(mynn_schedule_lr(&s, 1.0f, 2), 0.75) &&
          near_f(mynn_schedule_lr(&s, 1.0f, 4), 1.0), "constant warm-up");
}

/* The vector copies of the Adam and RMSprop loops (AVX2 where the CPU
 * has it) compute the baseline loops' bits: odd lengths, bias correction
 * on and off, weight decay both ways, values down to the denormal range. */
static void test_vector_loops(void)
{
    enum { N = 1037, T = 3 };
    static float p[2][N], g[N], m[2][N], v[2][N];
    mynn_rng rng;
    mynn_rng_seed(&rng, 5);
    for (int i = 0; i < N; i++) {
        float scale = i % 7 == 0 ? 1e-30f : i % 5 == 0 ? 1e-3f : 1.0f;
        p[0][i] = p[1][i] = scale * (2.0f * mynn_rng_uniform(&rng) - 1.0f);
        g[i] = scale * (2.0f * mynn_rng_uniform(&rng) - 1.0f);
        m[0][i] = m[1][i] = 0.1f * scale * mynn_rng_uniform(&rng);
        v[0][i] = v[1][i] = 0.01f * scale * mynn_rng_uniform(&rng);
    }
    CHECK(mn_k_optim_isa("no-such-isa") == -1, "unknown instruction set accepted");
    for (int rule = 0; rule < 3; rule++)
        for (int side = 0; side < 2; side++) {
            CHECK(mn_k_optim_isa(side == 0 ? "generic" : NULL) == 0, "isa");
            for (int t = 0; t < T; t++) {
                if (rule == 0) /* Adam with bias correction and L2 */
                    mn_k_adam(p[side], g, m[side], v[side], N, 0.5f, 1e-3f, 1.0f, 0.9f, 0.999f,
                              1e-3f, 0.0316f, 1e-8f);
                else if (rule == 1) /* AdamW's shrink, no bias correction */
                    mn_k_adam(p[side], g, m[side], v[side], N, 1.0f, 0.0f, 0.9999f, 0.9f, 0.999f,
                              1e-3f, 1.0f, 1e-8f);
                else
                    mn_k_rmsprop(p[side], g, v[side], N, 1.0f, 0.01f, 1e-4f, 0.99f, 1e-8f);
            }
        }
    mn_k_optim_isa(NULL);
    CHECK(memcmp(p[0], p[1], sizeof p[0]) == 0, "parameters differ between the loops");
    CHECK(memcmp(m[0], m[1], sizeof m[0]) == 0, "first moments differ between the loops");
    CHECK(memcmp(v[0], v[1], sizeof v[0]) == 0, "second moments differ between the loops");
}

int main(void)
{
    CK_BEGIN("test_optim");
    RUN(test_defaults_and_names);
    RUN(test_sgd);
    RUN(test_adam);
    RUN(test_rmsprop);
    RUN(test_vector_loops);
    RUN(test_irprop);
    RUN(test_sgd_state_layout);
    RUN(test_bad_args);
    RUN(test_schedules);
    RUN(test_large_threaded);
    return CK_END();
}
