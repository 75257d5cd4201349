/* The network's public life: creation, the loss, build (the one
 * allocation point), prediction, gradients and plain gradient descent.
 * Running the graph is graph.c; adding nodes add_layers.c and spec.c. */
#include "network.h"
#include "activations/activation.h"
#include "core/core.h"
#include "kernels/kernels.h"
#include "losses/loss.h"

#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

mynn_status mynn_create(mynn_net **out, int n_inputs)
{
    if (!out) return mn_error(MYNN_ERR_NULL, "mynn_create: out is NULL");
    *out = NULL;
    if (n_inputs < 1 || n_inputs > MN_MAX_UNITS)
        return mn_error(MYNN_ERR_ARG, "mynn_create: n_inputs must be in 1..%d, got %d",
                        MN_MAX_UNITS, n_inputs);
    mynn_net *net = mn_calloc(1, sizeof *net, "network");
    if (!net) return MYNN_ERR_NOMEM;
    net->n_inputs = n_inputs;
    net->in_shape = (mn_shape){n_inputs, 1, 1, 0};
    net->loss = MYNN_LOSS_MSE;
    *out = net;
    return MYNN_OK;
}

static void release_buffers(mynn_net *net)
{
    free(net->params);
    free(net->grads);
    free(net->acts);
    free(net->gbuf);
    free(net->gofs);
    free(net->route);
    free(net->xin);
    free(net->work);
    free(net->aux);
    net->params = net->grads = net->acts = net->gbuf = net->xin = net->work = net->aux = NULL;
    net->gofs = NULL;
    net->route = NULL;
    net->max_batch = 0;
}

void mynn_free(mynn_net *net)
{
    if (!net) return;
    release_buffers(net);
    free(net->layers);
    free(net->shift);
    free(net->scale);
    for (int i = 0; i < net->n_meta; i++) {
        free(net->meta_key[i]);
        free(net->meta_val[i]);
    }
    free(net);
}

mynn_status mynn_set_loss(mynn_net *net, mynn_loss loss)
{
    if (!net) return mn_error(MYNN_ERR_NULL, "mynn_set_loss: net is NULL");
    if ((unsigned)loss >= MYNN_LOSS_COUNT)
        return mn_error(MYNN_ERR_ARG, "unknown loss %d", (int)loss);
    if (net->n_layers) {
        const mn_layer *last = &net->layers[net->n_layers - 1];
        if (last->kind->id == MYNN_LAYER_DENSE && mn_loss_check(loss, last->act) != MYNN_OK)
            return MYNN_ERR_ARG;
    }
    net->loss = loss;
    return MYNN_OK;
}

mynn_status mynn_build(mynn_net *net, int max_batch, mynn_init init, uint64_t seed)
{
    if (!net) return mn_error(MYNN_ERR_NULL, "mynn_build: net is NULL");
    if (net->n_layers == 0) return mn_error(MYNN_ERR_STATE, "mynn_build: the network has no layers");
    if (net->syntax_only)
        return mn_error(MYNN_ERR_STATE, "mynn_build: a net from mynn_parse_layers cannot be built");
    if (max_batch < 1 || max_batch > MN_MAX_UNITS)
        return mn_error(MYNN_ERR_ARG, "mynn_build: max_batch must be in 1..%d, got %d",
                        MN_MAX_UNITS, max_batch);
    if ((unsigned)init > MYNN_INIT_UNIFORM01)
        return mn_error(MYNN_ERR_ARG, "mynn_build: unknown initialisation %d", (int)init);
    const mn_layer *last = &net->layers[net->n_layers - 1];
    if (last->kind->id != MYNN_LAYER_DENSE)
        return mn_error(MYNN_ERR_STATE, "mynn_build: the last layer must be dense, not %s", last->kind->name);
    mynn_status s = mn_loss_check(net->loss, last->act);
    if (s) return s;
    /* One output: every other node must be read, or its gradient would be
     * nothing at all. */
    char *read = calloc((size_t)net->n_layers, 1);
    if (!read) return mn_error(MYNN_ERR_NOMEM, "mynn_build: out of memory");
    for (int k = 0; k < net->n_layers; k++)
        for (int j = 0; j < net->layers[k].n_src; j++)
            if (net->layers[k].src[j] >= 0) read[net->layers[k].src[j]] = 1;
    for (int i = 0; i < net->n_layers - 1; i++)
        if (!read[i]) {
            free(read);
            return mn_error(MYNN_ERR_STATE, "mynn_build: layer %d (%s) is not read by any later layer "
                            "(a network has one output, its last layer)", i + 1, net->layers[i].kind->name);
        }
    free(read);

    mn_build_sizes z;
    mynn_status s2 = mn_build_sizes_of(net, max_batch, &z);
    if (s2) return s2;

    release_buffers(net);
    size_t n_grad = 0;
    s2 = mn_plan_gradients(net, max_batch, &n_grad);
    if (s2) {
        release_buffers(net);
        return s2;
    }
    net->params = mn_calloc(z.n_params + z.n_buffers, sizeof(float), "parameters");
    net->grads = mn_calloc(z.n_params + MN_GRAD_SPARE, sizeof(float), "gradients");
    net->acts = mn_calloc(z.n_acts, sizeof(float), "activations");
    net->gbuf = mn_calloc(n_grad ? n_grad : 1, sizeof(float), "backward gradients");
    net->xin = mn_calloc((size_t)max_batch * net->n_inputs, sizeof(float), "input buffer");
    net->work = z.n_work ? mn_calloc(z.n_work, sizeof(float), "convolution workspace") : NULL;
    net->aux = mn_calloc(z.n_aux ? z.n_aux : 1, sizeof(float), "layer scratch");  /* never NULL: views step through it */
    if (!net->params || !net->grads || !net->acts || !net->gbuf || !net->xin || (z.n_work && !net->work) ||
        !net->aux) {
        release_buffers(net);
        return MYNN_ERR_NOMEM;
    }
    net->n_params = z.n_params;
    net->n_buffers = z.n_buffers;
    net->max_batch = max_batch;

    mynn_rng rng;
    mynn_rng_seed(&rng, seed);
    float *p = net->params, *g = net->grads, *a = net->acts, *bf = net->params + z.n_params;
    float *aux = net->aux;
    for (int i = 0; i < net->n_layers; i++) {
        mn_layer *l = &net->layers[i];
        l->param = p;
        l->grad = g;
        p += mn_layer_params(l);
        g += mn_layer_params(l);
        l->buf = bf;
        bf += mn_layer_buffers(l);
        l->aux = aux;
        aux += mn_layer_aux(l);
        l->work = net->work;
        l->out = a;
        a += (size_t)max_batch * l->n_out;
        l->cache = a;
        a += (size_t)max_batch * mn_layer_cache(l);
        if (l->kind->init) l->kind->init(l, init, &rng);
    }
    return MYNN_OK;
}

mynn_status mynn_set_input_transform(mynn_net *net, const char *kind, const float *shift,
                                     const float *scale)
{
    if (!net) return mn_error(MYNN_ERR_NULL, "mynn_set_input_transform: net is NULL");
    free(net->shift);
    free(net->scale);
    net->shift = net->scale = NULL;
    net->transform_kind[0] = '\0';
    if (!shift || !scale) return MYNN_OK;
    for (int i = 0; i < net->n_layers; i++)   /* token ids are not numbers to rescale */
        if (net->layers[i].kind->check_input && net->layers[i].src[0] == MN_NET_INPUT)
            return mn_error(MYNN_ERR_ARG, "layer %d (%s) reads token ids from the input: it takes no input "
                            "transform (normalize none)", i + 1, net->layers[i].kind->name);
    for (int j = 0; j < net->n_inputs; j++)
        if (!isfinite(shift[j]) || !isfinite(scale[j]))
            return mn_error(MYNN_ERR_NUMERIC, "input transform: feature %d is not finite", j);
    net->shift = mn_calloc((size_t)net->n_inputs, sizeof(float), "input transform");
    net->scale = mn_calloc((size_t)net->n_inputs, sizeof(float), "input transform");
    if (!net->shift || !net->scale) {
        free(net->shift);
        free(net->scale);
        net->shift = net->scale = NULL;
        return MYNN_ERR_NOMEM;
    }
    memcpy(net->shift, shift, (size_t)net->n_inputs * sizeof(float));
    memcpy(net->scale, scale, (size_t)net->n_inputs * sizeof(float));
    snprintf(net->transform_kind, sizeof net->transform_kind, "%s", kind ? kind : "custom");
    return MYNN_OK;
}

/* Checked in blocks with a branch-free test of the exponent bits, so the
 * common all-finite case vectorizes; only a bad block is searched. */
static int block_nonfinite(const float *v, size_t base, size_t end)
{
    uint32_t bad = 0;
    for (size_t i = base; i < end; i++) {
        uint32_t bits;
        memcpy(&bits, &v[i], sizeof bits);
        bad |= (uint32_t)((bits & 0x7f800000u) == 0x7f800000u);
    }
    return bad != 0;
}

#define NONFINITE_BLOCK 1024
/* A whole data set (tens of MB, checked once before training) is split
 * between the threads; below this many floats one thread is faster. */
#define NONFINITE_PAR_MIN (1u << 20)

int mn_find_nonfinite(const float *v, size_t n, size_t *at)
{
    size_t first = 0; /* the first block that may hold one */
#ifdef _OPENMP
    int nt = n >= NONFINITE_PAR_MIN && mn_team_size() <= 1 ? mn_threads() : 1;
    if (nt > 1) {
        const size_t blocks = (n + NONFINITE_BLOCK - 1) / NONFINITE_BLOCK;
        size_t bad = blocks;
#pragma omp parallel for num_threads(nt) schedule(static) reduction(min : bad)
        for (size_t b = 0; b < blocks; b++) {
            size_t base = b * NONFINITE_BLOCK, end = n - base < NONFINITE_BLOCK ? n : base + NONFINITE_BLOCK;
            if (b < bad && block_nonfinite(v, base, end)) bad = b;
        }
        if (bad == blocks) return 0;
        first = bad * NONFINITE_BLOCK;
    }
#endif
    for (size_t base = first; base < n; base += NONFINITE_BLOCK) {
        size_t end = n - base < NONFINITE_BLOCK ? n : base + NONFINITE_BLOCK;
        if (!block_nonfinite(v, base, end)) continue;
        for (size_t i = base; i < end; i++)
            if (!isfinite(v[i])) {
                if (at) *at = i;
                return 1;
            }
    }
    return 0;
}

mynn_status mn_net_check_input(const mynn_net *net, const float *x, int n)
{
    for (int i = 0; i < net->n_layers; i++) {
        const mn_layer *l = &net->layers[i];
        if (l->kind->check_input && l->src[0] == MN_NET_INPUT) {
            mynn_status s = l->kind->check_input(l, x, n, 0);
            if (s) return s;
        }
    }
    return MYNN_OK;
}

static mynn_status check_batch(const mynn_net *net, const char *fn, const void *x, int n)
{
    if (!net) return mn_error(MYNN_ERR_NULL, "%s: net is NULL", fn);
    if (!x) return mn_error(MYNN_ERR_NULL, "%s: data pointer is NULL", fn);
    if (!net->max_batch) return mn_error(MYNN_ERR_STATE, "%s: the network is not built", fn);
    if (n < 1) return mn_error(MYNN_ERR_SHAPE, "%s: batch size must be >= 1, got %d", fn, n);
    return MYNN_OK;
}

/* m rows of k outputs from a layer's buffer to the caller's (split in a team). */
static void copy_outputs(float *dst, const float *src, int m, int k)
{
    MN_FOR_SHARE((size_t)m, 1, lo, hi, memcpy(dst + lo * k, src + lo * k, (hi - lo) * k * sizeof *dst));
}

/* The forward of x's n rows in chunks of max_batch, each chunk's outputs
 * copied to y. */
static void predict_rows(mynn_net *net, const float *x, int n, float *y)
{
    const int k = mynn_n_outputs(net);
    for (int done = 0; done < n;) {
        int m = n - done < net->max_batch ? n - done : net->max_batch;
        const float *out = mn_forward(net, x + (size_t)done * net->n_inputs, m, 0);
        copy_outputs(y + (size_t)done * k, out, m, k);
        done += m;
    }
}

/* Below this many input floats a prediction runs as the kernels choose
 * (one region each, or none), above it as one parallel region. */
#define PREDICT_TEAM_MIN 16384

/* The check of the input and the forward as one parallel region (the
 * step's team, as in training): one fork and join per call instead of one
 * per kernel, and the check split between the threads.  *bad is set, and
 * nothing computed, when x holds a NaN or infinity. */
static void predict_team(mynn_net *net, const float *x, int n, float *y, int nt, int *bad)
{
    const size_t d = (size_t)net->n_inputs;
    mn_team team;
    mn_team_init(&team);
    _Atomic int found = 0;
    /* One chunk: each share checked and transformed in one pass (a NaN
     * stops it before anything reaches y). */
    const int one = n <= net->max_batch && net->shift;
#pragma omp parallel num_threads(nt)
    {
        mn_team_enter(&team);
        MN_FOR_SHARE((size_t)n, 1, lo, hi, {
            for (size_t r = lo; r < hi; r++) { /* a row is checked, then transformed from L1 */
                if (mn_find_nonfinite(x + r * d, d, NULL)) {
                    atomic_store_explicit(&found, 1, memory_order_relaxed);
                    break;
                }
                if (one)
                    mn_shift_scale_block(net->xin + r * d, x + r * d, net->shift, net->scale, 1,
                                         (int)d);
            }
        });
        /* The job's completion orders every part's store before this. */
        if (!atomic_load_explicit(&found, memory_order_relaxed)) {
            if (one)
                copy_outputs(y, mn_forward_transformed(net, net->xin, n, 0), n, mynn_n_outputs(net));
            else
                predict_rows(net, x, n, y);
        }
        mn_team_leave();
    }
    *bad = atomic_load(&found);
}

mynn_status mynn_predict(mynn_net *net, const float *x, int n, float *y)
{
    mynn_status s = check_batch(net, "mynn_predict", x, n);
    if (!s) s = mn_net_check_input(net, x, n);
    if (s) return s;
    if (!y) return mn_error(MYNN_ERR_NULL, "mynn_predict: output pointer is NULL");
    const size_t count = (size_t)n * net->n_inputs;
    const int nt = n >= 2 && count >= PREDICT_TEAM_MIN && mn_team_size() == 0 ? mn_threads() : 1;
    int bad = 0;
    if (nt > 1) {
        predict_team(net, x, n, y, nt, &bad);
    } else {
        bad = mn_find_nonfinite(x, count, NULL);
        if (!bad) predict_rows(net, x, n, y);
    }
    size_t at;
    if (bad && mn_find_nonfinite(x, count, &at))
        return mn_error(MYNN_ERR_NUMERIC, "mynn_predict: input sample %zu feature %zu is %s",
                        at / net->n_inputs, at % net->n_inputs,
                        isnan(x[at]) ? "NaN" : "infinite");
    return MYNN_OK;
}

mynn_status mynn_compute_gradients(mynn_net *net, const float *x, const float *y, int n,
                                   float *loss)
{
    mynn_status s = check_batch(net, "mynn_compute_gradients", x, n);
    if (!s) s = mn_net_check_input(net, x, n);
    if (s) return s;
    if (!y) return mn_error(MYNN_ERR_NULL, "mynn_compute_gradients: target pointer is NULL");
    if (n > net->max_batch)
        return mn_error(MYNN_ERR_SHAPE, "batch of %d exceeds the built maximum of %d", n,
                        net->max_batch);
    size_t at;
    if (mn_find_nonfinite(x, (size_t)n * net->n_inputs, &at))
        return mn_error(MYNN_ERR_NUMERIC, "input sample %zu feature %zu is not finite",
                        at / net->n_inputs, at % net->n_inputs);
    int k = mynn_n_targets(net);
    if (!s) s = mn_net_check_targets(net, y, n);
    if (s) return s;
    if (mn_find_nonfinite(y, (size_t)n * k, &at))
        return mn_error(MYNN_ERR_NUMERIC, "target sample %zu output %zu is not finite", at / k,
                        at % k);
    mn_forward(net, x, n, 1);
    double c = mn_backward(net, y, n);
    if (loss) *loss = (float)c;
    if (!isfinite(c)) return mn_error(MYNN_ERR_NUMERIC, "the loss is not finite (%g)", c);
    return MYNN_OK;
}

mynn_status mynn_sgd_update(mynn_net *net, float lr)
{
    if (!net) return mn_error(MYNN_ERR_NULL, "mynn_sgd_update: net is NULL");
    if (!net->max_batch) return mn_error(MYNN_ERR_STATE, "mynn_sgd_update: the network is not built");
    if (!(lr >= 0.0f) || !isfinite(lr))
        return mn_error(MYNN_ERR_ARG, "learning rate must be a finite number >= 0, got %g", (double)lr);
    for (size_t i = 0; i < net->n_params; i++) net->params[i] -= lr * net->grads[i];
    return MYNN_OK;
}

mynn_status mynn_train_step(mynn_net *net, const float *x, const float *y, int n, float lr,
                            float *loss)
{
    if (!(lr >= 0.0f) || !isfinite(lr))
        return mn_error(MYNN_ERR_ARG, "learning rate must be a finite number >= 0, got %g", (double)lr);
    mynn_status s = mynn_compute_gradients(net, x, y, n, loss);
    if (s) return s;
    return mynn_sgd_update(net, lr);
}

mynn_status mynn_loss_value(const mynn_net *net, const float *a, const float *y, int n,
                            float *loss)
{
    if (!net || !a || !y || !loss) return mn_error(MYNN_ERR_NULL, "mynn_loss_value: NULL argument");
    if (!net->n_layers) return mn_error(MYNN_ERR_STATE, "mynn_loss_value: the network has no layers");
    if (n < 1) return mn_error(MYNN_ERR_SHAPE, "mynn_loss_value: n must be >= 1, got %d", n);
    const mn_layer *last = &net->layers[net->n_layers - 1];
    const int steps = mn_layer_steps(last);
    if (mn_net_target_ids(net)) *loss = (float)mn_loss_value_ids(NULL, a, y, n * steps, last->n_out / steps);
    else *loss = (float)mn_loss_value(net->loss, last->act, NULL, a, y, n * steps, last->n_out / steps);
    return MYNN_OK;
}

size_t mn_net_values(const mynn_net *net) { return net->n_params + net->n_buffers; }

int mynn_n_inputs(const mynn_net *net) { return net ? net->n_inputs : 0; }
int mynn_n_outputs(const mynn_net *net)
{
    return net && net->n_layers ? net->layers[net->n_layers - 1].n_out : 0;
}
int mn_net_target_ids(const mynn_net *net)
{
    if (!net || !net->n_layers) return 0;
    const mn_layer *last = &net->layers[net->n_layers - 1];
    return last->out_shape.t > 0 && net->loss == MYNN_LOSS_CE && last->act == MYNN_ACT_SOFTMAX;
}

int mynn_n_targets(const mynn_net *net)
{
    if (!net || !net->n_layers) return 0;
    const mn_layer *last = &net->layers[net->n_layers - 1];
    return mn_net_target_ids(net) ? mn_layer_steps(last) : last->n_out;
}

mynn_status mn_net_check_targets(const mynn_net *net, const float *y, int n)
{
    if (!mn_net_target_ids(net)) return MYNN_OK;
    const mn_layer *last = &net->layers[net->n_layers - 1];
    const int T = mn_layer_steps(last), V = last->n_out / T;
    for (size_t i = 0; i < (size_t)n * T; i++)
        if (!(y[i] >= 0.0f && y[i] < (float)V && y[i] == floorf(y[i])))
            return mn_error(MYNN_ERR_ARG, "target of sample %zu, step %zu: %g is not a class id in 0..%d",
                            i / T + 1, i % T + 1, (double)y[i], V - 1);
    return MYNN_OK;
}

int mynn_n_layers(const mynn_net *net) { return net ? net->n_layers : 0; }
int mynn_max_batch(const mynn_net *net) { return net ? net->max_batch : 0; }
mynn_loss mynn_get_loss(const mynn_net *net) { return net ? net->loss : MYNN_LOSS_MSE; }

float *mynn_params(mynn_net *net, size_t *n)
{
    if (n) *n = net ? net->n_params : 0;
    return net ? net->params : NULL;
}

float *mynn_grads(mynn_net *net, size_t *n)
{
    if (n) *n = net ? net->n_params : 0;
    return net ? net->grads : NULL;
}

mynn_status mn_net_copy(const mynn_net *src, int max_batch, mynn_net **out)
{
    *out = NULL;
    if (!src->max_batch) return mn_error(MYNN_ERR_STATE, "copying a network: it is not built");
    mynn_status s = mynn_create(out, src->n_inputs);
    if (!s && src->in_dims == 2) s = mynn_set_input_shape(*out, src->in_shape.c, src->in_shape.h, src->in_shape.w);
    if (!s && src->in_dims == 1) s = mynn_set_input_shape_1d(*out, src->in_shape.c, src->in_shape.w);
    for (int i = 0; i < src->n_layers && !s; i++) {
        mn_layer l = src->layers[i];   /* kind, settings, name and inputs */
        int in[MN_MAX_INPUTS];
        memcpy(in, l.src, sizeof in);
        l.param = l.grad = l.buf = l.out = l.cache = l.aux = l.work = NULL;
        s = mn_net_append(*out, &l, in, l.n_src);
    }
    if (!s) s = mynn_set_loss(*out, src->loss);
    if (!s) s = mynn_build(*out, max_batch, MYNN_INIT_AUTO, 0);
    if (!s && src->shift && src->scale)
        s = mynn_set_input_transform(*out, src->transform_kind, src->shift, src->scale);
    if (s) {
        mynn_free(*out);
        *out = NULL;
        return s;
    }
    /* Built on the same nodes in the same order: the same offsets. */
    memcpy((*out)->params, src->params, mn_net_values(src) * sizeof(float));
    for (int i = 0; i < src->n_layers; i++) (*out)->layers[i].rng = src->layers[i].rng;
    return MYNN_OK;
}

mynn_status mn_net_set_meta(mynn_net *net, const char *key, const char *value)
{
    int i = 0;
    while (i < net->n_meta && strcmp(net->meta_key[i], key) != 0) i++;
    if (i == MN_MAX_META) return mn_error(MYNN_ERR_FORMAT, "more than %d metadata entries", MN_MAX_META);
    char *v = malloc(strlen(value) + 1);
    char *k = i == net->n_meta ? malloc(strlen(key) + 1) : net->meta_key[i];
    if (!v || !k) {
        free(v);
        if (i == net->n_meta) free(k);
        return mn_error(MYNN_ERR_NOMEM, "out of memory storing metadata");
    }
    strcpy(v, value);
    if (i == net->n_meta) {
        strcpy(k, key);
        net->meta_key[i] = k;
        net->meta_val[i] = NULL;
        net->n_meta++;
    }
    free(net->meta_val[i]);
    net->meta_val[i] = v;
    return MYNN_OK;
}

const char *mynn_metadata(const mynn_net *net, const char *key)
{
    if (!net || !key) return "";
    for (int i = 0; i < net->n_meta; i++)
        if (strcmp(net->meta_key[i], key) == 0) return net->meta_val[i];
    return "";
}
