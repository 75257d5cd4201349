/* The training loop: seeded shuffling, mini-batches gathered into two
 * scratch buffers allocated once, an optimizer step per batch at the
 * schedule's rate, per-epoch statistics, validation, early stopping,
 * callbacks, and recovery from divergence.
 *
 * Determinism: the only randomness is one generator seeded from o->seed
 * (the shuffle) and the net's own dropout generators; the clock is read
 * for the seconds statistic and to choose between the step's team and one
 * thread (see step_guard), which compute the same floats.  Same seed and
 * thread count give the same weights bit for bit (and every kernel splits
 * its work so that the thread count does not change them either).
 *
 * Checkpoints (train/checkpoint.c): the state at the end of an epoch is
 * the parameters, the optimizer, the shuffle generator and order, the
 * dropout generators and the early-stopping variables; restoring all of
 * them and starting at the next epoch continues bit for bit.
 *
 * Data parallel (o->reducer, see mynn_reducer in mynn.h): each rank runs its
 * share of every batch, the scaled gradients are summed once per step, and
 * every decision that ends the loop (divergence, a stop, a failed
 * checkpoint) is taken from reduced values, so all ranks leave at the same
 * step: a rank that left alone would leave the others waiting.
 *
 * L-BFGS: an epoch is one optimizer step, whose closure runs the same
 * gather/forward/backward over every batch of the training set (one batch
 * when batch_size >= n) and returns the mean loss and gradient; training
 * stops early once the optimizer reports convergence. */
#include "mynn.h"
#include "core/core.h"
#include "network/network.h"
#include "optim/optim.h"
#include "train/metrics.h"
#include "train/checkpoint.h"
#include "train/fit_internal.h"
#include "kernels/kernels.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

void mynn_fit_options_default(mynn_fit_options *o)
{
    if (!o) return;
    memset(o, 0, sizeof *o);
    o->epochs = 10;
    o->batch_size = 32;
    o->seed = 42;
    o->shuffle = 1;
    mynn_optim_config_default(&o->optim, MYNN_OPT_ADAM);
    o->schedule.kind = MYNN_SCHED_CONSTANT;
    o->schedule.step_size = 10;
    o->schedule.gamma = 0.1f;
    o->schedule.min_lr = 0.0f;
    o->schedule.total_epochs = 0; /* cosine: 0 = the run's epochs */
    o->schedule.warmup_epochs = 0;
    o->patience = 0;
    o->search.refit = 1;
    o->search.lbfgs_rows = 5000;
}

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static mynn_status check_dataset(const mynn_net *net, const mynn_dataset *ds, const char *what)
{
    int d = net->n_inputs, k = mynn_n_targets(net);
    if (ds->n < 1) return mn_error(MYNN_ERR_SHAPE, "mynn_fit: the %s set has no samples", what);
    if (!ds->x || !ds->y) return mn_error(MYNN_ERR_NULL, "mynn_fit: the %s set has no data", what);
    if (ds->n_inputs != d || ds->n_outputs != k)
        return mn_error(MYNN_ERR_SHAPE,
                        "mynn_fit: the %s set has %d inputs and %d outputs, the network %d and %d",
                        what, ds->n_inputs, ds->n_outputs, d, k);
    size_t at;
    if (mn_find_nonfinite(ds->x, (size_t)ds->n * d, &at))
        return mn_error(MYNN_ERR_NUMERIC, "mynn_fit: %s sample %zu feature %zu is not finite",
                        what, at / d, at % d);
    if (mn_find_nonfinite(ds->y, (size_t)ds->n * k, &at))
        return mn_error(MYNN_ERR_NUMERIC, "mynn_fit: %s sample %zu target %zu is not finite",
                        what, at / k, at % k);
    mynn_status s = mn_net_check_input(net, ds->x, ds->n);
    return s ? s : mn_net_check_targets(net, ds->y, ds->n);
}

static mynn_status check_schedule(const mynn_schedule *s)
{
    if ((unsigned)s->kind > MYNN_SCHED_COSINE)
        return mn_error(MYNN_ERR_ARG, "unknown learning-rate schedule %d", (int)s->kind);
    if (s->warmup_epochs < 0)
        return mn_error(MYNN_ERR_ARG, "warm-up epochs must be >= 0, got %d", s->warmup_epochs);
    if (s->kind == MYNN_SCHED_STEP &&
        (s->step_size < 1 || !isfinite(s->gamma) || s->gamma < 0.0f))
        return mn_error(MYNN_ERR_ARG, "step schedule needs step_size >= 1 and gamma >= 0, got %d and %g",
                        s->step_size, (double)s->gamma);
    if (s->kind == MYNN_SCHED_COSINE &&
        (s->total_epochs < 0 || !isfinite(s->min_lr) || s->min_lr < 0.0f))
        return mn_error(MYNN_ERR_ARG, "cosine schedule needs total_epochs >= 0 and min_lr >= 0, "
                        "got %d and %g", s->total_epochs, (double)s->min_lr);
    return MYNN_OK;
}

static mynn_status check_fit_args(const mynn_net *net, const mynn_dataset *train,
                                  const mynn_dataset *val, const mynn_fit_options *o)
{
    if (!net || !train || !o) return mn_error(MYNN_ERR_NULL, "mynn_fit: NULL argument");
    if (!net->max_batch) return mn_error(MYNN_ERR_STATE, "mynn_fit: the network is not built");
    if (o->epochs < 1) return mn_error(MYNN_ERR_ARG, "mynn_fit: epochs must be >= 1, got %d", o->epochs);
    const mynn_reducer *red = o->reducer;
    if (red && (red->world < 1 || red->rank < 0 || red->rank >= red->world || !red->sum_floats ||
                !red->sum_doubles))
        return mn_error(MYNN_ERR_ARG, "mynn_fit: reducer with rank %d of %d (or a missing callback)",
                        red->rank, red->world);
    if (red && red->world > 1 && o->optim.kind == MYNN_OPT_LBFGS)
        return mn_error(MYNN_ERR_ARG, "mynn_fit: L-BFGS does not run data-parallel (its line search "
                        "evaluates the full set; train it in one process)");
    int share = red ? (o->batch_size + red->world - 1) / red->world : o->batch_size;
    /* auto: batch_size is Adam's; its candidates build their own copies */
    if (o->batch_size < 1 || (share > net->max_batch && o->optim.kind != MYNN_OPT_AUTO))
        return mn_error(MYNN_ERR_ARG, "mynn_fit: batch size must be in 1..%d (the built maximum%s), got %d",
                        red ? net->max_batch * red->world : net->max_batch,
                        red && red->world > 1 ? " times the ranks" : "", o->batch_size);
    if (!(isfinite(o->optim.lr) && o->optim.lr >= 0.0f))
        return mn_error(MYNN_ERR_ARG, "mynn_fit: learning rate must be a finite number >= 0, got %g",
                        (double)o->optim.lr);
    if (o->patience < 0) return mn_error(MYNN_ERR_ARG, "mynn_fit: patience must be >= 0, got %d", o->patience);
    if (o->resume && !o->checkpoint_path)
        return mn_error(MYNN_ERR_ARG, "mynn_fit: resume needs a checkpoint_path");
    mynn_status s = check_dataset(net, train, "training");
    if (!s && val) s = check_dataset(net, val, "validation");
    if (!s) s = check_schedule(&o->schedule);
    if (!s) s = mn_check_augment(net, &o->augment);
    return s;
}

static void fit_work_free(mn_fit_work *w)
{
    mynn_optimizer_free(w->opt);
    free(w->order);
    free(w->xb);
    free(w->yb);
    free(w->epoch_start);
    free(w->best);
    free(w->gsum);
}

static mynn_status fit_work_alloc(mn_fit_work *w, mynn_net *net, const mynn_fit_options *o, int n,
                                  int early)
{
    memset(w, 0, sizeof *w);
    const size_t d = (size_t)net->n_inputs, k = (size_t)mynn_n_targets(net), bs = (size_t)o->batch_size;
    w->n_values = mn_net_values(net);
    mynn_optim_config oc = o->optim;
    const int lbfgs = oc.kind == MYNN_OPT_LBFGS;
    if (lbfgs && oc.max_evals == 0) oc.max_evals = (long)o->epochs * 5 / 4;   /* PyTorch's max_eval */
    mynn_status s = mynn_optimizer_create(&w->opt, net, &oc);
    if (s) return s;
    if (lbfgs && n > o->batch_size) {
        w->gsum = mn_calloc(net->n_params ? net->n_params : 1, sizeof(float), "gradient sum");
        if (!w->gsum) return MYNN_ERR_NOMEM;
    }
    w->order = mn_calloc((size_t)n, sizeof *w->order, "shuffle order");
    w->xb = mn_calloc(bs * d, sizeof *w->xb, "batch inputs");
    w->yb = mn_calloc(bs * k, sizeof *w->yb, "batch targets");
    w->epoch_start = mn_calloc(w->n_values, sizeof(float), "parameter copy");
    w->best = early ? mn_calloc(w->n_values, sizeof(float), "best parameters") : NULL;
    if (!w->order || !w->xb || !w->yb || !w->epoch_start || (early && !w->best)) return MYNN_ERR_NOMEM;
    for (int i = 0; i < n; i++) w->order[i] = i;
    w->aug = o->augment;
    w->shape = net->in_shape;
    w->aug_seed = o->seed;
    return MYNN_OK;
}

static void shuffle_order(int *order, int n, mynn_rng *rng)
{
    for (int i = n - 1; i > 0; i--) {
        int j = (int)mynn_rng_below(rng, (uint64_t)i + 1);
        int t = order[i];
        order[i] = order[j];
        order[j] = t;
    }
}

/* Forward and backward on the samples order[first .. first+m): the
 * gradient of their mean loss into net->grads; returns that loss and adds
 * the correct predictions to *correct (classification). */
static double batch_gradient(mynn_net *net, const mynn_dataset *train, mn_fit_work *w, int first, int m,
                             long *correct)
{
    const int k = mynn_n_outputs(net);
    const mn_layer *last = &net->layers[net->n_layers - 1];
    float *xb = mn_batch_inputs(net, w);
    mn_gather_batch(train, w, first, m, net->shift, net->scale, xb, w->yb);
    /* The data was checked once up front, so the batch goes straight
     * through forward and backward. */
    mn_forward_transformed(net, xb, m, 1);
    double loss = mn_backward(net, w->yb, m);
    if (train->labels && isfinite(loss))
        for (int r = 0; r < m; r++)
            *correct += mn_predicted_class(last->out + (size_t)r * k, k) ==
                        train->labels[w->order[first + r]];
    return loss;
}

/* L-BFGS's closure: the whole training set's mean loss and gradient, by
 * batch_gradient over its batches (weighted by their sizes). */
typedef struct full_set {
    mynn_net *net;
    const mynn_dataset *train;
    mn_fit_work *w;
    int bs;
    long correct;       /* the last evaluation's correct predictions */
} full_set;

static mynn_status full_set_loss(void *user, double *loss)
{
    full_set *c = user;
    mynn_net *net = c->net;
    const int n = c->train->n, bs = c->bs;
    long *correct = &c->correct;
    *correct = 0;
    if (n <= bs) {
        *loss = batch_gradient(net, c->train, c->w, 0, n, correct);
        return MYNN_OK;
    }
    float *gs = c->w->gsum;
    const size_t np = net->n_params;
    double sum = 0.0;
    memset(gs, 0, np * sizeof *gs);
    for (int first = 0; first < n; first += bs) {
        int m = n - first < bs ? n - first : bs;
        sum += batch_gradient(net, c->train, c->w, first, m, correct) * m;
        const float share = (float)((double)m / n);
        for (size_t i = 0; i < np; i++) gs[i] += share * net->grads[i];
    }
    memcpy(net->grads, gs, np * sizeof *gs);
    *loss = sum / n;
    return MYNN_OK;
}

/* The model back to the epoch's start, and the divergence error. */
static mynn_status diverged(mynn_net *net, mn_fit_work *w, const char *what, int epoch, int batch)
{
    memcpy(net->params, w->epoch_start, w->n_values * sizeof(float));
    if (batch > 0)
        return mn_error(MYNN_ERR_NUMERIC,
                        "training diverged: %s at epoch %d, batch %d (try a lower learning rate)",
                        what, epoch + 1, batch);
    return mn_error(MYNN_ERR_NUMERIC, "training diverged at epoch %d: %s (try a lower learning rate)",
                    epoch + 1, what);
}

/* An L-BFGS epoch: one step over the full set.  Its last evaluation is at
 * the new weights: the epoch's loss and accuracy are theirs. */
static mynn_status lbfgs_epoch(mynn_net *net, const mynn_dataset *train, const mynn_fit_options *o,
                               mn_fit_work *w, int epoch, float lr, mynn_epoch_stats *st)
{
    full_set c = {net, train, w, o->batch_size, 0};
    float loss = 0.0f;
    mynn_status s = mynn_optimizer_step_closure(w->opt, lr, full_set_loss, &c, &loss);
    if (s == MYNN_ERR_NUMERIC) {
        char msg[256];
        snprintf(msg, sizeof msg, "%s", mynn_last_error());
        return diverged(net, w, msg, epoch, 0);
    }
    if (s) return s;
    if (mn_find_nonfinite(net->params, net->n_params, NULL))
        return diverged(net, w, "weights are not finite", epoch, 0);
    st->train_loss = loss;
    st->train_acc = train->labels ? (float)((double)c.correct / train->n) : -1.0f;
    if (o->on_batch && o->on_batch(epoch, 0, 1, loss, o->user)) return MYNN_ERR_STOPPED;
    return MYNN_OK;
}

/* Gather, forward and backward of the samples order[first .. first+m),
 * with u (not NULL) each layer's update fused into backward; every thread
 * of the step's team runs this, or the calling thread alone. */
static void step_body(mynn_net *net, const mynn_dataset *train, mn_fit_work *w, int first, int m,
                      const mn_update *u, double *loss)
{
    const size_t d = (size_t)net->n_inputs, k = (size_t)mynn_n_targets(net);
    /* The data was checked once up front, so the batch goes straight
     * through forward and backward. */
    float *xb = mn_batch_inputs(net, w);
    MN_FOR_SHARE((size_t)m, 1, lo, hi,
                 mn_gather_batch(train, w, first + (int)lo, (int)(hi - lo), net->shift,
                                 net->scale, xb + lo * d, w->yb + lo * k));
    mn_forward_transformed(net, xb, m, 1);
    mn_backward_update(net, w->yb, m, u, loss);
}

/* Team or one thread, by measurement.  On a machine whose cores are busy
 * with other work, a thread of the team can lose its core for a scheduler
 * slice while it holds a part, and a spinning thread takes time from the
 * one that works: the team can then be slower than one thread.  So the
 * step time of both is kept (a running mean), the faster runs, and the
 * other is tried again for a few steps now and then (every 64 steps after
 * a change, twice as long each time the choice holds, up to 4096; a try
 * whose first step takes four times the other's mean ends there).
 * Results do not depend on the thread count, so this never changes the
 * weights. */
typedef struct step_guard {
    double t[2];      /* mean seconds per step: [0] one thread, [1] the team; 0: unknown */
    int pref;         /* the mode that runs */
    int probe;        /* steps left of trying the other (the first is not timed) */
    int left, every;  /* steps to the next try, and between tries */
} step_guard;

static void guard_init(step_guard *g)
{
    g->t[0] = g->t[1] = 0.0;
    g->pref = 1;
    g->probe = 0;
    g->left = 8;
    g->every = 64;
}

static int guard_mode(const step_guard *g) { return g->probe > 0 ? !g->pref : g->pref; }

#define PROBE_STEPS 3

static void guard_note(step_guard *g, int mode, double dt)
{
    /* A probe's first step warms up (threads wake, caches fill), unless
     * it is already far slower: then the probe ends there. */
    const int hopeless = g->probe == PROBE_STEPS && dt > 4.0 * g->t[g->pref] && g->t[g->pref] > 0.0;
    if (g->probe != PROBE_STEPS || hopeless)
        g->t[mode] = g->t[mode] > 0.0 && !hopeless ? 0.75 * g->t[mode] + 0.25 * dt : dt;
    if (g->probe > 0) {
        if (--g->probe > 0 && !hopeless) return;
        g->probe = 0;
        const int other = !g->pref;
        const int best = g->t[other] > 0.0 && g->t[other] < g->t[g->pref] ? other : g->pref;
        g->every = best != g->pref ? 64 : g->every < 4096 ? 2 * g->every : g->every;
        g->pref = best;
        g->left = g->every;
    } else if (--g->left <= 0) {
        g->probe = PROBE_STEPS;
    }
}

/* One step on this process.  With several threads and samples the whole
 * step is one parallel region (the step's team, kernels.h): a fork and
 * join per step and a claimed job per kernel, instead of a region per
 * kernel.
 * fuse: the optimizer's step is applied layer by layer during backward
 * (element-wise, so the same floats as mynn_optimizer_step after it). */
static mynn_status local_step(mynn_net *net, const mynn_dataset *train, mn_fit_work *w, int first,
                              int m, float lr, int fuse, step_guard *g, float *loss)
{
    mn_update u;
    if (fuse) {
        mynn_status s = mn_optimizer_begin(w->opt, lr, 1.0f, &u);
        if (s) return s;
    }
    const mn_update *up = fuse ? &u : NULL;
    double c = 0.0;
    const int nt = m >= 2 ? mn_threads() : 1;
    if (nt > 1) {
        const int mode = guard_mode(g);
        double t0 = now_seconds();
        if (mode) {
            mn_team team;
            mn_team_init(&team);
#pragma omp parallel num_threads(nt)
            {
                mn_team_enter(&team);
                step_body(net, train, w, first, m, up, &c);
                mn_team_leave();
            }
        } else {   /* on this thread alone, no kernel opening a region */
            int saved = mn_team_suspend();
            step_body(net, train, w, first, m, up, &c);
            mn_team_resume(saved);
        }
        guard_note(g, mode, now_seconds() - t0);
    } else {
        step_body(net, train, w, first, m, up, &c);
    }
    *loss = (float)c;
    return MYNN_OK;
}

/* One epoch of steps at rate lr; fills the training loss and accuracy of
 * *st.  On divergence the model returns to the epoch's start. */
static mynn_status train_epoch(mynn_net *net, const mynn_dataset *train, const mynn_fit_options *o,
                               mn_fit_work *w, int epoch, float lr, mynn_epoch_stats *st)
{
    if (o->optim.kind == MYNN_OPT_LBFGS) return lbfgs_epoch(net, train, o, w, epoch, lr, st);
    const mynn_reducer *red = o->reducer;
    const int n = train->n, k = mynn_n_outputs(net), bs = o->batch_size;
    const int n_batches = (n + bs - 1) / bs;
    const mn_layer *last = &net->layers[net->n_layers - 1];
    const int fuse = !red && mn_optimizer_fusable(w->opt);
    step_guard guard;
    guard_init(&guard);
    double loss_sum = 0.0;
    long correct = 0;
    for (int b = 0; b < n_batches; b++) {
        int first = b * bs, m = n - first < bs ? n - first : bs;
        float loss = 0.0f;
        if (red) {
            int stop = 0;
            mynn_status s = mn_shared_step(net, train, o, w, first, m, epoch, b, &loss, &correct,
                                        &loss_sum, &stop);
            if (s) return s;
            if (stop) return MYNN_ERR_STOPPED;
        } else {
            mynn_status s = local_step(net, train, w, first, m, lr, fuse, &guard, &loss);
            if (s) return s;
        }
        const char *what = NULL;
        if (!isfinite(loss)) what = isnan(loss) ? "loss is nan" : "loss is inf";
        if (!what) {
            if (train->labels && !red)
                for (int r = 0; r < m; r++)
                    correct += mn_predicted_class(last->out + (size_t)r * k, k) ==
                               train->labels[w->order[first + r]];
            if (!red) loss_sum += (double)loss * m;
            mynn_status s = fuse ? MYNN_OK : mynn_optimizer_step(w->opt, lr);
            if (s) return s;
            /* Non-finite weights show as a non-finite loss on the next
             * batch; the last batch of the epoch is checked here. */
            if (b == n_batches - 1 && mn_find_nonfinite(net->params, net->n_params, NULL))
                what = "weights are not finite";
        }
        if (what) {
            memcpy(net->params, w->epoch_start, w->n_values * sizeof(float));
            return mn_error(MYNN_ERR_NUMERIC,
                            "training diverged: %s at epoch %d, batch %d (try a lower learning rate)",
                            what, epoch + 1, b + 1);
        }
        if (o->on_batch && o->on_batch(epoch, b, n_batches, loss, o->user)) {
            if (!red) return MYNN_ERR_STOPPED;
            w->stop_pending = 1;   /* told to the other ranks with the next step */
        }
    }
    double sums[3] = {loss_sum, (double)correct, (double)w->stop_pending};
    mynn_status s = mn_reduce_doubles(red, sums, 3, "mynn_fit: the training statistics");
    if (s) return s;
    if (sums[2] > 0) return MYNN_ERR_STOPPED;
    st->train_loss = (float)(sums[0] / n);
    st->train_acc = train->labels ? (float)(sums[1] / n) : -1.0f;
    return MYNN_OK;
}

/* Early stopping's bookkeeping after an epoch's validation; returns 1
 * when patience has run out. */
static int track_best(mynn_net *net, mn_fit_work *w, mn_fit_state *fs, float val_loss, int patience)
{
    if (val_loss < fs->best_loss) {
        fs->best_loss = val_loss;
        memcpy(w->best, net->params, w->n_values * sizeof(float));
        fs->have_best = 1;
        fs->since_best = 0;
        return 0;
    }
    return ++fs->since_best >= patience;
}

mynn_status mynn_fit(mynn_net *net, const mynn_dataset *train, const mynn_dataset *val,
                     const mynn_fit_options *o)
{
    mynn_status s = check_fit_args(net, train, val, o);
    if (s) return s;
    if (o->optim.kind == MYNN_OPT_AUTO) return mn_fit_auto(net, train, val, o);   /* auto.c */
    const mynn_reducer *red = o->reducer;
    const int rank0 = !red || red->rank == 0;
    mynn_schedule sched = o->schedule;
    if (sched.kind == MYNN_SCHED_COSINE && sched.total_epochs == 0) sched.total_epochs = o->epochs;
    const int early = o->patience > 0 && val;
    const char *ckpt = o->checkpoint_path;
    uint64_t data_hash = ckpt ? mn_fit_data_hash(train, early ? val : NULL) : 0;

    mn_fit_work w;
    s = fit_work_alloc(&w, net, o, train->n, early);
    if (s) {
        fit_work_free(&w);
        return s;
    }
    mynn_rng rng;
    mynn_rng_seed(&rng, o->seed);
    mn_fit_state fs = {0, rng, w.order, train->n, early, w.best, 0, INFINITY, 0};
    int first_epoch = 0;
    if (o->resume) {
        int found = 0;
        s = mn_checkpoint_load(ckpt, net, w.opt, o, data_hash, &fs, &found);
        if (red) {   /* a rank that cannot read it stops everyone */
            int failed, missing;
            mynn_status r = mn_agree(red, s != MYNN_OK, &failed, "mynn_fit: resuming");
            if (!r) r = mn_agree(red, !s && !found, &missing, "mynn_fit: resuming");
            if (r) s = r;
            else if (!s && failed)
                s = mn_error(MYNN_ERR_IO, "mynn_fit: another rank could not resume from '%s'", ckpt);
            else if (!s && missing && found)
                s = mn_error(MYNN_ERR_IO, "mynn_fit: checkpoint '%s' is missing on another rank", ckpt);
        }
        if (s) goto done;
        if (found) {
            first_epoch = fs.epochs_done;
            rng = fs.shuffle;
            if (early && fs.since_best >= o->patience) first_epoch = o->epochs;  /* had stopped early */
            if (mynn_optimizer_converged(w.opt)) first_epoch = o->epochs;       /* L-BFGS had converged */
        }
    }

    for (int epoch = first_epoch; epoch < o->epochs; epoch++) {
        double t0 = now_seconds();
        mynn_epoch_stats st;
        st.epoch = epoch;
        st.lr = mynn_schedule_lr(&sched, o->optim.lr, epoch);
        memcpy(w.epoch_start, net->params, w.n_values * sizeof(float));
        if (o->shuffle) shuffle_order(w.order, train->n, &rng);
        w.epoch = epoch;
        s = train_epoch(net, train, o, &w, epoch, st.lr, &st);
        if (!s) s = mn_average_buffers(net, red, epoch);
        if (s) goto done;
        st.converged = mynn_optimizer_converged(w.opt);
        st.val_loss = st.val_acc = -1.0f;
        if (val) {
            mynn_metrics vm;
            s = mynn_evaluate_reduced(net, val, red, &vm, NULL);
            if (s) goto done;
            st.val_loss = vm.loss;
            st.val_acc = vm.accuracy;
        }
        int stop_early = early && track_best(net, &w, &fs, st.val_loss, o->patience);
        st.seconds = now_seconds() - t0;
        if (ckpt) {
            fs.epochs_done = epoch + 1;
            fs.shuffle = rng;
            if (rank0) s = mn_checkpoint_save(ckpt, net, w.opt, o, data_hash, &fs);
            if (red) {
                int failed;
                mynn_status r = mn_agree(red, s != MYNN_OK, &failed, "mynn_fit: the checkpoint");
                if (r) s = r;
                else if (!s && failed)
                    s = mn_error(MYNN_ERR_IO, "mynn_fit: rank 0 could not write checkpoint '%s'", ckpt);
            }
            if (s) goto done;
        }
        int stop = o->on_epoch && o->on_epoch(&st, o->user);
        if (red && (s = mn_agree(red, stop, &stop, "mynn_fit: the end of the epoch"))) goto done;
        if (stop) {
            s = MYNN_ERR_STOPPED;
            goto done;
        }
        if (stop_early || st.converged) break;
    }
    s = MYNN_OK;

done:
    /* Early stopping leaves the best weights, also after a callback's stop
     * (a divergence keeps the epoch-start weights restored above). */
    if (early && fs.have_best && (s == MYNN_OK || s == MYNN_ERR_STOPPED))
        memcpy(net->params, w.best, w.n_values * sizeof(float));
    if (s == MYNN_ERR_STOPPED) mn_error(MYNN_ERR_STOPPED, "training stopped by a callback");
    fit_work_free(&w);
    return s;
}
