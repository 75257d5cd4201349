/* Int8 GEMM engines on the x86 dot-product instructions: vpdpbusd sums
 * four uint8 × int8 products into each int32 lane.  A 16-row block of W
 * and 4 columns (64 bytes, the packed layout of qgemm.h) is one zmm (two
 * ymm); a tile of up to 4 rows of A × 4 blocks keeps 16 accumulators. */
#include "qgemm.h"
#include "gemm_internal.h"

#include <string.h>

#if MN_X86
#include <cpuid.h>
#include <immintrin.h>

#define T512 __attribute__((target("avx512f,avx512bw,avx512vnni")))
#define T256 __attribute__((target("avx2,avxvnni")))

static MN_ALWAYS_INLINE int32_t load4(const uint8_t *p)
{
    int32_t v;
    memcpy(&v, p, 4);
    return v;
}

/* acc += a (uint8) · b (int8), four products per lane.  As inline asm: GCC
 * 12 copies the accumulator around the intrinsic on every step. */
#define DPBUSD(acc, a, b) __asm__("vpdpbusd %2, %1, %0" : "+v"(acc) : "v"(a), "v"(b))

/* C[m0+r][16(b0+j) + i] for r < MR, j < NB; only columns < N are stored. */
T512 static MN_ALWAYS_INLINE void tile512(int MR, int NB, int K4, const uint8_t *A, int lda,
                                           const int8_t *Wp, const int32_t *corr, int32_t *C,
                                           int ldc, int n0, int N)
{
    __m512i acc[6][4];
    for (int r = 0; r < MR; r++)
        for (int j = 0; j < NB; j++) acc[r][j] = _mm512_setzero_si512();
    for (int k4 = 0; k4 < K4; k4++) {
        __m512i w[4];
        for (int j = 0; j < NB; j++) w[j] = _mm512_loadu_si512(Wp + ((size_t)j * K4 + k4) * 64);
        for (int r = 0; r < MR; r++) {
            __m512i a = _mm512_set1_epi32(load4(A + (size_t)r * lda + 4 * k4));
            for (int j = 0; j < NB; j++) DPBUSD(acc[r][j], a, w[j]);
        }
    }
    for (int j = 0; j < NB; j++) {
        int n = n0 + 16 * j, left = N - n;
        __mmask16 m = left >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << left) - 1);
        __m512i c = _mm512_maskz_loadu_epi32(m, corr + n);
        for (int r = 0; r < MR; r++)
            _mm512_mask_storeu_epi32(C + (size_t)r * ldc + n, m, _mm512_sub_epi32(acc[r][j], c));
    }
}

/* Full tiles of R rows × 4 blocks with named accumulators (the array form
 * above makes the compiler shuffle registers): 6 × 4 keeps 24 of the 32
 * zmm registers accumulating, each weight load serving 6 rows. */
#define Q_DECL(r) __m512i c##r##0 = _mm512_setzero_si512(), c##r##1 = c##r##0, c##r##2 = c##r##0, \
                          c##r##3 = c##r##0;
#define Q_STEP(r)                                                       \
        {                                                               \
            __m512i a = _mm512_set1_epi32(load4(A + (size_t)r * lda + 4 * k4)); \
            DPBUSD(c##r##0, a, b0);                                     \
            DPBUSD(c##r##1, a, b1);                                     \
            DPBUSD(c##r##2, a, b2);                                     \
            DPBUSD(c##r##3, a, b3);                                     \
        }
#define Q_STORE(r)                                                                          \
        _mm512_mask_storeu_epi32(C + (size_t)r * ldc + n, m,                                 \
                                 _mm512_sub_epi32(j == 0 ? c##r##0 : j == 1 ? c##r##1 :      \
                                                  j == 2 ? c##r##2 : c##r##3, c));
#define Q_TILE(NAME, ROWS)                                                                  \
T512 static void NAME(int K4, const uint8_t *A, int lda, const int8_t *Wp,                  \
                      const int32_t *corr, int32_t *C, int ldc, int n0, int N)              \
{                                                                                           \
    ROWS(Q_DECL)                                                                            \
    const int8_t *w0 = Wp, *w1 = Wp + (size_t)K4 * 64, *w2 = w1 + (size_t)K4 * 64;          \
    const int8_t *w3 = w2 + (size_t)K4 * 64;                                                \
    for (int k4 = 0; k4 < K4; k4++) {                                                       \
        __m512i b0 = _mm512_loadu_si512(w0 + 64 * (size_t)k4);                              \
        __m512i b1 = _mm512_loadu_si512(w1 + 64 * (size_t)k4);                              \
        __m512i b2 = _mm512_loadu_si512(w2 + 64 * (size_t)k4);                              \
        __m512i b3 = _mm512_loadu_si512(w3 + 64 * (size_t)k4);                              \
        ROWS(Q_STEP)                                                                        \
    }                                                                                       \
    for (int j = 0; j < 4; j++) {                                                           \
        int n = n0 + 16 * j, left = N - n;                                                  \
        __mmask16 m = left >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << left) - 1);       \
        __m512i c = _mm512_maskz_loadu_epi32(m, corr + n);                                  \
        ROWS(Q_STORE)                                                                       \
    }                                                                                       \
}
#define Q_ROWS4(X) X(0) X(1) X(2) X(3)
#define Q_ROWS6(X) X(0) X(1) X(2) X(3) X(4) X(5)
Q_TILE(tile512_4x4, Q_ROWS4)
Q_TILE(tile512_6x4, Q_ROWS6)

T512 static void rows512(int m0, int m1, int N, int K, const uint8_t *A, int lda,
                         const int8_t *Wp, const int32_t *corr, int32_t *C, int ldc)
{
    int K4 = mn_qgemm_kpad(K) / 4, nb = mn_qgemm_nblocks(N);
    size_t panel = (size_t)K4 * 64;
    for (int m = m0; m < m1;) {
        const uint8_t *a = A + (size_t)m * lda;
        int32_t *c = C + (size_t)m * ldc;
        int b = 0, left = m1 - m;
        if (left >= 6) {
            for (; b + 4 <= nb; b += 4) tile512_6x4(K4, a, lda, Wp + b * panel, corr, c, ldc, 16 * b, N);
            for (; b < nb; b++) tile512(6, 1, K4, a, lda, Wp + b * panel, corr, c, ldc, 16 * b, N);
            m += 6;
        } else if (left >= 4) {
            for (; b + 4 <= nb; b += 4) tile512_4x4(K4, a, lda, Wp + b * panel, corr, c, ldc, 16 * b, N);
            for (; b < nb; b++) tile512(4, 1, K4, a, lda, Wp + b * panel, corr, c, ldc, 16 * b, N);
            m += 4;
        } else {
            for (b = 0; b + 4 <= nb; b += 4)
                tile512(1, 4, K4, a, lda, Wp + b * panel, corr, c, ldc, 16 * b, N);
            for (; b < nb; b++) tile512(1, 1, K4, a, lda, Wp + b * panel, corr, c, ldc, 16 * b, N);
            m += 1;
        }
    }
}

/* The same with ymm: each 16-row block is two halves h = 0, 1. */
T256 static MN_ALWAYS_INLINE void tile256(int MR, int NB, int K4, const uint8_t *A, int lda,
                                           const int8_t *Wp, const int32_t *corr, int32_t *C,
                                           int ldc, int n0, int N)
{
    __m256i acc[4][2][2];
    for (int r = 0; r < MR; r++)
        for (int j = 0; j < NB; j++) acc[r][j][0] = acc[r][j][1] = _mm256_setzero_si256();
    for (int k4 = 0; k4 < K4; k4++) {
        __m256i w[2][2];
        for (int j = 0; j < NB; j++)
            for (int h = 0; h < 2; h++)
                w[j][h] = _mm256_loadu_si256((const __m256i *)(Wp + ((size_t)j * K4 + k4) * 64 + 32 * h));
        for (int r = 0; r < MR; r++) {
            __m256i a = _mm256_set1_epi32(load4(A + (size_t)r * lda + 4 * k4));
            for (int j = 0; j < NB; j++)
                for (int h = 0; h < 2; h++) acc[r][j][h] = _mm256_dpbusd_avx_epi32(acc[r][j][h], a, w[j][h]);
        }
    }
    for (int j = 0; j < NB; j++) {
        int n = n0 + 16 * j, left = N - n < 16 ? N - n : 16;
        for (int r = 0; r < MR; r++) {
            int32_t t[16];
            _mm256_storeu_si256((__m256i *)t, acc[r][j][0]);
            _mm256_storeu_si256((__m256i *)(t + 8), acc[r][j][1]);
            for (int i = 0; i < left; i++) C[(size_t)r * ldc + n + i] = t[i] - corr[n + i];
        }
    }
}

T256 static void rows256(int m0, int m1, int N, int K, const uint8_t *A, int lda,
                         const int8_t *Wp, const int32_t *corr, int32_t *C, int ldc)
{
    int K4 = mn_qgemm_kpad(K) / 4, nb = mn_qgemm_nblocks(N);
    size_t panel = (size_t)K4 * 64;
    for (int m = m0; m < m1; m += 4) {
        const uint8_t *a = A + (size_t)m * lda;
        int32_t *c = C + (size_t)m * ldc;
        int b = 0;
        if (m1 - m >= 4) {
            for (; b + 2 <= nb; b += 2) tile256(4, 2, K4, a, lda, Wp + b * panel, corr, c, ldc, 16 * b, N);
            for (; b < nb; b++) tile256(4, 1, K4, a, lda, Wp + b * panel, corr, c, ldc, 16 * b, N);
        } else {
            for (int r = 0; r < m1 - m; r++)
                for (b = 0; b < nb; b++)
                    tile256(1, 1, K4, a + (size_t)r * lda, lda, Wp + b * panel, corr,
                            c + (size_t)r * ldc, ldc, 16 * b, N);
        }
    }
}

/* mn_q8 on 16 lanes: clamp, add 0.5 with v's sign, truncate: the scalar
 * expression's operations, so the same bytes. */
#define T512Q __attribute__((target("avx512f,avx512bw")))
T512Q static void quant512(const float *x, const float *shift, const float *scale, int cols,
                           float inv, uint8_t *q, int ldq)
{
    const __m512 vi = _mm512_set1_ps(inv), hi = _mm512_set1_ps(127.0f), lo = _mm512_set1_ps(-127.0f);
    const __m512i sign = _mm512_set1_epi32((int)0x80000000u), half = _mm512_set1_epi32(0x3F000000);
    const __m512i off = _mm512_set1_epi32(128);
    for (int j = 0; j < cols; j += 16) {
        __mmask16 m = cols - j >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << (cols - j)) - 1);
        __m512 v = _mm512_maskz_loadu_ps(m, x + j);
        if (shift)
            v = _mm512_mul_ps(_mm512_sub_ps(v, _mm512_maskz_loadu_ps(m, shift + j)),
                              _mm512_maskz_loadu_ps(m, scale + j));
        v = _mm512_mul_ps(v, vi);
        v = _mm512_max_ps(_mm512_min_ps(v, hi), lo);
        __m512i h = _mm512_or_si512(_mm512_and_si512(_mm512_castps_si512(v), sign), half);
        __m512i r = _mm512_add_epi32(_mm512_cvttps_epi32(_mm512_add_ps(v, _mm512_castsi512_ps(h))), off);
        _mm512_mask_cvtepi32_storeu_epi8(q + j, m, r);
    }
    for (int j = cols; j < ldq; j++) q[j] = 128;
}

mn_quant_row_fn mn_qgemm_quant512(void)
{
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") ? quant512 : NULL;
}

mn_qgemm_rows_fn mn_qgemm_avx512vnni(void)
{
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
        __builtin_cpu_supports("avx512vnni"))
        return rows512;
    return NULL;
}

/* AVX-VNNI is CPUID.(EAX=7,ECX=1):EAX bit 4 (not every compiler's
 * __builtin_cpu_supports knows it); AVX2 support implies the OS saves ymm. */
mn_qgemm_rows_fn mn_qgemm_avxvnni(void)
{
    unsigned a, b, c, d;
    __builtin_cpu_init();
    if (!__builtin_cpu_supports("avx2") || !__get_cpuid_count(7, 1, &a, &b, &c, &d)) return NULL;
    return (a >> 4) & 1u ? rows256 : NULL;
}

#else   /* not x86: the portable kernels only */
mn_quant_row_fn mn_qgemm_quant512(void) { return NULL; }
mn_qgemm_rows_fn mn_qgemm_avx512vnni(void) { return NULL; }
mn_qgemm_rows_fn mn_qgemm_avxvnni(void) { return NULL; }
#endif
