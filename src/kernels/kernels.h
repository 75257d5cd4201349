/* The narrow compute interface every layer goes through.  Kernels know
 * nothing of layers: raw float arrays, explicit sizes, row-major storage.
 * A faster engine (SIMD, BLAS, GPU) replaces implementations here, never
 * call sites. */
#ifndef MN_KERNELS_H
#define MN_KERNELS_H

#include <stddef.h>

/* C = alpha · op(A) · op(B) + beta · C, all row-major.
 *   op(A) is M × K: A is M × K (lda >= K), or K × M when transA (lda >= M)
 *   op(B) is K × N: B is K × N (ldb >= N), or N × K when transB (ldb >= K)
 *   C is M × N (ldc >= N).  beta == 0 means C is written, never read.
 * Deterministic: the result depends only on the inputs and thread count. */
void mn_sgemm(int transA, int transB, int M, int N, int K, float alpha,
              const float *A, int lda, const float *B, int ldb, float beta,
              float *C, int ldc);

/* The plain triple loop with the same contract: the reference every faster
 * engine is tested against, and the fallback. */
void mn_sgemm_ref(int transA, int transB, int M, int N, int K, float alpha,
                  const float *A, int lda, const float *B, int ldb, float beta,
                  float *C, int ldc);

/* Name of the engine mn_sgemm dispatches to ("generic", "avx2", ...). */
const char *mn_gemm_engine(void);

/* db[j] (+)= sum_i dz[i*cols + j]: the bias gradient.  accumulate=0 overwrites. */
void mn_sum_rows(float *db, const float *dz, int rows, int cols, int accumulate);

/* dst[i][j] = (src[i][j] - shift[j]) * scale[j]: the input transform. */
void mn_shift_scale_rows(float *dst, const float *src, const float *shift, const float *scale,
                         int rows, int cols);

/* Convolution lowering (see im2col.c): images x [n × c × h × w] to the
 * patch matrix col [(c·kh·kw) × (n·oh·ow)], and the transpose: dx (same
 * shape as x, overwritten) = the sum of col's entries over the patches
 * that read each pixel.  Stride sh × sw, zero padding ph × pw. */
void mn_im2col(const float *x, int n, int c, int h, int w, int kh, int kw, int sh, int sw,
               int ph, int pw, int oh, int ow, float *col);
void mn_col2im(const float *col, int n, int c, int h, int w, int kh, int kw, int sh, int sw,
               int ph, int pw, int oh, int ow, float *dx);

/* Thread count used by the kernels (1 without OpenMP). */
int mn_threads(void);
/* Inside a parallel region: this thread's index and the team size (0, 1 outside). */
void mn_thread_id(int *t, int *nt);

/* Optimizer updates over flat arrays of n parameters p with gradient g,
 * the gradient first scaled by cs (clipping); see src/optim/optimizer.c
 * for the formulas.  Element-wise: results do not depend on the threads. */
void mn_k_sgd(float *p, const float *g, float *buf, size_t n, float cs, float lr, float wd,
              float mu, int nesterov);
void mn_k_adam(float *p, const float *g, float *m, float *v, size_t n, float cs, float l2,
               float shrink, float b1, float b2, float step, float sqrt_bc2, float eps);
void mn_k_rmsprop(float *p, const float *g, float *v, size_t n, float cs, float lr, float wd,
                  float alpha, float eps);


/* One step of an element-wise optimizer with its constants fixed (filled
 * by the optimizer, src/optim/optimizer.c, for the step being taken).
 * Parameter i's new value depends only on p[i], g[i] and its state s0[i],
 * s1[i], so applying the step to any partition of [0, n) gives the same
 * floats as applying it to the whole array: fused updates (each layer's
 * slice applied as soon as backward has its gradient) equal the unfused
 * step bit for bit. */
typedef enum { MN_UPD_SGD, MN_UPD_ADAM, MN_UPD_RMSPROP } mn_update_rule;
typedef struct mn_update {
    mn_update_rule rule;
    float cs;              /* the gradient's clip scale (1: none) */
    float lr, wd;          /* rate; L2 weight decay added to the gradient */
    float mu;              /* SGD momentum (0: none, s0 NULL) */
    int nesterov;
    float shrink;          /* AdamW: p *= shrink first (1 for Adam) */
    float b1, b2, step, sqrt_bc2, eps;  /* Adam: step = lr/(1-b1^t), sqrt_bc2 = sqrt(1-b2^t) */
    float alpha;           /* RMSprop */
    float *s0, *s1;        /* state over all n parameters: SGD momentum buffer;
                              Adam m and v; RMSprop v */
} mn_update;

/* Applies u to parameters [off, off + n): p and g point at parameter off
 * (g may be a gradient slice or any buffer holding it). */
void mn_k_update(const mn_update *u, float *p, const float *g, size_t off, size_t n);

#endif
