/* Convolution (2-D, and 1-D as a 2-D one of height 1) with a fused
 * activation, lowered to our GEMM through im2col (kernels/im2col.c).
 * Spec items conv:F:K[xK2][:ACT][:stride=S][:pad=P|same] (conv2d too) and
 * conv1d:F:K[:ACT][:stride=S][:pad=P|same]; PyTorch's nn.Conv2d / nn.Conv1d.
 *
 * Per sample: input C × H × W, weight [F × C × kh × kw] (nn.Conv1d's
 * [F × C × k] is the same floats), bias [F], output F × OH × OW with
 * OH = (H + 2ph - kh)/sh + 1, OW likewise; P = OH·OW, K = C·kh·kw.  For a
 * chunk of s samples (col and Z hold the chunk's columns side by side):
 *   forward   col = im2col(X)              [K × s·P]
 *             Z = W · col + B              [F × s·P]   (cache)
 *             Y[n][f][p] = act(Z[f][n·P + p])          (NCHW)
 *   backward  dZ = act'(Z) ⊙ dY            [F × s·P]   (over Z in the cache;
 *                                                      ReLU reads only Y)
 *             dB = Σ_cols dZ,  dW += dZ · colᵀ
 *             dX = col2im(Wᵀ · dZ)
 * Chunks bound the shared workspace (col) to about CONV_WORK_FLOATS; the
 * chunk size depends only on the layer's shape, so results do not depend
 * on the batch size limit or the thread count. */
#include "layer.h"
#include "activations/activation.h"
#include "emit/cgen.h"
#include "kernels/kernels.h"
#include "kernels/qgemm.h"

#include <stdio.h>
#include <string.h>

#define CONV_WORK_FLOATS ((size_t)256 << 10)   /* 1 MiB: the columns stay in L2 for the product */

/* ---- description ---------------------------------------------------------- */

/* conv:F:K[xK2][:ACT][:stride=S][:pad=P|same]  (conv1d: K only) */
static mynn_status conv_parse(mn_layer *l, const mn_item *it)
{
    static const char *const keys[] = {"stride", "pad", NULL};
    mynn_status s = mn_item_keys(it, keys);
    if (s) return s;
    const int dims = strcmp(it->kind, "conv1d") == 0 ? 1 : 2;
    if (it->n_pos < 2 || it->n_pos > 3)
        return mn_item_error(it, dims == 1 ? "expected conv1d:FILTERS:K[:ACT][:stride=S][:pad=P|same]"
                                           : "expected conv:FILTERS:K[:ACT][:stride=S][:pad=P|same]");
    if (mn_item_int(it->pos[0], 1, 1 << 24, &l->units)) return mn_item_error(it, "FILTERS must be a count >= 1");
    l->kh = 1;
    if (dims == 1 ? mn_item_int(it->pos[1], 1, 4096, &l->kw) : mn_item_pair(it->pos[1], &l->kh, &l->kw))
        return mn_item_error(it, dims == 1 ? "K must be a kernel size >= 1"
                                           : "K must be a kernel size >= 1 (or KxK)");
    l->act = MYNN_ACT_IDENTITY;
    if (it->n_pos == 3 && (s = mn_item_act(it, it->pos[2], &l->act))) return s;
    int stride = 1, pad = 0;
    const char *v;
    if ((v = mn_item_key(it, "stride")) && mn_item_int(v, 1, 4096, &stride))
        return mn_item_error(it, "stride must be an integer >= 1");
    if ((v = mn_item_key(it, "pad"))) {
        if (strcmp(v, "same") == 0) l->pad_same = 1;
        else if (mn_item_int(v, 0, 4096, &pad)) return mn_item_error(it, "pad must be an integer >= 0 or same");
    }
    l->dims = dims;
    l->sh = dims == 1 ? 1 : stride;
    l->sw = stride;
    l->ph = dims == 1 ? 0 : pad;
    l->pw = pad;
    return MYNN_OK;
}

static void conv_print(const mn_layer *l, char *buf, size_t n)
{
    char k[24], pad[16];
    if (l->dims == 1 || l->kh == l->kw) snprintf(k, sizeof k, "%d", l->kw);
    else snprintf(k, sizeof k, "%dx%d", l->kh, l->kw);
    /* unequal paddings only come from pad=same with a non-square kernel */
    if (l->dims == 1 || l->ph == l->pw) snprintf(pad, sizeof pad, "%d", l->pw);
    else snprintf(pad, sizeof pad, "same");
    snprintf(buf, n, "conv%s:%d:%s:%s:stride=%d:pad=%s", l->dims == 1 ? "1d" : "", l->units, k,
             mynn_activation_name(l->act), l->sw, pad);
}

static void conv_describe(const mn_layer *l, char *buf, size_t n)
{
    if (l->dims == 1)
        snprintf(buf, n, "k%d s%d p%d %s", l->kw, l->sw, l->pw, mynn_activation_name(l->act));
    else
        snprintf(buf, n, "%dx%d s%d p%d %s", l->kh, l->kw, l->sw, l->pw, mynn_activation_name(l->act));
}

static mynn_status conv_shape(mn_layer *l, const mn_shape *ins, int n_in)
{
    (void)n_in;
    const char *kind = l->dims == 1 ? "conv1d" : "conv";
    const int index = l->id + 1;
    if (l->units < 1 || l->units > MN_MAX_UNITS)
        return mn_error(MYNN_ERR_ARG, "layer %d (%s): filters must be in 1..%d, got %d", index, kind,
                        MN_MAX_UNITS, l->units);
    if (l->kh < 1 || l->kw < 1 || l->kh > 4096 || l->kw > 4096)
        return mn_error(MYNN_ERR_ARG, "layer %d (%s): kernel must be in 1..4096, got %d×%d", index, kind,
                        l->kh, l->kw);
    if (l->sw < 1 || l->sw > 4096)
        return mn_error(MYNN_ERR_ARG, "layer %d (%s): stride must be >= 1, got %d", index, kind, l->sw);
    if ((unsigned)l->act >= MYNN_ACT_COUNT || l->act == MYNN_ACT_SOFTMAX)
        return mn_error(MYNN_ERR_ARG, "layer %d (%s): activation must be element-wise (not softmax)", index,
                        kind);
    if (l->pad_same) {
        if (l->sw != 1 || l->kh % 2 == 0 || l->kw % 2 == 0)
            return mn_error(MYNN_ERR_ARG, "layer %d (%s): pad=same needs stride 1 and an odd kernel, "
                            "got stride %d, kernel %d×%d", index, kind, l->sw, l->kh, l->kw);
        l->ph = l->dims == 1 ? 0 : (l->kh - 1) / 2;
        l->pw = (l->kw - 1) / 2;
    } else if (l->pw < 0 || l->pw > 4096) {
        return mn_error(MYNN_ERR_ARG, "layer %d (%s): padding must be >= 0 or same, got %d", index, kind, l->pw);
    }
    if (!ins) {
        l->out_shape = (mn_shape){l->units, 1, 1, 0};
        return MYNN_OK;
    }
    const mn_shape in = ins[0];
    if (l->dims == 1 && in.h != 1) return mn_shape_error(l, in, "is not C×L (height %d, expected 1)", in.h);
    int fit_h = in.h + 2 * l->ph, fit_w = in.w + 2 * l->pw;
    if (l->kh == l->kw && l->dims == 2 && (l->kh > fit_h || l->kw > fit_w))
        return mn_shape_error(l, in, "needs kernel ≤ %d, got %d", fit_h < fit_w ? fit_h : fit_w, l->kw);
    if (l->kh > fit_h) return mn_shape_error(l, in, "needs kernel height ≤ %d, got %d", fit_h, l->kh);
    if (l->kw > fit_w)
        return mn_shape_error(l, in, l->dims == 1 ? "needs kernel ≤ %d, got %d" : "needs kernel width ≤ %d, got %d",
                              fit_w, l->kw);
    size_t k;
    if (mn_mul_size((size_t)in.c * l->kh, (size_t)l->kw, &k) || k > MN_MAX_UNITS)
        return mn_shape_error(l, in, "with a %d×%d kernel has too many weights per filter", l->kh, l->kw);
    l->out_shape = (mn_shape){l->units, mn_slide(in.h, l->kh, l->sh, l->ph), mn_slide(in.w, l->kw, l->sw, l->pw), 0};
    return MYNN_OK;
}

/* ---- parameters --------------------------------------------------------------- */

static size_t conv_k(const mn_layer *l) { return (size_t)l->in_shape.c * l->kh * l->kw; }
static size_t conv_p(const mn_layer *l) { return (size_t)l->out_shape.h * l->out_shape.w; }

static int conv_tensors(const mn_layer *l, mn_tensor_desc d[MN_MAX_TENSORS])
{
    size_t out = (size_t)l->out_shape.c, in = (size_t)l->in_shape.c;
    if (l->dims == 1)
        d[0] = (mn_tensor_desc){"weight", 3, {out, in, (size_t)l->kw, 0}, 0, 0, 0};
    else
        d[0] = (mn_tensor_desc){"weight", 4, {out, in, (size_t)l->kh, (size_t)l->kw}, 0, 0, 0};
    d[0].count = out * in * (size_t)l->kh * l->kw;
    d[1] = mn_vec_desc("bias", out, d[0].count, 0);
    return 2;
}

static size_t conv_cache(const mn_layer *l) { return (size_t)l->n_out; }

/* Samples per im2col chunk. */
static int conv_chunk(const mn_layer *l)
{
    size_t per = conv_k(l) * conv_p(l), c = CONV_WORK_FLOATS / (per ? per : 1);
    return c < 1 ? 1 : c > (1 << 20) ? (1 << 20) : (int)c;
}

static size_t conv_work(const mn_layer *l, int max_batch)
{
    int c = conv_chunk(l);
    return conv_k(l) * conv_p(l) * (size_t)(max_batch < c ? max_batch : c);
}

/* The dense layer's He/Xavier bounds with fan_in = C·kh·kw and fan_out =
 * F·kh·kw (PyTorch's own default for Conv2d is the narrower
 * U(±1/sqrt(fan_in))). */
static void conv_init(mn_layer *l, mynn_init init, mynn_rng *rng)
{
    size_t nw = (size_t)l->out_shape.c * conv_k(l);
    mn_init_weights(l->param, nw, l->param + nw, (size_t)l->out_shape.c, init, l->act, (double)conv_k(l),
                    (double)l->out_shape.c * l->kh * l->kw, rng);
}

/* ---- compute ------------------------------------------------------------------ */

static void lower(const mn_layer *l, const float *x, int s, float *col)
{
    mn_im2col(x, s, l->in_shape.c, l->in_shape.h, l->in_shape.w, l->kh, l->kw, l->sh, l->sw, l->ph, l->pw,
              l->out_shape.h, l->out_shape.w, col);
}

/* One P-long row of filter f for sample s: z += b, y = act(z).  ReLU and
 * identity, the common cases, in one vectorisable sweep. */
static void row_forward(mynn_activation act, float *restrict z, float b, float *restrict y, size_t P)
{
    if (act == MYNN_ACT_RELU) {   /* backward needs only y > 0: z is not written back */
        for (size_t p = 0; p < P; p++) {
            float v = z[p] + b;
            y[p] = v > 0.0f ? v : 0.0f;
        }
        return;
    }
    for (size_t p = 0; p < P; p++) z[p] += b;
    mn_act_forward(act, z, y, 1, (int)P);
}

/* dz = act'(z) ⊙ dy over z; returns Σ dz in the row's order. */
static float row_backward(mynn_activation act, float *restrict z, const float *restrict y,
                          const float *restrict dy, size_t P)
{
    float sum = 0.0f;
    if (act == MYNN_ACT_RELU) {   /* z > 0 exactly where y > 0 */
        for (size_t p = 0; p < P; p++) {
            float g = y[p] > 0.0f ? dy[p] : 0.0f;
            z[p] = g;
            sum += g;
        }
        return sum;
    }
    mn_act_backward(act, z, y, dy, z, 1, (int)P);
    for (size_t p = 0; p < P; p++) sum += z[p];
    return sum;
}

/* Z += B, then Y = act(Z) written in NCHW order; threads take filters. */
static void bias_act(const mn_layer *l, float *z, const float *b, float *y, int n)
{
    const int F = l->out_shape.c;
    const size_t P = conv_p(l), cols = (size_t)n * P;
    int nt = (size_t)F * cols >= 16384 ? mn_threads() : 1;
    MN_FOR_SHARE(F, nt, lo_, hi_,
    for (int f = (int)lo_; f < (int)hi_; f++) {
        float *zf = z + (size_t)f * cols;
        for (int s = 0; s < n; s++) row_forward(l->act, zf + (size_t)s * P, b[f], y + ((size_t)s * F + f) * P, P);
    });
}

/* dZ = act'(Z) ⊙ dY over Z, and dB; each filter summed in one fixed order. */
static void act_back_bias(const mn_layer *l, float *z, const float *y, const float *dy, float *db, int n)
{
    const int F = l->out_shape.c;
    const size_t P = conv_p(l), cols = (size_t)n * P;
    int nt = (size_t)F * cols >= 16384 ? mn_threads() : 1;
    MN_FOR_SHARE(F, nt, lo_, hi_,
    for (int f = (int)lo_; f < (int)hi_; f++) {
        float *zf = z + (size_t)f * cols, sum = 0.0f;
        for (int s = 0; s < n; s++) {
            size_t o = ((size_t)s * F + f) * P;
            sum += row_backward(l->act, zf + (size_t)s * P, y + o, dy + o, P);
        }
        db[f] = sum;
    });
}

/* x: [n × C×H×W] -> Z (cache): [F × n·P], Y: [n × F×OH×OW] */
static void conv_forward(mn_layer *l, const float *const *xs, float *y, int n, int training)
{
    (void)training;
    const float *x = xs[0];
    const int F = l->out_shape.c, K = (int)conv_k(l), P = (int)conv_p(l), chunk = conv_chunk(l);
    const float *w = l->param, *b = l->param + (size_t)F * K;
    const int ld = n * P;
    for (int s0 = 0; s0 < n; s0 += chunk) {
        int s = n - s0 < chunk ? n - s0 : chunk;
        lower(l, x + (size_t)s0 * l->n_in, s, l->work);
        mn_sgemm(0, 0, F, s * P, K, 1.0f, w, K, l->work, s * P, 0.0f, l->cache + (size_t)s0 * P, ld);
    }
    bias_act(l, l->cache, b, y, n);
}

/* dY: [n × F×OH×OW] -> dW: [F × K], dB: [F], dX: [n × C×H×W] */
static void conv_backward(mn_layer *l, const float *const *xs, const float *y, float *dy, int dy_is_dz,
                          float *const *dxs, int n)
{
    (void)dy_is_dz; /* never the output layer */
    const float *x = xs[0];
    float *dx = dxs[0];
    const int F = l->out_shape.c, K = (int)conv_k(l), P = (int)conv_p(l), chunk = conv_chunk(l);
    const float *w = l->param;
    float *dw = l->grad, *db = l->grad + (size_t)F * K, *dz = l->cache;
    const int ld = n * P;
    act_back_bias(l, dz, y, dy, db, n);
    for (int s0 = 0; s0 < n; s0 += chunk) {
        int s = n - s0 < chunk ? n - s0 : chunk;
        const float *dzc = dz + (size_t)s0 * P;
        lower(l, x + (size_t)s0 * l->n_in, s, l->work);
        mn_sgemm(0, 1, F, K, s * P, 1.0f, dzc, ld, l->work, s * P, s0 ? 1.0f : 0.0f, dw, K);
        if (!dx) continue;
        mn_sgemm(1, 0, K, s * P, F, 1.0f, w, K, dzc, ld, 0.0f, l->work, s * P);
        mn_col2im(l->work, s, l->in_shape.c, l->in_shape.h, l->in_shape.w, l->kh, l->kw, l->sh, l->sw, l->ph,
                  l->pw, l->out_shape.h, l->out_shape.w, dx + (size_t)s0 * l->n_in);
    }
}

/* ---- ONNX ------------------------------------------------------------------ */

/* kernel_shape, strides and pads of the window (1-D or 2-D). */
static void window_attrs(mn_onode *node, const mn_layer *l)
{
    int64_t k[2] = {l->kh, l->kw}, s[2] = {l->sh, l->sw}, p[4] = {l->ph, l->pw, l->ph, l->pw};
    int two = l->dims == 2;
    int64_t p1[2] = {l->pw, l->pw};
    mn_onnx_attr_ints(node, "kernel_shape", two ? k : k + 1, two ? 2 : 1);
    mn_onnx_attr_ints(node, "strides", two ? s : s + 1, two ? 2 : 1);
    mn_onnx_attr_ints(node, "pads", two ? p : p1, two ? 4 : 2);   /* begins, then ends */
}

/* x: [N, C, (H,) W] -> Conv(x, W [F, C, (kh,) kw], B [F]) -> f. */
static mynn_status conv_onnx(mn_onnx *g, const mn_layer *l, const char *prefix, const mn_ovalue *in,
                             int n_in, mn_ovalue *out)
{
    (void)n_in;
    mynn_status s = mn_onnx_spatial(l, prefix, &in[0]);
    if (s) return s;
    char t[MN_MAX_TENSORS][MN_ONNX_NAME];
    if (mn_onnx_tensors(g, l, prefix, t)) return MYNN_ERR_NOMEM;
    *out = in[0];
    const char *ins[3] = {in[0].name, t[0], t[1]};
    mn_onode *node = mn_onnx_node(g, "Conv", prefix, l->act == MYNN_ACT_IDENTITY ? "out" : "conv", ins, 3, out);
    if (!node) return MYNN_ERR_NOMEM;
    window_attrs(node, l);
    return mn_onnx_activation(g, l->act, prefix, out);
}

/* ---- standalone C ------------------------------------------------------------------ */

/* The generated loops sum a filter's terms in the weight's (channel, row,
 * column) order from 0.0f, as the reference GEMM over im2col's columns
 * does (the zero-padding terms are left out: adding a product with 0 to a
 * sum that started at +0 changes no bit), then add the bias. */
static const char conv_c_text[] =
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

/* The shape, then the weight [F × C × kh × kw] and bias [F] (folded with
 * the batch norm after it, when there is one). */
static mynn_status conv_c_data(mn_atomic *a, const mn_cnode *x, size_t *bytes)
{
    const mn_layer *l = x->l;
    const mn_shape in = l->in_shape, out = l->out_shape;
    *bytes = 4 * mn_layer_params(l) + 12 * sizeof(int);
    if (!a) return MYNN_OK;
    mn_atomic_printf(a, "/* layer %d: conv%s %dx%dx%d -> %dx%dx%d, kernel %dx%d, stride %dx%d, pad %dx%d, %s",
                     x->id, l->dims == 1 ? "1d" : "", in.c, in.h, in.w, out.c, out.h, out.w, l->kh, l->kw,
                     l->sh, l->sw, l->ph, l->pw, mynn_activation_name(l->act));
    if (x->bn) mn_atomic_printf(a, "; the batch norm of layer %d folded in", x->bn->id);
    mn_atomic_printf(a, " */\nstatic const conv_shape l%d_s = {%d, %d, %d, %d, %d, %d, %d, %d, %d, %d, %d, %d};\n",
                     x->id, in.c, in.h, in.w, out.c, out.h, out.w, l->kh, l->kw, l->sh, l->sw, l->ph, l->pw);
    return mn_c_weights(a, x->id, l, x->bn);
}

static mynn_status conv_c_code(mn_atomic *a, const mn_cnode *x, const char *const *src, int n_src,
                               const char *dst)
{
    (void)n_src;
    mn_atomic_printf(a, "    conv(&l%d_s, l%d_w, l%d_b, %s, %s);\n", x->id, x->id, x->id, src[0], dst);
    return mn_cgen_act_call(a, x->l->act, dst, x->l->n_out);
}

/* ---- int8 ------------------------------------------------------------------------ */

static void conv_q_shape(const mn_layer *l, mn_qweights *q)
{
    q->n_in = (int)conv_k(l);
    q->n_out = l->out_shape.c;
    q->positions = (int)conv_p(l);
    q->image = (size_t)l->in_shape.c * (l->in_shape.h + 2 * l->ph) * (l->in_shape.w + 2 * l->pw);
}

/* One sample's image x [C × H × W] (or its transform) quantised into qp,
 * zero-padded as the conv pads: [C × (H + 2ph) × (W + 2pw)], border 128. */
static void quantize_padded(const mn_layer *l, float inv, const float *x, const float *shift,
                            const float *scale, uint8_t *qp)
{
    const int C = l->in_shape.c, H = l->in_shape.h, W = l->in_shape.w;
    const int ph = l->ph, pw = l->pw, Hp = H + 2 * ph, Wp = W + 2 * pw;
    if (!ph && !pw) {
        mn_quantize_rows_serial(x, shift, scale, 1, C * H * W, inv, qp, C * H * W);
        return;
    }
    memset(qp, 128, (size_t)C * Hp * Wp);
    for (int ci = 0; ci < C; ci++)
        for (int yy = 0; yy < H; yy++) {
            size_t o = ((size_t)ci * H + yy) * W;
            mn_quantize_rows_serial(x + o, shift ? shift + o : NULL, shift ? scale + o : NULL, 1, W, inv,
                                    qp + ((size_t)ci * Hp + yy + ph) * Wp + pw, W);
        }
}

/*   q    = mn_q8(x / in_scale) + 128         per sample C × H × W bytes
 *   rows = mn_qim2row(q)                    [P × kpad(K)] per sample, K = C·kh·kw
 *   acc  = rows · wᵀ                         int32 [c·P × F]
 *   z[s][f][p] = acc[s·P + p][f] · (in_scale · w_scale[f]) + b[f],
 *   y = f(z)                                float NCHW [c × F×OH×OW] */
static void conv_qforward(const mn_layer *l, const mn_qweights *q, const mn_qscratch *sc, const float *x,
                          const float *shift, const float *scale, int c, float *z, float *y)
{
    (void)z;
    const int kp = mn_qgemm_kpad(q->n_in), P = q->positions, F = q->n_out;
    const int Hp = l->in_shape.h + 2 * l->ph, Wp = l->in_shape.w + 2 * l->pw;
    const size_t per = (size_t)P * kp;
    for (int s = 0; s < c; s++) {
        quantize_padded(l, q->in_inv, x + (size_t)s * l->n_in, shift, scale, sc->image);
        mn_qim2row(sc->image, l->in_shape.c, Hp, Wp, l->kh, l->kw, l->sh, l->sw, l->out_shape.h,
                   l->out_shape.w, sc->rows + s * per, kp);
    }
    mn_qgemm_serial(c * P, F, q->n_in, sc->rows, kp, q->wp, q->corr, sc->acc, F);
    for (int s = 0; s < c; s++) {
        const int32_t *as = sc->acc + (size_t)s * P * F;
        for (int f = 0; f < F; f++) {
            float *yf = y + ((size_t)s * F + f) * P, m = q->mult[f], b = q->bias[f];
            if (l->act == MYNN_ACT_RELU)
                for (int p = 0; p < P; p++) {
                    float v = (float)as[(size_t)p * F + f] * m + b;
                    yf[p] = v > 0.0f ? v : 0.0f;
                }
            else {
                for (int p = 0; p < P; p++) yf[p] = (float)as[(size_t)p * F + f] * m + b;
                mn_act_forward(l->act, yf, yf, 1, P);   /* per plane, as the float conv */
            }
        }
    }
}

/* The int8 convolution: the same sums as the library's patch rows, the
 * padding's (zero) terms left out. */
static const char conv_qc_text[] =
    "/* q = q8(x' * inv) over the c x h x w image; then per filter f and\n"
    " * output (oy, ox): y = (sum over the window inside the image of q w) *\n"
    " * mult[f] + b[f]; w: [f x c x kh x kw]; g: c, h, w, kh, kw, sh, sw, ph,\n"
    " * pw, oh, ow, f */\n"
    "static void qconv(const signed char *w, const float *mult, const float *b, float inv,\n"
    "                  const float *x, const float *shift, const float *scale, signed char *q,\n"
    "                  float *y, const int *g)\n"
    "{\n"
    "    int c = g[0], h = g[1], wd = g[2], kh = g[3], kw = g[4], sh = g[5], sw = g[6];\n"
    "    int ph = g[7], pw = g[8], oh = g[9], ow = g[10], nf = g[11];\n"
    "    int k, f, oy, ox, ci, i, j;\n"
    "    for (k = 0; k < c * h * wd; k++) {\n"
    "        float v = shift ? (x[k] - shift[k]) * scale[k] : x[k];\n"
    "        q[k] = (signed char)q8(v * inv);\n"
    "    }\n"
    "    for (f = 0; f < nf; f++)\n"
    "        for (oy = 0; oy < oh; oy++)\n"
    "            for (ox = 0; ox < ow; ox++) {\n"
    "                long acc = 0;\n"
    "                for (ci = 0; ci < c; ci++)\n"
    "                    for (i = 0; i < kh; i++) {\n"
    "                        int iy = oy * sh - ph + i;\n"
    "                        if (iy < 0 || iy >= h) continue;\n"
    "                        for (j = 0; j < kw; j++) {\n"
    "                            int ix = ox * sw - pw + j;\n"
    "                            if (ix < 0 || ix >= wd) continue;\n"
    "                            acc += (long)q[((long)ci * h + iy) * wd + ix] *\n"
    "                                   w[(((long)f * c + ci) * kh + i) * kw + j];\n"
    "                        }\n"
    "                    }\n"
    "                y[((long)f * oh + oy) * ow + ox] = (float)acc * mult[f] + b[f];\n"
    "            }\n"
    "}\n\n";

static mynn_status conv_qc_data(mn_atomic *a, const mn_cnode *x, size_t *bytes)
{
    const mn_layer *l = x->l;
    const mn_qweights *q = x->q;
    *bytes = (size_t)q->n_out * q->n_in + 8 * (size_t)q->n_out + 4;
    if (!a) return MYNN_OK;
    char lit[MN_CGEN_FLOAT_BUFSZ];
    mn_cgen_hexf(lit, sizeof lit, q->in_inv);
    mn_atomic_printf(a, "/* layer %d: conv %dx%dx%d -> %dx%dx%d, %s; input scale 1/inv */\n"
                        "static const float l%d_inv = %s;\n"
                        "static const int l%d_g[12] = {%d, %d, %d, %d, %d, %d, %d, %d, %d, %d, %d, %d};\n",
                     x->id, l->in_shape.c, l->in_shape.h, l->in_shape.w, l->out_shape.c, l->out_shape.h,
                     l->out_shape.w, mynn_activation_name(l->act), x->id, lit, x->id, l->in_shape.c,
                     l->in_shape.h, l->in_shape.w, l->kh, l->kw, l->sh, l->sw, l->ph, l->pw, l->out_shape.h,
                     l->out_shape.w, l->out_shape.c);
    return mn_c_qweights(a, x->id, q);
}

/* qconv, then the element-wise activation (conv refuses softmax). */
static mynn_status conv_qc_code(mn_atomic *a, const mn_cnode *x, const char *const *src, int n_src,
                                const char *dst, const char *shift, const char *scale)
{
    (void)n_src;
    const mn_layer *l = x->l;
    mn_atomic_printf(a, "    qconv(l%d_w, l%d_mult, l%d_b, l%d_inv, %s, %s, %s, q, %s, l%d_g);\n", x->id, x->id,
                     x->id, x->id, src[0], shift, scale, dst, x->id);
    return mn_cgen_act_call(a, l->act, dst, l->n_out);
}

static const char *const conv_names[] = {"conv", "conv2d", "conv1d", NULL};

const mn_kind mn_conv_kind = {
    .id = MYNN_LAYER_CONV, .name = "conv", .spec_names = conv_names, .max_inputs = 1,
    .parse = conv_parse, .print = conv_print, .describe = conv_describe, .shape = conv_shape,
    .tensors = conv_tensors, .init = conv_init, .cache_per_sample = conv_cache, .work_size = conv_work,
    .folds_bn = 1, .forward = conv_forward, .backward = conv_backward,
    .onnx = conv_onnx,
    .c_text = conv_c_text, .c_text_bytes = 260, .c_data = conv_c_data, .c_code = conv_c_code,
    .q_role = MN_Q_WEIGHTS, .q_shape = conv_q_shape, .qforward = conv_qforward,
    .qc_text = conv_qc_text, .qc_text_bytes = 300, .qc_data = conv_qc_data, .qc_code = conv_qc_code,
};
