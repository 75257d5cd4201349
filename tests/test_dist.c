/* Data-parallel training through the mynn_reducer seam, without MPI: N
 * threads play N ranks, each with its own network, and a reducer that sums
 * their buffers (in rank order) behind barriers.  N ranks must reach the
 * weights of one process to float rounding (dropout included: its masks
 * follow the global batch order), evaluation split over ranks must give
 * the single-process metrics, and every way out of the loop (a stop on one
 * rank, a failing reducer) must be taken by all ranks at the same step. */
#include "mynn.h"
#include "check.h"

#include <pthread.h>

#define MAX_RANKS 4
#define MAX_FLOATS (1 << 16)

/* ---- a reducer over threads -------------------------------------------- */
typedef struct group {
    int world;
    pthread_barrier_t bar;
    float *fbuf[MAX_RANKS];
    double *dbuf[MAX_RANKS];
    float fsum[MAX_FLOATS];
    double dsum[1024];
    int fail_after;           /* > 0: the fail_after-th float reduction fails on every rank */
    int calls[MAX_RANKS];
} group;

typedef struct rank_ctx {
    group *g;
    int rank;
} rank_ctx;

/* Each rank sums its slice of the indices over all ranks (in rank order),
 * then every rank copies the whole sum back. */
static int sum_floats(float *buf, size_t n, void *ctx)
{
    rank_ctx *c = ctx;
    group *g = c->g;
    if (n > MAX_FLOATS) return -1;
    g->fbuf[c->rank] = buf;
    pthread_barrier_wait(&g->bar);
    size_t lo = n * c->rank / g->world, hi = n * (c->rank + 1) / g->world;
    for (size_t i = lo; i < hi; i++) {
        float s = 0.0f;
        for (int r = 0; r < g->world; r++) s += g->fbuf[r][i];
        g->fsum[i] = s;
    }
    pthread_barrier_wait(&g->bar);
    memcpy(buf, g->fsum, n * sizeof *buf);
    pthread_barrier_wait(&g->bar);
    return g->fail_after > 0 && ++g->calls[c->rank] >= g->fail_after;
}

static int sum_doubles(double *buf, size_t n, void *ctx)
{
    rank_ctx *c = ctx;
    group *g = c->g;
    if (n > 1024) return -1;
    g->dbuf[c->rank] = buf;
    pthread_barrier_wait(&g->bar);
    if (c->rank == 0)
        for (size_t i = 0; i < n; i++) {
            double s = 0.0;
            for (int r = 0; r < g->world; r++) s += g->dbuf[r][i];
            g->dsum[i] = s;
        }
    pthread_barrier_wait(&g->bar);
    memcpy(buf, g->dsum, n * sizeof *buf);
    pthread_barrier_wait(&g->bar);
    return 0;
}

static const char *group_error(void *ctx)
{
    (void)ctx;
    return "simulated transport failure";
}

/* ---- data and runs ----------------------------------------------------- */
/* Three classes from a fixed rule on d >= 4 features, n samples. */
static mynn_dataset *make_data_d(int n, int d, uint64_t seed)
{
    const int k = 3;
    mynn_dataset *ds = calloc(1, sizeof *ds);
    ds->n = n;
    ds->n_inputs = d;
    ds->n_outputs = k;
    ds->n_classes = k;
    ds->x = calloc((size_t)n * d, sizeof(float));
    ds->y = calloc((size_t)n * k, sizeof(float));
    ds->labels = calloc((size_t)n, sizeof(int));
    mynn_rng r;
    mynn_rng_seed(&r, seed);
    for (int i = 0; i < n; i++) {
        float *x = ds->x + (size_t)i * d;
        for (int j = 0; j < d; j++) x[j] = 2.0f * mynn_rng_uniform(&r) - 1.0f;
        float s = x[0] + 0.5f * x[1] * x[2] - x[3];
        int c = s < -0.3f ? 0 : s < 0.4f ? 1 : 2;
        ds->labels[i] = c;
        ds->y[(size_t)i * k + c] = 1.0f;
    }
    return ds;
}

static mynn_dataset *make_data(int n, uint64_t seed) { return make_data_d(n, 6, seed); }

static void free_data(mynn_dataset *ds)
{
    if (!ds) return;
    free(ds->x);
    free(ds->y);
    free(ds->labels);
    free(ds);
}

typedef struct run {
    const char *spec;
    mynn_optimizer_kind opt;
    int batch, epochs, world;
    const mynn_dataset *train, *val;
    int stop_rank, stop_batch;  /* on_batch asks to stop on this rank (stop_batch > 0) */
    int fail_after;
    int image;                  /* inputs are 1 x 4 x 4 images (a CNN) */
} run;

typedef struct result {
    float *params;
    size_t n;
    mynn_status status;
    char error[256];
    mynn_epoch_stats last;
    int batches_seen;
    int n_layers;
    size_t layer_params[8];   /* parameter floats per layer */
} result;

typedef struct job {
    const run *r;
    group *g;
    int rank;
    result *out;
} job;

static int keep_last(const mynn_epoch_stats *s, void *user)
{
    ((job *)user)->out->last = *s;
    return 0;
}

static int stop_batch(int epoch, int batch, int n_batches, float loss, void *user)
{
    (void)loss;
    job *j = user;
    j->out->batches_seen = epoch * n_batches + batch + 1;
    return j->r->stop_batch > 0 && j->rank == j->r->stop_rank && j->out->batches_seen == j->r->stop_batch;
}

/* Train one rank (world 0: alone, no reducer) and keep its parameters. */
static void train_rank(const run *r, group *g, int rank, result *out)
{
    memset(out, 0, sizeof *out);
    int world = r->world > 0 ? r->world : 1;
    int share = (r->batch + world - 1) / world;
    mynn_net *net = NULL;
    mynn_status s = mynn_create(&net, r->train->n_inputs);
    if (!s && r->image) s = mynn_set_input_shape(net, 1, 4, 4);
    if (!s) s = mynn_add_layers(net, r->spec);
    if (!s) s = mynn_set_loss(net, MYNN_LOSS_CE);
    if (!s) s = mynn_build(net, share, MYNN_INIT_AUTO, 5);
    rank_ctx ctx = {g, rank};
    mynn_reducer red = {rank, world, sum_floats, sum_doubles, group_error, &ctx};
    job j = {r, g, rank, out};
    if (!s) {
        mynn_fit_options o;
        mynn_fit_options_default(&o);
        o.epochs = r->epochs;
        o.batch_size = r->batch;
        o.seed = 11;
        mynn_optim_config_default(&o.optim, r->opt);
        if (r->opt == MYNN_OPT_SGD) {
            o.optim.lr = 0.1f;
            o.optim.momentum = 0.9f;
        } else {
            o.optim.lr = 0.01f;
        }
        o.reducer = r->world > 0 ? &red : NULL;
        o.on_epoch = keep_last;
        o.on_batch = stop_batch;
        o.user = &j;
        s = mynn_fit(net, r->train, r->val, &o);
    }
    out->status = s;
    snprintf(out->error, sizeof out->error, "%s", s ? mynn_last_error() : "");
    size_t n = 0;
    const float *p = net ? mynn_params(net, &n) : NULL;
    out->params = malloc((n ? n : 1) * sizeof(float));
    if (p) memcpy(out->params, p, n * sizeof(float));
    out->n = n;
    out->n_layers = net ? mynn_n_layers(net) : 0;
    for (int i = 0; i < out->n_layers && i < 8; i++) {
        mynn_layer_info li;
        mynn_layer_get_info(net, i, &li);
        out->layer_params[i] = li.n_params;
    }
    mynn_free(net);
}

static void *rank_thread(void *arg)
{
    job *j = arg;
    train_rank(j->r, j->g, j->rank, j->out);
    return NULL;
}

/* Run r on r->world threads; out[0..world). */
static void train_ranks(const run *r, result *out)
{
    static group g;
    memset(&g, 0, sizeof g);
    g.world = r->world;
    g.fail_after = r->fail_after;
    pthread_barrier_init(&g.bar, NULL, (unsigned)r->world);
    pthread_t t[MAX_RANKS];
    job jobs[MAX_RANKS];
    for (int i = 0; i < r->world; i++) {
        jobs[i] = (job){r, &g, i, &out[i]};
        pthread_create(&t[i], NULL, rank_thread, &jobs[i]);
    }
    for (int i = 0; i < r->world; i++) pthread_join(t[i], NULL);
    pthread_barrier_destroy(&g.bar);
}

/* Largest |a - b| / max(|a|, |b|, s) over the weights, s the RMS of the
 * layer's parameters: relative to the weight, except for the weights that
 * happen to pass near zero, where float rounding of the other terms of
 * their sums (summation order differs between 1 and N ranks) is relative
 * to the layer's scale, not to the weight's own value. */
static double max_rel_diff(const float *a, const result *ref, size_t *at)
{
    const float *b = ref->params;
    double worst = 0.0;
    size_t base = 0;
    for (int l = 0; l < ref->n_layers; l++) {
        size_t n = ref->layer_params[l];
        double ss = 0.0;
        for (size_t i = base; i < base + n; i++) ss += (double)b[i] * b[i];
        double rms = n ? sqrt(ss / (double)n) : 0.0;
        for (size_t i = base; i < base + n; i++) {
            double m = fmax(fmax(fabs(a[i]), fabs(b[i])), rms);
            double d = m > 0 ? fabs((double)a[i] - b[i]) / m : 0.0;
            if (d > worst) {
                worst = d;
                *at = i;
            }
        }
        base += n;
    }
    return worst;
}

static void check_equivalence_on(const char *spec, mynn_optimizer_kind opt, int image);
static void check_equivalence(const char *spec, mynn_optimizer_kind opt)
{
    check_equivalence_on(spec, opt, 0);
}

/* N = 1..4 ranks against one process: the batch (10) divides by none of
 * 3 and 4, and the last batch (103 = 10*10 + 3) leaves rank 3 empty. */
static void check_equivalence_on(const char *spec, mynn_optimizer_kind opt, int image)
{
    mynn_set_threads(1);
    int d = image ? 16 : 6;
    mynn_dataset *tr = make_data_d(103, d, 1), *va = make_data_d(41, d, 2);
    run ref_run = {spec, opt, 10, 1, 0, tr, va, 0, 0, 0, image};
    result ref;
    train_rank(&ref_run, NULL, 0, &ref);
    CHECK(ref.status == MYNN_OK, "reference: %s", ref.error);
    for (int world = 1; world <= MAX_RANKS; world++) {
        run r = ref_run;
        r.world = world;
        result out[MAX_RANKS];
        train_ranks(&r, out);
        for (int k = 0; k < world; k++) {
            CHECK(out[k].status == MYNN_OK, "%d ranks, rank %d: %s", world, k, out[k].error);
            CHECK(out[k].n == ref.n, "parameter count");
            size_t at = 0;
            double rel = max_rel_diff(out[k].params, &ref, &at);
            if (getenv("MYNN_TEST_VERBOSE")) printf("  %s %s %d ranks rank %d: max rel %.3g\n", spec, mynn_optimizer_name(opt), world, k, rel);
            CHECK(rel <= 1e-5, "%s %s, %d ranks, rank %d: weight %zu %.9g vs %.9g (rel %.3g)", spec,
                  mynn_optimizer_name(opt), world, k, at, (double)out[k].params[at],
                  (double)ref.params[at], rel);
            if (k > 0)   /* the ranks hold the same model, bit for bit */
                CHECK(!memcmp(out[k].params, out[0].params, ref.n * sizeof(float)),
                      "%d ranks: rank %d differs from rank 0", world, k);
            CHECK(fabsf(out[k].last.val_acc - ref.last.val_acc) < 1e-3f, "val acc %g vs %g",
                  (double)out[k].last.val_acc, (double)ref.last.val_acc);
            CHECK(fabsf(out[k].last.train_acc - ref.last.train_acc) < 1e-3f, "train acc %g vs %g",
                  (double)out[k].last.train_acc, (double)ref.last.train_acc);
            CHECK(fabsf(out[k].last.train_loss - ref.last.train_loss) <= 1e-5f * ref.last.train_loss,
                  "train loss %.9g vs %.9g", (double)out[k].last.train_loss, (double)ref.last.train_loss);
        }
        for (int k = 0; k < world; k++) free(out[k].params);
    }
    free(ref.params);
    free_data(tr);
    free_data(va);
}

static void test_sgd_dense(void) { check_equivalence("16:tanh,12:relu,3:softmax", MYNN_OPT_SGD); }
static void test_adam_dense(void) { check_equivalence("16:tanh,12:relu,3:softmax", MYNN_OPT_ADAM); }
static void test_adam_dropout(void) { check_equivalence("16:relu,dropout:0.3,12:relu,3:softmax", MYNN_OPT_ADAM); }
static void test_adam_cnn(void)
{
    check_equivalence_on("conv:4:3:relu:pad=same,maxpool:2,flatten,8:tanh,3:softmax", MYNN_OPT_ADAM, 1);
}

/* Batch norm keeps per-process batch statistics (as PyTorch's DDP), so N
 * ranks are not one process; but the ranks must still hold one model: the
 * same weights bit for bit, running statistics averaged after each epoch. */
static void test_batchnorm_ranks_agree(void)
{
    mynn_set_threads(1);
    mynn_dataset *tr = make_data_d(103, 16, 1);
    run r = {"conv:4:3:pad=same,batchnorm,relu,maxpool:2,flatten,3:softmax", MYNN_OPT_ADAM, 12, 2, 3,
             tr, NULL, 0, 0, 0, 1};
    result out[MAX_RANKS];
    train_ranks(&r, out);
    for (int k = 0; k < 3; k++) {
        CHECK(out[k].status == MYNN_OK, "rank %d: %s", k, out[k].error);
        CHECK(out[k].n == out[0].n && !memcmp(out[k].params, out[0].params, out[0].n * sizeof(float)),
              "rank %d holds another model", k);
    }
    for (int k = 0; k < 3; k++) free(out[k].params);
    free_data(tr);
}

/* Split evaluation: the confusion matrix and accuracy exactly, the loss to
 * rounding, on every rank. */
typedef struct eval_job {
    group *g;
    int rank;
    const mynn_dataset *ds;
    mynn_metrics m;
    int confusion[9];
    mynn_status s;
} eval_job;

static mynn_net *eval_net(void)
{
    mynn_net *net = NULL;
    if (mynn_create(&net, 6) || mynn_add_layers(net, "8:tanh,3:softmax") ||
        mynn_set_loss(net, MYNN_LOSS_CE) || mynn_build(net, 7, MYNN_INIT_AUTO, 3)) {
        mynn_free(net);
        return NULL;
    }
    return net;
}

static void *eval_thread(void *arg)
{
    eval_job *e = arg;
    mynn_net *net = eval_net();
    rank_ctx ctx = {e->g, e->rank};
    mynn_reducer red = {e->rank, e->g->world, sum_floats, sum_doubles, NULL, &ctx};
    e->s = net ? mynn_evaluate_reduced(net, e->ds, &red, &e->m, e->confusion) : MYNN_ERR_NOMEM;
    mynn_free(net);
    return NULL;
}

static void test_evaluate_split(void)
{
    mynn_set_threads(1);
    mynn_dataset *ds = make_data(50, 3);
    mynn_net *net = eval_net();
    mynn_metrics ref;
    int ref_conf[9];
    CHECK_OK(mynn_evaluate(net, ds, &ref, ref_conf));
    mynn_free(net);
    for (int world = 2; world <= MAX_RANKS; world++) {
        static group g;
        memset(&g, 0, sizeof g);
        g.world = world;
        pthread_barrier_init(&g.bar, NULL, (unsigned)world);
        pthread_t t[MAX_RANKS];
        eval_job e[MAX_RANKS];
        for (int i = 0; i < world; i++) {
            memset(&e[i], 0, sizeof e[i]);
            e[i].g = &g;
            e[i].rank = i;
            e[i].ds = ds;
            pthread_create(&t[i], NULL, eval_thread, &e[i]);
        }
        for (int i = 0; i < world; i++) pthread_join(t[i], NULL);
        pthread_barrier_destroy(&g.bar);
        for (int i = 0; i < world; i++) {
            CHECK(e[i].s == MYNN_OK, "rank %d: %s", i, mynn_status_name(e[i].s));
            CHECK(e[i].m.accuracy == ref.accuracy, "accuracy %g vs %g", (double)e[i].m.accuracy,
                  (double)ref.accuracy);
            CHECK(e[i].m.n == ref.n, "n");
            CHECK(fabsf(e[i].m.loss - ref.loss) <= 1e-6f * ref.loss, "loss %.9g vs %.9g",
                  (double)e[i].m.loss, (double)ref.loss);
            CHECK(fabsf(e[i].m.mse - ref.mse) <= 1e-6f * ref.mse, "mse");
            CHECK(!memcmp(e[i].confusion, ref_conf, sizeof ref_conf), "%d ranks: confusion differs", world);
        }
    }
    free_data(ds);
}

/* A stop asked by one rank's on_batch stops every rank one step later,
 * all with the same weights; a reducer failing everywhere gives
 * MYNN_ERR_COMM with its message on every rank. */
static void test_stop_and_failure(void)
{
    mynn_set_threads(1);
    mynn_dataset *tr = make_data(60, 4);
    run r = {"8:tanh,3:softmax", MYNN_OPT_ADAM, 8, 3, 3, tr, NULL, 2, 5, 0, 0};
    result out[MAX_RANKS];
    train_ranks(&r, out);
    for (int k = 0; k < 3; k++) {
        CHECK(out[k].status == MYNN_ERR_STOPPED, "rank %d: %s", k, mynn_status_name(out[k].status));
        CHECK(out[k].batches_seen == 5, "rank %d saw %d batches", k, out[k].batches_seen);
        CHECK(!memcmp(out[k].params, out[0].params, out[0].n * sizeof(float)), "rank %d drifted", k);
    }
    for (int k = 0; k < 3; k++) free(out[k].params);

    r.stop_batch = 0;
    r.fail_after = 4;
    train_ranks(&r, out);
    for (int k = 0; k < 3; k++) {
        CHECK(out[k].status == MYNN_ERR_COMM, "rank %d: %s", k, mynn_status_name(out[k].status));
        CHECK(strstr(out[k].error, "simulated transport failure") && strstr(out[k].error, "batch 4"),
              "message: %s", out[k].error);
        free(out[k].params);
    }
    free_data(tr);
}

/* Bad reducers and a net built too small for the rank's share. */
static void test_reducer_args(void)
{
    mynn_dataset *tr = make_data(20, 5);
    mynn_net *net = eval_net();   /* max_batch 7 */
    mynn_fit_options o;
    mynn_fit_options_default(&o);
    o.epochs = 1;
    o.batch_size = 15;            /* share 8 > 7 at 2 ranks */
    mynn_reducer red = {0, 2, sum_floats, sum_doubles, NULL, NULL};
    o.reducer = &red;
    CHECK(mynn_fit(net, tr, NULL, &o) == MYNN_ERR_ARG, "share over max_batch");
    CHECK(strstr(mynn_last_error(), "14"), "names the limit: %s", mynn_last_error());
    red.rank = 2;
    o.batch_size = 4;
    CHECK(mynn_fit(net, tr, NULL, &o) == MYNN_ERR_ARG, "rank out of range");
    red.rank = 0;
    red.sum_floats = NULL;
    CHECK(mynn_fit(net, tr, NULL, &o) == MYNN_ERR_ARG, "no callback");
    mynn_metrics m;
    red.world = 0;
    CHECK(mynn_evaluate_reduced(net, tr, &red, &m, NULL) == MYNN_ERR_ARG, "world 0");
    mynn_free(net);
    free_data(tr);
}

int main(void)
{
    CK_BEGIN("test_dist");
    RUN(test_sgd_dense);
    RUN(test_adam_dense);
    RUN(test_adam_dropout);
    RUN(test_adam_cnn);
    RUN(test_batchnorm_ranks_agree);
    RUN(test_evaluate_split);
    RUN(test_stop_and_failure);
    RUN(test_reducer_args);
    return CK_END();
}
