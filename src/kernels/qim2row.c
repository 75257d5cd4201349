/* Patch rows of a quantised, zero-padded image for int8 convolution
 * (qgemm.h).
 *
 * The image is quantised once (c·h·w values, into a buffer with the zero
 * border already around it) and its bytes gathered kh·kw times, rather
 * than gathering floats and quantising each copy: quantisation is per
 * value, so both orders give the same bytes, and this one rounds kh·kw
 * times fewer values, moves a quarter of the memory, and needs no bounds
 * test in the gather. */
#include "qgemm.h"

#include <string.h>

/* One kernel row: kw bytes (3, the common case, unrolled). */
static inline void copy_run(uint8_t *restrict d, const uint8_t *restrict s, int kw)
{
    if (kw == 3) {
        d[0] = s[0];
        d[1] = s[1];
        d[2] = s[2];
        return;
    }
    for (int j = 0; j < kw; j++) d[j] = s[j];
}

void mn_qim2row(const uint8_t *q, int c, int hp, int wp, int kh, int kw, int sh, int sw, int oh,
                int ow, uint8_t *rows, int ldr)
{
    const int K = c * kh * kw;
    for (int oy = 0; oy < oh; oy++)
        for (int ox = 0; ox < ow; ox++) {
            uint8_t *r = rows + ((size_t)oy * ow + ox) * ldr;
            const uint8_t *w0 = q + (size_t)oy * sh * wp + (size_t)ox * sw;
            for (int ci = 0; ci < c; ci++, w0 += (size_t)hp * wp)
                for (int i = 0; i < kh; i++, r += kw) copy_run(r, w0 + (size_t)i * wp, kw);
            for (int k = K; k < ldr; k++) *r++ = 128;
        }
}
