/* The data-parallel parts of the training loop (mynn_fit_options.reducer,
 * see mynn_reducer in mynn.h): this rank's share of a batch, the gradient
 * sum with the loss and a stop flag in the gradients' spare floats, the
 * per-epoch averaging of buffers and the agreement on flags. */
#include "mynn.h"
#include "core/core.h"
#include "kernels/kernels.h"
#include "network/network.h"
#include "train/fit_internal.h"
#include "train/metrics.h"

#include <string.h>

/* The samples order[first .. first+m) of ds, gathered into xb and yb. */
void mn_gather_batch(const mynn_dataset *ds, const int *order, int first, int m,
                     const float *shift, const float *scale, float *xb, float *yb)
{
    const size_t d = (size_t)ds->n_inputs, k = (size_t)ds->n_outputs;
    for (int r = 0; r < m; r++) {
        const size_t src = (size_t)order[first + r];
        if (shift)
            mn_shift_scale_block(xb + (size_t)r * d, ds->x + src * d, shift, scale, 1, (int)d);
        else
            memcpy(xb + (size_t)r * d, ds->x + src * d, d * sizeof *xb);
        memcpy(yb + (size_t)r * k, ds->y + src * k, k * sizeof *yb);
    }
}

/* This rank's contiguous share [*first, *first + *count) of a batch of m
 * samples: m / world each, the first m % world ranks one more. */
static void batch_share(int m, int rank, int world, int *first, int *count)
{
    int base = m / world, extra = m % world;
    *count = base + (rank < extra);
    *first = rank * base + (rank < extra ? rank : extra);
}

static mynn_status reduce_failed(const mynn_reducer *red, const char *what, int epoch, int batch)
{
    const char *why = red->last_error ? red->last_error(red->ctx) : NULL;
    return mn_error(MYNN_ERR_COMM, "mynn_fit: the %s across %d ranks failed at epoch %d, batch %d%s%s",
                    what, red->world, epoch + 1, batch + 1, why && *why ? ": " : "", why ? why : "");
}

/* Data parallel: forward and backward on this rank's share of the batch
 * order[first_row .. first_row + m), then the gradients (scaled by the
 * share's fraction of the batch) and the loss summed over the ranks.
 * Returns the batch's mean loss in *loss; *stop when any rank asked to. */
mynn_status mn_shared_step(mynn_net *net, const mynn_dataset *train, const mynn_fit_options *o,
                           mn_fit_work *w, int first_row, int m, int epoch, int b, float *loss,
                           long *correct, double *loss_sum, int *stop)
{
    const mynn_reducer *red = o->reducer;
    const int k = mynn_n_outputs(net);
    const mn_layer *last = &net->layers[net->n_layers - 1];
    int first, cnt;
    batch_share(m, red->rank, red->world, &first, &cnt);
    float local = 0.0f;
    mn_net_skip_rows(net, first);
    if (cnt > 0) {
        float *xb = mn_batch_inputs(net, w);
        mn_gather_batch(train, w->order, first_row + first, cnt, net->shift, net->scale, xb, w->yb);
        mn_forward_transformed(net, xb, cnt, 1);
        local = (float)mn_backward(net, w->yb, cnt);
        if (train->labels)
            for (int r = 0; r < cnt; r++)
                *correct += mn_predicted_class(last->out + (size_t)r * k, k) ==
                            train->labels[w->order[first_row + first + r]];
        *loss_sum += (double)local * cnt;
    } else {
        memset(net->grads, 0, net->n_params * sizeof *net->grads);
    }
    mn_net_skip_rows(net, m - first - cnt);
    if (cnt != m) {   /* mean over the share -> this share's part of the batch mean */
        float f = (float)cnt / (float)m;
        for (size_t i = 0; i < net->n_params; i++) net->grads[i] *= f;
        local *= f;
    }
    net->grads[net->n_params] = local;
    net->grads[net->n_params + 1] = (float)w->stop_pending;
    if (red->world > 1 && red->sum_floats(net->grads, net->n_params + MN_GRAD_SPARE, red->ctx))
        return reduce_failed(red, "gradient all-reduce", epoch, b);
    *loss = net->grads[net->n_params];
    *stop = net->grads[net->n_params + 1] > 0.0f;
    return MYNN_OK;
}

/* Data parallel: per-process buffers (batch-norm statistics) averaged
 * over the ranks, so every rank evaluates and saves the same model. */
mynn_status mn_average_buffers(mynn_net *net, const mynn_reducer *red, int epoch)
{
    if (!red || red->world <= 1 || net->n_buffers == 0) return MYNN_OK;
    float *buf = net->params + net->n_params;
    if (red->sum_floats(buf, net->n_buffers, red->ctx)) return reduce_failed(red, "buffer all-reduce", epoch, 0);
    float f = 1.0f / (float)red->world;
    for (size_t i = 0; i < net->n_buffers; i++) buf[i] *= f;
    return MYNN_OK;
}

/* Data parallel: whether any rank raised flag (every rank learns the same). */
mynn_status mn_agree(const mynn_reducer *red, int flag, int *any, const char *what)
{
    double v = flag ? 1.0 : 0.0;
    mynn_status s = mn_reduce_doubles(red, &v, 1, what);
    *any = v > 0;
    return s;
}
