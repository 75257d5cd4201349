/* Appending layers: each kind's settings are checked and its output shape
 * computed from its input shape here, so a network that does not fit
 * together fails when it is described, naming the layer and the shapes. */
#include "core/core.h"
#include "network.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MN_MAX_UNITS (1 << 24)

/* The shape the next layer receives.  A syntax-only net gives every layer
 * one roomy shape, so only settings are checked. */
static mn_shape next_input(const mynn_net *net)
{
    if (net->syntax_only) return (mn_shape){1, 4096, 4096};
    return net->n_layers ? net->layers[net->n_layers - 1].out_shape : net->in_shape;
}

static void shape_text(char *buf, size_t n, mn_shape s)
{
    snprintf(buf, n, "%d×%d×%d", s.c, s.h, s.w);
}

/* "layer 3 (conv): input 64×7×7 ..." */
static mynn_status shape_error(const mynn_net *net, const char *kind, mn_shape in, const char *fmt,
                               int a, int b)
{
    char s[64], what[160];
    shape_text(s, sizeof s, in);
    snprintf(what, sizeof what, fmt, a, b);
    return mn_error(MYNN_ERR_SHAPE, "layer %d (%s): input %s %s", net->n_layers + 1, kind, s, what);
}

static int shape_size(mn_shape s, size_t *n)
{
    size_t t;
    return mn_mul_size((size_t)s.c, (size_t)s.h, &t) || mn_mul_size(t, (size_t)s.w, n) ||
           *n > MN_MAX_UNITS;
}

/* Appends a copy of l (its ops and settings), with l->in_shape set and
 * l->out_shape computed by the caller. */
static mynn_status append(mynn_net *net, mn_layer *l)
{
    if (net->max_batch)
        return mn_error(MYNN_ERR_STATE, "cannot add a layer to a network already built");
    size_t n_out;
    if (net->syntax_only) l->out_shape = (mn_shape){l->out_shape.c, 1, 1};
    if (shape_size(l->out_shape, &n_out))
        return mn_error(MYNN_ERR_SHAPE, "layer %d (%s): output of more than %d values", net->n_layers + 1,
                        l->ops->name, MN_MAX_UNITS);
    if (net->n_layers == net->cap_layers) {
        int cap = net->cap_layers ? 2 * net->cap_layers : 8;
        mn_layer *p = realloc(net->layers, (size_t)cap * sizeof *p);
        if (!p) return mn_error(MYNN_ERR_NOMEM, "out of memory adding a layer");
        net->layers = p;
        net->cap_layers = cap;
    }
    l->n_in = l->in_shape.c * l->in_shape.h * l->in_shape.w;
    l->n_out = (int)n_out;
    net->layers[net->n_layers++] = *l;
    return MYNN_OK;
}

static mn_layer new_layer(const mynn_net *net, const mn_layer_ops *ops)
{
    mn_layer l;
    memset(&l, 0, sizeof l);
    l.ops = ops;
    l.in_shape = next_input(net);
    l.act = MYNN_ACT_IDENTITY;
    return l;
}

mynn_status mynn_add_dense(mynn_net *net, int n_outputs, mynn_activation act)
{
    if (!net) return mn_error(MYNN_ERR_NULL, "mynn_add_dense: net is NULL");
    if (n_outputs < 1 || n_outputs > MN_MAX_UNITS)
        return mn_error(MYNN_ERR_ARG, "dense layer: units must be in 1..%d, got %d",
                        MN_MAX_UNITS, n_outputs);
    if ((unsigned)act >= MYNN_ACT_COUNT)
        return mn_error(MYNN_ERR_ARG, "dense layer: unknown activation %d", (int)act);
    mn_layer l = new_layer(net, &mn_dense_ops);
    l.act = act;
    l.out_shape = (mn_shape){n_outputs, 1, 1};
    return append(net, &l);
}

mynn_status mynn_add_dropout(mynn_net *net, float rate)
{
    if (!net) return mn_error(MYNN_ERR_NULL, "mynn_add_dropout: net is NULL");
    if (!(rate >= 0.0f && rate < 1.0f))
        return mn_error(MYNN_ERR_ARG, "dropout rate must be in [0, 1), got %g", (double)rate);
    mn_layer l = new_layer(net, &mn_dropout_ops);
    l.rate = rate;
    l.out_shape = l.in_shape;
    return append(net, &l);
}

/* Output length of a window sliding over n (+ padding): 0 if it does not fit. */
static int slide(int n, int k, int s, int p) { return n + 2 * p < k ? 0 : (n + 2 * p - k) / s + 1; }

static mynn_status add_conv(mynn_net *net, int dims, int filters, int kh, int kw, int stride, int pad,
                            mynn_activation act)
{
    const char *kind = dims == 1 ? "conv1d" : "conv";
    int index = net->n_layers + 1;
    if (filters < 1 || filters > MN_MAX_UNITS)
        return mn_error(MYNN_ERR_ARG, "layer %d (%s): filters must be in 1..%d, got %d", index, kind,
                        MN_MAX_UNITS, filters);
    if (kh < 1 || kw < 1 || kh > 4096 || kw > 4096)
        return mn_error(MYNN_ERR_ARG, "layer %d (%s): kernel must be in 1..4096, got %d×%d", index,
                        kind, kh, kw);
    if (stride < 1 || stride > 4096)
        return mn_error(MYNN_ERR_ARG, "layer %d (%s): stride must be >= 1, got %d", index, kind, stride);
    if ((unsigned)act >= MYNN_ACT_COUNT || act == MYNN_ACT_SOFTMAX)
        return mn_error(MYNN_ERR_ARG, "layer %d (%s): activation must be element-wise (not softmax)",
                        index, kind);
    int ph = pad, pw = pad;
    if (pad == MYNN_PAD_SAME) {
        if (stride != 1 || kh % 2 == 0 || kw % 2 == 0)
            return mn_error(MYNN_ERR_ARG, "layer %d (%s): pad=same needs stride 1 and an odd kernel, "
                            "got stride %d, kernel %d×%d", index, kind, stride, kh, kw);
        ph = (kh - 1) / 2;
        pw = (kw - 1) / 2;
    } else if (pad < 0 || pad > 4096) {
        return mn_error(MYNN_ERR_ARG, "layer %d (%s): padding must be >= 0 or same, got %d", index,
                        kind, pad);
    }
    if (dims == 1) ph = 0;
    mn_layer l = new_layer(net, &mn_conv_ops);
    if (dims == 1 && net->syntax_only) l.in_shape = (mn_shape){1, 1, 1 << 20};
    if (dims == 1 && l.in_shape.h != 1)
        return shape_error(net, kind, l.in_shape, "is not C×L (height %d, expected %d)", l.in_shape.h, 1);
    int fit_h = l.in_shape.h + 2 * ph, fit_w = l.in_shape.w + 2 * pw;
    if (kh == kw && dims == 2 && (kh > fit_h || kw > fit_w))
        return shape_error(net, kind, l.in_shape, "needs kernel ≤ %d, got %d", fit_h < fit_w ? fit_h : fit_w, kw);
    if (kh > fit_h)
        return shape_error(net, kind, l.in_shape, "needs kernel height ≤ %d, got %d", fit_h, kh);
    if (kw > fit_w)
        return shape_error(net, kind, l.in_shape, dims == 1 ? "needs kernel ≤ %d, got %d"
                                                           : "needs kernel width ≤ %d, got %d", fit_w, kw);
    l.act = act;
    l.dims = dims;
    l.kh = kh;
    l.kw = kw;
    l.sh = dims == 1 ? 1 : stride;
    l.sw = stride;
    l.ph = ph;
    l.pw = pw;
    l.out_shape = (mn_shape){filters, slide(l.in_shape.h, kh, l.sh, ph), slide(l.in_shape.w, kw, stride, pw)};
    size_t k;
    if (mn_mul_size((size_t)l.in_shape.c * kh, (size_t)kw, &k) || k > MN_MAX_UNITS)
        return shape_error(net, kind, l.in_shape, "with a %d×%d kernel has too many weights per filter", kh, kw);
    return append(net, &l);
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
    mn_layer l = new_layer(net, kind == MYNN_LAYER_MAXPOOL ? &mn_maxpool_ops : &mn_avgpool_ops);
    char name[16];
    snprintf(name, sizeof name, "%s%s", l.ops->name, dims == 1 ? "1d" : "");
    int index = net->n_layers + 1;
    if (stride == 0) stride = k;
    if (dims == 1 && net->syntax_only) l.in_shape = (mn_shape){1, 1, 1 << 20};
    if (k < 1 || k > 4096)
        return mn_error(MYNN_ERR_ARG, "layer %d (%s): window must be in 1..4096, got %d", index, name, k);
    if (stride < 1 || stride > 4096)
        return mn_error(MYNN_ERR_ARG, "layer %d (%s): stride must be >= 1, got %d", index, name, stride);
    if (dims == 1 && l.in_shape.h != 1)
        return shape_error(net, name, l.in_shape, "is not C×L (height %d, expected %d)", l.in_shape.h, 1);
    l.dims = dims;
    l.kh = dims == 1 ? 1 : k;
    l.kw = k;
    l.sh = dims == 1 ? 1 : stride;
    l.sw = stride;
    if (l.in_shape.h < l.kh || l.in_shape.w < l.kw)
        return shape_error(net, name, l.in_shape, "is smaller than the %d×%d window (nothing left)", l.kh, l.kw);
    l.out_shape = (mn_shape){l.in_shape.c, slide(l.in_shape.h, l.kh, l.sh, 0), slide(l.in_shape.w, l.kw, l.sw, 0)};
    return append(net, &l);
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
    mn_layer l = new_layer(net, &mn_gap_ops);
    l.out_shape = (mn_shape){l.in_shape.c, 1, 1};
    return append(net, &l);
}

mynn_status mynn_add_flatten(mynn_net *net)
{
    if (!net) return mn_error(MYNN_ERR_NULL, "mynn_add_flatten: net is NULL");
    mn_layer l = new_layer(net, &mn_flatten_ops);
    l.out_shape = (mn_shape){l.in_shape.c * l.in_shape.h * l.in_shape.w, 1, 1};
    return append(net, &l);
}

mynn_status mynn_add_batchnorm(mynn_net *net)
{
    if (!net) return mn_error(MYNN_ERR_NULL, "mynn_add_batchnorm: net is NULL");
    if (net->n_layers == 0)
        return mn_error(MYNN_ERR_ARG, "layer 1 (batchnorm): batch norm cannot be the first layer "
                        "(normalise the inputs instead)");
    mn_layer l = new_layer(net, &mn_batchnorm_ops);
    l.out_shape = l.in_shape;
    l.momentum = 0.1f;
    l.eps = 1e-5f;
    return append(net, &l);
}

mynn_status mynn_add_activation(mynn_net *net, mynn_activation act)
{
    if (!net) return mn_error(MYNN_ERR_NULL, "mynn_add_activation: net is NULL");
    if ((unsigned)act >= MYNN_ACT_COUNT)
        return mn_error(MYNN_ERR_ARG, "layer %d (activation): unknown activation %d", net->n_layers + 1,
                        (int)act);
    mn_layer l = new_layer(net, &mn_activation_ops);
    l.act = act;
    l.out_shape = l.in_shape;
    return append(net, &l);
}

mynn_status mynn_set_input_shape(mynn_net *net, int c, int h, int w)
{
    if (!net) return mn_error(MYNN_ERR_NULL, "mynn_set_input_shape: net is NULL");
    if (net->n_layers)
        return mn_error(MYNN_ERR_STATE, "mynn_set_input_shape: set the shape before adding layers");
    if (c < 1 || h < 1 || w < 1 || (long long)c * h * w != net->n_inputs)
        return mn_error(MYNN_ERR_SHAPE, "input shape %d×%d×%d does not match the %d inputs", c, h, w,
                        net->n_inputs);
    net->in_shape = (mn_shape){c, h, w};
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
