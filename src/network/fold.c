/* Which batch norms fold into the node before them (fold.h). */
#include "fold.h"

int mn_fold_source(const mynn_net *net, int bn)
{
    if (!net || bn < 0 || bn >= net->n_layers) return -1;
    const mn_layer *b = &net->layers[bn];
    if (b->kind->id != MYNN_LAYER_BATCHNORM || b->n_src != 1 || b->src[0] < 0) return -1;
    const mn_layer *l = &net->layers[b->src[0]];
    if (!l->kind->folds_bn || l->act != MYNN_ACT_IDENTITY || b->in_shape.c != l->out_shape.c ||
        b->n_in != l->n_out || mn_net_readers(net, l->id) != 1)
        return -1;
    return l->id;
}

int mn_fold_target(const mynn_net *net, int i)
{
    if (!net || i < 0 || i >= net->n_layers) return -1;
    int reader = -1;   /* a batch norm folding into i is i's only reader */
    for (int k = i + 1; k < net->n_layers; k++)
        for (int j = 0; j < net->layers[k].n_src; j++)
            if (net->layers[k].src[j] == i) {
                if (reader >= 0) return -1;
                reader = k;
            }
    return reader >= 0 && mn_fold_source(net, reader) == i ? reader : -1;
}

int mn_fold_next(const mynn_net *net, int i)
{
    return net && i >= 0 && i + 1 < net->n_layers && mn_fold_source(net, i + 1) == i;
}
