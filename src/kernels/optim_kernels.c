/* Optimizer updates: one flat loop each over the parameter array, split
 * into contiguous static chunks across threads (element-wise, so the
 * result does not depend on the thread count), with denormals flushed to
 * zero: the moment estimates of parameters whose gradient is always 0
 * (e.g. weights of an image's blank border) decay geometrically into the
 * denormal range, where x86 arithmetic runs about a hundred times slower. */
#include "kernels.h"

#include "gemm_internal.h"
#include "optim_elem.h"

#include <stdatomic.h>
#include <string.h>

/* Below this many parameters one thread is faster than waking others. */
#define PAR_MIN 32768

/* Runs body(lo, hi) over [0, n) in static chunks, under FTZ/DAZ.  In the
 * step's team, the chunks this thread claims, not waiting for the others:
 * a fused update (see kernels.h) touches only its layer's parameters and
 * state, which nothing reads before the step's region ends. */
#define FOR_CHUNKS(n, body)                                                   \
    do {                                                                      \
        if (mn_team_size() > 1) {                                             \
            const int np_ = (n) < 4096 ? 1 : 2 * mn_team_size();              \
            const uint64_t job_ = mn_job_begin();                             \
            unsigned csr_ = fp_fast();                                        \
            for (int p_; (p_ = mn_job_claim(job_, np_)) >= 0;) {              \
                size_t lo, hi;                                                \
                mn_share((n), p_, np_, &lo, &hi);                             \
                body;                                                         \
            }                                                                 \
            fp_restore(csr_);                                                 \
            break;                                                            \
        }                                                                     \
        int nt_ = (n) >= PAR_MIN ? mn_threads() : 1;                          \
        _Pragma("omp parallel num_threads(nt_) if(nt_ > 1)")                 \
        {                                                                     \
            int t_ = 0, T_ = 1;                                               \
            mn_thread_id(&t_, &T_);                                           \
            size_t lo = (n) * (size_t)t_ / (size_t)T_;                        \
            size_t hi = (n) * (size_t)(t_ + 1) / (size_t)T_;                  \
            unsigned csr_ = fp_fast();                                        \
            body;                                                             \
            fp_restore(csr_);                                                 \
        }                                                                     \
    } while (0)

void mn_k_sgd(float *restrict p, const float *restrict g, float *restrict buf, size_t n,
              float cs, float lr, float wd, float mu, int nesterov)
{
    FOR_CHUNKS(n, {
        if (!buf) {
            for (size_t i = lo; i < hi; i++) p[i] = mn_elem_sgd(p[i], g[i], cs, lr, wd);
        } else if (nesterov) {
            for (size_t i = lo; i < hi; i++)
                p[i] = mn_elem_nesterov(p[i], g[i], &buf[i], cs, lr, wd, mu);
        } else {
            for (size_t i = lo; i < hi; i++)
                p[i] = mn_elem_sgd_mom(p[i], g[i], &buf[i], cs, lr, wd, mu);
        }
    });
}

/* Adam and RMSprop are bound by a square root and a division per float,
 * which baseline x86-64 code does 4 at a time: the AVX2 copies of their
 * loops do 8.  IEEE arithmetic and no contraction (ISO C) make them
 * compute the same bits as the baseline loops.  The loops read their
 * constants from an mn_update (its state pointers unused here). */

static inline void adam_range(float *restrict p, const float *restrict g, float *restrict m,
                              float *restrict v, size_t lo, size_t hi, const mn_update *k)
{
    const float cs = k->cs, l2 = k->wd, shrink = k->shrink, b1 = k->b1, b2 = k->b2;
    const float step = k->step, sbc = k->sqrt_bc2, eps = k->eps;
    if (sbc != 1.0f) {
        for (size_t i = lo; i < hi; i++)
            p[i] = mn_elem_adam(p[i], g[i], &m[i], &v[i], cs, l2, shrink, b1, b2, step, sbc, eps, 1);
    } else {
        for (size_t i = lo; i < hi; i++)
            p[i] = mn_elem_adam(p[i], g[i], &m[i], &v[i], cs, l2, shrink, b1, b2, step, 1.0f, eps, 0);
    }
}

static inline void rmsprop_range(float *restrict p, const float *restrict g, float *restrict v,
                                 size_t lo, size_t hi, const mn_update *k)
{
    const float cs = k->cs, lr = k->lr, wd = k->wd, alpha = k->alpha, eps = k->eps;
    for (size_t i = lo; i < hi; i++) p[i] = mn_elem_rmsprop(p[i], g[i], &v[i], cs, lr, wd, alpha, eps);
}

static void adam_base(float *p, const float *g, float *m, float *v, size_t lo, size_t hi,
                      const mn_update *k)
{
    adam_range(p, g, m, v, lo, hi, k);
}

static void rmsprop_base(float *p, const float *g, float *v, size_t lo, size_t hi,
                         const mn_update *k)
{
    rmsprop_range(p, g, v, lo, hi, k);
}

#if MN_X86
__attribute__((target("avx2"))) static void adam_avx2(float *p, const float *g, float *m, float *v,
                                                     size_t lo, size_t hi, const mn_update *k)
{
    adam_range(p, g, m, v, lo, hi, k);
}

__attribute__((target("avx2"))) static void rmsprop_avx2(float *p, const float *g, float *v,
                                                        size_t lo, size_t hi, const mn_update *k)
{
    rmsprop_range(p, g, v, lo, hi, k);
}
#endif

typedef void (*adam_fn)(float *, const float *, float *, float *, size_t, size_t,
                        const mn_update *);
typedef void (*rmsprop_fn)(float *, const float *, float *, size_t, size_t, const mn_update *);

/* 1 while the baseline loops are forced (mn_k_optim_isa("generic")). */
static _Atomic int g_optim_base;

int mn_k_optim_isa(const char *name)
{
    if (!name || !*name) {
        atomic_store(&g_optim_base, 0);
        return 0;
    }
    if (!strcmp(name, "generic")) {
        atomic_store(&g_optim_base, 1);
        return 0;
    }
    return -1;
}

#if MN_X86
static int use_avx2(void)
{
    static _Atomic int has = -1;
    if (atomic_load_explicit(&g_optim_base, memory_order_relaxed)) return 0;
    int h = atomic_load_explicit(&has, memory_order_relaxed);
    if (h < 0) {
        __builtin_cpu_init();
        h = __builtin_cpu_supports("avx2") != 0;
        atomic_store_explicit(&has, h, memory_order_relaxed);
    }
    return h;
}
#endif

void mn_k_adam(float *restrict p, const float *restrict g, float *restrict m, float *restrict v,
               size_t n, float cs, float l2, float shrink, float b1, float b2, float step,
               float sqrt_bc2, float eps)
{
    const mn_update k = {.cs = cs, .wd = l2, .shrink = shrink, .b1 = b1, .b2 = b2, .step = step,
                           .sqrt_bc2 = sqrt_bc2, .eps = eps};
    adam_fn f = adam_base;
#if MN_X86
    if (use_avx2()) f = adam_avx2;
#endif
    FOR_CHUNKS(n, f(p, g, m, v, lo, hi, &k));
}

void mn_k_rmsprop(float *restrict p, const float *restrict g, float *restrict v, size_t n,
                  float cs, float lr, float wd, float alpha, float eps)
{
    const mn_update k = {.cs = cs, .lr = lr, .wd = wd, .alpha = alpha, .eps = eps};
    rmsprop_fn f = rmsprop_base;
#if MN_X86
    if (use_avx2()) f = rmsprop_avx2;
#endif
    FOR_CHUNKS(n, f(p, g, v, lo, hi, &k));
}

void mn_k_update(const mn_update *u, float *p, const float *g, size_t off, size_t n)
{
    switch (u->rule) {
    case MN_UPD_SGD:
        mn_k_sgd(p, g, u->s0 ? u->s0 + off : NULL, n, u->cs, u->lr, u->wd, u->mu, u->nesterov);
        break;
    case MN_UPD_ADAM:
        mn_k_adam(p, g, u->s0 + off, u->s1 + off, n, u->cs, u->wd, u->shrink, u->b1, u->b2,
                  u->step, u->sqrt_bc2, u->eps);
        break;
    case MN_UPD_RMSPROP:
        mn_k_rmsprop(p, g, u->s0 + off, n, u->cs, u->lr, u->wd, u->alpha, u->eps);
        break;
    }
}
