/* Streaming inference: a copy of a sequence model that reads one step at a
 * time, its recurrent layers carrying their state (h, and c for an LSTM)
 * from one call to the next: text generation one character at a time,
 * a sensor model fed sample by sample.  The copy has the same nodes and
 * parameters with the input cut to one step (the weights of a recurrent
 * layer do not depend on the number of steps), built for batch 1; each
 * recurrent node keeps its state in its aux (recurrent.c: stateful). */
#include "network.h"
#include "core/core.h"
#include "layers/layer.h"

#include <string.h>

static int is_recurrent(const mn_layer *l) { return l->kind->cell != NULL; }

/* The steps T of net's input and the values of one step, from the nodes
 * that read it: embeddings (T ids) and recurrent layers (T × F). */
static mynn_status step_input(const mynn_net *net, int *T, int *per_step)
{
    *T = 0;
    for (int i = 0; i < net->n_layers; i++) {
        const mn_layer *l = &net->layers[i];
        for (int j = 0; j < l->n_src; j++) {
            if (l->src[j] != MN_NET_INPUT) continue;
            int t, f;
            if (l->kind->check_input) t = net->n_inputs, f = 1;   /* token ids (an embedding) */
            else if (is_recurrent(l)) t = net->in_shape.c, f = net->in_shape.h * net->in_shape.w;
            else
                return mn_error(MYNN_ERR_ARG, "streaming: layer %d (%s) reads the network input; only an "
                                "embedding or a recurrent layer can read it one step at a time", i + 1,
                                l->kind->name);
            if (*T && (t != *T || f != *per_step))
                return mn_error(MYNN_ERR_ARG, "streaming: the layers reading the input disagree on its steps");
            *T = t;
            *per_step = f;
        }
    }
    if (!*T) return mn_error(MYNN_ERR_ARG, "streaming: no layer reads the network input");
    return MYNN_OK;
}

static mynn_status check_streamable(const mynn_net *net)
{
    if (!net->max_batch) return mn_error(MYNN_ERR_STATE, "streaming: the network is not built");
    if (net->shift) return mn_error(MYNN_ERR_ARG, "streaming: the network has an input transform (%s), which is "
                                    "per input of the whole sequence, not per step", net->transform_kind);
    int any = 0;
    for (int i = 0; i < net->n_layers; i++) {
        const mn_layer *l = &net->layers[i];
        if (is_recurrent(l) && l->bidir)
            return mn_error(MYNN_ERR_ARG, "streaming: layer %d (%s:bi) reads the sequence backwards too, so it "
                            "cannot run one step at a time", i + 1, l->kind->name);
        any |= is_recurrent(l);
    }
    if (!any) return mn_error(MYNN_ERR_ARG, "streaming: the network has no recurrent layer");
    return MYNN_OK;
}

mynn_status mynn_stream_create(const mynn_net *net, mynn_net **out)
{
    if (!net || !out) return mn_error(MYNN_ERR_NULL, "mynn_stream_create: NULL argument");
    *out = NULL;
    int T = 0, F = 0;
    mynn_status s = check_streamable(net);
    if (!s) s = step_input(net, &T, &F);
    if (s) return s;
    mynn_net *st = NULL;
    s = mynn_create(&st, F);
    if (!s && net->in_dims) s = mynn_set_input_shape_1d(st, 1, F);
    for (int i = 0; i < net->n_layers && !s; i++) {
        mn_layer l = net->layers[i];   /* kind, settings, name and inputs */
        int in[MN_MAX_INPUTS];
        memcpy(in, l.src, sizeof in);
        l.param = l.grad = l.buf = l.out = l.cache = l.aux = l.work = NULL;
        l.stateful = is_recurrent(&l);
        s = mn_net_append(st, &l, in, l.n_src);
    }
    if (!s) s = mynn_set_loss(st, net->loss);
    if (!s) s = mynn_build(st, 1, MYNN_INIT_AUTO, 0);
    if (!s && mn_net_values(st) != mn_net_values(net))
        s = mn_error(MYNN_ERR_ARG, "streaming: a layer's parameters depend on the number of steps (a dense "
                     "layer reading a flattened sequence?)");
    if (s) {
        mynn_free(st);
        return s;
    }
    memcpy(st->params, net->params, mn_net_values(net) * sizeof(float));
    *out = st;
    return mynn_stream_reset(st);
}

mynn_status mynn_stream_reset(mynn_net *st)
{
    if (!st || !st->max_batch) return mn_error(MYNN_ERR_NULL, "mynn_stream_reset: not a built stream");
    for (int i = 0; i < st->n_layers; i++) {
        mn_layer *l = &st->layers[i];
        if (l->stateful) memset(l->aux, 0, mn_layer_aux(l) * sizeof(float));
    }
    return MYNN_OK;
}

mynn_status mynn_stream_step(mynn_net *st, const float *x_t, float *y_t)
{
    if (!st || !x_t || !y_t) return mn_error(MYNN_ERR_NULL, "mynn_stream_step: NULL argument");
    return mynn_predict(st, x_t, 1, y_t);
}
