/* Internals of the GEMM engine: what the blocked driver (gemm_blocked.c)
 * needs from an instruction-set specific engine (gemm_generic.c,
 * gemm_avx2.c, gemm_avx512.c, gemm_neon.c) and what the dispatcher
 * (gemm.c) picks from.
 *
 * Packed layouts (all panels zero-padded to full width):
 *   A block (mc x kc) -> ceil(mc/MR) panels; panel p holds rows p*MR..,
 *     stored k-major: dst[p*MR*kc + k*MR + r] = op(A)[p*MR + r][k]
 *   B block (kc x nc) -> ceil(nc/NR) panels; panel p holds cols p*NR..,
 *     stored k-major: dst[p*NR*kc + k*NR + c] = op(B)[k][p*NR + c]
 * A micro-kernel computes one MR x NR tile of C from one A panel and one B
 * panel and stores only its top-left mr x nr part:
 *   C = alpha * acc + beta * C, as fma(beta, C, alpha*acc); beta == 0 means
 *   C = alpha * acc without reading C.
 * Every C element is computed by the same sequence of operations whatever
 * the blocking into threads, so results are deterministic. */
#ifndef MN_GEMM_INTERNAL_H
#define MN_GEMM_INTERNAL_H

#include <stddef.h>

#include "kernels.h"

typedef void (*mn_ukernel_fn)(int kc, const float *a, const float *b,
                              float *c, ptrdiff_t ldc, int mr, int nr,
                              float alpha, float beta);
/* The same with A read in place: op(A)[i][k] at a[i*rsa + k*csa] (rows
 * i >= mr are never read). */
typedef void (*mn_ukernel_ua_fn)(int kc, const float *a, ptrdiff_t rsa,
                                 ptrdiff_t csa, const float *b, float *c,
                                 ptrdiff_t ldc, int mr, int nr, float alpha,
                                 float beta);
/* The same with B read in place (not transposed): op(B)[k][j] at
 * b[k*ldb + j], columns j >= nr never read. */
typedef void (*mn_ukernel_ub_fn)(int kc, const float *a, const float *b,
                                 ptrdiff_t ldb, float *c, ptrdiff_t ldc,
                                 int mr, int nr, float alpha, float beta);
/* Both in place: op(A) as for mn_ukernel_ua_fn, op(B) as for
 * mn_ukernel_ub_fn. */
typedef void (*mn_ukernel_uab_fn)(int kc, const float *a, ptrdiff_t rsa,
                                  ptrdiff_t csa, const float *b, ptrdiff_t ldb,
                                  float *c, ptrdiff_t ldc, int mr, int nr,
                                  float alpha, float beta);
/* The packed kernel with the epilogue (kernels.h, mn_epilogue) applied in
 * registers before the store: v = C + bias[j] (bias NULL: none); y NULL:
 * C = relu ? max(v, 0) : v; else C = v and y[i*ldy + j] = that. */
typedef void (*mn_ukernel_epi_fn)(int kc, const float *a, const float *b, float *c,
                                  ptrdiff_t ldc, int mr, int nr, float alpha, float beta,
                                  const float *bias, int relu, float *y, ptrdiff_t ldy);
/* src points at the block's first element; op(A)[i][k] is src[i*ld + k]
 * (trans == 0) or src[k*ld + i] (trans != 0); likewise op(B)[k][j] is
 * src[k*ld + j] (trans == 0) or src[j*ld + k]. */
typedef void (*mn_pack_fn)(int trans, const float *src, ptrdiff_t ld,
                           int mn, int kc, float *dst);
/* y = alpha * x . op(B) + beta * y for one row x (1 x K, element k at
 * x[k*incx]), op(B) K x N; y element j at y[j*incy].  scratch holds >= K
 * floats (64-byte aligned) for a contiguous copy of x. */
typedef void (*mn_gemv_fn)(int transB, int N, int K, float alpha,
                           const float *x, ptrdiff_t incx, const float *B,
                           ptrdiff_t ldb, float beta, float *y,
                           ptrdiff_t incy, float *scratch);
typedef void (*mn_full_fn)(int transA, int transB, int M, int N, int K,
                           float alpha, const float *A, int lda,
                           const float *B, int ldb, float beta, float *C,
                           int ldc);

typedef struct mn_gemm_engine_s {
    const char *name;
    int mr, nr;            /* register tile */
    int mc, kc, nc;        /* cache blocking (multiples of mr / nr) */
    mn_ukernel_fn kernel;
    mn_pack_fn pack_a, pack_b;
    mn_gemv_fn gemv;
    mn_full_fn full;       /* non-NULL: a whole-GEMM engine (ref, openblas) */
    /* optional variant with a narrow NR for N <= its nr (chosen by shape
     * only, so results stay deterministic) */
    const struct mn_gemm_engine_s *narrow;
    /* optional: kernel reading A unpacked, used when a thread's part of C
     * is a single NR panel wide (A would be used once) */
    mn_ukernel_ua_fn kernel_ua;
    /* optional: kernel reading B (not transposed) in place, used when a
     * thread's part of C is a single MR panel tall (B would be used once) */
    mn_ukernel_ub_fn kernel_ub;
    /* optional: kernel reading A and B (not transposed) in place, used for
     * products whose B block is small (L1) or used once: no packing */
    mn_ukernel_uab_fn kernel_uab;
    /* optional: kernel with the bias and ReLU/identity epilogue fused into
     * its store (the same operations as mn_epilogue_apply) */
    mn_ukernel_epi_fn kernel_epi;
} mn_gemm_engine_t;

/* Engines; each returns NULL where this build or CPU cannot run it. */
const mn_gemm_engine_t *mn_gemm_engine_generic(void);
const mn_gemm_engine_t *mn_gemm_engine_avx2(void);
const mn_gemm_engine_t *mn_gemm_engine_avx512(void);
const mn_gemm_engine_t *mn_gemm_engine_neon(void);
const mn_gemm_engine_t *mn_gemm_engine_blas(void);

/* Force an engine by name ("ref", "generic", "avx2", "avx512", "neon",
 * "openblas"); NULL or "" restores the automatic choice (which honours
 * MYNN_GEMM).
 * Returns 0, or -1 when that engine is not available here (then nothing
 * changes).  Not meant to race with running mn_sgemm calls (tests). */
int mn_gemm_set_engine(const char *name);

/* The blocked, packed, threaded driver for kernel engines; ep (NULL: none)
 * is applied to each tile of C right after its last store. */
void mn_gemm_blocked(const mn_gemm_engine_t *e, int transA, int transB, int M,
                     int N, int K, float alpha, const float *A, int lda,
                     const float *B, int ldb, float beta, float *C, int ldc,
                     const mn_epilogue *ep);

/* Portable packing and GEMV, any MR / NR. */
void mn_pack_a_any(int mr, int trans, const float *src, ptrdiff_t ld, int mc,
                   int kc, float *dst);
void mn_pack_b_any(int nr, int trans, const float *src, ptrdiff_t ld, int nc,
                   int kc, float *dst);
void mn_gemv_any(int transB, int N, int K, float alpha, const float *x,
                 ptrdiff_t incx, const float *B, ptrdiff_t ldb, float beta,
                 float *y, ptrdiff_t incy, float *scratch);

#if defined(__GNUC__) || defined(__clang__)
#define MN_ALWAYS_INLINE inline __attribute__((always_inline))
#define MN_HAVE_TARGET_ATTR 1
#else
#define MN_ALWAYS_INLINE inline
#define MN_HAVE_TARGET_ATTR 0
#endif

#if (defined(__x86_64__) || defined(__i386__)) && MN_HAVE_TARGET_ATTR
#define MN_X86 1
#else
#define MN_X86 0
#endif

/* Portable packing bodies, inlined into each engine's packers so that mr / nr
 * are constants and the engine's instruction set is used. */
static MN_ALWAYS_INLINE void mn_pack_a_body(int mr, int trans, const float *src,
                                            ptrdiff_t ld, int mc, int kc,
                                            float *restrict dst)
{
    for (int p = 0; p < mc; p += mr) {
        int rows = mc - p < mr ? mc - p : mr;
        float *restrict d = dst + (size_t)p * kc;
        if (trans) {
            for (int k = 0; k < kc; k++) {
                const float *s = src + (size_t)k * ld + p;
                int r = 0;
                for (; r < rows; r++) d[(size_t)k * mr + r] = s[r];
                for (; r < mr; r++) d[(size_t)k * mr + r] = 0.0f;
            }
        } else {
            int r = 0;
            for (; r < rows; r++) {
                const float *s = src + (size_t)(p + r) * ld;
                for (int k = 0; k < kc; k++) d[(size_t)k * mr + r] = s[k];
            }
            for (; r < mr; r++)
                for (int k = 0; k < kc; k++) d[(size_t)k * mr + r] = 0.0f;
        }
    }
}

static MN_ALWAYS_INLINE void mn_pack_b_body(int nr, int trans, const float *src,
                                            ptrdiff_t ld, int nc, int kc,
                                            float *restrict dst)
{
    for (int p = 0; p < nc; p += nr) {
        int cols = nc - p < nr ? nc - p : nr;
        float *restrict d = dst + (size_t)p * kc;
        if (!trans) {
            for (int k = 0; k < kc; k++) {
                const float *s = src + (size_t)k * ld + p;
                int c = 0;
                for (; c < cols; c++) d[(size_t)k * nr + c] = s[c];
                for (; c < nr; c++) d[(size_t)k * nr + c] = 0.0f;
            }
        } else {
            int c = 0;
            for (; c < cols; c++) {
                const float *s = src + (size_t)(p + c) * ld;
                for (int k = 0; k < kc; k++) d[(size_t)k * nr + c] = s[k];
            }
            for (; c < nr; c++)
                for (int k = 0; k < kc; k++) d[(size_t)k * nr + c] = 0.0f;
        }
    }
}

#endif
