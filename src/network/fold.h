/* Which batch norms fold into the node before them at inference (for
 * exporters: standalone C, int8).  A batch norm folds into its input node
 * when that node's kind has folds_bn (dense, conv: weight [C × K] then
 * bias [C]), its activation is the identity, its C output channels are
 * the batch norm's, and the batch norm is its only reader (inside a
 * residual branch too).  The arithmetic is the batch norm kind's
 * (mn_bn_fold, layers/layer.h).  Internal. */
#ifndef MN_FOLD_H
#define MN_FOLD_H

#include "network.h"

/* The node that batch norm bn folds into, or -1 (bn is no batch norm, or
 * does not fold; out of range: -1). */
int mn_fold_source(const mynn_net *net, int bn);
/* The batch norm that folds into node i, or -1. */
int mn_fold_target(const mynn_net *net, int i);
/* Non-zero if node i + 1 is a batch norm folding into node i. */
int mn_fold_next(const mynn_net *net, int i);

#endif
