/* Patch rows of a quantised image for int8 convolution (qgemm.h).
 *
 * The image is quantised once (c·h·w values) and its bytes gathered
 * kh·kw times, rather than gathering floats and quantising each copy:
 * quantisation is per value, so both orders give the same bytes, and this
 * one rounds kh·kw times fewer values and moves a quarter of the memory. */
#include "qgemm.h"

#include <string.h>

void mn_qim2row(const uint8_t *q, int c, int h, int w, int kh, int kw, int sh, int sw, int ph,
                int pw, int oh, int ow, uint8_t *rows, int ldr)
{
    const int K = c * kh * kw;
    for (int oy = 0; oy < oh; oy++)
        for (int ox = 0; ox < ow; ox++) {
            uint8_t *r = rows + ((size_t)oy * ow + ox) * ldr;
            const int y0 = oy * sh - ph, x0 = ox * sw - pw;
            /* the window lies inside the image: each kernel row is kw contiguous bytes */
            const int inside = y0 >= 0 && x0 >= 0 && y0 + kh <= h && x0 + kw <= w;
            for (int ci = 0; ci < c; ci++) {
                const uint8_t *plane = q + (size_t)ci * h * w;
                for (int i = 0; i < kh; i++, r += kw) {
                    const int iy = y0 + i;
                    if (inside) {
                        memcpy(r, plane + (size_t)iy * w + x0, (size_t)kw);
                        continue;
                    }
                    for (int j = 0; j < kw; j++) {
                        const int ix = x0 + j;
                        r[j] = iy >= 0 && iy < h && ix >= 0 && ix < w ? plane[(size_t)iy * w + ix] : 128;
                    }
                }
            }
            memset(r, 128, (size_t)(ldr - K));   /* r is at column K now */
        }
}
