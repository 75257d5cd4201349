/* The training loop: seeded shuffling, mini-batches gathered into two
 * scratch buffers allocated once, an optimizer step per batch at the
 * schedule's rate, per-epoch statistics, validation, early stopping,
 * callbacks, and recovery from divergence.
 *
 * Determinism: the only randomness is one generator seeded from o->seed
 * (the shuffle) and the net's own dropout generators; the clock is read
 * only for the seconds statistic.  Same seed and thread count give the
 * same weights bit for bit.
 *
 * Checkpoints (train/checkpoint.c): the state at the end of an epoch is
 * the parameters, the optimizer, the shuffle generator and order, the
 * dropout generators and the early-stopping variables; restoring all of
 * them and starting at the next epoch continues bit for bit. */
#include "mynn.h"
#include "core/core.h"
#include "network/network.h"
#include "train/metrics.h"
#include "train/checkpoint.h"

#include <math.h>
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
}

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static mynn_status check_dataset(const mynn_net *net, const mynn_dataset *ds, const char *what)
{
    int d = net->n_inputs, k = mynn_n_outputs(net);
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
    return MYNN_OK;
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

mynn_status mynn_fit(mynn_net *net, const mynn_dataset *train, const mynn_dataset *val,
                     const mynn_fit_options *o)
{
    if (!net || !train || !o) return mn_error(MYNN_ERR_NULL, "mynn_fit: NULL argument");
    if (!net->max_batch) return mn_error(MYNN_ERR_STATE, "mynn_fit: the network is not built");
    if (o->epochs < 1) return mn_error(MYNN_ERR_ARG, "mynn_fit: epochs must be >= 1, got %d", o->epochs);
    if (o->batch_size < 1 || o->batch_size > net->max_batch)
        return mn_error(MYNN_ERR_ARG, "mynn_fit: batch size must be in 1..%d (the built maximum), got %d",
                        net->max_batch, o->batch_size);
    if (!(isfinite(o->optim.lr) && o->optim.lr >= 0.0f))
        return mn_error(MYNN_ERR_ARG, "mynn_fit: learning rate must be a finite number >= 0, got %g",
                        (double)o->optim.lr);
    if (o->patience < 0) return mn_error(MYNN_ERR_ARG, "mynn_fit: patience must be >= 0, got %d", o->patience);
    if (o->resume && !o->checkpoint_path)
        return mn_error(MYNN_ERR_ARG, "mynn_fit: resume needs a checkpoint_path");
    mynn_status s = check_dataset(net, train, "training");
    if (!s && val) s = check_dataset(net, val, "validation");
    if (!s) s = check_schedule(&o->schedule);
    if (s) return s;

    mynn_schedule sched = o->schedule;
    if (sched.kind == MYNN_SCHED_COSINE && sched.total_epochs == 0) sched.total_epochs = o->epochs;

    const int n = train->n, d = net->n_inputs, k = mynn_n_outputs(net), bs = o->batch_size;
    const int n_batches = (n + bs - 1) / bs;
    const int early = o->patience > 0 && val;
    const size_t np = net->n_params, pbytes = np * sizeof(float);

    float best_loss = INFINITY;
    int have_best = 0, since_best = 0, first_epoch = 0;
    const char *ckpt = o->checkpoint_path;
    uint64_t data_hash = ckpt ? mn_fit_data_hash(train, early ? val : NULL) : 0;

    /* Everything the loop needs, allocated once. */
    mynn_optimizer *opt = NULL;
    s = mynn_optimizer_create(&opt, net, &o->optim);
    if (s) return s;
    int *order = mn_calloc((size_t)n, sizeof *order, "shuffle order");
    float *xb = mn_calloc((size_t)bs * d, sizeof *xb, "batch inputs");
    float *yb = mn_calloc((size_t)bs * k, sizeof *yb, "batch targets");
    float *epoch_start = mn_calloc(np, sizeof(float), "parameter copy");
    float *best = early ? mn_calloc(np, sizeof(float), "best parameters") : NULL;
    if (!order || !xb || !yb || !epoch_start || (early && !best)) {
        s = MYNN_ERR_NOMEM;
        goto done;
    }

    mynn_rng rng;
    mynn_rng_seed(&rng, o->seed);
    for (int i = 0; i < n; i++) order[i] = i;
    const mn_layer *last = &net->layers[net->n_layers - 1];
    mn_fit_state fs = {0, rng, order, n, early, best, 0, best_loss, 0};
    if (o->resume) {
        int found = 0;
        s = mn_checkpoint_load(ckpt, net, opt, o, data_hash, &fs, &found);
        if (s) goto done;
        if (found) {
            first_epoch = fs.epochs_done;
            rng = fs.shuffle;
            have_best = fs.have_best;
            best_loss = fs.best_loss;
            since_best = fs.since_best;
            if (early && since_best >= o->patience) first_epoch = o->epochs;  /* had stopped early */
        }
    }

    for (int epoch = first_epoch; epoch < o->epochs; epoch++) {
        double t0 = now_seconds();
        float lr = mynn_schedule_lr(&sched, o->optim.lr, epoch);
        memcpy(epoch_start, net->params, pbytes);
        if (o->shuffle)
            for (int i = n - 1; i > 0; i--) {
                int j = (int)mynn_rng_below(&rng, (uint64_t)i + 1);
                int t = order[i];
                order[i] = order[j];
                order[j] = t;
            }

        double loss_sum = 0.0;
        long correct = 0;
        for (int b = 0; b < n_batches; b++) {
            int first = b * bs, m = n - first < bs ? n - first : bs;
            for (int r = 0; r < m; r++) {
                size_t src = (size_t)order[first + r];
                memcpy(xb + (size_t)r * d, train->x + src * d, (size_t)d * sizeof *xb);
                memcpy(yb + (size_t)r * k, train->y + src * k, (size_t)k * sizeof *yb);
            }
            /* The data was checked once above, so the batch goes straight
             * through forward and backward. */
            mn_forward(net, xb, m, 1);
            float loss = (float)mn_backward(net, yb, m);
            const char *what = NULL;
            if (!isfinite(loss)) what = isnan(loss) ? "loss is nan" : "loss is inf";
            if (!what) {
                if (train->labels)
                    for (int r = 0; r < m; r++)
                        correct += mn_predicted_class(last->out + (size_t)r * k, k) ==
                                   train->labels[order[first + r]];
                loss_sum += (double)loss * m;
                s = mynn_optimizer_step(opt, lr);
                if (s) goto done;
                /* Non-finite weights show as a non-finite loss on the next
                 * batch; the last batch of the epoch is checked below. */
                if (b == n_batches - 1 && mn_find_nonfinite(net->params, np, NULL))
                    what = "weights are not finite";
            }
            if (what) {
                memcpy(net->params, epoch_start, pbytes);
                s = mn_error(MYNN_ERR_NUMERIC,
                             "training diverged: %s at epoch %d, batch %d (try a lower learning rate)",
                             what, epoch + 1, b + 1);
                goto done;
            }
            if (o->on_batch && o->on_batch(epoch, b, n_batches, loss, o->user)) {
                s = MYNN_ERR_STOPPED;
                goto done;
            }
        }

        mynn_epoch_stats st;
        st.epoch = epoch;
        st.lr = lr;
        st.train_loss = (float)(loss_sum / n);
        st.train_acc = train->labels ? (float)((double)correct / n) : -1.0f;
        st.val_loss = st.val_acc = -1.0f;
        if (val) {
            mynn_metrics vm;
            s = mynn_evaluate(net, val, &vm, NULL);
            if (s) goto done;
            st.val_loss = vm.loss;
            st.val_acc = vm.accuracy;
        }
        int stop_early = 0;
        if (early) {
            if (st.val_loss < best_loss) {
                best_loss = st.val_loss;
                memcpy(best, net->params, pbytes);
                have_best = 1;
                since_best = 0;
            } else if (++since_best >= o->patience) {
                stop_early = 1;
            }
        }
        st.seconds = now_seconds() - t0;
        if (ckpt) {
            fs.epochs_done = epoch + 1;
            fs.shuffle = rng;
            fs.have_best = have_best;
            fs.best_loss = best_loss;
            fs.since_best = since_best;
            s = mn_checkpoint_save(ckpt, net, opt, o, data_hash, &fs);
            if (s) goto done;
        }
        if (o->on_epoch && o->on_epoch(&st, o->user)) {
            s = MYNN_ERR_STOPPED;
            goto done;
        }
        if (stop_early) break;
    }
    s = MYNN_OK;

done:
    /* Early stopping leaves the best weights, also after a callback's stop
     * (a divergence keeps the epoch-start weights restored above). */
    if (early && have_best && (s == MYNN_OK || s == MYNN_ERR_STOPPED))
        memcpy(net->params, best, pbytes);
    if (s == MYNN_ERR_STOPPED) mn_error(MYNN_ERR_STOPPED, "training stopped by a callback");
    mynn_optimizer_free(opt);
    free(order);
    free(xb);
    free(yb);
    free(epoch_start);
    free(best);
    return s;
}
