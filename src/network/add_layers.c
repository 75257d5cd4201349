/* Appending nodes: each node's inputs are checked, and its kind checks
 * its settings and computes its output shape from its inputs' here, so a
 * network that does not fit together fails when it is described, naming
 * the layer and the shapes.  The public add functions fill one kind's
 * settings each. */
#include "core/core.h"
#include "network.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------------ */
/* Appending nodes                                                           */
/* ------------------------------------------------------------------------ */

mn_layer mn_new_layer(const mn_kind *kind)
{
    mn_layer l;
    memset(&l, 0, sizeof l);
    l.kind = kind;
    l.act = MYNN_ACT_IDENTITY;
    return l;
}

int mn_net_tail(const mynn_net *net) { return net->n_layers ? net->n_layers - 1 : MN_NET_INPUT; }

int mn_net_readers(const mynn_net *net, int i)
{
    int n = 0;
    for (int k = i + 1 > 0 ? i + 1 : 0; k < net->n_layers; k++)
        for (int j = 0; j < net->layers[k].n_src; j++) n += net->layers[k].src[j] == i;
    return n;
}

/* The inputs' ids and shapes, checked: earlier nodes or the input. */
static mynn_status take_inputs(const mynn_net *net, mn_layer *l, const int *src, int n_src)
{
    const int max = l->kind->max_inputs;
    if (n_src < 1 || n_src > max) {
        if (max == 1)
            return mn_error(MYNN_ERR_ARG, "layer %d (%s): takes one input, got %d", l->id + 1, l->kind->name, n_src);
        return mn_error(MYNN_ERR_ARG, "layer %d (%s): takes 2 to %d inputs, got %d", l->id + 1, l->kind->name, max,
                        n_src);
    }
    for (int j = 0; j < n_src; j++) {
        if (src[j] != MN_NET_INPUT && (src[j] < 0 || src[j] >= net->n_layers))
            return mn_error(MYNN_ERR_ARG, "layer %d (%s): input %d is layer %d, which is not an earlier layer "
                            "(1..%d) or the network input", l->id + 1, l->kind->name, j + 1, src[j] + 1,
                            net->n_layers);
        l->src[j] = src[j];
        l->src_shape[j] = src[j] == MN_NET_INPUT ? net->in_shape : net->layers[src[j]].out_shape;
        if (l->src_shape[j].t > 0 && !l->kind->reads_seq)
            return mn_error(MYNN_ERR_SHAPE, "layer %d (%s): input %d (layer %d) is a sequence of %d steps of "
                            "%d; %s does not read sequences (flatten, a recurrent layer without :seq, or a "
                            "dense layer on every step may come before it)", l->id + 1, l->kind->name, j + 1,
                            src[j] + 1, l->src_shape[j].t, l->src_shape[j].c * l->src_shape[j].h *
                            l->src_shape[j].w, l->kind->name);
    }
    l->n_src = n_src;
    l->in_shape = l->src_shape[0];
    return MYNN_OK;
}

mynn_status mn_net_append(mynn_net *net, mn_layer *l, const int *src, int n_src)
{
    if (net->max_batch) return mn_error(MYNN_ERR_STATE, "cannot add a layer to a network already built");
    if (net->n_layers >= MN_MAX_NODES)
        return mn_error(MYNN_ERR_ARG, "a network has at most %d layers", MN_MAX_NODES);
    l->id = net->n_layers;
    mynn_status s = take_inputs(net, l, src, n_src);
    if (s) return s;
    if (net->syntax_only) {   /* one roomy shape: only the settings are checked */
        for (int j = 0; j < n_src; j++) l->src_shape[j] = (mn_shape){1, 1, 1, 0};
        l->in_shape = l->src_shape[0];
    }
    s = l->kind->shape(l, net->syntax_only ? NULL : l->src_shape, n_src);
    if (s) return s;
    size_t n_in = mn_shape_size(l->in_shape), n_out = mn_shape_size(l->out_shape);
    if (!n_out)
        return mn_error(MYNN_ERR_SHAPE, "layer %d (%s): output of more than %d values", l->id + 1, l->kind->name,
                        MN_MAX_UNITS);
    if (net->n_layers == net->cap_layers) {
        int cap = net->cap_layers ? 2 * net->cap_layers : 8;
        mn_layer *p = realloc(net->layers, (size_t)cap * sizeof *p);
        if (!p) return mn_error(MYNN_ERR_NOMEM, "out of memory adding a layer");
        net->layers = p;
        net->cap_layers = cap;
    }
    l->n_in = (int)n_in;
    l->n_out = (int)n_out;
    net->layers[net->n_layers++] = *l;
    return MYNN_OK;
}

/* A node of kind id reading the last node. */
static mynn_status append_tail(mynn_net *net, mn_layer *l)
{
    int tail = mn_net_tail(net);
    return mn_net_append(net, l, &tail, 1);
}

static mn_layer layer_of(mynn_layer_kind id) { return mn_new_layer(mn_kind_of(id)); }

/* ------------------------------------------------------------------------ */
/* The public add functions: each fills one kind's settings                  */
/* ------------------------------------------------------------------------ */

mynn_status mynn_add_dense(mynn_net *net, int n_outputs, mynn_activation act)
{
    if (!net) return mn_error(MYNN_ERR_NULL, "mynn_add_dense: net is NULL");
    mn_layer l = layer_of(MYNN_LAYER_DENSE);
    l.units = n_outputs;
    l.act = act;
    return append_tail(net, &l);
}

mynn_status mynn_add_dropout(mynn_net *net, float rate)
{
    if (!net) return mn_error(MYNN_ERR_NULL, "mynn_add_dropout: net is NULL");
    mn_layer l = layer_of(MYNN_LAYER_DROPOUT);
    l.rate = rate;
    return append_tail(net, &l);
}

static mynn_status add_conv(mynn_net *net, int dims, int filters, int kh, int kw, int stride, int pad,
                            mynn_activation act)
{
    mn_layer l = layer_of(MYNN_LAYER_CONV);
    l.units = filters;
    l.dims = dims;
    l.kh = kh;
    l.kw = kw;
    l.sh = dims == 1 ? 1 : stride;
    l.sw = stride;
    l.pad_same = pad == MYNN_PAD_SAME;
    l.ph = l.pad_same || dims == 1 ? 0 : pad;
    l.pw = l.pad_same ? 0 : pad;
    l.act = act;
    return append_tail(net, &l);
}

mynn_status mynn_add_conv2d(mynn_net *net, int filters, int kh, int kw, int stride, int pad,
                            mynn_activation act)
{
    if (!net) return mn_error(MYNN_ERR_NULL, "mynn_add_conv2d: net is NULL");
    return add_conv(net, 2, filters, kh, kw, stride, pad, act);
}

mynn_status mynn_add_conv1d(mynn_net *net, int filters, int k, int stride, int pad,
                            mynn_activation act)
{
    if (!net) return mn_error(MYNN_ERR_NULL, "mynn_add_conv1d: net is NULL");
    return add_conv(net, 1, filters, 1, k, stride, pad, act);
}

static mynn_status add_pool(mynn_net *net, int dims, mynn_layer_kind kind, int k, int stride)
{
    if (!net) return mn_error(MYNN_ERR_NULL, "mynn_add_pool: net is NULL");
    if (kind != MYNN_LAYER_MAXPOOL && kind != MYNN_LAYER_AVGPOOL)
        return mn_error(MYNN_ERR_ARG, "pooling kind must be MYNN_LAYER_MAXPOOL or MYNN_LAYER_AVGPOOL");
    mn_layer l = layer_of(kind);
    if (stride == 0) stride = k;
    l.dims = dims;
    l.kh = dims == 1 ? 1 : k;
    l.kw = k;
    l.sh = dims == 1 ? 1 : stride;
    l.sw = stride;
    return append_tail(net, &l);
}

mynn_status mynn_add_pool2d(mynn_net *net, mynn_layer_kind kind, int k, int stride)
{
    return add_pool(net, 2, kind, k, stride);
}

mynn_status mynn_add_pool1d(mynn_net *net, mynn_layer_kind kind, int k, int stride)
{
    return add_pool(net, 1, kind, k, stride);
}

mynn_status mynn_add_global_avgpool(mynn_net *net)
{
    if (!net) return mn_error(MYNN_ERR_NULL, "mynn_add_global_avgpool: net is NULL");
    mn_layer l = layer_of(MYNN_LAYER_GLOBAL_AVGPOOL);
    return append_tail(net, &l);
}

mynn_status mynn_add_flatten(mynn_net *net)
{
    if (!net) return mn_error(MYNN_ERR_NULL, "mynn_add_flatten: net is NULL");
    mn_layer l = layer_of(MYNN_LAYER_FLATTEN);
    return append_tail(net, &l);
}

mynn_status mynn_add_batchnorm(mynn_net *net)
{
    if (!net) return mn_error(MYNN_ERR_NULL, "mynn_add_batchnorm: net is NULL");
    mn_layer l = layer_of(MYNN_LAYER_BATCHNORM);
    const mn_item defaults = {.index = net->n_layers + 1, .kind = l.kind->name};   /* its settings */
    mynn_status s = l.kind->parse(&l, &defaults);
    return s ? s : append_tail(net, &l);
}

mynn_status mynn_add_activation(mynn_net *net, mynn_activation act)
{
    if (!net) return mn_error(MYNN_ERR_NULL, "mynn_add_activation: net is NULL");
    mn_layer l = layer_of(MYNN_LAYER_ACTIVATION);
    l.act = act;
    return append_tail(net, &l);
}

mynn_status mynn_set_input_shape(mynn_net *net, int c, int h, int w)
{
    if (!net) return mn_error(MYNN_ERR_NULL, "mynn_set_input_shape: net is NULL");
    if (net->n_layers)
        return mn_error(MYNN_ERR_STATE, "mynn_set_input_shape: set the shape before adding layers");
    if (c < 1 || h < 1 || w < 1 || (long long)c * h * w != net->n_inputs)
        return mn_error(MYNN_ERR_SHAPE, "input shape %d×%d×%d does not match the %d inputs", c, h, w,
                        net->n_inputs);
    net->in_shape = (mn_shape){c, h, w, 0};
    net->in_dims = 2;
    return MYNN_OK;
}

mynn_status mynn_set_input_shape_1d(mynn_net *net, int c, int length)
{
    mynn_status s = mynn_set_input_shape(net, c, 1, length);
    if (s == MYNN_ERR_SHAPE)
        return mn_error(s, "input shape %d×%d does not match the %d inputs", c, length, net->n_inputs);
    if (!s) net->in_dims = 1;
    return s;
}

int mynn_input_shape(const mynn_net *net, int shape[3])
{
    if (!net) return 0;
    if (shape) {
        shape[0] = net->in_shape.c;
        shape[1] = net->in_shape.h;
        shape[2] = net->in_shape.w;
    }
    return net->in_dims;
}

mynn_status mynn_parse_layers(mynn_net **out, const char *spec)
{
    if (!out) return mn_error(MYNN_ERR_NULL, "mynn_parse_layers: out is NULL");
    mynn_status s = mynn_create(out, 1);
    if (s) return s;
    (*out)->syntax_only = 1;
    s = mynn_add_layers(*out, spec);
    if (s) {
        mynn_free(*out);
        *out = NULL;
    }
    return s;
}
