/* Element-wise sum of two or more inputs of one shape, with an optional
 * element-wise activation after it: the join of a residual block
 * (torchvision's BasicBlock: out = relu(block(x) + shortcut(x))).
 * Spec item add[:ACT] (its inputs come from the graph: res(...), or
 * from=a+b); no parameters.
 *   forward   z = x0 + x1 (+ x2 ...), summed in input order;  y = f(z)
 *   backward  dz = f'(z) ⊙ dy;  dx_j = dz for every input j
 * z is kept (cache) only for an activation whose derivative needs it
 * (not identity, not ReLU, which reads y). */
#include "layer.h"
#include "activations/activation.h"
#include "emit/cgen.h"
#include "kernels/kernels.h"
#include "add.ctext.h"

#include <stdio.h>
#include <string.h>

#define PAR_MIN 16384

/* ctext begin: add */
/* y[i] = x[0][i] + x[1][i] (+ ...) over n values, k inputs, in input order */
static void add(const float *const *x, int k, float *y, long n)
{
    long i;
    int j;
    for (i = 0; i < n; i++) {
        float v = x[0][i];
        for (j = 1; j < k; j++) v += x[j][i];
        y[i] = v;
    }
}
/* ctext end */

static mynn_status add_parse(mn_layer *l, const mn_item *it)
{
    mynn_status s = mn_item_keys(it, NULL);
    if (s) return s;
    if (it->n_pos > 1) return mn_item_error(it, "expected add[:ACT]");
    l->act = MYNN_ACT_IDENTITY;
    return it->n_pos ? mn_item_act(it, it->pos[0], &l->act) : MYNN_OK;
}

static void add_print(const mn_layer *l, char *buf, size_t n)
{
    if (l->act == MYNN_ACT_IDENTITY) snprintf(buf, n, "add");
    else snprintf(buf, n, "add:%s", mynn_activation_name(l->act));
}

static void add_describe(const mn_layer *l, char *buf, size_t n)
{
    snprintf(buf, n, "%s", mynn_activation_name(l->act));
}

static mynn_status add_shape(mn_layer *l, const mn_shape *in, int n_in)
{
    if ((unsigned)l->act >= MYNN_ACT_COUNT || l->act == MYNN_ACT_SOFTMAX)
        return mn_layer_error(l, "activation must be element-wise (not softmax)");
    if (n_in < 2) return mn_layer_error(l, "adds two or more inputs, got %d", n_in);
    if (!in) {
        l->out_shape = (mn_shape){1, 1, 1, 0};
        return MYNN_OK;
    }
    for (int j = 1; j < n_in; j++)
        if (in[j].c != in[0].c || in[j].h != in[0].h || in[j].w != in[0].w || in[j].t != in[0].t)
            return mn_error(MYNN_ERR_SHAPE, "layer %d (add): input 1 is %d×%d×%d but input %d is %d×%d×%d: "
                            "add needs inputs of one shape", l->id + 1, in[0].c, in[0].h, in[0].w, j + 1,
                            in[j].c, in[j].h, in[j].w);
    l->out_shape = in[0];
    return MYNN_OK;
}

/* z for the activations whose derivative reads it. */
static int keeps_z(const mn_layer *l) { return l->act != MYNN_ACT_IDENTITY && l->act != MYNN_ACT_RELU; }
static size_t add_cache(const mn_layer *l) { return keeps_z(l) ? (size_t)l->n_out : 0; }

/* Elements [lo, hi) of every sample at once (the batch is one array). */
static void add_range(const mn_layer *l, const float *const *x, float *z, float *y, size_t lo, size_t hi)
{
    const float *xs[MN_MAX_INPUTS];
    for (int j = 0; j < l->n_src; j++) xs[j] = x[j] + lo;
    float *dst = keeps_z(l) ? z + lo : y + lo;
    add(xs, l->n_src, dst, (long)(hi - lo));
    if (l->act == MYNN_ACT_RELU)
        for (size_t i = lo; i < hi; i++) y[i] = y[i] > 0.0f ? y[i] : 0.0f;
    else if (keeps_z(l))
        mn_act_forward(l->act, z + lo, y + lo, 1, (int)(hi - lo));
}

/* x[j]: [n × F] -> z (cache, when kept), Y: [n × F] */
static void add_forward(mn_layer *l, const float *const *x, float *y, int n, int training)
{
    (void)training;
    const size_t count = (size_t)n * l->n_out;
    MN_FOR_SHARE(count, count >= PAR_MIN ? mn_threads() : 1, lo, hi, add_range(l, x, l->cache, y, lo, hi));
}

static void add_infer(const mn_layer *l, const float *const *x, float *y, int c)
{
    const size_t count = (size_t)c * l->n_out;
    const float *xs[MN_MAX_INPUTS];
    for (int j = 0; j < l->n_src; j++) xs[j] = x[j];
    add(xs, l->n_src, y, (long)count);
    if (l->act != MYNN_ACT_IDENTITY) mn_act_forward(l->act, y, y, 1, (int)count);
}

/* dz = f'(z) ⊙ dy over dy, then a copy of it to every dx that is wanted. */
static void add_backward(mn_layer *l, const float *const *x, const float *y, float *dy, int dy_is_dz,
                         float *const *dx, int n)
{
    (void)x;
    (void)dy_is_dz;
    const size_t count = (size_t)n * l->n_out;
    MN_FOR_SHARE(count, count >= PAR_MIN ? mn_threads() : 1, lo, hi, {
        if (l->act == MYNN_ACT_RELU)
            for (size_t i = lo; i < hi; i++) dy[i] = y[i] > 0.0f ? dy[i] : 0.0f;
        else if (keeps_z(l))
            mn_act_backward(l->act, l->cache + lo, y + lo, dy + lo, dy + lo, 1, (int)(hi - lo));
        for (int j = 0; j < l->n_src; j++)
            if (dx[j]) memcpy(dx[j] + lo, dy + lo, (hi - lo) * sizeof *dy);
    });
}

/* Add (two inputs) or Sum (more), then the activation. */
static mynn_status add_onnx(mn_onnx *g, const mn_layer *l, const char *prefix, const mn_ovalue *in, int n_in,
                            mn_ovalue *out)
{
    mn_ovalue v[MN_MAX_INPUTS];
    if (mn_onnx_same_rank(g, prefix, in, n_in, v)) return MYNN_ERR_NOMEM;
    const char *names[MN_MAX_INPUTS];
    for (int j = 0; j < n_in; j++) names[j] = v[j].name;
    *out = v[0];
    if (!mn_onnx_node(g, n_in == 2 ? "Add" : "Sum", prefix, l->act == MYNN_ACT_IDENTITY ? "out" : "sum", names,
                      n_in, out))
        return MYNN_ERR_NOMEM;
    return mn_onnx_activation(g, l->act, prefix, out);
}

static mynn_status add_c_code(mn_atomic *a, const mn_cnode *x, const char *const *src, int n_src, const char *dst)
{
    const mn_layer *l = x->l;
    mn_atomic_printf(a, "    { /* layer %d: add */\n        const float *in[%d] = {", x->id, n_src);
    for (int j = 0; j < n_src; j++) mn_atomic_printf(a, "%s%s", j ? ", " : "", src[j]);
    /* on a sequence: every step at once, or one step of a stream */
    const int T = mn_layer_steps(l), F = l->n_out / T, steps = x->step ? 1 : T;
    mn_atomic_printf(a, "};\n        add(in, %d, %s, %d);\n    }\n", n_src, dst, steps * F);
    return mn_cgen_act_steps(a, l->act, dst, steps, F);
}

static const char *const add_names[] = {"add", NULL};

const mn_kind mn_add_kind = {
    .id = MYNN_LAYER_ADD, .name = "add", .spec_names = add_names, .max_inputs = MN_MAX_INPUTS, .reads_seq = 1,
    .parse = add_parse, .print = add_print, .describe = add_describe, .shape = add_shape,
    .cache_per_sample = add_cache, .forward = add_forward, .backward = add_backward, .infer = add_infer,
    .onnx = add_onnx, .c_text = mn_ctext_add, .c_text_bytes = 60, .c_code = add_c_code, .q_role = MN_Q_FLOAT,
};
