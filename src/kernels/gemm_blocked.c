/* The blocked GEMM driver shared by all kernel engines:
 *   - C is cut into rectangles ("parts": 1 or 2 per thread, aligned to the
 *     register tile, so each element is computed the same way whatever the
 *     thread count), handed to the threads dynamically (inside the step's
 *     team, team.c, as one of its jobs, with no region of its own);
 *   - a thread runs the classic loop nest on each of its parts:
 *       for jc (NC) / for pc (KC): pack B block / for ic (MC): pack A block /
 *       for ir (MR) / for jr (NR): micro-kernel
 *   - K is never split across threads; its KC blocking depends on K only;
 *   - packing is skipped where it cannot pay: B not transposed and small
 *     (or one row panel of C): A and B read in place; one NR panel of C: A
 *     in place; one MR panel: B in place.  Each path does the same
 *     operations per element, so which one a part takes never shows;
 *   - an optional epilogue (bias, activation) runs on each tile of C right
 *     after its last store, while it is in L1.
 * Packing buffers live per thread, grow only, 64-byte aligned, and are
 * freed when their thread ends (they stay reachable from a global list). */
#include "gemm_internal.h"
#include "kernels.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#ifdef _OPENMP
#include <omp.h>
#include <stdatomic.h>
#include <time.h>

/* Busy machine guard.  When another process holds the core a worker thread
 * runs on, a parallel region waits for that worker at its end, which can
 * cost scheduler time slices (milliseconds) per call.  Parts are handed out
 * dynamically; when the calling thread spent much longer in the region than
 * on its own parts, the next calls run on the calling thread alone (16 at
 * first, doubling while it keeps happening), then threads are tried again.
 * Results do not depend on the thread count, so this never changes output. */
static atomic_int g_solo, g_solo_len = 16;

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static int threads_now(int nt)
{
    if (nt > 1 && atomic_load_explicit(&g_solo, memory_order_relaxed) > 0) {
        atomic_fetch_sub_explicit(&g_solo, 1, memory_order_relaxed);
        return 1;
    }
    return nt;
}

/* region: seconds in the parallel region; own: seconds on the calling
 * thread's own parts. */
static void note_region(double region, double own)
{
    if (region > 2.0 * own + 20e-6) {
        int len = atomic_load_explicit(&g_solo_len, memory_order_relaxed);
        atomic_store_explicit(&g_solo, len, memory_order_relaxed);
        atomic_store_explicit(&g_solo_len, len < 1024 ? 2 * len : len, memory_order_relaxed);
    } else {
        atomic_store_explicit(&g_solo_len, 16, memory_order_relaxed);
    }
}
#endif

/* ---- per-thread packing buffers ---------------------------------------- */

typedef struct mn_buf {
    struct mn_buf *next, *prev;
    float *p;
    size_t cap; /* floats */
} mn_buf;

static pthread_mutex_t g_buf_mu = PTHREAD_MUTEX_INITIALIZER;
static mn_buf *g_bufs; /* keeps every live buffer reachable */
static pthread_key_t g_buf_key;
static pthread_once_t g_buf_once = PTHREAD_ONCE_INIT;
static int g_buf_key_ok;

static void buf_destroy(void *v)
{
    mn_buf *b = v;
    pthread_mutex_lock(&g_buf_mu);
    if (b->prev) b->prev->next = b->next;
    else g_bufs = b->next;
    if (b->next) b->next->prev = b->prev;
    pthread_mutex_unlock(&g_buf_mu);
    free(b->p);
    free(b);
}

static void buf_key_init(void)
{
    g_buf_key_ok = pthread_key_create(&g_buf_key, buf_destroy) == 0;
}

/* This thread's buffer with room for n floats, or NULL when out of memory. */
static float *thread_buf(size_t n)
{
    pthread_once(&g_buf_once, buf_key_init);
    if (!g_buf_key_ok) return NULL;
    mn_buf *b = pthread_getspecific(g_buf_key);
    if (!b) {
        b = calloc(1, sizeof *b);
        if (!b) return NULL;
        if (pthread_setspecific(g_buf_key, b) != 0) {
            free(b);
            return NULL;
        }
        pthread_mutex_lock(&g_buf_mu);
        b->next = g_bufs;
        if (g_bufs) g_bufs->prev = b;
        g_bufs = b;
        pthread_mutex_unlock(&g_buf_mu);
    }
    if (b->cap < n) {
        size_t bytes = (n * sizeof(float) + 63) & ~(size_t)63;
        float *p = aligned_alloc(64, bytes);
        if (!p) return NULL;
        free(b->p);
        b->p = p;
        b->cap = bytes / sizeof(float);
    }
    return b->p;
}

/* ---- portable packing / GEMV -------------------------------------------- */

void mn_pack_a_any(int mr, int trans, const float *src, ptrdiff_t ld, int mc,
                   int kc, float *dst)
{
    mn_pack_a_body(mr, trans, src, ld, mc, kc, dst);
}

void mn_pack_b_any(int nr, int trans, const float *src, ptrdiff_t ld, int nc,
                   int kc, float *dst)
{
    mn_pack_b_body(nr, trans, src, ld, nc, kc, dst);
}

void mn_gemv_any(int transB, int N, int K, float alpha, const float *x,
                 ptrdiff_t incx, const float *B, ptrdiff_t ldb, float beta,
                 float *y, ptrdiff_t incy, float *scratch)
{
    if (incx != 1) {
        for (int k = 0; k < K; k++) scratch[k] = x[(size_t)k * incx];
        x = scratch;
    }
    if (!transB) {
        enum { W = 32 };
        for (int j0 = 0; j0 < N; j0 += W) {
            int w = N - j0 < W ? N - j0 : W;
            float acc[W];
            for (int j = 0; j < W; j++) acc[j] = 0.0f;
            for (int k = 0; k < K; k++) {
                const float *b = B + (size_t)k * ldb + j0;
                float xk = x[k];
                for (int j = 0; j < w; j++) acc[j] += xk * b[j];
            }
            for (int j = 0; j < w; j++) {
                float *yj = &y[(size_t)(j0 + j) * incy];
                *yj = beta == 0.0f ? alpha * acc[j] : alpha * acc[j] + beta * *yj;
            }
        }
    } else {
        for (int j = 0; j < N; j++) {
            const float *b = B + (size_t)j * ldb;
            float s[8] = {0, 0, 0, 0, 0, 0, 0, 0};
            int k = 0;
            for (; k + 8 <= K; k += 8)
                for (int u = 0; u < 8; u++) s[u] += x[k + u] * b[k + u];
            float acc = ((s[0] + s[4]) + (s[1] + s[5])) + ((s[2] + s[6]) + (s[3] + s[7]));
            for (; k < K; k++) acc += x[k] * b[k];
            float *yj = &y[(size_t)j * incy];
            *yj = beta == 0.0f ? alpha * acc : alpha * acc + beta * *yj;
        }
    }
}

/* ---- epilogue ------------------------------------------------------------- */

/* The same expressions as mn_act_forward_bias (z += b; z > 0 ? z : 0), so
 * the fused and the separate pass give the same bits. */
void mn_epilogue_apply(const mn_epilogue *ep, float *C, int ldc, int m, int n)
{
    const float *b = ep->bias;
    float s = ep->slope;
    for (int i = 0; i < m; i++) {
        float *c = C + (size_t)i * ldc; /* y may be c itself: no restrict */
        float *y = ep->y ? ep->y + (size_t)i * ep->ldy : c;
        if (b)
            for (int j = 0; j < n; j++) c[j] += b[j];
        switch (ep->act) {
        case MN_EPI_RELU:
            for (int j = 0; j < n; j++) y[j] = c[j] > 0.0f ? c[j] : 0.0f;
            break;
        case MN_EPI_LEAKY:
            for (int j = 0; j < n; j++) y[j] = c[j] > 0.0f ? c[j] : s * c[j];
            break;
        default:
            if (y != c)
                for (int j = 0; j < n; j++) y[j] = c[j];
            break;
        }
    }
}

/* The epilogue of the block at row i, column j of what ep describes. */
static void epi_block(const mn_epilogue *ep, int i, int j, float *c, ptrdiff_t ldc, int m,
                      int n)
{
    mn_epilogue at = *ep;
    if (at.bias) at.bias += j;
    if (at.y) at.y += (size_t)i * at.ldy + j;
    mn_epilogue_apply(&at, c, (int)ldc, m, n);
}

/* ---- the driver ----------------------------------------------------------- */

static int imin(int a, int b) { return a < b ? a : b; }
static int ceil_div(int a, int b) { return (a + b - 1) / b; }

/* Block size <= cap that cuts n into equal-ish parts, a multiple of unit. */
static int balanced(int n, int cap, int unit)
{
    int parts = ceil_div(n, cap);
    int b = ceil_div(ceil_div(n, parts), unit) * unit;
    return b > cap ? cap : b;
}

static size_t buf_floats(const mn_gemm_engine_t *e)
{
    size_t a = (size_t)e->mc * e->kc, b = (size_t)e->nc * e->kc;
    return ((a + 15) & ~(size_t)15) + ((b + 15) & ~(size_t)15);
}

/* One thread's rectangle: C (m x n) += op(A) (m x K) op(B) (K x n). */
static void gemm_part(const mn_gemm_engine_t *e, int transA, int transB, int m,
                      int n, int K, float alpha, const float *A, ptrdiff_t lda,
                      const float *B, ptrdiff_t ldb, float beta, float *C,
                      ptrdiff_t ldc, const mn_epilogue *ep)
{
    const int MR = e->mr, NR = e->nr;
    const int KC = balanced(K, e->kc, 8);
    /* B not transposed and small (L1) or used once: both read in place, no
     * packing (the same operations per element as the packed path) */
    if (e->kernel_uab && !transB && (m <= MR || (size_t)K * n <= 8192)) {
        ptrdiff_t rsa = transA ? 1 : lda, csa = transA ? lda : 1;
        for (int pc = 0; pc < K; pc += KC) {
            int kc = imin(KC, K - pc);
            float be = pc == 0 ? beta : 1.0f;
            const mn_epilogue *ept = pc + kc >= K ? ep : NULL;
            for (int ir = 0; ir < m; ir += MR) {
                int mr = imin(MR, m - ir);
                for (int jr = 0; jr < n; jr += NR) {
                    float *cr = C + (size_t)ir * ldc + jr;
                    e->kernel_uab(kc, A + (size_t)ir * rsa + (size_t)pc * csa, rsa, csa,
                                  B + (size_t)pc * ldb + jr, ldb, cr, ldc, mr,
                                  imin(NR, n - jr), alpha, be);
                    if (ept) epi_block(ept, ir, jr, cr, ldc, mr, imin(NR, n - jr));
                }
            }
        }
        return;
    }
    float *abuf = thread_buf(buf_floats(e));
    if (!abuf) { /* out of memory: slow but correct */
        mn_sgemm_ref(transA, transB, m, n, K, alpha, A, (int)lda, B, (int)ldb,
                     beta, C, (int)ldc);
        if (ep) epi_block(ep, 0, 0, C, ldc, m, n);
        return;
    }
    float *bbuf = abuf + (((size_t)e->mc * e->kc + 15) & ~(size_t)15);
    const int MC = balanced(m, e->mc, MR);
    const int NC = balanced(n, e->nc, NR);
    for (int jc = 0; jc < n; jc += NC) {
        int nc = imin(NC, n - jc);
        for (int pc = 0; pc < K; pc += KC) {
            int kc = imin(KC, K - pc);
            float be = pc == 0 ? beta : 1.0f;
            /* the epilogue runs on each tile of the last k block, just stored */
            const mn_epilogue *ept = pc + kc >= K ? ep : NULL;
            const float *Bb = transB ? B + (size_t)jc * ldb + pc
                                     : B + (size_t)pc * ldb + jc;
            if (e->kernel_ub && !transB && m <= MR) { /* B used once: no packing */
                e->pack_a(transA, transA ? A + (size_t)pc * lda : A + pc, lda, m, kc, abuf);
                for (int jr = 0; jr < nc; jr += NR) {
                    e->kernel_ub(kc, abuf, Bb + jr, ldb, C + jc + jr, ldc, m,
                                 imin(NR, nc - jr), alpha, be);
                    if (ept) epi_block(ept, 0, jc + jr, C + jc + jr, ldc, m, imin(NR, nc - jr));
                }
                continue;
            }
            e->pack_b(transB, Bb, ldb, nc, kc, bbuf);
            for (int ic = 0; ic < m; ic += MC) {
                int mc = imin(MC, m - ic);
                const float *Ab = transA ? A + (size_t)pc * lda + ic
                                         : A + (size_t)ic * lda + pc;
                if (e->kernel_ua && nc <= NR) { /* A used once: no packing */
                    ptrdiff_t rsa = transA ? 1 : lda, csa = transA ? lda : 1;
                    for (int ir = 0; ir < mc; ir += MR) {
                        int mr = imin(MR, mc - ir);
                        float *cr = C + (size_t)(ic + ir) * ldc + jc;
                        e->kernel_ua(kc, Ab + (size_t)ir * rsa, rsa, csa, bbuf, cr, ldc,
                                     mr, nc, alpha, be);
                        if (ept) epi_block(ept, ic + ir, jc, cr, ldc, mr, nc);
                    }
                    continue;
                }
                e->pack_a(transA, Ab, lda, mc, kc, abuf);
                for (int ir = 0; ir < mc; ir += MR) {
                    int mr = imin(MR, mc - ir);
                    const float *ap = abuf + (size_t)ir * kc;
                    float *cr = C + (size_t)(ic + ir) * ldc + jc;
                    for (int jr = 0; jr < nc; jr += NR) {
                        const int nr = imin(NR, nc - jr);
                        if (ept && e->kernel_epi && ept->act != MN_EPI_LEAKY) {
                            float *y = ept->y ? ept->y + (size_t)(ic + ir) * ept->ldy + jc + jr : NULL;
                            e->kernel_epi(kc, ap, bbuf + (size_t)jr * kc, cr + jr, ldc, mr, nr,
                                          alpha, be, ept->bias ? ept->bias + jc + jr : NULL,
                                          ept->act == MN_EPI_RELU, y, ept->ldy);
                            continue;
                        }
                        e->kernel(kc, ap, bbuf + (size_t)jr * kc, cr + jr, ldc, mr, nr, alpha, be);
                        if (ept) epi_block(ept, ic + ir, jc + jr, cr + jr, ldc, mr, nr);
                    }
                }
            }
        }
    }
}

/* Rows or columns [lo, hi) of part t out of parts, in units of `unit`. */
static void split(int n, int unit, int parts, int t, int *lo, int *hi)
{
    int tiles = ceil_div(n, unit);
    int a = (int)((long long)tiles * t / parts);
    int b = (int)((long long)tiles * (t + 1) / parts);
    *lo = imin(n, a * unit);
    *hi = imin(n, b * unit);
}

typedef struct {
    const mn_gemm_engine_t *e;
    int transA, transB, M, N, K;
    float alpha, beta;
    const float *A, *B;
    float *C;
    int lda, ldb, ldc;
    int tm, tn; /* thread grid */
    const mn_epilogue *ep;
} gemm_job;

static void run_part(const gemm_job *j, int t)
{
    int i0, i1, j0, j1;
    split(j->M, j->e->mr, j->tm, t / j->tn, &i0, &i1);
    split(j->N, j->e->nr, j->tn, t % j->tn, &j0, &j1);
    if (i0 >= i1 || j0 >= j1) return;
    const float *A = j->transA ? j->A + i0 : j->A + (size_t)i0 * j->lda;
    const float *B = j->transB ? j->B + (size_t)j0 * j->ldb : j->B + j0;
    mn_epilogue ep;
    if (j->ep) { /* this part's share of the bias and of y */
        ep = *j->ep;
        if (ep.bias) ep.bias += j0;
        if (ep.y) ep.y += (size_t)i0 * ep.ldy + j0;
    }
    gemm_part(j->e, j->transA, j->transB, i1 - i0, j1 - j0, j->K, j->alpha,
              A, j->lda, B, j->ldb, j->beta, j->C + (size_t)i0 * j->ldc + j0, j->ldc,
              j->ep ? &ep : NULL);
}

/* GEMV (one row of C, or one column seen as a row of C^T). */
typedef struct {
    mn_gemv_fn f;
    int transB, N, K;
    float alpha, beta;
    const float *x, *B;
    ptrdiff_t incx, ldb, incy;
    float *y;
} gemv_job;

static void run_gemv_part(const gemv_job *g, int t, int parts)
{
    int j0, j1;
    split(g->N, 64, parts, t, &j0, &j1);
    if (j0 >= j1) return;
    float *scratch = NULL;
    if (g->incx != 1 && !(scratch = thread_buf((size_t)g->K))) {
        /* out of memory: plain loops */
        for (int j = j0; j < j1; j++) {
            float acc = 0.0f;
            for (int k = 0; k < g->K; k++)
                acc += g->x[(size_t)k * g->incx] *
                       (g->transB ? g->B[(size_t)j * g->ldb + k]
                                  : g->B[(size_t)k * g->ldb + j]);
            float *yj = &g->y[(size_t)j * g->incy];
            *yj = g->beta == 0.0f ? g->alpha * acc : g->alpha * acc + g->beta * *yj;
        }
        return;
    }
    const float *B = g->transB ? g->B + (size_t)j0 * g->ldb : g->B + j0;
    g->f(g->transB, j1 - j0, g->K, g->alpha, g->x, g->incx, B, g->ldb,
         g->beta, g->y + (size_t)j0 * g->incy, g->incy, scratch);
}

static void gemv_dispatch(const gemv_job *g)
{
    int nt = 1;
    if (mn_team_size() > 1) { /* the step's team: parts of 64 columns or more */
        int np = imin(2 * mn_team_size(), ceil_div(g->N, 64));
        uint64_t job = mn_job_begin();
        for (int p; (p = mn_job_claim(job, np)) >= 0;) {
            run_gemv_part(g, p, np);
            mn_job_done(job);
        }
        mn_job_wait(job, np);
        return;
    }
#ifdef _OPENMP
    if ((double)g->N * g->K >= 1 << 20) nt = imin(mn_threads(), ceil_div(g->N, 64));
    if (nt > 1) {
        int np = nt * 4 < ceil_div(g->N, 64) ? nt * 4 : ceil_div(g->N, 64);
        int ntn = threads_now(nt);
        double own = 0, t0 = now_s();
#pragma omp parallel for schedule(dynamic, 1) num_threads(ntn)
        for (int t = 0; t < np; t++) {
            int me = omp_get_thread_num() == 0;
            double p0 = me ? now_s() : 0;
            run_gemv_part(g, t, np);
            if (me) own += now_s() - p0;
        }
        if (ntn > 1) note_region(now_s() - t0, own);
        return;
    }
#endif
    run_gemv_part(g, 0, nt);
}

void mn_gemm_blocked(const mn_gemm_engine_t *e, int transA, int transB, int M,
                     int N, int K, float alpha, const float *A, int lda,
                     const float *B, int ldb, float beta, float *C, int ldc,
                     const mn_epilogue *ep)
{
    if ((long long)M * N * K <= 64) { /* tiny: plain loops beat any setup */
        MN_TEAM_SOLO({
            mn_sgemm_ref(transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
            if (ep) mn_epilogue_apply(ep, C, ldc, M, N);
        });
        return;
    }
    if (M == 1 || N == 1) {
        gemv_job g;
        g.f = e->gemv;
        g.K = K;
        g.alpha = alpha;
        g.beta = beta;
        if (M == 1) { /* c (1 x N) = a (1 x K) . op(B) */
            g.transB = transB;
            g.N = N;
            g.x = A;
            g.incx = transA ? lda : 1;
            g.B = B;
            g.ldb = ldb;
            g.y = C;
            g.incy = 1;
        } else { /* c^T (1 x M) = op(B)^T (1 x K) . op(A)^T */
            g.transB = !transA;
            g.N = M;
            g.x = B;
            g.incx = transB ? 1 : ldb;
            g.B = A;
            g.ldb = lda;
            g.y = C;
            g.incy = ldc;
        }
        gemv_dispatch(&g);
        if (ep) MN_TEAM_SOLO(mn_epilogue_apply(ep, C, ldc, M, N)); /* once, after every part */
        return;
    }

    if (e->narrow && N <= e->narrow->nr) e = e->narrow;
    gemm_job j = {e, transA, transB, M, N, K, alpha, beta, A, B, C,
                  lda, ldb, ldc, 1, 1, ep};
    /* In the step's team the product is cut for every thread whatever
     * its size: the threads are running already, a part costs a claim. */
    const int team = mn_team_size();
    int nt = team > 1 ? team : 1;
#ifdef _OPENMP
    double fmas = (double)M * N * K;
    if (team <= 1 && fmas >= 512.0 * 1024) nt = mn_threads(); /* else threads cost more than they save */
#endif
    int tiles_m = ceil_div(M, e->mr), tiles_n = ceil_div(N, e->nr);
    if (nt > tiles_m * tiles_n) nt = tiles_m * tiles_n;
    /* C is cut into np = nt * P parts handed out dynamically, so a thread
     * that starts late (a busy machine) does less of the work; which
     * thread computes a part never changes its result. */
    int np = nt;
#ifdef _OPENMP
    if (nt > 1) {
        /* at most 2 per thread: each part packs its own panels */
        int P = (int)(fmas / (nt * 4e6));
        np = nt * (P < 1 ? 1 : P > 2 ? 2 : P);
    }
#endif
    if (np > tiles_m * tiles_n) np = tiles_m * tiles_n;
    /* Pick the grid tm x tn = np with the least cost per part: FMAs plus
     * packing (about 16 FMAs per packed element), per k. */
    for (; np > 1; np--) {
        double best = 0;
        for (int tm = 1; tm <= np; tm++) {
            if (np % tm) continue;
            int tn = np / tm;
            if (tm > tiles_m || tn > tiles_n) continue;
            double mt = (double)ceil_div(tiles_m, tm) * e->mr;
            double ntl = (double)ceil_div(tiles_n, tn) * e->nr;
            double cost = mt * ntl + 16.0 * (mt + ntl);
            if (best == 0 || cost <= best) {
                best = cost;
                j.tm = tm;
                j.tn = tn;
            }
        }
        if (best != 0) break;
    }
    if (team > 1) { /* the parts as a job of the team */
        uint64_t job = mn_job_begin();
        for (int t; (t = mn_job_claim(job, np)) >= 0;) {
            run_part(&j, t);
            mn_job_done(job);
        }
        mn_job_wait(job, np);
        return;
    }
    if (np < nt) nt = np;
#ifdef _OPENMP
    if (nt > 1) {
        int ntn = threads_now(nt);
        double own = 0, t0 = now_s();
#pragma omp parallel for schedule(dynamic, 1) num_threads(ntn)
        for (int t = 0; t < np; t++) {
            int me = omp_get_thread_num() == 0;
            double p0 = me ? now_s() : 0;
            run_part(&j, t);
            if (me) own += now_s() - p0;
        }
        if (ntn > 1) note_region(now_s() - t0, own);
        return;
    }
#endif
    run_part(&j, 0);
}
