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

/* Whether loss l may follow an output layer with activation act; if not,
 * sets the message and returns MYNN_ERR_ARG. */
mynn_status mn_loss_check(mynn_loss l, mynn_activation act);

#endif
