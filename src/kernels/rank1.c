/* Per-sample (batch 1) dense backward fused with the optimizer step.
 *
 * With one sample the weight gradient is the outer product dW = dz·xᵀ, so
 * the step needs no dW array: one pass over W's rows computes, for each
 * element, dx_j += dz_i·W_ij (with W before its update) and the update of
 * W_ij with g = dz_i·x_j, reading and writing W and the optimizer state once.
 *
 * Bit for bit what the unfused path gives: g is formed as the GEMM forms
 * dW's entry (one product added to a zero accumulator: dz_i·x_j + 0), the
 * bias gradient as mn_sum_rows forms it (0 + dz_i), and the update is the
 * same per-element formula (optim_elem.h) under the same FTZ/DAZ.  dx is
 * each column's sum over the rows in row order, by fused multiply-adds
 * where the hardware has them: the order of the FMA GEMV engines; the
 * others may differ in rounding.
 *
 * Threads take blocks of columns (each sums its dx entries over all rows),
 * so no result depends on the thread count. */
#include "kernels.h"
#include "gemm_internal.h"
#include "optim_elem.h"

#include <pthread.h>
#include <stdatomic.h>
#include <string.h>

/* Where the portable build has a fused multiply-add instruction (fmaf
 * elsewhere would be a library call per element). */
#if defined(__aarch64__) || defined(__FMA__)
#define GENERIC_FMA 1
#else
#define GENERIC_FMA 0
#endif

/* Below this many weights one thread is faster than waking others. */
#define PAR_MIN 32768

typedef void (*rows_fn)(const mn_update *u, float *w, float *b, const float *x, const float *dz,
                        float *dx, int rows, int cols, size_t off, int j0, int j1, int bias);

/* 1 if none of v[0 .. n) is NaN or infinite (branch-free, vectorizes). */
static MN_ALWAYS_INLINE int all_finite(const float *v, int n)
{
    unsigned bad = 0;
    for (int j = 0; j < n; j++) {
        unsigned bits;
        memcpy(&bits, &v[j], sizeof bits);
        bad |= (bits & 0x7f800000u) == 0x7f800000u;
    }
    return !bad;
}

/* For each row i, columns [j0, j1): dx_j += dz_i W_ij, then W_ij's update
 * (the expression UPD of wo = W_ij, g and the state index s); rows where
 * SKIP holds (an expression of d = dz_i and wr, the row) are left alone. */
#define ROWS(UPD, SKIP)                                                        \
    for (int i = 0; i < rows; i++) {                                           \
        const float d = dz[i];                                                 \
        float *restrict wr = w + (size_t)i * cols;                             \
        const size_t r = (size_t)i * cols;                                     \
        if (SKIP) continue;                                                    \
        if (dx) {                                                              \
            for (int j = j0; j < j1; j++) {                                    \
                const float wo = wr[j], g = d * x[j] + 0.0f;                   \
                const size_t s = r + (size_t)j;                                \
                (void)s;                                                       \
                dx[j] = use_fma ? fmaf(d, wo, dx[j]) : d * wo + dx[j];         \
                wr[j] = UPD;                                                   \
            }                                                                  \
        } else {                                                               \
            for (int j = j0; j < j1; j++) {                                    \
                const float wo = wr[j], g = d * x[j] + 0.0f;                   \
                const size_t s = r + (size_t)j;                                \
                (void)s;                                                       \
                wr[j] = UPD;                                                   \
            }                                                                  \
        }                                                                      \
    }                                                                          \
    if (bias)                                                                  \
        for (int i = 0; i < rows; i++) {                                       \
            const float wo = b[i], g = 0.0f + dz[i];                           \
            const size_t s = (size_t)rows * cols + (size_t)i;                  \
            (void)s;                                                           \
            b[i] = UPD;                                                        \
        }

/* Inlined into one function per instruction set, so each vectorizes with
 * its own (a callee without target options may inline into one with). */
static MN_ALWAYS_INLINE void rows_body(const mn_update *u, float *restrict w, float *restrict b,
                                       const float *restrict x, const float *restrict dz,
                                       float *restrict dx, int rows, int cols, size_t off, int j0,
                                       int j1, int bias, const int use_fma)
{
    const float cs = u->cs, lr = u->lr, wd = u->wd;
    float *restrict s0 = u->s0 ? u->s0 + off : NULL;
    float *restrict s1 = u->s1 ? u->s1 + off : NULL;
    if (dx)
        for (int j = j0; j < j1; j++) dx[j] = 0.0f;
    switch (u->rule) {
    case MN_UPD_SGD: {
        const float mu = u->mu;
        if (!s0 && wd == 0.0f) {
            /* dz_i = 0 gives g = +0, so W_i - lr (+0 cs + 0 W_i) = W_i and
             * dx + 0 W_i = dx (never -0) exactly, when x and W_i are finite
             * (0 · inf would be NaN): ReLU's inactive units cost a read. */
            const int xfin = all_finite(x + j0, j1 - j0);
            ROWS(mn_elem_sgd(wo, g, cs, lr, wd), xfin && d == 0.0f && all_finite(wr + j0, j1 - j0))
        } else if (!s0) {
            ROWS(mn_elem_sgd(wo, g, cs, lr, wd), 0)
        } else if (u->nesterov) {
            ROWS(mn_elem_nesterov(wo, g, &s0[s], cs, lr, wd, mu), 0)
        } else {
            ROWS(mn_elem_sgd_mom(wo, g, &s0[s], cs, lr, wd, mu), 0)
        }
        break;
    }
    case MN_UPD_ADAM: {
        const float shrink = u->shrink, b1 = u->b1, b2 = u->b2, step = u->step;
        const float sbc = u->sqrt_bc2, eps = u->eps;
        if (sbc != 1.0f) {
            ROWS(mn_elem_adam(wo, g, &s0[s], &s1[s], cs, wd, shrink, b1, b2, step, sbc, eps, 1), 0)
        } else {
            ROWS(mn_elem_adam(wo, g, &s0[s], &s1[s], cs, wd, shrink, b1, b2, step, 1.0f, eps, 0), 0)
        }
        break;
    }
    case MN_UPD_RMSPROP: {
        const float alpha = u->alpha, eps = u->eps;
        ROWS(mn_elem_rmsprop(wo, g, &s0[s], cs, lr, wd, alpha, eps), 0)
        break;
    }
    }
}

static void rows_generic(const mn_update *u, float *w, float *b, const float *x, const float *dz,
                         float *dx, int rows, int cols, size_t off, int j0, int j1, int bias)
{
    rows_body(u, w, b, x, dz, dx, rows, cols, off, j0, j1, bias, GENERIC_FMA);
}

#if MN_X86
__attribute__((target("avx2,fma"))) static void rows_avx2(const mn_update *u, float *w, float *b,
                                                          const float *x, const float *dz,
                                                          float *dx, int rows, int cols,
                                                          size_t off, int j0, int j1, int bias)
{
    rows_body(u, w, b, x, dz, dx, rows, cols, off, j0, j1, bias, 1);
}

__attribute__((target("avx512f,avx512vl,avx2,fma"))) static void
rows_avx512(const mn_update *u, float *w, float *b, const float *x, const float *dz, float *dx,
            int rows, int cols, size_t off, int j0, int j1, int bias)
{
    rows_body(u, w, b, x, dz, dx, rows, cols, off, j0, j1, bias, 1);
}
#endif

static rows_fn isa_by_name(const char *name)
{
    if (!strcmp(name, "generic")) return rows_generic;
#if MN_X86
    __builtin_cpu_init();
    const int avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    if (!strcmp(name, "avx2")) return avx2 ? rows_avx2 : NULL;
    if (!strcmp(name, "avx512"))
        return avx2 && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl")
                   ? rows_avx512
                   : NULL;
#endif
    return NULL;
}

#if MN_X86
/* Where both run: Adam and RMSprop are bound by the square root and
 * divisions, which cost as much per float in 256-bit vectors as in
 * 512-bit ones, and 256-bit code keeps a higher clock: AVX2 measured a few
 * per cent faster for them, AVX-512 some 10% faster for SGD. */
static void rows_best(const mn_update *u, float *w, float *b, const float *x, const float *dz,
                      float *dx, int rows, int cols, size_t off, int j0, int j1, int bias)
{
    rows_fn f = u->rule == MN_UPD_SGD ? rows_avx512 : rows_avx2;
    f(u, w, b, x, dz, dx, rows, cols, off, j0, j1, bias);
}
#endif

static rows_fn isa_auto(void)
{
    rows_fn f = isa_by_name("avx512");
#if MN_X86
    if (f) return rows_best;
#endif
    if (f || (f = isa_by_name("avx2"))) return f;
    return rows_generic;
}

static _Atomic(rows_fn) g_rows;
static pthread_once_t g_once = PTHREAD_ONCE_INIT;

static void isa_init(void) { atomic_store(&g_rows, isa_auto()); }

int mn_k_dense_update_isa(const char *name)
{
    pthread_once(&g_once, isa_init);
    rows_fn f = name && *name ? isa_by_name(name) : isa_auto();
    if (!f) return -1;
    atomic_store(&g_rows, f);
    return 0;
}

int mn_k_dense_update_dx_exact(int rows, int cols)
{
    pthread_once(&g_once, isa_init);
    const rows_fn f = atomic_load_explicit(&g_rows, memory_order_acquire);
    const char *e = mn_gemm_engine();
    /* mn_sgemm's products of at most 64 multiply-adds take plain loops */
    return (f != rows_generic || GENERIC_FMA) && (long long)rows * cols > 64 &&
           (!strcmp(e, "avx512") || !strcmp(e, "neon"));
}

void mn_k_dense_update(const mn_update *u, float *w, float *b, const float *x, const float *dz,
                       float *dx, int rows, int cols, size_t off)
{
    pthread_once(&g_once, isa_init);
    rows_fn f = atomic_load_explicit(&g_rows, memory_order_acquire);
    int nt = (size_t)rows * cols >= PAR_MIN ? mn_threads() : 1;
    if (nt > (cols + 15) / 16) nt = (cols + 15) / 16;
    if (nt <= 1) { /* not even a one-thread region: a step at batch 1 is microseconds */
        unsigned csr = fp_fast();
        f(u, w, b, x, dz, dx, rows, cols, off, 0, cols, 1);
        fp_restore(csr);
        return;
    }
#pragma omp parallel num_threads(nt)
    {
        int t = 0, T = 1;
        mn_thread_id(&t, &T);
        /* column blocks on 16-float boundaries: whole vectors per thread */
        int blocks = (cols + 15) / 16;
        int j0 = 16 * (int)((long)blocks * t / T), j1 = 16 * (int)((long)blocks * (t + 1) / T);
        if (j1 > cols) j1 = cols;
        unsigned csr = fp_fast();
        f(u, w, b, x, dz, dx, rows, cols, off, j0, j1, t == 0);
        fp_restore(csr);
    }
}
