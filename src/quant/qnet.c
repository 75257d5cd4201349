/* The int8 model: its nodes' int8 forms and buffers, and the public entry
 * points (the forward pass itself is qforward.c).  All buffers are
 * allocated by mn_qnet_finish (more thread slots on demand, never during a
 * pass). */
#include "qnet.h"
#include "activations/activation.h"
#include "core/core.h"
#include "kernels/kernels.h"
#include "kernels/qgemm.h"
#include "network/network.h"
#include "train/metrics.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

mynn_status mn_qnet_check_layers(const mynn_net *net, const char *who)
{
    for (int i = 0; i < net->n_layers; i++)
        if (net->layers[i].kind->q_role == MN_Q_REFUSE)
            return mn_error(MYNN_ERR_ARG, "%s: layer %d (%s) cannot be quantised", who, i,
                            net->layers[i].kind->name);
    if (!net->n_layers || net->layers[net->n_layers - 1].kind->id != MYNN_LAYER_DENSE)
        return mn_error(MYNN_ERR_ARG, "%s: the last layer must be dense to be quantised", who);
    return MYNN_OK;
}

mynn_status mn_qnet_shape(mynn_net **out, int n_inputs, int dims, const int shape[3],
                          const char *spec, mynn_loss loss)
{
    mynn_status s = mynn_create(out, n_inputs);
    if (s) return s;
    if (dims == 2) s = mynn_set_input_shape(*out, shape[0], shape[1], shape[2]);
    else if (dims == 1) s = mynn_set_input_shape_1d(*out, shape[0], shape[2]);
    if (!s) s = mynn_add_layers(*out, spec);
    if (!s) s = mynn_set_loss(*out, loss);
    if (!s) s = mynn_build(*out, 1, MYNN_INIT_AUTO, 0);
    if (s) {
        mynn_free(*out);
        *out = NULL;
    }
    return s;
}

static void qweights_free(mn_qweights *w)
{
    if (!w) return;
    free(w->w);
    free(w->w_scale);
    free(w->bias);
    free(w->mult);
    free(w->wp);
    free(w->corr);
    free(w);
}

/* The int8 form of node l (its kind quantises weights), with its arrays. */
static mynn_status qweights_new(const mn_layer *l, mn_qweights **out)
{
    mn_qweights *w = calloc(1, sizeof *w);
    if (!w) return mn_error(MYNN_ERR_NOMEM, "out of memory for the int8 model");
    *out = w;
    l->kind->q_shape(l, w);
    if (w->n_in > MN_QGEMM_MAX_K)
        return mn_error(MYNN_ERR_ARG, "layer %d sums %d inputs, more than the %d an int8 layer "
                        "sums exactly", l->id, w->n_in, MN_QGEMM_MAX_K);
    size_t no = (size_t)w->n_out;
    w->w = mn_calloc(no * w->n_in, 1, "int8 weights");
    w->w_scale = mn_calloc(no, sizeof(float), "weight scales");
    w->bias = mn_calloc(no, sizeof(float), "bias");
    w->mult = mn_calloc(no, sizeof(float), "weight scales");
    w->corr = mn_calloc(no, sizeof(int32_t), "weight sums");
    w->wp = mn_calloc(mn_qgemm_packed_bytes(w->n_out, w->n_in), 1, "packed weights");
    return w->w && w->w_scale && w->bias && w->mult && w->corr && w->wp ? MYNN_OK : MYNN_ERR_NOMEM;
}

static void free_forms(mn_qweights **forms, int n)
{
    for (int i = 0; forms && i < n; i++) qweights_free(forms[i]);
    free(forms);
}

mynn_status mn_qnet_alloc(mynn_qnet **out, mynn_net *net)
{
    mynn_qnet *q = calloc(1, sizeof *q);
    mn_qweights **forms = calloc((size_t)(net->n_layers ? net->n_layers : 1), sizeof *forms);
    mynn_status s = q && forms ? MYNN_OK : mn_error(MYNN_ERR_NOMEM, "out of memory for the int8 model");
    for (int i = 0; i < net->n_layers && !s; i++)
        if (net->layers[i].kind->q_role == MN_Q_WEIGHTS) s = qweights_new(&net->layers[i], &forms[i]);
    if (s) {
        free_forms(forms, net->n_layers);
        free(q);   /* the caller still owns net on failure */
        return s;
    }
    q->net = net;
    q->q = forms;
    *out = q;
    return MYNN_OK;
}

/* Scratch a chunk aims to fit in: a core's share of cache, so a chunk runs
 * through all the nodes without going back to memory. */
#define CHUNK_BYTES ((size_t)768 << 10)
#define CHUNK_MAX 128

/* The buffer plan (identities are their input, activation-like nodes may
 * work in place; the transformed input is in the arena when a float node
 * reads it), the products' scratch sizes, and the chunk. */
static mynn_status plan_buffers(mynn_qnet *q)
{
    const mynn_net *net = q->net;
    q->role = calloc((size_t)net->n_layers, sizeof *q->role);
    q->ofs = calloc((size_t)net->n_layers, sizeof *q->ofs);
    if (!q->role || !q->ofs) return mn_error(MYNN_ERR_NOMEM, "out of memory for int8 buffers");
    int float_reads_input = 0;
    size_t rows = 4, acc = 1, image = 4;
    for (int i = 0; i < net->n_layers; i++) {
        const mn_layer *l = &net->layers[i];
        q->role[i] = l->kind->c_identity ? MN_PLAN_ALIAS : q->q[i] || !l->kind->c_in_place ? MN_PLAN_COMPUTE
                                                                                          : MN_PLAN_IN_PLACE;
        for (int j = 0; j < l->n_src; j++) float_reads_input |= l->src[j] == MN_NET_INPUT && !q->q[i];
        const mn_qweights *w = q->q[i];
        if (!w) continue;
        size_t r = (size_t)w->positions * mn_qgemm_kpad(w->n_in), a = (size_t)w->positions * w->n_out;
        if (r > rows) rows = r;
        if (a > acc) acc = a;
        if (w->image > image) image = w->image;
    }
    mynn_status s = mn_plan_outputs(net, q->role, float_reads_input && net->shift && net->scale, q->ofs,
                                    &q->input_ofs, &q->arena);
    if (s) return s;
    q->rows = (rows + 63) & ~(size_t)63;
    q->acc = acc;
    q->image = (image + 63) & ~(size_t)63;
    size_t per = 4 * q->arena + q->rows + 4 * q->acc, c = CHUNK_BYTES / per;
    q->chunk = c < 1 ? 1 : c > CHUNK_MAX ? CHUNK_MAX : (int)c;
    if (q->chunk > q->max_batch) q->chunk = q->max_batch;
    return MYNN_OK;
}

static void free_slots(mynn_qnet *q)
{
    for (int t = 0; t < q->n_slots; t++) {
        free(q->slots[t].arena);
        free(q->slots[t].s.image);
        free(q->slots[t].s.rows);
        free(q->slots[t].s.acc);
    }
    free(q->slots);
    q->slots = NULL;
    q->n_slots = 0;
}

mynn_status mn_qnet_slots(mynn_qnet *q, int n)
{
    if (n <= q->n_slots) return MYNN_OK;
    mn_qslot *sl = calloc((size_t)n, sizeof *sl);
    if (!sl) return mn_error(MYNN_ERR_NOMEM, "out of memory for int8 buffers");
    size_t c = (size_t)q->chunk;
    free_slots(q);
    q->slots = sl;
    q->n_slots = n;
    for (int t = 0; t < n; t++) {
        sl[t].arena = mn_calloc(c * q->arena, sizeof(float), "int8 buffers");
        sl[t].s.image = mn_calloc(q->image, 1, "int8 buffers");
        sl[t].s.rows = mn_calloc(c * q->rows, 1, "int8 buffers");
        sl[t].s.acc = mn_calloc(c * q->acc, sizeof(int32_t), "int8 buffers");
        if (!sl[t].arena || !sl[t].s.image || !sl[t].s.rows || !sl[t].s.acc) {
            free_slots(q);
            return MYNN_ERR_NOMEM;
        }
    }
    return MYNN_OK;
}

mynn_status mn_qnet_finish(mynn_qnet *q, int max_batch)
{
    mynn_net *net = q->net;
    for (int i = 0; i < net->n_layers; i++) {
        mn_qweights *w = q->q[i];
        if (!w) continue;
        w->in_inv = 1.0f / w->in_scale;
        for (int o = 0; o < w->n_out; o++) w->mult[o] = w->in_scale * w->w_scale[o];
        mn_qgemm_pack(w->w, w->n_out, w->n_in, w->wp, w->corr);
        /* the float view: dequantised weights, the same bias */
        mn_layer *fl = &net->layers[i];
        for (int o = 0; o < w->n_out; o++) {
            for (int k = 0; k < w->n_in; k++)
                fl->param[(size_t)o * w->n_in + k] = w->w_scale[o] * w->w[(size_t)o * w->n_in + k];
            fl->param[(size_t)w->n_out * w->n_in + o] = w->bias[o];
        }
    }
    size_t b = (size_t)max_batch, k = (size_t)mynn_n_outputs(net);
    q->max_batch = max_batch;
    mynn_status s = plan_buffers(q);
    if (s) return s;
    q->out = mn_calloc(b * k, sizeof(float), "int8 buffers");
    q->z = mn_calloc(b * k, sizeof(float), "int8 buffers");
    if (!q->out || !q->z) return MYNN_ERR_NOMEM;
    return mn_qnet_slots(q, mn_threads());
}

void mynn_qnet_free(mynn_qnet *q)
{
    if (!q) return;
    free_forms(q->q, q->net ? q->net->n_layers : 0);
    free(q->role);
    free(q->ofs);
    free_slots(q);
    free(q->out);
    free(q->z);
    mynn_free(q->net);
    free(q);
}

mynn_status mynn_qnet_predict(mynn_qnet *q, const float *x, int n, float *y)
{
    if (!q || !x || !y) return mn_error(MYNN_ERR_NULL, "mynn_qnet_predict: NULL argument");
    if (n < 1) return mn_error(MYNN_ERR_SHAPE, "mynn_qnet_predict: %d samples", n);
    int d = q->net->n_inputs, k = mynn_n_outputs(q->net);
    for (int done = 0; done < n;) {
        int m = n - done < q->max_batch ? n - done : q->max_batch;
        size_t at;
        mynn_status s = mn_qforward(q, x + (size_t)done * d, m, &at);
        if (s == MYNN_ERR_NUMERIC) {
            at += (size_t)done * d;
            return mn_error(s, "mynn_qnet_predict: input sample %zu feature %zu is %s", at / d, at % d,
                            isnan(x[at]) ? "NaN" : "infinite");
        }
        if (s) return s;
        memcpy(y + (size_t)done * k, q->out, (size_t)m * k * sizeof *y);
        done += m;
    }
    return MYNN_OK;
}

mynn_status mynn_qnet_evaluate(mynn_qnet *q, const mynn_dataset *ds, mynn_metrics *m, int *confusion)
{
    if (!q || !ds || !m) return mn_error(MYNN_ERR_NULL, "mynn_qnet_evaluate: NULL argument");
    int d = q->net->n_inputs, k = mynn_n_outputs(q->net);
    mynn_status s = mn_metrics_check(ds, d, k, "mynn_qnet_evaluate");
    if (s) return s;
    const mn_layer *last = &q->net->layers[q->net->n_layers - 1];
    mn_metrics_acc acc;
    mn_metrics_begin(&acc, ds, k, confusion);
    for (int done = 0; done < ds->n;) {
        int c = ds->n - done < q->max_batch ? ds->n - done : q->max_batch;
        size_t at;
        s = mn_qforward(q, ds->x + (size_t)done * d, c, &at);
        if (s == MYNN_ERR_NUMERIC) {
            at += (size_t)done * d;
            return mn_error(s, "mynn_qnet_evaluate: sample %zu feature %zu is not finite", at / d, at % d);
        }
        if (s) return s;
        mn_metrics_add(&acc, ds, done, c, q->net->loss, last->act, q->z, q->out);
        done += c;
    }
    mn_metrics_end(&acc, ds, m);
    return MYNN_OK;
}

const mynn_net *mynn_qnet_float(const mynn_qnet *q) { return q ? q->net : NULL; }

mynn_status mynn_qnet_layer_scales(const mynn_qnet *q, int layer, float *in_scale,
                                   const float **w_scale)
{
    if (!q) return mn_error(MYNN_ERR_NULL, "mynn_qnet_layer_scales: NULL model");
    if (layer >= 0 && layer < q->net->n_layers && q->q[layer]) {
        if (in_scale) *in_scale = q->q[layer]->in_scale;
        if (w_scale) *w_scale = q->q[layer]->w_scale;
        return MYNN_OK;
    }
    return mn_error(MYNN_ERR_ARG, "layer %d is not a dense or conv layer of the int8 model", layer);
}
