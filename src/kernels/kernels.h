/* The narrow compute interface every layer goes through.  Kernels know
 * nothing of layers: raw float arrays, explicit sizes, row-major storage.
 * A faster engine (SIMD, BLAS, GPU) replaces implementations here, never
 * call sites. */
#ifndef MN_KERNELS_H
#define MN_KERNELS_H

#include <stddef.h>
#include <stdint.h>

/* C = alpha · op(A) · op(B) + beta · C, all row-major.
 *   op(A) is M × K: A is M × K (lda >= K), or K × M when transA (lda >= M)
 *   op(B) is K × N: B is K × N (ldb >= N), or N × K when transB (ldb >= K)
 *   C is M × N (ldc >= N).  beta == 0 means C is written, never read.
 * Deterministic: the result depends only on the inputs and thread count. */
void mn_sgemm(int transA, int transB, int M, int N, int K, float alpha,
              const float *A, int lda, const float *B, int ldb, float beta,
              float *C, int ldc);

/* ---- GEMM with an epilogue (h17) ------------------------------------------
 * What mn_sgemm_epi does to each element of C after its full sum (alpha,
 * beta included), while its tile is still in L1: v = C[i][j] + bias[j]
 * (bias NULL: v = C[i][j]), then act(v) with act one of MN_EPI_*.  With y
 * NULL, C[i][j] = act(v); else C[i][j] = v and y[i*ldy + j] = act(v).  The
 * operations are those of a separate pass (z += b; y = z > 0 ? z : 0), so
 * the results are bit-identical to mn_sgemm followed by that pass. */
enum { MN_EPI_NONE, MN_EPI_RELU, MN_EPI_LEAKY };
typedef struct {
    const float *bias;
    int act;
    float slope; /* MN_EPI_LEAKY: act(v) = v > 0 ? v : slope * v */
    float *y;
    int ldy;
} mn_epilogue;

/* mn_sgemm, then the epilogue (NULL: none). */
void mn_sgemm_epi(int transA, int transB, int M, int N, int K, float alpha,
                  const float *A, int lda, const float *B, int ldb, float beta,
                  float *C, int ldc, const mn_epilogue *epi);
/* The epilogue alone on an m x n block: the unfused path, also the fallback. */
void mn_epilogue_apply(const mn_epilogue *epi, float *C, int ldc, int m, int n);
/* ---- end h17 ---- */

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
/* The same on the calling thread only (never a job of the team): for a
 * caller that splits the rows itself. */
void mn_shift_scale_block(float *dst, const float *src, const float *shift, const float *scale,
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

/* The step's team (team.c): every thread of one parallel region calls
 * mn_team_enter, then the same kernels in the same order.  Each kernel is
 * a job cut into parts by shape only; threads claim parts until none is
 * left and pass the job once all its parts are done (the optimizer
 * updates: once all are claimed; nothing reads their output before the
 * region ends).  Outside a team mn_team_size is 0 and kernels open their
 * own regions as before. */
typedef struct mn_team {
    _Alignas(64) _Atomic uint64_t claim;
    _Alignas(64) _Atomic uint64_t done;
} mn_team;
void mn_team_init(mn_team *tm);
void mn_team_enter(mn_team *tm);
void mn_team_leave(void);
int mn_team_size(void);   /* > 1 inside a team, else 0 */
/* For code that must run on one thread (a random stream, a serial sum,
 * a step the busy machine guard keeps off the team): suspends the
 * calling thread's team, and mn_threads() is 1 on it until resumed. */
int mn_team_suspend(void);
void mn_team_resume(int size);
int mn_team_single(void);   /* 1 while suspended */
/* A job: its name, then part indices until -1, each marked done; wait
 * for all parts (parts >= 1, the same on every thread). */
uint64_t mn_job_begin(void);
int mn_job_claim(uint64_t job, int parts);
void mn_job_done(uint64_t job);
void mn_job_wait(uint64_t job, int parts);
/* Share t of nt of [0, n): contiguous, n*t/nt .. n*(t+1)/nt. */
void mn_share(size_t n, int t, int nt, size_t *lo, size_t *hi);

/* Runs the body with [lo, hi) (size_t) each share of [0, n): in a team,
 * the shares (two per thread) this thread claims, the job then complete;
 * else in a region of want threads, one share each (want <= 1: all of
 * [0, n) on the calling thread, no region).  Every element's result must
 * depend only on its index, never on the share it falls in. */
#define MN_FOR_SHARE(n, want, lo, hi, ...)                                    \
    do {                                                                      \
        const size_t mn_n_ = (n);                                             \
        if (mn_team_size() > 1) {                                             \
            const int mn_np_ = mn_n_ < 2u * (size_t)mn_team_size()            \
                                   ? (int)mn_n_ : 2 * mn_team_size();         \
            if (mn_np_ < 1) break;                                            \
            const uint64_t mn_job_ = mn_job_begin();                          \
            for (int mn_p_; (mn_p_ = mn_job_claim(mn_job_, mn_np_)) >= 0;) {  \
                size_t lo, hi;                                                \
                mn_share(mn_n_, mn_p_, mn_np_, &lo, &hi);                     \
                __VA_ARGS__;                                                  \
                mn_job_done(mn_job_);                                         \
            }                                                                 \
            mn_job_wait(mn_job_, mn_np_);                                     \
        } else if ((want) <= 1) {                                             \
            size_t lo = 0, hi = mn_n_;                                        \
            __VA_ARGS__;                                                      \
        } else {                                                              \
            int mn_nt_ = (want);                                              \
            _Pragma("omp parallel num_threads(mn_nt_) if(mn_nt_ > 1)")       \
            {                                                                 \
                int mn_t_ = 0, mn_T_ = 1;                                     \
                size_t lo, hi;                                                \
                mn_thread_id(&mn_t_, &mn_T_);                                 \
                mn_share(mn_n_, mn_t_, mn_T_, &lo, &hi);                      \
                __VA_ARGS__;                                                  \
            }                                                                 \
        }                                                                     \
    } while (0)

/* Runs the body once: in a team, on the thread that claims it, the team
 * suspended there, and the others wait for it; else directly. */
#define MN_TEAM_SOLO(...)                                                     \
    do {                                                                      \
        if (mn_team_size() > 1) {                                             \
            const uint64_t mn_job_ = mn_job_begin();                          \
            if (mn_job_claim(mn_job_, 1) == 0) {                              \
                int mn_s_ = mn_team_suspend();                                \
                __VA_ARGS__;                                                  \
                mn_team_resume(mn_s_);                                        \
                mn_job_done(mn_job_);                                         \
            }                                                                 \
            mn_job_wait(mn_job_, 1);                                          \
        } else {                                                              \
            __VA_ARGS__;                                                      \
        }                                                                     \
    } while (0)

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

/* Per-sample dense kernels (rank1.c).  One sample's backward through a
 * dense layer W [rows × cols] (parameters off.. of u's state, the bias b
 * [rows] right after W) fused with the optimizer step u: dx [cols] (NULL:
 * not needed) = Wᵀ·dz with W before the step, then W -= the step for
 * dW = dz·xᵀ and b for db = dz, without forming dW: W and the state are
 * read and written once.  The parameters equal mn_k_update's over dW, db
 * bit for bit; dx is summed in row order (the FMA GEMV engines' order).
 * dz [rows], x [cols].  Results do not depend on the threads. */
void mn_k_dense_update(const mn_update *u, float *w, float *b, const float *x, const float *dz,
                       float *dx, int rows, int cols, size_t off);
/* Forces its instruction set ("generic", "avx2", "avx512"; NULL or "":
 * the best this CPU runs for each rule).  -1 when not available here.
 * For tests. */
int mn_k_dense_update_isa(const char *name);
/* The element-wise optimizer loops (mn_k_adam, mn_k_rmsprop): "generic"
 * forces the baseline ones, NULL or "" the fastest this CPU runs; -1 for
 * an unknown name.  Every choice computes the same bits (for the tests). */
int mn_k_optim_isa(const char *name);
/* 1 if mn_k_dense_update's dx equals mn_sgemm's dz·W bit for bit for this
 * shape with the engine in use (an FMA GEMV summing in row order); where
 * it does not, a caller that needs the unfused path's bits computes dx
 * with mn_sgemm first and passes dx NULL. */
int mn_k_dense_update_dx_exact(int rows, int cols);

#endif
