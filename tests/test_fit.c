/* The training loop and metrics: convergence on XOR and two spirals,
 * determinism, early stopping, divergence recovery, callbacks, argument
 * checks, and mynn_evaluate on hand-made cases. */
#include "mynn.h"
#include "check.h"

#include <unistd.h>

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


/* ------------------------------------------------------------------------ */
/* Checkpoints: interrupted + resumed == uninterrupted, bit for bit          */
/* ------------------------------------------------------------------------ */

static char ck_path[256];

static void ck_path_init(void)
{
    const char *base = getenv("TMPDIR");
    snprintf(ck_path, sizeof ck_path, "%s/mynn_fit_ckpt_%ld.safetensors", base && *base ? base : "/tmp",
             (long)getpid());
}

typedef struct ck_run {
    const char *spec;
    int n_in;
    mynn_loss loss;
    mynn_optimizer_kind kind;
    int patience;
    int shuffle;
} ck_run;

/* A fresh net (as a new process would build it) fitted for epochs, with
 * checkpoint_path / resume as given.  Returns the status; *params (may be
 * NULL) receives a copy of the parameters, *epochs_run the on_epoch count. */
static mynn_status ck_fit(const ck_run *c, const mynn_dataset *tr, const mynn_dataset *va, int epochs,
                          const char *path, int resume, int batch, uint64_t seed, float **params,
                          size_t *n, int *epochs_run)
{
    mynn_net *net = make_net(c->n_in, c->spec, c->loss, 16, 99);
    if (!net) return MYNN_ERR_STATE;
    mynn_fit_options o;
    mynn_fit_options_default(&o);
    mynn_optim_config_default(&o.optim, c->kind);
    if (c->kind == MYNN_OPT_SGD) o.optim.momentum = 0.9f;
    if (c->kind == MYNN_OPT_LBFGS) o.optim.max_evals = 1000;   /* all epochs run */
    o.epochs = epochs;
    o.batch_size = batch;
    o.seed = seed;
    o.shuffle = c->shuffle;
    o.patience = c->patience;
    o.checkpoint_path = path;
    o.resume = resume;
    record r = { .stop_at_epoch = -1, .stop_at_batch = -1 };
    o.on_epoch = on_epoch;
    o.user = &r;
    mynn_status s = mynn_fit(net, tr, va, &o);
    if (epochs_run) *epochs_run = r.epochs_seen;
    if (params) {
        const float *p = mynn_params(net, n);
        *params = malloc(*n * sizeof **params);
        if (*params) memcpy(*params, p, *n * sizeof **params);
    }
    mynn_free(net);
    return s;
}

static void test_checkpoint_resume(void)
{
    ck_path_init();
    mynn_dataset *ds = spirals(40, 3);
    const ck_run runs[] = {
        {"16:relu,dropout:0.25,16:relu,dropout:0.1,2:softmax", 2, MYNN_LOSS_CE, MYNN_OPT_ADAM, 0, 1},
        {"16:tanh,dropout:0.5,2:softmax", 2, MYNN_LOSS_CE, MYNN_OPT_SGD, 0, 1},
        {"16:relu,2:softmax", 2, MYNN_LOSS_CE, MYNN_OPT_RMSPROP, 0, 0},
        {"8:tanh,2:softmax", 2, MYNN_LOSS_CE, MYNN_OPT_IRPROP, 0, 1},
        /* history and line-search state; the gradient summed over 5 batches
         * (no dropout: its random loss can end a line search, and training) */
        {"16:tanh,2:softmax", 2, MYNN_LOSS_CE, MYNN_OPT_LBFGS, 0, 1},
        /* recurrent layers: the 2 inputs read as 2 steps of 1 */
        {"lstm:8,dropout:0.2,2:softmax", 2, MYNN_LOSS_CE, MYNN_OPT_ADAM, 0, 1},
        {"gru:6:seq:bi,flatten,2:softmax", 2, MYNN_LOSS_CE, MYNN_OPT_SGD, 0, 1},
    };
    for (size_t k = 0; k < sizeof runs / sizeof *runs; k++) {
        const ck_run *c = &runs[k];
        const char *name = mynn_optimizer_name(c->kind);
        float *straight = NULL, *with_ckpt = NULL, *resumed = NULL;
        size_t n1 = 0, n2 = 0, n3 = 0;
        int seen = 0;
        unlink(ck_path);
        CHECK_OK(ck_fit(c, ds, NULL, 5, NULL, 0, 16, 7, &straight, &n1, NULL));
        /* Checkpointing every epoch changes nothing. */
        CHECK_OK(ck_fit(c, ds, NULL, 5, ck_path, 0, 16, 7, &with_ckpt, &n2, NULL));
        /* 2 epochs (resume = 1 with no file yet: a fresh start), then on to 5. */
        unlink(ck_path);
        CHECK_OK(ck_fit(c, ds, NULL, 2, ck_path, 1, 16, 7, NULL, NULL, NULL));
        CHECK_OK(ck_fit(c, ds, NULL, 5, ck_path, 1, 16, 7, &resumed, &n3, &seen));
        CHECK(seen == 3, "%s: resumed run trained %d epochs, wanted 3", name, seen);
        CHECK(straight && with_ckpt && resumed && n1 == n2 && n1 == n3, "%s: fits", name);
        if (straight && with_ckpt && resumed && n1 == n2 && n1 == n3) {
            CHECK(memcmp(straight, with_ckpt, n1 * sizeof(float)) == 0, "%s: checkpointing changed the result", name);
            CHECK(memcmp(straight, resumed, n1 * sizeof(float)) == 0, "%s: resumed != uninterrupted", name);
        }
        /* All epochs done: resuming only restores. */
        free(resumed);
        resumed = NULL;
        CHECK_OK(ck_fit(c, ds, NULL, 5, ck_path, 1, 16, 7, &resumed, &n3, &seen));
        CHECK(seen == 0 && resumed && n3 == n1 && memcmp(straight, resumed, n1 * sizeof(float)) == 0,
              "%s: resume of a finished run trained %d epochs / changed the weights", name, seen);
        free(straight);
        free(with_ckpt);
        free(resumed);
    }
    ds_free(ds);

    /* Early stopping (validation gets worse as training improves): the best
     * weights, best loss and patience counter survive the interruption,
     * also when it falls after the best epoch. */
    mynn_dataset *tr = ds_new(32, 1, 1, 0), *va = ds_new(32, 1, 1, 0);
    for (int i = 0; i < 32; i++) {
        float x = (float)i / 16.0f - 1.0f;
        tr->x[i] = va->x[i] = x;
        tr->y[i] = x;
        va->y[i] = -x;
    }
    const ck_run es = {"8:tanh,dropout:0.2,1", 1, MYNN_LOSS_MSE, MYNN_OPT_ADAM, 3, 1};
    float *straight = NULL;
    size_t n1 = 0;
    int total = 0;
    CHECK_OK(ck_fit(&es, tr, va, 60, NULL, 0, 8, 5, &straight, &n1, &total));
    CHECK(total > 2 && total < 60, "early stopping after %d epochs", total);
    for (int split = 1; split <= total && straight; split++) {
        float *resumed = NULL;
        size_t n3 = 0;
        int a = 0, b = 0;
        unlink(ck_path);
        CHECK_OK(ck_fit(&es, tr, va, split, ck_path, 0, 8, 5, NULL, NULL, &a));
        CHECK_OK(ck_fit(&es, tr, va, 60, ck_path, 1, 8, 5, &resumed, &n3, &b));
        CHECK(a + b == total, "split %d: %d + %d epochs, uninterrupted %d", split, a, b, total);
        CHECK(resumed && n3 == n1 && memcmp(straight, resumed, n1 * sizeof(float)) == 0,
              "early stopping, split after epoch %d: resumed != uninterrupted", split);
        free(resumed);
    }
    free(straight);
    ds_free(tr);
    ds_free(va);
    unlink(ck_path);
}

static unsigned char *ck_read(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long sz = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *b = malloc(sz > 0 ? (size_t)sz : 1);
    if (b && fread(b, 1, (size_t)sz, f) != (size_t)sz) {
        free(b);
        b = NULL;
    }
    fclose(f);
    *n = (size_t)sz;
    return b;
}

static void ck_write(const char *path, const unsigned char *b, size_t n)
{
    FILE *f = fopen(path, "wb");
    if (!f) return;
    fwrite(b, 1, n, f);
    fclose(f);
}

/* Resuming with other settings or a damaged file: a clear error, and the
 * network keeps its parameters. */
static void test_checkpoint_checks(void)
{
    ck_path_init();
    mynn_dataset *ds = spirals(20, 3);
    const ck_run c = {"8:relu,dropout:0.2,2:softmax", 2, MYNN_LOSS_CE, MYNN_OPT_ADAM, 0, 0};
    unlink(ck_path);
    CHECK_OK(ck_fit(&c, ds, NULL, 2, ck_path, 0, 8, 7, NULL, NULL, NULL));
    size_t len = 0;
    unsigned char *good = ck_read(ck_path, &len);
    CHECK(good && len > 100, "checkpoint written (%zu bytes)", len);
    if (!good) {
        ds_free(ds);
        return;
    }

    struct { const char *what; ck_run c; int batch; uint64_t seed; int epochs; } bad[] = {
        {"batch size", c, 4, 7, 5},
        {"seed", c, 8, 8, 5},
        {"optimizer", {c.spec, 2, MYNN_LOSS_CE, MYNN_OPT_RMSPROP, 0, 0}, 8, 7, 5},
        {"layers", {"9:relu,dropout:0.2,2:softmax", 2, MYNN_LOSS_CE, MYNN_OPT_ADAM, 0, 0}, 8, 7, 5},
        {"layers", {"8:relu,dropout:0.3,2:softmax", 2, MYNN_LOSS_CE, MYNN_OPT_ADAM, 0, 0}, 8, 7, 5},
        {"shuffle", {c.spec, 2, MYNN_LOSS_CE, MYNN_OPT_ADAM, 0, 1}, 8, 7, 5},
        {"more than the 1 asked", c, 8, 7, 1},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        mynn_status s = ck_fit(&bad[i].c, ds, NULL, bad[i].epochs, ck_path, 1, bad[i].batch, bad[i].seed,
                               NULL, NULL, NULL);
        CHECK(s == MYNN_ERR_ARG && strstr(mynn_last_error(), bad[i].what) &&
              strstr(mynn_last_error(), ck_path),
              "other %s: %s: %s", bad[i].what, mynn_status_name(s), mynn_last_error());
    }
    /* Other data of the same size. */
    float keep = ds->x[3];
    ds->x[3] += 0.5f;
    mynn_status s = ck_fit(&c, ds, NULL, 5, ck_path, 1, 8, 7, NULL, NULL, NULL);
    CHECK(s == MYNN_ERR_ARG && strstr(mynn_last_error(), "data"), "other data: %s", mynn_last_error());
    ds->x[3] = keep;
    /* resume without a path; a checkpoint folder that does not exist. */
    mynn_net *net = make_net(2, c.spec, MYNN_LOSS_CE, 16, 99);
    mynn_fit_options o;
    mynn_fit_options_default(&o);
    o.batch_size = 8;
    o.resume = 1;
    CHECK(net && mynn_fit(net, ds, NULL, &o) == MYNN_ERR_ARG, "resume without checkpoint_path");
    o.resume = 0;
    o.checkpoint_path = "/nonexistent-dir/ck.safetensors";
    o.epochs = 1;
    CHECK(net && mynn_fit(net, ds, NULL, &o) == MYNN_ERR_IO && strstr(mynn_last_error(), "nonexistent"),
          "checkpoint into a missing folder: %s", mynn_last_error());
    mynn_free(net);

    /* Damaged files: refused with MYNN_ERR_FORMAT, parameters untouched. */
    net = make_net(2, c.spec, MYNN_LOSS_CE, 16, 99);
    size_t np = 0;
    float *before = NULL;
    if (net) {
        const float *p = mynn_params(net, &np);
        before = malloc(np * sizeof *before);
        if (before) memcpy(before, p, np * sizeof *before);
    }
    mynn_fit_options_default(&o);
    o.epochs = 5;
    o.batch_size = 8;
    o.seed = 7;
    o.shuffle = 0;
    o.checkpoint_path = ck_path;
    o.resume = 1;
    unsigned char *m = malloc(len);
    /* The order of an unshuffled run is 0, 1, 2, ...: make it a non-permutation. */
    const unsigned char ident[12] = {0, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0};
    size_t at = 0;
    for (size_t k = 0; k + 12 <= len && !at; k++)
        if (!memcmp(good + k, ident, 12)) at = k;
    CHECK(at > 0, "order tensor not found");
    if (m && at) {
        memcpy(m, good, len);
        m[at + 4] = 0;   /* 0, 0, 2, ... */
        ck_write(ck_path, m, len);
        s = net ? mynn_fit(net, ds, NULL, &o) : MYNN_ERR_STATE;
        CHECK(s == MYNN_ERR_FORMAT && strstr(mynn_last_error(), "permutation"), "bad order: %s: %s",
              mynn_status_name(s), mynn_last_error());
    }
    size_t cuts[] = {0, 7, 8, 100, len / 2, len - 1};
    for (size_t i = 0; i < sizeof cuts / sizeof *cuts; i++) {
        ck_write(ck_path, good, cuts[i]);
        s = net ? mynn_fit(net, ds, NULL, &o) : MYNN_ERR_STATE;
        CHECK(s == MYNN_ERR_FORMAT, "truncated to %zu bytes: %s: %s", cuts[i], mynn_status_name(s),
              mynn_last_error());
    }
    /* Random byte flips: never a crash; a load that succeeds must be one
     * whose flip hit nothing checked (then training simply goes on). */
    mynn_rng r;
    mynn_rng_seed(&r, 11);
    int trials = ck_sanitized() ? 60 : 300, refused = 0;
    for (int t = 0; t < trials && m; t++) {
        memcpy(m, good, len);
        for (int f = 0; f < 3; f++) m[mynn_rng_below(&r, len)] ^= (unsigned char)(1 + mynn_rng_below(&r, 255));
        ck_write(ck_path, m, len);
        mynn_net *fresh = make_net(2, c.spec, MYNN_LOSS_CE, 16, 99);
        s = fresh ? mynn_fit(fresh, ds, NULL, &o) : MYNN_ERR_STATE;
        CHECK(s == MYNN_OK || s == MYNN_ERR_FORMAT || s == MYNN_ERR_ARG || s == MYNN_ERR_NUMERIC,
              "flip %d: %s: %s", t, mynn_status_name(s), mynn_last_error());
        refused += s != MYNN_OK;
        mynn_free(fresh);
    }
    printf("  %d of %d damaged checkpoints refused\n", refused, trials);
    if (net && before) {
        const float *p = mynn_params(net, &np);
        CHECK(memcmp(p, before, np * sizeof *p) == 0, "a refused checkpoint changed the parameters");
    }
    free(before);
    free(m);
    mynn_free(net);
    free(good);
    ds_free(ds);
    unlink(ck_path);
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
    RUN(test_checkpoint_resume);
    RUN(test_checkpoint_checks);
    return CK_END();
}
