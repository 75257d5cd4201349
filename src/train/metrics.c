/* Evaluation: loss, accuracy, MSE, MAE and a confusion matrix over a
 * dataset, in chunks of the net's max_batch through the internal forward
 * pass (the outputs are read where the forward leaves them: no allocation). */
#include "mynn.h"
#include "metrics.h"
#include "core/core.h"
#include "losses/loss.h"
#include "network/network.h"

#include <math.h>
#include <string.h>

/* The predicted class of one output row: the argmax (first on ties), or
 * for a single output 1 when it exceeds 0.5. */
int mn_predicted_class(const float *a, int k)
{
    if (k == 1) return a[0] > 0.5f;
    int best = 0;
    for (int j = 1; j < k; j++)
        if (a[j] > a[best]) best = j;
    return best;
}

mynn_status mynn_evaluate(mynn_net *net, const mynn_dataset *ds, mynn_metrics *m, int *confusion)
{
    return mynn_evaluate_reduced(net, ds, NULL, m, confusion);
}

mynn_status mn_reduce_doubles(const mynn_reducer *red, double *v, size_t n, const char *what)
{
    if (!red || red->world <= 1) return MYNN_OK;
    if (red->sum_doubles(v, n, red->ctx) == 0) return MYNN_OK;
    const char *why = red->last_error ? red->last_error(red->ctx) : NULL;
    return mn_error(MYNN_ERR_COMM, "%s: the reduction across %d ranks failed%s%s", what, red->world,
                    why && *why ? ": " : "", why ? why : "");
}

/* The confusion counts summed over the ranks, through a small stack
 * buffer (exact: counts stay far below 2^53). */
static mynn_status reduce_confusion(const mynn_reducer *red, int *confusion, size_t n)
{
    double buf[256];
    for (size_t at = 0; at < n; at += 256) {
        size_t c = n - at < 256 ? n - at : 256;
        for (size_t i = 0; i < c; i++) buf[i] = confusion[at + i];
        mynn_status s = mn_reduce_doubles(red, buf, c, "mynn_evaluate");
        if (s) return s;
        for (size_t i = 0; i < c; i++) confusion[at + i] = (int)buf[i];
    }
    return MYNN_OK;
}

mynn_status mynn_evaluate_reduced(mynn_net *net, const mynn_dataset *ds, const mynn_reducer *red,
                                  mynn_metrics *m, int *confusion)
{
    if (!net || !ds || !m) return mn_error(MYNN_ERR_NULL, "mynn_evaluate: NULL argument");
    if (red && (red->world < 1 || red->rank < 0 || red->rank >= red->world || !red->sum_doubles))
        return mn_error(MYNN_ERR_ARG, "mynn_evaluate: reducer with rank %d of %d (or no sum_doubles)",
                        red->rank, red->world);
    if (!net->max_batch) return mn_error(MYNN_ERR_STATE, "mynn_evaluate: the network is not built");
    if (ds->n < 1) return mn_error(MYNN_ERR_SHAPE, "mynn_evaluate: the dataset has no samples");
    if (!ds->x || !ds->y) return mn_error(MYNN_ERR_NULL, "mynn_evaluate: the dataset has no data");
    int d = net->n_inputs, k = mynn_n_targets(net);
    if (ds->n_inputs != d || ds->n_outputs != k)
        return mn_error(MYNN_ERR_SHAPE,
                        "mynn_evaluate: the dataset has %d inputs and %d outputs, the network "
                        "%d and %d", ds->n_inputs, ds->n_outputs, d, k);
    size_t at;
    if (mn_find_nonfinite(ds->x, (size_t)ds->n * d, &at))
        return mn_error(MYNN_ERR_NUMERIC, "mynn_evaluate: sample %zu feature %zu is not finite",
                        at / d, at % d);
    if (mn_find_nonfinite(ds->y, (size_t)ds->n * k, &at))
        return mn_error(MYNN_ERR_NUMERIC, "mynn_evaluate: target of sample %zu is not finite",
                        at / k);
    mynn_status bad_ids = mn_net_check_input(net, ds->x, ds->n);
    if (!bad_ids) bad_ids = mn_net_check_targets(net, ds->y, ds->n);
    if (bad_ids) return bad_ids;

    /* Confusion: n_classes × n_classes (or the outputs' classes when the
     * dataset does not say); samples whose class is outside are left out. */
    int kc = ds->n_classes > 0 ? ds->n_classes : (k == 1 ? 2 : k);
    if (confusion && ds->labels) memset(confusion, 0, (size_t)kc * kc * sizeof *confusion);

    /* This rank's contiguous share [lo, hi) of the samples. */
    int world = red ? red->world : 1, rank = red ? red->rank : 0;
    int lo = (int)((long long)ds->n * rank / world), hi = (int)((long long)ds->n * (rank + 1) / world);
    const mn_layer *last = &net->layers[net->n_layers - 1];
    double loss = 0.0, se = 0.0, ae = 0.0;
    long correct = 0;
    for (int done = lo; done < hi;) {
        int c = hi - done < net->max_batch ? hi - done : net->max_batch;
        const float *x = ds->x + (size_t)done * d, *y = ds->y + (size_t)done * k;
        const float *a = mn_forward(net, x, c, 0);
        const int steps = mn_layer_steps(last), kt = mynn_n_outputs(net);
        const float *yt = ds->y + (size_t)done * k;
        if (mn_net_target_ids(net)) {   /* class ids per step: the loss only */
            loss += mn_loss_value_ids(last->cache, a, yt, c * steps, kt / steps) * c;
            done += c;
            continue;
        }
        loss += mn_loss_value(net->loss, last->act, last->cache, a, y, c * steps, k / steps) * c;
        for (size_t i = 0; i < (size_t)c * k; i++) {
            double e = (double)a[i] - y[i];
            se += e * e;
            ae += fabs(e);
        }
        if (ds->labels)
            for (int r = 0; r < c; r++) {
                int truth = ds->labels[done + r], pred = mn_predicted_class(a + (size_t)r * k, k);
                correct += pred == truth;
                if (confusion && truth >= 0 && truth < kc && pred < kc)
                    confusion[(size_t)truth * kc + pred]++;
            }
        done += c;
    }
    double sums[4] = {loss, se, ae, (double)correct};
    mynn_status s = mn_reduce_doubles(red, sums, 4, "mynn_evaluate");
    if (!s && confusion && ds->labels && world > 1) s = reduce_confusion(red, confusion, (size_t)kc * kc);
    if (s) return s;
    loss = sums[0];
    se = sums[1];
    ae = sums[2];
    double count = (double)ds->n * k;
    m->loss = (float)(loss / ds->n);
    m->accuracy = ds->labels ? (float)(sums[3] / ds->n) : -1.0f;
    m->mse = (float)(se / count);
    m->mae = (float)(ae / count);
    if (mn_net_target_ids(net)) m->mse = m->mae = -1.0f;   /* class ids: no error to measure */
    m->n = ds->n;
    return MYNN_OK;
}

/* The same pieces for the int8 models (src/quant/qnet.c), one rank. */
mynn_status mn_metrics_check(const mynn_dataset *ds, int d, int k, const char *who)
{
    if (ds->n < 1) return mn_error(MYNN_ERR_SHAPE, "%s: the dataset has no samples", who);
    if (!ds->x || !ds->y) return mn_error(MYNN_ERR_NULL, "%s: the dataset has no data", who);
    if (ds->n_inputs != d || ds->n_outputs != k)
        return mn_error(MYNN_ERR_SHAPE,
                        "%s: the dataset has %d inputs and %d outputs, the network "
                        "%d and %d", who, ds->n_inputs, ds->n_outputs, d, k);
    size_t at;
    if (mn_find_nonfinite(ds->x, (size_t)ds->n * d, &at))
        return mn_error(MYNN_ERR_NUMERIC, "%s: sample %zu feature %zu is not finite", who,
                        at / d, at % d);
    if (mn_find_nonfinite(ds->y, (size_t)ds->n * k, &at))
        return mn_error(MYNN_ERR_NUMERIC, "%s: target of sample %zu is not finite", who,
                        at / k);
    return MYNN_OK;
}

/* Confusion: n_classes × n_classes (or the outputs' classes when the
 * dataset does not say); samples whose class is outside are left out. */
void mn_metrics_begin(mn_metrics_acc *acc, const mynn_dataset *ds, int k, int *confusion)
{
    memset(acc, 0, sizeof *acc);
    acc->k = k;
    acc->kc = ds->n_classes > 0 ? ds->n_classes : (k == 1 ? 2 : k);
    acc->confusion = ds->labels ? confusion : NULL;
    if (acc->confusion) memset(confusion, 0, (size_t)acc->kc * acc->kc * sizeof *confusion);
}

void mn_metrics_add(mn_metrics_acc *acc, const mynn_dataset *ds, int done, int c, mynn_loss l,
                    mynn_activation act, const float *z, const float *a)
{
    int k = acc->k, kc = acc->kc;
    const float *y = ds->y + (size_t)done * k;
    acc->loss += mn_loss_value(l, act, z, a, y, c, k) * c;
    for (size_t i = 0; i < (size_t)c * k; i++) {
        double e = (double)a[i] - y[i];
        acc->se += e * e;
        acc->ae += fabs(e);
    }
    if (ds->labels)
        for (int r = 0; r < c; r++) {
            int truth = ds->labels[done + r], pred = mn_predicted_class(a + (size_t)r * k, k);
            acc->correct += pred == truth;
            if (acc->confusion && truth >= 0 && truth < kc && pred < kc)
                acc->confusion[(size_t)truth * kc + pred]++;
        }
}

void mn_metrics_end(const mn_metrics_acc *acc, const mynn_dataset *ds, mynn_metrics *m)
{
    double count = (double)ds->n * acc->k;
    m->loss = (float)(acc->loss / ds->n);
    m->accuracy = ds->labels ? (float)((double)acc->correct / ds->n) : -1.0f;
    m->mse = (float)(acc->se / count);
    m->mae = (float)(acc->ae / count);
    m->n = ds->n;
}

void mynn_precision_recall(const int *confusion, int k, float *precision, float *recall)
{
    if (!confusion || k < 1) return;
    for (int c = 0; c < k; c++) {
        long tp = confusion[(size_t)c * k + c], col = 0, row = 0;
        for (int j = 0; j < k; j++) {
            col += confusion[(size_t)j * k + c];   /* predicted c */
            row += confusion[(size_t)c * k + j];   /* truly c */
        }
        if (precision) precision[c] = col > 0 ? (float)((double)tp / col) : 0.0f;
        if (recall) recall[c] = row > 0 ? (float)((double)tp / row) : 0.0f;
    }
}
