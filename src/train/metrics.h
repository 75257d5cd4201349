/* Internal helpers shared by the training loop and the metrics. */
#ifndef MN_METRICS_H
#define MN_METRICS_H

#include "mynn.h"
#include <stddef.h>

/* The predicted class of one output row of k values: the argmax (first on
 * ties), or for a single output 1 when it exceeds 0.5. */
int mn_predicted_class(const float *a, int k);

/* Evaluation over a dataset in chunks, shared by mynn_evaluate and the
 * int8 models (src/quant/): check the dataset against d inputs and k
 * outputs (who names the caller), then add each chunk of c samples from
 * sample done: z the output layer's pre-activation (may be NULL), a its
 * outputs [c × k]. */
#include "mynn.h"
typedef struct mn_metrics_acc {
    double loss, se, ae;
    long correct;
    int k, kc;
    int *confusion;     /* [kc × kc] or NULL */
} mn_metrics_acc;
mynn_status mn_metrics_check(const mynn_dataset *ds, int d, int k, const char *who);
void mn_metrics_begin(mn_metrics_acc *acc, const mynn_dataset *ds, int k, int *confusion);
void mn_metrics_add(mn_metrics_acc *acc, const mynn_dataset *ds, int done, int c, mynn_loss l,
                    mynn_activation act, const float *z, const float *a);
void mn_metrics_end(const mn_metrics_acc *acc, const mynn_dataset *ds, mynn_metrics *m);
/* Sum v[0..n) over red's ranks in place (nothing when red is NULL or has
 * one rank); a failure gives MYNN_ERR_COMM with what in the message. */
mynn_status mn_reduce_doubles(const mynn_reducer *red, double *v, size_t n, const char *what);

#endif
