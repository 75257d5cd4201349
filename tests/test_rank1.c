/* The per-sample dense backward fused with the optimizer step
 * (src/kernels/rank1.c, src/layers/dense_update.c) against the unfused
 * path, dense backward then the optimizer's step over dW: for every
 * element-wise rule, several steps, odd sizes, each instruction set, one
 * and two threads.  Weights and optimizer state must be bit-identical; dx
 * (a sum in another order on some engines) within 1e-6 of the sum of its
 * terms' magnitudes.  Then per-sample training through the fused path
 * still learns XOR and two spirals. */
#include "mynn.h"
#include "check.h"
#include "kernels/gemm_internal.h"
#include "kernels/kernels.h"
#include "losses/loss.h"
#include "network/network.h"
#include "optim/optim.h"

#define STEPS 4

typedef struct rule {
    const char *name;
    mynn_optimizer_kind kind;
    float lr, wd, momentum;
    int nesterov;
} rule;

static const rule RULES[] = {
    {"sgd", MYNN_OPT_SGD, 0.05f, 0.0f, 0.0f, 0},
    {"sgd+wd", MYNN_OPT_SGD, 0.05f, 0.01f, 0.0f, 0},
    {"momentum", MYNN_OPT_SGD, 0.05f, 0.0f, 0.9f, 0},
    {"momentum+wd", MYNN_OPT_SGD, 0.05f, 0.02f, 0.9f, 0},
    {"nesterov", MYNN_OPT_SGD, 0.05f, 0.01f, 0.9f, 1},
    {"adam", MYNN_OPT_ADAM, 0.01f, 0.0f, 0.0f, 0},
    {"adam+l2", MYNN_OPT_ADAM, 0.01f, 0.05f, 0.0f, 0},
    {"adamw", MYNN_OPT_ADAMW, 0.01f, 0.1f, 0.0f, 0},
    {"rmsprop", MYNN_OPT_RMSPROP, 0.01f, 0.0f, 0.0f, 0},
    {"rmsprop+wd", MYNN_OPT_RMSPROP, 0.01f, 0.03f, 0.0f, 0},
};
#define N_RULES ((int)(sizeof RULES / sizeof RULES[0]))

static mynn_optim_config config_of(const rule *r)
{
    mynn_optim_config c;
    mynn_optim_config_default(&c, r->kind);
    c.lr = r->lr;
    c.weight_decay = r->wd;
    c.momentum = r->momentum;
    c.nesterov = r->nesterov;
    return c;
}

/* Set: one_layer puts an infinite weight in row 3 (whose dy is 0). */
static int g_poison;

/* One dense layer cols -> rows, built for batch 1; a few weights set to
 * +0 and -0 (the sign of a zero gradient then shows in the result). */
static mynn_net *one_layer(int cols, int rows, mynn_activation act)
{
    mynn_net *net = NULL;
    if (mynn_create(&net, cols) || mynn_add_dense(net, rows, act) ||
        mynn_build(net, 1, MYNN_INIT_AUTO, 7)) {
        mynn_free(net);
        return NULL;
    }
    float *p = mynn_params(net, NULL);
    p[0] = 0.0f;
    if (rows > 1) p[cols + 1] = -0.0f;
    if (g_poison && rows > 3 && cols > 5) p[3 * cols + 5] = INFINITY;
    return net;
}

/* Inputs with exact zeros (blank pixels), upstream gradients with zeros
 * and both signs. */
static void fill(mynn_rng *g, float *x, int cols, float *dy, int rows)
{
    for (int j = 0; j < cols; j++) x[j] = j % 5 == 0 ? 0.0f : mynn_rng_uniform(g) * 2.0f - 0.5f;
    for (int i = 0; i < rows; i++) dy[i] = i % 7 == 3 ? 0.0f : mynn_rng_uniform(g) * 2.0f - 1.0f;
}

typedef struct outcome {
    float *p, *st, *dx;   /* parameters, optimizer state, the last step's dx */
    size_t np, ns;
    int dx_exact;         /* steps whose dx equalled the unfused one bit for bit */
    double dx_err;        /* worst |dx - dx_ref| / sum_i |dz_i W_ij| */
} outcome;

static void outcome_free(outcome *o)
{
    free(o->p);
    free(o->st);
    free(o->dx);
}

/* STEPS steps of one layer, fused (backward_update) or unfused (backward,
 * then mynn_optimizer_step over the gradient), after t0 steps (Adam's
 * bias correction is exactly 1 after 20,000); the fused run also checks
 * its dx against the unfused backward's on a twin network each step. */
static outcome run_layer(const rule *r, int cols, int rows, mynn_activation act, int dy_is_dz, int fused,
                         long t0)
{
    outcome o = {0};
    mynn_net *net = one_layer(cols, rows, act), *twin = one_layer(cols, rows, act);
    mynn_optim_config c = config_of(r);
    mynn_optimizer *opt = NULL;
    CHECK(net && twin, "net");
    if (!net || !twin) goto out;
    CHECK_OK(mynn_optimizer_create(&opt, net, &c));
    mynn_optimizer_set_steps(opt, t0);
    mn_layer *l = &net->layers[0], *lt = &twin->layers[0];
    float *x = calloc((size_t)cols, sizeof *x), *dx = calloc((size_t)cols, sizeof *dx);
    float *dxr = calloc((size_t)cols, sizeof *dxr), *dy = calloc((size_t)rows, sizeof *dy);
    float *dyt = calloc((size_t)rows, sizeof *dyt);
    mynn_rng g;
    mynn_rng_seed(&g, 99);
    for (int s = 0; s < STEPS && x && dx && dxr && dy && dyt; s++) {
        fill(&g, x, cols, dy, rows);
        memcpy(dyt, dy, (size_t)rows * sizeof *dy);
        mn_forward(net, x, 1, 1);
        if (fused) {
            /* the twin holds the same weights: its backward is the reference dx */
            memcpy(twin->params, net->params, net->n_params * sizeof(float));
            mn_forward(twin, x, 1, 1);
            lt->kind->backward(lt, (const float *const *)&x, lt->out, dyt, dy_is_dz, &dxr, 1);
            mn_update u;
            CHECK_OK(mn_optimizer_begin(opt, c.lr, 1.0f, &u));
            l->kind->backward_update(l, x, l->out, dy, dy_is_dz, dx, 1, &u, 0);
            o.dx_exact += memcmp(dx, dxr, (size_t)cols * sizeof *dx) == 0;
            const float *w = twin->params, *dz = dy_is_dz ? dyt : lt->cache;
            for (int j = 0; j < cols; j++) {
                double mag = 0;
                for (int i = 0; i < rows; i++) mag += fabs((double)dz[i] * w[(size_t)i * cols + j]);
                double e = fabs((double)dx[j] - dxr[j]);
                if (e > 0) e /= mag;
                if (e > o.dx_err) o.dx_err = e;
            }
        } else {
            l->kind->backward(l, (const float *const *)&x, l->out, dy, dy_is_dz, &dx, 1);
            CHECK_OK(mynn_optimizer_step(opt, c.lr));
        }
    }
    float *p = mynn_params(net, &o.np), *st = mynn_optimizer_state(opt, &o.ns);
    o.p = malloc(o.np * sizeof *o.p);
    o.st = malloc((o.ns ? o.ns : 1) * sizeof *o.st);
    o.dx = dx;
    dx = NULL;
    if (o.p) memcpy(o.p, p, o.np * sizeof *p);
    if (o.st && o.ns) memcpy(o.st, st, o.ns * sizeof *st);
    free(x);
    free(dx);
    free(dxr);
    free(dy);
    free(dyt);
out:
    mynn_optimizer_free(opt);
    mynn_free(net);
    mynn_free(twin);
    return o;
}

static int same(const float *a, const float *b, size_t n)
{
    return a && b && memcmp(a, b, n * sizeof *a) == 0;
}

/* One case: fused against unfused, every rule, early and late in
 * training.  Returns the worst dx error. */
static double check_case(const char *isa, int cols, int rows, mynn_activation act, int dy_is_dz)
{
    double worst = 0;
    for (int k = 0; k < 2 * N_RULES; k++) {
        const rule *r = &RULES[k / 2];
        long t0 = k % 2 ? 20000 : 0;
        outcome a = run_layer(r, cols, rows, act, dy_is_dz, 0, t0);
        outcome b = run_layer(r, cols, rows, act, dy_is_dz, 1, t0);
        CHECK(a.np == b.np && same(a.p, b.p, a.np), "%s %s %d->%d %s t0 %ld: weights differ", isa,
              r->name, cols, rows, mynn_activation_name(act), t0);
        CHECK(a.ns == b.ns && (a.ns == 0 || same(a.st, b.st, a.ns)), "%s %s %d->%d t0 %ld: state differs",
              isa, r->name, cols, rows, t0);
        CHECK(b.dx_err <= 1e-6, "%s %s %d->%d: dx off by %.3g of its terms' magnitude", isa, r->name,
              cols, rows, b.dx_err);
        if (b.dx_err > worst) worst = b.dx_err;
        outcome_free(&a);
        outcome_free(&b);
    }
    return worst;
}

static const char *const ISAS[] = {"generic", "avx2", "avx512"};

static void test_fused_equals_unfused(void)
{
    static const struct { int cols, rows; mynn_activation act; int dz; } cases[] = {
        {37, 13, MYNN_ACT_RELU, 0},    {37, 13, MYNN_ACT_SIGMOID, 0}, {37, 13, MYNN_ACT_IDENTITY, 1},
        {5, 3, MYNN_ACT_TANH, 0},      {1, 1, MYNN_ACT_RELU, 0},      {70, 17, MYNN_ACT_LEAKY_RELU, 0},
        {33, 40, MYNN_ACT_SOFTMAX, 1},
    };
    for (int e = 0; e < 3; e++) {
        if (mn_k_dense_update_isa(ISAS[e]) != 0) continue;
        double worst = 0;
        for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
            double w = check_case(ISAS[e], cases[c].cols, cases[c].rows, cases[c].act, cases[c].dz);
            if (w > worst) worst = w;
        }
        printf("  %s: weights and state bit-identical, dx worst %.2g of its terms' magnitude\n",
               ISAS[e], worst);
    }
    mn_k_dense_update_isa(NULL);
    CHECK(mn_k_dense_update_isa("no-such-isa") == -1, "unknown instruction set accepted");
    CHECK(mn_k_dense_update_isa("generic") == 0, "generic missing");
    mn_k_dense_update_isa(NULL);
}

/* A diverged weight spreads NaN as the unfused step spreads it, also in
 * a row whose gradient is 0 (which plain SGD otherwise skips). */
static void test_nonfinite(void)
{
    g_poison = 1;
    for (int k = 0; k < N_RULES; k++) {
        outcome a = run_layer(&RULES[k], 37, 13, MYNN_ACT_RELU, 0, 0, 0);
        outcome b = run_layer(&RULES[k], 37, 13, MYNN_ACT_RELU, 0, 1, 0);
        CHECK(a.np == b.np && same(a.p, b.p, a.np), "%s: weights differ", RULES[k].name);
        CHECK(a.p && isnan(a.p[3 * 37 + 5]), "%s: the infinite weight is %g", RULES[k].name,
              a.p ? (double)a.p[3 * 37 + 5] : 0.0);
        CHECK(a.ns == b.ns && (a.ns == 0 || same(a.st, b.st, a.ns)), "%s: state differs", RULES[k].name);
        outcome_free(&a);
        outcome_free(&b);
    }
    g_poison = 0;
}

/* On the FMA engines dx is summed in the GEMV's own order: bit-identical. */
static void test_dx_order(void)
{
    if (strcmp(mn_gemm_engine(), "avx512") && strcmp(mn_gemm_engine(), "avx2") &&
        strcmp(mn_gemm_engine(), "neon"))
        SKIP("GEMM engine %s", mn_gemm_engine());
    outcome b = run_layer(&RULES[5], 37, 13, MYNN_ACT_RELU, 0, 1, 0);
    printf("  GEMM %s: dx bit-identical in %d of %d steps\n", mn_gemm_engine(), b.dx_exact, STEPS);
    outcome_free(&b);
}

/* A layer big enough to be split over threads: 1 and 2 give the same. */
static void test_threads(void)
{
    const int cols = 300, rows = 131;
    for (int k = 0; k < N_RULES; k += 2) {
        mynn_set_threads(1);
        outcome a = run_layer(&RULES[k], cols, rows, MYNN_ACT_RELU, 0, 1, 0);
        mynn_set_threads(2);
        outcome b = run_layer(&RULES[k], cols, rows, MYNN_ACT_RELU, 0, 1, 0);
        outcome c = run_layer(&RULES[k], cols, rows, MYNN_ACT_RELU, 0, 0, 0);
        CHECK(same(a.p, b.p, a.np) && same(a.st, b.st, a.ns) && same(a.dx, b.dx, (size_t)cols),
              "%s: 1 and 2 threads differ", RULES[k].name);
        CHECK(same(b.p, c.p, b.np), "%s: 2 threads, fused and unfused weights differ", RULES[k].name);
        CHECK(b.dx_err <= 1e-6, "%s: dx off by %.3g", RULES[k].name, b.dx_err);
        outcome_free(&a);
        outcome_free(&b);
        outcome_free(&c);
    }
    mynn_set_threads(0);
}

/* One per-sample step through the fused path: what the network's fused
 * backward does (each layer's backward_update, or backward then the step
 * over its slice).  Returns the loss. */
static double fused_step(mynn_net *net, mynn_optimizer *opt, const float *x, const float *y, float lr)
{
    mn_forward(net, x, 1, 1);
    mn_layer *last = &net->layers[net->n_layers - 1];
    double loss = mn_loss_value(net->loss, last->act, last->cache, last->out, y, 1, last->n_out);
    int fused = mn_loss_fused(net->loss, last->act), width = net->n_inputs;
    for (int i = 0; i < net->n_layers; i++) width = net->layers[i].n_out > width ? net->layers[i].n_out : width;
    float *back[2] = {calloc((size_t)width, sizeof(float)), calloc((size_t)width, sizeof(float))};
    float *dy = back[0];
    mn_loss_grad(net->loss, last->act, last->out, y, 1, last->n_out, dy);
    mn_update u;
    if (mn_optimizer_begin(opt, lr, 1.0f, &u)) loss = NAN;
    for (int i = net->n_layers - 1; i >= 0 && loss == loss; i--) {
        mn_layer *l = &net->layers[i];
        const float *xi = i > 0 ? net->layers[i - 1].out : net->last_x;
        float *dx = i > 0 ? (dy == back[0] ? back[1] : back[0]) : NULL;
        size_t off = (size_t)(l->param - net->params);
        int dz = fused && i == net->n_layers - 1;
        if (l->kind->backward_update) {
            l->kind->backward_update(l, xi, l->out, dy, dz, dx, 1, &u, off);
        } else {
            l->kind->backward(l, &xi, l->out, dy, dz, &dx, 1);
            mn_k_update(&u, l->param, l->grad, off, mn_layer_params(l));
        }
        dy = dx;
    }
    free(back[0]);
    free(back[1]);
    return loss;
}

static mynn_net *mlp(int in, const char *layers, mynn_loss loss, uint64_t seed)
{
    mynn_net *net = NULL;
    if (mynn_create(&net, in) || mynn_add_layers(net, layers) || mynn_set_loss(net, loss) ||
        mynn_build(net, 1, MYNN_INIT_AUTO, seed)) {
        mynn_free(net);
        return NULL;
    }
    return net;
}

/* Trains per sample through the fused path; returns the accuracy, and
 * the largest weight difference from the same training unfused in *diff. */
static double train_per_sample(const char *layers, mynn_loss loss, mynn_optimizer_kind kind, float lr,
                               const float *x, const float *y, int n, int in, int k, int epochs,
                               double *diff)
{
    mynn_net *a = mlp(in, layers, loss, 3), *b = mlp(in, layers, loss, 3);
    mynn_optim_config c;
    mynn_optim_config_default(&c, kind);
    c.lr = lr;
    mynn_optimizer *oa = NULL, *ob = NULL;
    double acc = -1;
    CHECK(a && b, "net %s", layers);
    if (!a || !b) goto out;
    CHECK_OK(mynn_optimizer_create(&oa, a, &c));
    CHECK_OK(mynn_optimizer_create(&ob, b, &c));
    for (int e = 0; e < epochs; e++)
        for (int i = 0; i < n; i++) {
            const float *xi = x + (size_t)i * in, *yi = y + (size_t)i * k;
            double l = fused_step(a, oa, xi, yi, lr);
            CHECK(isfinite(l), "%s: loss %g", layers, l);
            float lb;
            CHECK_OK(mynn_compute_gradients(b, xi, yi, 1, &lb));
            CHECK_OK(mynn_optimizer_step(ob, lr));
        }
    *diff = 0;
    for (size_t i = 0; i < a->n_params; i++) {
        double d = fabs((double)a->params[i] - b->params[i]);
        if (d > *diff) *diff = d;
    }
    int correct = 0;
    for (int i = 0; i < n; i++) {
        float p[2];
        CHECK_OK(mynn_predict(a, x + (size_t)i * in, 1, p));
        int cls = k == 1 ? p[0] > 0.5f : p[1] > p[0];
        int want = k == 1 ? y[i] > 0.5f : y[(size_t)i * k + 1] > 0.5f;
        correct += cls == want;
    }
    acc = (double)correct / n;
out:
    mynn_optimizer_free(oa);
    mynn_optimizer_free(ob);
    mynn_free(a);
    mynn_free(b);
    return acc;
}

static void test_xor_learns(void)
{
    const float x[8] = {0, 0, 0, 1, 1, 0, 1, 1}, y[4] = {0, 1, 1, 0};
    double d;
    double acc = train_per_sample("4:tanh,1:sigmoid", MYNN_LOSS_BCE, MYNN_OPT_SGD, 0.5f, x, y, 4, 2, 1,
                                  1500, &d);
    CHECK(acc == 1.0, "xor, sgd: accuracy %.2f", acc);
    CHECK(d < 1e-4, "xor, sgd: fused and unfused weights %.3g apart", d);
    acc = train_per_sample("8:relu,1:sigmoid", MYNN_LOSS_BCE, MYNN_OPT_ADAM, 0.02f, x, y, 4, 2, 1, 500, &d);
    CHECK(acc == 1.0, "xor, adam: accuracy %.2f", acc);
    CHECK(d < 1e-4, "xor, adam: fused and unfused weights %.3g apart", d);
}

/* Two interleaved spirals of two turns, 2 × 100 points. */
static void test_spirals_learn(void)
{
    enum { N = 200 };
    static float x[2 * N], y[2 * N];
    for (int i = 0; i < N; i++) {
        int cls = i % 2;
        double t = (double)(i / 2) / (N / 2) * 2.0 * 3.14159265358979;
        double r = 0.1 + (double)(i / 2) / (N / 2);
        double s = cls ? -1.0 : 1.0;
        x[2 * i] = (float)(s * r * cos(t));
        x[2 * i + 1] = (float)(s * r * sin(t));
        y[2 * i] = (float)(1 - cls);
        y[2 * i + 1] = (float)cls;
    }
    double d;
    double acc = train_per_sample("16:relu,16:relu,2:softmax", MYNN_LOSS_CE, MYNN_OPT_ADAM, 0.01f, x, y,
                                  N, 2, 2, 100, &d);
    CHECK(acc >= 0.97, "spirals, adam: accuracy %.3f", acc);
    printf("  spirals: accuracy %.3f, fused and unfused weights at most %.2g apart\n", acc, d);
}

int main(void)
{
    CK_BEGIN("test_rank1");
    RUN(test_fused_equals_unfused);
    RUN(test_nonfinite);
    RUN(test_dx_order);
    RUN(test_threads);
    RUN(test_xor_learns);
    RUN(test_spirals_learn);
    return CK_END();
}
