/* Folding batch norm into the layer before it (fold.h). */
#include "fold.h"

#include <math.h>

int mn_bn_folds_into(const mn_layer *l, const mn_layer *bn)
{
    if (!l || !bn || bn->ops->kind != MYNN_LAYER_BATCHNORM) return 0;
    mynn_layer_kind k = l->ops->kind;
    if (k != MYNN_LAYER_CONV && k != MYNN_LAYER_DENSE) return 0;
    return l->act == MYNN_ACT_IDENTITY && bn->in_shape.c == l->out_shape.c &&
           bn->n_in == l->n_out;
}

int mn_fold_next(const mynn_net *net, int i)
{
    if (!net || i < 0 || i + 1 >= net->n_layers) return 0;
    return mn_bn_folds_into(&net->layers[i], &net->layers[i + 1]);
}

/* s[c] = γ[c] / sqrt(var[c] + eps), in double. */
static double bn_scale(const mn_layer *bn, int c)
{
    const int C = bn->in_shape.c;
    return (double)bn->param[c] / sqrt((double)bn->buf[C + c] + (double)bn->eps);
}

void mn_fold_bn(const mn_layer *l, const mn_layer *bn, float *w, float *b)
{
    const int C = l->out_shape.c;
    const size_t K = (l->ops->n_params(l) - (size_t)C) / (size_t)C;
    const float *lw = l->param, *lb = l->param + (size_t)C * K;
    const float *beta = bn->param + C, *mean = bn->buf;
    for (int c = 0; c < C; c++) {
        double s = bn_scale(bn, c);
        for (size_t k = 0; k < K; k++) w[(size_t)c * K + k] = (float)((double)lw[(size_t)c * K + k] * s);
        b[c] = (float)(((double)lb[c] - mean[c]) * s + beta[c]);
    }
}

void mn_bn_affine(const mn_layer *bn, float *s, float *t)
{
    const int C = bn->in_shape.c;
    const float *beta = bn->param + C, *mean = bn->buf;
    for (int c = 0; c < C; c++) {
        double sc = bn_scale(bn, c);
        s[c] = (float)sc;
        t[c] = (float)((double)beta[c] - (double)mean[c] * sc);
    }
}
