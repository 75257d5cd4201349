/* Internals of the training loop shared by fit.c and fit_shared.c (the
 * data-parallel step).  Not part of the public API. */
#ifndef MN_FIT_INTERNAL_H
#define MN_FIT_INTERNAL_H

#include "mynn.h"
#include "network/network.h"

/* Everything the loop needs, allocated once before the first epoch. */
typedef struct mn_fit_work {
    mynn_optimizer *opt;
    int *order;               /* [n] sample order */
    float *xb, *yb;           /* one gathered batch */
    float *epoch_start;       /* the model at the start of the epoch (divergence) */
    float *best;              /* early stopping's best model, or NULL */
    float *gsum;              /* L-BFGS over several batches: the gradient sum, or NULL */
    size_t n_values;          /* floats of a model copy: parameters and buffers */
    int stop_pending;         /* data parallel: on_batch asked to stop */
    /* augmentation (mynn_augment): off unless crop or flip */
    mynn_augment aug;
    mn_shape shape;           /* the images' C × H × W */
    uint64_t aug_seed;        /* the fit's seed */
    int epoch;                /* the epoch being gathered */
} mn_fit_work;

/* The samples order[first .. first+m) of ds (w->order), gathered into xb
 * and yb: augmented as w->aug says, and with shift (not NULL) through the
 * input transform on the way, one pass instead of a copy and then the
 * transform. */
void mn_gather_batch(const mynn_dataset *ds, const mn_fit_work *w, int first, int m,
                     const float *shift, const float *scale, float *xb, float *yb);
/* MYNN_ERR_ARG when o->augment does not suit net (its input is no image). */
mynn_status mn_check_augment(const mynn_net *net, const mynn_augment *a);
/* Where a batch is gathered for net: straight into the network's input
 * buffer through its transform, or into w->xb when it has none; then
 * mn_forward_transformed on it. */
static inline float *mn_batch_inputs(mynn_net *net, mn_fit_work *w)
{
    return net->shift ? net->xin : w->xb;
}

/* One data-parallel step on the batch order[first_row .. first_row + m):
 * forward and backward on this rank's share, the scaled gradients and the
 * loss summed over the ranks.  *loss: the batch's mean loss; *stop: some
 * rank asked to stop; *correct and *loss_sum gather this rank's share. */
mynn_status mn_shared_step(mynn_net *net, const mynn_dataset *train, const mynn_fit_options *o,
                           mn_fit_work *w, int first_row, int m, int epoch, int b, float *loss,
                           long *correct, double *loss_sum, int *stop);
/* Average the net's buffers (batch-norm statistics) over the ranks. */
mynn_status mn_average_buffers(mynn_net *net, const mynn_reducer *red, int epoch);
/* *any = whether flag is set on any rank. */
mynn_status mn_agree(const mynn_reducer *red, int flag, int *any, const char *what);

/* part[i], the fold (0..MN_AUTO_FOLDS-1) auto gives row i of ds: each
 * class's rows (regression: all rows) in an order drawn from seed, dealt
 * to the folds in turn, the deal going on from one class to the next, so
 * that the folds' sizes differ by one at most and each holds its share of
 * every class (to one row).  order: [n] scratch. */
#define MN_AUTO_FOLDS 5
void mn_auto_folds(const mynn_dataset *ds, uint64_t seed, int *part, int *order);
/* mynn_fit with optim.kind MYNN_OPT_AUTO (auto.c): the search on held-out
 * rows, then the chosen setting trained through mynn_fit. */
mynn_status mn_fit_auto(mynn_net *net, const mynn_dataset *train, const mynn_dataset *val,
                        const mynn_fit_options *o);

#endif
