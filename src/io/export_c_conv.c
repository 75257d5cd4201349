/* mynn_export_c for convolutional models: convolution (2-D, and 1-D as a
 * 2-D one of height 1), max and average pooling, global average pooling,
 * batch norm, and the functions of the generated file that layers call.
 *
 * The generated loops compute what the library computes, in its order:
 * a convolution sums its terms in the weight's (channel, row, column)
 * order from 0.0f, as the reference GEMM over im2col's columns does (the
 * zero-padding terms are left out: adding a product with 0 to a sum that
 * started at +0 changes no bit), then adds the bias and applies the fused
 * activation; pooling and batch norm use the layers' float expressions.
 * A batch norm right after a convolution or dense layer with the
 * identity activation is folded into its weight and bias (network/fold.h),
 * which rounds differently from normalising after the sum: outputs then
 * agree to a few float roundings, not to the bit. */
#include "export_c.h"
#include "network/fold.h"
#include "network/network.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

/* ------------------------------------------------------------------------ */
/* The functions the generated code calls                                   */
/* ------------------------------------------------------------------------ */

static const char g_dense_fn[] =
    "/* y[o] = sum_k w[o][k] x[k] + b[o]; w: [n_out x n_in] */\n"
    "static void dense(const float *w, const float *b, const float *x, float *y, int n_in,\n"
    "                  int n_out)\n"
    "{\n"
    "    int o, k;\n"
    "    for (o = 0; o < n_out; o++) {\n"
    "        const float *wr = w + (long)o * n_in;\n"
    "        float acc = 0.0f;\n"
    "        for (k = 0; k < n_in; k++) acc += wr[k] * x[k];\n"
    "        y[o] = acc + b[o];\n"
    "    }\n"
    "}\n\n";

static const char g_conv_fn[] =
    "/* Input c x h x w, output f x oh x ow (channel-major), kernel kh x kw,\n"
    " * stride sh x sw, zero padding ph x pw. */\n"
    "typedef struct conv_shape { int c, h, w, f, oh, ow, kh, kw, sh, sw, ph, pw; } conv_shape;\n\n"
    "/* y[f][oy][ox] = sum over (ci, i, j) of w[f][ci][i][j] x[ci][y0+i][x0+j] + b[f]\n"
    " * (y0 = oy*sh - ph, x0 = ox*sw - pw), the terms outside the input (zero\n"
    " * padding) left out: i in [ilo, ihi), j in [jlo, jhi); w: [f x c x kh x kw] */\n"
    "static void conv(const conv_shape *s, const float *w, const float *b, const float *x,\n"
    "                 float *y)\n"
    "{\n"
    "    int f, oy, ox, ci, i, j;\n"
    "    for (f = 0; f < s->f; f++)\n"
    "        for (oy = 0; oy < s->oh; oy++) {\n"
    "            int y0 = oy * s->sh - s->ph;\n"
    "            int ilo = y0 < 0 ? -y0 : 0, ihi = s->h - y0 < s->kh ? s->h - y0 : s->kh;\n"
    "            for (ox = 0; ox < s->ow; ox++) {\n"
    "                int x0 = ox * s->sw - s->pw;\n"
    "                int jlo = x0 < 0 ? -x0 : 0, jhi = s->w - x0 < s->kw ? s->w - x0 : s->kw;\n"
    "                float acc = 0.0f;\n"
    "                for (ci = 0; ci < s->c; ci++)\n"
    "                    for (i = ilo; i < ihi; i++) {\n"
    "                        const float *xr = x + ((long)ci * s->h + y0 + i) * s->w;\n"
    "                        const float *wr = w + (((long)f * s->c + ci) * s->kh + i) * s->kw;\n"
    "                        for (j = jlo; j < jhi; j++) acc += wr[j] * xr[x0 + j];\n"
    "                    }\n"
    "                y[((long)f * s->oh + oy) * s->ow + ox] = acc + b[f];\n"
    "            }\n"
    "        }\n"
    "}\n\n";

static const char g_pool_shape[] =
    "/* Pooling: c planes h x w -> oh x ow, window kh x kw, stride sh x sw. */\n"
    "typedef struct pool_shape { int c, h, w, oh, ow, kh, kw, sh, sw; } pool_shape;\n\n";

static const char g_maxpool_fn[] =
    "/* y[c][oy][ox] = max of the window at (oy*sh, ox*sw) */\n"
    "static void maxpool(const pool_shape *s, const float *x, float *y)\n"
    "{\n"
    "    int c, oy, ox, i, j;\n"
    "    for (c = 0; c < s->c; c++)\n"
    "        for (oy = 0; oy < s->oh; oy++)\n"
    "            for (ox = 0; ox < s->ow; ox++) {\n"
    "                const float *xw = x + ((long)c * s->h + oy * s->sh) * s->w + ox * s->sw;\n"
    "                float m = xw[0];\n"
    "                for (i = 0; i < s->kh; i++)\n"
    "                    for (j = 0; j < s->kw; j++)\n"
    "                        if (xw[i * s->w + j] > m) m = xw[i * s->w + j];\n"
    "                y[((long)c * s->oh + oy) * s->ow + ox] = m;\n"
    "            }\n"
    "}\n\n";

static const char g_avgpool_fn[] =
    "/* y[c][oy][ox] = mean of the window at (oy*sh, ox*sw) */\n"
    "static void avgpool(const pool_shape *s, const float *x, float *y)\n"
    "{\n"
    "    const float inv = 1.0f / (float)(s->kh * s->kw);\n"
    "    int c, oy, ox, i, j;\n"
    "    for (c = 0; c < s->c; c++)\n"
    "        for (oy = 0; oy < s->oh; oy++)\n"
    "            for (ox = 0; ox < s->ow; ox++) {\n"
    "                const float *xw = x + ((long)c * s->h + oy * s->sh) * s->w + ox * s->sw;\n"
    "                float sum = 0.0f;\n"
    "                for (i = 0; i < s->kh; i++)\n"
    "                    for (j = 0; j < s->kw; j++) sum += xw[i * s->w + j];\n"
    "                y[((long)c * s->oh + oy) * s->ow + ox] = sum * inv;\n"
    "            }\n"
    "}\n\n";

static const char g_gap_fn[] =
    "/* y[c] = mean of plane c (n values) */\n"
    "static void global_avgpool(const float *x, float *y, int c, int n)\n"
    "{\n"
    "    const float inv = 1.0f / (float)n;\n"
    "    int q, i;\n"
    "    for (q = 0; q < c; q++) {\n"
    "        float sum = 0.0f;\n"
    "        for (i = 0; i < n; i++) sum += x[(long)q * n + i];\n"
    "        y[q] = sum * inv;\n"
    "    }\n"
    "}\n\n";

static const char g_bn_fn[] =
    "/* Batch norm at inference: y[q][i] = g[q] ((x[q][i] - m[q]) inv[q]) + b[q],\n"
    " * inv[q] = 1 / sqrt(running variance + eps); c channels of n values */\n"
    "static void batchnorm(const float *g, const float *b, const float *m, const float *inv,\n"
    "                      const float *x, float *y, int c, int n)\n"
    "{\n"
    "    int q, i;\n"
    "    for (q = 0; q < c; q++)\n"
    "        for (i = 0; i < n; i++) {\n"
    "            long k = (long)q * n + i;\n"
    "            y[k] = g[q] * ((x[k] - m[q]) * inv[q]) + b[q];\n"
    "        }\n"
    "}\n\n";

static const struct {
    const char *text;
    size_t bytes;   /* machine code, roughly (Cortex-M4, -Os) */
} g_fns[MN_XFN_COUNT] = {
    {g_dense_fn, 60},    {g_conv_fn, 260},   {g_pool_shape, 0}, {g_maxpool_fn, 140},
    {g_avgpool_fn, 140}, {g_gap_fn, 60},     {g_bn_fn, 80},
};

mynn_status mn_export_c_fold_error(const mn_xlayer *x)
{
    return mn_error(MYNN_ERR_NUMERIC, "mynn_export_c: layer %d (batchnorm) folded into layer %d (%s) "
                    "gives a weight or bias that is not a finite float", x->i + 1, x->i, x->l->ops->name);
}

const char *mn_export_c_fn_text(int k) { return g_fns[k].text; }
size_t mn_export_c_fn_bytes(int k) { return g_fns[k].bytes; }

/* ------------------------------------------------------------------------ */
/* Convolution                                                               */
/* ------------------------------------------------------------------------ */

static size_t conv_nw(const mn_layer *l)
{
    return (size_t)l->out_shape.c * l->in_shape.c * l->kh * l->kw;
}

static size_t conv_bytes(const mn_xlayer *x)
{
    return 4 * (conv_nw(x->l) + (size_t)x->l->out_shape.c) + 12 * sizeof(int);
}

/* The shape, then the weight [F × C × kh × kw] and bias [F] (folded with
 * the batch norm after it, when there is one). */
static mynn_status conv_data(mn_atomic *a, const mn_xlayer *x)
{
    const mn_layer *l = x->l;
    const mn_shape in = l->in_shape, out = l->out_shape;
    size_t nw = conv_nw(l);
    mn_atomic_printf(a, "/* layer %d: conv%s %dx%dx%d -> %dx%dx%d, kernel %dx%d, stride %dx%d, pad %dx%d, %s",
                     x->i, l->dims == 1 ? "1d" : "", in.c, in.h, in.w, out.c, out.h, out.w, l->kh, l->kw,
                     l->sh, l->sw, l->ph, l->pw, mynn_activation_name(l->act));
    if (x->bn) mn_atomic_printf(a, "; the batch norm of layer %d folded in", x->i + 1);
    mn_atomic_printf(a, " */\nstatic const conv_shape l%d_s = {%d, %d, %d, %d, %d, %d, %d, %d, %d, %d, %d, %d};\n",
                     x->i, in.c, in.h, in.w, out.c, out.h, out.w, l->kh, l->kw, l->sh, l->sw, l->ph, l->pw);
    const float *w = l->param, *b = l->param + nw;
    float *fw = NULL;
    if (x->bn) {
        fw = malloc(sizeof(float) * (nw + (size_t)out.c));
        if (!fw) return mn_error(MYNN_ERR_NOMEM, "mynn_export_c: no memory to fold layer %d", x->i + 1);
        mn_fold_bn(l, x->bn, fw, fw + nw);
        w = fw;
        b = fw + nw;
        size_t at;
        if (mn_find_nonfinite(fw, nw + (size_t)out.c, &at)) {
            free(fw);
            return mn_export_c_fold_error(x);
        }
    }
    char name[48];
    snprintf(name, sizeof name, "l%d_w", x->i);
    mynn_status s = mn_cgen_floats(a, name, w, nw);
    snprintf(name, sizeof name, "l%d_b", x->i);
    if (!s) s = mn_cgen_floats(a, name, b, (size_t)out.c);
    free(fw);
    return s;
}

static mynn_status conv_code(mn_atomic *a, const mn_xlayer *x, const char *src, const char *dst)
{
    mn_atomic_printf(a, "    conv(&l%d_s, l%d_w, l%d_b, %s, %s);\n", x->i, x->i, x->i, src, dst);
    return mn_cgen_act_call(a, x->l->act, dst, x->l->n_out);
}

static const mn_layer_gen g_conv = {1, 0, MN_XFN_CONV, conv_bytes, conv_data, conv_code};

/* ------------------------------------------------------------------------ */
/* Pooling                                                                   */
/* ------------------------------------------------------------------------ */

static size_t pool_bytes(const mn_xlayer *x) { (void)x; return 9 * sizeof(int); }

static mynn_status pool_data(mn_atomic *a, const mn_xlayer *x)
{
    const mn_layer *l = x->l;
    const mn_shape in = l->in_shape, out = l->out_shape;
    mn_atomic_printf(a, "/* layer %d: %s%s %dx%dx%d -> %dx%dx%d, window %dx%d, stride %dx%d */\n"
                        "static const pool_shape l%d_s = {%d, %d, %d, %d, %d, %d, %d, %d, %d};\n\n",
                     x->i, l->ops->name, l->dims == 1 ? "1d" : "", in.c, in.h, in.w, out.c, out.h, out.w,
                     l->kh, l->kw, l->sh, l->sw, x->i, in.c, in.h, in.w, out.h, out.w, l->kh, l->kw, l->sh,
                     l->sw);
    return a->status;
}

static mynn_status pool_code(mn_atomic *a, const mn_xlayer *x, const char *src, const char *dst)
{
    mn_atomic_printf(a, "    %s(&l%d_s, %s, %s);\n", x->l->ops->name, x->i, src, dst);
    return a->status;
}

static const mn_layer_gen g_maxpool = {1, 0, MN_XFN_POOL_SHAPE | MN_XFN_MAXPOOL, pool_bytes, pool_data, pool_code};
static const mn_layer_gen g_avgpool = {1, 0, MN_XFN_POOL_SHAPE | MN_XFN_AVGPOOL, pool_bytes, pool_data, pool_code};

static mynn_status gap_code(mn_atomic *a, const mn_xlayer *x, const char *src, const char *dst)
{
    const mn_shape in = x->l->in_shape;
    mn_atomic_printf(a, "    /* layer %d: global average pooling %dx%dx%d -> %d */\n"
                        "    global_avgpool(%s, %s, %d, %d);\n",
                     x->i, in.c, in.h, in.w, in.c, src, dst, in.c, in.h * in.w);
    return a->status;
}

static const mn_layer_gen g_gap = {1, 0, MN_XFN_GAP, NULL, NULL, gap_code};

/* ------------------------------------------------------------------------ */
/* Batch norm that does not fold (after pooling, an activation, ...)         */
/* ------------------------------------------------------------------------ */

static size_t bn_bytes(const mn_xlayer *x) { return 16 * (size_t)x->l->in_shape.c; }

/* γ, β, the running mean, and 1/sqrt(running variance + eps) computed as
 * the layer computes it: the same floats, so the same outputs. */
static mynn_status bn_data(mn_atomic *a, const mn_xlayer *x)
{
    const mn_layer *l = x->l;
    const int C = l->in_shape.c;
    float *inv = malloc(sizeof(float) * (size_t)C);
    if (!inv) return mn_error(MYNN_ERR_NOMEM, "mynn_export_c: no memory for layer %d", x->i);
    size_t at;
    for (int c = 0; c < C; c++) inv[c] = (float)(1.0 / sqrt((double)l->buf[C + c] + (double)l->eps));
    if (mn_find_nonfinite(inv, (size_t)C, &at)) {
        double bad = inv[at];
        free(inv);
        return mn_error(MYNN_ERR_NUMERIC, "mynn_export_c: layer %d (batchnorm): channel %zu's running "
                        "variance %g gives 1/sqrt(var + eps) = %g", x->i, at, (double)l->buf[C + at], bad);
    }
    mn_atomic_printf(a, "/* layer %d: batch norm over %d channels of %d values (running statistics) */\n",
                     x->i, C, l->in_shape.h * l->in_shape.w);
    char name[48];
    snprintf(name, sizeof name, "l%d_g", x->i);
    mynn_status s = mn_cgen_floats(a, name, l->param, (size_t)C);
    snprintf(name, sizeof name, "l%d_b", x->i);
    if (!s) s = mn_cgen_floats(a, name, l->param + C, (size_t)C);
    snprintf(name, sizeof name, "l%d_m", x->i);
    if (!s) s = mn_cgen_floats(a, name, l->buf, (size_t)C);
    snprintf(name, sizeof name, "l%d_inv", x->i);
    if (!s) s = mn_cgen_floats(a, name, inv, (size_t)C);
    free(inv);
    return s;
}

static mynn_status bn_code(mn_atomic *a, const mn_xlayer *x, const char *src, const char *dst)
{
    const mn_shape in = x->l->in_shape;
    mn_atomic_printf(a, "    batchnorm(l%d_g, l%d_b, l%d_m, l%d_inv, %s, %s, %d, %d);\n", x->i, x->i, x->i,
                     x->i, src, dst, in.c, in.h * in.w);
    return a->status;
}

static const mn_layer_gen g_batchnorm = {1, 1, MN_XFN_BATCHNORM, bn_bytes, bn_data, bn_code};

const mn_layer_gen *mn_export_c_conv_gen(mynn_layer_kind k)
{
    switch (k) {
    case MYNN_LAYER_CONV: return &g_conv;
    case MYNN_LAYER_MAXPOOL: return &g_maxpool;
    case MYNN_LAYER_AVGPOOL: return &g_avgpool;
    case MYNN_LAYER_GLOBAL_AVGPOOL: return &g_gap;
    case MYNN_LAYER_BATCHNORM: return &g_batchnorm;
    default: return NULL;
    }
}
