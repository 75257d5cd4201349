/* NEON engine for 64-bit Arm (Advanced SIMD is part of every AArch64
 * CPU, so no run-time check): 8 x 12 register tile, 24 of the 32 vector
 * registers as accumulators, 2 for the A column and 3 for the B row.
 * Each k step is 24 fused multiply-adds by lane (vfmaq_laneq_f32), so A
 * needs no broadcast loads. */
#include "gemm_internal.h"

#if defined(__aarch64__)
#include <arm_neon.h>
#include <math.h>

enum { N_MR = 8, N_NR = 12 };

#define ROWS(X) X(0, a0, 0) X(1, a0, 1) X(2, a0, 2) X(3, a0, 3) \
                X(4, a1, 0) X(5, a1, 1) X(6, a1, 2) X(7, a1, 3)

/* c (mr x nr, row stride ldc) = alpha * acc + beta * c, from the tile t. */
static void store_edge(const float t[N_MR][N_NR], float *c, ptrdiff_t ldc, int mr,
                       int nr, float alpha, float beta)
{
    for (int i = 0; i < mr; i++) {
        float *ci = c + (size_t)i * ldc;
        for (int j = 0; j < nr; j++)
            ci[j] = beta == 0.0f ? alpha * t[i][j] : fmaf(beta, ci[j], alpha * t[i][j]);
    }
}

static void kern_neon(int kc, const float *restrict a, const float *restrict b,
                      float *c, ptrdiff_t ldc, int mr, int nr, float alpha,
                      float beta)
{
#define DECL(i, v, l) float32x4_t c##i##0 = vdupq_n_f32(0.0f), c##i##1 = c##i##0, c##i##2 = c##i##0;
    ROWS(DECL)
#undef DECL
    for (int k = 0; k < kc; k++) {
        float32x4_t a0 = vld1q_f32(a), a1 = vld1q_f32(a + 4);
        float32x4_t b0 = vld1q_f32(b), b1 = vld1q_f32(b + 4), b2 = vld1q_f32(b + 8);
#define STEP(i, v, l)                                \
    c##i##0 = vfmaq_laneq_f32(c##i##0, b0, v, l);    \
    c##i##1 = vfmaq_laneq_f32(c##i##1, b1, v, l);    \
    c##i##2 = vfmaq_laneq_f32(c##i##2, b2, v, l);
        ROWS(STEP)
#undef STEP
        a += N_MR;
        b += N_NR;
    }
    float32x4_t va = vdupq_n_f32(alpha), vb = vdupq_n_f32(beta);
    if (nr == N_NR) {
#define STORE(i, v, l)                                                        \
    if (i < mr) {                                                             \
        float *ci = c + (size_t)i * ldc;                                      \
        float32x4_t r0 = vmulq_f32(va, c##i##0), r1 = vmulq_f32(va, c##i##1); \
        float32x4_t r2 = vmulq_f32(va, c##i##2);                              \
        if (beta != 0.0f) {                                                   \
            r0 = vfmaq_f32(r0, vb, vld1q_f32(ci));                            \
            r1 = vfmaq_f32(r1, vb, vld1q_f32(ci + 4));                        \
            r2 = vfmaq_f32(r2, vb, vld1q_f32(ci + 8));                        \
        }                                                                     \
        vst1q_f32(ci, r0);                                                    \
        vst1q_f32(ci + 4, r1);                                                \
        vst1q_f32(ci + 8, r2);                                                \
    }
        ROWS(STORE)
#undef STORE
    } else {
        float t[N_MR][N_NR];
#define SPILL(i, v, l) vst1q_f32(t[i], c##i##0); vst1q_f32(t[i] + 4, c##i##1); vst1q_f32(t[i] + 8, c##i##2);
        ROWS(SPILL)
#undef SPILL
        store_edge((const float(*)[N_NR])t, c, ldc, mr, nr, alpha, beta);
    }
}

static void pack_a_neon(int trans, const float *src, ptrdiff_t ld, int mc, int kc,
                        float *dst)
{
    mn_pack_a_body(N_MR, trans, src, ld, mc, kc, dst);
}

static void pack_b_neon(int trans, const float *src, ptrdiff_t ld, int nc, int kc,
                        float *dst)
{
    mn_pack_b_body(N_NR, trans, src, ld, nc, kc, dst);
}

static void gemv_neon(int transB, int N, int K, float alpha, const float *x,
                      ptrdiff_t incx, const float *B, ptrdiff_t ldb, float beta,
                      float *y, ptrdiff_t incy, float *scratch)
{
    if (incx != 1) {
        for (int k = 0; k < K; k++) scratch[k] = x[(size_t)k * incx];
        x = scratch;
    }
    float t[16];
    if (!transB) { /* 16 columns of y at a time, down the rows of B */
        for (int j0 = 0; j0 < N; j0 += 16) {
            int w = N - j0 < 16 ? N - j0 : 16;
            if (w == 16) {
                float32x4_t s0 = vdupq_n_f32(0.0f), s1 = s0, s2 = s0, s3 = s0;
                for (int k = 0; k < K; k++) {
                    const float *b = B + (size_t)k * ldb + j0;
                    float32x4_t xk = vdupq_n_f32(x[k]);
                    s0 = vfmaq_f32(s0, xk, vld1q_f32(b));
                    s1 = vfmaq_f32(s1, xk, vld1q_f32(b + 4));
                    s2 = vfmaq_f32(s2, xk, vld1q_f32(b + 8));
                    s3 = vfmaq_f32(s3, xk, vld1q_f32(b + 12));
                }
                vst1q_f32(t, s0);
                vst1q_f32(t + 4, s1);
                vst1q_f32(t + 8, s2);
                vst1q_f32(t + 12, s3);
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
    } else { /* dot products of x with rows of B; 8 partial sums each */
        for (int j = 0; j < N; j++) {
            const float *b = B + (size_t)j * ldb;
            float32x4_t s0 = vdupq_n_f32(0.0f), s1 = s0;
            int k = 0;
            for (; k + 8 <= K; k += 8) {
                s0 = vfmaq_f32(s0, vld1q_f32(x + k), vld1q_f32(b + k));
                s1 = vfmaq_f32(s1, vld1q_f32(x + k + 4), vld1q_f32(b + k + 4));
            }
            float acc = vaddvq_f32(vaddq_f32(s0, s1));
            for (; k < K; k++) acc = fmaf(x[k], b[k], acc);
            float *yj = &y[(size_t)j * incy];
            *yj = beta == 0.0f ? alpha * acc : fmaf(beta, *yj, alpha * acc);
        }
    }
}

/* Blocking for cores with a 32-64 KiB L1 and >= 512 KiB L2: an 8 x 256 A
 * panel and a 256 x 12 B panel (20 KiB) stay in L1, the 128 x 256 A block
 * (128 KiB) in L2. */
static const mn_gemm_engine_t g_neon = {
    "neon", N_MR, N_NR, 128, 256, 1008,
    kern_neon, pack_a_neon, pack_b_neon, gemv_neon, NULL, NULL, NULL, NULL, NULL, NULL,
};

const mn_gemm_engine_t *mn_gemm_engine_neon(void) { return &g_neon; }

#else
const mn_gemm_engine_t *mn_gemm_engine_neon(void) { return NULL; }
#endif
