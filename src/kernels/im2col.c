/* Convolution as a matrix product: the patches of a batch of images as the
 * columns of one matrix, and back.
 *
 * For images x [n × c × h × w] (NCHW), a kernel kh × kw, stride sh × sw and
 * zero padding ph × pw, giving oh × ow outputs (P = oh·ow per image):
 *   col[(ci·kh + i)·kw + j][s·P + oy·ow + ox] = x[s][ci][oy·sh - ph + i][ox·sw - pw + j]
 * (0 outside the image), a (c·kh·kw) × (n·P) matrix.  Row order (ci, i, j)
 * is PyTorch's weight order [out][in][kh][kw], so W · col is the
 * convolution.  Each row of col is a shifted copy of one input plane, so
 * the copy runs along contiguous memory. */
#include "kernels.h"

#include <string.h>

#define PAR_MIN 16384

typedef struct conv_geom {
    int n, c, h, w, kh, kw, sh, sw, ph, pw, oh, ow;
} conv_geom;

/* d[k] = r[k·sw] for k < n: d (col) and r (x) never overlap.  Kept a
 * loop (GCC would call memcpy for a row of a few dozen floats). */
#if defined(__GNUC__) && !defined(__clang__)
__attribute__((optimize("no-tree-loop-distribute-patterns")))
#endif
static void copy_strided(float *restrict d, const float *restrict r, int n, int sw)
{
    if (sw == 1)
        for (int k = 0; k < n; k++) d[k] = r[k];
    else
        for (int k = 0; k < n; k++) d[k] = r[(ptrdiff_t)k * sw];
}

/* One row (ci, i, j) of col: every image's shifted plane ci. */
static void im2col_row(const conv_geom *g, const float *x, int ci, int i, int j, float *dst)
{
    const size_t plane = (size_t)g->h * g->w, P = (size_t)g->oh * g->ow;
    /* Output columns whose input column lies inside the image. */
    int ox_lo = 0, ox_hi = g->ow;
    while (ox_lo < g->ow && ox_lo * g->sw - g->pw + j < 0) ox_lo++;
    while (ox_hi > ox_lo && (ox_hi - 1) * g->sw - g->pw + j >= g->w) ox_hi--;
    for (int s = 0; s < g->n; s++) {
        const float *src = x + ((size_t)s * g->c + ci) * plane;
        float *d = dst + (size_t)s * P;
        for (int oy = 0; oy < g->oh; oy++, d += g->ow) {
            int iy = oy * g->sh - g->ph + i;
            if (iy < 0 || iy >= g->h) {
                for (int ox = 0; ox < g->ow; ox++) d[ox] = 0.0f;
                continue;
            }
            for (int ox = 0; ox < ox_lo; ox++) d[ox] = 0.0f;
            if (ox_hi > ox_lo)   /* rows are short (a plane's width): a loop, not a call */
                copy_strided(d + ox_lo, src + (size_t)iy * g->w + ((ptrdiff_t)ox_lo * g->sw - g->pw + j),
                             ox_hi - ox_lo, g->sw);
            for (int ox = ox_hi; ox < g->ow; ox++) d[ox] = 0.0f;
        }
    }
}

void mn_im2col(const float *x, int n, int c, int h, int w, int kh, int kw, int sh, int sw,
               int ph, int pw, int oh, int ow, float *col)
{
    conv_geom g = {n, c, h, w, kh, kw, sh, sw, ph, pw, oh, ow};
    const int rows = c * kh * kw;
    const size_t cols = (size_t)n * oh * ow;
    int nt = (size_t)rows * cols >= PAR_MIN ? mn_threads() : 1;
    MN_FOR_SHARE(rows, nt, lo_, hi_,
    for (int r = (int)lo_; r < (int)hi_; r++)
        im2col_row(&g, x, r / (kh * kw), r / kw % kh, r % kw, col + (size_t)r * cols));
}

/* dst[k·sw] += src[k] for k < n: dst and src never overlap (dx and col). */
static void add_strided(float *restrict dst, const float *restrict src, int n, int sw)
{
    if (sw == 1)
        for (int k = 0; k < n; k++) dst[k] += src[k];
    else
        for (int k = 0; k < n; k++) dst[(ptrdiff_t)k * sw] += src[k];
}

/* Adds row (ci, i, j) of col back onto the planes ci of dx. */
static void col2im_row(const conv_geom *g, const float *src, int ci, int i, int j, float *dx)
{
    const size_t plane = (size_t)g->h * g->w, P = (size_t)g->oh * g->ow;
    int ox_lo = 0, ox_hi = g->ow;
    while (ox_lo < g->ow && ox_lo * g->sw - g->pw + j < 0) ox_lo++;
    while (ox_hi > ox_lo && (ox_hi - 1) * g->sw - g->pw + j >= g->w) ox_hi--;
    for (int s = 0; s < g->n; s++) {
        float *dst = dx + ((size_t)s * g->c + ci) * plane;
        const float *c = src + (size_t)s * P;
        for (int oy = 0; oy < g->oh; oy++, c += g->ow) {
            int iy = oy * g->sh - g->ph + i;
            if (iy < 0 || iy >= g->h) continue;
            if (ox_hi > ox_lo)
                add_strided(dst + (size_t)iy * g->w + ((ptrdiff_t)ox_lo * g->sw - g->pw + j), c + ox_lo,
                            ox_hi - ox_lo, g->sw);
        }
    }
}

void mn_col2im(const float *col, int n, int c, int h, int w, int kh, int kw, int sh, int sw,
               int ph, int pw, int oh, int ow, float *dx)
{
    conv_geom g = {n, c, h, w, kh, kw, sh, sw, ph, pw, oh, ow};
    const size_t cols = (size_t)n * oh * ow, plane = (size_t)h * w;
    int nt = (size_t)c * kh * kw * cols >= PAR_MIN ? mn_threads() : 1;
    /* Parallel over input channels: each channel's planes receive only its
     * own rows, always in the same order, so the sums do not depend on the
     * thread count. */
    MN_FOR_SHARE(c, nt, lo_, hi_,
    for (int ci = (int)lo_; ci < (int)hi_; ci++) {
        for (int s = 0; s < n; s++) memset(dx + ((size_t)s * c + ci) * plane, 0, plane * sizeof *dx);
        for (int i = 0; i < kh; i++)
            for (int j = 0; j < kw; j++)
                col2im_row(&g, col + ((size_t)(ci * kh + i) * kw + j) * cols, ci, i, j, dx);
    });
}
