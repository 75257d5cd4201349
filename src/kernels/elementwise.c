/* Element-wise work on batches that is not part of a GEMM. */
#include "kernels.h"

#define PAR_MIN 16384

void mn_shift_scale_block(float *restrict dst, const float *restrict src, const float *restrict shift,
                          const float *restrict scale, int rows, int cols)
{
    for (int i = 0; i < rows; i++) {
        const float *s = src + (size_t)i * cols;
        float *d = dst + (size_t)i * cols;
        for (int j = 0; j < cols; j++) d[j] = (s[j] - shift[j]) * scale[j];
    }
}

void mn_shift_scale_rows(float *restrict dst, const float *restrict src, const float *restrict shift,
                         const float *restrict scale, int rows, int cols)
{
    int nt = (size_t)rows * cols >= PAR_MIN ? mn_threads() : 1;
    MN_FOR_SHARE(rows, nt, lo_, hi_,
                 mn_shift_scale_block(dst + lo_ * (size_t)cols, src + lo_ * (size_t)cols, shift,
                                      scale, (int)(hi_ - lo_), cols));
}

