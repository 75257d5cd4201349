/* Batch norm at inference, for exporters (standalone C, int8): folded into
 * the convolution or dense layer before it where it can be, else as a
 * per-channel affine map.  With the running statistics, per channel c,
 *   y = γ[c] (x - mean[c]) / sqrt(var[c] + eps) + β[c] = x·s[c] + t[c],
 *   s[c] = γ[c] / sqrt(var[c] + eps),  t[c] = β[c] - mean[c]·s[c],
 * so after z = W·x + b (identity activation) the pair is one layer with
 *   W'[c][k] = W[c][k]·s[c],  b'[c] = (b[c] - mean[c])·s[c] + β[c].
 * Everything is computed in double and rounded to float once.  Internal. */
#ifndef MN_FOLD_H
#define MN_FOLD_H

#include "network.h"

/* Non-zero if bn is a batch norm that folds into l: l is a convolution
 * (1-D or 2-D) or a dense layer with the identity activation (a non-linear
 * one comes between the two), and bn normalises l's output channels. */
int mn_bn_folds_into(const mn_layer *l, const mn_layer *bn);

/* Non-zero if layer i + 1 of net is a batch norm folding into layer i
 * (0 when either index is out of range). */
int mn_fold_next(const mynn_net *net, int i);

/* The folded pair's weight w [C × K] (K = l's inputs per output: C_in·kh·kw
 * for a convolution, n_in for a dense layer; l's own weight layout) and
 * bias b [C], C = l's output channels.  Only when mn_bn_folds_into(l, bn). */
void mn_fold_bn(const mn_layer *l, const mn_layer *bn, float *w, float *b);

/* A batch norm's inference map as y = x·s[c] + t[c] (s, t [C], C = its
 * channels), for one that does not fold. */
void mn_bn_affine(const mn_layer *bn, float *s, float *t);

#endif
