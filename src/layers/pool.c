/* Pooling over each plane of C × H × W samples (padding P at most half
 * the window, PyTorch's floor rounding): OH = (H + 2P - kh)/sh + 1, OW
 * likewise.  Three kinds:
 *   maxpool:K[:stride=S][:pad=P]   Y[c][oy][ox] = max over the window's part
 *                          inside the plane (the padding as -inf); backward
 *                          routes dY to the first maximum's position
 *                          (cached as its index in the plane); nn.MaxPool2d
 *   avgpool:K[:stride=S][:pad=P]   Y = the window's sum / (kh·kw), the
 *                          padding counted as zeros; backward spreads
 *                          dY/(kh·kw); nn.AvgPool2d
 *   gap                    Y[c] = mean over the whole plane (C × 1 × 1);
 *                          nn.AdaptiveAvgPool2d(1)
 * and the 1-D forms maxpool1d, avgpool1d over C × L.  Threads take whole
 * planes, and each plane is summed in one fixed order, so results do not
 * depend on the thread count.  The plane kernels below are the library's
 * and the generated C's alike. */
#include "layer.h"
#include "emit/cgen.h"
#include "kernels/kernels.h"
#include "pool.ctext.h"

#include <stdio.h>
#include <string.h>

#define PAR_MIN 16384

/* ctext begin: pool */
/* Pooling one plane h x w to oh x ow, window kh x kw, stride sh x sw,
 * padding ph x pw: the window's maximum over its part inside the plane
 * (the first met; the padding counts as -infinity), or its mean with the
 * padding counting as zeros (summed row by row, divided by kh·kw). */
static void maxpool_plane(const float *x, int h, int w, int kh, int kw, int sh, int sw, int ph, int pw,
                          int oh, int ow, float *y)
{
    int oy, ox, i, j;
    for (oy = 0; oy < oh; oy++) {
        int y0 = oy * sh - ph, ilo = y0 < 0 ? -y0 : 0, ihi = h - y0 < kh ? h - y0 : kh;
        for (ox = 0; ox < ow; ox++) {
            int x0 = ox * sw - pw, jlo = x0 < 0 ? -x0 : 0, jhi = w - x0 < kw ? w - x0 : kw;
            float m = x[(long)(y0 + ilo) * w + x0 + jlo];
            for (i = ilo; i < ihi; i++)
                for (j = jlo; j < jhi; j++)
                    if (x[(long)(y0 + i) * w + x0 + j] > m) m = x[(long)(y0 + i) * w + x0 + j];
            y[(long)oy * ow + ox] = m;
        }
    }
}

static void avgpool_plane(const float *x, int h, int w, int kh, int kw, int sh, int sw, int ph, int pw,
                          int oh, int ow, float *y)
{
    const float inv = 1.0f / (float)(kh * kw);
    int oy, ox, i, j;
    for (oy = 0; oy < oh; oy++) {
        int y0 = oy * sh - ph, ilo = y0 < 0 ? -y0 : 0, ihi = h - y0 < kh ? h - y0 : kh;
        for (ox = 0; ox < ow; ox++) {
            int x0 = ox * sw - pw, jlo = x0 < 0 ? -x0 : 0, jhi = w - x0 < kw ? w - x0 : kw;
            float sum = 0.0f;
            for (i = ilo; i < ihi; i++)
                for (j = jlo; j < jhi; j++) sum += x[(long)(y0 + i) * w + x0 + j];
            y[(long)oy * ow + ox] = sum * inv;
        }
    }
}

/* The same over c planes (one sample, channel-major); the global average
 * is avgpool with the window over the whole plane. */
static void pool(const float *x, float *y, int c, int h, int w, int kh, int kw, int sh, int sw, int ph,
                 int pw, int oh, int ow, int max)
{
    int q;
    for (q = 0; q < c; q++) {
        const float *xp = x + (long)q * h * w;
        float *yp = y + (long)q * oh * ow;
        if (max) maxpool_plane(xp, h, w, kh, kw, sh, sw, ph, pw, oh, ow, yp);
        else avgpool_plane(xp, h, w, kh, kw, sh, sw, ph, pw, oh, ow, yp);
    }
}
/* ctext end */

/* ---- description ---------------------------------------------------------- */

static int is_max(const mn_layer *l) { return l->kind->id == MYNN_LAYER_MAXPOOL; }
static int is_gap(const mn_layer *l) { return l->kind->id == MYNN_LAYER_GLOBAL_AVGPOOL; }

/* maxpool:K[:stride=S][:pad=P] and the other windows */
static mynn_status pool_parse(mn_layer *l, const mn_item *it)
{
    static const char *const keys[] = {"stride", "pad", NULL};
    mynn_status s = mn_item_keys(it, keys);
    if (s) return s;
    int k, stride = 0, pad = 0;
    if (it->n_pos != 1 || mn_item_int(it->pos[0], 1, 4096, &k))
        return mn_item_error(it, "expected a window size K >= 1, as maxpool:2[:stride=S][:pad=P]");
    const char *v = mn_item_key(it, "stride");
    if (v && mn_item_int(v, 1, 4096, &stride)) return mn_item_error(it, "stride must be an integer >= 1");
    v = mn_item_key(it, "pad");
    if (v && mn_item_int(v, 0, 4096, &pad)) return mn_item_error(it, "pad must be an integer >= 0");
    l->dims = strstr(it->kind, "1d") ? 1 : 2;
    l->kh = l->dims == 1 ? 1 : k;
    l->kw = k;
    l->sw = stride ? stride : k;
    l->sh = l->dims == 1 ? 1 : l->sw;
    l->pw = pad;
    l->ph = l->dims == 1 ? 0 : pad;
    return MYNN_OK;
}

static mynn_status gap_parse(mn_layer *l, const mn_item *it)
{
    (void)l;
    return mn_item_bare(it);
}

static void pool_print(const mn_layer *l, char *buf, size_t n)
{
    int k = snprintf(buf, n, "%s%s:%d:stride=%d", l->kind->name, l->dims == 1 ? "1d" : "", l->kw, l->sw);
    if (l->pw && k > 0 && (size_t)k < n) snprintf(buf + k, n - (size_t)k, ":pad=%d", l->pw);
}

static void gap_print(const mn_layer *l, char *buf, size_t n) { snprintf(buf, n, "%s", l->kind->name); }

static void pool_describe(const mn_layer *l, char *buf, size_t n)
{
    if (l->dims == 1) snprintf(buf, n, l->pw ? "k%d s%d p%d" : "k%d s%d", l->kw, l->sw, l->pw);
    else snprintf(buf, n, l->pw ? "%dx%d s%d p%d" : "%dx%d s%d", l->kh, l->kw, l->sw, l->pw);
}

static void gap_describe(const mn_layer *l, char *buf, size_t n)
{
    (void)l;
    snprintf(buf, n, "-");
}

static mynn_status pool_shape(mn_layer *l, const mn_shape *ins, int n_in)
{
    (void)n_in;
    char name[16];
    snprintf(name, sizeof name, "%s%s", l->kind->name, l->dims == 1 ? "1d" : "");
    if (l->kw < 1 || l->kw > 4096 || l->kh < 1 || l->kh > 4096)
        return mn_error(MYNN_ERR_ARG, "layer %d (%s): window must be in 1..4096, got %d", l->id + 1, name, l->kw);
    if (l->sw < 1 || l->sw > 4096 || l->sh < 1)
        return mn_error(MYNN_ERR_ARG, "layer %d (%s): stride must be >= 1, got %d", l->id + 1, name, l->sw);
    if (l->pw < 0 || 2 * l->pw > l->kw || 2 * l->ph > l->kh)   /* PyTorch's rule: no window all padding */
        return mn_error(MYNN_ERR_ARG, "layer %d (%s): padding must be in 0..%d (half the window), got %d",
                        l->id + 1, name, l->kw / 2, l->pw);
    if (!ins) {
        l->out_shape = (mn_shape){1, 1, 1, 0};
        return MYNN_OK;
    }
    const mn_shape in = ins[0];
    if (l->dims == 1 && in.h != 1) return mn_shape_error(l, in, "is not C×L (height %d, expected 1)", in.h);
    if (in.h + 2 * l->ph < l->kh || in.w + 2 * l->pw < l->kw)
        return mn_shape_error(l, in, "is smaller than the %d×%d window (nothing left)", l->kh, l->kw);
    l->out_shape = (mn_shape){in.c, mn_slide(in.h, l->kh, l->sh, l->ph), mn_slide(in.w, l->kw, l->sw, l->pw), 0};
    return MYNN_OK;
}

static mynn_status gap_shape(mn_layer *l, const mn_shape *ins, int n_in)
{
    (void)n_in;
    l->out_shape = (mn_shape){ins ? ins[0].c : 1, 1, 1, 0};
    return MYNN_OK;
}

/* ---- compute ------------------------------------------------------------------ */

/* The max pool's cache: the argmax index per output (general windows). */
static size_t max_cache(const mn_layer *l) { return (size_t)l->n_out; }

static int plane_threads(const mn_layer *l, int n)
{
    return (size_t)n * l->n_in >= PAR_MIN ? mn_threads() : 1;
}

/* The common 2×2 window with stride 2: a plain maximum, no index kept
 * (backward finds the window's first maximum again from x). */
static int is_2x2(const mn_layer *l)
{
    return l->kh == 2 && l->kw == 2 && l->sh == 2 && l->sw == 2 && !l->ph && !l->pw;
}

/* maxpool_plane for that window, the same comparisons in the same order
 * (so the same bits, signed zeros included) in a loop the compiler
 * vectorises. */
static void maxpool2_plane(const float *restrict xp, int W, int OH, int OW, float *restrict yp)
{
    for (int oy = 0; oy < OH; oy++) {
        const float *r0 = xp + (size_t)2 * oy * W, *r1 = r0 + W;
        float *y = yp + (size_t)oy * OW;
        for (int ox = 0; ox < OW; ox++) {
            float m = r0[2 * ox];
            m = r0[2 * ox + 1] > m ? r0[2 * ox + 1] : m;
            m = r1[2 * ox] > m ? r1[2 * ox] : m;
            y[ox] = r1[2 * ox + 1] > m ? r1[2 * ox + 1] : m;
        }
    }
}

/* Windows do not overlap, so each pixel is written once: dY at the
 * window's first maximum, 0 elsewhere (and on rows/columns no window covers). */
static void maxpool2_plane_back(const float *xp, int H, int W, int OH, int OW, const float *yp,
                                const float *dyp, float *dxp)
{
    for (int oy = 0; oy < OH; oy++) {
        const float *r0 = xp + (size_t)2 * oy * W, *r1 = r0 + W;
        float *d0 = dxp + (size_t)2 * oy * W, *d1 = d0 + W;
        for (int ox = 0; ox < OW; ox++) {
            float m = yp[oy * OW + ox], g = dyp[oy * OW + ox];
            int at = r0[2 * ox] == m ? 0 : r0[2 * ox + 1] == m ? 1 : r1[2 * ox] == m ? 2 : 3;
            d0[2 * ox] = at == 0 ? g : 0.0f;
            d0[2 * ox + 1] = at == 1 ? g : 0.0f;
            d1[2 * ox] = at == 2 ? g : 0.0f;
            d1[2 * ox + 1] = at == 3 ? g : 0.0f;
        }
        if (W > 2 * OW) d0[W - 1] = d1[W - 1] = 0.0f;
    }
    if (H > 2 * OH) memset(dxp + (size_t)(H - 1) * W, 0, (size_t)W * sizeof *dxp);
}

/* The part [ilo, ihi) × [jlo, jhi) of output (oy, ox)'s window inside
 * the plane, and its corner (y0, x0) in plane coordinates. */
static void clip(const mn_layer *l, int oy, int ox, int *y0, int *x0, int *ilo, int *ihi, int *jlo, int *jhi)
{
    const int H = l->in_shape.h, W = l->in_shape.w;
    *y0 = oy * l->sh - l->ph;
    *x0 = ox * l->sw - l->pw;
    *ilo = *y0 < 0 ? -*y0 : 0;
    *ihi = H - *y0 < l->kh ? H - *y0 : l->kh;
    *jlo = *x0 < 0 ? -*x0 : 0;
    *jhi = W - *x0 < l->kw ? W - *x0 : l->kw;
}

/* One plane's maximum with each output's argmax (training, general
 * windows): maxpool_plane's comparisons, the index kept. */
static void maxpool_plane_index(const mn_layer *l, const float *xp, float *yp, float *ip)
{
    const int W = l->in_shape.w, OH = l->out_shape.h, OW = l->out_shape.w;
    for (int oy = 0; oy < OH; oy++)
        for (int ox = 0; ox < OW; ox++) {
            int y0, x0, ilo, ihi, jlo, jhi;
            clip(l, oy, ox, &y0, &x0, &ilo, &ihi, &jlo, &jhi);
            int best = (y0 + ilo) * W + x0 + jlo;
            for (int i = ilo; i < ihi; i++)
                for (int j = jlo; j < jhi; j++) {
                    int at = (y0 + i) * W + x0 + j;
                    if (xp[at] > xp[best]) best = at;
                }
            yp[oy * OW + ox] = xp[best];
            ip[oy * OW + ox] = (float)best;   /* exact: planes are < 2^24 */
        }
}

/* The window of l as the plane kernels take it (gap: the whole plane). */
static void window(const mn_layer *l, int *kh, int *kw, int *sh, int *sw)
{
    *kh = is_gap(l) ? l->in_shape.h : l->kh;
    *kw = is_gap(l) ? l->in_shape.w : l->kw;
    *sh = is_gap(l) ? 1 : l->sh;
    *sw = is_gap(l) ? 1 : l->sw;
}

/* x: [n × C×H×W] -> Y: [n × C×OH×OW] (cache: argmax index per output when
 * training a max pool with a general window) */
static void pool_forward(mn_layer *l, const float *const *xs, float *y, int n, int training)
{
    const float *x = xs[0];
    const int planes = n * l->in_shape.c, H = l->in_shape.h, W = l->in_shape.w, OH = l->out_shape.h,
              OW = l->out_shape.w;
    const int indexed = training && is_max(l) && !is_2x2(l);
    int kh, kw, sh, sw;
    window(l, &kh, &kw, &sh, &sw);
    MN_FOR_SHARE(planes, plane_threads(l, n), lo_, hi_,
    for (int q = (int)lo_; q < (int)hi_; q++) {
        const float *xp = x + (size_t)q * H * W;
        float *yp = y + (size_t)q * OH * OW;
        if (indexed) maxpool_plane_index(l, xp, yp, l->cache + (size_t)q * OH * OW);
        else if (is_max(l) && is_2x2(l)) maxpool2_plane(xp, W, OH, OW, yp);
        else if (is_max(l)) maxpool_plane(xp, H, W, kh, kw, sh, sw, l->ph, l->pw, OH, OW, yp);
        else avgpool_plane(xp, H, W, kh, kw, sh, sw, l->ph, l->pw, OH, OW, yp);
    });
}

static void pool_infer(const mn_layer *l, const float *const *x, float *y, int c)
{
    int kh, kw, sh, sw;
    window(l, &kh, &kw, &sh, &sw);
    pool(x[0], y, c * l->in_shape.c, l->in_shape.h, l->in_shape.w, kh, kw, sh, sw, l->ph, l->pw, l->out_shape.h,
         l->out_shape.w, is_max(l));
}

static void maxpool_backward(mn_layer *l, const float *const *xs, const float *y, float *dy, int dy_is_dz,
                             float *const *dxs, int n)
{
    (void)dy_is_dz;
    float *dx = dxs[0];
    if (!dx) return;
    const int planes = n * l->in_shape.c, HW = l->in_shape.h * l->in_shape.w, OHW = l->out_shape.h * l->out_shape.w;
    MN_FOR_SHARE(planes, plane_threads(l, n), lo_, hi_,
    for (int q = (int)lo_; q < (int)hi_; q++) {
        float *dxp = dx + (size_t)q * HW;
        const float *dyp = dy + (size_t)q * OHW, *ip = l->cache + (size_t)q * OHW;
        if (is_2x2(l)) {
            maxpool2_plane_back(xs[0] + (size_t)q * HW, l->in_shape.h, l->in_shape.w, l->out_shape.h,
                                l->out_shape.w, y + (size_t)q * OHW, dyp, dxp);
            continue;
        }
        memset(dxp, 0, (size_t)HW * sizeof *dxp);
        for (int o = 0; o < OHW; o++) dxp[(int)ip[o]] += dyp[o];
    });
}

static void avgpool_backward(mn_layer *l, const float *const *xs, const float *y, float *dy, int dy_is_dz,
                             float *const *dxs, int n)
{
    (void)xs;
    (void)y;
    (void)dy_is_dz;
    float *dx = dxs[0];
    if (!dx) return;
    const int planes = n * l->in_shape.c, H = l->in_shape.h, W = l->in_shape.w, OH = l->out_shape.h, OW = l->out_shape.w;
    const float inv = 1.0f / (float)(l->kh * l->kw);
    MN_FOR_SHARE(planes, plane_threads(l, n), lo_, hi_,
    for (int q = (int)lo_; q < (int)hi_; q++) {
        float *dxp = dx + (size_t)q * H * W;
        const float *dyp = dy + (size_t)q * OH * OW;
        memset(dxp, 0, (size_t)H * W * sizeof *dxp);
        for (int oy = 0; oy < OH; oy++)
            for (int ox = 0; ox < OW; ox++) {
                float g = dyp[oy * OW + ox] * inv;
                int y0, x0, ilo, ihi, jlo, jhi;
                clip(l, oy, ox, &y0, &x0, &ilo, &ihi, &jlo, &jhi);
                for (int i = ilo; i < ihi; i++)
                    for (int j = jlo; j < jhi; j++) dxp[(y0 + i) * W + x0 + j] += g;
            }
    });
}

static void gap_backward(mn_layer *l, const float *const *xs, const float *y, float *dy, int dy_is_dz,
                         float *const *dxs, int n)
{
    (void)xs;
    (void)y;
    (void)dy_is_dz;
    float *dx = dxs[0];
    if (!dx) return;
    const int planes = n * l->in_shape.c, HW = l->in_shape.h * l->in_shape.w;
    const float inv = 1.0f / (float)HW;
    MN_FOR_SHARE(planes, plane_threads(l, n), lo_, hi_,
    for (int q = (int)lo_; q < (int)hi_; q++) {
        float g = dy[q] * inv, *dxp = dx + (size_t)q * HW;
        for (int i = 0; i < HW; i++) dxp[i] = g;
    });
}

/* ---- ONNX ------------------------------------------------------------------ */

/* MaxPool / AveragePool: pads when padded (AveragePool counting them,
 * count_include_pad 1), floor rounding (ceil_mode 0). */
static mynn_status pool_onnx(mn_onnx *g, const mn_layer *l, const char *prefix, const mn_ovalue *in,
                             int n_in, mn_ovalue *out)
{
    (void)n_in;
    mynn_status st = mn_onnx_spatial(l, prefix, &in[0]);
    if (st) return st;
    *out = in[0];
    const char *ins[1] = {in[0].name};
    mn_onode *node = mn_onnx_node(g, is_max(l) ? "MaxPool" : "AveragePool", prefix, "out", ins, 1, out);
    if (!node) return MYNN_ERR_NOMEM;
    int64_t k[2] = {l->kh, l->kw}, s[2] = {l->sh, l->sw}, p[4] = {l->ph, l->pw, l->ph, l->pw}, p1[2] = {l->pw, l->pw};
    int two = l->dims == 2;
    mn_onnx_attr_ints(node, "kernel_shape", two ? k : k + 1, two ? 2 : 1);
    mn_onnx_attr_ints(node, "strides", two ? s : s + 1, two ? 2 : 1);
    if (l->pw) {
        mn_onnx_attr_ints(node, "pads", two ? p : p1, two ? 4 : 2);   /* begins, then ends */
        if (!is_max(l)) mn_onnx_attr_int(node, "count_include_pad", 1);   /* PyTorch's default */
    }
    return MYNN_OK;
}

/* [N, C, ...] -> [N, C, 1, ...]: the mean of each plane. */
static mynn_status gap_onnx(mn_onnx *g, const mn_layer *l, const char *prefix, const mn_ovalue *in, int n_in,
                            mn_ovalue *out)
{
    (void)n_in;
    if (in[0].rank < 3)
        return mn_error(MYNN_ERR_ARG, "%s (%s) cannot be expressed in ONNX: its input is not spatial here "
                        "(flattened: after a flatten or dense layer, or an add or concat of inputs of "
                        "different ranks)", prefix, l->kind->name);
    *out = in[0];
    const char *ins[1] = {in[0].name};
    return mn_onnx_node(g, "GlobalAveragePool", prefix, "out", ins, 1, out) ? MYNN_OK : MYNN_ERR_NOMEM;
}

/* ---- standalone C ------------------------------------------------------------------ */

static mynn_status pool_c_data(mn_atomic *a, const mn_cnode *x, size_t *bytes)
{
    *bytes = 0;
    if (!a) return MYNN_OK;
    const mn_layer *l = x->l;
    const mn_shape in = l->in_shape, out = l->out_shape;
    if (is_gap(l))
        mn_atomic_printf(a, "/* layer %d: global average pooling %dx%dx%d -> %d */\n", x->id, in.c, in.h, in.w,
                         in.c);
    else
        mn_atomic_printf(a, "/* layer %d: %s%s %dx%dx%d -> %dx%dx%d, window %dx%d, stride %dx%d, pad %dx%d */\n",
                         x->id, l->kind->name, l->dims == 1 ? "1d" : "", in.c, in.h, in.w, out.c, out.h, out.w,
                         l->kh, l->kw, l->sh, l->sw, l->ph, l->pw);
    return a->status;
}

static mynn_status pool_c_code(mn_atomic *a, const mn_cnode *x, const char *const *src, int n_src,
                               const char *dst)
{
    (void)n_src;
    const mn_layer *l = x->l;
    int kh, kw, sh, sw;
    window(l, &kh, &kw, &sh, &sw);
    mn_atomic_printf(a, "    pool(%s, %s, %d, %d, %d, %d, %d, %d, %d, %d, %d, %d, %d, %d);\n", src[0], dst,
                     l->in_shape.c, l->in_shape.h, l->in_shape.w, kh, kw, sh, sw, l->ph, l->pw, l->out_shape.h,
                     l->out_shape.w, is_max(l));
    return a->status;
}

static const char *const maxpool_names[] = {"maxpool", "maxpool2d", "maxpool1d", NULL};
static const char *const avgpool_names[] = {"avgpool", "avgpool2d", "avgpool1d", NULL};
static const char *const gap_names[] = {"gap", NULL};

#define POOL_COMMON                                                                                   \
    .max_inputs = 1, .infer = pool_infer, .c_text = mn_ctext_pool, .c_text_bytes = 200,             \
    .c_data = pool_c_data, .c_code = pool_c_code, .q_role = MN_Q_FLOAT

const mn_kind mn_maxpool_kind = {
    .id = MYNN_LAYER_MAXPOOL, .name = "maxpool", .spec_names = maxpool_names, POOL_COMMON,
    .parse = pool_parse, .print = pool_print, .describe = pool_describe, .shape = pool_shape,
    .cache_per_sample = max_cache, .forward = pool_forward, .backward = maxpool_backward, .onnx = pool_onnx,
};
const mn_kind mn_avgpool_kind = {
    .id = MYNN_LAYER_AVGPOOL, .name = "avgpool", .spec_names = avgpool_names, POOL_COMMON,
    .parse = pool_parse, .print = pool_print, .describe = pool_describe, .shape = pool_shape,
    .forward = pool_forward, .backward = avgpool_backward, .onnx = pool_onnx,
};
const mn_kind mn_gap_kind = {
    .id = MYNN_LAYER_GLOBAL_AVGPOOL, .name = "gap", .spec_names = gap_names, POOL_COMMON,
    .parse = gap_parse, .print = gap_print, .describe = gap_describe, .shape = gap_shape,
    .forward = pool_forward, .backward = gap_backward, .onnx = gap_onnx,
};
