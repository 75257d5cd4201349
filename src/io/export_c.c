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
    size_t work;              /* floats of scratch for the nodes' code (c_work), after q */
    size_t data_bytes, code_bytes;
    int act_used[MYNN_ACT_COUNT];
    /* The streaming step function (NAME_step), when the model has one
     * (stream 1; else why says what stops it, when the model reads a
     * sequence at all): per node in_stream (it runs once per step on one
     * step, rather than on the current state as a whole prediction does)
     * and state_ofs (its state's offset, -1: none); steps and features
     * per step of the input, outputs per step, the state's floats, and
     * counter: state[0] counts the steps (the input transform differs
     * between steps). */
    int stream, steps, step_in, step_out, counter;
    int *in_stream;
    long *state_ofs, state;
    char why[200];
} plan;

static int quantised(const plan *p, int i) { return p->e->q && p->e->q[i]; }

/* The batch norm folded into node i (float models only), or NULL. */
static const mn_layer *folded_bn(const plan *p, int i)
{
    int bn = p->e->q ? -1 : mn_fold_target(p->e->net, i);
    return bn >= 0 ? &p->e->net->layers[bn] : NULL;
}

static int folded_away(const plan *p, int i) { return !p->e->q && mn_fold_source(p->e->net, i) >= 0; }

/* Node i as its kind's generator sees it in a prediction; in a step of a
 * stream (step), with its state at state (a buffer for the expression). */
static mn_cnode cnode_at(const plan *p, int i, int step, char *state, size_t n)
{
    mn_cnode x = {&p->e->net->layers[i], i, folded_bn(p, i), p->e->q ? p->e->q[i] : NULL,
                  p->work ? "wk" : NULL, 0, NULL};
    if (step && p->in_stream[i]) {
        x.step = 1;
        if (p->state_ofs[i] > 0) snprintf(state, n, "(state + %ld)", p->state_ofs[i]);
        else snprintf(state, n, "state");
        x.state = p->state_ofs[i] >= 0 ? state : NULL;
    }
    return x;
}

static mn_cnode cnode(const plan *p, int i) { return cnode_at(p, i, 0, NULL, 0); }

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
        if (k->c_work && k->c_work(l) > p->work) p->work = k->c_work(l);
        if (l->act != MYNN_ACT_IDENTITY && !k->c_own_act && !p->act_used[l->act]) {
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
    free(p->in_stream);
    free(p->state_ofs);
}

static size_t work_ofs(const plan *p) { return p->arena + (size_t)(p->qbytes + 3) / 4; }
static size_t scratch_floats(const plan *p) { return work_ofs(p) + p->work; }

/* ------------------------------------------------------------------------ */
/* The stream: NAME_step                                                     */
/* ------------------------------------------------------------------------ */

/* A model streams when it reads its input step by step and then, step by
 * step, either keeps working per step to the output or reaches a node
 * that turns the sequence into its last step.  So every node that reads
 * the network input or a sequence (in_stream) must be a kind that starts
 * or carries a stream (c_state: a recurrent layer, not bidirectional; an
 * embedding) or one that works per step and outputs a sequence (dense,
 * activation, add, dropout); the nodes after the last step (a dense head)
 * run on each step's state as they do on the whole sequence's.  Since the
 * nodes run in the same order on at most the same sizes, the step reuses
 * the prediction's arena. */
static int stream_refuse(plan *p, const mn_layer *l, const char *what)
{
    snprintf(p->why, sizeof p->why, "layer %d (%s) %s", l->id, l->kind->name, what);
    return 0;
}

/* Steps and features per step in which input reader l reads the input: an
 * embedding's or :seq layer's output steps, else (a recurrent layer with
 * the last step out) the T of the input's T × F. */
static int read_steps(const mn_layer *l) { return l->out_shape.t > 0 ? l->out_shape.t : l->in_shape.c; }

/* Node i's part: in_stream, its state; 0 (why set) when it stops the stream. */
static int stream_node(plan *p, int i)
{
    const mn_layer *l = &p->e->net->layers[i];
    int reads_input = 0, reads_seq = 0;
    for (int j = 0; j < l->n_src; j++) {
        if (l->src[j] == MN_NET_INPUT) reads_input = 1;
        else reads_seq |= p->e->net->layers[l->src[j]].out_shape.t > 0;
    }
    if (!reads_input && !reads_seq) return 1;   /* after the last step: runs on the state */
    p->in_stream[i] = 1;
    if (!l->kind->c_state) {
        if (reads_input) return stream_refuse(p, l, "reads the whole input at once");
        if (l->out_shape.t == 0) return stream_refuse(p, l, "needs every step of its input at once");
        return 1;
    }
    long st = l->kind->c_state(l, p->why, sizeof p->why);
    if (st < 0) return 0;
    p->state_ofs[i] = p->state;
    p->state += st;
    if (reads_input) {
        int T = read_steps(l), F = l->n_in / T;
        if (p->steps && (p->steps != T || p->step_in != F))
            return stream_refuse(p, l, "reads the input in other steps than an earlier layer");
        p->steps = T;
        p->step_in = F;
    }
    return 1;
}

/* 1 when the input transform's coefficients differ between steps. */
static int transform_per_step(const plan *p)
{
    const mynn_net *net = p->e->net;
    if (!(net->shift && net->scale)) return 0;
    for (int i = p->step_in; i < net->n_inputs; i++)
        if (net->shift[i] != net->shift[i % p->step_in] || net->scale[i] != net->scale[i % p->step_in]) return 1;
    return 0;
}

/* Sets p->stream (and the rest) or p->why; MYNN_ERR_NOMEM only. */
static mynn_status stream_plan(plan *p, const char *who)
{
    const mynn_net *net = p->e->net;
    p->in_stream = calloc((size_t)net->n_layers, sizeof *p->in_stream);
    p->state_ofs = malloc(sizeof *p->state_ofs * (size_t)net->n_layers);
    if (!p->in_stream || !p->state_ofs) return mn_error(MYNN_ERR_NOMEM, "%s: out of memory", who);
    int ok = !p->e->q;
    if (!ok) snprintf(p->why, sizeof p->why, "an int8 model has no step function");
    for (int i = 0; i < net->n_layers; i++) p->state_ofs[i] = -1;
    for (int i = 0; i < net->n_layers && ok; i++) ok = stream_node(p, i);
    if (ok && !p->steps) ok = 0, snprintf(p->why, sizeof p->why, "no layer reads the input step by step");
    if (!ok) return MYNN_OK;
    p->stream = 1;
    p->counter = transform_per_step(p);
    if (p->counter) {   /* the counter first, the nodes' states after it */
        for (int i = 0; i < net->n_layers; i++) p->state_ofs[i] += p->state_ofs[i] >= 0;
        p->state++;
    }
    const mn_layer *last = &net->layers[net->n_layers - 1];
    p->step_out = last->out_shape.t > 0 ? last->n_out / last->out_shape.t : last->n_out;
    p->code_bytes += 200;
    return MYNN_OK;
}

/* The model reads or makes a sequence (the header then says why it has no
 * step function, when it has none). */
static int has_sequence(const mynn_net *net)
{
    for (int i = 0; i < net->n_layers; i++)
        if (net->layers[i].out_shape.t > 0 || net->layers[i].kind->c_state) return 1;
    return 0;
}

/* ------------------------------------------------------------------------ */
/* The two files                                                             */
/* ------------------------------------------------------------------------ */

/* The step function's part of the header, or why the model has none. */
static void write_step_api(mn_atomic *a, const plan *p, const char *name, const char *up)
{
    if (!p->stream) {
        if (has_sequence(p->e->net))
            mn_atomic_printf(a, "/* No %s_step (a stream fed one step at a time): %s. */\n\n", name, p->why);
        return;
    }
    const int seq_out = p->e->net->layers[p->e->net->n_layers - 1].out_shape.t > 0;
    mn_atomic_printf(a,
        "/* A stream, one step at a time.  %s_step reads step t's %s_STEP_INPUTS\n"
        " * inputs (row t of the input's %s_N_STEPS x %s_STEP_INPUTS), updates\n"
        " * state[%s_STATE_FLOATS] (the caller's: zeroed by %s_reset, or memset, at\n"
        " * the start of a sequence) and writes output[%s_STEP_OUTPUTS]:\n * %s.\n"
        " * 0 on success, -1 if an input is NaN or infinite (state and output\n"
        " * untouched)%s.  Not reentrant (static scratch; %s_step_scratch takes\n"
        " * the caller's scratch[%s_SCRATCH_FLOATS]).  A model with a bidirectional\n"
        " * layer has no step function: its reverse direction starts at the last\n"
        " * step. */\n",
        name, up, up, up, up, name, up,
        seq_out ? "row t of the prediction's output (the model's output at each step)"
                : "what the model outputs if the sequence ends at this step (after\n"
                  " * the last step, the prediction's output)",
        p->counter ? "; -2 once N_STEPS steps are done (the input transform\n"
                     " * differs between steps and is known for N_STEPS only)" : "",
        name, up);
    mn_atomic_printf(a,
        "#define %s_N_STEPS %d\n#define %s_STEP_INPUTS %d\n#define %s_STEP_OUTPUTS %d\n"
        "#define %s_STATE_FLOATS %ld\n\n"
        "void %s_reset(float *state);\n"
        "int %s_step(const float *input, float *state, float *output);\n"
        "int %s_step_scratch(const float *input, float *state, float *output, float *scratch);\n\n",
        up, p->steps, up, p->step_in, up, p->step_out, up, p->state, name, name, name);
}

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
        "int %s_predict_batch(const float *input, int n, float *output);\n\n",
        up, up, up, net->n_inputs, up, mynn_n_outputs(net), up, scratch, mynn_n_outputs(net), net->n_inputs,
        name, up, name, net->n_inputs, mynn_n_outputs(net), name);
    write_step_api(&a, p, name, up);
    mn_atomic_puts(&a, "#endif\n");
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

/* Node i's statements (a comment for one that computes nothing), for a
 * prediction or a step of the stream. */
static mynn_status write_node(mn_atomic *a, const plan *p, int i, int step)
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
    char state[48];
    mn_cnode x = cnode_at(p, i, step, state, sizeof state);
    if (!quantised(p, i) && !(p->e->q && l->kind->qc_code))
        return l->kind->c_code(a, &x, src, l->n_src, dst);
    /* the transform is applied as the input is quantised, where it is not in the arena */
    int tr = reads_raw_input && net->shift && net->scale;
    return l->kind->qc_code(a, &x, src, l->n_src, dst, tr ? "in_shift" : "0", tr ? "in_scale" : "0");
}

/* NAME_step_scratch, NAME_step, NAME_reset: the nodes in the stream on one
 * step, the others on its output, as write_body's prediction. */
static mynn_status write_step(mn_atomic *a, const plan *p, const char *name, const char *up)
{
    const mynn_net *net = p->e->net;
    const int F = p->step_in;
    mn_atomic_printf(a,
        "\nint %s_step_scratch(const float *input, float *state, float *output, float *scratch)\n{\n"
        "    float *s = scratch;\n", name);
    if (p->work) mn_atomic_printf(a, "    float *wk = s + %zu;\n", work_ofs(p));
    mn_atomic_printf(a, "    long at = 0;   /* this step's coefficients in the input transform */\n"
                        "    int j;\n    (void)s;\n    (void)at;\n"
                        "    for (j = 0; j < %d; j++)\n        if (!isfinite(input[j])) return -1;\n", F);
    if (p->counter)
        mn_atomic_printf(a, "    if (state[0] >= %d.0f) return -2;\n    at = (long)state[0] * %d;\n", p->steps, F);
    if (p->input_ofs != MN_PLAN_INPUT) {
        char in[32];
        value_name(in, sizeof in, p->input_ofs);
        mn_atomic_printf(a, "    for (j = 0; j < %d; j++) %s[j] = (input[j] - in_shift[at + j]) * in_scale[at + j];\n",
                         F, in);
    }
    mynn_status s = MYNN_OK;
    for (int i = 0; i < net->n_layers && !s; i++) s = write_node(a, p, i, 1);
    if (s) return s;
    if (p->counter) mn_atomic_puts(a, "    state[0] += 1.0f;\n");
    mn_atomic_printf(a,
        "    return 0;\n}\n\n"
        "int %s_step(const float *input, float *state, float *output)\n{\n"
        "    return %s_step_scratch(input, state, output, scratch_buf);\n}\n\n"
        "void %s_reset(float *state)\n{\n"
        "    int j;\n"
        "    for (j = 0; j < %s_STATE_FLOATS; j++) state[j] = 0.0f;\n}\n",
        name, name, name, up);
    return a->status;
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
    if (p->work) mn_atomic_printf(a, "    float *wk = s + %zu;   /* the layers' scratch */\n", work_ofs(p));
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
    for (int i = 0; i < net->n_layers && !s; i++) s = write_node(a, p, i, 0);
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
    return p->stream ? write_step(a, p, name, up) : a->status;
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
    if (!s) s = stream_plan(&p, who);
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
