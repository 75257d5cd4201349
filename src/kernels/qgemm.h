/* Int8 matrix product for quantised layers: uint8 activations (an int8
 * value q stored as q + 128, the form the x86 dot-product instructions
 * take) times int8 weights, summed exactly in int32:
 *
 *     C[m][n] = sum_k (A[m][k] - 128) * W[n][k]
 *
 * W is packed once (mn_qgemm_pack) into blocks of 16 rows and 4 columns:
 *     Wp[(b * K4 + k4) * 64 + r * 4 + c] = W[16 b + r][4 k4 + c]  (0 outside)
 * with K4 = ceil(K / 4); A rows have mn_qgemm_kpad(K) bytes (pad: any value,
 * its weights are 0).  Integer sums are exact, so every engine gives the
 * same C, bit for bit, whatever the threads.  The engine is picked once:
 * the best the CPU runs (avx512vnni, avxvnni, portable), or MYNN_QGEMM.
 * Sums must fit int32: K <= MN_QGEMM_MAX_K. */
#ifndef MN_QGEMM_H
#define MN_QGEMM_H

#include <stddef.h>
#include <stdint.h>

#define MN_QGEMM_MAX_K 65536

static inline int mn_qgemm_kpad(int K) { return (K + 3) & ~3; }
static inline int mn_qgemm_nblocks(int N) { return (N + 15) / 16; }
/* Bytes of the packed form of an N × K weight. */
static inline size_t mn_qgemm_packed_bytes(int N, int K)
{
    return (size_t)mn_qgemm_nblocks(N) * 16 * (size_t)mn_qgemm_kpad(K);
}

/* Pack W [N × K] into Wp (mn_qgemm_packed_bytes) and set corr[n] =
 * 128 * sum_k W[n][k], what the offset of A adds to each sum. */
void mn_qgemm_pack(const int8_t *W, int N, int K, int8_t *Wp, int32_t *corr);

/* v (= x / scale) rounded half away from zero and clamped to [-127, 127]:
 * the one rounding of the library and of the generated C code. */
static inline int mn_q8(float v)
{
    v = v > 127.0f ? 127.0f : v < -127.0f ? -127.0f : v;
    return (int)(v >= 0.0f ? v + 0.5f : v - 0.5f);
}

/* q[r][j] = mn_q8(x'[r][j] * inv) + 128 for j < cols, 128 (a zero) up to
 * ldq: x [rows × cols] -> q [rows × ldq], where x' = x, or with shift and
 * scale (both non-NULL, [cols]) x' = (x - shift) * scale, rounded to float
 * before the product as mn_shift_scale_rows does.  Vectorised where the
 * CPU allows, with the same result bit for bit. */
void mn_quantize_rows(const float *x, const float *shift, const float *scale, int rows, int cols,
                      float inv, uint8_t *q, int ldq);
/* One row of it (the engines' form; NULL from mn_qgemm_quant512 when the
 * CPU lacks AVX-512). */
typedef void (*mn_quant_row_fn)(const float *x, const float *shift, const float *scale, int cols,
                                float inv, uint8_t *q, int ldq);
mn_quant_row_fn mn_qgemm_quant512(void);

/* C [M × N] (row stride ldc >= N) from A [M × kpad(K)] (row stride lda),
 * the rows shared among the threads when the product is large. */
void mn_qgemm(int M, int N, int K, const uint8_t *A, int lda, const int8_t *Wp,
              const int32_t *corr, int32_t *C, int ldc);
/* The same in the calling thread only (callers that share out the work
 * themselves: one parallel region per forward pass, not one per product),
 * and mn_quantize_rows likewise. */
void mn_qgemm_serial(int M, int N, int K, const uint8_t *A, int lda, const int8_t *Wp,
                     const int32_t *corr, int32_t *C, int ldc);
void mn_quantize_rows_serial(const float *x, const float *shift, const float *scale, int rows,
                             int cols, float inv, uint8_t *q, int ldq);

/* The patches of one quantised image for an int8 convolution, one row per
 * output position (the transpose of mn_im2col's layout, so that the patch
 * is the contiguous K-vector mn_qgemm sums over):
 *   rows[(oy·ow + ox)·ldr + (ci·kh + i)·kw + j] = q[ci][oy·sh + i][ox·sw + j]
 * from q, the image already zero-padded (c × hp × wp bytes, the border 128,
 * the int8 zero), and 128 from c·kh·kw up to ldr. */
void mn_qim2row(const uint8_t *q, int c, int hp, int wp, int kh, int kw, int sh, int sw, int oh,
                int ow, uint8_t *rows, int ldr);

/* The engine in use, and a switch for tests and benchmarks ("portable",
 * "avx512vnni", "avxvnni"; NULL or "" = automatic).  -1 if unknown or not
 * supported here. */
const char *mn_qgemm_engine(void);
int mn_qgemm_set_engine(const char *name);

/* Row blocks [m0, m1) of the product for one engine (qgemm_vnni.c). */
typedef void (*mn_qgemm_rows_fn)(int m0, int m1, int N, int K, const uint8_t *A, int lda,
                                 const int8_t *Wp, const int32_t *corr, int32_t *C, int ldc);
mn_qgemm_rows_fn mn_qgemm_avx512vnni(void);   /* NULL when the CPU lacks it */
mn_qgemm_rows_fn mn_qgemm_avxvnni(void);

#endif
