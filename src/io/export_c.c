/* mynn_export_c: a trained network as standalone C99 (NAME.h, NAME.c).
 *
 * The generated code needs nothing but <math.h>: weights are static const
 * arrays of exact hexadecimal float literals, the two scratch buffers are
 * sized here and stated in the header, and NAME_predict runs the same
 * float operations as mynn_predict (input transform, then each layer).
 * Only the dot products' summation order differs from the blocked GEMM
 * (the plain loops here sum as the reference GEMM does), and a batch norm
 * after a convolution or dense layer with the identity activation is
 * folded into its weights (network/fold.h), so outputs agree to rounding.
 *
 * Each layer kind has one generator (gen_for; convolutional kinds in
 * export_c_conv.c): it writes the kind's arrays and its statements. */
#include "export_c.h"
#include "core/core.h"
#include "network/fold.h"
#include "network/network.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------------ */
/* Per layer kind                                                            */
/* ------------------------------------------------------------------------ */

static size_t dense_bytes(const mn_xlayer *x) { return 4 * x->l->ops->n_params(x->l); }

/* Weight [n_out × n_in] row-major as in the model, then bias [n_out]
 * (folded with the batch norm after it, when there is one). */
static mynn_status dense_data(mn_atomic *a, const mn_xlayer *x)
{
    const mn_layer *l = x->l;
    char name[48];
    size_t nw = (size_t)l->n_out * (size_t)l->n_in;
    mn_atomic_printf(a, "/* layer %d: dense %d -> %d, %s%s */\n", x->i, l->n_in, l->n_out,
                     mynn_activation_name(l->act), x->bn ? "; the batch norm after it folded in" : "");
    const float *w = l->param;
    float *fw = NULL;
    if (x->bn) {
        fw = malloc(sizeof(float) * (nw + (size_t)l->n_out));
        if (!fw) return mn_error(MYNN_ERR_NOMEM, "mynn_export_c: no memory to fold layer %d", x->i + 1);
        mn_fold_bn(l, x->bn, fw, fw + nw);
        w = fw;
        size_t at;
        if (mn_find_nonfinite(fw, nw + (size_t)l->n_out, &at)) {
            free(fw);
            return mn_export_c_fold_error(x);
        }
    }
    snprintf(name, sizeof name, "l%d_w", x->i);
    mynn_status s = mn_cgen_floats(a, name, w, nw);
    snprintf(name, sizeof name, "l%d_b", x->i);
    if (!s) s = mn_cgen_floats(a, name, w + nw, (size_t)l->n_out);
    free(fw);
    return s;
}

static mynn_status dense_code(mn_atomic *a, const mn_xlayer *x, const char *src, const char *dst)
{
    const mn_layer *l = x->l;
    mn_atomic_printf(a, "    dense(l%d_w, l%d_b, %s, %s, %d, %d);\n", x->i, x->i, src, dst, l->n_in,
                     l->n_out);
    return mn_cgen_act_call(a, l->act, dst, l->n_out);
}

static const mn_layer_gen g_dense = {1, 0, MN_XFN_DENSE, dense_bytes, dense_data, dense_code};

/* An activation layer: dst = f(src), element-wise (softmax over the sample). */
static mynn_status act_code(mn_atomic *a, const mn_xlayer *x, const char *src, const char *dst)
{
    const mn_layer *l = x->l;
    mn_atomic_printf(a, "    /* layer %d: %s */\n", x->i, mynn_activation_name(l->act));
    if (strcmp(src, dst)) mn_atomic_printf(a, "    for (j = 0; j < %d; j++) %s[j] = %s[j];\n", l->n_out, dst, src);
    return mn_cgen_act_call(a, l->act, dst, l->n_out);
}

static const mn_layer_gen g_activation = {1, 1, 0, NULL, NULL, act_code};
/* Inverted dropout is the identity at prediction, and flatten is on the
 * channel-major sample already: nothing to write.  Nor for a batch norm
 * folded into the layer before it. */
static const mn_layer_gen g_identity = {0, 0, 0, NULL, NULL, NULL};

/* Every kind has one; NULL (refused, naming the layer) only for a kind
 * added to the library without one. */
static const mn_layer_gen *gen_for(mynn_layer_kind k)
{
    switch (k) {
    case MYNN_LAYER_DENSE: return &g_dense;
    case MYNN_LAYER_DROPOUT:
    case MYNN_LAYER_FLATTEN: return &g_identity;
    case MYNN_LAYER_ACTIVATION: return &g_activation;
    case MYNN_LAYER_CONV:
    case MYNN_LAYER_MAXPOOL:
    case MYNN_LAYER_AVGPOOL:
    case MYNN_LAYER_GLOBAL_AVGPOOL:
    case MYNN_LAYER_BATCHNORM: return mn_export_c_conv_gen(k);
    }
    return NULL;
}

/* Layer i as its generator sees it, and the generator (NULL: none). */
static const mn_layer_gen *layer_gen(const mynn_net *net, int i, mn_xlayer *x)
{
    x->l = &net->layers[i];
    x->i = i;
    x->bn = mn_fold_next(net, i) ? &net->layers[i + 1] : NULL;
    if (i > 0 && mn_fold_next(net, i - 1)) return &g_identity;
    return gen_for(x->l->ops->kind);
}

/* ------------------------------------------------------------------------ */
/* The plan: which buffer each layer reads and writes                        */
/* ------------------------------------------------------------------------ */

typedef struct plan {
    int last;              /* index of the last layer that writes */
    int width[2];          /* floats of scratch buffers s0 and s1 (>= 1 each) */
    size_t data_bytes;     /* weights and input transform */
    size_t code_bytes;     /* an estimate */
    int act_used[MYNN_ACT_COUNT];
    unsigned fns;          /* MN_XFN_ functions used */
} plan;

/* Where values are: the caller's input, the output, or scratch s0 / s1. */
enum { BUF_INPUT = -2, BUF_OUTPUT = -1 };

static const char *buf_name(int b)
{
    return b == BUF_INPUT ? "input" : b == BUF_OUTPUT ? "output" : b ? "s1" : "s0";
}

/* The buffer a writing layer writes, reading cur: the last one writes the
 * output; an element-wise one works in place on scratch; the others take
 * the scratch buffer cur is not in.  (The transformed input is in s0.) */
static int dst_buffer(const mn_layer_gen *g, int is_last, int cur)
{
    if (is_last) return BUF_OUTPUT;
    if (g->in_place && cur >= 0) return cur;
    return cur == 0 ? 1 : 0;
}

static int has_act(const mn_layer *l)
{
    mynn_layer_kind k = l->ops->kind;
    return k == MYNN_LAYER_DENSE || k == MYNN_LAYER_ACTIVATION || k == MYNN_LAYER_CONV;
}

static mynn_status make_plan(const mynn_net *net, plan *p)
{
    memset(p, 0, sizeof *p);
    p->last = -1;
    p->width[0] = p->width[1] = 1;
    int with_input = net->shift && net->scale;
    if (with_input) {
        p->width[0] = net->n_inputs;
        p->data_bytes = 8 * (size_t)net->n_inputs;
    }
    p->code_bytes = 240;   /* predict and the wrappers */
    for (int i = 0; i < net->n_layers; i++) {
        mn_xlayer x;
        const mn_layer_gen *g = layer_gen(net, i, &x);
        if (!g)
            return mn_error(MYNN_ERR_ARG, "mynn_export_c: layer %d (%s) cannot be exported to C yet",
                            i, x.l->ops->name);
        if (!g->writes) continue;
        p->last = i;
        if (g->data_bytes) p->data_bytes += g->data_bytes(&x);
        p->code_bytes += 24;
        p->fns |= g->fns;
        if (has_act(x.l) && !p->act_used[x.l->act]) {
            p->act_used[x.l->act] = 1;
            p->code_bytes += mn_cgen_act_code_bytes(x.l->act);
        }
    }
    if (p->last < 0) return mn_error(MYNN_ERR_STATE, "mynn_export_c: the network computes nothing");
    for (int k = 0; k < MN_XFN_COUNT; k++)
        if (p->fns >> k & 1u) p->code_bytes += mn_export_c_fn_bytes(k);
    for (int i = 0, cur = with_input ? 0 : BUF_INPUT; i < p->last; i++) {
        mn_xlayer x;
        const mn_layer_gen *g = layer_gen(net, i, &x);
        if (!g->writes) continue;
        cur = dst_buffer(g, 0, cur);
        if (x.l->n_out > p->width[cur]) p->width[cur] = x.l->n_out;
    }
    return MYNN_OK;
}

/* ------------------------------------------------------------------------ */
/* The two files                                                             */
/* ------------------------------------------------------------------------ */

static mynn_status write_header(const mynn_net *net, const plan *p, const char *path,
                                const char *name)
{
    char up[MN_CGEN_NAME_MAX + 1];
    mn_cgen_upper(up, name);
    int scratch = p->width[0] + p->width[1];
    size_t ram = (size_t)scratch * 4;
    mn_atomic a;
    mynn_status s = mn_atomic_open(&a, path);
    if (s) return s;
    mn_atomic_printf(&a,
        "/* %s.h - generated by mynn %s (mynn export --format c): standalone C99\n"
        " * inference for a %d-input, %d-output network (%s input transform).\n"
        " * Needs only <math.h> (link with -lm); no heap, no other state.\n"
        " *\n"
        " * Flash: %zu bytes of weights + about %zu bytes of code (an estimate;\n"
        " *        measure with size(1)) = about %zu bytes.\n"
        " * RAM:   %zu bytes of scratch (%s_SCRATCH_FLOATS floats; static for\n"
        " *        %s_predict, the caller's for %s_predict_scratch) + a small stack.\n"
        " */\n",
        name, MYNN_VERSION_STRING, net->n_inputs, mynn_n_outputs(net),
        net->shift ? (net->transform_kind[0] ? net->transform_kind : "custom") : "no",
        p->data_bytes, p->code_bytes, p->data_bytes + p->code_bytes, ram, up, name, name);
    mn_atomic_printf(&a,
        "#ifndef %s_H\n#define %s_H\n\n"
        "#define %s_N_INPUTS %d\n#define %s_N_OUTPUTS %d\n#define %s_SCRATCH_FLOATS %d\n\n"
        "/* output[%d] from input[%d].  0 on success, -1 if an input is NaN or\n"
        " * infinite (output untouched).  Not reentrant (static scratch). */\n"
        "int %s_predict(const float *input, float *output);\n"
        "/* The same with scratch[%s_SCRATCH_FLOATS] from the caller: reentrant. */\n"
        "int %s_predict_scratch(const float *input, float *output, float *scratch);\n"
        "/* n samples, rows of %d inputs / %d outputs; -1 at the first bad sample. */\n"
        "int %s_predict_batch(const float *input, int n, float *output);\n\n"
        "#endif\n",
        up, up, up, net->n_inputs, up, mynn_n_outputs(net), up, scratch,
        mynn_n_outputs(net), net->n_inputs, name, up, name, net->n_inputs, mynn_n_outputs(net),
        name);
    s = a.status;
    if (s) {
        mn_atomic_abort(&a);
        return s;
    }
    return mn_atomic_commit(&a);
}

static mynn_status write_body(mn_atomic *a, const mynn_net *net, const plan *p, const char *name)
{
    char up[MN_CGEN_NAME_MAX + 1];
    mn_cgen_upper(up, name);
    int with_input = net->shift && net->scale;
    if (with_input) {
        mn_atomic_printf(a, "/* input transform: x' = (x - shift) * scale */\n");
        mynn_status s = mn_cgen_floats(a, "in_shift", net->shift, (size_t)net->n_inputs);
        if (!s) s = mn_cgen_floats(a, "in_scale", net->scale, (size_t)net->n_inputs);
        if (s) return s;
    }
    /* the functions first: the shapes' types come with them */
    for (int k = 0; k < MN_XFN_COUNT; k++)
        if (p->fns >> k & 1u) mn_atomic_puts(a, mn_export_c_fn_text(k));
    for (int i = 0; i <= p->last; i++) {
        mn_xlayer x;
        const mn_layer_gen *g = layer_gen(net, i, &x);
        if (g->writes && g->data) {
            mynn_status s = g->data(a, &x);
            if (s) return s;
        }
    }
    for (int k = 0; k < MYNN_ACT_COUNT; k++)
        if (p->act_used[k]) mn_cgen_act_fn(a, (mynn_activation)k);

    mn_atomic_printf(a,
        "int %s_predict_scratch(const float *input, float *output, float *scratch)\n{\n"
        "    float *s0 = scratch, *s1 = scratch + %d;\n"
        "    int j;\n"
        "    (void)s0;\n    (void)s1;\n"
        "    for (j = 0; j < %d; j++)\n"
        "        if (!isfinite(input[j])) return -1;\n",
        name, p->width[0], net->n_inputs);
    int cur = BUF_INPUT;
    if (with_input) {
        mn_atomic_printf(a, "    for (j = 0; j < %d; j++) s0[j] = (input[j] - in_shift[j]) * in_scale[j];\n",
                         net->n_inputs);
        cur = 0;
    }
    for (int i = 0; i <= p->last; i++) {
        mn_xlayer x;
        const mn_layer_gen *g = layer_gen(net, i, &x);
        if (!g->writes) {
            if (i > 0 && mn_fold_next(net, i - 1))
                mn_atomic_printf(a, "    /* layer %d: batch norm, folded into layer %d */\n", i, i - 1);
            else
                mn_atomic_printf(a, "    /* layer %d: %s, the identity at prediction */\n", i,
                                 x.l->ops->name);
            continue;
        }
        int dst = dst_buffer(g, i == p->last, cur);
        mynn_status s = g->code(a, &x, buf_name(cur), buf_name(dst));
        if (s) return s;
        cur = dst;
    }
    mn_atomic_printf(a,
        "    return 0;\n}\n\n"
        "static float scratch_buf[%s_SCRATCH_FLOATS];\n\n"
        "int %s_predict(const float *input, float *output)\n{\n"
        "    return %s_predict_scratch(input, output, scratch_buf);\n}\n\n"
        "int %s_predict_batch(const float *input, int n, float *output)\n{\n"
        "    int i;\n"
        "    for (i = 0; i < n; i++)\n"
        "        if (%s_predict_scratch(input + (long)i * %s_N_INPUTS,\n"
        "                output + (long)i * %s_N_OUTPUTS, scratch_buf) != 0) return -1;\n"
        "    return 0;\n}\n",
        up, name, name, name, name, up, up);
    return a->status;
}

static mynn_status write_source(const mynn_net *net, const plan *p, const char *path,
                                const char *name)
{
    mn_atomic a;
    mynn_status s = mn_atomic_open(&a, path);
    if (s) return s;
    mn_atomic_printf(&a, "/* %s.c - generated by mynn %s; see %s.h. */\n"
                         "#include \"%s.h\"\n\n#include <math.h>\n\n",
                     name, MYNN_VERSION_STRING, name, name);
    s = write_body(&a, net, p, name);
    if (s) {
        mn_atomic_abort(&a);
        return s;
    }
    return mn_atomic_commit(&a);
}

mynn_status mynn_export_c(const mynn_net *net, const char *dir, const char *name)
{
    if (!net || !dir || !name) return mn_error(MYNN_ERR_NULL, "mynn_export_c: NULL argument");
    if (!net->max_batch) return mn_error(MYNN_ERR_STATE, "mynn_export_c: the network is not built");
    if (!mn_cgen_name_ok(name))
        return mn_error(MYNN_ERR_ARG, "mynn_export_c: name \"%.80s\" is not a C identifier of at "
                        "most %d characters", name, MN_CGEN_NAME_MAX);
    size_t at;
    if (mn_find_nonfinite(net->params, net->n_params, &at))
        return mn_error(MYNN_ERR_NUMERIC, "mynn_export_c: parameter %zu is not finite", at);
    if (mn_find_nonfinite(net->params + net->n_params, net->n_buffers, &at))
        return mn_error(MYNN_ERR_NUMERIC, "mynn_export_c: batch norm statistic %zu is not finite", at);
    plan p;
    mynn_status s = make_plan(net, &p);
    if (s) return s;
    char hpath[4096], cpath[4096];
    s = mn_cgen_path(hpath, sizeof hpath, dir, name, "h");
    if (!s) s = mn_cgen_path(cpath, sizeof cpath, dir, name, "c");
    if (!s) s = write_source(net, &p, cpath, name);
    if (!s) s = write_header(net, &p, hpath, name);
    return s;
}
