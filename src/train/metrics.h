/* Internal helpers shared by the training loop and the metrics. */
#ifndef MN_METRICS_H
#define MN_METRICS_H

#include "mynn.h"
#include <stddef.h>

/* The predicted class of one output row of k values: the argmax (first on
 * ties), or for a single output 1 when it exceeds 0.5. */
int mn_predicted_class(const float *a, int k);

/* Sum v[0..n) over red's ranks in place (nothing when red is NULL or has
 * one rank); a failure gives MYNN_ERR_COMM with what in the message. */
mynn_status mn_reduce_doubles(const mynn_reducer *red, double *v, size_t n, const char *what);

#endif
