/* GEMM dispatch: picks an engine once (best the CPU runs, or the one named
 * by MYNN_GEMM=ref|generic|avx2|avx512|neon|openblas), plus the thread
 * count and the small bias helpers. */
#include "gemm_internal.h"
#include "kernels.h"
#include "mynn.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#ifdef _OPENMP
#include <omp.h>
#endif

static atomic_int g_threads;

void mynn_set_threads(int n) { atomic_store(&g_threads, n > 0 ? n : 0); }

int mynn_get_threads(void) { return mn_threads(); }

int mn_threads(void)
{
#ifdef _OPENMP
    if (mn_team_single()) return 1;   /* a one-thread part of a step (team.c) */
    int n = atomic_load_explicit(&g_threads, memory_order_relaxed);
    return n > 0 ? n : omp_get_max_threads();
#else
    return 1;
#endif
}

/* ---- engines ---------------------------------------------------------- */

static const mn_gemm_engine_t g_ref = {
    "ref", 1, 1, 1, 1, 1, NULL, NULL, NULL, NULL, mn_sgemm_ref, NULL, NULL, NULL, NULL, NULL,
};

static const mn_gemm_engine_t *engine_by_name(const char *name)
{
    if (!strcmp(name, "ref")) return &g_ref;
    if (!strcmp(name, "generic")) return mn_gemm_engine_generic();
    if (!strcmp(name, "avx2")) return mn_gemm_engine_avx2();
    if (!strcmp(name, "avx512")) return mn_gemm_engine_avx512();
    if (!strcmp(name, "neon")) return mn_gemm_engine_neon();
    if (!strcmp(name, "openblas")) return mn_gemm_engine_blas();
    return NULL;
}

static const mn_gemm_engine_t *engine_auto(void)
{
    const mn_gemm_engine_t *e;
    const char *env = getenv("MYNN_GEMM");
    if (env && *env && (e = engine_by_name(env))) return e;
    if ((e = mn_gemm_engine_blas())) return e;
    if ((e = mn_gemm_engine_avx512())) return e;
    if ((e = mn_gemm_engine_avx2())) return e;
    if ((e = mn_gemm_engine_neon())) return e;
    return mn_gemm_engine_generic();
}

static _Atomic(const mn_gemm_engine_t *) g_engine;
static const mn_gemm_engine_t *g_auto;
static pthread_once_t g_once = PTHREAD_ONCE_INIT;

static void engine_init(void)
{
    g_auto = engine_auto();
    atomic_store(&g_engine, g_auto);
}

static const mn_gemm_engine_t *engine(void)
{
    pthread_once(&g_once, engine_init);
    return atomic_load_explicit(&g_engine, memory_order_acquire);
}

int mn_gemm_set_engine(const char *name)
{
    pthread_once(&g_once, engine_init);
    const mn_gemm_engine_t *e = name && *name ? engine_by_name(name) : g_auto;
    if (!e) return -1;
    atomic_store(&g_engine, e);
    return 0;
}

void mn_thread_id(int *t, int *nt)
{
#ifdef _OPENMP
    *t = omp_get_thread_num();
    *nt = omp_get_num_threads();
#else
    *t = 0;
    *nt = 1;
#endif
}

const char *mn_gemm_engine(void) { return engine()->name; }

void mn_sgemm(int transA, int transB, int M, int N, int K, float alpha,
              const float *A, int lda, const float *B, int ldb, float beta,
              float *C, int ldc)
{
    mn_sgemm_epi(transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc, NULL);
}

void mn_sgemm_epi(int transA, int transB, int M, int N, int K, float alpha,
                  const float *A, int lda, const float *B, int ldb, float beta,
                  float *C, int ldc, const mn_epilogue *ep)
{
    if (M <= 0 || N <= 0) return;
    const mn_gemm_engine_t *e = engine();
    if (e->full) { /* a whole-GEMM engine: one call on one thread of a team, the
                    * epilogue as a separate pass */
        MN_TEAM_SOLO({
            e->full(transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
            if (ep) mn_epilogue_apply(ep, C, ldc, M, N);
        });
        return;
    }
    if (K <= 0 || alpha == 0.0f) { /* C = beta C */
        if (mn_team_size() > 1) {
            MN_TEAM_SOLO(mn_sgemm_epi(transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc, ep));
            return;
        }
        for (int i = 0; i < M; i++) {
            float *c = C + (size_t)i * ldc;
            if (beta == 0.0f)
                for (int j = 0; j < N; j++) c[j] = 0.0f;
            else if (beta != 1.0f)
                for (int j = 0; j < N; j++) c[j] *= beta;
        }
        if (ep) mn_epilogue_apply(ep, C, ldc, M, N);
        return;
    }
    mn_gemm_blocked(e, transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc, ep);
}

/* ---- bias gradient ------------------------------------------------------ */

/* In the step's team, threads take blocks of columns: each db[j] is still
 * summed over the rows in order. */
void mn_sum_rows(float *db, const float *dz, int rows, int cols, int accumulate)
{
    MN_FOR_SHARE((size_t)cols, 1, lo, hi, {
        if (!accumulate)
            for (size_t j = lo; j < hi; j++) db[j] = 0.0f;
        for (int i = 0; i < rows; i++) {
            const float *restrict zi = dz + (size_t)i * cols;
            float *restrict d = db;
            for (size_t j = lo; j < hi; j++) d[j] += zi[j];
        }
    });
}
