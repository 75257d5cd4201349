/* ONNX export: the inference graph of a network as an ONNX model file
 * (IR version 7, opset 13 of the default domain), built with
 * emit/onnx_graph.h.
 *
 * The graph takes "input" [N, n_inputs], or [N, C, L] / [N, C, H, W] for a
 * net with a 1-D / 2-D input shape, and gives "output" [N, n_outputs]
 * (float32, N a symbolic batch dimension).  The input transform becomes
 * Sub(x, input.shift), Mul(., input.scale); then each node adds its own
 * ONNX nodes (its kind's onnx member: Gemm, Conv, MaxPool, Add, Concat,
 * LSTM, Gather, ...), reading its inputs' tensors, its weights as
 * initializers named as in the model file (layers.<i>.weight, ...; the
 * recurrent kinds' gate blocks reordered as layers.<i>.W, .R, .B).  A
 * sequence flows between nodes as [N, T, F].  A kind without that member
 * is refused, naming it. */
#include "core/core.h"
#include "emit/onnx_graph.h"
#include "network/network.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The input's dimensions after N: [F], [C, L] or [C, H, W]; returns how many. */
static int input_dims(const mynn_net *net, int64_t d[3])
{
    if (net->in_dims == 2) {
        d[0] = net->in_shape.c, d[1] = net->in_shape.h, d[2] = net->in_shape.w;
        return 3;
    }
    if (net->in_dims == 1) {
        d[0] = net->in_shape.c, d[1] = net->in_shape.w;
        return 2;
    }
    d[0] = net->n_inputs;
    return 1;
}

/* x' = (x - shift) · scale, as the network applies it (shift and scale
 * shaped as one sample, broadcast over N). */
static mynn_status emit_transform(mn_onnx *g, const mynn_net *net, mn_ovalue *v)
{
    int64_t d[3] = {0, 0, 0};
    int r = input_dims(net, d);
    if (mn_onnx_init(g, "input.shift", net->shift, (size_t)net->n_inputs, r, d) ||
        mn_onnx_init(g, "input.scale", net->scale, (size_t)net->n_inputs, r, d))
        return MYNN_ERR_NOMEM;
    const char *in[2] = {v->name, "input.shift"};
    if (!mn_onnx_node(g, "Sub", "input", "shifted", in, 2, v)) return MYNN_ERR_NOMEM;
    in[0] = v->name, in[1] = "input.scale";
    return mn_onnx_node(g, "Mul", "input", "normalized", in, 2, v) ? MYNN_OK : MYNN_ERR_NOMEM;
}

/* Every node in order; vals[i] its output tensor, *result the last's. */
static mynn_status build_graph(mn_onnx *g, const mynn_net *net, mn_ovalue *vals, mn_ovalue *result)
{
    int64_t d[3];
    mn_ovalue input = {"input", 1 + input_dims(net, d)};
    mynn_status s = MYNN_OK;
    if (net->shift && net->scale && (s = emit_transform(g, net, &input))) return s;
    for (int i = 0; i < net->n_layers; i++) {
        const mn_layer *l = &net->layers[i];
        if (!l->kind->onnx)
            return mn_error(MYNN_ERR_ARG, "layer %d (%s) cannot be expressed in ONNX", i, l->kind->name);
        mn_ovalue in[MN_MAX_INPUTS];
        for (int j = 0; j < l->n_src; j++) in[j] = l->src[j] == MN_NET_INPUT ? input : vals[l->src[j]];
        char prefix[MN_ONNX_NAME];
        snprintf(prefix, sizeof prefix, "layers.%d", i);
        if ((s = l->kind->onnx(g, l, prefix, in, l->n_src, &vals[i]))) return s;
    }
    *result = vals[net->n_layers - 1];
    return mn_onnx_flatten(g, "output", result);
}

mynn_status mynn_export_onnx(const mynn_net *net, const char *path)
{
    if (!net || !path) return mn_error(MYNN_ERR_NULL, "mynn_export_onnx: NULL argument");
    if (!net->n_layers) return mn_error(MYNN_ERR_STATE, "mynn_export_onnx: the network has no layers");
    if (!net->max_batch || !net->params)
        return mn_error(MYNN_ERR_STATE, "mynn_export_onnx: the network is not built (no weights yet)");
    mn_onnx *g = mn_onnx_new();
    mn_ovalue *vals = calloc((size_t)net->n_layers, sizeof *vals);
    if (!g || !vals) {
        mn_onnx_free(g);
        free(vals);
        return mn_error(MYNN_ERR_NOMEM, "out of memory building the ONNX graph");
    }
    mn_ovalue result;
    mynn_status s = build_graph(g, net, vals, &result);
    if (!s) {
        int64_t in[3];
        int n_in = input_dims(net, in);
        const char *meta[4] = {"mynn.loss", mynn_loss_name(net->loss), "mynn.normalize", net->transform_kind};
        s = mn_onnx_write(g, path, &result, in, n_in, mynn_n_outputs(net), meta,
                          net->shift && net->scale ? 2 : 1);
    }
    mn_onnx_free(g);
    free(vals);
    return s;
}
