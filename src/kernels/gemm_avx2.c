/* AVX2 + FMA engine: 6 x 16 register tile (12 ymm accumulators). */
#include "gemm_internal.h"

#if MN_X86
#include <immintrin.h>
#include <math.h>

#define TGT __attribute__((target("avx2,fma")))
enum { X_MR = 6, X_NR = 16 };

#define ROWS(X) X(0) X(1) X(2) X(3) X(4) X(5)

TGT static void kern_avx2(int kc, const float *restrict a, const float *restrict b,
                          float *c, ptrdiff_t ldc, int mr, int nr, float alpha,
                          float beta)
{
#define DECL(i) __m256 c##i##0 = _mm256_setzero_ps(), c##i##1 = _mm256_setzero_ps();
    ROWS(DECL)
#undef DECL
    for (int k = 0; k < kc; k++) {
        __m256 b0 = _mm256_load_ps(b), b1 = _mm256_load_ps(b + 8);
#define STEP(i)                                                   \
    {                                                             \
        __m256 ai = _mm256_broadcast_ss(a + i);                   \
        c##i##0 = _mm256_fmadd_ps(ai, b0, c##i##0);               \
        c##i##1 = _mm256_fmadd_ps(ai, b1, c##i##1);               \
    }
        ROWS(STEP)
#undef STEP
        a += X_MR;
        b += X_NR;
    }
    __m256 va = _mm256_set1_ps(alpha), vb = _mm256_set1_ps(beta);
    if (nr == X_NR) {
#define STORE(i)                                                              \
    if (i < mr) {                                                             \
        float *ci = c + (size_t)i * ldc;                                      \
        __m256 r0 = _mm256_mul_ps(va, c##i##0), r1 = _mm256_mul_ps(va, c##i##1); \
        if (beta != 0.0f) {                                                   \
            r0 = _mm256_fmadd_ps(vb, _mm256_loadu_ps(ci), r0);                \
            r1 = _mm256_fmadd_ps(vb, _mm256_loadu_ps(ci + 8), r1);            \
        }                                                                     \
        _mm256_storeu_ps(ci, r0);                                             \
        _mm256_storeu_ps(ci + 8, r1);                                         \
    }
        ROWS(STORE)
#undef STORE
    } else {
        float t[X_MR][X_NR];
#define SPILL(i) _mm256_storeu_ps(t[i], c##i##0); _mm256_storeu_ps(t[i] + 8, c##i##1);
        ROWS(SPILL)
#undef SPILL
        for (int i = 0; i < mr; i++) {
            float *ci = c + (size_t)i * ldc;
            for (int j = 0; j < nr; j++)
                ci[j] = beta == 0.0f ? alpha * t[i][j] : fmaf(beta, ci[j], alpha * t[i][j]);
        }
    }
}

TGT static MN_ALWAYS_INLINE __m256i lanes_below(int n)
{
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(n), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

/* In-register 8 x 8 transpose: r[i] holds row i on entry, column i on exit. */
TGT static MN_ALWAYS_INLINE void tr8(__m256 r[8])
{
    __m256 t[8], u[8];
#pragma GCC unroll 8
    for (int i = 0; i < 8; i += 2) {
        t[i] = _mm256_unpacklo_ps(r[i], r[i + 1]);
        t[i + 1] = _mm256_unpackhi_ps(r[i], r[i + 1]);
    }
#pragma GCC unroll 8
    for (int i = 0; i < 8; i += 4) {
        u[i] = _mm256_shuffle_ps(t[i], t[i + 2], 0x44);
        u[i + 1] = _mm256_shuffle_ps(t[i], t[i + 2], 0xEE);
        u[i + 2] = _mm256_shuffle_ps(t[i + 1], t[i + 3], 0x44);
        u[i + 3] = _mm256_shuffle_ps(t[i + 1], t[i + 3], 0xEE);
    }
#pragma GCC unroll 8
    for (int q = 0; q < 4; q++) {
        r[q] = _mm256_permute2f128_ps(u[q], u[4 + q], 0x20);
        r[4 + q] = _mm256_permute2f128_ps(u[q], u[4 + q], 0x31);
    }
}

/* dst[k*W + c] = src[c*ld + k] for c < n (zero for n <= c < W), k < kc. */
TGT static MN_ALWAYS_INLINE void pack_tr(int W, const float *src, ptrdiff_t ld, int n,
                                         int kc, float *restrict dst)
{
    for (int c0 = 0; c0 < W; c0 += 8) {
        int cw = W - c0 < 8 ? W - c0 : 8;
        int cv = n - c0 < 0 ? 0 : n - c0 < cw ? n - c0 : cw;
        __m256i sm = lanes_below(cw);
        for (int k0 = 0; k0 < kc; k0 += 8) {
            int kw = kc - k0 < 8 ? kc - k0 : 8;
            __m256i km = lanes_below(kw);
            __m256 r[8];
#pragma GCC unroll 8
            for (int c = 0; c < 8; c++)
                r[c] = c >= cv ? _mm256_setzero_ps()
                       : kw == 8 ? _mm256_loadu_ps(src + (size_t)(c0 + c) * ld + k0)
                                 : _mm256_maskload_ps(src + (size_t)(c0 + c) * ld + k0, km);
            tr8(r);
#pragma GCC unroll 8
            for (int k = 0; k < kw; k++) {
                if (cw == 8) _mm256_storeu_ps(dst + (size_t)(k0 + k) * W + c0, r[k]);
                else _mm256_maskstore_ps(dst + (size_t)(k0 + k) * W + c0, sm, r[k]);
            }
        }
    }
}

TGT static void pack_a_avx2(int trans, const float *src, ptrdiff_t ld, int mc,
                            int kc, float *dst)
{
    if (trans) {
        mn_pack_a_body(X_MR, trans, src, ld, mc, kc, dst);
        return;
    }
    for (int p = 0; p < mc; p += X_MR)
        pack_tr(X_MR, src + (size_t)p * ld, ld, mc - p < X_MR ? mc - p : X_MR, kc,
                dst + (size_t)p * kc);
}

TGT static void pack_b_avx2(int trans, const float *src, ptrdiff_t ld, int nc,
                            int kc, float *dst)
{
    if (!trans) {
        mn_pack_b_body(X_NR, trans, src, ld, nc, kc, dst);
        return;
    }
    for (int p = 0; p < nc; p += X_NR)
        pack_tr(X_NR, src + (size_t)p * ld, ld, nc - p < X_NR ? nc - p : X_NR, kc,
                dst + (size_t)p * kc);
}

TGT static inline float hsum8(__m256 v)
{
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_shuffle_ps(s, s, 1));
    return _mm_cvtss_f32(s);
}

TGT static void gemv_avx2(int transB, int N, int K, float alpha, const float *x,
                          ptrdiff_t incx, const float *B, ptrdiff_t ldb,
                          float beta, float *y, ptrdiff_t incy, float *scratch)
{
    if (incx != 1) {
        for (int k = 0; k < K; k++) scratch[k] = x[(size_t)k * incx];
        x = scratch;
    }
    float t[32];
    if (!transB) {
        for (int j0 = 0; j0 < N; j0 += 32) {
            int w = N - j0 < 32 ? N - j0 : 32;
            if (w == 32) {
                __m256 s0 = _mm256_setzero_ps(), s1 = s0, s2 = s0, s3 = s0;
                for (int k = 0; k < K; k++) {
                    const float *b = B + (size_t)k * ldb + j0;
                    __m256 xk = _mm256_broadcast_ss(x + k);
                    s0 = _mm256_fmadd_ps(xk, _mm256_loadu_ps(b), s0);
                    s1 = _mm256_fmadd_ps(xk, _mm256_loadu_ps(b + 8), s1);
                    s2 = _mm256_fmadd_ps(xk, _mm256_loadu_ps(b + 16), s2);
                    s3 = _mm256_fmadd_ps(xk, _mm256_loadu_ps(b + 24), s3);
                }
                _mm256_storeu_ps(t, s0);
                _mm256_storeu_ps(t + 8, s1);
                _mm256_storeu_ps(t + 16, s2);
                _mm256_storeu_ps(t + 24, s3);
            } else {
                for (int j = 0; j < w; j++) t[j] = 0.0f;
                for (int k = 0; k < K; k++) {
                    const float *b = B + (size_t)k * ldb + j0;
                    for (int j = 0; j < w; j++) t[j] = fmaf(x[k], b[j], t[j]);
                }
            }
            for (int j = 0; j < w; j++) {
                float *yj = &y[(size_t)(j0 + j) * incy];
                *yj = beta == 0.0f ? alpha * t[j] : fmaf(beta, *yj, alpha * t[j]);
            }
        }
    } else {
        for (int j = 0; j < N; j++) {
            const float *b = B + (size_t)j * ldb;
            __m256 s0 = _mm256_setzero_ps(), s1 = s0;
            int k = 0;
            for (; k + 16 <= K; k += 16) {
                s0 = _mm256_fmadd_ps(_mm256_loadu_ps(x + k), _mm256_loadu_ps(b + k), s0);
                s1 = _mm256_fmadd_ps(_mm256_loadu_ps(x + k + 8), _mm256_loadu_ps(b + k + 8), s1);
            }
            float acc = hsum8(_mm256_add_ps(s0, s1));
            for (; k < K; k++) acc = fmaf(x[k], b[k], acc);
            float *yj = &y[(size_t)j * incy];
            *yj = beta == 0.0f ? alpha * acc : fmaf(beta, *yj, alpha * acc);
        }
    }
}

static const mn_gemm_engine_t g_avx2 = {
    "avx2", X_MR, X_NR, 192, 256, 1024,
    kern_avx2, pack_a_avx2, pack_b_avx2, gemv_avx2, NULL, NULL, NULL, NULL, NULL, NULL,
};

const mn_gemm_engine_t *mn_gemm_engine_avx2(void)
{
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return &g_avx2;
    return NULL;
}

#else
const mn_gemm_engine_t *mn_gemm_engine_avx2(void) { return NULL; }
#endif
