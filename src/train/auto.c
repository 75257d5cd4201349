/* optim.kind = MYNN_OPT_AUTO (see mynn_auto_options in mynn.h): choose
 * how to train on rows held out of the training set, then train so.
 *
 * The rows are dealt to 5 folds (stratified by class, seeded).  Stage 1
 * trains every candidate on folds 1-4 and judges it on fold 0, a fifth of
 * the rows held out.  Up to AUTO_CV_ROWS rows, where one held-out fifth is
 * too small to choose by (a few dozen rows of a noisy table), stage 2
 * trains the AUTO_CV_TOP best of stage 1 on the other four splits too,
 * and those are judged by their mean held-out loss over all five folds
 * (cross-validation): every row then judges once.  Cross-validating every
 * candidate would cost 5 times stage 1; the three best of a grid of
 * neighbouring decays are where the choice is close.
 *
 * The plan by size (n training rows), from the experiments of
 * docs/small-data.md:
 *  - n < AUTO_MIN_ROWS: nothing to hold out; L-BFGS, decay 1e-3.
 *  - n <= lbfgs_rows: L-BFGS with every decay of the grid, AUTO_ITERS
 *    iterations at most: stage 1 is 8 jobs, stage 2 12, each on 4/5 of
 *    the rows, so the worst case (every job to its budget) is 16 fits of
 *    AUTO_ITERS iterations, 8 on two threads, and 6.4 above AUTO_CV_ROWS
 *    (no stage 2), where the rows make each fit dearer.
 *  - n <= AUTO_SEARCH_ROWS: Adam with a cosine schedule (three decays)
 *    against L-BFGS (two) whose iterations are cut to the work of one
 *    candidate at lbfgs_rows rows.
 *  - above: no search (its cost would grow with the data): Adam, 10 epochs.
 * Candidates stop once their held-out loss has not improved for their
 * patience, which usually ends them long before their budget.
 *
 * Parallel and deterministic: every (candidate, fold) is a job with its
 * own copy of the network, its own rows and its own result slots; a
 * stage's jobs run on the threads of one parallel region, each on one
 * thread (the team suspended there, so its kernels open no region of
 * their own), and no job reads another's results.  What a job computes
 * depends on its inputs only, never on the thread that runs it or when,
 * so the choice and the weights are the same bits for every thread count. */
#include "mynn.h"
#include "core/core.h"
#include "kernels/kernels.h"
#include "network/network.h"
#include "train/fit_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define AUTO_MIN_ROWS 20
#define AUTO_CV_ROWS 1000
#define AUTO_FOLDS MN_AUTO_FOLDS
#define AUTO_CV_TOP 3
#define AUTO_ITERS 1000          /* L-BFGS iterations at most: issue 14's fit */
#define AUTO_SEARCH_ROWS MYNN_AUTO_SEARCH_ROWS
#define AUTO_LBFGS_PATIENCE 100  /* iterations without a better held-out loss */
#define AUTO_ADAM_EPOCHS 60      /* Adam's cosine schedule */
#define AUTO_ADAM_PATIENCE 10
#define AUTO_PLAIN_EPOCHS 10     /* no search above AUTO_SEARCH_ROWS: Adam as before */
#define AUTO_FALLBACK_DECAY 1e-3f
#define AUTO_SPLIT_SALT 0xa0705e1ec7ull   /* the split's stream, apart from the shuffle's */

static const float g_lbfgs_decays[] = {0.0f, 1e-4f, 3e-4f, 1e-3f, 3e-3f, 1e-2f, 3e-2f, 1e-1f};
static const float g_big_lbfgs_decays[] = {1e-4f, 1e-3f};
static const float g_adam_decays[] = {0.0f, 1e-4f, 1e-3f};

/* ---- the plan ---------------------------------------------------------------- */

typedef struct cand_spec {
    mynn_optimizer_kind kind;
    float wd;
    int budget;      /* epochs at most; Adam: its cosine's length */
    int patience;    /* 0: every epoch of the budget (fix_epochs) */
} cand_spec;

typedef struct search_plan {
    int cv;          /* stage 2: the best AUTO_CV_TOP on every fold */
    int n_cands;     /* 0: no search, train fallback */
    cand_spec c[MYNN_AUTO_MAX_CANDIDATES];
    cand_spec fallback;
    char why[96];    /* no search: the reason, for the report */
} search_plan;

static void add_cands(search_plan *p, mynn_optimizer_kind kind, const float *wds, int n, int budget,
                      int patience, const mynn_fit_options *o)
{
    const mynn_auto_options *a = &o->search;
    for (int i = 0; i < n && p->n_cands < MYNN_AUTO_MAX_CANDIDATES; i++) {
        if (a->fix_weight_decay && i > 0) break;   /* one candidate per kind */
        cand_spec *c = &p->c[p->n_cands++];
        c->kind = kind;
        c->wd = a->fix_weight_decay ? o->optim.weight_decay : wds[i];
        c->budget = a->fix_epochs ? o->epochs : budget;
        c->patience = a->fix_epochs ? 0 : patience;
    }
}

/* The candidates for n training rows. */
static void plan_search(int n, const mynn_fit_options *o, search_plan *p)
{
    const mynn_auto_options *a = &o->search;
    const int nl = (int)(sizeof g_lbfgs_decays / sizeof *g_lbfgs_decays);
    memset(p, 0, sizeof *p);
    p->fallback.kind = MYNN_OPT_LBFGS;
    p->fallback.wd = a->fix_weight_decay ? o->optim.weight_decay : AUTO_FALLBACK_DECAY;
    p->fallback.budget = a->fix_epochs ? o->epochs : AUTO_ITERS;
    if (n < AUTO_MIN_ROWS) {
        snprintf(p->why, sizeof p->why, "too few rows to hold any out: %d rows", n);
        return;
    }
    if (n > AUTO_SEARCH_ROWS) {
        p->fallback.kind = MYNN_OPT_ADAM;
        p->fallback.wd = a->fix_weight_decay ? o->optim.weight_decay : 0.0f;
        p->fallback.budget = a->fix_epochs ? o->epochs : AUTO_PLAIN_EPOCHS;
        snprintf(p->why, sizeof p->why, "no search above %d rows: %d rows", AUTO_SEARCH_ROWS, n);
        return;
    }
    if (n <= a->lbfgs_rows) {
        add_cands(p, MYNN_OPT_LBFGS, g_lbfgs_decays, nl, AUTO_ITERS, AUTO_LBFGS_PATIENCE, o);
        p->cv = n <= AUTO_CV_ROWS;
    } else {
        /* L-BFGS's iterations cut to the work of a candidate at lbfgs_rows rows */
        int iters = (int)((double)AUTO_ITERS * a->lbfgs_rows / n);
        add_cands(p, MYNN_OPT_LBFGS, g_big_lbfgs_decays, 2, iters > 1 ? iters : 1, AUTO_LBFGS_PATIENCE, o);
        add_cands(p, MYNN_OPT_ADAM, g_adam_decays, 3, AUTO_ADAM_EPOCHS, AUTO_ADAM_PATIENCE, o);
    }
    if (p->n_cands == 1 && a->fix_epochs) {   /* the decay and epochs given: nothing to choose */
        p->fallback = p->c[0];
        p->n_cands = 0;
        snprintf(p->why, sizeof p->why, "the decay and epochs given: nothing to choose");
    }
}

/* ---- the split ------------------------------------------------------------- */

static void shuffle_ints(int *v, int n, mynn_rng *r)
{
    for (int i = n - 1; i > 0; i--) {
        int j = (int)mynn_rng_below(r, (uint64_t)i + 1), t = v[i];
        v[i] = v[j];
        v[j] = t;
    }
}

void mn_auto_folds(const mynn_dataset *ds, uint64_t seed, int *part, int *order)
{
    mynn_rng r;
    mynn_rng_seed(&r, seed ^ AUTO_SPLIT_SALT);
    const int classes = ds->labels && ds->n_classes > 0 ? ds->n_classes : 1;
    int dealt = 0;
    for (int c = 0; c < classes; c++) {
        int m = 0;
        for (int i = 0; i < ds->n; i++)
            if (classes == 1 || ds->labels[i] == c) order[m++] = i;
        shuffle_ints(order, m, &r);
        for (int j = 0; j < m; j++) part[order[j]] = (dealt + j) % MN_AUTO_FOLDS;
        dealt += m;
    }
}

/* The rows of ds whose part is (held) or is not (!held) p, copied into
 * *out (its arrays freed with free_rows). */
static mynn_status take_rows(const mynn_dataset *ds, const int *part, int p, int held, mynn_dataset *out)
{
    memset(out, 0, sizeof *out);
    int m = 0;
    for (int i = 0; i < ds->n; i++) m += (part[i] == p) == held;
    const size_t d = (size_t)ds->n_inputs, k = (size_t)ds->n_outputs;
    out->n = m;
    out->n_inputs = ds->n_inputs;
    out->n_outputs = ds->n_outputs;
    out->n_classes = ds->n_classes;
    memcpy(out->shape, ds->shape, sizeof out->shape);
    out->shape_dims = ds->shape_dims;
    out->x = mn_calloc((size_t)m * d, sizeof(float), "auto: rows");
    out->y = mn_calloc((size_t)m * k, sizeof(float), "auto: targets");
    out->labels = ds->labels ? mn_calloc((size_t)m, sizeof(int), "auto: labels") : NULL;
    if (!out->x || !out->y || (ds->labels && !out->labels)) return MYNN_ERR_NOMEM;
    for (int i = 0, j = 0; i < ds->n; i++) {
        if ((part[i] == p) != held) continue;
        memcpy(out->x + (size_t)j * d, ds->x + (size_t)i * d, d * sizeof(float));
        memcpy(out->y + (size_t)j * k, ds->y + (size_t)i * k, k * sizeof(float));
        if (ds->labels) out->labels[j] = ds->labels[i];
        j++;
    }
    return MYNN_OK;
}

static void free_rows(mynn_dataset *ds)
{
    free(ds->x);
    free(ds->y);
    free(ds->labels);
}

/* ---- the jobs ----------------------------------------------------------------- */

typedef struct job {
    int cand, fold;
    int run;             /* a job of a stage that ran */
    float *curve;        /* [budget]: held-out loss after each epoch */
    int trained;         /* epochs run */
    int converged;       /* L-BFGS met a tolerance: the loss stays at curve[trained - 1] */
    int diverged;
    int n_val;
    float *values;       /* refit 0: the weights it ended with, else NULL */
    mynn_status status;
    char msg[256];
} job;

typedef struct search {
    mynn_net *net;
    const mynn_dataset *train;
    const mynn_fit_options *o;
    search_plan plan;
    int *part;           /* [n] the fold of each row */
    job *jobs;           /* [n_cands × AUTO_FOLDS]: candidate c, fold f at c * AUTO_FOLDS + f */
} search;

static job *job_at(const search *s, int cand, int fold) { return &s->jobs[cand * AUTO_FOLDS + fold]; }

static int record_epoch(const mynn_epoch_stats *st, void *user)
{
    job *j = user;
    j->curve[st->epoch] = st->val_loss;
    j->trained = st->epoch + 1;
    j->converged = st->converged;
    return 0;
}

/* mynn_fit's options for candidate c's kind and decay, epochs epochs in
 * batches of batch: o's, with the optimizer's defaults and Adam's cosine
 * schedule over c's budget. */
static void concrete_options(const mynn_fit_options *o, const cand_spec *c, int epochs, int batch,
                             mynn_fit_options *r)
{
    *r = *o;
    mynn_optim_config_default(&r->optim, c->kind);
    r->optim.weight_decay = c->wd;
    /* L-BFGS's evaluation budget as a candidate's (mynn_fit's default for
     * its budget), so that a refit of fewer epochs is not cut short by it */
    if (c->kind == MYNN_OPT_LBFGS) r->optim.max_evals = (long)c->budget * 5 / 4;
    r->epochs = epochs;
    r->batch_size = batch;
    mynn_fit_options def;
    mynn_fit_options_default(&def);
    r->schedule = def.schedule;
    if (c->kind == MYNN_OPT_ADAM) {
        r->schedule.kind = MYNN_SCHED_COSINE;
        r->schedule.total_epochs = c->budget;
    }
    r->search = def.search;
}

/* One candidate on one fold: a copy of the net trained on the other
 * folds, its loss on this one after every epoch; stops after its
 * patience. */
static mynn_status run_job(search *s, job *j)
{
    const cand_spec *c = &s->plan.c[j->cand];
    mynn_dataset fit, val;
    mynn_net *net = NULL;
    mynn_status st = take_rows(s->train, s->part, j->fold, 0, &fit);
    if (!st) st = take_rows(s->train, s->part, j->fold, 1, &val);
    const int batch = c->kind == MYNN_OPT_LBFGS || s->o->batch_size > fit.n ? fit.n : s->o->batch_size;
    if (!st) st = mn_net_copy(s->net, batch, &net);
    if (!st) {
        mynn_fit_options r;
        concrete_options(s->o, c, c->budget, batch, &r);
        r.patience = c->patience;
        r.on_epoch = record_epoch;
        r.on_batch = NULL;
        r.user = j;
        r.checkpoint_path = NULL;
        r.resume = 0;
        j->n_val = val.n;
        st = mynn_fit(net, &fit, &val, &r);
        if (st == MYNN_ERR_NUMERIC) {   /* a diverged candidate loses; not an error */
            j->diverged = 1;
            st = MYNN_OK;
        }
    }
    if (!st && j->values) memcpy(j->values, net->params, mn_net_values(net) * sizeof(float));
    mynn_free(net);
    free_rows(&fit);
    free_rows(&val);
    return st;
}

/* The jobs of a stage (list[0..n)), on the threads of one parallel
 * region, each on one thread; the first failure (in list order). */
static mynn_status run_stage(search *s, const int *list, int n)
{
#ifdef _OPENMP
    const int nt = mn_threads();
#pragma omp parallel for schedule(dynamic, 1) num_threads(nt) if (nt > 1 && n > 1)
#endif
    for (int i = 0; i < n; i++) {
        job *j = &s->jobs[list[i]];
        int saved = mn_team_suspend();
        j->run = 1;
        j->status = run_job(s, j);
        if (j->status) snprintf(j->msg, sizeof j->msg, "%s", mynn_last_error());
        mn_team_resume(saved);
    }
    for (int i = 0; i < n; i++)
        if (s->jobs[list[i]].status) return mn_error(s->jobs[list[i]].status, "%s", s->jobs[list[i]].msg);
    return MYNN_OK;
}

static void free_jobs(search *s)
{
    for (int i = 0; s->jobs && i < s->plan.n_cands * AUTO_FOLDS; i++) {
        free(s->jobs[i].curve);
        free(s->jobs[i].values);
    }
    free(s->jobs);
    free(s->part);
}

/* Every job's slots, allocated here, before any training. */
static mynn_status make_jobs(search *s, int keep)
{
    s->jobs = mn_calloc((size_t)s->plan.n_cands * AUTO_FOLDS, sizeof *s->jobs, "auto: jobs");
    if (!s->jobs) return MYNN_ERR_NOMEM;
    for (int c = 0; c < s->plan.n_cands; c++)
        for (int f = 0; f < AUTO_FOLDS; f++) {
            job *j = job_at(s, c, f);
            j->cand = c;
            j->fold = f;
            j->curve = mn_calloc((size_t)s->plan.c[c].budget, sizeof(float), "auto: losses");
            j->values = keep ? mn_calloc(mn_net_values(s->net), sizeof(float), "auto: weights") : NULL;
            if (!j->curve || (keep && !j->values)) return MYNN_ERR_NOMEM;
        }
    return MYNN_OK;
}

/* ---- the choice ---------------------------------------------------------------- */

/* A candidate's held-out loss after each epoch: the losses of the folds
 * it ran, weighted by their rows, a fold that stopped before another
 * staying at its last loss (exact for L-BFGS that converged, a guess
 * after early stopping: the loss had not improved for its patience).
 * Returns the lowest and its epoch (from 1); *folds the folds it ran. */
static float combine(const search *s, int cand, int *epoch, int *folds)
{
    int len = 0;
    *folds = 0;
    *epoch = 1;
    for (int f = 0; f < AUTO_FOLDS; f++) {
        const job *j = job_at(s, cand, f);
        if (!j->run) continue;
        if (j->diverged || j->trained < 1) return INFINITY;
        if (j->trained > len) len = j->trained;
        (*folds)++;
    }
    double best = INFINITY;
    for (int e = 0; e < len; e++) {
        double sum = 0.0, rows = 0.0;
        for (int f = 0; f < AUTO_FOLDS; f++) {
            const job *j = job_at(s, cand, f);
            if (!j->run) continue;
            int at = e < j->trained ? e : j->trained - 1;
            sum += (double)j->curve[at] * j->n_val;
            rows += j->n_val;
        }
        if (sum / rows < best) {
            best = sum / rows;
            *epoch = e + 1;
        }
    }
    return (float)best;
}

/* Candidate c's result in the report. */
static void report_candidate(const search *s, int c, mynn_auto_candidate *rc)
{
    const cand_spec *spec = &s->plan.c[c];
    rc->kind = spec->kind;
    rc->weight_decay = spec->wd;
    rc->budget = spec->budget;
    rc->val_loss = combine(s, c, &rc->epochs, &rc->folds);
    rc->trained = 0;
    for (int f = 0; f < AUTO_FOLDS; f++)
        if (job_at(s, c, f)->trained > rc->trained) rc->trained = job_at(s, c, f)->trained;
    if (spec->patience == 0) rc->epochs = spec->budget;   /* fixed: all of them */
}

/* The lowest held-out loss among the candidates judged on the most folds
 * (after stage 2: the cross-validated ones); ties: the first. */
static int lowest(const mynn_auto_report *r)
{
    int most = 0, best = -1;
    for (int c = 0; c < r->n_candidates; c++)
        if (isfinite(r->candidates[c].val_loss) && r->candidates[c].folds > most) most = r->candidates[c].folds;
    for (int c = 0; c < r->n_candidates; c++) {
        const mynn_auto_candidate *k = &r->candidates[c];
        if (isfinite(k->val_loss) && k->folds == most && (best < 0 || k->val_loss < r->candidates[best].val_loss))
            best = c;
    }
    return best;
}

static void fill_report(const search *s, mynn_auto_report *r)
{
    r->n_candidates = s->plan.n_cands;
    for (int c = 0; c < s->plan.n_cands; c++) report_candidate(s, c, &r->candidates[c]);
    r->chosen = lowest(r);
}

/* ---- the report in words --------------------------------------------------------- */

/* A decay as the grid writes it: 0, 1e-4, 3e-3, 0.01, 0.1. */
static void decay_text(char *buf, size_t n, float wd)
{
    if (wd == 0.0f) {
        snprintf(buf, n, "0");
        return;
    }
    int e = (int)floor(log10((double)wd) + 1e-6);
    double m = wd / pow(10.0, e);
    if (fabs(m - floor(m + 0.5)) < 1e-6 && e < -2) snprintf(buf, n, "%de%d", (int)floor(m + 0.5), e);
    else snprintf(buf, n, "%.3g", (double)wd);
}

static const char *epoch_word(mynn_optimizer_kind k) { return k == MYNN_OPT_LBFGS ? "iterations" : "epochs"; }

/* The runner-up to the chosen candidate: the next lowest loss among
 * those judged on as many folds; -1 if none. */
static int runner_up(const mynn_auto_report *r)
{
    const mynn_auto_candidate *ch = &r->candidates[r->chosen];
    int next = -1;
    for (int c = 0; c < r->n_candidates; c++) {
        const mynn_auto_candidate *k = &r->candidates[c];
        if (c != r->chosen && isfinite(k->val_loss) && k->folds == ch->folds &&
            (next < 0 || k->val_loss < r->candidates[next].val_loss))
            next = c;
    }
    return next;
}

/* "lbfgs, weight decay 1e-3, 140 iterations (val loss 0.412 vs 0.455 at 1e-4)" */
static void summary_line(const mynn_auto_report *r, char *buf, size_t n)
{
    char wd[32];
    decay_text(wd, sizeof wd, r->weight_decay);
    int len = snprintf(buf, n, "%s%s, weight decay %s, %d %s", mynn_optimizer_name(r->kind),
                       r->kind == MYNN_OPT_ADAM ? " (cosine schedule)" : "", wd, r->epochs,
                       epoch_word(r->kind));
    if (len < 0 || (size_t)len >= n || r->chosen < 0) return;
    const mynn_auto_candidate *ch = &r->candidates[r->chosen];
    int next = runner_up(r);
    if (next < 0) {
        snprintf(buf + len, n - (size_t)len, " (val loss %.4g)", (double)ch->val_loss);
        return;
    }
    const mynn_auto_candidate *nx = &r->candidates[next];
    decay_text(wd, sizeof wd, nx->weight_decay);
    snprintf(buf + len, n - (size_t)len, " (val loss %.4g vs %.4g at %s%s%s)", (double)ch->val_loss,
             (double)nx->val_loss, nx->kind != ch->kind ? mynn_optimizer_name(nx->kind) : "",
             nx->kind != ch->kind ? " " : "", wd);
}

/* How many candidates were cross-validated, in words: ", the best 3 then"
 * or "" (all of them). */
static void cv_words(const mynn_auto_report *r, char *buf, size_t n)
{
    int k = 0;
    for (int c = 0; c < r->n_candidates; c++) k += r->candidates[c].folds > 1;
    if (k < r->n_candidates) snprintf(buf, n, ", the best %d then", k);
    else snprintf(buf, n, ", then");
}

/* The "auto_search" metadata: how the rows were held out, then each
 * candidate ("*" the chosen). */
static mynn_status search_text(const mynn_auto_report *r, int n, uint64_t seed, char **out)
{
    size_t cap = 320 + 160 * (size_t)r->n_candidates;
    char *t = mn_calloc(cap, 1, "auto: report");
    if (!t) return MYNN_ERR_NOMEM;
    size_t at = 0;
    at += (size_t)snprintf(t + at, cap - at, "%d of %d training rows held out (stratified, seed %llu)", r->n_val, n,
                           (unsigned long long)seed);
    if (r->folds > 1) {
        char words[32];
        cv_words(r, words, sizeof words);
        at += (size_t)snprintf(t + at, cap - at, "%s by %d-fold cross-validation", words, r->folds);
    }
    at += (size_t)snprintf(t + at, cap - at, r->refit ? "; refit on all %d rows\n" : "; kept the best fold's weights\n", n);
    for (int c = 0; c < r->n_candidates && at < cap; c++) {
        const mynn_auto_candidate *k = &r->candidates[c];
        char wd[32];
        decay_text(wd, sizeof wd, k->weight_decay);
        at += (size_t)snprintf(t + at, cap - at, "%s%s, weight decay %s: val loss %.4g at %s %d (%d fold%s; ran %d of %d)\n",
                               c == r->chosen ? "* " : "  ", mynn_optimizer_name(k->kind), wd,
                               (double)k->val_loss, k->kind == MYNN_OPT_LBFGS ? "iteration" : "epoch", k->epochs,
                               k->folds, k->folds == 1 ? "" : "s", k->trained, k->budget);
    }
    *out = t;
    return MYNN_OK;
}

/* The choice into the net's metadata ("auto", "auto_search"). */
static mynn_status store_report(mynn_net *net, const mynn_auto_report *r, const search_plan *p, int n,
                                uint64_t seed)
{
    char line[320];
    summary_line(r, line, sizeof line);
    if (r->n_candidates == 0) {
        size_t len = strlen(line);
        snprintf(line + len, sizeof line - len, " (%s)", p->why);
    }
    mynn_status s = mn_net_set_meta(net, "auto", line);
    if (s || r->n_candidates == 0) return s ? s : mn_net_set_meta(net, "auto_search", "");
    char *text = NULL;
    s = search_text(r, n, seed, &text);
    if (!s) s = mn_net_set_meta(net, "auto_search", text);
    free(text);
    return s;
}

/* ---- the whole ---------------------------------------------------------------------- */

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static mynn_status check_auto(const mynn_fit_options *o)
{
    const mynn_auto_options *a = &o->search;
    if (o->reducer && o->reducer->world > 1)
        return mn_error(MYNN_ERR_ARG, "mynn_fit: auto's search runs in one process (name an optimizer to "
                        "train data-parallel)");
    if (a->lbfgs_rows < 1 || a->lbfgs_rows > AUTO_SEARCH_ROWS)
        return mn_error(MYNN_ERR_ARG, "mynn_fit: auto's lbfgs_rows must be in 1..%d, got %d", AUTO_SEARCH_ROWS,
                        a->lbfgs_rows);
    if (a->fix_weight_decay && !(isfinite(o->optim.weight_decay) && o->optim.weight_decay >= 0.0f))
        return mn_error(MYNN_ERR_ARG, "mynn_fit: weight decay must be a finite number >= 0, got %g",
                        (double)o->optim.weight_decay);
    return MYNN_OK;
}

/* Train net on every training row with candidate c's kind and decay for
 * epochs (the refit, or the setting without a search), through mynn_fit
 * with o's other options. */
static mynn_status train_chosen(mynn_net *net, const mynn_dataset *train, const mynn_dataset *val,
                                const mynn_fit_options *o, const cand_spec *c, int epochs)
{
    int batch = c->kind == MYNN_OPT_LBFGS ? train->n : o->batch_size;
    if (batch > net->max_batch) batch = net->max_batch;   /* L-BFGS sums its pieces: the same objective */
    mynn_fit_options r;
    concrete_options(o, c, epochs, batch, &r);
    return mynn_fit(net, train, val, &r);
}

/* Stage 2's jobs: the AUTO_CV_TOP best of stage 1 on folds 1..4. */
static int stage_two(const mynn_auto_report *r1, int *list)
{
    int taken[MYNN_AUTO_MAX_CANDIDATES] = {0}, n = 0;
    for (int k = 0; k < AUTO_CV_TOP; k++) {
        int best = -1;
        for (int c = 0; c < r1->n_candidates; c++)
            if (!taken[c] && isfinite(r1->candidates[c].val_loss) &&
                (best < 0 || r1->candidates[c].val_loss < r1->candidates[best].val_loss))
                best = c;
        if (best < 0) break;
        taken[best] = 1;
        for (int f = 1; f < AUTO_FOLDS; f++) list[n++] = best * AUTO_FOLDS + f;
    }
    return n;
}

/* The search: the folds, stage 1, stage 2 (cross-validation), the
 * choice into *r. */
static mynn_status run_search(search *s, mynn_auto_report *r)
{
    const int n = s->train->n, keep = !s->o->search.refit;
    int *order = mn_calloc((size_t)n, sizeof *order, "auto: order");
    s->part = mn_calloc((size_t)n, sizeof *s->part, "auto: folds");
    if (!order || !s->part) {
        free(order);
        return MYNN_ERR_NOMEM;
    }
    mn_auto_folds(s->train, s->o->seed, s->part, order);
    free(order);
    mynn_status st = make_jobs(s, keep);
    int list[MYNN_AUTO_MAX_CANDIDATES * AUTO_FOLDS], nl = 0;
    for (int c = 0; c < s->plan.n_cands; c++) list[nl++] = c * AUTO_FOLDS;
    if (!st) st = run_stage(s, list, nl);
    if (st) return st;
    fill_report(s, r);
    r->folds = 1;
    if (s->plan.cv && (nl = stage_two(r, list)) > 0) {
        if ((st = run_stage(s, list, nl))) return st;
        fill_report(s, r);
        r->folds = AUTO_FOLDS;
    }
    if (r->chosen < 0) return mn_error(MYNN_ERR_NUMERIC, "mynn_fit: every candidate of auto's search diverged");
    r->n_val = s->jobs[0].n_val;
    r->n_fit = n - r->n_val;
    return MYNN_OK;
}

/* refit 0: the weights of the chosen candidate's fold with the lowest
 * held-out loss (as its early stopping left them). */
static void keep_best_fold(search *s, int cand)
{
    const job *best = NULL;
    float best_lo = INFINITY;
    for (int f = 0; f < AUTO_FOLDS; f++) {
        const job *j = job_at(s, cand, f);
        float lo = INFINITY;
        for (int e = 0; j->run && e < j->trained; e++) lo = j->curve[e] < lo ? j->curve[e] : lo;
        if (j->run && (!best || lo < best_lo)) best = j, best_lo = lo;
    }
    memcpy(s->net->params, best->values, mn_net_values(s->net) * sizeof(float));
}

mynn_status mn_fit_auto(mynn_net *net, const mynn_dataset *train, const mynn_dataset *val,
                        const mynn_fit_options *o)
{
    mynn_status st = check_auto(o);
    if (st) return st;
    const mynn_auto_options *a = &o->search;
    mynn_auto_report rep;
    memset(&rep, 0, sizeof rep);
    rep.chosen = -1;
    rep.refit = a->refit != 0;
    search s = {net, train, o, {0}, NULL, NULL};
    plan_search(train->n, o, &s.plan);
    cand_spec chosen = s.plan.fallback;
    int epochs = chosen.budget;
    double t0 = now_seconds();
    if (s.plan.n_cands > 0) {
        st = run_search(&s, &rep);
        if (st) goto done;
        chosen = s.plan.c[rep.chosen];
        epochs = rep.candidates[rep.chosen].epochs;
    } else {
        rep.refit = 1;   /* nothing held out: the setting trains on every row */
    }
    rep.seconds = now_seconds() - t0;
    rep.kind = chosen.kind;
    rep.weight_decay = chosen.wd;
    rep.epochs = epochs;
    if ((st = store_report(net, &rep, &s.plan, train->n, o->seed))) goto done;
    if (a->report) *a->report = rep;
    if (a->on_chosen && a->on_chosen(&rep, o->user)) {
        st = mn_error(MYNN_ERR_STOPPED, "training stopped by a callback");
        goto done;
    }
    if (rep.refit) st = train_chosen(net, train, val, o, &chosen, epochs);
    else keep_best_fold(&s, rep.chosen);
done:
    free_jobs(&s);
    return st;
}
