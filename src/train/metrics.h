/* Internal helpers shared by the training loop and the metrics. */
#ifndef MN_METRICS_H
#define MN_METRICS_H

/* The predicted class of one output row of k values: the argmax (first on
 * ties), or for a single output 1 when it exceeds 0.5. */
int mn_predicted_class(const float *a, int k);

#endif
