/* mynn_export_c: a trained network as standalone C99 (NAME.h, NAME.c).
 *
 * The generated code needs nothing but <math.h>: weights are static const
 * arrays of exact hexadecimal float literals, the two scratch buffers are
 * sized here and stated in the header, and NAME_predict runs the same
 * float operations as mynn_predict (input transform, then each layer).
 * Only the dot products' summation order differs (plain loop here, the
 * blocked GEMM there), so outputs agree to rounding, not to the bit.
 *
 * Each layer kind has one generator (gen_for): it writes the kind's arrays
 * and its statements; a kind without one is refused, naming it. */
#include "cgen.h"
#include "core/core.h"
#include "network/network.h"

#include <stdio.h>
#include <string.h>

/* ------------------------------------------------------------------------ */
/* Per layer kind                                                            */
/* ------------------------------------------------------------------------ */

typedef struct layer_gen {
    /* 1 if the layer computes anything at prediction (dropout does not). */
    int writes;
    /* Bytes of const data the layer adds (flash). */
    size_t (*data_bytes)(const mn_layer *l);
    /* Its static const arrays, named l<i>_... */
    mynn_status (*data)(mn_atomic *a, const mn_layer *l, int i);
    /* Statements reading src [n_in] and writing dst [n_out]. */
    mynn_status (*code)(mn_atomic *a, const mn_layer *l, int i, const char *src, const char *dst);
} layer_gen;

static size_t dense_bytes(const mn_layer *l) { return 4 * l->ops->n_params(l); }

/* Weight [n_out × n_in] row-major as in the model, then bias [n_out]. */
static mynn_status dense_data(mn_atomic *a, const mn_layer *l, int i)
{
    char name[48];
    size_t nw = (size_t)l->n_out * (size_t)l->n_in;
    mn_atomic_printf(a, "/* layer %d: dense %d -> %d, %s */\n", i, l->n_in, l->n_out,
                     mynn_activation_name(l->act));
    snprintf(name, sizeof name, "l%d_w", i);
    mynn_status s = mn_cgen_floats(a, name, l->param, nw);
    snprintf(name, sizeof name, "l%d_b", i);
    if (!s) s = mn_cgen_floats(a, name, l->param + nw, (size_t)l->n_out);
    return s;
}

static mynn_status dense_code(mn_atomic *a, const mn_layer *l, int i, const char *src,
                              const char *dst)
{
    mn_atomic_printf(a, "    dense(l%d_w, l%d_b, %s, %s, %d, %d);\n", i, i, src, dst, l->n_in,
                     l->n_out);
    return mn_cgen_act_call(a, l->act, dst, l->n_out);
}

static const layer_gen g_dense = {1, dense_bytes, dense_data, dense_code};

/* An activation layer: dst = f(src), element-wise (softmax over the sample). */
static size_t no_bytes(const mn_layer *l) { (void)l; return 0; }

static mynn_status act_code(mn_atomic *a, const mn_layer *l, int i, const char *src, const char *dst)
{
    mn_atomic_printf(a, "    /* layer %d: %s */\n    for (j = 0; j < %d; j++) %s[j] = %s[j];\n", i,
                     mynn_activation_name(l->act), l->n_out, dst, src);
    return mn_cgen_act_call(a, l->act, dst, l->n_out);
}

static const layer_gen g_activation = {1, no_bytes, NULL, act_code};
/* Inverted dropout is the identity at prediction, and flatten is on the
 * channel-major sample already: nothing to write. */
static const layer_gen g_identity = {0, NULL, NULL, NULL};

/* NULL: not exportable yet (convolution, pooling and batch norm, which
 * would fold into the convolution before it). */
static const layer_gen *gen_for(mynn_layer_kind k)
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
    case MYNN_LAYER_BATCHNORM: return NULL;
    }
    return NULL;
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
} plan;

/* The buffer layer i writes when it is not the last one: the transformed
 * input is in s0, then writers alternate s1, s0, ... (with no transform
 * the first writer reads the caller's input and takes s0). */
static int dst_buffer(int with_input, int k) { return (k + with_input) % 2; }

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
    p->code_bytes = 300;   /* predict, the wrappers, the dense loop */
    for (int i = 0; i < net->n_layers; i++) {
        const mn_layer *l = &net->layers[i];
        const layer_gen *g = gen_for(l->ops->kind);
        if (!g)
            return mn_error(MYNN_ERR_ARG, "mynn_export_c: layer %d (%s) cannot be exported to C yet",
                            i, l->ops->name);
        if (!g->writes) continue;
        p->last = i;
        p->data_bytes += g->data_bytes(l);
        p->code_bytes += 24;
        int has_act = l->ops->kind == MYNN_LAYER_DENSE || l->ops->kind == MYNN_LAYER_ACTIVATION;
        if (has_act && !p->act_used[l->act]) {
            p->act_used[l->act] = 1;
            p->code_bytes += mn_cgen_act_code_bytes(l->act);
        }
    }
    if (p->last < 0) return mn_error(MYNN_ERR_STATE, "mynn_export_c: the network computes nothing");
    for (int i = 0, k = 0; i < p->last; i++) {
        if (!gen_for(net->layers[i].ops->kind)->writes) continue;
        int b = dst_buffer(with_input, k++);
        if (net->layers[i].n_out > p->width[b]) p->width[b] = net->layers[i].n_out;
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

static const char g_dense_fn[] =
    "/* y[o] = sum_k w[o][k] x[k] + b[o]; w: [n_out x n_in] */\n"
    "static void dense(const float *w, const float *b, const float *x, float *y, int n_in,\n"
    "                  int n_out)\n"
    "{\n"
    "    int o, k;\n"
    "    for (o = 0; o < n_out; o++) {\n"
    "        const float *wr = w + (long)o * n_in;\n"
    "        float acc = 0.0f;\n"
    "        for (k = 0; k < n_in; k++) acc += wr[k] * x[k];\n"
    "        y[o] = acc + b[o];\n"
    "    }\n"
    "}\n\n";

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
    for (int i = 0; i <= p->last; i++) {
        const mn_layer *l = &net->layers[i];
        const layer_gen *g = gen_for(l->ops->kind);
        if (g->writes && g->data) {
            mynn_status s = g->data(a, l, i);
            if (s) return s;
        }
    }
    mn_atomic_puts(a, g_dense_fn);
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
    const char *src = "input";
    if (with_input) {
        mn_atomic_printf(a, "    for (j = 0; j < %d; j++) s0[j] = (input[j] - in_shift[j]) * in_scale[j];\n",
                         net->n_inputs);
        src = "s0";
    }
    for (int i = 0, k = 0; i <= p->last; i++) {
        const mn_layer *l = &net->layers[i];
        const layer_gen *g = gen_for(l->ops->kind);
        if (!g->writes) {
            mn_atomic_printf(a, "    /* layer %d: %s, the identity at prediction */\n", i,
                             l->ops->name);
            continue;
        }
        const char *dst = i == p->last ? "output" : dst_buffer(with_input, k++) ? "s1" : "s0";
        mynn_status s = g->code(a, l, i, src, dst);
        if (s) return s;
        src = dst;
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
