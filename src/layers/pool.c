/* Pooling over each plane of C × H × W samples (no padding, PyTorch's
 * floor rounding): OH = (H - kh)/sh + 1, OW = (W - kw)/sw + 1.
 *   max     Y[c][oy][ox] = max over the window; backward routes dY to the
 *           first maximum's position (cached as its index in the plane)
 *   average Y = mean over the window; backward spreads dY/(kh·kw)
 *   global  Y[c] = mean over the whole plane (output C × 1 × 1)
 * Threads take whole planes, and each plane is summed in one fixed order,
 * so results do not depend on the thread count. */
#include "layer.h"
#include "kernels/kernels.h"

#include <string.h>

#define PAR_MIN 16384

static size_t no_params(const mn_layer *l) { (void)l; return 0; }
static void no_init(mn_layer *l, mynn_init init, mynn_rng *rng) { (void)l; (void)init; (void)rng; }
static size_t max_cache(const mn_layer *l) { return (size_t)l->n_out; }
static size_t no_cache(const mn_layer *l) { (void)l; return 0; }

static int plane_threads(const mn_layer *l, int n)
{
    return (size_t)n * l->n_in >= PAR_MIN ? mn_threads() : 1;
}

/* The common 2×2 window with stride 2: a plain maximum, no index kept
 * (backward finds the window's first maximum again from x). */
static int is_2x2(const mn_layer *l) { return l->kh == 2 && l->kw == 2 && l->sh == 2 && l->sw == 2; }

static void maxpool2_plane(const float *restrict xp, int W, int OH, int OW, float *restrict yp)
{
    for (int oy = 0; oy < OH; oy++) {
        const float *r0 = xp + (size_t)2 * oy * W, *r1 = r0 + W;
        float *y = yp + (size_t)oy * OW;
        for (int ox = 0; ox < OW; ox++) {
            float a = r0[2 * ox] > r0[2 * ox + 1] ? r0[2 * ox] : r0[2 * ox + 1];
            float b = r1[2 * ox] > r1[2 * ox + 1] ? r1[2 * ox] : r1[2 * ox + 1];
            y[ox] = a > b ? a : b;
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

/* x: [n × C×H×W] -> Y: [n × C×OH×OW], cache: argmax index per output */
static void maxpool_forward(mn_layer *l, const float *x, int n, int training)
{
    (void)training;
    const int planes = n * l->in_shape.c, H = l->in_shape.h, W = l->in_shape.w, OH = l->out_shape.h, OW = l->out_shape.w;
    int nt = plane_threads(l, n);
    MN_FOR_SHARE(planes, nt, lo_, hi_,
    for (int q = (int)lo_; q < (int)hi_; q++) {
        const float *xp = x + (size_t)q * H * W;
        float *yp = l->out + (size_t)q * OH * OW, *ip = l->cache + (size_t)q * OH * OW;
        if (is_2x2(l)) {
            maxpool2_plane(xp, W, OH, OW, yp);
            continue;
        }
        for (int oy = 0; oy < OH; oy++)
            for (int ox = 0; ox < OW; ox++) {
                int best = oy * l->sh * W + ox * l->sw;
                for (int i = 0; i < l->kh; i++)
                    for (int j = 0; j < l->kw; j++) {
                        int at = (oy * l->sh + i) * W + ox * l->sw + j;
                        if (xp[at] > xp[best]) best = at;
                    }
                yp[oy * OW + ox] = xp[best];
                ip[oy * OW + ox] = (float)best;   /* exact: planes are < 2^24 */
            }
    });
}

static void maxpool_backward(mn_layer *l, const float *x, float *dy, int dy_is_dz, float *dx, int n)
{
    (void)dy_is_dz;
    if (!dx) return;
    const int planes = n * l->in_shape.c, HW = l->in_shape.h * l->in_shape.w, OHW = l->out_shape.h * l->out_shape.w;
    int nt = plane_threads(l, n);
    MN_FOR_SHARE(planes, nt, lo_, hi_,
    for (int q = (int)lo_; q < (int)hi_; q++) {
        float *dxp = dx + (size_t)q * HW;
        const float *dyp = dy + (size_t)q * OHW, *ip = l->cache + (size_t)q * OHW;
        if (is_2x2(l)) {
            maxpool2_plane_back(x + (size_t)q * HW, l->in_shape.h, l->in_shape.w, l->out_shape.h,
                                l->out_shape.w, l->out + (size_t)q * OHW, dyp, dxp);
            continue;
        }
        memset(dxp, 0, (size_t)HW * sizeof *dxp);
        for (int o = 0; o < OHW; o++) dxp[(int)ip[o]] += dyp[o];
    });
}

static void avgpool_forward(mn_layer *l, const float *x, int n, int training)
{
    (void)training;
    const int planes = n * l->in_shape.c, H = l->in_shape.h, W = l->in_shape.w, OH = l->out_shape.h, OW = l->out_shape.w;
    const float inv = 1.0f / (float)(l->kh * l->kw);
    int nt = plane_threads(l, n);
    MN_FOR_SHARE(planes, nt, lo_, hi_,
    for (int q = (int)lo_; q < (int)hi_; q++) {
        const float *xp = x + (size_t)q * H * W;
        float *yp = l->out + (size_t)q * OH * OW;
        for (int oy = 0; oy < OH; oy++)
            for (int ox = 0; ox < OW; ox++) {
                float s = 0.0f;
                for (int i = 0; i < l->kh; i++)
                    for (int j = 0; j < l->kw; j++) s += xp[(oy * l->sh + i) * W + ox * l->sw + j];
                yp[oy * OW + ox] = s * inv;
            }
    });
}

static void avgpool_backward(mn_layer *l, const float *x, float *dy, int dy_is_dz, float *dx, int n)
{
    (void)x;
    (void)dy_is_dz;
    if (!dx) return;
    const int planes = n * l->in_shape.c, H = l->in_shape.h, W = l->in_shape.w, OH = l->out_shape.h, OW = l->out_shape.w;
    const float inv = 1.0f / (float)(l->kh * l->kw);
    int nt = plane_threads(l, n);
    MN_FOR_SHARE(planes, nt, lo_, hi_,
    for (int q = (int)lo_; q < (int)hi_; q++) {
        float *dxp = dx + (size_t)q * H * W;
        const float *dyp = dy + (size_t)q * OH * OW;
        memset(dxp, 0, (size_t)H * W * sizeof *dxp);
        for (int oy = 0; oy < OH; oy++)
            for (int ox = 0; ox < OW; ox++) {
                float g = dyp[oy * OW + ox] * inv;
                for (int i = 0; i < l->kh; i++)
                    for (int j = 0; j < l->kw; j++) dxp[(oy * l->sh + i) * W + ox * l->sw + j] += g;
            }
    });
}

/* x: [n × C×H×W] -> Y: [n × C] */
static void gap_forward(mn_layer *l, const float *x, int n, int training)
{
    (void)training;
    const int planes = n * l->in_shape.c, HW = l->in_shape.h * l->in_shape.w;
    const float inv = 1.0f / (float)HW;
    int nt = plane_threads(l, n);
    MN_FOR_SHARE(planes, nt, lo_, hi_,
    for (int q = (int)lo_; q < (int)hi_; q++) {
        const float *xp = x + (size_t)q * HW;
        float s = 0.0f;
        for (int i = 0; i < HW; i++) s += xp[i];
        l->out[q] = s * inv;
    });
}

static void gap_backward(mn_layer *l, const float *x, float *dy, int dy_is_dz, float *dx, int n)
{
    (void)x;
    (void)dy_is_dz;
    if (!dx) return;
    const int planes = n * l->in_shape.c, HW = l->in_shape.h * l->in_shape.w;
    const float inv = 1.0f / (float)HW;
    int nt = plane_threads(l, n);
    MN_FOR_SHARE(planes, nt, lo_, hi_,
    for (int q = (int)lo_; q < (int)hi_; q++) {
        float g = dy[q] * inv, *dxp = dx + (size_t)q * HW;
        for (int i = 0; i < HW; i++) dxp[i] = g;
    });
}

const mn_layer_ops mn_maxpool_ops = {
    .kind = MYNN_LAYER_MAXPOOL, .name = "maxpool", .n_params = no_params,
    .cache_per_sample = max_cache, .init = no_init, .forward = maxpool_forward,
    .backward = maxpool_backward,
};
const mn_layer_ops mn_avgpool_ops = {
    .kind = MYNN_LAYER_AVGPOOL, .name = "avgpool", .n_params = no_params,
    .cache_per_sample = no_cache, .init = no_init, .forward = avgpool_forward,
    .backward = avgpool_backward,
};
const mn_layer_ops mn_gap_ops = {
    .kind = MYNN_LAYER_GLOBAL_AVGPOOL, .name = "gap", .n_params = no_params,
    .cache_per_sample = no_cache, .init = no_init, .forward = gap_forward,
    .backward = gap_backward,
};
