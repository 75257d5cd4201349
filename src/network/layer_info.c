/* The public view of the nodes: their description, inputs, named tensors
 * (the one list the model file, the tensor views and the tests all use,
 * from each kind's tensors member). */
#include "core/core.h"
#include "network.h"

#include <stdio.h>
#include <string.h>

mynn_status mynn_layer_get_info(const mynn_net *net, int i, mynn_layer_info *info)
{
    if (!net || !info) return mn_error(MYNN_ERR_NULL, "mynn_layer_get_info: NULL argument");
    if (i < 0 || i >= net->n_layers)
        return mn_error(MYNN_ERR_ARG, "layer index %d out of range 0..%d", i, net->n_layers - 1);
    const mn_layer *l = &net->layers[i];
    memset(info, 0, sizeof *info);
    info->kind = l->kind->id;
    info->kind_name = l->kind->name;
    info->n_inputs = l->n_in;
    info->n_outputs = l->n_out;
    info->activation = l->act;
    info->rate = l->rate;
    info->n_params = mn_layer_params(l);
    info->in_shape[0] = l->in_shape.c;
    info->in_shape[1] = l->in_shape.h;
    info->in_shape[2] = l->in_shape.w;
    info->out_shape[0] = l->out_shape.c;
    info->out_shape[1] = l->out_shape.h;
    info->out_shape[2] = l->out_shape.w;
    info->in_steps = l->in_shape.t;
    info->out_steps = l->out_shape.t;
    info->dims = l->dims;
    info->kernel[0] = l->kh;
    info->kernel[1] = l->kw;
    info->stride[0] = l->sh;
    info->stride[1] = l->sw;
    info->pad[0] = l->ph;
    info->pad[1] = l->pw;
    info->momentum = l->momentum;
    info->eps = l->eps;
    return MYNN_OK;
}

int mynn_layer_inputs(const mynn_net *net, int i, int *ids, int max)
{
    if (!net || i < 0 || i >= net->n_layers) return 0;
    const mn_layer *l = &net->layers[i];
    for (int j = 0; ids && j < l->n_src && j < max; j++) ids[j] = l->src[j];
    return l->n_src;
}

mynn_status mynn_layer_describe(const mynn_net *net, int i, char *item, size_t item_size, char *settings,
                                size_t settings_size, const char **name)
{
    if (!net) return mn_error(MYNN_ERR_NULL, "mynn_layer_describe: net is NULL");
    if (i < 0 || i >= net->n_layers)
        return mn_error(MYNN_ERR_ARG, "layer index %d out of range 0..%d", i, net->n_layers - 1);
    const mn_layer *l = &net->layers[i];
    if (item && item_size) l->kind->print(l, item, item_size);
    if (settings && settings_size) l->kind->describe(l, settings, settings_size);
    if (name) *name = l->name;
    return MYNN_OK;
}

float *mynn_layer_tensor(mynn_net *net, int i, const char *name, int *rank, size_t dims[4])
{
    if (!net || !name || !net->max_batch || i < 0 || i >= net->n_layers) return NULL;
    const mn_layer *l = &net->layers[i];
    mn_tensor_desc d[MN_MAX_TENSORS];
    int nd = mn_layer_tensors(l, d);
    for (int k = 0; k < nd; k++) {
        if (strcmp(d[k].name, name) != 0) continue;
        if (rank) *rank = d[k].rank;
        if (dims) memcpy(dims, d[k].dims, sizeof d[k].dims);
        return (d[k].buffer ? l->buf : l->param) + d[k].offset;
    }
    return NULL;
}

const char *mynn_layer_tensor_name(const mynn_net *net, int i, int k)
{
    if (!net || i < 0 || i >= net->n_layers || k < 0) return NULL;
    mn_tensor_desc d[MN_MAX_TENSORS];
    return k < mn_layer_tensors(&net->layers[i], d) ? d[k].name : NULL;
}

float *mynn_layer_weight(mynn_net *net, int i)
{
    if (!net || i < 0 || i >= net->n_layers || net->layers[i].kind->id != MYNN_LAYER_DENSE) return NULL;
    return mynn_layer_tensor(net, i, "weight", NULL, NULL);
}

float *mynn_layer_bias(mynn_net *net, int i)
{
    if (!net || i < 0 || i >= net->n_layers || net->layers[i].kind->id != MYNN_LAYER_DENSE) return NULL;
    return mynn_layer_tensor(net, i, "bias", NULL, NULL);
}
