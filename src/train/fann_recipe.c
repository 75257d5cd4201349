/* FANN 2.2's training recipe (see mynn.h): its forward pass, error
 * function, backward pass and iRprop- variant, in float with FANN's order
 * of operations, so the weights agree with FANN's to the last bit where
 * both are compiled alike.  The formulas are FANN's documented behaviour;
 * the code is our own.  Works through the public API only: the network is
 * a list of dense layers whose parameters it reads and writes. */
#include "mynn.h"
#include "core/core.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum { FANN_LINEAR_ACT, FANN_SIGMOID_ACT, FANN_SYMMETRIC_ACT };

typedef struct fann_layer_state {
    int n_in, n_out;
    int act;          /* FANN_*_ACT */
    float s;          /* steepness */
    float c;          /* mynn parameters = c * FANN weights */
    size_t w_off;     /* first weight in the flat arrays: [n_out × (n_in + 1)] */
    float *sum;       /* [n_out] steepness × weighted sum, clipped */
    float *val;       /* [n_out + 1] outputs, then 1 (the bias unit) */
    float *err;       /* [n_out + 1] deltas */
} fann_layer_state;

struct mynn_fann_trainer {
    mynn_net *net;
    mynn_fann_options o;
    int n_layers;
    fann_layer_state *L;
    size_t n_w;
    float *w, *slope, *prev_slope, *step;   /* [n_w] each */
    float *in;        /* [n_inputs + 1] the sample, then 1 */
    float *block;     /* one allocation for the per-layer arrays */
};

void mynn_fann_options_default(mynn_fann_options *o)
{
    if (!o) return;
    memset(o, 0, sizeof *o);
    o->epochs = 100;
    o->steepness_hidden = 0.5f;
    o->steepness_output = 0.5f;
    o->error_function = MYNN_FANN_ERRORFUNC_TANH;
    o->increase_factor = 1.2f;
    o->decrease_factor = 0.5f;
    o->delta_min = 0.0f;
    o->delta_max = 50.0f;
    o->delta_zero = 0.1f;
}

/* ---- FANN's arithmetic ---------------------------------------------------- */

/* Its weighted sum: the n mod 4 leading terms first, last to first, then
 * groups of four added together before joining the sum. */
static float fann_dot(const float *w, const float *v, size_t n)
{
    float s = 0.0f;
    size_t r = n % 4;
    for (size_t i = r; i-- > 0;) s += w[i] * v[i];
    for (size_t i = r; i < n; i += 4)
        s += ((w[i] * v[i] + w[i + 1] * v[i + 1]) + w[i + 2] * v[i + 2]) + w[i + 3] * v[i + 3];
    return s;
}

/* The activation of x = s × sum (already clipped); exp in double as FANN's. */
static float fann_act(int act, float x)
{
    switch (act) {
    case FANN_SIGMOID_ACT: return (float)(1.0 / (1.0 + exp((double)(-2.0f * x))));
    case FANN_SYMMETRIC_ACT: return (float)(2.0 / (1.0 + exp((double)(-2.0f * x))) - 1.0);
    default: return x;
    }
}

/* The derivative from the output value, clipped away from saturation. */
static float fann_deriv(int act, float s, float v)
{
    switch (act) {
    case FANN_SIGMOID_ACT:
        v = v < 0.01f ? 0.01f : v > 0.99f ? 0.99f : v;
        return 2.0f * s * v * (1.0f - v);
    case FANN_SYMMETRIC_ACT:
        v = v < -0.98f ? -0.98f : v > 0.98f ? 0.98f : v;
        return s * (1.0f - v * v);
    default: return s;
    }
}

/* Forward one sample (t->in holds it). */
static void fann_forward(mynn_fann_trainer *t)
{
    const float *prev = t->in;
    for (int l = 0; l < t->n_layers; l++) {
        fann_layer_state *L = &t->L[l];
        const size_t k = (size_t)L->n_in + 1;
        const float lim = 150.0f / L->s;
        for (int j = 0; j < L->n_out; j++) {
            float x = L->s * fann_dot(t->w + L->w_off + (size_t)j * k, prev, k);
            x = x > lim ? lim : x < -lim ? -lim : x;
            L->sum[j] = x;
            L->val[j] = fann_act(L->act, x);
        }
        prev = L->val;
    }
}

/* Output deltas from the targets y; adds to *mse_sum the squared errors. */
static void fann_output_error(mynn_fann_trainer *t, const float *y, float *mse_sum)
{
    fann_layer_state *L = &t->L[t->n_layers - 1];
    for (int k = 0; k < L->n_out; k++) {
        float e = y[k] - L->val[k];
        if (L->act == FANN_SYMMETRIC_ACT) e /= 2.0f;
        *mse_sum += (float)(e * e);
        if (t->o.error_function == MYNN_FANN_ERRORFUNC_TANH) {
            if (e < -.9999999) e = -17.0f;
            else if (e > .9999999) e = 17.0f;
            else e = (float)log((1.0 + e) / (1.0 - e));
        }
        L->err[k] = fann_deriv(L->act, L->s, L->val[k]) * e;
    }
}

/* Deltas of the hidden layers, last to first. */
static void fann_backward(mynn_fann_trainer *t)
{
    for (int l = t->n_layers - 1; l > 0; l--) {
        fann_layer_state *L = &t->L[l], *P = &t->L[l - 1];
        const size_t k = (size_t)L->n_in + 1;
        memset(P->err, 0, (size_t)(P->n_out + 1) * sizeof(float));
        for (int j = 0; j < L->n_out; j++) {
            const float e = L->err[j], *w = t->w + L->w_off + (size_t)j * k;
            for (size_t i = 0; i < k; i++) P->err[i] += e * w[i];
        }
        for (int i = 0; i < P->n_out; i++) P->err[i] *= fann_deriv(P->act, P->s, P->val[i]);
    }
}

/* Slopes (minus the gradient) summed over the epoch's samples. */
static void fann_slopes(mynn_fann_trainer *t)
{
    const float *prev = t->in;
    for (int l = 0; l < t->n_layers; l++) {
        fann_layer_state *L = &t->L[l];
        const size_t k = (size_t)L->n_in + 1;
        for (int j = 0; j < L->n_out; j++) {
            float *g = t->slope + L->w_off + (size_t)j * k;
            const float e = L->err[j];
            for (size_t i = 0; i < k; i++) g[i] += e * prev[i];
        }
        prev = L->val;
    }
}

/* FANN's iRprop- step over every weight. */
static void fann_irprop(mynn_fann_trainer *t)
{
    const float inc = t->o.increase_factor, dec = t->o.decrease_factor;
    const float dmin = t->o.delta_min, dmax = t->o.delta_max;
    for (size_t i = 0; i < t->n_w; i++) {
        float prev_step = t->step[i] > 0.0001f ? t->step[i] : 0.0001f;
        float slope = t->slope[i], next;
        if (t->prev_slope[i] * slope >= 0.0f) {
            next = prev_step * inc;
            if (!(next < dmax)) next = dmax;
        } else {
            next = prev_step * dec;
            if (!(next > dmin)) next = dmin;
            slope = 0.0f;
        }
        float w = t->w[i];
        if (slope < 0) {
            w -= next;
            if (w < -1500) w = -1500;
        } else {
            w += next;
            if (w > 1500) w = 1500;
        }
        t->w[i] = w;
        t->step[i] = next;
        t->prev_slope[i] = slope;
        t->slope[i] = 0.0f;
    }
}

/* ---- the trainer ------------------------------------------------------------ */

/* FANN's activation for mynn's, and c (parameters = c × FANN weights). */
static mynn_status map_layer(const mynn_layer_info *li, int i, float s, fann_layer_state *L)
{
    if (li->kind != MYNN_LAYER_DENSE)
        return mn_error(MYNN_ERR_ARG, "FANN recipe: layer %d is a %s layer; FANN has dense layers only",
                        i, li->kind_name);
    switch (li->activation) {
    case MYNN_ACT_IDENTITY: L->act = FANN_LINEAR_ACT, L->c = s; break;
    case MYNN_ACT_SIGMOID: L->act = FANN_SIGMOID_ACT, L->c = 2.0f * s; break;
    case MYNN_ACT_TANH: L->act = FANN_SYMMETRIC_ACT, L->c = s; break;
    default:
        return mn_error(MYNN_ERR_ARG, "FANN recipe: layer %d: activation %s is not one of FANN's "
                        "(identity, sigmoid, tanh)", i, mynn_activation_name(li->activation));
    }
    L->s = s;
    L->n_in = li->n_inputs;
    L->n_out = li->n_outputs;
    return MYNN_OK;
}

static mynn_status check_options(const mynn_fann_options *o)
{
    if (o->epochs < 0 || !(o->steepness_hidden > 0) || !(o->steepness_output > 0) ||
        !isfinite(o->steepness_hidden) || !isfinite(o->steepness_output) ||
        !(o->increase_factor > 1) || !(o->decrease_factor > 0 && o->decrease_factor < 1) ||
        !(o->delta_min >= 0) || !(o->delta_max >= o->delta_min) || !(o->delta_zero > 0) ||
        isnan(o->desired_error) ||
        (o->error_function != MYNN_FANN_ERRORFUNC_LINEAR && o->error_function != MYNN_FANN_ERRORFUNC_TANH))
        return mn_error(MYNN_ERR_ARG, "FANN recipe: options out of range (epochs >= 0, steepness > 0, "
                        "increase > 1, 0 < decrease < 1, 0 <= delta_min <= delta_max, delta_zero > 0, "
                        "desired error a number)");
    return MYNN_OK;
}

/* The layers' FANN description (no allocation). */
static mynn_status describe(mynn_net *net, const mynn_fann_options *o, fann_layer_state *L, int n)
{
    for (int i = 0; i < n; i++) {
        mynn_layer_info li;
        mynn_status s = mynn_layer_get_info(net, i, &li);
        if (!s) s = map_layer(&li, i, i == n - 1 ? o->steepness_output : o->steepness_hidden, &L[i]);
        if (s) return s;
    }
    return MYNN_OK;
}

/* net's parameters from FANN's weights (c × w). */
static void write_params(mynn_fann_trainer *t)
{
    for (int l = 0; l < t->n_layers; l++) {
        const fann_layer_state *L = &t->L[l];
        float *W = mynn_layer_weight(t->net, l), *B = mynn_layer_bias(t->net, l);
        const size_t k = (size_t)L->n_in + 1;
        for (int j = 0; j < L->n_out; j++) {
            const float *w = t->w + L->w_off + (size_t)j * k;
            for (int i = 0; i < L->n_in; i++) W[(size_t)j * L->n_in + i] = L->c * w[i];
            B[j] = L->c * w[L->n_in];
        }
    }
}

mynn_status mynn_fann_trainer_create(mynn_fann_trainer **out, mynn_net *net, const mynn_fann_options *o)
{
    if (!out) return mn_error(MYNN_ERR_NULL, "mynn_fann_trainer_create: out is NULL");
    *out = NULL;
    if (!net) return mn_error(MYNN_ERR_NULL, "mynn_fann_trainer_create: net is NULL");
    if (!mynn_max_batch(net)) return mn_error(MYNN_ERR_STATE, "mynn_fann_trainer_create: the network is not built");
    mynn_fann_options def;
    if (!o) mynn_fann_options_default(&def), o = &def;
    mynn_status s = check_options(o);
    if (s) return s;
    int n = mynn_n_layers(net);
    mynn_fann_trainer *t = mn_calloc(1, sizeof *t, "FANN trainer");
    if (!t) return MYNN_ERR_NOMEM;
    t->net = net;
    t->o = *o;
    t->n_layers = n;
    t->L = mn_calloc((size_t)n, sizeof *t->L, "FANN layers");
    if (!t->L) goto nomem;
    if ((s = describe(net, o, t->L, n))) goto fail;
    size_t per = (size_t)mynn_n_inputs(net) + 1;
    for (int l = 0; l < n; l++) {
        t->L[l].w_off = t->n_w;
        t->n_w += (size_t)t->L[l].n_out * ((size_t)t->L[l].n_in + 1);
        per += 3 * ((size_t)t->L[l].n_out + 1);
    }
    t->block = mn_calloc(per + 4 * t->n_w, sizeof(float), "FANN trainer state");
    if (!t->block) goto nomem;
    float *p = t->block;
    t->w = p, p += t->n_w;
    t->slope = p, p += t->n_w;
    t->prev_slope = p, p += t->n_w;
    t->step = p, p += t->n_w;
    t->in = p, p += mynn_n_inputs(net) + 1;
    for (int l = 0; l < n; l++) {
        fann_layer_state *L = &t->L[l];
        L->sum = p, p += L->n_out + 1;
        L->val = p, p += L->n_out + 1;
        L->err = p, p += L->n_out + 1;
        L->val[L->n_out] = 1.0f;
        const float *W = mynn_layer_weight(net, l), *B = mynn_layer_bias(net, l);
        const size_t k = (size_t)L->n_in + 1;
        for (int j = 0; j < L->n_out; j++) {
            float *w = t->w + L->w_off + (size_t)j * k;
            for (int i = 0; i < L->n_in; i++) w[i] = W[(size_t)j * L->n_in + i] / L->c;
            w[L->n_in] = B[j] / L->c;
        }
    }
    t->in[mynn_n_inputs(net)] = 1.0f;
    for (size_t i = 0; i < t->n_w; i++) t->step[i] = o->delta_zero;
    *out = t;
    return MYNN_OK;
nomem:
    s = MYNN_ERR_NOMEM;
fail:
    mynn_fann_trainer_free(t);
    return s;
}

void mynn_fann_trainer_free(mynn_fann_trainer *t)
{
    if (!t) return;
    free(t->block);
    free(t->L);
    free(t);
}

const float *mynn_fann_layer_weights(const mynn_fann_trainer *t, int i)
{
    return t && i >= 0 && i < t->n_layers ? t->w + t->L[i].w_off : NULL;
}

mynn_status mynn_fann_epoch(mynn_fann_trainer *t, const mynn_dataset *ds, float *mse)
{
    if (!t || !ds) return mn_error(MYNN_ERR_NULL, "mynn_fann_epoch: NULL argument");
    const int d = mynn_n_inputs(t->net), k = t->L[t->n_layers - 1].n_out;
    if (ds->n < 1 || !ds->x || !ds->y || ds->n_inputs != d || ds->n_outputs != k)
        return mn_error(MYNN_ERR_SHAPE, "mynn_fann_epoch: data of %d samples, %d inputs and %d "
                        "targets; the network takes %d inputs and has %d outputs",
                        ds->n, ds->n_inputs, ds->n_outputs, d, k);
    float mse_sum = 0.0f;
    for (int r = 0; r < ds->n; r++) {
        memcpy(t->in, ds->x + (size_t)r * d, (size_t)d * sizeof(float));
        fann_forward(t);
        fann_output_error(t, ds->y + (size_t)r * k, &mse_sum);
        fann_backward(t);
        fann_slopes(t);
    }
    fann_irprop(t);
    write_params(t);
    float m = mse_sum / (float)((long long)ds->n * k);
    if (mse) *mse = m;
    if (!isfinite(m)) return mn_error(MYNN_ERR_NUMERIC, "FANN recipe: the MSE is not finite");
    return MYNN_OK;
}

mynn_status mynn_fann_train(mynn_net *net, const mynn_dataset *ds, const mynn_fann_options *o)
{
    mynn_fann_options def;
    if (!o) mynn_fann_options_default(&def), o = &def;
    mynn_fann_trainer *t;
    mynn_status s = mynn_fann_trainer_create(&t, net, o);
    if (s) return s;
    for (int e = 0; e < o->epochs && !s; e++) {
        clock_t c0 = clock();
        float mse;
        s = mynn_fann_epoch(t, ds, &mse);
        if (s) break;
        mynn_epoch_stats st = {.epoch = e, .lr = 0.0f, .train_loss = mse, .train_acc = -1.0f,
                               .val_loss = -1.0f, .val_acc = -1.0f,
                               .seconds = (double)(clock() - c0) / CLOCKS_PER_SEC};
        if (o->on_epoch && o->on_epoch(&st, o->user)) s = MYNN_ERR_STOPPED;
        /* fann_train_on_data's stop (fann_desired_error_reached): the
         * epoch's MSE, measured before its update, at or below the
         * desired error; with FANN's 0 that is an epoch of MSE exactly 0.
         * Training on from there would be no fixed point: iRprop- steps
         * every weight whose slope is 0 up by its step, every epoch. */
        else if (mse <= o->desired_error) break;
    }
    mynn_fann_trainer_free(t);
    return s;
}

mynn_status mynn_fann_init_weights(mynn_net *net, const mynn_fann_options *o, const mynn_dataset *ds,
                                   int nguyen_widrow, uint64_t seed)
{
    if (!net) return mn_error(MYNN_ERR_NULL, "mynn_fann_init_weights: net is NULL");
    if (!mynn_max_batch(net)) return mn_error(MYNN_ERR_STATE, "mynn_fann_init_weights: the network is not built");
    mynn_fann_options def;
    if (!o) mynn_fann_options_default(&def), o = &def;
    int n = mynn_n_layers(net);
    fann_layer_state *L = mn_calloc((size_t)n, sizeof *L, "FANN layers");
    if (!L) return MYNN_ERR_NOMEM;
    mynn_status s = describe(net, o, L, n);
    float lo_w = -0.1f, hi_w = 0.1f, lo_b = -0.1f, hi_b = 0.1f;
    if (!s && nguyen_widrow) {
        if (!ds || ds->n < 1 || !ds->x || ds->n_inputs != mynn_n_inputs(net)) {
            s = mn_error(MYNN_ERR_ARG, "mynn_fann_init_weights: Nguyen-Widrow needs the training inputs");
        } else {
            float mn = ds->x[0], mx = ds->x[0];
            for (size_t i = 0; i < (size_t)ds->n * ds->n_inputs; i++) {
                if (ds->x[i] < mn) mn = ds->x[i];
                if (ds->x[i] > mx) mx = ds->x[i];
            }
            long hidden = 0;
            for (int l = 0; l + 1 < n; l++) hidden += L[l].n_out;
            float f = (float)(pow((double)(0.7f * (double)hidden), (double)(1.0f / (double)ds->n_inputs)) /
                              (double)(mx - mn));
            if (!isfinite(f) || !(f > 0))
                s = mn_error(MYNN_ERR_ARG, "mynn_fann_init_weights: Nguyen-Widrow needs hidden units and "
                             "inputs that vary");
            lo_w = 0.0f, hi_w = f, lo_b = -f, hi_b = f;
        }
    }
    if (!s) {
        mynn_rng r;
        mynn_rng_seed(&r, seed);
        for (int l = 0; l < n; l++) {
            float *W = mynn_layer_weight(net, l), *B = mynn_layer_bias(net, l);
            for (int j = 0; j < L[l].n_out; j++) {
                for (int i = 0; i < L[l].n_in; i++)
                    W[(size_t)j * L[l].n_in + i] = L[l].c * (lo_w + (hi_w - lo_w) * mynn_rng_uniform(&r));
                B[j] = L[l].c * (lo_b + (hi_b - lo_b) * mynn_rng_uniform(&r));
            }
        }
    }
    free(L);
    return s;
}
