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

mynn_status mynn_evaluate(mynn_net *net, const mynn_dataset *ds, mynn_metrics *m, int *confusion)
{
    if (!net || !ds || !m) return mn_error(MYNN_ERR_NULL, "mynn_evaluate: NULL argument");
    if (!net->max_batch) return mn_error(MYNN_ERR_STATE, "mynn_evaluate: the network is not built");
    int d = net->n_inputs, k = mynn_n_outputs(net);
    mynn_status s = mn_metrics_check(ds, d, k, "mynn_evaluate");
    if (s) return s;
    const mn_layer *last = &net->layers[net->n_layers - 1];
    mn_metrics_acc acc;
    mn_metrics_begin(&acc, ds, k, confusion);
    for (int done = 0; done < ds->n;) {
        int c = ds->n - done < net->max_batch ? ds->n - done : net->max_batch;
        const float *a = mn_forward(net, ds->x + (size_t)done * d, c, 0);
        mn_metrics_add(&acc, ds, done, c, net->loss, last->act, last->cache, a);
        done += c;
    }
    mn_metrics_end(&acc, ds, m);
    return MYNN_OK;
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
