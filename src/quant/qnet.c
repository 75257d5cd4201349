/* Running an int8 model.  Per dense layer, for a batch of n rows:
 *   q   = round(x / in_scale) + 128             x: [n × in] -> q: [n × kpad] uint8
 *   acc = sum_k (q - 128) · w                   int32 [n × out] (mn_qgemm)
 *   z   = acc · (in_scale · w_scale[o]) + b[o]  float
 *   y   = f(z)                                  float, the next layer's x
 * (the first layer's x being the transformed input (x - shift) · scale).
 * All buffers are allocated once by mn_qnet_finish. */
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
    for (int i = 0; i < net->n_layers; i++) {
        mynn_layer_kind k = net->layers[i].ops->kind;
        if (k != MYNN_LAYER_DENSE && k != MYNN_LAYER_DROPOUT && k != MYNN_LAYER_FLATTEN)
            return mn_error(MYNN_ERR_ARG, "%s: layer %d (%s) cannot be quantised yet", who, i,
                            net->layers[i].ops->name);
    }
    return MYNN_OK;
}

mynn_status mn_qnet_shape(mynn_net **out, int n_inputs, const char *spec, mynn_loss loss)
{
    mynn_status s = mynn_create(out, n_inputs);
    if (s) return s;
    s = mynn_add_layers(*out, spec);
    if (!s) s = mynn_set_loss(*out, loss);
    if (!s) s = mynn_build(*out, 1, MYNN_INIT_AUTO, 0);
    if (s) {
        mynn_free(*out);
        *out = NULL;
    }
    return s;
}

mynn_status mn_qnet_alloc(mynn_qnet **out, mynn_net *net)
{
    mynn_qnet *q = calloc(1, sizeof *q);
    if (!q) return mn_error(MYNN_ERR_NOMEM, "out of memory for the int8 model");
    q->net = net;
    for (int i = 0; i < net->n_layers; i++) q->n_layers += net->layers[i].ops->kind == MYNN_LAYER_DENSE;
    q->layers = calloc((size_t)(q->n_layers ? q->n_layers : 1), sizeof *q->layers);
    if (!q->layers) {
        free(q);
        return mn_error(MYNN_ERR_NOMEM, "out of memory for the int8 model");
    }
    int k = 0;
    mynn_status s = MYNN_OK;
    for (int i = 0; i < net->n_layers && !s; i++) {
        const mn_layer *l = &net->layers[i];
        if (l->ops->kind != MYNN_LAYER_DENSE) continue;
        mn_qlayer *ql = &q->layers[k++];
        ql->src = i;
        ql->n_in = l->n_in;
        ql->n_out = l->n_out;
        ql->act = l->act;
        if (l->n_in > MN_QGEMM_MAX_K) {
            s = mn_error(MYNN_ERR_ARG, "layer %d has %d inputs, more than the %d an int8 layer "
                         "sums exactly", i, l->n_in, MN_QGEMM_MAX_K);
            break;
        }
        ql->w = mn_calloc((size_t)l->n_out * l->n_in, 1, "int8 weights");
        ql->w_scale = mn_calloc((size_t)l->n_out, sizeof(float), "weight scales");
        ql->bias = mn_calloc((size_t)l->n_out, sizeof(float), "bias");
        ql->mult = mn_calloc((size_t)l->n_out, sizeof(float), "weight scales");
        ql->corr = mn_calloc((size_t)l->n_out, sizeof(int32_t), "weight sums");
        ql->wp = mn_calloc(mn_qgemm_packed_bytes(l->n_out, l->n_in), 1, "packed weights");
        if (!ql->w || !ql->w_scale || !ql->bias || !ql->mult || !ql->corr || !ql->wp)
            s = MYNN_ERR_NOMEM;
    }
    if (s) {
        q->net = NULL;   /* the caller still owns net on failure */
        mynn_qnet_free(q);
        return s;
    }
    *out = q;
    return MYNN_OK;
}

mynn_status mn_qnet_finish(mynn_qnet *q, int max_batch)
{
    mynn_net *net = q->net;
    int width = 1, kmax = 4;
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
        if (l->n_out > width) width = l->n_out;
        if (mn_qgemm_kpad(l->n_in) > kmax) kmax = mn_qgemm_kpad(l->n_in);
    }
    size_t b = (size_t)max_batch;
    q->max_batch = max_batch;
    q->f[0] = mn_calloc(b * width, sizeof(float), "int8 buffers");
    q->f[1] = mn_calloc(b * width, sizeof(float), "int8 buffers");
    q->z = mn_calloc(b * width, sizeof(float), "int8 buffers");
    q->qx = mn_calloc(b * kmax, 1, "int8 buffers");
    q->acc = mn_calloc(b * width, sizeof(int32_t), "int8 buffers");
    if (!q->f[0] || !q->f[1] || !q->z || !q->qx || !q->acc) return MYNN_ERR_NOMEM;
    return MYNN_OK;
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
    free(q->f[0]);
    free(q->f[1]);
    free(q->z);
    free(q->qx);
    free(q->acc);
    mynn_free(q->net);
    free(q);
}

/* n <= max_batch rows through every layer; returns the outputs [n × k]. */
static const float *qforward(mynn_qnet *q, const float *x, int n)
{
    const mynn_net *net = q->net;
    for (int i = 0; i < q->n_layers; i++) {
        const mn_qlayer *l = &q->layers[i];
        int kp = mn_qgemm_kpad(l->n_in), last = i == q->n_layers - 1;
        /* the first layer applies the input transform as it quantises */
        mn_quantize_rows(x, i ? NULL : net->shift, i ? NULL : net->scale, n, l->n_in, l->in_inv,
                         q->qx, kp);
        mn_qgemm(n, l->n_out, l->n_in, q->qx, kp, l->wp, l->corr, q->acc, l->n_out);
        float *z = last ? q->z : q->f[i % 2], *y = q->f[i % 2];
        for (int r = 0; r < n; r++) {
            const int32_t *ar = q->acc + (size_t)r * l->n_out;
            float *zr = z + (size_t)r * l->n_out;
            for (int o = 0; o < l->n_out; o++) zr[o] = (float)ar[o] * l->mult[o] + l->bias[o];
        }
        mn_act_forward(l->act, z, y, n, l->n_out);
        x = y;
    }
    return x;
}

mynn_status mynn_qnet_predict(mynn_qnet *q, const float *x, int n, float *y)
{
    if (!q || !x || !y) return mn_error(MYNN_ERR_NULL, "mynn_qnet_predict: NULL argument");
    if (n < 1) return mn_error(MYNN_ERR_SHAPE, "mynn_qnet_predict: %d samples", n);
    int d = q->net->n_inputs, k = mynn_n_outputs(q->net);
    size_t at;
    if (mn_find_nonfinite(x, (size_t)n * d, &at))
        return mn_error(MYNN_ERR_NUMERIC, "mynn_qnet_predict: input sample %zu feature %zu is %s",
                        at / d, at % d, isnan(x[at]) ? "NaN" : "infinite");
    for (int done = 0; done < n;) {
        int m = n - done < q->max_batch ? n - done : q->max_batch;
        const float *out = qforward(q, x + (size_t)done * d, m);
        memcpy(y + (size_t)done * k, out, (size_t)m * k * sizeof *y);
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
        const float *a = qforward(q, ds->x + (size_t)done * d, c);
        mn_metrics_add(&acc, ds, done, c, q->net->loss, last->act, q->z, a);
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
    return mn_error(MYNN_ERR_ARG, "layer %d is not a dense layer of the int8 model", layer);
}
