/* optim.kind = MYNN_OPT_AUTO: the search on held-out rows.  The same
 * choice and weights for every thread count; the refit is exactly a fit
 * of the chosen setting on every row; the report, the metadata (and
 * through a model file); fixed decay and epochs; no search on too few or
 * too many rows; Adam candidates above lbfgs_rows; the callbacks; errors. */
#include "mynn.h"
#include "check.h"
#include "train/fit_internal.h"

#include <stdint.h>
#include <unistd.h>

static mynn_dataset *ds_new(int n, int d, int k, int classes)
{
    mynn_dataset *ds = calloc(1, sizeof *ds);
    ds->n = n;
    ds->n_inputs = d;
    ds->n_outputs = k;
    ds->n_classes = classes;
    ds->x = calloc((size_t)n * d, sizeof(float));
    ds->y = calloc((size_t)n * k, sizeof(float));
    if (classes) ds->labels = calloc((size_t)n, sizeof(int));
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

/* A noisy curve: y = sin(3 x0) + x1 / 2 + noise; few rows, so that the
 * decay matters. */
static mynn_dataset *curve(int n, uint64_t seed)
{
    mynn_dataset *ds = ds_new(n, 2, 1, 0);
    mynn_rng r;
    mynn_rng_seed(&r, seed);
    for (int i = 0; i < n; i++) {
        float a = 2.0f * mynn_rng_uniform(&r) - 1.0f, b = 2.0f * mynn_rng_uniform(&r) - 1.0f;
        ds->x[2 * i] = a;
        ds->x[2 * i + 1] = b;
        ds->y[i] = sinf(3.0f * a) + 0.5f * b + 0.4f * (mynn_rng_uniform(&r) - 0.5f);
    }
    return ds;
}

/* Three overlapping blobs, the classes 3:2:1 in size (stratification). */
static mynn_dataset *blobs(int n, uint64_t seed)
{
    mynn_dataset *ds = ds_new(n, 2, 3, 3);
    mynn_rng r;
    mynn_rng_seed(&r, seed);
    for (int i = 0; i < n; i++) {
        int c = i % 6 < 3 ? 0 : i % 6 < 5 ? 1 : 2;
        ds->labels[i] = c;
        ds->y[3 * i + c] = 1.0f;
        ds->x[2 * i] = (c == 1 ? 1.0f : 0.0f) + 1.2f * (mynn_rng_uniform(&r) - 0.5f);
        ds->x[2 * i + 1] = (c == 2 ? 1.0f : 0.0f) + 1.2f * (mynn_rng_uniform(&r) - 0.5f);
    }
    return ds;
}

static mynn_net *make_net(int n_in, const char *spec, mynn_loss loss, int max_batch)
{
    mynn_net *net = NULL;
    if (mynn_create(&net, n_in) || mynn_add_layers(net, spec) || mynn_set_loss(net, loss) ||
        mynn_build(net, max_batch, MYNN_INIT_AUTO, 11)) {
        fprintf(stderr, "  make_net(%s): %s\n", spec, mynn_last_error());
        mynn_free(net);
        return NULL;
    }
    return net;
}

static mynn_fit_options auto_options(mynn_auto_report *rep)
{
    mynn_fit_options o;
    mynn_fit_options_default(&o);
    mynn_optim_config_default(&o.optim, MYNN_OPT_AUTO);
    o.seed = 5;
    o.search.report = rep;
    return o;
}

static int same_floats(const float *a, const float *b, size_t n) { return memcmp(a, b, n * sizeof *a) == 0; }

static int same_report(const mynn_auto_report *a, const mynn_auto_report *b)
{
    int same = a->n_candidates == b->n_candidates && a->chosen == b->chosen && a->kind == b->kind &&
               a->weight_decay == b->weight_decay && a->epochs == b->epochs && a->folds == b->folds &&
               a->n_val == b->n_val;
    for (int c = 0; same && c < a->n_candidates; c++)
        same = memcmp(&a->candidates[c], &b->candidates[c], sizeof a->candidates[c]) == 0;
    return same;
}

/* The search on `threads` threads: its report and final weights. */
static float *auto_run(const mynn_dataset *ds, const char *spec, mynn_loss loss, int threads,
                       mynn_auto_report *rep, size_t *np)
{
    mynn_net *net = make_net(ds->n_inputs, spec, loss, ds->n);
    mynn_fit_options o = auto_options(rep);
    mynn_set_threads(threads);
    if (net) CHECK_OK(mynn_fit(net, ds, NULL, &o));
    mynn_set_threads(0);
    float *p = net ? mynn_params(net, np) : NULL, *copy = p ? malloc(*np * sizeof *copy) : NULL;
    if (copy) memcpy(copy, p, *np * sizeof *copy);
    mynn_free(net);
    return copy;
}

/* Candidates on the threads in parallel, each on one: the choice, every
 * candidate's held-out losses and the weights do not depend on the thread
 * count (nor on a second run). */
static void test_determinism(void)
{
    mynn_dataset *ds = curve(120, 3), *cl = blobs(150, 4);
    mynn_auto_report r1, r2, r3;
    size_t n1 = 0, n2 = 0, n3 = 0;
    float *w1 = auto_run(ds, "12:tanh,1", MYNN_LOSS_MSE, 1, &r1, &n1);
    float *w2 = auto_run(ds, "12:tanh,1", MYNN_LOSS_MSE, 2, &r2, &n2);
    float *w3 = auto_run(ds, "12:tanh,1", MYNN_LOSS_MSE, 3, &r3, &n3);
    CHECK(w1 && w2 && w3 && n1 == n2 && n1 == n3, "runs");
    CHECK(r1.n_candidates == 8 && r1.folds == 5 && r1.chosen >= 0, "8 L-BFGS candidates, cross-validated: %d, %d",
          r1.n_candidates, r1.folds);
    CHECK(same_report(&r1, &r2) && same_report(&r1, &r3), "the report depends on the threads");
    CHECK(w1 && w2 && w3 && same_floats(w1, w2, n1) && same_floats(w1, w3, n1), "the weights depend on the threads");
    printf("  curve: chose lbfgs decay %g, %d iterations, val loss %.4g; same on 1, 2 and 3 threads\n",
           (double)r1.weight_decay, r1.epochs, (double)r1.candidates[r1.chosen].val_loss);
    free(w1), free(w2), free(w3);
    w1 = auto_run(cl, "8:tanh,3:softmax", MYNN_LOSS_CE, 1, &r1, &n1);
    w2 = auto_run(cl, "8:tanh,3:softmax", MYNN_LOSS_CE, 2, &r2, &n2);
    CHECK(w1 && w2 && same_report(&r1, &r2) && same_floats(w1, w2, n1), "classes: depends on the threads");
    /* Stratified: fold 0 holds a fifth of each class (90, 50 and 25 rows... of 150: 75/50/25). */
    CHECK(r1.n_val == 15 + 10 + 5 && r1.n_fit == 120, "fold 0 of 150 rows in classes 75/50/25: %d held out",
          r1.n_val);
    free(w1), free(w2);
    ds_free(ds);
    ds_free(cl);
}

/* The folds: stratified (each holds a fifth of every class, to a row,
 * however the classes are ordered), sizes within one, drawn from the seed. */
static void test_folds(void)
{
    mynn_dataset *ds = ds_new(103, 1, 3, 3);
    for (int i = 0; i < ds->n; i++) ds->labels[i] = i < 70 ? 0 : i < 97 ? 1 : 2;   /* 70, 27, 6: sorted */
    int part[103], again[103], other[103], order[103], count[MN_AUTO_FOLDS][3] = {{0}}, size[MN_AUTO_FOLDS] = {0};
    mn_auto_folds(ds, 7, part, order);
    mn_auto_folds(ds, 7, again, order);
    mn_auto_folds(ds, 8, other, order);
    for (int i = 0; i < ds->n; i++) {
        count[part[i]][ds->labels[i]]++;
        size[part[i]]++;
    }
    int ok = 1;
    for (int f = 0; f < MN_AUTO_FOLDS; f++) {
        ok &= size[f] == 20 || size[f] == 21;
        ok &= count[f][0] == 14 && (count[f][1] == 5 || count[f][1] == 6) && (count[f][2] == 1 || count[f][2] == 2);
    }
    CHECK(ok, "folds: sizes %d %d %d %d %d, class 2 per fold %d %d %d %d %d", size[0], size[1], size[2], size[3],
          size[4], count[0][2], count[1][2], count[2][2], count[3][2], count[4][2]);
    CHECK(!memcmp(part, again, sizeof part) && memcmp(part, other, sizeof part), "the folds follow the seed");
    ds_free(ds);
}

/* The report's own consistency: the chosen has the lowest held-out loss
 * of the cross-validated (the three best of stage 1), the others one fold. */
static void test_choice(void)
{
    mynn_dataset *ds = curve(120, 3);
    mynn_auto_report r;
    size_t np = 0;
    float *w = auto_run(ds, "12:tanh,1", MYNN_LOSS_MSE, 2, &r, &np);
    int five = 0, one = 0, lowest = 1;
    for (int c = 0; c < r.n_candidates; c++) {
        const mynn_auto_candidate *k = &r.candidates[c];
        five += k->folds == 5;
        one += k->folds == 1;
        if (k->folds == 5 && k->val_loss < r.candidates[r.chosen].val_loss) lowest = 0;
        CHECK(k->kind == MYNN_OPT_LBFGS && k->budget == 1000 && k->epochs >= 1 && k->epochs <= k->trained &&
                  isfinite(k->val_loss),
              "candidate %d: kind %d, %d of %d, loss %g", c, (int)k->kind, k->epochs, k->trained,
              (double)k->val_loss);
    }
    CHECK(five == 3 && one == 5 && lowest && r.candidates[r.chosen].folds == 5, "%d cross-validated, %d not", five, one);
    CHECK(r.kind == MYNN_OPT_LBFGS && r.weight_decay == r.candidates[r.chosen].weight_decay &&
              r.epochs == r.candidates[r.chosen].epochs && r.refit == 1,
          "the report names the chosen");
    /* The stage-1 losses put the cross-validated ones first: no
     * one-fold candidate beat all three of them on fold 0. */
    free(w);
    ds_free(ds);
}

/* The refit is a plain mynn_fit of the chosen kind, decay and epochs on
 * every row from the same start: the same bits. */
static void test_refit(void)
{
    mynn_dataset *ds = curve(120, 3);
    mynn_net *a = make_net(2, "12:tanh,1", MYNN_LOSS_MSE, ds->n), *b = make_net(2, "12:tanh,1", MYNN_LOSS_MSE, ds->n);
    mynn_auto_report r;
    mynn_fit_options o = auto_options(&r);
    CHECK_OK(mynn_fit(a, ds, NULL, &o));
    mynn_fit_options p;
    mynn_fit_options_default(&p);
    mynn_optim_config_default(&p.optim, r.kind);
    p.optim.weight_decay = r.weight_decay;
    p.optim.max_evals = 1250;   /* a candidate's: 1000 iterations' */
    p.epochs = r.epochs;
    p.batch_size = ds->n;
    p.seed = o.seed;
    CHECK_OK(mynn_fit(b, ds, NULL, &p));
    size_t n = 0;
    float *pa = mynn_params(a, &n), *pb = mynn_params(b, NULL);
    CHECK(same_floats(pa, pb, n), "the refit is not the plain fit of the choice");
    /* refit 0: the chosen candidate's best fold, trained on 4/5 of the rows. */
    mynn_net *c = make_net(2, "12:tanh,1", MYNN_LOSS_MSE, ds->n);
    mynn_auto_report rk;
    o = auto_options(&rk);
    o.search.refit = 0;
    CHECK_OK(mynn_fit(c, ds, NULL, &o));
    CHECK(rk.refit == 0 && rk.chosen == r.chosen && !same_floats(mynn_params(c, NULL), pa, n),
          "refit 0 keeps a fold's weights (same choice, other weights)");
    CHECK(strstr(mynn_metadata(c, "auto_search"), "kept the best fold's weights"), "%s", mynn_metadata(c, "auto_search"));
    mynn_free(a);
    mynn_free(b);
    mynn_free(c);
    ds_free(ds);
}

static int count_lines(const char *s)
{
    int n = 0;
    for (; *s; s++) n += *s == '\n';
    return n;
}

/* The choice in words in the metadata, and through a model file. */
static void test_metadata(void)
{
    mynn_dataset *ds = blobs(90, 8);
    mynn_net *net = make_net(2, "8:tanh,3:softmax", MYNN_LOSS_CE, ds->n);
    mynn_auto_report r;
    mynn_fit_options o = auto_options(&r);
    CHECK_OK(mynn_fit(net, ds, NULL, &o));
    char want[128];
    snprintf(want, sizeof want, ", %d iterations (val loss ", r.epochs);
    const char *line = mynn_metadata(net, "auto"), *search = mynn_metadata(net, "auto_search");
    CHECK(!strncmp(line, "lbfgs, weight decay ", 20) && strstr(line, want) && strstr(line, " vs "), "auto: %s", line);
    CHECK(count_lines(search) == r.n_candidates + 1 && strstr(search, "18 of 90 training rows held out") &&
              strstr(search, "the best 3 then by 5-fold cross-validation; refit on all 90 rows\n") &&
              strstr(search, "\n* lbfgs, weight decay "),
          "auto_search: %s", search);
    char path[64];
    snprintf(path, sizeof path, "/tmp/mynn_auto_%d.safetensors", (int)getpid());
    CHECK_OK(mynn_save(net, path));
    mynn_net *back = NULL;
    CHECK_OK(mynn_load(&back, path, 1));
    CHECK(back && !strcmp(mynn_metadata(back, "auto"), line) && !strcmp(mynn_metadata(back, "auto_search"), search),
          "metadata through the file: %s", back ? mynn_metadata(back, "auto") : "");
    unlink(path);
    mynn_free(back);
    mynn_free(net);
    ds_free(ds);
}

static int g_epochs_seen, g_converged;
static int count_epoch(const mynn_epoch_stats *s, void *user)
{
    (void)user;
    g_epochs_seen++;
    g_converged = s->converged;
    return 0;
}

/* A decay or epochs given turns their search off. */
static void test_fixed(void)
{
    mynn_dataset *ds = curve(120, 3);
    mynn_net *net = make_net(2, "12:tanh,1", MYNN_LOSS_MSE, ds->n);
    mynn_auto_report r;
    mynn_fit_options o = auto_options(&r);
    o.search.fix_weight_decay = 1;
    o.optim.weight_decay = 0.02f;
    CHECK_OK(mynn_fit(net, ds, NULL, &o));
    CHECK(r.n_candidates == 1 && r.candidates[0].weight_decay == 0.02f && r.weight_decay == 0.02f && r.folds == 5 &&
              r.candidates[0].folds == 5,
          "fixed decay: %d candidates, decay %g, %d folds", r.n_candidates, (double)r.weight_decay, r.folds);
    CHECK(strstr(mynn_metadata(net, "auto_search"), "(stratified, seed 5), then by 5-fold cross-validation;"),
          "%s", mynn_metadata(net, "auto_search"));
    o = auto_options(&r);
    o.search.fix_epochs = 1;
    o.epochs = 7;
    o.on_epoch = count_epoch;
    g_epochs_seen = 0;
    CHECK_OK(mynn_fit(net, ds, NULL, &o));
    int all = r.n_candidates == 8;
    for (int c = 0; c < r.n_candidates; c++)
        all &= r.candidates[c].epochs == 7 && r.candidates[c].budget == 7 && r.candidates[c].trained <= 7;
    CHECK(all && r.epochs == 7 && (g_epochs_seen == 7 || (g_epochs_seen < 7 && g_converged)),
          "fixed epochs: %d candidates, refit %d epochs, %d seen", r.n_candidates, r.epochs, g_epochs_seen);
    /* Both given: nothing to choose, no search. */
    o = auto_options(&r);
    o.search.fix_epochs = o.search.fix_weight_decay = 1;
    o.epochs = 4;
    o.optim.weight_decay = 0.01f;
    CHECK_OK(mynn_fit(net, ds, NULL, &o));
    CHECK(r.n_candidates == 0 && r.kind == MYNN_OPT_LBFGS && r.weight_decay == 0.01f && r.epochs == 4 &&
              !strcmp(mynn_metadata(net, "auto"), "lbfgs, weight decay 0.01, 4 iterations (the decay and epochs "
                                                  "given: nothing to choose)"),
          "both fixed: %d candidates: %s", r.n_candidates, mynn_metadata(net, "auto"));
    mynn_free(net);
    ds_free(ds);
}

/* Too few rows: no search, L-BFGS with 1e-3.  Above lbfgs_rows (made
 * small here): Adam candidates too, L-BFGS's iterations cut.  Above
 * MYNN_AUTO_SEARCH_ROWS: no search, Adam. */
static void test_sizes(void)
{
    mynn_dataset *few = curve(12, 1), *mid = curve(300, 2), *big = curve(MYNN_AUTO_SEARCH_ROWS + 1, 3);
    mynn_net *net = make_net(2, "6:tanh,1", MYNN_LOSS_MSE, 12);
    mynn_auto_report r;
    mynn_fit_options o = auto_options(&r);
    CHECK_OK(mynn_fit(net, few, NULL, &o));
    CHECK(r.n_candidates == 0 && r.kind == MYNN_OPT_LBFGS && r.weight_decay == 1e-3f && r.epochs == 1000,
          "12 rows: %d candidates", r.n_candidates);
    CHECK(strstr(mynn_metadata(net, "auto"), "(too few rows to hold any out: 12 rows)"), "%s", mynn_metadata(net, "auto"));
    mynn_free(net);
    net = make_net(2, "6:tanh,1", MYNN_LOSS_MSE, 300);
    o = auto_options(&r);
    o.search.lbfgs_rows = 100;
    CHECK_OK(mynn_fit(net, mid, NULL, &o));
    int lb = 0, ad = 0;
    for (int c = 0; c < r.n_candidates; c++) {
        const mynn_auto_candidate *k = &r.candidates[c];
        lb += k->kind == MYNN_OPT_LBFGS;
        ad += k->kind == MYNN_OPT_ADAM;
        CHECK(k->budget == (k->kind == MYNN_OPT_LBFGS ? 333 : 60), "candidate %d (kind %d): budget %d", c,
              (int)k->kind, k->budget);
    }
    CHECK(lb == 2 && ad == 3 && r.folds == 1 && r.chosen >= 0, "above lbfgs_rows: %d lbfgs, %d adam, %d folds", lb, ad,
          r.folds);
    mynn_free(net);
    net = make_net(2, "6:tanh,1", MYNN_LOSS_MSE, 32);
    o = auto_options(&r);
    o.search.fix_epochs = 1;
    o.epochs = 1;
    CHECK_OK(mynn_fit(net, big, NULL, &o));
    CHECK(r.n_candidates == 0 && r.kind == MYNN_OPT_ADAM && r.epochs == 1 && strstr(mynn_metadata(net, "auto"), "no search"),
          "above the search's rows: %d candidates, kind %d", r.n_candidates, (int)r.kind);
    mynn_free(net);
    ds_free(few);
    ds_free(mid);
    ds_free(big);
}

static int g_order, g_chosen_at, g_first_epoch_at;
static int note_chosen(const mynn_auto_report *r, void *user)
{
    (void)r;
    g_chosen_at = ++g_order;
    return *(int *)user;
}
static int note_epoch(const mynn_epoch_stats *s, void *user)
{
    (void)user;
    if (s->epoch == 0) g_first_epoch_at = ++g_order;
    return 0;
}

/* on_chosen comes once, before the refit's epochs, and can stop. */
static void test_callbacks(void)
{
    mynn_dataset *ds = curve(60, 9);
    mynn_net *net = make_net(2, "6:tanh,1", MYNN_LOSS_MSE, ds->n);
    int stop = 0;
    mynn_auto_report r;
    mynn_fit_options o = auto_options(&r);
    o.search.on_chosen = note_chosen;
    o.on_epoch = note_epoch;
    o.user = &stop;
    g_order = g_chosen_at = g_first_epoch_at = 0;
    CHECK_OK(mynn_fit(net, ds, NULL, &o));
    CHECK(g_chosen_at == 1 && g_first_epoch_at == 2, "on_chosen %d, first epoch %d", g_chosen_at, g_first_epoch_at);
    stop = 1;
    g_order = g_first_epoch_at = 0;
    CHECK(mynn_fit(net, ds, NULL, &o) == MYNN_ERR_STOPPED && g_first_epoch_at == 0, "a stop from on_chosen");
    mynn_free(net);
    ds_free(ds);
}

static int sum_f(float *b, size_t n, void *c) { (void)b, (void)n, (void)c; return 0; }
static int sum_d(double *b, size_t n, void *c) { (void)b, (void)n, (void)c; return 0; }

static void test_errors(void)
{
    mynn_dataset *ds = curve(40, 2);
    mynn_net *net = make_net(2, "6:tanh,1", MYNN_LOSS_MSE, ds->n);
    mynn_fit_options o = auto_options(NULL);
    mynn_reducer red = {0, 2, sum_f, sum_d, NULL, NULL};
    o.reducer = &red;
    o.batch_size = 20;
    CHECK(mynn_fit(net, ds, NULL, &o) == MYNN_ERR_ARG && strstr(mynn_last_error(), "one process"), "%s",
          mynn_last_error());
    o = auto_options(NULL);
    o.search.lbfgs_rows = 0;
    CHECK(mynn_fit(net, ds, NULL, &o) == MYNN_ERR_ARG && strstr(mynn_last_error(), "lbfgs_rows"), "%s", mynn_last_error());
    mynn_optimizer *opt = NULL;
    mynn_optim_config c;
    mynn_optim_config_default(&c, MYNN_OPT_AUTO);
    CHECK(c.lr == 0.0f && mynn_optimizer_create(&opt, net, &c) == MYNN_ERR_ARG &&
              strstr(mynn_last_error(), "auto is no optimizer"),
          "%s", mynn_last_error());
    mynn_optimizer_kind k;
    CHECK(mynn_optimizer_from_name("auto", &k) == MYNN_OK && k == MYNN_OPT_AUTO &&
              !strcmp(mynn_optimizer_name(MYNN_OPT_AUTO), "auto"),
          "names");
    ds->x[7] = NAN;
    o = auto_options(NULL);
    CHECK(mynn_fit(net, ds, NULL, &o) == MYNN_ERR_NUMERIC, "a NaN in the data: %s", mynn_last_error());
    mynn_free(net);
    ds_free(ds);
}

int main(void)
{
    CK_BEGIN("test_auto");
    RUN(test_determinism);
    RUN(test_folds);
    RUN(test_choice);
    RUN(test_refit);
    RUN(test_metadata);
    RUN(test_fixed);
    RUN(test_sizes);
    RUN(test_callbacks);
    RUN(test_errors);
    return CK_END();
}
