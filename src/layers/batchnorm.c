/* Batch normalisation per channel, PyTorch's nn.BatchNorm2d (after a conv:
 * statistics over N × H × W) and nn.BatchNorm1d (after a dense layer, or a
 * 1-D conv: over N, or N × L).  Spec item batchnorm.  Per channel c with
 * m = N·H·W values:
 *   training  μ = mean(x),  σ² = mean((x - μ)²)  (biased, as PyTorch)
 *             x̂ = (x - μ) / sqrt(σ² + eps),  y = γ x̂ + β
 *             running_mean = (1 - momentum) running_mean + momentum μ
 *             running_var  = (1 - momentum) running_var  + momentum σ² m/(m-1)
 *   eval      y = γ (x - running_mean) / sqrt(running_var + eps) + β
 *   backward  dβ = Σ dy,  dγ = Σ dy x̂,
 *             dx = γ / (m sqrt(σ² + eps)) · (m dy - dβ - x̂ dγ)
 * Parameters: weight γ [C], bias β [C]; buffers running_mean [C],
 * running_var [C]; the cache holds x̂, aux μ and 1/sqrt(σ² + eps).
 * With m = 1 the unbiased variance is undefined (PyTorch refuses to
 * train): running_var is then left as it is.  Sums run in double, one
 * channel per thread, each plane in eight lanes combined in a fixed
 * order: thread-count independent.
 *
 * At inference a batch norm right after a dense or conv layer with the
 * identity activation folds into its weights (mn_bn_fold, used by the C
 * export and int8); the int8 model runs one that does not fold as
 * y = x·s + t (mn_bn_affine). */
#include "layer.h"
#include "emit/cgen.h"
#include "kernels/kernels.h"
#include "batchnorm.ctext.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

/* ctext begin: batchnorm */
/* Batch norm at inference: y[q][i] = g[q] ((x[q][i] - m[q]) inv[q]) + b[q],
 * inv[q] = 1 / sqrt(running variance + eps); c channels of n values */
static void batchnorm(const float *g, const float *b, const float *m, const float *inv,
                      const float *x, float *y, int c, int n)
{
    int q, i;
    for (q = 0; q < c; q++)
        for (i = 0; i < n; i++) {
            long k = (long)q * n + i;
            y[k] = g[q] * ((x[k] - m[q]) * inv[q]) + b[q];
        }
}
/* ctext end */

/* ctext begin: affine */
/* y = x * st[c] + st[nc + c] over nc channels of n values each */
static void affine(const float *x, const float *st, float *y, int nc, int n)
{
    int c, i;
    for (c = 0; c < nc; c++)
        for (i = 0; i < n; i++) y[(long)c * n + i] = x[(long)c * n + i] * st[c] + st[nc + c];
}
/* ctext end */

/* ---- description ---------------------------------------------------------- */

static mynn_status bn_parse(mn_layer *l, const mn_item *it)
{
    mynn_status s = mn_item_bare(it);
    if (s) return s;
    l->momentum = 0.1f;
    l->eps = 1e-5f;
    return MYNN_OK;
}

static void bn_print(const mn_layer *l, char *buf, size_t n)
{
    (void)l;
    snprintf(buf, n, "batchnorm");
}

static void bn_describe(const mn_layer *l, char *buf, size_t n)
{
    (void)l;
    snprintf(buf, n, "-");
}

static mynn_status bn_shape(mn_layer *l, const mn_shape *in, int n_in)
{
    (void)n_in;
    if (l->src[0] == MN_NET_INPUT && l->id == 0)
        return mn_error(MYNN_ERR_ARG, "layer 1 (batchnorm): batch norm cannot be the first layer "
                        "(normalise the inputs instead)");
    l->out_shape = in ? in[0] : (mn_shape){1, 1, 1, 0};
    return MYNN_OK;
}

/* ---- parameters --------------------------------------------------------------- */

static int bn_tensors(const mn_layer *l, mn_tensor_desc d[MN_MAX_TENSORS])
{
    const size_t C = (size_t)l->in_shape.c;
    d[0] = mn_vec_desc("weight", C, 0, 0);
    d[1] = mn_vec_desc("bias", C, C, 0);
    d[2] = mn_vec_desc("running_mean", C, 0, 1);
    d[3] = mn_vec_desc("running_var", C, C, 1);
    return 4;
}

/* Training leaves every running variance >= 0. */
static int bn_check_values(const mn_layer *l, char *why, size_t n)
{
    for (int c = 0; c < l->in_shape.c; c++)
        if (l->buf[l->in_shape.c + c] < 0.0f) {
            snprintf(why, n, "tensor running_var: value %d is a negative variance", c);
            return 1;
        }
    return 0;
}

static size_t bn_aux(const mn_layer *l) { return 2 * (size_t)l->in_shape.c; }
static size_t bn_cache(const mn_layer *l) { return (size_t)l->n_in; }

static void bn_init(mn_layer *l, mynn_init init, mynn_rng *rng)
{
    (void)init;
    (void)rng;
    const int C = l->in_shape.c;
    for (int c = 0; c < C; c++) {
        l->param[c] = 1.0f;
        l->param[C + c] = 0.0f;
        l->buf[c] = 0.0f;
        l->buf[C + c] = 1.0f;
    }
}

/* ---- compute ------------------------------------------------------------------ */

static int bn_threads(const mn_layer *l, int n)
{
    return (size_t)n * l->n_in >= 16384 && l->in_shape.c > 1 ? mn_threads() : 1;
}

/* Sums over one plane of n values, in double, in eight lanes (so the
 * compiler can use vectors) combined in a fixed order: the same bits for
 * any thread count. */
static double plane_sum(const float *x, int n)
{
    double a[8] = {0};
    int i = 0;
    for (; i + 8 <= n; i += 8)
        for (int k = 0; k < 8; k++) a[k] += x[i + k];
    double s = ((a[0] + a[1]) + (a[2] + a[3])) + ((a[4] + a[5]) + (a[6] + a[7]));
    for (; i < n; i++) s += x[i];
    return s;
}

/* Σ (x - m)² over one plane, as plane_sum. */
static double plane_sq(const float *x, double m, int n)
{
    double a[8] = {0};
    int i = 0;
    for (; i + 8 <= n; i += 8)
        for (int k = 0; k < 8; k++) a[k] += (x[i + k] - m) * (x[i + k] - m);
    double s = ((a[0] + a[1]) + (a[2] + a[3])) + ((a[4] + a[5]) + (a[6] + a[7]));
    for (; i < n; i++) s += (x[i] - m) * (x[i] - m);
    return s;
}

/* Σ dy and Σ dy·x̂ over one plane, as plane_sum. */
static void plane_dots(const float *dy, const float *h, int n, double *sb, double *sg)
{
    double a[8] = {0}, b[8] = {0};
    int i = 0;
    for (; i + 8 <= n; i += 8)
        for (int k = 0; k < 8; k++) {
            a[k] += dy[i + k];
            b[k] += (double)dy[i + k] * h[i + k];
        }
    double s = ((a[0] + a[1]) + (a[2] + a[3])) + ((a[4] + a[5]) + (a[6] + a[7]));
    double g = ((b[0] + b[1]) + (b[2] + b[3])) + ((b[4] + b[5]) + (b[6] + b[7]));
    for (; i < n; i++) {
        s += dy[i];
        g += (double)dy[i] * h[i];
    }
    *sb += s;
    *sg += g;
}

/* 1 / sqrt(running_var[c] + eps), in double, rounded once. */
static float running_inv(const mn_layer *l, int c)
{
    return (float)(1.0 / sqrt((double)l->buf[l->in_shape.c + c] + (double)l->eps));
}

/* x: [n × C×S] -> Y: [n × C×S] (S = H·W) */
static void bn_forward(mn_layer *l, const float *const *xs, float *y, int n, int training)
{
    const float *x = xs[0];
    const int C = l->in_shape.c, S = l->in_shape.h * l->in_shape.w;
    const float *gamma = l->param, *beta = l->param + C;
    float *rmean = l->buf, *rvar = l->buf + C, *mu = l->aux, *istd = l->aux + C;
    const double m = (double)n * S;
    MN_FOR_SHARE(C, bn_threads(l, n), lo_, hi_,
    for (int c = (int)lo_; c < (int)hi_; c++) {
        if (!training) {
            const float inv = running_inv(l, c);
            for (int s = 0; s < n; s++) {
                size_t o = ((size_t)s * C + c) * S;
                batchnorm(gamma + c, beta + c, rmean + c, &inv, x + o, y + o, 1, S);
            }
            continue;
        }
        double sum = 0.0, sq = 0.0;
        for (int s = 0; s < n; s++) sum += plane_sum(x + ((size_t)s * C + c) * S, S);
        double dm = sum / m;
        for (int s = 0; s < n; s++) sq += plane_sq(x + ((size_t)s * C + c) * S, dm, S);
        double var = sq / m;
        const float mean = (float)dm, inv = (float)(1.0 / sqrt(var + (double)l->eps));
        mu[c] = mean;
        istd[c] = inv;
        rmean[c] = (1.0f - l->momentum) * rmean[c] + l->momentum * mean;
        if (m > 1.0) rvar[c] = (1.0f - l->momentum) * rvar[c] + l->momentum * (float)(var * m / (m - 1.0));
        for (int s = 0; s < n; s++) {
            size_t o = ((size_t)s * C + c) * S;
            const float *xp = x + o;
            float *yp = y + o, *hp = l->cache + o;
            for (int i = 0; i < S; i++) {
                hp[i] = (xp[i] - mean) * inv;
                yp[i] = gamma[c] * hp[i] + beta[c];
            }
        }
    });
}

static void bn_infer(const mn_layer *l, const float *const *x, float *y, int cnt)
{
    const int C = l->in_shape.c, S = l->in_shape.h * l->in_shape.w;
    for (int c = 0; c < C; c++) {
        const float inv = running_inv(l, c);
        for (int s = 0; s < cnt; s++) {
            size_t o = ((size_t)s * C + c) * S;
            batchnorm(l->param + c, l->param + C + c, l->buf + c, &inv, x[0] + o, y + o, 1, S);
        }
    }
}

/* dY: [n × C×S] -> dγ, dβ: [C], dX: [n × C×S] */
static void bn_backward(mn_layer *l, const float *const *xs, const float *y, float *dy, int dy_is_dz,
                        float *const *dxs, int n)
{
    (void)xs;
    (void)y;
    (void)dy_is_dz;
    float *dx = dxs[0];
    const int C = l->in_shape.c, S = l->in_shape.h * l->in_shape.w;
    const float *gamma = l->param, *istd = l->aux + C;
    float *dgamma = l->grad, *dbeta = l->grad + C;
    const double m = (double)n * S;
    MN_FOR_SHARE(C, bn_threads(l, n), lo_, hi_,
    for (int c = (int)lo_; c < (int)hi_; c++) {
        double sb = 0.0, sg = 0.0;
        for (int s = 0; s < n; s++) {
            size_t o = ((size_t)s * C + c) * S;
            plane_dots(dy + o, l->cache + o, S, &sb, &sg);
        }
        dbeta[c] = (float)sb;
        dgamma[c] = (float)sg;
        if (!dx) continue;
        const float k = (float)(gamma[c] * istd[c] / m), db = (float)sb, dg = (float)sg, mf = (float)m;
        for (int s = 0; s < n; s++) {
            size_t o = ((size_t)s * C + c) * S;
            for (int i = 0; i < S; i++) dx[o + i] = k * (mf * dy[o + i] - db - l->cache[o + i] * dg);
        }
    });
}

/* ---- folding and the affine form ---------------------------------------------- */

/* s[c] = γ[c] / sqrt(var[c] + eps), in double. */
static double bn_scale(const mn_layer *bn, int c)
{
    return (double)bn->param[c] / sqrt((double)bn->buf[bn->in_shape.c + c] + (double)bn->eps);
}

void mn_bn_fold(const mn_layer *l, const mn_layer *bn, float *w, float *b)
{
    const int C = l->out_shape.c;
    const size_t K = (mn_layer_params(l) - (size_t)C) / (size_t)C;
    const float *lw = l->param, *lb = l->param + (size_t)C * K;
    const float *beta = bn->param + C, *mean = bn->buf;
    for (int c = 0; c < C; c++) {
        double s = bn_scale(bn, c);
        for (size_t k = 0; k < K; k++) w[(size_t)c * K + k] = (float)((double)lw[(size_t)c * K + k] * s);
        b[c] = (float)(((double)lb[c] - mean[c]) * s + beta[c]);
    }
}

void mn_bn_affine(const mn_layer *bn, float *s, float *t)
{
    const int C = bn->in_shape.c;
    const float *beta = bn->param + C, *mean = bn->buf;
    for (int c = 0; c < C; c++) {
        double sc = bn_scale(bn, c);
        s[c] = (float)sc;
        t[c] = (float)((double)beta[c] - (double)mean[c] * sc);
    }
}

/* The int8 model's form: y = x·s[c] + t[c]. */
static void bn_qinfer(const mn_layer *l, const float *const *x, float *y, int cnt)
{
    const int C = l->in_shape.c, S = l->in_shape.h * l->in_shape.w;
    for (int c = 0; c < C; c++) {
        double sc = bn_scale(l, c);
        const float st[2] = {(float)sc, (float)((double)l->param[C + c] - (double)l->buf[c] * sc)};
        for (int s = 0; s < cnt; s++) {
            size_t o = ((size_t)s * C + c) * S;
            affine(x[0] + o, st, y + o, 1, S);
        }
    }
}

/* ---- ONNX ------------------------------------------------------------------ */

/* Inference form: γ (x - running_mean) / sqrt(running_var + eps) + β per channel. */
static mynn_status bn_onnx(mn_onnx *g, const mn_layer *l, const char *prefix, const mn_ovalue *in, int n_in,
                           mn_ovalue *out)
{
    (void)n_in;
    char t[MN_MAX_TENSORS][MN_ONNX_NAME];
    if (mn_onnx_tensors(g, l, prefix, t)) return MYNN_ERR_NOMEM;
    *out = in[0];
    const char *ins[5] = {in[0].name, t[0], t[1], t[2], t[3]};   /* scale, B, mean, var */
    mn_onode *node = mn_onnx_node(g, "BatchNormalization", prefix, "out", ins, 5, out);
    if (!node) return MYNN_ERR_NOMEM;
    mn_onnx_attr_float(node, "epsilon", l->eps);
    mn_onnx_attr_float(node, "momentum", 1.0f - l->momentum);   /* ONNX weighs the old value */
    return MYNN_OK;
}

/* ---- standalone C ------------------------------------------------------------------ */

/* γ, β, the running mean, and 1/sqrt(running variance + eps) computed as
 * the layer computes it: the same floats, so the same outputs. */
static mynn_status bn_c_data(mn_atomic *a, const mn_cnode *x, size_t *bytes)
{
    const mn_layer *l = x->l;
    const int C = l->in_shape.c;
    *bytes = 16 * (size_t)C;
    if (!a) return MYNN_OK;
    float *inv = malloc(sizeof(float) * (size_t)C);
    if (!inv) return mn_error(MYNN_ERR_NOMEM, "mynn_export_c: no memory for layer %d", x->id);
    for (int c = 0; c < C; c++) {
        inv[c] = running_inv(l, c);
        if (!isfinite(inv[c])) {
            double bad = inv[c];
            free(inv);
            return mn_error(MYNN_ERR_NUMERIC, "mynn_export_c: layer %d (batchnorm): channel %d's running "
                            "variance %g gives 1/sqrt(var + eps) = %g", x->id, c, (double)l->buf[C + c], bad);
        }
    }
    mn_atomic_printf(a, "/* layer %d: batch norm over %d channels of %d values (running statistics) */\n",
                     x->id, C, l->in_shape.h * l->in_shape.w);
    char name[48];
    snprintf(name, sizeof name, "l%d_g", x->id);
    mynn_status s = mn_cgen_floats(a, name, l->param, (size_t)C);
    snprintf(name, sizeof name, "l%d_b", x->id);
    if (!s) s = mn_cgen_floats(a, name, l->param + C, (size_t)C);
    snprintf(name, sizeof name, "l%d_m", x->id);
    if (!s) s = mn_cgen_floats(a, name, l->buf, (size_t)C);
    snprintf(name, sizeof name, "l%d_inv", x->id);
    if (!s) s = mn_cgen_floats(a, name, inv, (size_t)C);
    free(inv);
    return s;
}

static mynn_status bn_c_code(mn_atomic *a, const mn_cnode *x, const char *const *src, int n_src, const char *dst)
{
    (void)n_src;
    const mn_shape in = x->l->in_shape;
    mn_atomic_printf(a, "    batchnorm(l%d_g, l%d_b, l%d_m, l%d_inv, %s, %s, %d, %d);\n", x->id, x->id, x->id,
                     x->id, src[0], dst, in.c, in.h * in.w);
    return a->status;
}

/* The int8 model's batch norm: s then t [2C]. */
static mynn_status bn_qc_data(mn_atomic *a, const mn_cnode *x, size_t *bytes)
{
    const int C = x->l->in_shape.c;
    *bytes = 8 * (size_t)C;
    if (!a) return MYNN_OK;
    float *st = malloc(sizeof(float) * 2 * (size_t)C);
    if (!st) return mn_error(MYNN_ERR_NOMEM, "mynn_qexport_c: no memory for layer %d", x->id);
    mn_bn_affine(x->l, st, st + C);
    mn_atomic_printf(a, "/* layer %d: batch norm as y = x * s + t per channel (s, then t) */\n", x->id);
    char name[48];
    snprintf(name, sizeof name, "l%d_st", x->id);
    mynn_status s = mn_cgen_floats(a, name, st, 2 * (size_t)C);
    free(st);
    return s;
}

static mynn_status bn_qc_code(mn_atomic *a, const mn_cnode *x, const char *const *src, int n_src,
                              const char *dst, const char *shift, const char *scale)
{
    (void)n_src;
    (void)shift;
    (void)scale;
    const mn_shape in = x->l->in_shape;
    mn_atomic_printf(a, "    affine(%s, l%d_st, %s, %d, %d);\n", src[0], x->id, dst, in.c, in.h * in.w);
    return a->status;
}

static const char *const bn_names[] = {"batchnorm", NULL};

const mn_kind mn_batchnorm_kind = {
    .id = MYNN_LAYER_BATCHNORM, .name = "batchnorm", .spec_names = bn_names, .max_inputs = 1,
    .parse = bn_parse, .print = bn_print, .describe = bn_describe, .shape = bn_shape,
    .tensors = bn_tensors, .check_values = bn_check_values, .init = bn_init, .cache_per_sample = bn_cache, .aux_size = bn_aux,
    .forward = bn_forward, .backward = bn_backward, .infer = bn_infer,
    .onnx = bn_onnx,
    .c_text = mn_ctext_batchnorm, .c_text_bytes = 80, .c_in_place = 1, .c_data = bn_c_data, .c_code = bn_c_code,
    .q_role = MN_Q_FLOAT, .qinfer = bn_qinfer,
    .qc_text = mn_ctext_affine, .qc_text_bytes = 60, .qc_data = bn_qc_data, .qc_code = bn_qc_code,
};
