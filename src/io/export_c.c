/* mynn_export_c (and, through mn_export_c_run, mynn_qexport_c): a
 * trained network as standalone C99 (NAME.h, NAME.c).
 *
 * The generated code needs nothing but <math.h>: weights are static const
 * arrays of exact hexadecimal float literals, one scratch arena is sized
 * here and stated in the header, and NAME_predict runs the network's
 * nodes in order, each written by its kind (its c_ members; for an int8
 * model its qc_ ones where it has them): the kind's kernel functions once,
 * its arrays, its statements.  The arena holds what is alive at once
 * (network/plan.c): a node's output lives until its last reader, and
 * dropout, flatten and a folded batch norm are their input.
 *
 * A float model computes the same float operations as mynn_predict; only
 * the dot products' summation order differs from the blocked GEMM (the
 * plain loops here sum as the reference GEMM does), and a batch norm right
 * after a convolution or dense layer with the identity activation is
 * folded into its weights (network/fold.h), so outputs agree to rounding.
 * An int8 model's code gives mynn_qnet_predict's outputs bit for bit. */
#include "export_c.h"
#include "core/core.h"
#include "emit/cgen.h"
#include "network/fold.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct plan {
    const mn_cexport *e;
    int *role;                /* MN_PLAN_* per node */
    long *ofs;                /* its output's offset (network/plan.c) */
    long input_ofs;           /* the transformed input, or MN_PLAN_INPUT */
    size_t arena;             /* floats */
    int qbytes;               /* int8: the quantised input buffer */
    size_t data_bytes, code_bytes;
    int act_used[MYNN_ACT_COUNT];
} plan;

static int quantised(const plan *p, int i) { return p->e->q && p->e->q[i]; }

/* The batch norm folded into node i (float models only), or NULL. */
static const mn_layer *folded_bn(const plan *p, int i)
{
    int bn = p->e->q ? -1 : mn_fold_target(p->e->net, i);
    return bn >= 0 ? &p->e->net->layers[bn] : NULL;
}

static int folded_away(const plan *p, int i) { return !p->e->q && mn_fold_source(p->e->net, i) >= 0; }

static mn_cnode cnode(const plan *p, int i)
{
    mn_cnode x = {&p->e->net->layers[i], i, folded_bn(p, i), p->e->q ? p->e->q[i] : NULL};
    return x;
}

/* The kind's generator for node i in this model: its data, code and text. */
typedef mynn_status (*data_fn)(mn_atomic *, const mn_cnode *, size_t *);
static data_fn node_data(const plan *p, int i)
{
    const mn_kind *k = p->e->net->layers[i].kind;
    return p->e->q && k->qc_data ? k->qc_data : k->c_data;
}

static const char *node_text(const plan *p, int i, size_t *bytes)
{
    const mn_kind *k = p->e->net->layers[i].kind;
    int q = p->e->q && k->qc_text;
    *bytes = q ? k->qc_text_bytes : k->c_text_bytes;
    return q ? k->qc_text : k->c_text;
}

/* The transform runs into the arena unless every reader of the input
 * quantises it (and applies the transform as it does). */
static int input_in_arena(const mynn_net *net, const mn_cexport *e)
{
    if (!(net->shift && net->scale)) return 0;
    if (!e->q) return 1;
    for (int i = 0; i < net->n_layers; i++)
        for (int j = 0; j < net->layers[i].n_src; j++)
            if (net->layers[i].src[j] == MN_NET_INPUT && !e->q[i]) return 1;
    return 0;
}

static mynn_status make_plan(const mn_cexport *e, plan *p, const char *who)
{
    const mynn_net *net = e->net;
    memset(p, 0, sizeof *p);
    p->e = e;
    p->role = calloc((size_t)net->n_layers, sizeof *p->role);
    p->ofs = calloc((size_t)net->n_layers, sizeof *p->ofs);
    if (!p->role || !p->ofs) return mn_error(MYNN_ERR_NOMEM, "%s: out of memory", who);
    int with_input = input_in_arena(net, e);
    p->data_bytes = net->shift && net->scale ? 8 * (size_t)net->n_inputs : 0;
    p->code_bytes = e->q ? 400 : 240;   /* predict and the wrappers */
    const char *texts[64];
    int n_texts = 0;
    for (int i = 0; i < net->n_layers; i++) {
        const mn_layer *l = &net->layers[i];
        const mn_kind *k = l->kind;
        if (e->q && k->q_role == MN_Q_REFUSE)
            return mn_error(MYNN_ERR_ARG, "%s: layer %d (%s) has no int8 form", who, i, k->name);
        if (k->c_identity || folded_away(p, i)) {
            p->role[i] = MN_PLAN_ALIAS;
            continue;
        }
        if (quantised(p, i) ? !k->qc_code : !k->c_code)
            return mn_error(MYNN_ERR_ARG, "%s: layer %d (%s) cannot be exported to C yet", who, i, k->name);
        p->role[i] = k->c_in_place && !quantised(p, i) ? MN_PLAN_IN_PLACE : MN_PLAN_COMPUTE;
        mn_cnode x = cnode(p, i);
        size_t bytes = 0;
        if (node_data(p, i)) node_data(p, i)(NULL, &x, &bytes);
        p->data_bytes += bytes;
        p->code_bytes += 24;
        const char *t = node_text(p, i, &bytes);
        int seen = !t;
        for (int k2 = 0; k2 < n_texts && !seen; k2++) seen = texts[k2] == t;
        if (!seen && n_texts < 64) {
            texts[n_texts++] = t;
            p->code_bytes += bytes;
        }
        if (l->act != MYNN_ACT_IDENTITY && !p->act_used[l->act]) {
            p->act_used[l->act] = 1;
            p->code_bytes += mn_cgen_act_code_bytes(l->act);
        }
        if (quantised(p, i) && l->n_in > p->qbytes) p->qbytes = l->n_in;
    }
    return mn_plan_outputs(net, p->role, with_input, p->ofs, &p->input_ofs, &p->arena);
}

static void free_plan(plan *p)
{
    free(p->role);
    free(p->ofs);
}

static size_t scratch_floats(const plan *p) { return p->arena + (size_t)(p->qbytes + 3) / 4; }

/* ------------------------------------------------------------------------ */
/* The two files                                                             */
/* ------------------------------------------------------------------------ */

static mynn_status write_header(const plan *p, const char *path, const char *name)
{
    const mynn_net *net = p->e->net;
    char up[MN_CGEN_NAME_MAX + 1];
    mn_cgen_upper(up, name);
    size_t scratch = scratch_floats(p), ram = scratch * 4;
    mn_atomic a;
    mynn_status s = mn_atomic_open(&a, path);
    if (s) return s;
    if (p->e->q)
        mn_atomic_printf(&a,
            "/* %s.h - generated by mynn %s (mynn export --format c) from an int8\n"
            " * model: standalone C99 inference for %d inputs, %d outputs.  int8 weights\n"
            " * and layer inputs, exact integer sums, float scales and activations.\n"
            " * Needs only <math.h> (link with -lm); no heap, no other state.\n"
            " * Quantisation: %s.\n"
            " * Calibration: %s.\n"
            " *\n"
            " * Flash: %zu bytes of weights and scales + about %zu bytes of code (an\n"
            " *        estimate; measure with size(1)) = about %zu bytes.\n",
            name, MYNN_VERSION_STRING, net->n_inputs, mynn_n_outputs(net), p->e->quantization,
            p->e->calibration, p->data_bytes, p->code_bytes, p->data_bytes + p->code_bytes);
    else
        mn_atomic_printf(&a,
            "/* %s.h - generated by mynn %s (mynn export --format c): standalone C99\n"
            " * inference for a %d-input, %d-output network (%s input transform).\n"
            " * Needs only <math.h> (link with -lm); no heap, no other state.\n"
            " *\n"
            " * Flash: %zu bytes of weights + about %zu bytes of code (an estimate;\n"
            " *        measure with size(1)) = about %zu bytes.\n",
            name, MYNN_VERSION_STRING, net->n_inputs, mynn_n_outputs(net),
            net->shift ? (net->transform_kind[0] ? net->transform_kind : "custom") : "no", p->data_bytes,
            p->code_bytes, p->data_bytes + p->code_bytes);
    mn_atomic_printf(&a,
        " * RAM:   %zu bytes of scratch (%s_SCRATCH_FLOATS floats; static for\n"
        " *        %s_predict, the caller's for %s_predict_scratch) + a small stack.\n"
        " */\n", ram, up, name, name);
    mn_atomic_printf(&a,
        "#ifndef %s_H\n#define %s_H\n\n"
        "#define %s_N_INPUTS %d\n#define %s_N_OUTPUTS %d\n#define %s_SCRATCH_FLOATS %zu\n\n"
        "/* output[%d] from input[%d].  0 on success, -1 if an input is NaN or\n"
        " * infinite (output untouched).  Not reentrant (static scratch). */\n"
        "int %s_predict(const float *input, float *output);\n"
        "/* The same with scratch[%s_SCRATCH_FLOATS] from the caller: reentrant. */\n"
        "int %s_predict_scratch(const float *input, float *output, float *scratch);\n"
        "/* n samples, rows of %d inputs / %d outputs; -1 at the first bad sample. */\n"
        "int %s_predict_batch(const float *input, int n, float *output);\n\n"
        "#endif\n",
        up, up, up, net->n_inputs, up, mynn_n_outputs(net), up, scratch, mynn_n_outputs(net), net->n_inputs,
        name, up, name, net->n_inputs, mynn_n_outputs(net), name);
    s = a.status;
    if (s) {
        mn_atomic_abort(&a);
        return s;
    }
    return mn_atomic_commit(&a);
}

/* The C expression of a value at offset o (of the arena s, or the caller's). */
static void value_name(char *buf, size_t n, long o)
{
    if (o == MN_PLAN_INPUT) snprintf(buf, n, "input");
    else if (o == MN_PLAN_OUTPUT) snprintf(buf, n, "output");
    else if (o == 0) snprintf(buf, n, "s");
    else snprintf(buf, n, "(s + %ld)", o);
}

static const char g_q8_fn[] =
    "/* v rounded half away from zero, clamped to [-127, 127] */\n"
    "static int q8(float v)\n"
    "{\n"
    "    v = v > 127.0f ? 127.0f : v < -127.0f ? -127.0f : v;\n"
    "    return (int)(v >= 0.0f ? v + 0.5f : v - 0.5f);\n"
    "}\n\n";

/* Every kernel text the nodes call, each once, then every node's arrays. */
static mynn_status write_functions_and_data(mn_atomic *a, const plan *p)
{
    const mynn_net *net = p->e->net;
    if (net->shift && net->scale) {
        mn_atomic_puts(a, "/* input transform: x' = (x - shift) * scale */\n");
        mynn_status s = mn_cgen_floats(a, "in_shift", net->shift, (size_t)net->n_inputs);
        if (!s) s = mn_cgen_floats(a, "in_scale", net->scale, (size_t)net->n_inputs);
        if (s) return s;
    }
    if (p->e->q) mn_atomic_puts(a, g_q8_fn);
    const char *done[64];
    int n_done = 0;
    for (int i = 0; i < net->n_layers; i++) {   /* the functions first: the shapes' types come with them */
        size_t bytes;
        const char *t = p->role[i] == MN_PLAN_ALIAS ? NULL : node_text(p, i, &bytes);
        int seen = !t;
        for (int k = 0; k < n_done && !seen; k++) seen = done[k] == t;
        if (seen || n_done == 64) continue;
        done[n_done++] = t;
        mn_atomic_puts(a, t);
    }
    for (int i = 0; i < net->n_layers; i++) {
        if (p->role[i] == MN_PLAN_ALIAS || !node_data(p, i)) continue;
        mn_cnode x = cnode(p, i);
        size_t bytes;
        mynn_status s = node_data(p, i)(a, &x, &bytes);
        if (s) return s;
    }
    for (int k = 0; k < MYNN_ACT_COUNT; k++)
        if (p->act_used[k]) mn_cgen_act_fn(a, (mynn_activation)k);
    return a->status;
}

/* Node i's statements (a comment for one that computes nothing). */
static mynn_status write_node(mn_atomic *a, const plan *p, int i)
{
    const mynn_net *net = p->e->net;
    const mn_layer *l = &net->layers[i];
    if (p->role[i] == MN_PLAN_ALIAS) {
        if (folded_away(p, i))
            mn_atomic_printf(a, "    /* layer %d: batch norm, folded into layer %d */\n", i, mn_fold_source(net, i));
        else
            mn_atomic_printf(a, "    /* layer %d: %s, the identity at prediction */\n", i, l->kind->name);
        return a->status;
    }
    char names[MN_MAX_INPUTS][32], dst[32];
    const char *src[MN_MAX_INPUTS];
    int reads_raw_input = 0;
    for (int j = 0; j < l->n_src; j++) {
        long o = l->src[j] == MN_NET_INPUT ? p->input_ofs : p->ofs[l->src[j]];
        reads_raw_input |= o == MN_PLAN_INPUT;
        value_name(names[j], sizeof names[j], o);
        src[j] = names[j];
    }
    value_name(dst, sizeof dst, p->ofs[i]);
    mn_cnode x = cnode(p, i);
    if (!quantised(p, i) && !(p->e->q && l->kind->qc_code))
        return l->kind->c_code(a, &x, src, l->n_src, dst);
    /* the transform is applied as the input is quantised, where it is not in the arena */
    int tr = reads_raw_input && net->shift && net->scale;
    return l->kind->qc_code(a, &x, src, l->n_src, dst, tr ? "in_shift" : "0", tr ? "in_scale" : "0");
}

static mynn_status write_body(mn_atomic *a, const plan *p, const char *name)
{
    const mynn_net *net = p->e->net;
    char up[MN_CGEN_NAME_MAX + 1];
    mn_cgen_upper(up, name);
    mynn_status s = write_functions_and_data(a, p);
    if (s) return s;
    mn_atomic_printf(a,
        "int %s_predict_scratch(const float *input, float *output, float *scratch)\n{\n"
        "    float *s = scratch;\n", name);
    if (p->e->q) mn_atomic_printf(a, "    signed char *q = (signed char *)(s + %zu);\n    (void)q;\n", p->arena);
    mn_atomic_printf(a,
        "    int j;\n"
        "    (void)s;\n"
        "    for (j = 0; j < %d; j++)\n"
        "        if (!isfinite(input[j])) return -1;\n", net->n_inputs);
    if (p->input_ofs != MN_PLAN_INPUT) {
        char in[32];
        value_name(in, sizeof in, p->input_ofs);
        mn_atomic_printf(a, "    for (j = 0; j < %d; j++) %s[j] = (input[j] - in_shift[j]) * in_scale[j];\n",
                         net->n_inputs, in);
    }
    for (int i = 0; i < net->n_layers && !s; i++) s = write_node(a, p, i);
    if (s) return s;
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

static mynn_status write_source(const plan *p, const char *path, const char *name)
{
    mn_atomic a;
    mynn_status s = mn_atomic_open(&a, path);
    if (s) return s;
    mn_atomic_printf(&a, "/* %s.c - generated by mynn %s%s; see %s.h. */\n"
                         "#include \"%s.h\"\n\n#include <math.h>\n\n",
                     name, MYNN_VERSION_STRING, p->e->q ? " from an int8 model" : "", name, name);
    s = write_body(&a, p, name);
    if (s) {
        mn_atomic_abort(&a);
        return s;
    }
    return mn_atomic_commit(&a);
}

mynn_status mn_export_c_run(const mn_cexport *e, const char *dir, const char *name, const char *who)
{
    if (!mn_cgen_name_ok(name))
        return mn_error(MYNN_ERR_ARG, "%s: name \"%.80s\" is not a C identifier of at most %d characters", who,
                        name, MN_CGEN_NAME_MAX);
    plan p;
    mynn_status s = make_plan(e, &p, who);
    char hpath[4096], cpath[4096];
    if (!s) s = mn_cgen_path(hpath, sizeof hpath, dir, name, "h");
    if (!s) s = mn_cgen_path(cpath, sizeof cpath, dir, name, "c");
    if (!s) s = write_source(&p, cpath, name);
    if (!s) s = write_header(&p, hpath, name);
    free_plan(&p);
    return s;
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
    mn_cexport e = {net, NULL, NULL, NULL};
    return mn_export_c_run(&e, dir, name, "mynn_export_c");
}
