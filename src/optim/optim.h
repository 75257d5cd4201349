/* The optimizer object, shared by optimizer.c (the per-gradient kinds)
 * and lbfgs.c.  Internal: the public handle is opaque. */
#ifndef MN_OPTIM_H
#define MN_OPTIM_H

#include "mynn.h"
#include "kernels/kernels.h"

struct mynn_optimizer {
    mynn_net *net;
    mynn_optim_config cfg;
    size_t n;          /* n_params when created */
    long t;            /* steps taken */
    float *state;      /* n_state floats, layout per kind (see create) */
    size_t n_state;
    float *x0;         /* L-BFGS: the parameters at the start of the line search [n] */
    double *al;        /* L-BFGS: the two-loop recursion's coefficients [history] */
};

/* 1 if a step is element-wise with no pass over the whole gradient first
 * (SGD, Adam, AdamW, RMSprop without clipping): it may then be applied
 * layer by layer while backward runs (mn_optimizer_begin, mn_k_update). */
int mn_optimizer_fusable(const mynn_optimizer *o);
/* Validates and counts one step (t++) of an element-wise optimizer and
 * fixes its constants into *u; cs is the gradient's clip scale (1: none).
 * mynn_optimizer_step is this, then mn_k_update over all parameters. */
mynn_status mn_optimizer_begin(mynn_optimizer *o, float lr, float cs, mn_update *u);

/* L-BFGS's state floats for n parameters and history m (lbfgs.c). */
size_t mn_lbfgs_state_size(size_t n, int m);
/* Set up a freshly allocated (zeroed) L-BFGS state. */
void mn_lbfgs_init(mynn_optimizer *o);
mynn_status mn_lbfgs_step(mynn_optimizer *o, float lr, mynn_closure f, void *user, float *loss);
int mn_lbfgs_converged(const mynn_optimizer *o);

#endif
