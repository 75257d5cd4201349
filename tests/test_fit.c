/* The training loop and metrics: convergence on XOR and two spirals,
 * determinism, early stopping, divergence recovery, callbacks, argument
 * checks, and mynn_evaluate on hand-made cases. */
#include "mynn.h"
#include "check.h"

#define PI_ 3.14159265358979323846

/* A dataset over caller-owned arrays (freed by ds_free here). */
static mynn_dataset *ds_new(int n, int d, int k, int with_labels)
{
    mynn_dataset *ds = calloc(1, sizeof *ds);
    if (!ds) return NULL;
    ds->n = n;
    ds->n_inputs = d;
    ds->n_outputs = k;
    ds->n_classes = with_labels ? k : 0;
    ds->x = calloc((size_t)n * d, sizeof(float));
    ds->y = calloc((size_t)n * k, sizeof(float));
    ds->labels = with_labels ? calloc((size_t)n, sizeof(int)) : NULL;
    return ds;
}

static void ds_free(mynn_dataset *ds)
{
    if (!ds) return;
    free(ds->x);
    free(ds->y);
    free(ds->labels);
    free(ds);
}

static void set_label(mynn_dataset *ds, int i, int c)
{
    ds->labels[i] = c;
    for (int j = 0; j < ds->n_outputs; j++) ds->y[(size_t)i * ds->n_outputs + j] = j == c;
}

static mynn_net *make_net(int n_in, const char *spec, mynn_loss loss, int max_batch, uint64_t seed)
{
    mynn_net *net = NULL;
    if (mynn_create(&net, n_in) || mynn_add_layers(net, spec) || mynn_set_loss(net, loss) ||
        mynn_build(net, max_batch, MYNN_INIT_AUTO, seed)) {
        fprintf(stderr, "  make_net(%s): %s\n", spec, mynn_last_error());
        mynn_free(net);
        return NULL;
    }
    return net;
}

static mynn_dataset *xor_data(void)
{
    mynn_dataset *ds = ds_new(4, 2, 2, 1);
    for (int i = 0; i < 4; i++) {
        ds->x[2 * i] = (float)(i & 1);
        ds->x[2 * i + 1] = (float)(i >> 1);
        set_label(ds, i, (i & 1) ^ (i >> 1));
    }
    return ds;
}

/* Two interleaved spirals, n per class, with a little seeded noise. */
static mynn_dataset *spirals(int per_class, uint64_t seed)
{
    mynn_dataset *ds = ds_new(2 * per_class, 2, 2, 1);
    mynn_rng r;
    mynn_rng_seed(&r, seed);
    for (int c = 0; c < 2; c++)
        for (int i = 0; i < per_class; i++) {
            int s = c * per_class + i;
            double t = (i + 0.5) / per_class;
            double radius = 0.1 + 0.9 * t, angle = 4.0 * PI_ * t + c * PI_;
            ds->x[2 * s] = (float)(radius * cos(angle) + 0.05 * (mynn_rng_uniform(&r) - 0.5));
            ds->x[2 * s + 1] = (float)(radius * sin(angle) + 0.05 * (mynn_rng_uniform(&r) - 0.5));
            set_label(ds, s, c);
        }
    return ds;
}

static void test_xor_adam_and_irprop(void)
{
    mynn_dataset *ds = xor_data();
    for (int variant = 0; variant < 2; variant++) {
        mynn_net *net = make_net(2, "8:tanh,2:softmax", MYNN_LOSS_CE, 4, 3);
        CHECK(net != NULL, "net");
        if (!net) continue;
        mynn_fit_options o;
        mynn_fit_options_default(&o);
        o.batch_size = 4;
        if (variant == 0) {
            o.optim.lr = 0.05f;
            o.epochs = 300;
        } else {
            mynn_optim_config_default(&o.optim, MYNN_OPT_IRPROP);
            o.epochs = 100;
        }
        CHECK_OK(mynn_fit(net, ds, NULL, &o));
        mynn_metrics m;
        CHECK_OK(mynn_evaluate(net, ds, &m, NULL));
        CHECK(m.accuracy == 1.0f, "%s: XOR accuracy %g, loss %g", variant ? "irprop" : "adam",
              (double)m.accuracy, (double)m.loss);
        CHECK(m.loss < 0.1f, "%s: XOR loss %g", variant ? "irprop" : "adam", (double)m.loss);
        mynn_free(net);
    }
    ds_free(ds);
}

static void test_spirals(void)
{
    mynn_dataset *ds = spirals(200, 7);
    mynn_net *net = make_net(2, "32:relu,32:relu,2:softmax", MYNN_LOSS_CE, 32, 11);
    CHECK(net != NULL, "net");
    if (net) {
        mynn_fit_options o;
        mynn_fit_options_default(&o);
        o.epochs = 150;
        o.optim.lr = 0.01f;
        o.batch_size = 32;
        o.seed = 5;
        CHECK_OK(mynn_fit(net, ds, NULL, &o));
        mynn_metrics m;
        int conf[4];
        CHECK_OK(mynn_evaluate(net, ds, &m, conf));
        CHECK(m.accuracy >= 0.95f, "spirals accuracy %g (loss %g)", (double)m.accuracy, (double)m.loss);
        CHECK(conf[0] + conf[1] + conf[2] + conf[3] == 400, "confusion total");
        CHECK(fabs((conf[0] + conf[3]) / 400.0 - m.accuracy) < 1e-6, "confusion diagonal vs accuracy");
    }
    mynn_free(net);
    ds_free(ds);
}

/* Train a fresh net (same build seed) and return a copy of its params. */
static float *train_copy(const mynn_dataset *ds, uint64_t seed, size_t *n, const char *spec)
{
    mynn_net *net = make_net(2, spec, MYNN_LOSS_CE, 16, 99);
    if (!net) return NULL;
    mynn_fit_options o;
    mynn_fit_options_default(&o);
    o.epochs = ck_sanitized() ? 3 : 10;
    o.batch_size = 16;
    o.seed = seed;
    float *copy = NULL;
    if (mynn_fit(net, ds, NULL, &o) == MYNN_OK) {
        const float *p = mynn_params(net, n);
        copy = malloc(*n * sizeof *copy);
        if (copy) memcpy(copy, p, *n * sizeof *copy);
    }
    mynn_free(net);
    return copy;
}

static void test_determinism(void)
{
    mynn_dataset *ds = spirals(60, 3);
    const char *spec = "32:relu,dropout:0.1,32:relu,2:softmax";
    size_t n1 = 0, n2 = 0, n3 = 0;
    float *a = train_copy(ds, 1, &n1, spec), *b = train_copy(ds, 1, &n2, spec);
    float *c = train_copy(ds, 2, &n3, spec);
    CHECK(a && b && c, "fits: %s", mynn_last_error());
    if (a && b && c) {
        CHECK(n1 == n2 && memcmp(a, b, n1 * sizeof *a) == 0, "same seed, different weights");
        CHECK(memcmp(a, c, n1 * sizeof *a) != 0, "the shuffle seed has no effect");
    }
    free(a);
    free(b);
    free(c);
    mynn_set_threads(2);
    a = train_copy(ds, 1, &n1, spec);
    b = train_copy(ds, 1, &n2, spec);
    CHECK(a && b && n1 == n2 && memcmp(a, b, n1 * sizeof *a) == 0, "2 threads: not bit-identical");
    free(a);
    free(b);
    mynn_set_threads(0);   /* back to the library default */
    ds_free(ds);
}

typedef struct {
    int epochs_seen;
    float val_loss[64];
    float lr[64];
    int stop_at_epoch;   /* on_epoch returns 1 here (-1: never) */
    int stop_at_batch;   /* on_batch returns 1 at this global batch count (-1: never) */
    int batches_seen;
    int last_n_batches;
} record;

static int on_epoch(const mynn_epoch_stats *s, void *user)
{
    record *r = user;
    if (s->epoch < 64) {
        r->val_loss[s->epoch] = s->val_loss;
        r->lr[s->epoch] = s->lr;
    }
    r->epochs_seen++;
    return s->epoch == r->stop_at_epoch;
}

static int on_batch(int epoch, int batch, int n_batches, float loss, void *user)
{
    (void)epoch;
    (void)batch;
    (void)loss;
    record *r = user;
    r->last_n_batches = n_batches;
    return ++r->batches_seen == r->stop_at_batch;
}

static void test_early_stopping(void)
{
    /* Train y = x, validate against y = -x: validation gets worse as
     * training improves, so it stops early and keeps the best epoch. */
    mynn_dataset *tr = ds_new(32, 1, 1, 0), *va = ds_new(32, 1, 1, 0);
    for (int i = 0; i < 32; i++) {
        float x = (float)i / 16.0f - 1.0f;
        tr->x[i] = va->x[i] = x;
        tr->y[i] = x;
        va->y[i] = -x;
    }
    mynn_net *net = make_net(1, "8:tanh,1", MYNN_LOSS_MSE, 8, 4);
    CHECK(net != NULL, "net");
    if (net) {
        mynn_fit_options o;
        mynn_fit_options_default(&o);
        o.epochs = 60;
        o.batch_size = 8;
        o.optim.lr = 0.01f;
        o.patience = 3;
        record r = { .stop_at_epoch = -1, .stop_at_batch = -1 };
        o.on_epoch = on_epoch;
        o.user = &r;
        CHECK_OK(mynn_fit(net, tr, va, &o));
        CHECK(r.epochs_seen < 60, "did not stop early (%d epochs)", r.epochs_seen);
        int best = 0;
        for (int e = 1; e < r.epochs_seen && e < 64; e++)
            if (r.val_loss[e] < r.val_loss[best]) best = e;
        CHECK(r.epochs_seen == best + 1 + o.patience, "stopped after %d epochs, best %d", r.epochs_seen, best);
        mynn_metrics m;
        CHECK_OK(mynn_evaluate(net, va, &m, NULL));
        CHECK(m.loss == r.val_loss[best], "final val loss %.9g, best recorded %.9g", (double)m.loss,
              (double)r.val_loss[best]);
        CHECK(m.loss != r.val_loss[r.epochs_seen - 1], "the last epoch's weights were kept");
    }
    mynn_free(net);
    ds_free(tr);
    ds_free(va);
}

static void test_divergence(void)
{
    mynn_dataset *ds = ds_new(64, 1, 1, 0);
    for (int i = 0; i < 64; i++) {
        ds->x[i] = (float)i - 32.0f;
        ds->y[i] = 3.0f * ds->x[i] + 1.0f;
    }
    mynn_net *net = make_net(1, "16:relu,1", MYNN_LOSS_MSE, 8, 2);
    CHECK(net != NULL, "net");
    if (net) {
        size_t np;
        const float *p = mynn_params(net, &np);
        float *initial = malloc(np * sizeof *initial);
        memcpy(initial, p, np * sizeof *initial);
        mynn_fit_options o;
        mynn_fit_options_default(&o);
        mynn_optim_config_default(&o.optim, MYNN_OPT_SGD);
        o.optim.lr = 1e3f;
        o.epochs = 20;
        o.batch_size = 8;
        mynn_status s = mynn_fit(net, ds, NULL, &o);
        const char *msg = mynn_last_error();
        CHECK(s == MYNN_ERR_NUMERIC, "status %s", mynn_status_name(s));
        CHECK(strstr(msg, "epoch") && strstr(msg, "batch") && strstr(msg, "diverged"), "message: %s", msg);
        CHECK(!strstr(msg, "epoch 0,") && !strstr(msg, "batch 0 "), "1-based: %s", msg);
        int finite = 1;
        for (size_t i = 0; i < np; i++) finite &= isfinite(p[i]) != 0;
        CHECK(finite, "params not finite after divergence");
        if (strstr(msg, "epoch 1,"))
            CHECK(memcmp(initial, p, np * sizeof *p) == 0, "epoch-1 divergence: params not restored");
        free(initial);
    }
    mynn_free(net);
    ds_free(ds);
}

static void test_callbacks_stop(void)
{
    mynn_dataset *ds = spirals(20, 1);   /* 40 samples */
    mynn_net *net = make_net(2, "8:relu,2:softmax", MYNN_LOSS_CE, 16, 1);
    CHECK(net != NULL, "net");
    if (net) {
        mynn_fit_options o;
        mynn_fit_options_default(&o);
        o.epochs = 10;
        o.batch_size = 16;   /* 3 batches, the last of 8 */
        record r = { .stop_at_epoch = -1, .stop_at_batch = 5 };
        o.on_batch = on_batch;
        o.on_epoch = on_epoch;
        o.user = &r;
        mynn_status s = mynn_fit(net, ds, NULL, &o);
        CHECK(s == MYNN_ERR_STOPPED, "batch stop: %s", mynn_status_name(s));
        CHECK(r.batches_seen == 5 && r.epochs_seen == 1, "batches %d epochs %d", r.batches_seen, r.epochs_seen);
        CHECK(r.last_n_batches == 3, "n_batches %d", r.last_n_batches);

        record r2 = { .stop_at_epoch = 1, .stop_at_batch = -1 };
        o.user = &r2;
        s = mynn_fit(net, ds, NULL, &o);
        CHECK(s == MYNN_ERR_STOPPED, "epoch stop: %s", mynn_status_name(s));
        CHECK(r2.epochs_seen == 2 && r2.batches_seen == 6, "epochs %d batches %d", r2.epochs_seen,
              r2.batches_seen);

        /* The schedule's rate reaches the callback. */
        record r3 = { .stop_at_epoch = -1, .stop_at_batch = -1 };
        o.user = &r3;
        o.epochs = 4;
        o.schedule.kind = MYNN_SCHED_STEP;
        o.schedule.step_size = 2;
        o.schedule.gamma = 0.5f;
        o.optim.lr = 0.01f;
        CHECK_OK(mynn_fit(net, ds, NULL, &o));
        CHECK(r3.lr[0] == 0.01f && r3.lr[1] == 0.01f && r3.lr[2] == 0.005f && r3.lr[3] == 0.005f,
              "lr %g %g %g %g", (double)r3.lr[0], (double)r3.lr[1], (double)r3.lr[2], (double)r3.lr[3]);
        CHECK(r3.val_loss[0] == -1.0f, "no validation set: val_loss %g", (double)r3.val_loss[0]);
    }
    mynn_free(net);
    ds_free(ds);
}

static mynn_epoch_stats g_first;
static int keep_first(const mynn_epoch_stats *s, void *user)
{
    (void)user;
    if (s->epoch == 0) g_first = *s;
    return 0;
}

static void test_epoch_stats(void)
{
    /* With SGD at rate 0 the weights never move, so the epoch's training
     * loss (batches of 4, 4, 2, weighted by size) equals the evaluated
     * loss, and training accuracy the evaluated accuracy. */
    mynn_dataset *ds = spirals(5, 9);
    mynn_net *net = make_net(2, "6:tanh,2:softmax", MYNN_LOSS_CE, 4, 8);
    CHECK(net != NULL, "net");
    if (net) {
        mynn_fit_options o;
        mynn_fit_options_default(&o);
        mynn_optim_config_default(&o.optim, MYNN_OPT_SGD);
        o.optim.lr = 0.0f;
        o.epochs = 1;
        o.batch_size = 4;
        o.on_epoch = keep_first;
        CHECK_OK(mynn_fit(net, ds, ds, &o));
        mynn_metrics m;
        CHECK_OK(mynn_evaluate(net, ds, &m, NULL));
        CHECK(fabs(g_first.train_loss - m.loss) < 1e-6, "train loss %.9g vs %.9g", (double)g_first.train_loss,
              (double)m.loss);
        CHECK(g_first.train_acc == m.accuracy, "train acc %g vs %g", (double)g_first.train_acc, (double)m.accuracy);
        CHECK(g_first.val_loss == m.loss && g_first.val_acc == m.accuracy, "val stats");
        CHECK(g_first.seconds >= 0.0, "seconds");
    }
    mynn_free(net);
    ds_free(ds);
}

static void test_fit_bad_args(void)
{
    mynn_dataset *ds = spirals(4, 1), *wrong = ds_new(8, 3, 2, 1), *empty = spirals(4, 1);
    empty->n = 0;
    mynn_net *net = make_net(2, "4:relu,2:softmax", MYNN_LOSS_CE, 8, 1);
    mynn_net *unbuilt = NULL;
    mynn_create(&unbuilt, 2);
    mynn_add_dense(unbuilt, 2, MYNN_ACT_SOFTMAX);
    mynn_fit_options o;
    mynn_fit_options_default(&o);
    CHECK(o.epochs == 10 && o.batch_size == 32 && o.shuffle == 1 && o.optim.kind == MYNN_OPT_ADAM &&
          o.schedule.kind == MYNN_SCHED_CONSTANT && o.patience == 0 && !o.on_epoch && !o.on_batch,
          "fit defaults");
    o.batch_size = 4;
    o.epochs = 1;

    CHECK(mynn_fit(NULL, ds, NULL, &o) == MYNN_ERR_NULL, "NULL net");
    CHECK(mynn_fit(net, NULL, NULL, &o) == MYNN_ERR_NULL, "NULL train");
    CHECK(mynn_fit(net, ds, NULL, NULL) == MYNN_ERR_NULL, "NULL options");
    CHECK(mynn_fit(unbuilt, ds, NULL, &o) == MYNN_ERR_STATE, "unbuilt");
    mynn_fit_options b = o;
    b.batch_size = 0;
    CHECK(mynn_fit(net, ds, NULL, &b) == MYNN_ERR_ARG, "batch 0");
    b.batch_size = 9;
    CHECK(mynn_fit(net, ds, NULL, &b) == MYNN_ERR_ARG, "batch > max_batch");
    CHECK(strstr(mynn_last_error(), "batch") != NULL, "message: %s", mynn_last_error());
    b = o;
    b.epochs = 0;
    CHECK(mynn_fit(net, ds, NULL, &b) == MYNN_ERR_ARG, "epochs 0");
    b = o;
    b.optim.lr = -1.0f;
    CHECK(mynn_fit(net, ds, NULL, &b) == MYNN_ERR_ARG, "negative lr");
    b.optim.lr = NAN;
    CHECK(mynn_fit(net, ds, NULL, &b) == MYNN_ERR_ARG, "nan lr");
    b.optim.lr = INFINITY;
    CHECK(mynn_fit(net, ds, NULL, &b) == MYNN_ERR_ARG, "inf lr");
    CHECK(mynn_fit(net, wrong, NULL, &o) == MYNN_ERR_SHAPE, "wrong inputs");
    CHECK(mynn_fit(net, ds, wrong, &o) == MYNN_ERR_SHAPE, "wrong validation inputs");
    CHECK(mynn_fit(net, empty, NULL, &o) == MYNN_ERR_SHAPE, "no samples");
    b = o;
    b.schedule.kind = MYNN_SCHED_STEP;
    b.schedule.step_size = 0;
    CHECK(mynn_fit(net, ds, NULL, &b) == MYNN_ERR_ARG, "bad schedule");
    ds->x[3] = NAN;
    CHECK(mynn_fit(net, ds, NULL, &o) == MYNN_ERR_NUMERIC, "NaN input");
    CHECK(strlen(mynn_last_error()) > 0, "message");
    ds->x[3] = 0.0f;

    mynn_metrics m;
    CHECK(mynn_evaluate(NULL, ds, &m, NULL) == MYNN_ERR_NULL, "evaluate NULL net");
    CHECK(mynn_evaluate(net, NULL, &m, NULL) == MYNN_ERR_NULL, "evaluate NULL ds");
    CHECK(mynn_evaluate(net, ds, NULL, NULL) == MYNN_ERR_NULL, "evaluate NULL metrics");
    CHECK(mynn_evaluate(unbuilt, ds, &m, NULL) == MYNN_ERR_STATE, "evaluate unbuilt");
    CHECK(mynn_evaluate(net, wrong, &m, NULL) == MYNN_ERR_SHAPE, "evaluate shape");
    CHECK(mynn_evaluate(net, empty, &m, NULL) == MYNN_ERR_SHAPE, "evaluate empty");

    mynn_free(unbuilt);
    mynn_free(net);
    empty->n = 8;
    ds_free(empty);
    ds_free(wrong);
    ds_free(ds);
}

static void test_evaluate_known(void)
{
    /* 2 inputs -> 3 identity outputs with W = [[1,0],[0,1],[0,0]],
     * b = [0,0,0.5]: x = (1,0) predicts 0, (0,1) predicts 1, (0,0) 2. */
    mynn_net *net = make_net(2, "3", MYNN_LOSS_MSE, 2, 1);   /* max_batch 2: chunks */
    CHECK(net != NULL, "net");
    if (!net) return;
    float *w = mynn_layer_weight(net, 0), *bias = mynn_layer_bias(net, 0);
    const float wv[6] = { 1, 0, 0, 1, 0, 0 }, bv[3] = { 0, 0, 0.5f };
    memcpy(w, wv, sizeof wv);
    memcpy(bias, bv, sizeof bv);
    mynn_dataset *ds = ds_new(5, 2, 3, 1);
    const float xs[5][2] = { { 1, 0 }, { 0, 1 }, { 0, 0 }, { 1, 0 }, { 0, 1 } };
    const int truth[5] = { 0, 1, 2, 1, 2 };   /* predictions 0 1 2 0 1 */
    for (int i = 0; i < 5; i++) {
        ds->x[2 * i] = xs[i][0];
        ds->x[2 * i + 1] = xs[i][1];
        set_label(ds, i, truth[i]);
    }
    mynn_metrics m;
    int conf[9];
    memset(conf, 0x7f, sizeof conf);
    CHECK_OK(mynn_evaluate(net, ds, &m, conf));
    const int want[9] = { 1, 0, 0,    /* true 0: sample 0 predicted 0 */
                          1, 1, 0,    /* true 1: sample 3 predicted 0, sample 1 predicted 1 */
                          0, 1, 1 };  /* true 2: sample 4 predicted 1, sample 2 predicted 2 */
    for (int i = 0; i < 9; i++)
        CHECK(conf[i] == want[i], "confusion[%d][%d] = %d, want %d", i / 3, i % 3, conf[i], want[i]);
    CHECK(m.n == 5, "n %d", m.n);
    CHECK(fabs(m.accuracy - 0.6) < 1e-6, "accuracy %g", (double)m.accuracy);

    /* Outputs by hand, then MSE and MAE against the one-hot targets. */
    double se = 0, ae = 0;
    for (int i = 0; i < 5; i++) {
        double out[3] = { xs[i][0], xs[i][1], 0.5 };
        for (int j = 0; j < 3; j++) {
            double e = out[j] - (j == truth[i]);
            se += e * e;
            ae += fabs(e);
        }
    }
    CHECK(fabs(m.mse - se / 15) < 1e-6, "mse %g want %g", (double)m.mse, se / 15);
    CHECK(fabs(m.mae - ae / 15) < 1e-6, "mae %g want %g", (double)m.mae, ae / 15);
    CHECK(fabs(m.loss - se / 15) < 1e-6, "MSE loss %g want %g", (double)m.loss, se / 15);

    float prec[3], rec[3];
    mynn_precision_recall(conf, 3, prec, rec);
    /* predicted 0: samples 0 (true 0), 3 (true 1) -> precision 1/2; true 0: 1/1 */
    CHECK(fabs(prec[0] - 0.5) < 1e-6 && fabs(rec[0] - 1.0) < 1e-6, "class 0: %g %g", (double)prec[0], (double)rec[0]);
    /* predicted 1: samples 1 (true 1), 4 (true 2) -> 1/2; true 1: samples 1, 3 -> 1/2 */
    CHECK(fabs(prec[1] - 0.5) < 1e-6 && fabs(rec[1] - 0.5) < 1e-6, "class 1: %g %g", (double)prec[1], (double)rec[1]);
    /* predicted 2: sample 2 (true 2) -> 1; true 2: samples 2, 4 -> 1/2 */
    CHECK(fabs(prec[2] - 1.0) < 1e-6 && fabs(rec[2] - 0.5) < 1e-6, "class 2: %g %g", (double)prec[2], (double)rec[2]);
    int zero[4] = { 0, 0, 0, 3 };
    mynn_precision_recall(zero, 2, prec, rec);
    CHECK(prec[0] == 0.0f && rec[0] == 0.0f && prec[1] == 1.0f && rec[1] == 1.0f, "undefined -> 0");
    mynn_precision_recall(zero, 2, NULL, rec);   /* either output may be NULL */

    /* Without labels: accuracy -1, confusion untouched. */
    free(ds->labels);
    ds->labels = NULL;
    conf[0] = 42;
    CHECK_OK(mynn_evaluate(net, ds, &m, conf));
    CHECK(m.accuracy == -1.0f && conf[0] == 42, "no labels: acc %g", (double)m.accuracy);
    ds_free(ds);
    mynn_free(net);
}

static void test_evaluate_ce_matches_loss_value(void)
{
    /* Chunked evaluation (max_batch 3 over 10 samples) gives the mean
     * cross-entropy of mynn_loss_value over all predictions. */
    mynn_dataset *ds = spirals(5, 4);
    mynn_net *net = make_net(2, "5:tanh,2:softmax", MYNN_LOSS_CE, 3, 6);
    CHECK(net != NULL, "net");
    if (net) {
        float pred[20], want;
        CHECK_OK(mynn_predict(net, ds->x, 10, pred));
        CHECK_OK(mynn_loss_value(net, pred, ds->y, 10, &want));
        mynn_metrics m;
        CHECK_OK(mynn_evaluate(net, ds, &m, NULL));
        CHECK(fabs(m.loss - want) < 1e-5 * (1 + fabs(want)), "loss %.9g want %.9g", (double)m.loss, (double)want);
    }
    mynn_free(net);
    ds_free(ds);
}

int main(void)
{
    CK_BEGIN("test_fit");
    RUN(test_xor_adam_and_irprop);
    RUN(test_spirals);
    RUN(test_determinism);
    RUN(test_early_stopping);
    RUN(test_divergence);
    RUN(test_callbacks_stop);
    RUN(test_epoch_stats);
    RUN(test_fit_bad_args);
    RUN(test_evaluate_known);
    RUN(test_evaluate_ce_matches_loss_value);
    return CK_END();
}
