/* The int8 model: its records and buffers, and the public entry points
 * (the forward pass itself is qforward.c).  All buffers are allocated by
 * mn_qnet_finish (more thread slots on demand, never during a pass). */
#include "qnet.h"
#include "activations/activation.h"
#include "core/core.h"
#include "kernels/kernels.h"
#include "kernels/qgemm.h"
#include "network/fold.h"
#include "network/network.h"
#include "train/metrics.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

mynn_status mn_qnet_check_layers(const mynn_net *net, const char *who)
{
    for (int i = 0; i < net->n_layers; i++) {
        mynn_layer_kind k = net->layers[i].ops->kind;
        if (k != MYNN_LAYER_DENSE && k != MYNN_LAYER_DROPOUT && k != MYNN_LAYER_FLATTEN &&
            k != MYNN_LAYER_CONV && k != MYNN_LAYER_MAXPOOL && k != MYNN_LAYER_AVGPOOL &&
            k != MYNN_LAYER_GLOBAL_AVGPOOL && k != MYNN_LAYER_BATCHNORM && k != MYNN_LAYER_ACTIVATION)
            return mn_error(MYNN_ERR_ARG, "%s: layer %d (%s) cannot be quantised", who, i,
                            net->layers[i].ops->name);
    }
    if (!net->n_layers || net->layers[net->n_layers - 1].ops->kind != MYNN_LAYER_DENSE)
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

static int is_quantised(const mn_layer *l)
{
    return l->ops->kind == MYNN_LAYER_DENSE || l->ops->kind == MYNN_LAYER_CONV;
}

/* The record of float layer i (dense or conv) with its arrays. */
static mynn_status qlayer_init(mn_qlayer *ql, const mn_layer *l, int i)
{
    int conv = l->ops->kind == MYNN_LAYER_CONV;
    ql->src = i;
    ql->n_in = conv ? l->in_shape.c * l->kh * l->kw : l->n_in;
    ql->n_out = conv ? l->out_shape.c : l->n_out;
    ql->positions = conv ? l->out_shape.h * l->out_shape.w : 1;
    ql->act = l->act;
    if (ql->n_in > MN_QGEMM_MAX_K)
        return mn_error(MYNN_ERR_ARG, "layer %d sums %d inputs, more than the %d an int8 layer "
                        "sums exactly", i, ql->n_in, MN_QGEMM_MAX_K);
    size_t no = (size_t)ql->n_out;
    ql->w = mn_calloc(no * ql->n_in, 1, "int8 weights");
    ql->w_scale = mn_calloc(no, sizeof(float), "weight scales");
    ql->bias = mn_calloc(no, sizeof(float), "bias");
    ql->mult = mn_calloc(no, sizeof(float), "weight scales");
    ql->corr = mn_calloc(no, sizeof(int32_t), "weight sums");
    ql->wp = mn_calloc(mn_qgemm_packed_bytes(ql->n_out, ql->n_in), 1, "packed weights");
    return ql->w && ql->w_scale && ql->bias && ql->mult && ql->corr && ql->wp ? MYNN_OK : MYNN_ERR_NOMEM;
}

mynn_status mn_qnet_alloc(mynn_qnet **out, mynn_net *net)
{
    mynn_qnet *q = calloc(1, sizeof *q);
    if (!q) return mn_error(MYNN_ERR_NOMEM, "out of memory for the int8 model");
    q->net = net;
    for (int i = 0; i < net->n_layers; i++) q->n_layers += is_quantised(&net->layers[i]);
    q->layers = calloc((size_t)(q->n_layers ? q->n_layers : 1), sizeof *q->layers);
    q->qidx = calloc((size_t)(net->n_layers ? net->n_layers : 1), sizeof *q->qidx);
    q->affine = calloc((size_t)(net->n_layers ? net->n_layers : 1), sizeof *q->affine);
    mynn_status s = q->layers && q->qidx && q->affine ? MYNN_OK : mn_error(MYNN_ERR_NOMEM, "out of memory for the int8 model");
    for (int i = 0, k = 0; i < net->n_layers && !s; i++) {
        q->qidx[i] = is_quantised(&net->layers[i]) ? k : -1;
        if (q->qidx[i] >= 0) s = qlayer_init(&q->layers[k++], &net->layers[i], i);
        if (net->layers[i].ops->kind == MYNN_LAYER_BATCHNORM &&
            !(q->affine[i] = mn_calloc(2 * (size_t)net->layers[i].in_shape.c, sizeof(float), "batch norm")))
            s = MYNN_ERR_NOMEM;
    }
    if (s) {
        for (int i = 0; q->affine && i < net->n_layers; i++) free(q->affine[i]);
        free(q->affine);
        q->affine = NULL;
        q->net = NULL;   /* the caller still owns net on failure */
        mynn_qnet_free(q);
        return s;
    }
    *out = q;
    return MYNN_OK;
}

/* Scratch a chunk aims to fit in: a core's share of cache, so a chunk runs
 * through all the layers without going back to memory. */
#define CHUNK_BYTES ((size_t)768 << 10)
#define CHUNK_MAX 128

/* Per-sample scratch sizes and the chunk. */
static void scratch_sizes(mynn_qnet *q)
{
    const mynn_net *net = q->net;
    size_t fw = (size_t)net->n_inputs, qw = 4, rw = 4, aw = 1;
    for (int i = 0; i < net->n_layers; i++) {
        const mn_layer *l = &net->layers[i];
        if ((size_t)l->n_out > fw) fw = (size_t)l->n_out;
        if (q->qidx[i] < 0) continue;
        const mn_qlayer *ql = &q->layers[q->qidx[i]];
        size_t rows = (size_t)ql->positions * mn_qgemm_kpad(ql->n_in), sums = (size_t)ql->positions * ql->n_out;
        size_t padded = (size_t)l->in_shape.c * (l->in_shape.h + 2 * l->ph) * (l->in_shape.w + 2 * l->pw);
        if (l->ops->kind == MYNN_LAYER_CONV && padded > qw) qw = padded;
        if (rows > rw) rw = rows;
        if (sums > aw) aw = sums;
    }
    q->fw = fw;
    q->qw = (qw + 63) & ~(size_t)63;
    q->rw = (rw + 63) & ~(size_t)63;
    q->aw = aw;
    size_t per = 8 * fw + q->rw + 4 * aw, c = CHUNK_BYTES / per;   /* qin: one image */
    q->chunk = c < 1 ? 1 : c > CHUNK_MAX ? CHUNK_MAX : (int)c;
    if (q->chunk > q->max_batch) q->chunk = q->max_batch;
}

static void free_slots(mynn_qnet *q)
{
    for (int t = 0; t < q->n_slots; t++) {
        free(q->slots[t].f[0]);
        free(q->slots[t].f[1]);
        free(q->slots[t].qin);
        free(q->slots[t].qx);
        free(q->slots[t].acc);
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
        sl[t].f[0] = mn_calloc(c * q->fw, sizeof(float), "int8 buffers");
        sl[t].f[1] = mn_calloc(c * q->fw, sizeof(float), "int8 buffers");
        sl[t].qin = mn_calloc(q->qw, 1, "int8 buffers");
        sl[t].qx = mn_calloc(c * q->rw, 1, "int8 buffers");
        sl[t].acc = mn_calloc(c * q->aw, sizeof(int32_t), "int8 buffers");
        if (!sl[t].f[0] || !sl[t].f[1] || !sl[t].qin || !sl[t].qx || !sl[t].acc) {
            free_slots(q);
            return MYNN_ERR_NOMEM;
        }
    }
    return MYNN_OK;
}

mynn_status mn_qnet_finish(mynn_qnet *q, int max_batch)
{
    mynn_net *net = q->net;
    for (int i = 0; i < q->n_layers; i++) {
        mn_qlayer *l = &q->layers[i];
        l->in_inv = 1.0f / l->in_scale;
        for (int o = 0; o < l->n_out; o++) l->mult[o] = l->in_scale * l->w_scale[o];
        mn_qgemm_pack(l->w, l->n_out, l->n_in, l->wp, l->corr);
        /* the float view: dequantised weights, the same bias */
        mn_layer *fl = &net->layers[l->src];
        for (int o = 0; o < l->n_out; o++) {
            for (int k = 0; k < l->n_in; k++)
                fl->param[(size_t)o * l->n_in + k] = l->w_scale[o] * l->w[(size_t)o * l->n_in + k];
            fl->param[(size_t)l->n_out * l->n_in + o] = l->bias[o];
        }
    }
    for (int i = 0; i < net->n_layers; i++)
        if (q->affine[i]) mn_bn_affine(&net->layers[i], q->affine[i], q->affine[i] + net->layers[i].in_shape.c);
    size_t b = (size_t)max_batch, k = (size_t)mynn_n_outputs(net);
    q->max_batch = max_batch;
    scratch_sizes(q);
    q->out = mn_calloc(b * k, sizeof(float), "int8 buffers");
    q->z = mn_calloc(b * k, sizeof(float), "int8 buffers");
    if (!q->out || !q->z) return MYNN_ERR_NOMEM;
    return mn_qnet_slots(q, mn_threads());
}

void mynn_qnet_free(mynn_qnet *q)
{
    if (!q) return;
    for (int i = 0; i < q->n_layers; i++) {
        mn_qlayer *l = &q->layers[i];
        free(l->w);
        free(l->w_scale);
        free(l->bias);
        free(l->mult);
        free(l->wp);
        free(l->corr);
    }
    free(q->layers);
    for (int i = 0; q->affine && q->net && i < q->net->n_layers; i++) free(q->affine[i]);
    free(q->affine);
    free(q->qidx);
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
    const mn_qlayer *last = &q->layers[q->n_layers - 1];
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
    for (int i = 0; i < q->n_layers; i++)
        if (q->layers[i].src == layer) {
            if (in_scale) *in_scale = q->layers[i].in_scale;
            if (w_scale) *w_scale = q->layers[i].w_scale;
            return MYNN_OK;
        }
    return mn_error(MYNN_ERR_ARG, "layer %d is not a dense or conv layer of the int8 model", layer);
}
