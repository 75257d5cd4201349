/* mn_sgemm: every engine this CPU runs, all transpose variants, odd sizes,
 * strides, alpha / beta, 1 and 2 threads, against a double-precision loop;
 * determinism; the NEON engine against the portable one; concurrent
 * callers. */
#include "check.h"
#include "activations/activation.h"
#include "kernels/gemm_internal.h"
#include "kernels/kernels.h"
#include "mynn.h"

#include <pthread.h>
#include <stdint.h>

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;
static float frand(void) /* uniform in [-1, 1) */
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (float)((rng_state >> 40) * (1.0 / (1 << 23)) - 1.0);
}

static float *fill(size_t n)
{
    float *p = malloc((n ? n : 1) * sizeof *p);
    for (size_t i = 0; i < n; i++) p[i] = frand();
    return p;
}

static const char *engines[] = {"ref", "generic", "avx2", "avx512", "neon", "openblas"};
enum { N_ENGINES = 6 };

typedef struct { int M, N, K; } shape;

/* op(A)[i][k], op(B)[k][j] */
#define OPA(i, k) (ta ? A[(size_t)(k) * lda + (i)] : A[(size_t)(i) * lda + (k)])
#define OPB(k, j) (tb ? B[(size_t)(j) * ldb + (k)] : B[(size_t)(k) * ldb + (j)])

static void check_shape(shape s, int ta, int tb, int pad, int *fails)
{
    int M = s.M, N = s.N, K = s.K;
    int lda = (ta ? M : K) + pad, ldb = (tb ? K : N) + pad, ldc = N + pad;
    size_t na = (size_t)(ta ? K : M) * lda, nb = (size_t)(tb ? N : K) * ldb;
    size_t nc = (size_t)M * ldc;
    float *A = fill(na), *B = fill(nb), *C0 = fill(nc), *C = malloc(nc * sizeof *C);
    double *D = malloc((size_t)M * N * sizeof *D), *S = malloc((size_t)M * N * sizeof *S);
    for (int i = 0; i < M; i++)
        for (int j = 0; j < N; j++) {
            double d = 0, a = 0;
            for (int k = 0; k < K; k++) {
                double p = (double)OPA(i, k) * OPB(k, j);
                d += p;
                a += fabs(p);
            }
            D[(size_t)i * N + j] = d;
            S[(size_t)i * N + j] = a;
        }
    static const float cases[][2] = {{1.0f, 0.0f}, {0.5f, 1.0f}, {-1.5f, 0.25f}};
    for (int e = 1; e < N_ENGINES; e++) {
        if (mn_gemm_set_engine(engines[e]) != 0) continue;
        for (int th = 1; th <= 2; th++) {
            mynn_set_threads(th);
            for (int c = 0; c < 3; c++) {
                float alpha = cases[c][0], beta = cases[c][1];
                for (size_t i = 0; i < nc; i++) C[i] = beta == 0.0f ? NAN : C0[i];
                mn_sgemm(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
                int bad = 0;
                for (int i = 0; i < M && !bad; i++) {
                    for (int j = 0; j < N; j++) {
                        double c0 = C0[(size_t)i * ldc + j];
                        double want = alpha * D[(size_t)i * N + j] + (beta == 0.0f ? 0 : beta * c0);
                        double tol = 1e-5 * sqrt((double)K + 1) *
                                         (fabs(alpha) * S[(size_t)i * N + j] + fabs(beta * c0)) + 1e-30;
                        double got = C[(size_t)i * ldc + j];
                        if (!(fabs(got - want) <= tol)) {
                            CHECK(0, "%s th=%d ta=%d tb=%d M=%d N=%d K=%d pad=%d alpha=%g beta=%g: "
                                  "C[%d][%d]=%g want %g", engines[e], th, ta, tb, M, N, K, pad,
                                  alpha, beta, i, j, got, want);
                            bad = 1;
                            break;
                        }
                    }
                }
                /* the padding between rows of C is never touched */
                for (int i = 0; i < M && !bad; i++)
                    for (int j = N; j < ldc; j++) {
                        float v = C[(size_t)i * ldc + j];
                        if (beta == 0.0f ? !isnan(v) : v != C0[(size_t)i * ldc + j]) {
                            CHECK(0, "%s: padding C[%d][%d] written", engines[e], i, j);
                            bad = 1;
                            break;
                        }
                    }
                *fails += bad;
            }
        }
    }
    mn_gemm_set_engine(NULL);
    mynn_set_threads(0);
    free(A); free(B); free(C0); free(C); free(D); free(S);
}

static void test_engines_listed(void)
{
    const char *name = mn_gemm_engine();
    CHECK(name && *name, "no engine name");
    printf("  engine: %s; available:", name);
    for (int e = 0; e < N_ENGINES; e++)
        if (mn_gemm_set_engine(engines[e]) == 0) printf(" %s", engines[e]);
    printf("\n");
#if defined(__aarch64__)
    const char *env = getenv("MYNN_GEMM");
    if (!env || !*env) CHECK(!strcmp(name, "neon"), "AArch64 default engine %s, not neon", name);
#endif
    CHECK(mn_gemm_set_engine("no-such-engine") == -1, "unknown engine accepted");
    CHECK(mn_gemm_set_engine("generic") == 0, "generic engine missing");
    CHECK(!strcmp(mn_gemm_engine(), "generic"), "set_engine ignored");
    mn_gemm_set_engine(NULL);
    CHECK(!strcmp(mn_gemm_engine(), name), "set_engine(NULL) did not restore");
}

static void test_small_shapes(void)
{
    static const int dims[] = {1, 2, 7, 15, 16, 17, 33};
    int fails = 0, n = (int)(sizeof dims / sizeof dims[0]);
    for (int a = 0; a < n; a++)
        for (int b = 0; b < n; b++)
            for (int c = 0; c < n; c += (ck_sanitized() ? 2 : 1)) {
                shape s = {dims[a], dims[b], dims[c]};
                int t = (a + b + c) & 3, pad = (a + c) % 3 == 0 ? 0 : 5;
                check_shape(s, t & 1, t >> 1, pad, &fails);
                if (fails > 10) return;
            }
}

static void test_medium_shapes(void)
{
    static const shape shapes[] = {
        {64, 64, 64}, {100, 64, 257}, {64, 100, 33}, {257, 17, 100},
        {1, 257, 100}, {257, 1, 64}, {1, 1, 257}, {33, 100, 1},
        {64, 256, 784}, {256, 10, 128}, {10, 128, 256}, {64, 10, 128},
        {50, 10, 900}, {10, 300, 700}, {64, 128, 10},
        /* A and B in place (small B or one row panel): edges, several KC blocks */
        {256, 128, 10}, {10, 128, 64}, {23, 200, 40}, {50, 300, 27}, {7, 50, 1000}, {12, 33, 777},
    };
    int fails = 0;
    for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++) {
        if (ck_sanitized() && (double)shapes[i].M * shapes[i].N * shapes[i].K > 1e6) continue;
        for (int t = 0; t < 4; t++) check_shape(shapes[i], t & 1, t >> 1, (int)(i + t) % 2 * 3, &fails);
    }
}

static void test_large_shapes(void)
{
    static const shape shapes[] = {{300, 457, 513}, {512, 311, 600}, {457, 600, 301}};
    static const shape small[] = {{130, 70, 90}};
    int fails = 0;
    const shape *sh = ck_sanitized() ? small : shapes;
    int n = ck_sanitized() ? 1 : 3;
    for (int i = 0; i < n; i++) check_shape(sh[i], i & 1, (i >> 1) & 1 ? 0 : i == 0, 1 + i, &fails);
    if (!ck_sanitized()) { /* the remaining transpose variants on one shape */
        shape s = {333, 400, 420};
        for (int t = 0; t < 4; t++) check_shape(s, t & 1, t >> 1, 0, &fails);
        /* more than one NC block of columns and KC block of k */
        check_shape((shape){37, 1100, 800}, 0, 1, 2, &fails);
        check_shape((shape){70, 900, 1000}, 1, 0, 0, &fails);
    }
}

/* Same inputs, same thread count -> bit-identical, also across thread counts
 * and after the buffers have grown. */
static void test_deterministic(void)
{
    int M = ck_sanitized() ? 150 : 517, N = ck_sanitized() ? 90 : 300, K = ck_sanitized() ? 130 : 901;
    float *A = fill((size_t)M * K), *B = fill((size_t)N * K);
    float *C1 = malloc((size_t)M * N * sizeof(float)), *C2 = malloc((size_t)M * N * sizeof(float));
    for (int e = 1; e < N_ENGINES; e++) {
        if (mn_gemm_set_engine(engines[e]) != 0 || !strcmp(engines[e], "openblas")) continue;
        mynn_set_threads(2);
        mn_sgemm(0, 1, M, N, K, 1.0f, A, K, B, K, 0.0f, C1, N);
        for (int rep = 0; rep < 2; rep++) {
            mynn_set_threads(rep ? 1 : 2);
            mn_sgemm(0, 1, M, N, K, 1.0f, A, K, B, K, 0.0f, C2, N);
            CHECK(!memcmp(C1, C2, (size_t)M * N * sizeof(float)),
                  "%s: repeated call differs (threads %d)", engines[e], rep ? 1 : 2);
        }
    }
    mn_gemm_set_engine(NULL);
    mynn_set_threads(0);
    free(A); free(B); free(C1); free(C2);
}

/* The NEON engine (AArch64) against the portable one on shapes cut into
 * full and edge tiles of both (8 x 12 and 4 x 8), over two KC blocks of k,
 * and single rows and columns (the GEMV paths): each within rounding of the
 * other (the bound of two engines each within the double-reference
 * tolerance), so the difference is rounding, not a lane mix-up: an element
 * computed from the wrong row or column would be off by about its size. */
static void test_neon_vs_portable(void)
{
    if (mn_gemm_set_engine("neon") != 0) SKIP("no NEON engine in this build (AArch64 only)");
    static const shape shapes[] = {{8, 12, 5}, {9, 13, 300}, {23, 37, 257}, {64, 100, 600}, {3, 50, 40},
                                   {1, 70, 300}, {70, 1, 300}};
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        int M = shapes[s].M, N = shapes[s].N, K = shapes[s].K;
        for (int t = 0; t < 4; t++) {
            int ta = t & 1, tb = t >> 1, lda = ta ? M : K, ldb = tb ? K : N;
            float *A = fill((size_t)M * K), *B = fill((size_t)K * N);
            float *Cn = fill((size_t)M * N), *Cg = malloc((size_t)M * N * sizeof(float));
            memcpy(Cg, Cn, (size_t)M * N * sizeof(float));
            mn_gemm_set_engine("neon");
            mn_sgemm(ta, tb, M, N, K, 0.75f, A, lda, B, ldb, 0.5f, Cn, N);
            mn_gemm_set_engine("generic");
            mn_sgemm(ta, tb, M, N, K, 0.75f, A, lda, B, ldb, 0.5f, Cg, N);
            double worst = 0;
            for (int i = 0; i < M; i++)
                for (int j = 0; j < N; j++) {
                    double sum = 0;
                    for (int k = 0; k < K; k++) sum += fabs((double)OPA(i, k) * OPB(k, j));
                    double tol = 2e-5 * sqrt((double)K + 1) * (0.75 * sum + 0.5) + 1e-30;
                    double d = fabs((double)Cn[(size_t)i * N + j] - Cg[(size_t)i * N + j]) / tol;
                    if (d > worst) worst = d;
                }
            CHECK(worst <= 1.0, "M=%d N=%d K=%d ta=%d tb=%d: neon vs generic %.2f x tolerance",
                  M, N, K, ta, tb, worst);
            free(A); free(B); free(Cn); free(Cg);
        }
    }
    mn_gemm_set_engine(NULL);
}

/* mn_sgemm_epi against the unfused path dense used before it (mn_sgemm, then
 * mn_act_forward_bias): bit-identical, with y (C keeps the biased sum) and
 * without (C gets the activation), every engine, 1 and 2 threads, shapes
 * through each path of the driver (GEMV row and column, tiny, the narrow
 * engine, in-place A or B, several KC blocks and thread parts). */
static void test_epilogue_bit_identical(void)
{
    static const shape shapes[] = {{1, 256, 784}, {1, 10, 128}, {37, 1, 50}, {3, 4, 5},
                                   {64, 10, 128}, {10, 128, 64}, {64, 128, 10}, {7, 33, 17},
                                   {100, 70, 900}, {256, 128, 256}, {130, 300, 90}};
    static const mynn_activation acts[] = {MYNN_ACT_RELU, MYNN_ACT_LEAKY_RELU, MYNN_ACT_IDENTITY};
    static const int epi[] = {MN_EPI_RELU, MN_EPI_LEAKY, MN_EPI_NONE};
    int fails = 0;
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0] && fails < 5; s++) {
        int M = shapes[s].M, N = shapes[s].N, K = shapes[s].K;
        float *A = fill((size_t)M * K), *B = fill((size_t)K * N), *bias = fill((size_t)N);
        float *C0 = fill((size_t)M * N);
        size_t bytes = (size_t)M * N * sizeof(float);
        float *Z = malloc(bytes), *Y = malloc(bytes), *Z2 = malloc(bytes), *Y2 = malloc(bytes);
        for (int e = 1; e < N_ENGINES; e++) {
            if (mn_gemm_set_engine(engines[e]) != 0) continue;
            for (int th = 1; th <= 2; th++) {
                mynn_set_threads(th);
                for (int c = 0; c < 4; c++) {
                    int ta = c & 1, tb = c >> 1, lda = ta ? M : K, ldb = tb ? K : N;
                    int a = (int)(s + c) % 3;
                    float alpha = c == 3 ? 0.5f : 1.0f, beta = c == 3 ? 0.25f : 0.0f;
                    memcpy(Z, C0, bytes);
                    mn_sgemm(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, Z, N);
                    mn_act_forward_bias(acts[a], Z, bias, Y, M, N);
                    mn_epilogue ep = {bias, epi[a], MN_LEAKY_SLOPE, Y2, N};
                    memcpy(Z2, C0, bytes);
                    mn_sgemm_epi(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, Z2, N, &ep);
                    int bad = memcmp(Z, Z2, bytes) || memcmp(Y, Y2, bytes);
                    ep.y = NULL;
                    memcpy(Z2, C0, bytes);
                    mn_sgemm_epi(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, Z2, N, &ep);
                    bad |= memcmp(Y, Z2, bytes) != 0;
                    /* no bias (a convolution without one): against the separate pass */
                    mn_epilogue nb = {NULL, epi[a], MN_LEAKY_SLOPE, Y2, N};
                    memcpy(Z, C0, bytes);
                    mn_sgemm(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, Z, N);
                    mn_epilogue nb_ref = nb;
                    nb_ref.y = Y;
                    mn_epilogue_apply(&nb_ref, Z, N, M, N);
                    memcpy(Z2, C0, bytes);
                    mn_sgemm_epi(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, Z2, N, &nb);
                    bad |= memcmp(Z, Z2, bytes) || memcmp(Y, Y2, bytes);
                    CHECK(!bad, "%s th=%d %dx%dx%d ta=%d tb=%d act %d: fused differs from unfused",
                          engines[e], th, M, N, K, ta, tb, a);
                    fails += bad;
                }
            }
        }
        mn_gemm_set_engine(NULL);
        mynn_set_threads(0);
        free(A); free(B); free(bias); free(C0); free(Z); free(Y); free(Z2); free(Y2);
    }
}

typedef struct { const float *A, *B; float *C; int M, N, K; } job;

static void *worker(void *p)
{
    job *j = p;
    for (int r = 0; r < 3; r++)
        mn_sgemm(1, 0, j->M, j->N, j->K, 1.0f, j->A, j->M, j->B, j->N, 0.0f, j->C, j->N);
    return NULL;
}

/* Two application threads calling at once each get the right answer. */
static void test_concurrent_callers(void)
{
    int M = 97, N = 203, K = 150;
    float *A = fill((size_t)M * K), *B = fill((size_t)K * N), *want = malloc((size_t)M * N * sizeof(float));
    mynn_set_threads(1);
    mn_sgemm(1, 0, M, N, K, 1.0f, A, M, B, N, 0.0f, want, N);
    mynn_set_threads(2);
    job j[2];
    pthread_t t[2];
    for (int i = 0; i < 2; i++) {
        j[i] = (job){A, B, malloc((size_t)M * N * sizeof(float)), M, N, K};
        CHECK(pthread_create(&t[i], NULL, worker, &j[i]) == 0, "pthread_create");
    }
    for (int i = 0; i < 2; i++) {
        pthread_join(t[i], NULL);
        CHECK(!memcmp(j[i].C, want, (size_t)M * N * sizeof(float)), "thread %d result differs", i);
        free(j[i].C);
    }
    mynn_set_threads(0);
    free(A); free(B); free(want);
}

static void test_bias_helpers(void)
{
    float y[3 * 5], db[5];
    for (int i = 0; i < 15; i++) y[i] = (float)(1 + i % 5);
    mn_sum_rows(db, y, 3, 5, 0);
    CHECK(db[0] == 3.0f && db[4] == 15.0f, "sum_rows");
    mn_sum_rows(db, y, 3, 5, 1);
    CHECK(db[0] == 6.0f && db[4] == 30.0f, "sum_rows accumulate");
}

int main(void)
{
    CK_BEGIN("test_gemm");
    RUN(test_engines_listed);
    RUN(test_small_shapes);
    RUN(test_medium_shapes);
    RUN(test_large_shapes);
    RUN(test_deterministic);
#if defined(__aarch64__)
    RUN(test_neon_vs_portable);   /* only AArch64 has the engine (make test-arm) */
#endif
    RUN(test_epilogue_bit_identical);
    RUN(test_concurrent_callers);
    RUN(test_bias_helpers);
    return CK_END();
}
