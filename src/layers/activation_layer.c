/* An activation as a layer of its own ("conv:16:3,batchnorm,relu"): spec
 * item ACT (identity, sigmoid, tanh, relu, leaky_relu, gelu, softmax);
 * nn.ReLU and the like.  Y = f(X) element-wise (softmax: over each
 * sample's values, each step's for a sequence), backward dX = f'(X) ⊙ dY
 * with the input itself as z.  Threads take whole samples (steps). */
#include "layer.h"
#include "activations/activation.h"
#include "emit/cgen.h"
#include "kernels/kernels.h"

#include <stdio.h>
#include <string.h>

static mynn_status act_parse(mn_layer *l, const mn_item *it)
{
    if (it->n_pos || it->n_keys) return mn_item_error(it, "an activation layer takes no settings");
    return mn_item_act(it, it->kind, &l->act);
}

static void act_print(const mn_layer *l, char *buf, size_t n) { snprintf(buf, n, "%s", mynn_activation_name(l->act)); }

static mynn_status act_shape(mn_layer *l, const mn_shape *in, int n_in)
{
    (void)n_in;
    if ((unsigned)l->act >= MYNN_ACT_COUNT)
        return mn_error(MYNN_ERR_ARG, "layer %d (activation): unknown activation %d", l->id + 1, (int)l->act);
    l->out_shape = in ? in[0] : (mn_shape){1, 1, 1, 0};
    return MYNN_OK;
}


static int act_threads(const mn_layer *l, int n)
{
    return (size_t)n * (size_t)(l->n_out / mn_layer_steps(l)) >= 16384 && n > 1 ? mn_threads() : 1;
}

/* x: [n × F] -> Y: [n × F] */
static void act_forward(mn_layer *l, const float *const *xs, float *y, int n, int training)
{
    (void)training;
    const float *x = xs[0];
    const size_t F = (size_t)(l->n_out / mn_layer_steps(l));
    n *= mn_layer_steps(l);
    MN_FOR_SHARE(n, act_threads(l, n), lo_, hi_,
    for (int s = (int)lo_; s < (int)hi_; s++) mn_act_forward(l->act, x + s * F, y + s * F, 1, (int)F));
}

static void act_backward(mn_layer *l, const float *const *xs, const float *y, float *dy, int dy_is_dz,
                         float *const *dxs, int n)
{
    (void)dy_is_dz;
    const float *x = xs[0];
    float *dx = dxs[0];
    if (!dx) return;
    const size_t F = (size_t)(l->n_out / mn_layer_steps(l));
    n *= mn_layer_steps(l);
    MN_FOR_SHARE(n, act_threads(l, n), lo_, hi_,
    for (int s = (int)lo_; s < (int)hi_; s++)
        mn_act_backward(l->act, x + s * F, y + s * F, dy + s * F, dx + s * F, 1, (int)F));
}

static void act_infer(const mn_layer *l, const float *const *x, float *y, int c)
{
    mn_act_forward(l->act, x[0], y, c * mn_layer_steps(l), l->n_out / mn_layer_steps(l));
}

static mynn_status act_onnx(mn_onnx *g, const mn_layer *l, const char *prefix, const mn_ovalue *in, int n_in,
                            mn_ovalue *out)
{
    (void)n_in;
    *out = in[0];
    if (!l->in_shape.t) return mn_onnx_activation(g, l->act, prefix, out);
    /* A sequence: softmax over each step, as mynn's forward runs it. */
    mynn_status s = mn_onnx_steps(g, l, prefix, out);
    return s ? s : mn_onnx_step_activation(g, l->act, prefix, out);
}

/* dst = f(src), element-wise (softmax over the sample, or each step of a
 * sequence; one step of a stream is one step's values). */
static mynn_status act_c_code(mn_atomic *a, const mn_cnode *x, const char *const *src, int n_src,
                              const char *dst)
{
    (void)n_src;
    const mn_layer *l = x->l;
    const int T = mn_layer_steps(l), F = l->n_out / T, steps = x->step ? 1 : T;
    mn_atomic_printf(a, "    /* layer %d: %s */\n", x->id, mynn_activation_name(l->act));
    if (strcmp(src[0], dst)) mn_atomic_printf(a, "    for (j = 0; j < %d; j++) %s[j] = %s[j];\n", steps * F, dst, src[0]);
    return mn_cgen_act_steps(a, l->act, dst, steps, F);
}

static const char *const act_names[] = {"identity", "linear", "none", "sigmoid", "tanh", "relu", "leaky_relu",
                                        "leaky", "leakyrelu", "gelu", "softmax", NULL};

const mn_kind mn_activation_kind = {
    .id = MYNN_LAYER_ACTIVATION, .name = "activation", .spec_names = act_names, .max_inputs = 1, .reads_seq = 1,
    .parse = act_parse, .print = act_print, .describe = act_print, .shape = act_shape,
    .forward = act_forward, .backward = act_backward, .infer = act_infer,
    .onnx = act_onnx, .c_in_place = 1, .c_code = act_c_code, .q_role = MN_Q_FLOAT,
};
