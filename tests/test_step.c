/* The training step as one parallel region (src/kernels/team.c) and the
 * optimizer updates fused into backward (mn_backward_update): after
 * several steps the weights must equal, bit for bit, those of the plain
 * path (mn_forward, mn_backward, mynn_optimizer_step, no team) for every
 * element-wise optimizer, on an MLP and on a CNN with batch norm and
 * dropout, with 1 and 2 threads; and mynn_fit (which takes the fused
 * team path) must equal that plain loop too. */
#include "mynn.h"
#include "check.h"
#include "kernels/kernels.h"
#include "network/network.h"
#include "optim/optim.h"

#define N_SAMPLES 49   /* batches of 16, 16, 16, 1: a batch of one ends the epoch */
#define BATCH 16

typedef struct net_case {
    const char *name, *spec;
    int c, h, w, k;
} net_case;

static const net_case g_nets[] = {
    {"mlp", "24:relu,dropout:0.2,16:tanh,3:softmax", 20, 0, 0, 3},
    {"cnn", "conv:4:3:pad=1,batchnorm,relu,maxpool:2,dropout:0.25,conv:3:3:relu,batchnorm,gap,8:gelu,3:softmax",
     2, 8, 8, 3},
};

typedef struct opt_case {
    const char *name;
    mynn_optimizer_kind kind;
    float lr, momentum, wd;
    int nesterov;
} opt_case;

static const opt_case g_opts[] = {
    {"sgd", MYNN_OPT_SGD, 0.05f, 0.0f, 0.0f, 0},
    {"sgd momentum", MYNN_OPT_SGD, 0.05f, 0.9f, 0.0f, 0},
    {"sgd nesterov", MYNN_OPT_SGD, 0.05f, 0.9f, 0.0f, 1},
    {"sgd weight decay", MYNN_OPT_SGD, 0.05f, 0.5f, 0.01f, 0},
    {"adam", MYNN_OPT_ADAM, 0.01f, 0.0f, 0.001f, 0},
    {"adamw", MYNN_OPT_ADAMW, 0.01f, 0.0f, 0.05f, 0},
    {"rmsprop", MYNN_OPT_RMSPROP, 0.005f, 0.0f, 0.001f, 0},
};

static mynn_dataset g_ds;

static void make_data(const net_case *nc)
{
    int d = nc->c * (nc->h ? nc->h * nc->w : 1);
    free(g_ds.x);
    free(g_ds.y);
    free(g_ds.labels);
    memset(&g_ds, 0, sizeof g_ds);
    g_ds.n = N_SAMPLES;
    g_ds.n_inputs = d;
    g_ds.n_outputs = g_ds.n_classes = nc->k;
    g_ds.x = calloc((size_t)N_SAMPLES * d, sizeof(float));
    g_ds.y = calloc((size_t)N_SAMPLES * nc->k, sizeof(float));
    g_ds.labels = calloc(N_SAMPLES, sizeof(int));
    mynn_rng rng;
    mynn_rng_seed(&rng, 7);
    for (int i = 0; i < N_SAMPLES; i++) {
        int c = (int)mynn_rng_below(&rng, (uint64_t)nc->k);
        g_ds.labels[i] = c;
        g_ds.y[(size_t)i * nc->k + c] = 1.0f;
        for (int j = 0; j < d; j++)
            g_ds.x[(size_t)i * d + j] = 2.0f * mynn_rng_uniform(&rng) - 1.0f + 0.5f * (float)(j % nc->k == c);
    }
}

static mynn_net *make_net_for(const net_case *nc, int max_batch)
{
    mynn_net *net = NULL;
    int d = nc->c * (nc->h ? nc->h * nc->w : 1);
    mynn_status s = mynn_create(&net, d);
    if (!s && nc->h) s = mynn_set_input_shape(net, nc->c, nc->h, nc->w);
    if (!s) s = mynn_add_layers(net, nc->spec);
    if (!s) s = mynn_set_loss(net, MYNN_LOSS_CE);
    if (!s) s = mynn_build(net, max_batch, MYNN_INIT_AUTO, 3);
    if (!s && !nc->h) { /* an input transform: mynn_fit applies it while it gathers */
        float shift[64], scale[64];
        for (int j = 0; j < d && j < 64; j++) {
            shift[j] = 0.1f * (float)(j % 3);
            scale[j] = 1.0f + 0.05f * (float)j;
        }
        s = d <= 64 ? mynn_set_input_transform(net, "test", shift, scale) : MYNN_ERR_ARG;
    }
    if (s) {
        mynn_free(net);
        return NULL;
    }
    return net;
}

static mynn_net *make_net(const net_case *nc) { return make_net_for(nc, BATCH); }

static void set_opt(mynn_optim_config *c, const opt_case *oc)
{
    mynn_optim_config_default(c, oc->kind);
    c->lr = oc->lr;
    c->momentum = oc->momentum;
    c->nesterov = oc->nesterov;
    c->weight_decay = oc->wd;
}

enum { PLAIN, TEAM_UNFUSED, TEAM_FUSED };

/* One epoch over the data in order, each batch by `how`, with `threads`;
 * returns the model's values (parameters and buffers), malloc'd. */
static float *train(const net_case *nc, const opt_case *oc, int how, int threads, size_t *nv)
{
    mynn_set_threads(threads);
    mynn_net *net = make_net(nc);
    mynn_optimizer *opt = NULL;
    mynn_optim_config cfg;
    set_opt(&cfg, oc);
    if (!net || mynn_optimizer_create(&opt, net, &cfg)) {
        mynn_free(net);
        return NULL;
    }
    const int d = g_ds.n_inputs, k = g_ds.n_outputs;
    for (int epoch = 0; epoch < 2; epoch++)
        for (int first = 0; first < N_SAMPLES; first += BATCH) {
            int m = N_SAMPLES - first < BATCH ? N_SAMPLES - first : BATCH;
            const float *x = g_ds.x + (size_t)first * d, *y = g_ds.y + (size_t)first * k;
            if (how == PLAIN) {
                mn_forward(net, x, m, 1);
                mn_backward(net, y, m);
                CHECK_OK(mynn_optimizer_step(opt, cfg.lr));
                continue;
            }
            mn_update u;
            const mn_update *up = NULL;
            if (how == TEAM_FUSED) {
                CHECK(mn_optimizer_fusable(opt), "%s is not fusable", oc->name);
                CHECK_OK(mn_optimizer_begin(opt, cfg.lr, 1.0f, &u));
                up = &u;
            }
            double loss = 0.0;
            mn_team team;
            mn_team_init(&team);
#pragma omp parallel num_threads(threads)
            {
                mn_team_enter(&team);
                mn_forward(net, x, m, 1);
                mn_backward_update(net, y, m, up, &loss);
                mn_team_leave();
            }
            CHECK(isfinite(loss), "loss %g", loss);
            if (how == TEAM_UNFUSED) CHECK_OK(mynn_optimizer_step(opt, cfg.lr));
        }
    *nv = mn_net_values(net);
    float *copy = malloc(*nv * sizeof *copy);
    if (copy) memcpy(copy, net->params, *nv * sizeof *copy);
    mynn_optimizer_free(opt);
    mynn_free(net);
    mynn_set_threads(0);
    return copy;
}

/* mynn_fit's own loop (the fused team path) over the same batches. */
static float *fit(const net_case *nc, const opt_case *oc, int threads, size_t *nv)
{
    mynn_set_threads(threads);
    mynn_net *net = make_net(nc);
    if (!net) return NULL;
    mynn_fit_options o;
    mynn_fit_options_default(&o);
    set_opt(&o.optim, oc);
    o.epochs = 2;
    o.batch_size = BATCH;
    o.shuffle = 0;
    mynn_status s = mynn_fit(net, &g_ds, NULL, &o);
    CHECK(s == MYNN_OK, "fit: %s", mynn_last_error());
    *nv = mn_net_values(net);
    float *copy = malloc(*nv * sizeof *copy);
    if (copy) memcpy(copy, net->params, *nv * sizeof *copy);
    mynn_free(net);
    mynn_set_threads(0);
    return copy;
}

static size_t first_diff(const float *a, const float *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (memcmp(&a[i], &b[i], sizeof *a)) return i;
    return n;
}

static void same(const char *what, const net_case *nc, const opt_case *oc, const float *ref,
                 const float *got, size_t n_ref, size_t n_got)
{
    CHECK(ref && got && n_ref == n_got, "%s %s %s: no result", nc->name, oc->name, what);
    if (!ref || !got || n_ref != n_got) return;
    size_t i = first_diff(ref, got, n_ref);
    CHECK(i == n_ref, "%s %s %s: value %zu differs: %.9g vs %.9g", nc->name, oc->name, what, i,
          (double)ref[i < n_ref ? i : 0], (double)got[i < n_ref ? i : 0]);
}

static void check_net(const net_case *nc)
{
    make_data(nc);
    for (size_t o = 0; o < sizeof g_opts / sizeof *g_opts; o++) {
        const opt_case *oc = &g_opts[o];
        size_t n0 = 0, n1 = 0, n2 = 0, n3 = 0, n4 = 0, n5 = 0, n6 = 0;
        float *ref = train(nc, oc, PLAIN, 1, &n0);
        float *init = NULL;
        {   /* the steps must move the weights, or equality says nothing */
            mynn_net *net = make_net(nc);
            if (net) {
                init = malloc(n0 * sizeof *init);
                if (init) memcpy(init, net->params, n0 * sizeof *init);
            }
            mynn_free(net);
            if (ref && init) CHECK(first_diff(ref, init, n0) < n0, "%s %s: no change", nc->name, oc->name);
            free(init);
        }
        float *f1 = train(nc, oc, TEAM_FUSED, 1, &n1);
        float *f2 = train(nc, oc, TEAM_FUSED, 2, &n2);
        float *u2 = train(nc, oc, TEAM_UNFUSED, 2, &n3);
        float *p2 = train(nc, oc, PLAIN, 2, &n4);
        float *fit1 = fit(nc, oc, 1, &n5), *fit2 = fit(nc, oc, 2, &n6);
        same("fused, 1 thread", nc, oc, ref, f1, n0, n1);
        same("fused, team of 2", nc, oc, ref, f2, n0, n2);
        same("unfused, team of 2", nc, oc, ref, u2, n0, n3);
        same("plain, 2 threads", nc, oc, ref, p2, n0, n4);
        same("mynn_fit, 1 thread", nc, oc, ref, fit1, n0, n5);
        same("mynn_fit, 2 threads", nc, oc, ref, fit2, n0, n6);
        free(ref);
        free(f1);
        free(f2);
        free(u2);
        free(p2);
        free(fit1);
        free(fit2);
    }
}

static void test_fused_mlp(void) { check_net(&g_nets[0]); }
static void test_fused_cnn(void) { check_net(&g_nets[1]); }

/* Not element-wise: clipping needs the whole gradient's norm first, so
 * the update stays after backward (and iRprop- is not fusable). */
static void test_not_fusable(void)
{
    mynn_net *net = make_net(&g_nets[0]);
    CHECK(net != NULL, "net: %s", mynn_last_error());
    if (!net) return;
    mynn_optim_config c;
    mynn_optimizer *o = NULL;
    mynn_optim_config_default(&c, MYNN_OPT_ADAM);
    c.clip_norm = 1.0f;
    CHECK_OK(mynn_optimizer_create(&o, net, &c));
    CHECK(o && !mn_optimizer_fusable(o), "clipped Adam reported fusable");
    mynn_optimizer_free(o);
    o = NULL;
    mynn_optim_config_default(&c, MYNN_OPT_IRPROP);
    CHECK_OK(mynn_optimizer_create(&o, net, &c));
    CHECK(o && !mn_optimizer_fusable(o), "iRprop- reported fusable");
    mynn_optimizer_free(o);
    mynn_free(net);
}

/* A job of the team: every part claimed exactly once, whichever thread
 * gets it, and nobody passes before all are done. */
static void test_team_jobs(void)
{
    enum { N = 1000, ROUNDS = 200 };
    static int hits[N];
    int bad = 0;
    mn_team team;
    mn_team_init(&team);
    memset(hits, 0, sizeof hits);
#pragma omp parallel num_threads(2)
    {
        mn_team_enter(&team);
        for (int r = 0; r < ROUNDS; r++) {
            MN_FOR_SHARE(N, 1, lo, hi, for (size_t i = lo; i < hi; i++) hits[i]++);
            /* Threads are not held together, only the jobs: the check
             * is itself a job, run while nobody is in a later one. */
            MN_TEAM_SOLO(for (int i = 0; i < N; i++) bad += hits[i] != r + 1);
        }
        mn_team_leave();
    }
    CHECK(bad == 0, "%d elements seen with the wrong count", bad);
}

/* mynn_predict as one parallel region (a large enough call) equals it
 * on one thread bit for bit, both in chunks of the built batch and as one
 * chunk (then each row is checked and transformed in one pass), and a NaN
 * there is found, named and leaves the output untouched. */
static void check_predict_team(int max_batch)
{
    enum { N = 1000 }; /* 1000 x 20 inputs: over the team's threshold */
    mynn_net *net = make_net_for(&g_nets[0], max_batch);
    float *x = malloc((size_t)N * 20 * sizeof(float));
    float *y1 = malloc(N * 3 * sizeof(float)), *y2 = malloc(N * 3 * sizeof(float));
    CHECK(net && x && y1 && y2, "setup: %s", mynn_last_error());
    if (net && x && y1 && y2) {
        mynn_rng rng;
        mynn_rng_seed(&rng, 11);
        for (size_t i = 0; i < (size_t)N * 20; i++) x[i] = 2.0f * mynn_rng_uniform(&rng) - 1.0f;
        mynn_set_threads(1);
        CHECK_OK(mynn_predict(net, x, N, y1));
        mynn_set_threads(2);
        CHECK_OK(mynn_predict(net, x, N, y2));
        CHECK(first_diff(y1, y2, N * 3) == N * 3, "batch %d: 2 threads differ from 1 at %zu",
              max_batch, first_diff(y1, y2, N * 3));
        x[(size_t)900 * 20 + 7] = NAN;
        x[(size_t)950 * 20 + 1] = INFINITY;
        for (size_t i = 0; i < N * 3; i++) y2[i] = -7.0f;
        mynn_status s = mynn_predict(net, x, N, y2);
        CHECK(s == MYNN_ERR_NUMERIC, "batch %d, NaN input: status %d", max_batch, (int)s);
        CHECK(strstr(mynn_last_error(), "sample 900 feature 7 is NaN") != NULL, "message: %s",
              mynn_last_error());
        int touched = 0;
        for (size_t i = 0; i < N * 3; i++) touched += y2[i] != -7.0f;
        CHECK(touched == 0, "batch %d: %d outputs written before the NaN was reported", max_batch,
              touched);
        mynn_set_threads(0);
    }
    free(x);
    free(y1);
    free(y2);
    mynn_free(net);
}

static void test_predict_team(void)
{
    check_predict_team(BATCH); /* in chunks */
    check_predict_team(1000);  /* one chunk */
}

/* The check of a whole data set, split between threads, reports the first
 * non-finite value, as the one-thread scan does. */
static void test_nonfinite_parallel(void)
{
    const size_t n = 3u << 20;
    float *v = calloc(n, sizeof *v);
    CHECK(v != NULL, "no memory");
    if (!v) return;
    size_t at = 0;
    mynn_set_threads(2);
    CHECK(mn_find_nonfinite(v, n, &at) == 0, "all zeros reported bad at %zu", at);
    v[n - 1] = -INFINITY;
    CHECK(mn_find_nonfinite(v, n, &at) == 1 && at == n - 1, "last: at %zu", at);
    v[2900000] = NAN;
    v[2500003] = INFINITY;
    CHECK(mn_find_nonfinite(v, n, &at) == 1 && at == 2500003, "first of three: at %zu", at);
    v[5] = NAN;
    CHECK(mn_find_nonfinite(v, n, &at) == 1 && at == 5, "first of four: at %zu", at);
    mynn_set_threads(1);
    CHECK(mn_find_nonfinite(v, n, &at) == 1 && at == 5, "one thread: at %zu", at);
    mynn_set_threads(0);
    free(v);
}

int main(void)
{
    CK_BEGIN("test_step");
    RUN(test_team_jobs);
    RUN(test_not_fusable);
    RUN(test_fused_mlp);
    RUN(test_fused_cnn);
    RUN(test_predict_team);
    RUN(test_nonfinite_parallel);
    free(g_ds.x);
    free(g_ds.y);
    free(g_ds.labels);
    return CK_END();
}
