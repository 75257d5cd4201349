/* GEMM dispatch.  Until the blocked SIMD engine lands this is the reference. */
#include "kernels.h"
#include "mynn.h"

#ifdef _OPENMP
#include <omp.h>
#endif

static int g_threads = 0;

void mynn_set_threads(int n) { g_threads = n > 0 ? n : 0; }

int mynn_get_threads(void) { return mn_threads(); }

int mn_threads(void)
{
#ifdef _OPENMP
    return g_threads > 0 ? g_threads : omp_get_max_threads();
#else
    return 1;
#endif
}

const char *mn_gemm_engine(void) { return "generic"; }

void mn_sgemm(int transA, int transB, int M, int N, int K, float alpha,
              const float *A, int lda, const float *B, int ldb, float beta,
              float *C, int ldc)
{
    mn_sgemm_ref(transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

void mn_add_row_vector(float *y, const float *b, int rows, int cols)
{
    for (int i = 0; i < rows; i++)
        for (int j = 0; j < cols; j++) y[(size_t)i * cols + j] += b[j];
}

void mn_sum_rows(float *db, const float *dz, int rows, int cols, int accumulate)
{
    if (!accumulate)
        for (int j = 0; j < cols; j++) db[j] = 0.0f;
    for (int i = 0; i < rows; i++)
        for (int j = 0; j < cols; j++) db[j] += dz[(size_t)i * cols + j];
}
