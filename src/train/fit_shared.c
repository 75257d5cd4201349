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

mynn_status mn_check_augment(const mynn_net *net, const mynn_augment *a)
{
    if (a->crop < 0 || a->flip < 0 || a->flip > 1)
        return mn_error(MYNN_ERR_ARG, "augment: crop must be >= 0 and flip 0 or 1, got %d and %d", a->crop, a->flip);
    if (!a->crop && !a->flip) return MYNN_OK;
    if (net->in_dims != 2)
        return mn_error(MYNN_ERR_ARG, "augment: crop and flip need images (an input shape C×H×W, as --shape 1x28x28)");
    if (a->crop >= net->in_shape.h || a->crop >= net->in_shape.w)
        return mn_error(MYNN_ERR_ARG, "augment: crop=%d is not smaller than the %d×%d image", a->crop,
                        net->in_shape.h, net->in_shape.w);
    return MYNN_OK;
}

/* The draw of the sample at place pos of epoch's order: its own stream,
 * seeded from (seed, epoch, pos) alone. */
static void draw(const mn_fit_work *w, int pos, int *dy, int *dx, int *flip)
{
    mynn_rng r;
    mynn_rng_seed(&r, w->aug_seed ^ 0x5eed0a0900000000ull ^ ((uint64_t)(unsigned)w->epoch << 32) ^ (uint64_t)(unsigned)pos);
    const uint64_t span = 2 * (uint64_t)w->aug.crop + 1;
    *dy = (int)mynn_rng_below(&r, span) - w->aug.crop;
    *dx = (int)mynn_rng_below(&r, span) - w->aug.crop;
    *flip = w->aug.flip ? (int)(mynn_rng_next(&r) >> 63) : 0;
}

/* One image moved by (dy, dx), mirrored when flip, the rest zero: out[c][y][x]
 * = in[c][y + dy][x' + dx] with x' = W-1-x when flipped. */
static void augment_image(const float *in, float *out, mn_shape s, int dy, int dx, int flip)
{
    for (int c = 0; c < s.c; c++)
        for (int y = 0; y < s.h; y++) {
            const int sy = y + dy;
            float *o = out + ((size_t)c * s.h + y) * s.w;
            if (sy < 0 || sy >= s.h) {
                memset(o, 0, (size_t)s.w * sizeof *o);
                continue;
            }
            const float *row = in + ((size_t)c * s.h + sy) * s.w;
            for (int x = 0; x < s.w; x++) {
                const int sx = (flip ? s.w - 1 - x : x) + dx;
                o[x] = sx >= 0 && sx < s.w ? row[sx] : 0.0f;
            }
        }
}

void mn_gather_batch(const mynn_dataset *ds, const mn_fit_work *w, int first, int m,
                     const float *shift, const float *scale, float *xb, float *yb)
{
    const size_t d = (size_t)ds->n_inputs, k = (size_t)ds->n_outputs;
    const int aug = w->aug.crop || w->aug.flip;
    for (int r = 0; r < m; r++) {
        const size_t src = (size_t)w->order[first + r];
        float *row = xb + (size_t)r * d;
        if (aug) {
            int dy, dx, flip;
            draw(w, first + r, &dy, &dx, &flip);
            augment_image(ds->x + src * d, row, w->shape, dy, dx, flip);
            if (shift) mn_shift_scale_block(row, row, shift, scale, 1, (int)d);
        } else if (shift) {
            mn_shift_scale_block(row, ds->x + src * d, shift, scale, 1, (int)d);
        } else {
            memcpy(row, ds->x + src * d, d * sizeof *xb);
        }
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
        mn_gather_batch(train, w, first_row + first, cnt, net->shift, net->scale, xb, w->yb);
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
