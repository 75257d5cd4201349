/* The tests' independent reference: a network's forward pass and cost in
 * double precision, written from the layers' definitions with direct
 * loops (convolution without im2col, batch norm in training mode with the
 * batch's statistics, pooling with padding, add, concat), walking the
 * graph through the public API (mynn_layer_get_info, mynn_layer_inputs);
 * the gradient checks take central differences of it. */
#ifndef MN_TEST_REF_NET_H
#define MN_TEST_REF_NET_H

#include "mynn.h"

#include <stddef.h>

/* The batch's mean cost through every node of net with parameters pd
 * (in mynn_params' order), inputs x [n × inputs], targets y: cross-entropy
 * after a softmax output, else the mean squared error. */
double ref_cost(const mynn_net *net, const double *pd, const double *x, const double *y, int n);
/* Max |lib - ref| over max |ref| (at least floor), per tensor. */
double ref_rel_err(const float *lib, const double *ref, size_t n, double floor);

#endif
