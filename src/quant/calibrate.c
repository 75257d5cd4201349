/* mynn_quantize: post-training quantisation of a float net.
 *
 * Weights: per output o, w_scale[o] = max_k |W[o][k]| / 127 and
 * q = round(W / w_scale): symmetric, so no zero point enters the int32 sum.
 * Layer inputs: one scale per layer, s = stat(|x|) / 127, where x runs
 * over that layer's inputs on the calibration samples (the float net's own
 * forward pass) and stat is the maximum (default) or a percentile.
 * Dense and conv layers are quantised so; a batch norm right after one with
 * the identity activation is folded into it first (network/fold.h), and
 * calibration runs the folded float net. */
#include "qnet.h"
#include "core/core.h"
#include "kernels/qgemm.h"
#include "network/fold.h"
#include "network/network.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HIST_BINS 4096

void mynn_quant_options_default(mynn_quant_options *o)
{
    if (!o) return;
    o->stat = MYNN_CALIB_MAX;
    o->percentile = 99.99f;
    o->max_batch = 256;
}

/* One pass over the calibration data: hist NULL fills amax (max |x| per
 * quantised node, the value it quantises: its input), else the histograms
 * of |x| over [0, amax] per node. */
static void calib_pass(mynn_net *net, const mynn_qnet *q, const float *x, int n, float *amax, double *hist)
{
    int d = net->n_inputs;
    for (int done = 0; done < n;) {
        int c = n - done < net->max_batch ? n - done : net->max_batch;
        mn_forward(net, x + (size_t)done * d, c, 0);
        for (int j = 0; j < net->n_layers; j++) {
            if (!q->q[j]) continue;
            const float *v = mn_node_output(net, net->layers[j].src[0]);
            size_t cnt = (size_t)c * net->layers[j].n_in;
            if (!hist) {
                for (size_t t = 0; t < cnt; t++) amax[j] = fabsf(v[t]) > amax[j] ? fabsf(v[t]) : amax[j];
                continue;
            }
            double *h = hist + (size_t)j * HIST_BINS;
            double per = amax[j] > 0 ? HIST_BINS / (double)amax[j] : 0;
            for (size_t t = 0; t < cnt; t++) {
                int b = (int)(fabsf(v[t]) * per);
                h[b < HIST_BINS ? b : HIST_BINS - 1] += 1;
            }
        }
        done += c;
    }
}

/* The value below which pct percent of the histogram's mass lies (the
 * upper edge of the bin where the cumulative count reaches it). */
static float hist_percentile(const double *h, float amax, float pct)
{
    double total = 0, want, cum = 0;
    for (int b = 0; b < HIST_BINS; b++) total += h[b];
    want = total * pct / 100.0;
    for (int b = 0; b < HIST_BINS; b++) {
        cum += h[b];
        if (cum >= want) return (float)(amax * (b + 1.0) / HIST_BINS);
    }
    return amax;
}

/* Symmetric per-output int8 weights of node l (its weight [n_out × n_in]
 * in the kind's layout: dense [out × in], conv [F × C·kh·kw], followed by
 * the bias) into w. */
static void quantize_weights(const mn_layer *l, mn_qweights *w)
{
    const int rows = w->n_out, cols = w->n_in;
    const float *lw = l->param, *b = l->param + (size_t)rows * cols;
    for (int o = 0; o < rows; o++) {
        const float *wr = lw + (size_t)o * cols;
        float m = 0.0f;
        for (int k = 0; k < cols; k++) m = fabsf(wr[k]) > m ? fabsf(wr[k]) : m;
        float s = m > 0.0f ? m / 127.0f : 1.0f;
        w->w_scale[o] = s;
        for (int k = 0; k < cols; k++) w->w[(size_t)o * cols + k] = (int8_t)mn_q8(wr[k] / s);
        w->bias[o] = b[o];
    }
}

/* The float net src with its foldable batch norms folded (network/fold.h)
 * into the node before them, built for max_batch samples: every other node
 * as it is (its inputs renumbered), and the loss, input shape, transform,
 * metadata and values; fold 0: a plain copy.  The int8 model quantises
 * the folded net and keeps a plain copy of it (built for one sample) as
 * its float view, node for node: folding the folded net again would fold
 * a batch norm that read a folded one (conv, batchnorm, batchnorm: the
 * second reads the conv once the first is gone) and number the nodes
 * differently from the net that was calibrated. */
static mynn_status fold_copy(const mynn_net *src, int max_batch, int fold, mynn_net **out)
{
    *out = NULL;
    int *map = calloc((size_t)src->n_layers + 1, sizeof *map);   /* src id -> its id in *out */
    mynn_status s = map ? mynn_create(out, src->n_inputs) : mn_error(MYNN_ERR_NOMEM, "out of memory");
    if (!s && src->in_dims == 2) s = mynn_set_input_shape(*out, src->in_shape.c, src->in_shape.h, src->in_shape.w);
    if (!s && src->in_dims == 1) s = mynn_set_input_shape_1d(*out, src->in_shape.c, src->in_shape.w);
    for (int i = 0; i < src->n_layers && !s; i++) {
        const int from = fold ? mn_fold_source(src, i) : -1;
        if (from >= 0) {   /* folded: readers read its source */
            map[i] = map[from];
            continue;
        }
        mn_layer l = mn_new_layer(src->layers[i].kind), *o = &src->layers[i];
        l = *o;
        l.param = l.grad = l.buf = l.out = l.cache = l.aux = l.work = NULL;
        int in[MN_MAX_INPUTS];
        for (int j = 0; j < o->n_src; j++) in[j] = o->src[j] == MN_NET_INPUT ? MN_NET_INPUT : map[o->src[j]];
        s = mn_net_append(*out, &l, in, o->n_src);
        map[i] = (*out)->n_layers - 1;
    }
    if (!s) s = mynn_set_loss(*out, src->loss);
    if (!s) s = mynn_build(*out, max_batch, MYNN_INIT_AUTO, 0);
    if (!s && src->shift && src->scale)
        s = mynn_set_input_transform(*out, src->transform_kind, src->shift, src->scale);
    for (int i = 0; i < src->n_meta && !s; i++) s = mn_net_set_meta(*out, src->meta_key[i], src->meta_val[i]);
    for (int i = 0; i < src->n_layers && !s; i++) {
        if (fold && mn_fold_source(src, i) >= 0) continue;
        const mn_layer *a = &src->layers[i];
        mn_layer *b = &(*out)->layers[map[i]];
        size_t np = mn_layer_params(a);
        int bn = fold ? mn_fold_target(src, i) : -1;
        if (bn >= 0) mn_bn_fold(a, &src->layers[bn], b->param, b->param + np - (size_t)a->out_shape.c);
        else memcpy(b->param, a->param, np * sizeof(float));
        memcpy(b->buf, a->buf, mn_layer_buffers(a) * sizeof(float));
    }
    free(map);
    if (s) {
        mynn_free(*out);
        *out = NULL;
    }
    return s;
}

mynn_status mynn_quantize(mynn_qnet **out, mynn_net *net, const float *x, int n,
                          const mynn_quant_options *o)
{
    if (!out) return mn_error(MYNN_ERR_NULL, "mynn_quantize: out is NULL");
    *out = NULL;
    if (!net || !x) return mn_error(MYNN_ERR_NULL, "mynn_quantize: NULL argument");
    if (!net->max_batch) return mn_error(MYNN_ERR_STATE, "mynn_quantize: the network is not built");
    if (n < 1) return mn_error(MYNN_ERR_SHAPE, "mynn_quantize: no calibration samples");
    mynn_quant_options def;
    if (!o) {
        mynn_quant_options_default(&def);
        o = &def;
    }
    if (o->stat != MYNN_CALIB_MAX && o->stat != MYNN_CALIB_PERCENTILE)
        return mn_error(MYNN_ERR_ARG, "mynn_quantize: unknown calibration statistic %d", (int)o->stat);
    if (o->stat == MYNN_CALIB_PERCENTILE && !(o->percentile > 50.0f && o->percentile <= 100.0f))
        return mn_error(MYNN_ERR_ARG, "mynn_quantize: percentile must be in (50, 100]");
    if (o->max_batch < 1 || o->max_batch > (1 << 24))
        return mn_error(MYNN_ERR_ARG, "mynn_quantize: max_batch must be in 1..%d", 1 << 24);
    size_t at;
    if (mn_find_nonfinite(x, (size_t)n * net->n_inputs, &at))
        return mn_error(MYNN_ERR_NUMERIC, "mynn_quantize: calibration sample %zu feature %zu is "
                        "not finite", at / net->n_inputs, at % net->n_inputs);
    mynn_status s = mn_qnet_check_layers(net, "mynn_quantize");
    mynn_net *shape = NULL, *src = NULL;
    if (!s) s = fold_copy(net, net->max_batch, 1, &src);
    if (!s) s = fold_copy(src, 1, 0, &shape);
    if (s) {
        mynn_free(src);
        return s;
    }
    net = src;   /* from here on, calibrate and quantise the folded copy */
    mynn_qnet *q = NULL;
    s = mn_qnet_alloc(&q, shape);
    if (s) {
        mynn_free(shape);
        mynn_free(src);
        return s;
    }
    const int nl = net->n_layers;
    float *amax = mn_calloc((size_t)nl, sizeof *amax, "calibration");
    double *hist = NULL;
    if (!amax) s = MYNN_ERR_NOMEM;
    if (!s) calib_pass(net, q, x, n, amax, NULL);
    if (!s && o->stat == MYNN_CALIB_PERCENTILE) {
        hist = mn_calloc((size_t)nl * HIST_BINS, sizeof *hist, "calibration");
        if (!hist) s = MYNN_ERR_NOMEM;
        else calib_pass(net, q, x, n, amax, hist);
    }
    for (int j = 0; j < nl && !s; j++) {
        mn_qweights *w = q->q[j];
        if (!w) continue;
        float a = hist ? hist_percentile(hist + (size_t)j * HIST_BINS, amax[j], o->percentile) : amax[j];
        w->in_scale = a > 0.0f ? a / 127.0f : 1.0f;
        quantize_weights(&net->layers[j], w);
    }
    if (!s) {
        char pct[32] = "";
        if (o->stat == MYNN_CALIB_PERCENTILE)
            snprintf(pct, sizeof pct, "percentile %d.%02d", (int)o->percentile,
                     (int)lroundf((o->percentile - (int)o->percentile) * 100.0f) % 100);
        snprintf(q->calibration, sizeof q->calibration, "%s of |x| over %d samples",
                 o->stat == MYNN_CALIB_MAX ? "max" : pct, n);
        s = mn_qnet_finish(q, o->max_batch);
    }
    free(amax);
    free(hist);
    mynn_free(src);
    if (s) {
        mynn_qnet_free(q);
        return s;
    }
    *out = q;
    return MYNN_OK;
}
