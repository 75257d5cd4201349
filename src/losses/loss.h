/* Costs: value and gradient, averaged as PyTorch's MSELoss, BCELoss and
 * CrossEntropyLoss do. */
#ifndef MN_LOSS_H
#define MN_LOSS_H

#include "mynn.h"

/* The cost of outputs a = f(z) against targets y ([rows × cols]).  z may be
 * NULL; when given, BCE and CE are computed from the logits, exactly and
 * without overflow. */
double mn_loss_value(mynn_loss l, mynn_activation out_act, const float *z, const float *a,
                     const float *y, int rows, int cols);

/* 1 when loss l on activation act has the fused gradient dC/dz = (a - y)/count. */
int mn_loss_fused(mynn_loss l, mynn_activation act);

/* The output gradient into g: dC/dz when fused (see above), else dC/da. */
void mn_loss_grad(mynn_loss l, mynn_activation out_act, const float *a, const float *y,
                  int rows, int cols, float *g);

/* Cross-entropy with class ids: row r's target is class ids[r] (an
 * integer stored as a float, in 0..cols-1), as PyTorch's CrossEntropyLoss
 * with class indices: the mean over rows of lse(z_r) - z_r[id] (of
 * -log a_r[id] without z).  A sequence model's targets, one id per step. */
double mn_loss_value_ids(const float *z, const float *a, const float *ids, int rows, int cols);
/* Its gradient after softmax, dC/dz = (a - onehot(id)) / rows. */
void mn_loss_grad_ids(const float *a, const float *ids, int rows, int cols, float *g);

/* Whether loss l may follow an output layer with activation act; if not,
 * sets the message and returns MYNN_ERR_ARG. */
mynn_status mn_loss_check(mynn_loss l, mynn_activation act);

#endif
