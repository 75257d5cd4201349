/* Running the graph: forward in node order, backward in reverse, and the
 * plan of backward's gradient buffers made once at build.
 *
 * Forward: each node reads its inputs' outputs (or the network input) and
 * writes its own output buffer; every output stays until backward, which
 * reads them.
 *
 * Backward walks the nodes in reverse.  Node i reads dC/d(its output)
 * from its gradient buffer g_i and writes dC/d(its inputs).  An input read
 * by several nodes (fan-out: a residual's shortcut) gets the sum: the
 * first of its readers in backward order writes g_src itself, each later
 * one writes scratch that is then added to g_src, always in the same
 * order, so the sum is the same bits for every thread count.
 *
 * The gradient buffers are planned by lifetime, not one per node: g_i
 * lives from the step of its first writer to node i's own step, a scratch
 * for one step, and buffers whose lifetimes do not meet share memory
 * (first fit).  For a plain sequence this is the two-buffer ping-pong. */
#include "network.h"
#include "core/core.h"
#include "kernels/kernels.h"
#include "losses/loss.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define NO_SCRATCH ((size_t)-1)
#define ALIGN_FLOATS 16   /* 64 bytes */

const float *mn_node_output(const mynn_net *net, int i)
{
    return i == MN_NET_INPUT ? net->last_x : net->layers[i].out;
}

/* ------------------------------------------------------------------------ */
/* The plan of backward's buffers                                           */
/* ------------------------------------------------------------------------ */

/* A buffer live over the backward times [born, dies] (time 0 is the loss,
 * node i's step is n_layers - i), and whose it is: owner >= 0 the node
 * whose gradient it is, else -1 - the route of a scratch. */
typedef struct life {
    mn_span span;
    int owner;
} life;

static int by_birth(const void *a, const void *b)
{
    const life *x = a, *y = b;
    if (x->span.born != y->span.born) return (x->span.born > y->span.born) - (x->span.born < y->span.born);
    if (x->span.dies != y->span.dies) return (x->span.dies > y->span.dies) - (x->span.dies < y->span.dies);
    return (x->owner > y->owner) - (x->owner < y->owner);
}

/* The routes of every node's inputs and the lifetimes of the buffers
 * (lives: n_layers gradients, then one per scratch), for max_batch
 * samples.  Returns the number of buffers, -1 when out of memory. */
static int plan_lives(const mynn_net *net, int max_batch, mn_dx_route *route, life *lives)
{
    const int N = net->n_layers;
    int nb = N;
    for (int i = 0; i < N; i++)
        lives[i] = (life){{(size_t)max_batch * net->layers[i].n_out, 0, i == N - 1 ? 0 : N + 1, N - i}, i};
    /* the first writer of each gradient: its reader with the highest id
     * (the first in backward order), in its first slot */
    char *written = calloc((size_t)N + 1, 1);   /* index: node id + 1 */
    if (!written) return -1;
    for (int i = N - 1; i >= 0; i--) {
        const mn_layer *l = &net->layers[i];
        for (int j = 0; j < l->n_src; j++) {
            const int s = l->src[j], r = i * MN_MAX_INPUTS + j;
            route[r].into = s;
            route[r].scratch = NO_SCRATCH;
            if (!written[s + 1]) {
                written[s + 1] = 1;
                if (s >= 0) lives[s].span.born = N - i;
                continue;
            }
            size_t width = (size_t)(s >= 0 ? net->layers[s].n_out : net->n_inputs);
            lives[nb++] = (life){{(size_t)max_batch * width, 0, N - i, N - i}, -1 - r};
        }
    }
    free(written);
    return nb;
}

/* Offsets of every node's gradient (gofs) and of every scratch (in the
 * routes); returns the arena's floats, or (size_t)-1 when out of memory. */
static size_t plan_backward(const mynn_net *net, int max_batch, size_t *gofs, mn_dx_route *route)
{
    const size_t most = (size_t)net->n_layers * (MN_MAX_INPUTS + 1);
    life *lives = calloc(most, sizeof *lives);
    mn_span *spans = calloc(most, sizeof *spans);
    int nb = lives && spans ? plan_lives(net, max_batch, route, lives) : -1;
    if (nb < 0) {
        free(lives);
        free(spans);
        return (size_t)-1;
    }
    qsort(lives, (size_t)nb, sizeof *lives, by_birth);
    for (int k = 0; k < nb; k++) spans[k] = lives[k].span;
    size_t total = mn_first_fit(spans, nb, ALIGN_FLOATS);
    for (int k = 0; k < nb; k++) {
        if (lives[k].owner >= 0) gofs[lives[k].owner] = spans[k].at;
        else route[-1 - lives[k].owner].scratch = spans[k].at;
    }
    free(lives);
    free(spans);
    return total;
}

mynn_status mn_build_sizes_of(const mynn_net *net, int max_batch, mn_build_sizes *z)
{
    memset(z, 0, sizeof *z);
    size_t t;
    for (int i = 0; i < net->n_layers; i++) {
        const mn_layer *l = &net->layers[i];
        size_t per_sample = (size_t)l->n_out + mn_layer_cache(l);
        if (mn_mul_size(per_sample, (size_t)max_batch, &t) || z->n_acts + t < z->n_acts)
            return mn_error(MYNN_ERR_NOMEM, "mynn_build: activation size overflows");
        z->n_acts += t;
        z->n_params += mn_layer_params(l);
        z->n_buffers += mn_layer_buffers(l);
        z->n_aux += mn_layer_aux(l);
        size_t w = mn_layer_work(l, max_batch);
        if (w > z->n_work) z->n_work = w;
        if (z->n_params + z->n_buffers > MN_MAX_ELEMS || z->n_acts > MN_MAX_ELEMS || z->n_work > MN_MAX_ELEMS)
            return mn_error(MYNN_ERR_NOMEM, "mynn_build: the network exceeds %zu floats in one buffer",
                            (size_t)MN_MAX_ELEMS);
    }
    return MYNN_OK;
}

mynn_status mn_plan_gradients(mynn_net *net, int max_batch, size_t *total)
{
    net->gofs = calloc((size_t)net->n_layers, sizeof *net->gofs);
    net->route = calloc((size_t)net->n_layers * MN_MAX_INPUTS, sizeof *net->route);
    if (!net->gofs || !net->route) return mn_error(MYNN_ERR_NOMEM, "out of memory planning the gradients");
    *total = plan_backward(net, max_batch, net->gofs, net->route);
    if (*total == (size_t)-1) return mn_error(MYNN_ERR_NOMEM, "out of memory planning the gradients");
    if (*total > MN_MAX_ELEMS)
        return mn_error(MYNN_ERR_NOMEM, "mynn_build: the gradient buffers exceed %zu floats", (size_t)MN_MAX_ELEMS);
    return MYNN_OK;
}

/* ------------------------------------------------------------------------ */
/* Forward                                                                   */
/* ------------------------------------------------------------------------ */

const float *mn_forward(mynn_net *net, const float *x, int n, int training)
{
    if (net->shift) {
        mn_shift_scale_rows(net->xin, x, net->shift, net->scale, n, net->n_inputs);
        x = net->xin;
    }
    return mn_forward_transformed(net, x, n, training);
}

const float *mn_forward_transformed(mynn_net *net, const float *x, int n, int training)
{
    MN_TEAM_SOLO(net->last_x = x);
    for (int i = 0; i < net->n_layers; i++) {
        mn_layer *l = &net->layers[i];
        const float *in[MN_MAX_INPUTS];
        for (int j = 0; j < l->n_src; j++) in[j] = l->src[j] == MN_NET_INPUT ? x : net->layers[l->src[j]].out;
        l->kind->forward(l, in, l->out, n, training);
    }
    return net->layers[net->n_layers - 1].out;
}

void mn_net_skip_rows(mynn_net *net, int rows)
{
    for (int i = 0; i < net->n_layers && rows > 0; i++) {
        mn_layer *l = &net->layers[i];
        if (l->kind->skip_rows) l->kind->skip_rows(l, rows);
    }
}

/* ------------------------------------------------------------------------ */
/* Backward                                                                  */
/* ------------------------------------------------------------------------ */

/* dst[0..count) += src (split in a team; each element's sum is fixed). */
static void accumulate(float *dst, const float *src, size_t count)
{
    MN_FOR_SHARE(count, count >= 16384 ? mn_threads() : 1, lo, hi,
                 for (size_t k = lo; k < hi; k++) dst[k] += src[k]);
}

/* Where node i's input j's gradient goes this step: its gradient buffer
 * (or the caller's dx_in for the network input, NULL when not wanted),
 * or the scratch to add to it afterwards. */
static float *dx_target(mynn_net *net, int i, int j, float *dx_in)
{
    const mn_dx_route *r = &net->route[(size_t)i * MN_MAX_INPUTS + j];
    float *into = r->into == MN_NET_INPUT ? dx_in : net->gbuf + net->gofs[r->into];
    if (!into) return NULL;
    return r->scratch == NO_SCRATCH ? into : net->gbuf + r->scratch;
}

/* The loop of mn_backward_dx and mn_backward_update. */
static void backward_run(mynn_net *net, const float *y, int n, float *dx_in, const mn_update *u, double *loss)
{
    const int N = net->n_layers;
    mn_layer *last = &net->layers[N - 1];
    float *g_last = net->gbuf + net->gofs[N - 1];
    const int fused = mn_loss_fused(net->loss, last->act);
    MN_TEAM_SOLO({
        /* A sequence output: a row per step (cross-entropy over every step, averaged as PyTorch's) */
        const int steps = mn_layer_steps(last);
        const int rows = n * steps, cols = last->n_out / steps;
        if (mn_net_target_ids(net)) {
            *loss = mn_loss_value_ids(last->cache, last->out, y, rows, cols);
            mn_loss_grad_ids(last->out, y, rows, cols, g_last);
        } else {
            *loss = mn_loss_value(net->loss, last->act, last->cache, last->out, y, rows, cols);
            mn_loss_grad(net->loss, last->act, last->out, y, rows, cols, g_last);
        }
    });
    if (!isfinite(*loss)) u = NULL;   /* diverged: the caller restores the epoch's start */
    for (int i = N - 1; i >= 0; i--) {
        mn_layer *l = &net->layers[i];
        const float *x[MN_MAX_INPUTS];
        float *dx[MN_MAX_INPUTS];
        for (int j = 0; j < l->n_src; j++) {
            x[j] = mn_node_output(net, l->src[j]);
            dx[j] = dx_target(net, i, j, dx_in);
        }
        float *dy = net->gbuf + net->gofs[i];
        const int dz = fused && i == N - 1;
        const size_t off = (size_t)(l->param - net->params), np = mn_layer_params(l);
        /* A node's own fused op runs outside a team; in one, backward and
         * the team-split update, equal to it by the op's contract. */
        if (u && l->kind->backward_update && mn_team_size() <= 1) {
            l->kind->backward_update(l, x[0], l->out, dy, dz, dx[0], n, u, off);
        } else {
            l->kind->backward(l, x, l->out, dy, dz, dx, n);
            if (u && np) mn_k_update(u, l->param, l->grad, off, np);
        }
        for (int j = 0; j < l->n_src; j++) {
            const mn_dx_route *r = &net->route[(size_t)i * MN_MAX_INPUTS + j];
            if (r->scratch == NO_SCRATCH || !dx[j]) continue;
            float *into = r->into == MN_NET_INPUT ? dx_in : net->gbuf + net->gofs[r->into];
            int width = r->into == MN_NET_INPUT ? net->n_inputs : net->layers[r->into].n_out;
            accumulate(into, dx[j], (size_t)n * width);
        }
    }
}

double mn_backward(mynn_net *net, const float *y, int n) { return mn_backward_dx(net, y, n, NULL); }

double mn_backward_dx(mynn_net *net, const float *y, int n, float *dx_in)
{
    double loss = 0.0;
    backward_run(net, y, n, dx_in, NULL, &loss);
    return loss;
}

void mn_backward_update(mynn_net *net, const float *y, int n, const mn_update *u, double *loss)
{
    backward_run(net, y, n, NULL, u, loss);
}
