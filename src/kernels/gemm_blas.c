/* BLAS=openblas builds: mn_sgemm hands the whole product to cblas_sgemm. */
#include "gemm_internal.h"

#ifdef MYNN_BLAS_OPENBLAS
#include "kernels.h"

#include <cblas.h>
#include <stdatomic.h>

static atomic_int g_blas_threads;

static void sgemm_openblas(int transA, int transB, int M, int N, int K,
                           float alpha, const float *A, int lda, const float *B,
                           int ldb, float beta, float *C, int ldc)
{
    int nt = mn_threads();
    if (atomic_exchange(&g_blas_threads, nt) != nt) openblas_set_num_threads(nt);
    cblas_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans,
                transB ? CblasTrans : CblasNoTrans, M, N, K, alpha, A, lda, B,
                ldb, beta, C, ldc);
}

static const mn_gemm_engine_t g_blas = {
    "openblas", 1, 1, 1, 1, 1, NULL, NULL, NULL, NULL, sgemm_openblas, NULL, NULL, NULL, NULL, NULL,
};

const mn_gemm_engine_t *mn_gemm_engine_blas(void) { return &g_blas; }

#else
const mn_gemm_engine_t *mn_gemm_engine_blas(void) { return NULL; }
#endif
