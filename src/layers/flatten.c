/* Flatten: C × H × W -> (C·H·W) × 1 × 1.  Spec item flatten; nn.Flatten.
 * Samples are stored channel-major (NCHW) already, which is PyTorch's
 * order, so this is a copy; a sequence of T steps of F becomes T·F values
 * in time-major order (nn.Flatten on [N, T, F]). */
#include "layer.h"
#include "kernels/kernels.h"

#include <stdio.h>
#include <string.h>

static mynn_status flat_parse(mn_layer *l, const mn_item *it)
{
    (void)l;
    return mn_item_bare(it);
}

static void flat_print(const mn_layer *l, char *buf, size_t n)
{
    (void)l;
    snprintf(buf, n, "flatten");
}

static void flat_describe(const mn_layer *l, char *buf, size_t n)
{
    (void)l;
    snprintf(buf, n, "-");
}

static mynn_status flat_shape(mn_layer *l, const mn_shape *in, int n_in)
{
    (void)n_in;
    l->out_shape = in ? (mn_shape){(int)mn_shape_size(in[0]), 1, 1, 0} : (mn_shape){1, 1, 1, 0};
    return MYNN_OK;
}

static void flat_forward(mn_layer *l, const float *const *xs, float *y, int n, int training)
{
    (void)training;
    const float *x = xs[0];
    MN_FOR_SHARE((size_t)n * l->n_out, 1, lo, hi, memcpy(y + lo, x + lo, (hi - lo) * sizeof *x));
}

static void flat_backward(mn_layer *l, const float *const *xs, const float *y, float *dy, int dy_is_dz,
                          float *const *dxs, int n)
{
    (void)xs;
    (void)y;
    (void)dy_is_dz;
    float *dx = dxs[0];
    if (dx) MN_FOR_SHARE((size_t)n * l->n_in, 1, lo, hi, memcpy(dx + lo, dy + lo, (hi - lo) * sizeof *dx));
}

static void flat_infer(const mn_layer *l, const float *const *x, float *y, int c)
{
    memcpy(y, x[0], (size_t)c * l->n_out * sizeof *y);
}

static mynn_status flat_onnx(mn_onnx *g, const mn_layer *l, const char *prefix, const mn_ovalue *in,
                             int n_in, mn_ovalue *out)
{
    (void)l, (void)n_in;
    *out = in[0];
    return mn_onnx_flatten(g, prefix, out);
}

static const char *const flat_names[] = {"flatten", NULL};

const mn_kind mn_flatten_kind = {
    .id = MYNN_LAYER_FLATTEN, .name = "flatten", .spec_names = flat_names, .max_inputs = 1, .reads_seq = 1,
    .parse = flat_parse, .print = flat_print, .describe = flat_describe, .shape = flat_shape,
    .forward = flat_forward, .backward = flat_backward, .infer = flat_infer,
    .onnx = flat_onnx, .c_identity = 1, .q_role = MN_Q_FLOAT,
};
