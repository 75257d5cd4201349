/* AVX-512 engine: 12 x 32 register tile (24 zmm accumulators), masked
 * edges, AVX-512 packing and GEMV. */
#include "gemm_internal.h"

#if MN_X86
#include <immintrin.h>

#define TGT __attribute__((target("avx512f,avx512vl,avx512dq,avx512bw,avx2,fma")))
enum { Z_MR = 12, Z_NR = 32 };

#define ROWS(X) X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7) X(8) X(9) X(10) X(11)

/* One row of a tile through the epilogue.  max(v, 0) is v > 0 ? v : 0
 * bit for bit: max_ps returns its second operand (+0) for a NaN or a zero
 * of either sign in the first. */
TGT static MN_ALWAYS_INLINE void kern_epi_store(float *ci, float *yi, __mmask16 m0, __mmask16 m1,
                                                __m512 r0, __m512 r1, const float *bias,
                                                int relu)
{
    if (bias) {
        r0 = _mm512_add_ps(r0, _mm512_maskz_loadu_ps(m0, bias));
        r1 = _mm512_add_ps(r1, _mm512_maskz_loadu_ps(m1, bias + 16));
    }
    __m512 a0 = r0, a1 = r1;
    if (relu) {
        a0 = _mm512_max_ps(r0, _mm512_setzero_ps());
        a1 = _mm512_max_ps(r1, _mm512_setzero_ps());
    }
    if (yi) {
        _mm512_mask_storeu_ps(ci, m0, r0);
        _mm512_mask_storeu_ps(ci + 16, m1, r1);
        _mm512_mask_storeu_ps(yi, m0, a0);
        _mm512_mask_storeu_ps(yi + 16, m1, a1);
    } else {
        _mm512_mask_storeu_ps(ci, m0, a0);
        _mm512_mask_storeu_ps(ci + 16, m1, a1);
    }
}

/* bs: distance between k rows of b (NR when packed, ldb when read in place,
 * then masked to the nr valid columns). */
TGT static MN_ALWAYS_INLINE void kern12x32_epi(int kc, const float *restrict a,
                                               const float *restrict b, ptrdiff_t bs,
                                               int inplace, float *c, ptrdiff_t ldc,
                                               int mr, int nr, float alpha, float beta,
                                               int epi, const float *bias, int relu,
                                               float *y, ptrdiff_t ldy)
{
    __mmask16 m0 = nr >= 16 ? 0xFFFF : (__mmask16)((1u << nr) - 1);
    __mmask16 m1 = nr >= 32 ? 0xFFFF : nr <= 16 ? 0 : (__mmask16)((1u << (nr - 16)) - 1);
#define DECL(i) __m512 c##i##0 = _mm512_setzero_ps(), c##i##1 = _mm512_setzero_ps();
    ROWS(DECL)
#undef DECL
#define STEP(i)                                                   \
    {                                                             \
        __m512 ai = _mm512_set1_ps(a[i]);                         \
        c##i##0 = _mm512_fmadd_ps(ai, b0, c##i##0);               \
        c##i##1 = _mm512_fmadd_ps(ai, b1, c##i##1);               \
    }
    for (int k = 0; k < kc; k++) {
        __m512 b0, b1;
        if (inplace) {
            b0 = _mm512_maskz_loadu_ps(m0, b);
            b1 = _mm512_maskz_loadu_ps(m1, b + 16);
        } else {
            b0 = _mm512_load_ps(b);
            b1 = _mm512_load_ps(b + 16);
        }
        ROWS(STEP)
        a += Z_MR;
        b += bs;
    }
#undef STEP
    __m512 va = _mm512_set1_ps(alpha), vb = _mm512_set1_ps(beta);
#define STORE(i)                                                                 \
    if (i < mr) {                                                                \
        float *ci = c + (size_t)i * ldc;                                         \
        __m512 r0 = _mm512_mul_ps(va, c##i##0), r1 = _mm512_mul_ps(va, c##i##1); \
        if (beta != 0.0f) {                                                      \
            r0 = _mm512_fmadd_ps(vb, _mm512_maskz_loadu_ps(m0, ci), r0);         \
            r1 = _mm512_fmadd_ps(vb, _mm512_maskz_loadu_ps(m1, ci + 16), r1);    \
        }                                                                        \
        if (epi) /* mn_epilogue_apply's operations: v = z + b, v > 0 ? v : 0 */ \
            kern_epi_store(ci, y ? y + (size_t)i * ldy : NULL, m0, m1, r0, r1,   \
                           bias, relu);                                          \
        else {                                                                   \
            _mm512_mask_storeu_ps(ci, m0, r0);                                   \
            _mm512_mask_storeu_ps(ci + 16, m1, r1);                              \
        }                                                                        \
    }
    ROWS(STORE)
#undef STORE
}

TGT static MN_ALWAYS_INLINE void kern12x32(int kc, const float *restrict a,
                                           const float *restrict b, ptrdiff_t bs,
                                           int inplace, float *c, ptrdiff_t ldc,
                                           int mr, int nr, float alpha, float beta)
{
    kern12x32_epi(kc, a, b, bs, inplace, c, ldc, mr, nr, alpha, beta, 0, NULL, 0, NULL, 0);
}

TGT static void kern_avx512(int kc, const float *restrict a, const float *restrict b,
                            float *c, ptrdiff_t ldc, int mr, int nr, float alpha,
                            float beta)
{
    kern12x32(kc, a, b, Z_NR, 0, c, ldc, mr, nr, alpha, beta);
}

TGT static void kern_avx512_epi(int kc, const float *restrict a, const float *restrict b,
                                float *c, ptrdiff_t ldc, int mr, int nr, float alpha,
                                float beta, const float *bias, int relu, float *y,
                                ptrdiff_t ldy)
{
    kern12x32_epi(kc, a, b, Z_NR, 0, c, ldc, mr, nr, alpha, beta, 1, bias, relu, y, ldy);
}

/* R x 32 tile with R rows known once inlined (no work on rows that are
 * not there): op(A)[i][k] at a[i*rsa + k*csa] (packed: rsa 1, csa Z_MR);
 * B row k at b + k*bs, masked to nr columns (in place, bs = ldb).  Rows are
 * reached from four pointers, each with offsets 0, rsa, 2*rsa, which x86
 * addressing does with one stride register.  Each element gets the same
 * operations as in kern12x32, so the results are the same bits. */
TGT static MN_ALWAYS_INLINE void kern_r32(int R, int kc, const float *a, ptrdiff_t rsa,
                                          ptrdiff_t csa, const float *restrict b,
                                          ptrdiff_t bs, float *c, ptrdiff_t ldc, int nr,
                                          float alpha, float beta)
{
    __mmask16 m0 = nr >= 16 ? 0xFFFF : (__mmask16)((1u << nr) - 1);
    __mmask16 m1 = nr >= 32 ? 0xFFFF : nr <= 16 ? 0 : (__mmask16)((1u << (nr - 16)) - 1);
    __m512 acc[2 * Z_MR];
#pragma GCC unroll 24
    for (int i = 0; i < 2 * R; i++) acc[i] = _mm512_setzero_ps();
    const float *q0 = a, *q1 = a + 3 * rsa, *q2 = a + 6 * rsa, *q3 = a + 9 * rsa;
    for (int k = 0; k < kc; k++) {
        __m512 b0 = _mm512_maskz_loadu_ps(m0, b), b1 = _mm512_maskz_loadu_ps(m1, b + 16);
#pragma GCC unroll 12
        for (int i = 0; i < R; i++) {
            const float *q = i < 3 ? q0 : i < 6 ? q1 : i < 9 ? q2 : q3;
            __m512 ai = _mm512_set1_ps(q[(i % 3) * rsa]);
            acc[2 * i] = _mm512_fmadd_ps(ai, b0, acc[2 * i]);
            acc[2 * i + 1] = _mm512_fmadd_ps(ai, b1, acc[2 * i + 1]);
        }
        q0 += csa; q1 += csa; q2 += csa; q3 += csa;
        b += bs;
    }
    __m512 va = _mm512_set1_ps(alpha), vb = _mm512_set1_ps(beta);
#pragma GCC unroll 12
    for (int i = 0; i < R; i++) {
        float *ci = c + (size_t)i * ldc;
        __m512 r0 = acc[2 * i], r1 = acc[2 * i + 1];
        if (alpha != 1.0f) { /* 1 * x is x: skipping it keeps the bits, saves 10% at K = 10 */
            r0 = _mm512_mul_ps(va, r0);
            r1 = _mm512_mul_ps(va, r1);
        }
        if (beta != 0.0f) {
            r0 = _mm512_fmadd_ps(vb, _mm512_maskz_loadu_ps(m0, ci), r0);
            r1 = _mm512_fmadd_ps(vb, _mm512_maskz_loadu_ps(m1, ci + 16), r1);
        }
        _mm512_mask_storeu_ps(ci, m0, r0);
        _mm512_mask_storeu_ps(ci + 16, m1, r1);
    }
}

#define R_CASES(X) X(1) X(2) X(3) X(4) X(5) X(6) X(7) X(8) X(9) X(10) X(11) X(12)

/* Packed A (its zero rows beyond mr are skipped), B in place. */
TGT static void kern_avx512_ub(int kc, const float *restrict a, const float *restrict b,
                               ptrdiff_t ldb, float *c, ptrdiff_t ldc, int mr, int nr,
                               float alpha, float beta)
{
    switch (mr) {
#define CASE(R) case R: kern_r32(R, kc, a, 1, Z_MR, b, ldb, c, ldc, nr, alpha, beta); break;
    R_CASES(CASE)
#undef CASE
    default: break;
    }
}

/* A in place, B packed. */
TGT static void kern_avx512_ua(int kc, const float *a, ptrdiff_t rsa, ptrdiff_t csa,
                               const float *restrict b, float *c, ptrdiff_t ldc, int mr,
                               int nr, float alpha, float beta)
{
    switch (mr) {
#define CASE(R) case R: kern_r32(R, kc, a, rsa, csa, b, Z_NR, c, ldc, nr, alpha, beta); break;
    R_CASES(CASE)
#undef CASE
    default: break;
    }
}

/* A and B both in place: small products skip packing altogether. */
TGT static void kern_avx512_uab(int kc, const float *a, ptrdiff_t rsa, ptrdiff_t csa,
                                const float *restrict b, ptrdiff_t ldb, float *c,
                                ptrdiff_t ldc, int mr, int nr, float alpha, float beta)
{
    switch (mr) {
#define CASE(R) case R: kern_r32(R, kc, a, rsa, csa, b, ldb, c, ldc, nr, alpha, beta); break;
    R_CASES(CASE)
#undef CASE
    default: break;
    }
}

/* Narrow variant for N <= 16: 24 x 16 tile, one zmm per row. */
enum { ZN_MR = 24, ZN_NR = 16 };
#define ROWS24(X) X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7) X(8) X(9) X(10) X(11) \
    X(12) X(13) X(14) X(15) X(16) X(17) X(18) X(19) X(20) X(21) X(22) X(23)

TGT static void kern_avx512_n16(int kc, const float *restrict a, const float *restrict b,
                                float *c, ptrdiff_t ldc, int mr, int nr, float alpha,
                                float beta)
{
#define DECL(i) __m512 c##i = _mm512_setzero_ps();
    ROWS24(DECL)
#undef DECL
#define STEP(i) c##i = _mm512_fmadd_ps(_mm512_set1_ps(a[i]), b0, c##i);
    for (int k = 0; k < kc; k++) {
        __m512 b0 = _mm512_load_ps(b);
        ROWS24(STEP)
        a += ZN_MR;
        b += ZN_NR;
    }
#undef STEP
    __m512 va = _mm512_set1_ps(alpha), vb = _mm512_set1_ps(beta);
    __mmask16 m0 = nr >= 16 ? 0xFFFF : (__mmask16)((1u << nr) - 1);
#define STORE(i)                                                         \
    if (i < mr) {                                                        \
        float *ci = c + (size_t)i * ldc;                                 \
        __m512 r0 = _mm512_mul_ps(va, c##i);                             \
        if (beta != 0.0f)                                                \
            r0 = _mm512_fmadd_ps(vb, _mm512_maskz_loadu_ps(m0, ci), r0); \
        _mm512_mask_storeu_ps(ci, m0, r0);                               \
    }
    ROWS24(STORE)
#undef STORE
}

TGT static void kern_avx512_n16_ua(int kc, const float *a, ptrdiff_t rsa, ptrdiff_t csa,
                                   const float *restrict b, float *c, ptrdiff_t ldc,
                                   int mr, int nr, float alpha, float beta)
{
#define DECL(i) __m512 c##i = _mm512_setzero_ps();
    ROWS24(DECL)
#undef DECL
    if (mr == ZN_MR) {
        /* eight row pointers; the other rows are base + {1,2,4,8} * rsa,
         * which x86 addressing reaches without more registers */
        const ptrdiff_t s = rsa;
        const float *p0 = a, *p3 = a + 3 * s, *p6 = a + 6 * s, *p9 = a + 9 * s;
        const float *p12 = a + 12 * s, *p15 = a + 15 * s, *p18 = a + 18 * s, *p21 = a + 21 * s;
#define F(i, v) c##i = _mm512_fmadd_ps(_mm512_set1_ps(v), b0, c##i);
        for (int k = 0; k < kc; k++) {
            __m512 b0 = _mm512_load_ps(b);
            F(0, p0[0]) F(1, p0[s]) F(2, p0[2 * s]) F(3, p3[0]) F(4, p0[4 * s])
            F(5, p3[2 * s]) F(6, p6[0]) F(7, p3[4 * s]) F(8, p0[8 * s]) F(9, p9[0])
            F(10, p6[4 * s]) F(11, p3[8 * s]) F(12, p12[0]) F(13, p9[4 * s])
            F(14, p6[8 * s]) F(15, p15[0]) F(16, p12[4 * s]) F(17, p9[8 * s])
            F(18, p18[0]) F(19, p15[4 * s]) F(20, p12[8 * s]) F(21, p21[0])
            F(22, p18[4 * s]) F(23, p15[8 * s])
            p0 += csa; p3 += csa; p6 += csa; p9 += csa;
            p12 += csa; p15 += csa; p18 += csa; p21 += csa;
            b += ZN_NR;
        }
#undef F
    } else { /* short edge panel: 8 rows at a time (offsets stay in registers) */
        for (int r0 = 0; r0 < mr; r0 += 8) {
            int m8 = mr - r0 < 8 ? mr - r0 : 8;
            const float *ap = a + (ptrdiff_t)r0 * rsa, *bp = b;
            ptrdiff_t o[8];
#pragma GCC unroll 8
            for (int i = 0; i < 8; i++) o[i] = (ptrdiff_t)(i < m8 ? i : m8 - 1) * rsa;
            __m512 d0 = _mm512_setzero_ps(), d1 = d0, d2 = d0, d3 = d0, d4 = d0, d5 = d0, d6 = d0, d7 = d0;
            for (int k = 0; k < kc; k++) {
                __m512 b0 = _mm512_load_ps(bp);
                d0 = _mm512_fmadd_ps(_mm512_set1_ps(ap[o[0]]), b0, d0);
                d1 = _mm512_fmadd_ps(_mm512_set1_ps(ap[o[1]]), b0, d1);
                d2 = _mm512_fmadd_ps(_mm512_set1_ps(ap[o[2]]), b0, d2);
                d3 = _mm512_fmadd_ps(_mm512_set1_ps(ap[o[3]]), b0, d3);
                d4 = _mm512_fmadd_ps(_mm512_set1_ps(ap[o[4]]), b0, d4);
                d5 = _mm512_fmadd_ps(_mm512_set1_ps(ap[o[5]]), b0, d5);
                d6 = _mm512_fmadd_ps(_mm512_set1_ps(ap[o[6]]), b0, d6);
                d7 = _mm512_fmadd_ps(_mm512_set1_ps(ap[o[7]]), b0, d7);
                ap += csa;
                bp += ZN_NR;
            }
            __m512 d[8] = {d0, d1, d2, d3, d4, d5, d6, d7};
            __m512 va = _mm512_set1_ps(alpha), vb = _mm512_set1_ps(beta);
            __mmask16 m0 = nr >= 16 ? 0xFFFF : (__mmask16)((1u << nr) - 1);
            for (int i = 0; i < m8; i++) {
                float *ci = c + (size_t)(r0 + i) * ldc;
                __m512 r = _mm512_mul_ps(va, d[i]);
                if (beta != 0.0f) r = _mm512_fmadd_ps(vb, _mm512_maskz_loadu_ps(m0, ci), r);
                _mm512_mask_storeu_ps(ci, m0, r);
            }
        }
        return;
    }
    __m512 va = _mm512_set1_ps(alpha), vb = _mm512_set1_ps(beta);
    __mmask16 m0 = nr >= 16 ? 0xFFFF : (__mmask16)((1u << nr) - 1);
#define STORE(i)                                                         \
    if (i < mr) {                                                        \
        float *ci = c + (size_t)i * ldc;                                 \
        __m512 r0 = _mm512_mul_ps(va, c##i);                             \
        if (beta != 0.0f)                                                \
            r0 = _mm512_fmadd_ps(vb, _mm512_maskz_loadu_ps(m0, ci), r0); \
        _mm512_mask_storeu_ps(ci, m0, r0);                               \
    }
    ROWS24(STORE)
#undef STORE
}

/* In-register 16 x 16 transpose: r[i] holds row i on entry, column i on exit. */
TGT static MN_ALWAYS_INLINE void tr16(__m512 r[16])
{
    __m512 t[16], u[16];
#pragma GCC unroll 16
    for (int i = 0; i < 16; i += 2) {
        t[i] = _mm512_unpacklo_ps(r[i], r[i + 1]);
        t[i + 1] = _mm512_unpackhi_ps(r[i], r[i + 1]);
    }
#pragma GCC unroll 16
    for (int i = 0; i < 16; i += 4) {
        u[i] = _mm512_castpd_ps(_mm512_unpacklo_pd(_mm512_castps_pd(t[i]), _mm512_castps_pd(t[i + 2])));
        u[i + 1] = _mm512_castpd_ps(_mm512_unpackhi_pd(_mm512_castps_pd(t[i]), _mm512_castps_pd(t[i + 2])));
        u[i + 2] = _mm512_castpd_ps(_mm512_unpacklo_pd(_mm512_castps_pd(t[i + 1]), _mm512_castps_pd(t[i + 3])));
        u[i + 3] = _mm512_castpd_ps(_mm512_unpackhi_pd(_mm512_castps_pd(t[i + 1]), _mm512_castps_pd(t[i + 3])));
    }
    /* u[4g + q], lane L: column 4L + q of rows 4g..4g+3 */
#pragma GCC unroll 16
    for (int q = 0; q < 4; q++) {
        __m512 v = _mm512_shuffle_f32x4(u[q], u[4 + q], 0x88);
        __m512 w = _mm512_shuffle_f32x4(u[q], u[4 + q], 0xdd);
        __m512 v2 = _mm512_shuffle_f32x4(u[8 + q], u[12 + q], 0x88);
        __m512 w2 = _mm512_shuffle_f32x4(u[8 + q], u[12 + q], 0xdd);
        r[q] = _mm512_shuffle_f32x4(v, v2, 0x88);
        r[8 + q] = _mm512_shuffle_f32x4(v, v2, 0xdd);
        r[4 + q] = _mm512_shuffle_f32x4(w, w2, 0x88);
        r[12 + q] = _mm512_shuffle_f32x4(w, w2, 0xdd);
    }
}

/* Gather-transpose pack: dst[k*W + c] = src[c*ld + k] for c < n (zero for
 * n <= c < W), k < kc.  W is the panel width (MR or NR). */
TGT static MN_ALWAYS_INLINE void pack_tr(int W, const float *src, ptrdiff_t ld,
                                         int n, int kc, float *restrict dst)
{
    for (int c0 = 0; c0 < W; c0 += 16) {
        int cw = W - c0 < 16 ? W - c0 : 16;            /* columns of dst */
        int cv = n - c0 < 0 ? 0 : n - c0 < cw ? n - c0 : cw; /* valid ones */
        __mmask16 sm = (__mmask16)((1u << cw) - 1);
        for (int k0 = 0; k0 < kc; k0 += 16) {
            int kw = kc - k0 < 16 ? kc - k0 : 16;
            __mmask16 km = (__mmask16)((1u << kw) - 1);
            __m512 r[16];
#pragma GCC unroll 16
            for (int c = 0; c < 16; c++)
                r[c] = c < cv ? _mm512_maskz_loadu_ps(km, src + (size_t)(c0 + c) * ld + k0)
                              : _mm512_setzero_ps();
            tr16(r);
#pragma GCC unroll 16
            for (int k = 0; k < kw; k++)
                _mm512_mask_storeu_ps(dst + (size_t)(k0 + k) * W + c0, sm, r[k]);
        }
    }
}

/* Contiguous pack: dst[k*W + c] = src[k*ld + c] for c < n, zero beyond. */
TGT static MN_ALWAYS_INLINE void pack_cp(int W, const float *src, ptrdiff_t ld,
                                         int n, int kc, float *restrict dst)
{
    if (W == 32 && n == 32) {
        for (int k = 0; k < kc; k++) {
            const float *s = src + (size_t)k * ld;
            _mm512_store_ps(dst + (size_t)k * 32, _mm512_loadu_ps(s));
            _mm512_store_ps(dst + (size_t)k * 32 + 16, _mm512_loadu_ps(s + 16));
        }
        return;
    }
    for (int c0 = 0; c0 < W; c0 += 16) {
        int cw = W - c0 < 16 ? W - c0 : 16;
        int cv = n - c0 < 0 ? 0 : n - c0 < cw ? n - c0 : cw;
        __mmask16 sm = (__mmask16)((1u << cw) - 1), lm = (__mmask16)((1u << cv) - 1);
        for (int k = 0; k < kc; k++)
            _mm512_mask_storeu_ps(dst + (size_t)k * W + c0, sm,
                                  _mm512_maskz_loadu_ps(lm, src + (size_t)k * ld + c0));
    }
}

TGT static MN_ALWAYS_INLINE void pack_a_w(int W, int trans, const float *src, ptrdiff_t ld,
                                          int mc, int kc, float *dst)
{
    for (int p = 0; p < mc; p += W) {
        int n = mc - p < W ? mc - p : W;
        if (trans) pack_cp(W, src + p, ld, n, kc, dst + (size_t)p * kc);
        else pack_tr(W, src + (size_t)p * ld, ld, n, kc, dst + (size_t)p * kc);
    }
}

TGT static MN_ALWAYS_INLINE void pack_b_w(int W, int trans, const float *src, ptrdiff_t ld,
                                          int nc, int kc, float *dst)
{
    for (int p = 0; p < nc; p += W) {
        int n = nc - p < W ? nc - p : W;
        if (trans) pack_tr(W, src + (size_t)p * ld, ld, n, kc, dst + (size_t)p * kc);
        else pack_cp(W, src + p, ld, n, kc, dst + (size_t)p * kc);
    }
}

TGT static void pack_a_avx512(int trans, const float *src, ptrdiff_t ld, int mc,
                              int kc, float *dst)
{
    pack_a_w(Z_MR, trans, src, ld, mc, kc, dst);
}

TGT static void pack_b_avx512(int trans, const float *src, ptrdiff_t ld, int nc,
                              int kc, float *dst)
{
    pack_b_w(Z_NR, trans, src, ld, nc, kc, dst);
}

TGT static void pack_a_avx512_n16(int trans, const float *src, ptrdiff_t ld, int mc,
                                  int kc, float *dst)
{
    pack_a_w(ZN_MR, trans, src, ld, mc, kc, dst);
}

TGT static void pack_b_avx512_n16(int trans, const float *src, ptrdiff_t ld, int nc,
                                  int kc, float *dst)
{
    pack_b_w(ZN_NR, trans, src, ld, nc, kc, dst);
}

/* y[r*incy] = alpha * dot(x, b + r*ldb) (+ beta y) for R rows; the same
 * operation order for every row whatever R, so grouping never changes bits. */
TGT static MN_ALWAYS_INLINE void dot_rows(int R, int K, const float *x, const float *b,
                                          ptrdiff_t ldb, float alpha, float beta,
                                          float *y, ptrdiff_t incy)
{
    __m512 s0[8], s1[8];
#pragma GCC unroll 8
    for (int r = 0; r < R; r++) s0[r] = s1[r] = _mm512_setzero_ps();
    int k = 0;
    for (; k + 32 <= K; k += 32) {
        __m512 x0 = _mm512_loadu_ps(x + k), x1 = _mm512_loadu_ps(x + k + 16);
#pragma GCC unroll 8
        for (int r = 0; r < R; r++) {
            s0[r] = _mm512_fmadd_ps(x0, _mm512_loadu_ps(b + r * ldb + k), s0[r]);
            s1[r] = _mm512_fmadd_ps(x1, _mm512_loadu_ps(b + r * ldb + k + 16), s1[r]);
        }
    }
    if (k + 16 <= K) {
        __m512 x0 = _mm512_loadu_ps(x + k);
#pragma GCC unroll 8
        for (int r = 0; r < R; r++)
            s0[r] = _mm512_fmadd_ps(x0, _mm512_loadu_ps(b + r * ldb + k), s0[r]);
        k += 16;
    }
    if (k < K) {
        __mmask16 m = (__mmask16)((1u << (K - k)) - 1);
        __m512 x1 = _mm512_maskz_loadu_ps(m, x + k);
#pragma GCC unroll 8
        for (int r = 0; r < R; r++)
            s1[r] = _mm512_fmadd_ps(x1, _mm512_maskz_loadu_ps(m, b + r * ldb + k), s1[r]);
    }
#pragma GCC unroll 8
    for (int r = 0; r < R; r++) {
        float v = alpha * _mm512_reduce_add_ps(_mm512_add_ps(s0[r], s1[r]));
        float *yr = y + r * incy;
        *yr = beta == 0.0f ? v : _mm_cvtss_f32(_mm_fmadd_ss(_mm_set_ss(beta), _mm_set_ss(*yr), _mm_set_ss(v)));
    }
}

TGT static void gemv_avx512(int transB, int N, int K, float alpha, const float *x,
                            ptrdiff_t incx, const float *B, ptrdiff_t ldb,
                            float beta, float *y, ptrdiff_t incy, float *scratch)
{
    if (incx != 1) {
        for (int k = 0; k < K; k++) scratch[k] = x[(size_t)k * incx];
        x = scratch;
    }
    __m512 va = _mm512_set1_ps(alpha), vb = _mm512_set1_ps(beta);
    if (!transB) {
        int j0 = 0;
        for (; j0 + 64 <= N; j0 += 64) {
            __m512 s0 = _mm512_setzero_ps(), s1 = s0, s2 = s0, s3 = s0;
            for (int k = 0; k < K; k++) {
                const float *b = B + (size_t)k * ldb + j0;
                __m512 xk = _mm512_set1_ps(x[k]);
                s0 = _mm512_fmadd_ps(xk, _mm512_loadu_ps(b), s0);
                s1 = _mm512_fmadd_ps(xk, _mm512_loadu_ps(b + 16), s1);
                s2 = _mm512_fmadd_ps(xk, _mm512_loadu_ps(b + 32), s2);
                s3 = _mm512_fmadd_ps(xk, _mm512_loadu_ps(b + 48), s3);
            }
            __m512 s[4] = {s0, s1, s2, s3};
            for (int u = 0; u < 4; u++) {
                __m512 r = _mm512_mul_ps(va, s[u]);
                if (incy == 1) {
                    float *yj = y + j0 + 16 * u;
                    if (beta != 0.0f) r = _mm512_fmadd_ps(vb, _mm512_loadu_ps(yj), r);
                    _mm512_storeu_ps(yj, r);
                } else {
                    float t[16];
                    _mm512_storeu_ps(t, s[u]);
                    for (int j = 0; j < 16; j++) {
                        float *yj = &y[(size_t)(j0 + 16 * u + j) * incy];
                        float v = alpha * t[j];
                        *yj = beta == 0.0f ? v : _mm_cvtss_f32(_mm_fmadd_ss(
                            _mm_set_ss(beta), _mm_set_ss(*yj), _mm_set_ss(v)));
                    }
                }
            }
        }
        for (; j0 < N; j0 += 16) {
            int w = N - j0 < 16 ? N - j0 : 16;
            __mmask16 m = (__mmask16)((1u << w) - 1);
            __m512 s0 = _mm512_setzero_ps();
            for (int k = 0; k < K; k++)
                s0 = _mm512_fmadd_ps(_mm512_set1_ps(x[k]),
                                     _mm512_maskz_loadu_ps(m, B + (size_t)k * ldb + j0), s0);
            float t[16];
            _mm512_storeu_ps(t, s0);
            for (int j = 0; j < w; j++) {
                float *yj = &y[(size_t)(j0 + j) * incy];
                float v = alpha * t[j];
                *yj = beta == 0.0f ? v : _mm_cvtss_f32(_mm_fmadd_ss(
                    _mm_set_ss(beta), _mm_set_ss(*yj), _mm_set_ss(v)));
            }
        }
    } else {
        int j = 0;
        for (; j + 8 <= N; j += 8) dot_rows(8, K, x, B + (size_t)j * ldb, ldb, alpha, beta, y + (size_t)j * incy, incy);
        for (; j + 4 <= N; j += 4) dot_rows(4, K, x, B + (size_t)j * ldb, ldb, alpha, beta, y + (size_t)j * incy, incy);
        for (; j < N; j++) dot_rows(1, K, x, B + (size_t)j * ldb, ldb, alpha, beta, y + (size_t)j * incy, incy);
    }
    (void)vb;
}

static const mn_gemm_engine_t g_avx512_n16 = {
    "avx512", ZN_MR, ZN_NR, 240, 384, 768,
    kern_avx512_n16, pack_a_avx512_n16, pack_b_avx512_n16, gemv_avx512, NULL, NULL, kern_avx512_n16_ua, NULL, NULL, NULL,
};

static const mn_gemm_engine_t g_avx512 = {
    "avx512", Z_MR, Z_NR, 240, 384, 768,
    kern_avx512, pack_a_avx512, pack_b_avx512, gemv_avx512, NULL, &g_avx512_n16, kern_avx512_ua, kern_avx512_ub,
    kern_avx512_uab, kern_avx512_epi,
};

const mn_gemm_engine_t *mn_gemm_engine_avx512(void)
{
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") &&
        __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512bw") &&
        __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
        return &g_avx512;
    return NULL;
}

#else
const mn_gemm_engine_t *mn_gemm_engine_avx512(void) { return NULL; }
#endif
