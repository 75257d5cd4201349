/* Runs the exported float model (fm_f.h) and int8 model (fm_q.h; none
 * when built with -DFM_FLOAT_ONLY) on the test images of data.h on an
 * emulated Cortex-M4 and compares each output with the host's (data.h,
 * from mynn_predict and mynn_qnet_predict); a float model that streams
 * (a recurrent one reading the image's rows) also through fm_f_step.  Prints one line per model;
 * exit status 0 when every predicted class matches the host's.  Time: SysTick ticks (25 MHz in QEMU's mps2-an386;
 * with -icount shift=0 a tick is 40 emulated instructions, not cycles of a
 * real device). */
#include "data.h"
#include "fm_f.h"
#ifndef FM_FLOAT_ONLY
#include "fm_q.h"
#endif

#include <stdint.h>
#include <stdio.h>

#define SYST_CSR (*(volatile uint32_t *)0xE000E010u)
#define SYST_RVR (*(volatile uint32_t *)0xE000E014u)
#define SYST_CVR (*(volatile uint32_t *)0xE000E018u)

static float input[DATA_N_INPUTS], output[DATA_N_OUTPUTS];

static int argmax(const float *v, int n)
{
    int b = 0, j;
    for (j = 1; j < n; j++)
        if (v[j] > v[b]) b = j;
    return b;
}

typedef int (*predict_fn)(const float *input, float *output);

#ifdef FM_F_STATE_FLOATS
/* A float model that streams (fm_f_step): the image fed one row at a time
 * from the reset state; after the last step its output is the model's
 * prediction, compared with the host's as fm_f_predict's is. */
#if FM_F_STEP_OUTPUTS != DATA_N_OUTPUTS
#error "the harness streams models that output the last step only"
#endif
static float state[FM_F_STATE_FLOATS];

static int step_predict(const float *in, float *out)
{
    int t;
    fm_f_reset(state);
    for (t = 0; t < FM_F_N_STEPS; t++)
        if (fm_f_step(in + t * FM_F_STEP_INPUTS, state, out) != 0) return -1;
    return 0;
}
#endif

/* Classes matching the host's; *maxdiff the largest |output - host|,
 * *ticks the SysTick ticks of all predictions. */
static int run(predict_fn f, const float *host, float *maxdiff, unsigned long *ticks)
{
    int i, j, match = 0;
    *maxdiff = 0.0f;
    *ticks = 0;
    for (i = 0; i < DATA_N; i++) {
        for (j = 0; j < DATA_N_INPUTS; j++) input[j] = (float)data_images[i * DATA_N_INPUTS + j];
        uint32_t t0 = SYST_CVR;
        if (f(input, output) != 0) return -1;
        uint32_t t1 = SYST_CVR;
        *ticks += (t0 - t1) & 0xFFFFFFu;    /* counts down, 24 bits */
        const float *h = host + i * DATA_N_OUTPUTS;
        match += argmax(output, DATA_N_OUTPUTS) == argmax(h, DATA_N_OUTPUTS);
        for (j = 0; j < DATA_N_OUTPUTS; j++) {
            float d = output[j] > h[j] ? output[j] - h[j] : h[j] - output[j];
            if (d > *maxdiff) *maxdiff = d;
        }
    }
    return match;
}

int main(void)
{
    float df, dq = 0.0f;
    unsigned long tf, tq = 0;
    int mq = DATA_N;
    SYST_RVR = 0xFFFFFFu;
    SYST_CVR = 0;
    SYST_CSR = 5;   /* enable, processor clock, no interrupt */
    int mf = run(fm_f_predict, data_host_float, &df, &tf);
#ifndef FM_FLOAT_ONLY
    mq = run(fm_q_predict, data_host_int8, &dq, &tq);
#endif
    printf("float: %d/%d classes match the host, max |diff| %.3g, %lu ticks per inference\n", mf,
           DATA_N, (double)df, tf / DATA_N);
#ifdef FM_F_STATE_FLOATS
    {
        float ds;
        unsigned long ts;
        int ms = run(step_predict, data_host_float, &ds, &ts);
        printf("float step: %d/%d classes match the host, max |diff| %.3g, %lu ticks per inference\n", ms,
               DATA_N, (double)ds, ts / DATA_N);
        mf = ms < mf ? ms : mf;
    }
#endif
#ifndef FM_FLOAT_ONLY
    printf("int8: %d/%d classes match the host, max |diff| %.3g, %lu ticks per inference\n", mq,
           DATA_N, (double)dq, tq / DATA_N);
#endif
    (void)dq;
    (void)tq;
    return mf == DATA_N && mq == DATA_N ? 0 : 1;
}
