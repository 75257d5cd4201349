/* The portable engine: plain C11 the compiler may vectorise, for any CPU. */
#include "gemm_internal.h"

enum { G_MR = 4, G_NR = 8 };

static void kern_generic(int kc, const float *restrict a, const float *restrict b,
                         float *c, ptrdiff_t ldc, int mr, int nr, float alpha,
                         float beta)
{
    float acc[G_MR][G_NR];
    for (int i = 0; i < G_MR; i++)
        for (int j = 0; j < G_NR; j++) acc[i][j] = 0.0f;
    for (int k = 0; k < kc; k++) {
        for (int i = 0; i < G_MR; i++) {
            float ai = a[i];
            for (int j = 0; j < G_NR; j++) acc[i][j] += ai * b[j];
        }
        a += G_MR;
        b += G_NR;
    }
    for (int i = 0; i < mr; i++) {
        float *ci = c + (size_t)i * ldc;
        if (beta == 0.0f)
            for (int j = 0; j < nr; j++) ci[j] = alpha * acc[i][j];
        else
            for (int j = 0; j < nr; j++) ci[j] = alpha * acc[i][j] + beta * ci[j];
    }
}

static void pack_a_generic(int trans, const float *src, ptrdiff_t ld, int mc,
                           int kc, float *dst)
{
    mn_pack_a_body(G_MR, trans, src, ld, mc, kc, dst);
}

static void pack_b_generic(int trans, const float *src, ptrdiff_t ld, int nc,
                           int kc, float *dst)
{
    mn_pack_b_body(G_NR, trans, src, ld, nc, kc, dst);
}

static const mn_gemm_engine_t g_generic = {
    "generic", G_MR, G_NR, 128, 256, 1024,
    kern_generic, pack_a_generic, pack_b_generic, mn_gemv_any, NULL, NULL, NULL, NULL, NULL, NULL,
};

const mn_gemm_engine_t *mn_gemm_engine_generic(void) { return &g_generic; }
