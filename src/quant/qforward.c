/* The int8 forward pass over the graph, c samples of a chunk at a time:
 * each node whose weights are quantised runs its kind's qforward (the
 * input quantised to int8 with the node's scale, exact int32 sums, then
 * z = sum · in_scale · w_scale[o] + b[o] and the activation in float: see
 * layers/dense.c, layers/conv.c); every other node its kind's float
 * inference (infer, or qinfer: a batch norm that did not fold is
 * y = x·s[c] + t[c]); dropout and flatten are their input.  Node outputs
 * live in the chunk's arena as network/plan.c places them.  The network
 * input's transform (x - shift) · scale is applied as a quantised node
 * quantises it, or into the arena when a float node reads the input.
 *
 * Threads: one parallel region per call; the batch is cut into chunks of
 * q->chunk samples (sized to stay in cache) and each thread takes whole
 * chunks through every node in its own scratch slot.  A sample's result
 * depends on nothing but the sample (exact integer sums, per-sample float
 * loops), so every thread count and chunking gives the same bits. */
#include "qnet.h"
#include "core/core.h"
#include "kernels/kernels.h"
#include "network/network.h"

#include <math.h>
#include <string.h>

/* Below this many multiply-adds in a call one thread is faster. */
#define PAR_MIN (1L << 21)

/* Where value v (a node's output, or the input) of this chunk lies. */
static const float *value(const mn_qslot *sl, const float *x, long o, int c)
{
    return o == MN_PLAN_INPUT ? x : sl->arena + (size_t)o * (size_t)c;
}

/* c samples x [c × n_inputs] through every node; the last node writes
 * z and y [c × n_outputs]. */
static void chunk_forward(const mynn_qnet *q, const mn_qslot *sl, const float *x, int c, float *z, float *y)
{
    const mynn_net *net = q->net;
    const float *shift = net->shift && net->scale ? net->shift : NULL, *scale = shift ? net->scale : NULL;
    if (shift && q->input_ofs != MN_PLAN_INPUT) {   /* a float node reads the input: transform it first */
        float *t = sl->arena + (size_t)q->input_ofs * c;
        mn_shift_scale_block(t, x, shift, scale, c, net->n_inputs);
        x = t;
        shift = scale = NULL;
    }
    for (int i = 0; i < net->n_layers; i++) {
        const mn_layer *l = &net->layers[i];
        if (q->role[i] == MN_PLAN_ALIAS) continue;
        const float *in[MN_MAX_INPUTS];
        int raw = 0;
        for (int j = 0; j < l->n_src; j++) {
            long o = l->src[j] == MN_NET_INPUT ? q->input_ofs : q->ofs[l->src[j]];
            raw |= o == MN_PLAN_INPUT;
            in[j] = value(sl, x, o, c);
        }
        const int last = i == net->n_layers - 1;
        float *out = last ? y : sl->arena + (size_t)q->ofs[i] * c;
        if (q->q[i])
            l->kind->qforward(l, q->q[i], &sl->s, in[0], raw ? shift : NULL, raw ? scale : NULL, c,
                              last ? z : out, out);
        else if (l->kind->qinfer)
            l->kind->qinfer(l, in, out, c);
        else
            l->kind->infer(l, in, out, c);
    }
}

mynn_status mn_qforward(mynn_qnet *q, const float *x, int n, size_t *bad_at)
{
    const int d = q->net->n_inputs, k = mynn_n_outputs(q->net);
    int chunks = (n + q->chunk - 1) / q->chunk;
    long macs = 0;
    for (int i = 0; i < q->net->n_layers; i++)
        if (q->q[i]) macs += (long)q->q[i]->positions * q->q[i]->n_in * q->q[i]->n_out;
    int nt = (double)macs * n >= (double)PAR_MIN ? mn_threads() : 1;
    if (nt > n) nt = n;
    /* as many chunks for every thread, each at most q->chunk samples */
    chunks = (chunks + nt - 1) / nt * nt;
    const int ch = (n + chunks - 1) / chunks;
    chunks = (n + ch - 1) / ch;
    mynn_status s = mn_qnet_slots(q, nt);
    if (s) return s;
    size_t bad = (size_t)-1;   /* the first non-finite input value, if any */
#pragma omp parallel for num_threads(nt) if(nt > 1) schedule(static)
    for (int b = 0; b < chunks; b++) {
        int t, team;
        mn_thread_id(&t, &team);
        int r0 = b * ch, c = n - r0 < ch ? n - r0 : ch;
        size_t at;
        /* checked here, chunk by chunk, so the quantiser finds the rows in cache */
        if (mn_find_nonfinite(x + (size_t)r0 * d, (size_t)c * d, &at)) {
#pragma omp critical(mn_qforward_bad)
            if ((size_t)r0 * d + at < bad) bad = (size_t)r0 * d + at;
            continue;
        }
        chunk_forward(q, &q->slots[t], x + (size_t)r0 * d, c, q->z + (size_t)r0 * k,
                      q->out + (size_t)r0 * k);
    }
    if (bad != (size_t)-1) {
        *bad_at = bad;
        return MYNN_ERR_NUMERIC;
    }
    return MYNN_OK;
}
