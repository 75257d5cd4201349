/* What the network knows about its layers: the sizes mynn_build
 * allocates, the named tensors each kind holds (the one list the model
 * file, the public tensor views and the tests all use), and the public
 * per-layer description. */
#include "core/core.h"
#include "network.h"

#include <string.h>

size_t mn_layer_buffers(const mn_layer *l) { return l->ops->n_buffers ? l->ops->n_buffers(l) : 0; }
size_t mn_layer_work(const mn_layer *l, int max_batch)
{
    return l->ops->work_size ? l->ops->work_size(l, max_batch) : 0;
}
size_t mn_layer_aux(const mn_layer *l) { return l->ops->aux_size ? l->ops->aux_size(l) : 0; }

mynn_status mn_build_sizes_of(const mynn_net *net, int max_batch, mn_build_sizes *z)
{
    memset(z, 0, sizeof *z);
    size_t width = (size_t)net->n_inputs, t;
    for (int i = 0; i < net->n_layers; i++) {
        const mn_layer *l = &net->layers[i];
        size_t per_sample = (size_t)l->n_out + l->ops->cache_per_sample(l);
        if (mn_mul_size(per_sample, (size_t)max_batch, &t) || z->n_acts + t < z->n_acts)
            return mn_error(MYNN_ERR_NOMEM, "mynn_build: activation size overflows");
        z->n_acts += t;
        z->n_params += l->ops->n_params(l);
        z->n_buffers += mn_layer_buffers(l);
        z->n_aux += mn_layer_aux(l);
        size_t w = mn_layer_work(l, max_batch);
        if (w > z->n_work) z->n_work = w;
        if ((size_t)l->n_out > width) width = (size_t)l->n_out;
        if (z->n_params + z->n_buffers > MN_MAX_ELEMS || z->n_acts > MN_MAX_ELEMS ||
            z->n_work > MN_MAX_ELEMS)
            return mn_error(MYNN_ERR_NOMEM, "mynn_build: the network exceeds %zu floats in one buffer",
                            (size_t)MN_MAX_ELEMS);
    }
    if (mn_mul_size(width, (size_t)max_batch, &z->width) || z->width > MN_MAX_ELEMS)
        return mn_error(MYNN_ERR_NOMEM, "mynn_build: scratch size overflows");
    return MYNN_OK;
}

static mn_tensor_desc vec(const char *name, size_t n, size_t offset, int buffer)
{
    mn_tensor_desc d = {name, 1, {n, 0, 0, 0}, n, offset, buffer};
    return d;
}

int mn_layer_tensors(const mn_layer *l, mn_tensor_desc d[4])
{
    size_t out = (size_t)l->out_shape.c, in = (size_t)l->in_shape.c;
    switch (l->ops->kind) {
    case MYNN_LAYER_DENSE:
        d[0] = (mn_tensor_desc){"weight", 2, {(size_t)l->n_out, (size_t)l->n_in, 0, 0},
                                (size_t)l->n_out * l->n_in, 0, 0};
        d[1] = vec("bias", (size_t)l->n_out, d[0].count, 0);
        return 2;
    case MYNN_LAYER_CONV:
        if (l->dims == 1)
            d[0] = (mn_tensor_desc){"weight", 3, {out, in, (size_t)l->kw, 0}, 0, 0, 0};
        else
            d[0] = (mn_tensor_desc){"weight", 4, {out, in, (size_t)l->kh, (size_t)l->kw}, 0, 0, 0};
        d[0].count = out * in * (size_t)l->kh * l->kw;
        d[1] = vec("bias", out, d[0].count, 0);
        return 2;
    case MYNN_LAYER_BATCHNORM:
        d[0] = vec("weight", in, 0, 0);
        d[1] = vec("bias", in, in, 0);
        d[2] = vec("running_mean", in, 0, 1);
        d[3] = vec("running_var", in, in, 1);
        return 4;
    default:
        return 0;
    }
}

mynn_status mynn_layer_get_info(const mynn_net *net, int i, mynn_layer_info *info)
{
    if (!net || !info) return mn_error(MYNN_ERR_NULL, "mynn_layer_get_info: NULL argument");
    if (i < 0 || i >= net->n_layers)
        return mn_error(MYNN_ERR_ARG, "layer index %d out of range 0..%d", i, net->n_layers - 1);
    const mn_layer *l = &net->layers[i];
    memset(info, 0, sizeof *info);
    info->kind = l->ops->kind;
    info->kind_name = l->ops->name;
    info->n_inputs = l->n_in;
    info->n_outputs = l->n_out;
    info->activation = l->act;
    info->rate = l->rate;
    info->n_params = l->ops->n_params(l);
    info->in_shape[0] = l->in_shape.c;
    info->in_shape[1] = l->in_shape.h;
    info->in_shape[2] = l->in_shape.w;
    info->out_shape[0] = l->out_shape.c;
    info->out_shape[1] = l->out_shape.h;
    info->out_shape[2] = l->out_shape.w;
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

float *mynn_layer_tensor(mynn_net *net, int i, const char *name, int *rank, size_t dims[4])
{
    if (!net || !name || !net->max_batch || i < 0 || i >= net->n_layers) return NULL;
    const mn_layer *l = &net->layers[i];
    mn_tensor_desc d[4];
    int nd = mn_layer_tensors(l, d);
    for (int k = 0; k < nd; k++) {
        if (strcmp(d[k].name, name) != 0) continue;
        if (rank) *rank = d[k].rank;
        if (dims) memcpy(dims, d[k].dims, sizeof d[k].dims);
        return (d[k].buffer ? l->buf : l->param) + d[k].offset;
    }
    return NULL;
}

float *mynn_layer_weight(mynn_net *net, int i)
{
    if (!net || i < 0 || i >= net->n_layers || net->layers[i].ops->kind != MYNN_LAYER_DENSE) return NULL;
    return mynn_layer_tensor(net, i, "weight", NULL, NULL);
}

float *mynn_layer_bias(mynn_net *net, int i)
{
    if (!net || i < 0 || i >= net->n_layers || net->layers[i].ops->kind != MYNN_LAYER_DENSE) return NULL;
    return mynn_layer_tensor(net, i, "bias", NULL, NULL);
}
