/* One parameter's optimizer update, shared by the flat update loops
 * (optim_kernels.c) and the per-sample fused backward (rank1.c), so both
 * compute the same floats bit for bit: the formulas are written once, here.
 * Plain expressions (ISO C: no contraction into FMAs), which the compiler
 * vectorizes in each caller's loop.  They run under fp_fast() (FTZ/DAZ, see
 * optim_kernels.c for why). */
#ifndef MN_OPTIM_ELEM_H
#define MN_OPTIM_ELEM_H

#include <math.h>

#if defined(__x86_64__) || defined(__i386__)
#include <xmmintrin.h>
static inline unsigned fp_fast(void)
{
    unsigned saved = _mm_getcsr();
    _mm_setcsr(saved | 0x8040u); /* FTZ | DAZ */
    return saved;
}
static inline void fp_restore(unsigned saved) { _mm_setcsr(saved); }
#elif defined(__aarch64__) && (defined(__GNUC__) || defined(__clang__))
/* FPCR.FZ (bit 24) flushes denormal inputs and results alike, as
 * FTZ | DAZ do on x86, so both compute the same updates. */
static inline unsigned fp_fast(void)
{
    unsigned long long saved;
    __asm__ volatile("mrs %0, fpcr" : "=r"(saved));
    __asm__ volatile("msr fpcr, %0" : : "r"(saved | (1ull << 24)));
    return (unsigned)saved;
}
static inline void fp_restore(unsigned saved)
{
    __asm__ volatile("msr fpcr, %0" : : "r"((unsigned long long)saved));
}
#else
static inline unsigned fp_fast(void) { return 0; }
static inline void fp_restore(unsigned saved) { (void)saved; }
#endif

/* SGD without momentum: p -= lr (g cs + wd p). */
static inline float mn_elem_sgd(float p, float g, float cs, float lr, float wd)
{
    return p - lr * (g * cs + wd * p);
}

/* SGD with momentum buffer *b (heavy ball, or Nesterov). */
static inline float mn_elem_sgd_mom(float p, float g, float *b, float cs, float lr, float wd,
                                    float mu)
{
    *b = mu * *b + (g * cs + wd * p);
    return p - lr * *b;
}
static inline float mn_elem_nesterov(float p, float g, float *b, float cs, float lr, float wd,
                                     float mu)
{
    float gi = g * cs + wd * p;
    *b = mu * *b + gi;
    return p - lr * (gi + mu * *b);
}

/* Adam / AdamW (shrink != 1) with moments *m, *v.  bc: a constant, 0 when
 * sqrt_bc2 == 1 (after some 16,600 steps with beta2 = 0.999): x / 1 is x
 * exactly, and the division costs as much as the rest of the update. */
static inline float mn_elem_adam(float p, float g, float *m, float *v, float cs, float l2,
                                 float shrink, float b1, float b2, float step, float sqrt_bc2,
                                 float eps, const int bc)
{
    float gi = g * cs + l2 * p;
    float pi = p * shrink;
    *m = b1 * *m + (1.0f - b1) * gi;
    *v = b2 * *v + (1.0f - b2) * gi * gi;
    return pi - step * *m / ((bc ? sqrtf(*v) / sqrt_bc2 : sqrtf(*v)) + eps);
}

/* RMSprop with mean square *v. */
static inline float mn_elem_rmsprop(float p, float g, float *v, float cs, float lr, float wd,
                                    float alpha, float eps)
{
    float gi = g * cs + wd * p;
    *v = alpha * *v + (1.0f - alpha) * gi * gi;
    return p - lr * gi / (sqrtf(*v) + eps);
}

#endif
