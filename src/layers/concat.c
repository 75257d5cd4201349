/* Concatenation of two or more inputs along the channels (C × H × W
 * tensors of one H × W; for vectors, F × 1 × 1, along the features): the
 * join of an Inception or U-Net block, torch.cat(dim=1).  Spec item
 * concat (its inputs come from the graph: cat(...), or from=a+b); no
 * parameters.  Samples are channel-major, so each sample's output is its
 * inputs' values one after another:
 *   forward   y[s] = x0[s] | x1[s] | ...
 *   backward  dx_j[s] = the part of dy[s] that x_j[s] filled */
#include "layer.h"
#include "kernels/kernels.h"
#include "concat.ctext.h"

#include <stdio.h>
#include <string.h>

/* ctext begin: concat */
/* One sample: y = x[0] | x[1] | ..., k inputs, x[j] holding size[j] values */
static void concat(const float *const *x, const int *size, int k, float *y)
{
    int j, i;
    for (j = 0; j < k; j++) {
        for (i = 0; i < size[j]; i++) y[i] = x[j][i];
        y += size[j];
    }
}
/* ctext end */

static mynn_status concat_parse(mn_layer *l, const mn_item *it)
{
    (void)l;
    return mn_item_bare(it);
}

static void concat_print(const mn_layer *l, char *buf, size_t n)
{
    (void)l;
    snprintf(buf, n, "concat");
}

static void concat_describe(const mn_layer *l, char *buf, size_t n)
{
    snprintf(buf, n, "%d inputs", l->n_src);
}

static mynn_status concat_shape(mn_layer *l, const mn_shape *in, int n_in)
{
    if (n_in < 2) return mn_layer_error(l, "concatenates two or more inputs, got %d", n_in);
    if (!in) {
        l->out_shape = (mn_shape){1, 1, 1, 0};
        return MYNN_OK;
    }
    int c = 0;
    for (int j = 0; j < n_in; j++) {
        if (in[j].h != in[0].h || in[j].w != in[0].w)
            return mn_error(MYNN_ERR_SHAPE, "layer %d (concat): input 1 is %d×%d×%d but input %d is %d×%d×%d: "
                            "concat needs inputs of one height × width", l->id + 1, in[0].c, in[0].h, in[0].w,
                            j + 1, in[j].c, in[j].h, in[j].w);
        if (in[j].c > MN_MAX_UNITS - c) return mn_layer_error(l, "more than %d channels", MN_MAX_UNITS);
        c += in[j].c;
    }
    l->out_shape = (mn_shape){c, in[0].h, in[0].w, 0};
    return MYNN_OK;
}

/* Each input's values per sample. */
static void sizes(const mn_layer *l, int *size)
{
    for (int j = 0; j < l->n_src; j++) size[j] = l->src_shape[j].c * l->src_shape[j].h * l->src_shape[j].w;
}

static void concat_forward(mn_layer *l, const float *const *x, float *y, int n, int training)
{
    (void)training;
    int size[MN_MAX_INPUTS];
    sizes(l, size);
    MN_FOR_SHARE((size_t)n, (size_t)n * l->n_out >= 16384 ? mn_threads() : 1, lo, hi,
    for (size_t s = lo; s < hi; s++) {
        const float *xs[MN_MAX_INPUTS];
        for (int j = 0; j < l->n_src; j++) xs[j] = x[j] + s * (size_t)size[j];
        concat(xs, size, l->n_src, y + s * (size_t)l->n_out);
    });
}

static void concat_infer(const mn_layer *l, const float *const *x, float *y, int c)
{
    int size[MN_MAX_INPUTS];
    sizes(l, size);
    for (int s = 0; s < c; s++) {
        const float *xs[MN_MAX_INPUTS];
        for (int j = 0; j < l->n_src; j++) xs[j] = x[j] + (size_t)s * size[j];
        concat(xs, size, l->n_src, y + (size_t)s * l->n_out);
    }
}

static void concat_backward(mn_layer *l, const float *const *x, const float *y, float *dy, int dy_is_dz,
                            float *const *dx, int n)
{
    (void)x;
    (void)y;
    (void)dy_is_dz;
    int size[MN_MAX_INPUTS];
    sizes(l, size);
    MN_FOR_SHARE((size_t)n, (size_t)n * l->n_out >= 16384 ? mn_threads() : 1, lo, hi,
    for (size_t s = lo; s < hi; s++) {
        const float *d = dy + s * (size_t)l->n_out;
        for (int j = 0; j < l->n_src; j++) {
            if (dx[j]) memcpy(dx[j] + s * (size_t)size[j], d, (size_t)size[j] * sizeof *d);
            d += size[j];
        }
    });
}

/* Concat along axis 1; inputs of different ranks flattened first (their
 * planes are 1 × 1, so the values line up). */
static mynn_status concat_onnx(mn_onnx *g, const mn_layer *l, const char *prefix, const mn_ovalue *in,
                               int n_in, mn_ovalue *out)
{
    (void)l;
    mn_ovalue v[MN_MAX_INPUTS];
    if (mn_onnx_same_rank(g, prefix, in, n_in, v)) return MYNN_ERR_NOMEM;
    const char *names[MN_MAX_INPUTS];
    for (int j = 0; j < n_in; j++) names[j] = v[j].name;
    *out = v[0];
    mn_onode *node = mn_onnx_node(g, "Concat", prefix, "out", names, n_in, out);
    if (!node) return MYNN_ERR_NOMEM;
    mn_onnx_attr_int(node, "axis", 1);
    return MYNN_OK;
}

static mynn_status concat_c_code(mn_atomic *a, const mn_cnode *x, const char *const *src, int n_src,
                                 const char *dst)
{
    const mn_layer *l = x->l;
    int size[MN_MAX_INPUTS];
    sizes(l, size);
    mn_atomic_printf(a, "    { /* layer %d: concat */\n        const float *in[%d] = {", x->id, n_src);
    for (int j = 0; j < n_src; j++) mn_atomic_printf(a, "%s%s", j ? ", " : "", src[j]);
    mn_atomic_printf(a, "};\n        static const int size[%d] = {", n_src);
    for (int j = 0; j < n_src; j++) mn_atomic_printf(a, "%s%d", j ? ", " : "", size[j]);
    mn_atomic_printf(a, "};\n        concat(in, size, %d, %s);\n    }\n", n_src, dst);
    return a->status;
}

static const char *const concat_names[] = {"concat", NULL};

const mn_kind mn_concat_kind = {
    .id = MYNN_LAYER_CONCAT, .name = "concat", .spec_names = concat_names, .max_inputs = MN_MAX_INPUTS,
    .parse = concat_parse, .print = concat_print, .describe = concat_describe, .shape = concat_shape,
    .forward = concat_forward, .backward = concat_backward, .infer = concat_infer,
    .onnx = concat_onnx, .c_text = mn_ctext_concat, .c_text_bytes = 60, .c_code = concat_c_code,
    .q_role = MN_Q_FLOAT,
};
