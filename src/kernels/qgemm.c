/* Int8 GEMM: packing, the portable engine, the dispatcher (qgemm.h). */
#include "qgemm.h"
#include "kernels.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

void mn_qgemm_pack(const int8_t *W, int N, int K, int8_t *Wp, int32_t *corr)
{
    int K4 = mn_qgemm_kpad(K) / 4;
    memset(Wp, 0, mn_qgemm_packed_bytes(N, K));
    for (int n = 0; n < N; n++) {
        int32_t s = 0;
        int8_t *dst = Wp + (size_t)(n / 16) * K4 * 64 + (size_t)(n % 16) * 4;
        for (int k = 0; k < K; k++) {
            int8_t w = W[(size_t)n * K + k];
            dst[(size_t)(k / 4) * 64 + k % 4] = w;
            s += w;
        }
        corr[n] = 128 * s;
    }
}

static void quant_row_c(const float *x, const float *shift, const float *scale, int cols,
                        float inv, uint8_t *q, int ldq)
{
    if (shift)
        for (int j = 0; j < cols; j++) {
            float v = (x[j] - shift[j]) * scale[j];
            q[j] = (uint8_t)(mn_q8(v * inv) + 128);
        }
    else
        for (int j = 0; j < cols; j++) q[j] = (uint8_t)(mn_q8(x[j] * inv) + 128);
    for (int j = cols; j < ldq; j++) q[j] = 128;
}

static mn_quant_row_fn g_quant;
static pthread_once_t g_quant_once = PTHREAD_ONCE_INIT;

static void quant_init(void)
{
    const char *env = getenv("MYNN_QGEMM");
    g_quant = env && !strcmp(env, "portable") ? NULL : mn_qgemm_quant512();
    if (!g_quant) g_quant = quant_row_c;
}

void mn_quantize_rows(const float *x, const float *shift, const float *scale, int rows, int cols,
                      float inv, uint8_t *q, int ldq)
{
    pthread_once(&g_quant_once, quant_init);
    mn_quant_row_fn f = g_quant;
    int nt = (size_t)rows * cols >= 65536 ? mn_threads() : 1;
#pragma omp parallel for num_threads(nt) if(nt > 1) schedule(static)
    for (int r = 0; r < rows; r++)
        f(x + (size_t)r * cols, shift, scale, cols, inv, q + (size_t)r * ldq, ldq);
}

void mn_quantize_rows_serial(const float *x, const float *shift, const float *scale, int rows,
                             int cols, float inv, uint8_t *q, int ldq)
{
    pthread_once(&g_quant_once, quant_init);
    mn_quant_row_fn f = g_quant;
    for (int r = 0; r < rows; r++)
        f(x + (size_t)r * cols, shift, scale, cols, inv, q + (size_t)r * ldq, ldq);
}

/* Plain loops over the packed layout: one 16-row block of W at a time. */
static void rows_portable(int m0, int m1, int N, int K, const uint8_t *A, int lda,
                          const int8_t *Wp, const int32_t *corr, int32_t *C, int ldc)
{
    int K4 = mn_qgemm_kpad(K) / 4, nb = mn_qgemm_nblocks(N);
    for (int m = m0; m < m1; m++) {
        const uint8_t *a = A + (size_t)m * lda;
        for (int b = 0; b < nb; b++) {
            int32_t acc[16] = {0};
            const int8_t *w = Wp + (size_t)b * K4 * 64;
            for (int k4 = 0; k4 < K4; k4++, w += 64)
                for (int r = 0; r < 16; r++)
                    for (int c = 0; c < 4; c++) acc[r] += (int32_t)a[4 * k4 + c] * w[r * 4 + c];
            for (int r = 0; r < 16 && 16 * b + r < N; r++)
                C[(size_t)m * ldc + 16 * b + r] = acc[r] - corr[16 * b + r];
        }
    }
}

typedef struct engine {
    const char *name;
    mn_qgemm_rows_fn rows;
} engine;

static engine g_engine;
static engine g_auto;
static pthread_once_t g_once = PTHREAD_ONCE_INIT;
static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;

static int by_name(const char *name, engine *e)
{
    mn_qgemm_rows_fn f = NULL;
    if (!strcmp(name, "portable")) f = rows_portable;
    else if (!strcmp(name, "avx512vnni")) f = mn_qgemm_avx512vnni();
    else if (!strcmp(name, "avxvnni")) f = mn_qgemm_avxvnni();
    if (!f) return -1;
    e->name = !strcmp(name, "portable") ? "portable" : !strcmp(name, "avx512vnni") ? "avx512vnni"
                                                                                    : "avxvnni";
    e->rows = f;
    return 0;
}

static void init_once(void)
{
    const char *env = getenv("MYNN_QGEMM");
    if (!(env && *env && by_name(env, &g_auto) == 0) && by_name("avx512vnni", &g_auto) != 0 &&
        by_name("avxvnni", &g_auto) != 0)
        by_name("portable", &g_auto);
    g_engine = g_auto;
}

static engine current(void)
{
    pthread_once(&g_once, init_once);
    pthread_mutex_lock(&g_lock);
    engine e = g_engine;
    pthread_mutex_unlock(&g_lock);
    return e;
}

const char *mn_qgemm_engine(void) { return current().name; }

int mn_qgemm_set_engine(const char *name)
{
    pthread_once(&g_once, init_once);
    engine e = g_auto;
    if (name && *name && by_name(name, &e) != 0) return -1;
    pthread_mutex_lock(&g_lock);
    g_engine = e;
    pthread_mutex_unlock(&g_lock);
    return 0;
}

/* Below this many multiply-adds one thread is faster than waking others. */
#define PAR_MIN (1L << 18)
enum { ROWS_PER_TASK = 24 };   /* four 6-row tiles */

void mn_qgemm(int M, int N, int K, const uint8_t *A, int lda, const int8_t *Wp,
              const int32_t *corr, int32_t *C, int ldc)
{
    engine e = current();
    int tasks = (M + ROWS_PER_TASK - 1) / ROWS_PER_TASK;
    int nt = (long)M * N * K >= PAR_MIN ? mn_threads() : 1;
    if (nt > tasks) nt = tasks;
#pragma omp parallel for num_threads(nt) if(nt > 1) schedule(static)
    for (int t = 0; t < tasks; t++) {
        int m0 = t * ROWS_PER_TASK, m1 = m0 + ROWS_PER_TASK < M ? m0 + ROWS_PER_TASK : M;
        e.rows(m0, m1, N, K, A, lda, Wp, corr, C, ldc);
    }
}

void mn_qgemm_serial(int M, int N, int K, const uint8_t *A, int lda, const int8_t *Wp,
                     const int32_t *corr, int32_t *C, int ldc)
{
    if (M > 0) current().rows(0, M, N, K, A, lda, Wp, corr, C, ldc);
}
