/* Inverted dropout: in training each value is kept with probability 1-p
 * and scaled by 1/(1-p), so prediction needs no rescaling and is the
 * identity.  Spec item dropout:RATE; nn.Dropout.  Its mask stream is the
 * node's own generator (saved in checkpoints). */
#include "layer.h"
#include "core/numparse.h"

#include <stdio.h>
#include <string.h>

static mynn_status dropout_parse(mn_layer *l, const mn_item *it)
{
    double rate = -1.0; /* parsed without the C locale: "0.2" everywhere */
    if (it->n_pos != 1 || it->n_keys || mn_parse_double_str(it->pos[0], &rate) != 0 || !(rate >= 0.0 && rate < 1.0))
        return mn_item_error(it, "needs a rate in [0, 1), as dropout:0.2");
    l->rate = (float)rate;
    return MYNN_OK;
}

static void dropout_print(const mn_layer *l, char *buf, size_t n)
{
    char num[MN_NUM_BUFSZ];
    mn_format_float(num, sizeof num, l->rate);
    snprintf(buf, n, "dropout:%s", num);
}

static void dropout_describe(const mn_layer *l, char *buf, size_t n)
{
    char num[MN_NUM_BUFSZ];
    mn_format_float(num, sizeof num, l->rate);
    snprintf(buf, n, "rate %s", num);
}

static mynn_status dropout_shape(mn_layer *l, const mn_shape *in, int n_in)
{
    (void)n_in;
    if (!(l->rate >= 0.0f && l->rate < 1.0f))
        return mn_error(MYNN_ERR_ARG, "dropout rate must be in [0, 1), got %g", (double)l->rate);
    l->out_shape = in ? in[0] : (mn_shape){1, 1, 1, 0};
    return MYNN_OK;
}

/* The cache holds the mask (0 or 1/(1-p)) of the last training forward. */
static size_t dropout_cache(const mn_layer *l) { return (size_t)l->n_out; }

static void dropout_init(mn_layer *l, mynn_init init, mynn_rng *rng)
{
    (void)init;
    mynn_rng_seed(&l->rng, mynn_rng_next(rng));
}

static void dropout_forward(mn_layer *l, const float *const *xs, float *y, int n, int training)
{
    const float *x = xs[0];
    size_t count = (size_t)n * l->n_out;
    if (!training || l->rate == 0.0f) {
        MN_FOR_SHARE(count, 1, lo, hi, memcpy(y + lo, x + lo, (hi - lo) * sizeof *x));
        return;
    }
    /* One random stream in order: on one thread. */
    float keep = 1.0f - l->rate, scale = 1.0f / keep;
    MN_TEAM_SOLO(for (size_t i = 0; i < count; i++) {
        float m = mynn_rng_uniform(&l->rng) < keep ? scale : 0.0f;
        l->cache[i] = m;
        y[i] = x[i] * m;
    });
}

/* Only called after a training forward, so the cache holds that mask. */
static void dropout_backward(mn_layer *l, const float *const *xs, const float *y, float *dy, int dy_is_dz,
                             float *const *dxs, int n)
{
    (void)xs;
    (void)y;
    (void)dy_is_dz;
    float *dx = dxs[0];
    if (!dx) return;
    size_t count = (size_t)n * l->n_out;
    MN_FOR_SHARE(count, 1, lo, hi, for (size_t i = lo; i < hi; i++) dx[i] = dy[i] * l->cache[i]);
}

/* One draw per value, as dropout_forward (which draws nothing at rate 0). */
static void dropout_skip_rows(mn_layer *l, int rows)
{
    if (l->rate == 0.0f) return;
    size_t count = (size_t)rows * l->n_out;
    for (size_t i = 0; i < count; i++) mynn_rng_next(&l->rng);
}

static void dropout_infer(const mn_layer *l, const float *const *x, float *y, int c)
{
    memcpy(y, x[0], (size_t)c * l->n_out * sizeof *y);
}

/* Dropout is the identity at inference: no node. */
static mynn_status dropout_onnx(mn_onnx *g, const mn_layer *l, const char *prefix, const mn_ovalue *in,
                                int n_in, mn_ovalue *out)
{
    (void)g, (void)l, (void)prefix, (void)n_in;
    *out = in[0];
    return MYNN_OK;
}

static const char *const dropout_names[] = {"dropout", NULL};

const mn_kind mn_dropout_kind = {
    .id = MYNN_LAYER_DROPOUT, .name = "dropout", .spec_names = dropout_names, .max_inputs = 1, .reads_seq = 1,
    .parse = dropout_parse, .print = dropout_print, .describe = dropout_describe, .shape = dropout_shape,
    .init = dropout_init, .cache_per_sample = dropout_cache, .forward = dropout_forward,
    .backward = dropout_backward, .skip_rows = dropout_skip_rows, .infer = dropout_infer,
    .onnx = dropout_onnx, .c_identity = 1, .q_role = MN_Q_FLOAT,
};
