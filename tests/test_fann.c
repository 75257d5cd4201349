/* FANN's recipe against FANN itself: the same networks (several
 * activations and steepnesses, one and two hidden layers, both error
 * functions), the same synthetic data and the same initial weights, trained
 * by Debian's libfann (fann_train_epoch, FANN_TRAIN_RPROP) and by
 * mynn_fann_epoch; the weights must agree after 1, 10 and 100 epochs.
 *
 * Tolerance: both sides do the same float operations in the same order, so
 * on the same machine and compiler settings they agree bit for bit; the
 * test allows 4 ulps (relative 4.8e-7 of the weight, or 1e-9 absolute near
 * zero) so that a libfann built with fused multiply-adds, which round once
 * instead of twice, still passes while any difference in the algorithm
 * (a step rule, a clip, the error function) shows as a far larger gap.
 * Without libfann (libfann-dev) the comparison is skipped with a message;
 * the recipe's own checks (folding, Nguyen-Widrow, errors) run anyway. */
#include "mynn.h"
#include "check.h"

#include <stdint.h>
#ifdef MYNN_HAVE_FANN
#include <fann.h>
#endif

typedef struct config {
    const char *name;
    int layers[4], n_layers;          /* units per layer, inputs first */
    const char *spec;                 /* the mynn layers */
    int fann_hidden, fann_output;     /* FANN activations (as ints, FANN's enum) */
    float s_hidden, s_output;
    mynn_fann_errorfunc errfunc;
    int classify;                     /* 3 classes, targets -1/1 (tanh) or 0/1 */
} config;

/* Synthetic data: a smooth regression target or three blobs. */
static mynn_dataset *make_data(const config *c, int n)
{
    int d = c->layers[0], k = c->layers[c->n_layers - 1];
    mynn_dataset *ds = calloc(1, sizeof *ds);
    ds->n = n;
    ds->n_inputs = d;
    ds->n_outputs = k;
    ds->x = calloc((size_t)n * d, sizeof(float));
    ds->y = calloc((size_t)n * k, sizeof(float));
    mynn_rng r;
    mynn_rng_seed(&r, 2024);
    int tanh_out = strstr(c->spec, ":tanh") && strrchr(c->spec, ',') &&
                   strstr(strrchr(c->spec, ','), "tanh");
    for (int i = 0; i < n; i++) {
        float *x = ds->x + (size_t)i * d, *y = ds->y + (size_t)i * k;
        int cls = i % 3;
        for (int j = 0; j < d; j++) {
            float u = 2.0f * mynn_rng_uniform(&r) - 1.0f;
            x[j] = c->classify ? u * 0.6f + (j == cls % d ? 1.5f : -0.5f) : u;
        }
        if (c->classify) {
            for (int j = 0; j < k; j++) y[j] = j == cls ? 1.0f : tanh_out ? -1.0f : 0.0f;
        } else {
            float t = 0.6f * sinf(2.0f * x[0]) + 0.3f * x[1 % d] * x[0];
            for (int j = 0; j < k; j++) y[j] = t * (j + 1) / (float)k;
        }
    }
    return ds;
}

static void free_data(mynn_dataset *ds)
{
    free(ds->x);
    free(ds->y);
    free(ds);
}

/* FANN-layout initial weights [out × (in + 1)] per layer, U(-0.5, 0.5). */
static float *initial_weights(const config *c, size_t *n)
{
    *n = 0;
    for (int l = 1; l < c->n_layers; l++) *n += (size_t)c->layers[l] * (c->layers[l - 1] + 1);
    float *w = malloc(*n * sizeof *w);
    mynn_rng r;
    mynn_rng_seed(&r, 7);
    for (size_t i = 0; i < *n; i++) w[i] = mynn_rng_uniform(&r) - 0.5f;
    return w;
}

/* A mynn net with FANN weights w0 folded in (c = s or 2s: exact, powers of 2). */
static mynn_net *make_net(const config *c, const float *w0, int n)
{
    mynn_net *net = NULL;
    if (mynn_create(&net, c->layers[0]) || mynn_add_layers(net, c->spec) ||
        mynn_build(net, n, MYNN_INIT_AUTO, 1)) {
        mynn_free(net);
        return NULL;
    }
    size_t at = 0;
    for (int l = 0; l + 1 < c->n_layers; l++) {
        mynn_layer_info li;
        mynn_layer_get_info(net, l, &li);
        float s = l + 2 == c->n_layers ? c->s_output : c->s_hidden;
        float f = li.activation == MYNN_ACT_SIGMOID ? 2 * s : s;
        float *W = mynn_layer_weight(net, l), *B = mynn_layer_bias(net, l);
        int in = c->layers[l], out = c->layers[l + 1];
        for (int j = 0; j < out; j++) {
            for (int i = 0; i < in; i++) W[j * in + i] = f * w0[at++];
            B[j] = f * w0[at++];
        }
    }
    return net;
}

static mynn_fann_options options_of(const config *c)
{
    mynn_fann_options o;
    mynn_fann_options_default(&o);
    o.steepness_hidden = c->s_hidden;
    o.steepness_output = c->s_output;
    o.error_function = c->errfunc;
    return o;
}

/* Units in the last place between a and b (0 when equal). */
static double ulps(float a, float b)
{
    float m = fabsf(a) > fabsf(b) ? fabsf(a) : fabsf(b);
    if (a == b) return 0;
    if (m < 1e-30f) return fabsf(a - b) / 1e-37;
    return fabs((double)a - (double)b) / (double)(nextafterf(m, INFINITY) - m);
}

static double g_worst_ulps, g_worst_abs;

#ifdef MYNN_HAVE_FANN
static void compare_with_fann(const config *c)
{
    const int n = 60;
    mynn_dataset *ds = make_data(c, n);
    size_t nw;
    float *w0 = initial_weights(c, &nw);
    mynn_net *net = make_net(c, w0, n);
    mynn_fann_options o = options_of(c);
    mynn_fann_trainer *t = NULL;
    CHECK(net != NULL, "%s: net", c->name);
    if (net) CHECK_OK(mynn_fann_trainer_create(&t, net, &o));

    struct fann *ann = c->n_layers == 3
                           ? fann_create_standard(3, c->layers[0], c->layers[1], c->layers[2])
                           : fann_create_standard(4, c->layers[0], c->layers[1], c->layers[2], c->layers[3]);
    fann_set_activation_function_hidden(ann, (enum fann_activationfunc_enum)c->fann_hidden);
    fann_set_activation_function_output(ann, (enum fann_activationfunc_enum)c->fann_output);
    fann_set_activation_steepness_hidden(ann, c->s_hidden);
    fann_set_activation_steepness_output(ann, c->s_output);
    fann_set_train_error_function(ann, c->errfunc == MYNN_FANN_ERRORFUNC_TANH ? FANN_ERRORFUNC_TANH
                                                                            : FANN_ERRORFUNC_LINEAR);
    fann_set_training_algorithm(ann, FANN_TRAIN_RPROP);
    CHECK(fann_get_total_connections(ann) == nw, "%s: FANN has %u connections, we %zu", c->name,
          fann_get_total_connections(ann), nw);
    struct fann_connection *con = calloc(nw, sizeof *con);
    fann_get_connection_array(ann, con);
    /* FANN numbers its neurons layer by layer, each layer's bias last; a
     * neuron's connections are the previous layer's neurons then its bias. */
    size_t at = 0;
    unsigned first_prev = 0;
    int layout_ok = 1;
    for (int l = 1; l < c->n_layers; l++) {
        unsigned first = first_prev + (unsigned)c->layers[l - 1] + 1;
        for (int j = 0; j < c->layers[l]; j++)
            for (int i = 0; i <= c->layers[l - 1]; i++, at++) {
                layout_ok &= con[at].from_neuron == first_prev + (unsigned)i &&
                             con[at].to_neuron == first + (unsigned)j;
                con[at].weight = w0[at];
            }
        first_prev = first;
    }
    CHECK(layout_ok, "%s: FANN's connection layout is not the expected one", c->name);
    fann_set_weight_array(ann, con, (unsigned)nw);

    struct fann_train_data *td = fann_create_train((unsigned)n, (unsigned)ds->n_inputs,
                                                   (unsigned)ds->n_outputs);
    for (int i = 0; i < n; i++) {
        memcpy(td->input[i], ds->x + (size_t)i * ds->n_inputs, ds->n_inputs * sizeof(float));
        memcpy(td->output[i], ds->y + (size_t)i * ds->n_outputs, ds->n_outputs * sizeof(float));
    }
    double worst_u = 0, worst_a = 0, worst_mse = 0;
    for (int e = 1; t && e <= 100; e++) {
        float mse_f = fann_train_epoch(ann, td), mse_m = -1;
        CHECK_OK(mynn_fann_epoch(t, ds, &mse_m));
        double um = ulps(mse_f, mse_m);
        if (um > worst_mse) worst_mse = um;
        if (e != 1 && e != 10 && e != 100) continue;
        fann_get_connection_array(ann, con);
        size_t k = 0;
        double wu = 0, wa = 0;
        for (int l = 0; l + 1 < c->n_layers; l++) {
            const float *w = mynn_fann_layer_weights(t, l);
            size_t cnt = (size_t)c->layers[l + 1] * (c->layers[l] + 1);
            for (size_t i = 0; i < cnt; i++, k++) {
                double u = ulps(con[k].weight, w[i]), a = fabs((double)con[k].weight - w[i]);
                if (u > wu) wu = u;
                if (a > wa) wa = a;
            }
        }
        CHECK(wu <= 4 || wa <= 1e-9, "%s: epoch %d: weights differ by %.1f ulps (%.3g)", c->name, e, wu, wa);
        printf("  %s: epoch %3d: MSE %.6g, weights: largest difference %.0f ulps (%.3g)\n", c->name, e,
               (double)mse_f, wu, wa);
        if (wu > worst_u) worst_u = wu;
        if (wa > worst_a) worst_a = wa;
    }
    CHECK(worst_mse <= 4, "%s: FANN's MSE and ours differ by %.1f ulps", c->name, worst_mse);
    if (worst_u > g_worst_ulps) g_worst_ulps = worst_u;
    if (worst_a > g_worst_abs) g_worst_abs = worst_a;
    /* The folded parameters compute FANN's function: compare outputs.  Not
     * to the bit: mynn sums in its GEMM's order and uses tanhf and its own
     * sigmoid, so the outputs differ by rounding of sums of |w·x| terms
     * (weights grow to tens here): 1e-4 (outputs lie in [-1, 1] or near). */
    if (t && net) {
        float out[8];
        double wo = 0;
        for (int i = 0; i < n; i++) {
            fann_type *fo = fann_run(ann, ds->x + (size_t)i * ds->n_inputs);
            mynn_predict(net, ds->x + (size_t)i * ds->n_inputs, 1, out);
            for (int j = 0; j < ds->n_outputs; j++) {
                double dlt = fabs((double)fo[j] - out[j]);
                if (dlt > wo) wo = dlt;
            }
        }
        CHECK(wo < 1e-4, "%s: predictions of the folded model differ from FANN's by %.3g", c->name, wo);
        printf("  %s: folded model's predictions within %.2g of FANN's\n", c->name, wo);
    }
    fann_destroy_train(td);
    fann_destroy(ann);
    free(con);
    mynn_fann_trainer_free(t);
    mynn_free(net);
    free(w0);
    free_data(ds);
}
#endif

static const config g_configs[] = {
    {"regression 2-5-1 tanh/linear s=0.5 tanh-error", {2, 5, 1, 0}, 3, "5:tanh,1",
     5 /* FANN_SIGMOID_SYMMETRIC */, 0 /* FANN_LINEAR */, 0.5f, 0.5f, MYNN_FANN_ERRORFUNC_TANH, 0},
    {"regression 3-6-2 sigmoid/tanh s=1,0.5 linear-error", {3, 6, 2, 0}, 3, "6:sigmoid,2:tanh",
     3 /* FANN_SIGMOID */, 5, 1.0f, 0.5f, MYNN_FANN_ERRORFUNC_LINEAR, 0},
    {"classes 3-7-3 tanh/tanh s=0.5 tanh-error", {3, 7, 3, 0}, 3, "7:tanh,3:tanh",
     5, 5, 0.5f, 0.5f, MYNN_FANN_ERRORFUNC_TANH, 1},
    {"classes 3-4-5-3 tanh,tanh/sigmoid s=0.25,0.5 tanh-error", {3, 4, 5, 3}, 4,
     "4:tanh,5:tanh,3:sigmoid", 5, 3, 0.25f, 0.5f, MYNN_FANN_ERRORFUNC_TANH, 1},
};

static void test_against_fann(void)
{
#ifdef MYNN_HAVE_FANN
    for (size_t i = 0; i < sizeof g_configs / sizeof *g_configs; i++) compare_with_fann(&g_configs[i]);
    printf("  largest weight difference over all: %.0f ulps (%.3g)\n", g_worst_ulps, g_worst_abs);
#else
    SKIP("libfann-dev absent (apt-get install libfann-dev): FANN comparison not run");
#endif
}

/* ---- where training stops ------------------------------------------------ */

/* Two well separated classes, one-hot 0/1 targets for sigmoid outputs: a
 * table whose training MSE reaches exactly 0 within a few epochs. */
static mynn_dataset *separable_data(int n)
{
    mynn_dataset *ds = calloc(1, sizeof *ds);
    ds->n = n;
    ds->n_inputs = 4;
    ds->n_outputs = 2;
    ds->x = calloc((size_t)n * 4, sizeof(float));
    ds->y = calloc((size_t)n * 2, sizeof(float));
    mynn_rng r;
    mynn_rng_seed(&r, 99);
    for (int i = 0; i < n; i++) {
        int cls = i % 2;
        for (int j = 0; j < 4; j++)
            ds->x[i * 4 + j] = 0.6f * (2.0f * mynn_rng_uniform(&r) - 1.0f) + (j < 2 ? (cls ? 1.5f : -1.5f) : 0.0f);
        ds->y[i * 2 + cls] = 1.0f;
    }
    return ds;
}

static const config g_separable = {"separable 4-16-2 tanh/sigmoid", {4, 16, 2, 0}, 3, "16:tanh,2:sigmoid",
                                   5, 3, 0.5f, 0.5f, MYNN_FANN_ERRORFUNC_TANH, 1};

typedef struct stop_log {
    int epochs;
    float last_mse;
} stop_log;

static int log_epoch(const mynn_epoch_stats *s, void *user)
{
    stop_log *l = user;
    l->epochs = s->epoch + 1;
    l->last_mse = s->train_loss;
    return 0;
}

/* mynn_fann_train from w0 with desired error de, up to max_epochs. */
static mynn_net *train_to_stop(const mynn_dataset *ds, const float *w0, float de, int max_epochs,
                               stop_log *log)
{
    mynn_net *net = make_net(&g_separable, w0, ds->n);
    mynn_fann_options o = options_of(&g_separable);
    CHECK(o.desired_error == 0.0f, "FANN's default desired error is 0, got %g", (double)o.desired_error);
    o.desired_error = de;
    o.epochs = max_epochs;
    o.on_epoch = log_epoch;
    o.user = log;
    log->epochs = 0;
    if (net) CHECK_OK(mynn_fann_train(net, ds, &o));
    return net;
}

#ifdef MYNN_HAVE_FANN
static int g_fann_epochs;
static float g_fann_mse;

static int FANN_API count_epochs(struct fann *ann, struct fann_train_data *td, unsigned max_epochs,
                                 unsigned between, float desired, unsigned epochs)
{
    (void)td, (void)max_epochs, (void)between, (void)desired;
    g_fann_epochs = (int)epochs;
    g_fann_mse = fann_get_MSE(ann);
    return 0;
}

/* fann_train_on_data with desired error 0 from w0: its stop epoch and
 * final weights (into w, FANN's layout). */
static void fann_to_stop(const mynn_dataset *ds, const float *w0, size_t nw, int max_epochs, float *w)
{
    const config *c = &g_separable;
    struct fann *ann = fann_create_standard(3, c->layers[0], c->layers[1], c->layers[2]);
    fann_set_activation_function_hidden(ann, FANN_SIGMOID_SYMMETRIC);
    fann_set_activation_function_output(ann, FANN_SIGMOID);
    fann_set_training_algorithm(ann, FANN_TRAIN_RPROP);
    struct fann_connection *con = calloc(nw, sizeof *con);
    fann_get_connection_array(ann, con);
    for (size_t i = 0; i < nw; i++) con[i].weight = w0[i];   /* layout checked by test_against_fann */
    fann_set_weight_array(ann, con, (unsigned)nw);
    struct fann_train_data *td = fann_create_train((unsigned)ds->n, 4, 2);
    for (int i = 0; i < ds->n; i++) {
        memcpy(td->input[i], ds->x + (size_t)i * 4, 4 * sizeof(float));
        memcpy(td->output[i], ds->y + (size_t)i * 2, 2 * sizeof(float));
    }
    fann_set_callback(ann, count_epochs);
    g_fann_epochs = 0;
    fann_train_on_data(ann, td, (unsigned)max_epochs, 1, 0.0f);
    fann_get_connection_array(ann, con);
    for (size_t i = 0; i < nw; i++) w[i] = con[i].weight;
    fann_destroy_train(td);
    fann_destroy(ann);
    free(con);
}
#endif

/* FANN's weights of a net trained by the recipe: the parameters / c. */
static void unfold(mynn_net *net, float *w)
{
    size_t at = 0;
    for (int l = 0; l < 2; l++) {
        mynn_layer_info li;
        mynn_layer_get_info(net, l, &li);
        float c = li.activation == MYNN_ACT_SIGMOID ? 1.0f : 0.5f;   /* 2s or s, s = 0.5 */
        const float *W = mynn_layer_weight(net, l), *B = mynn_layer_bias(net, l);
        for (int j = 0; j < li.n_outputs; j++) {
            for (int i = 0; i < li.n_inputs; i++) w[at++] = W[j * li.n_inputs + i] / c;
            w[at++] = B[j] / c;
        }
    }
}

/* fann_train_on_data stops after the first epoch whose MSE is <= the
 * desired error, 0 by default: an epoch of MSE exactly 0.  The recipe
 * stops there too, with FANN's weights; with the desired error off it
 * trains on, and iRprop- then moves every weight of zero slope by its
 * step each epoch, so the weights leave FANN's. */
static void test_stops_where_fann_stops(void)
{
    const int n = 40, max_epochs = 300;
    mynn_dataset *ds = separable_data(n);
    size_t nw;
    float *w0 = initial_weights(&g_separable, &nw);
    float *wm = calloc(nw, sizeof *wm), *wf = calloc(nw, sizeof *wf);
    stop_log at_zero, off;
    mynn_net *net = train_to_stop(ds, w0, 0.0f, max_epochs, &at_zero);
    CHECK(at_zero.epochs > 1 && at_zero.epochs < 60 && at_zero.last_mse == 0.0f,
          "the recipe stops after the first epoch of MSE 0: stopped after %d epochs at MSE %g",
          at_zero.epochs, (double)at_zero.last_mse);
    if (net) unfold(net, wm);
    mynn_net *on = train_to_stop(ds, w0, -1.0f, max_epochs, &off);
    CHECK(off.epochs == max_epochs, "desired error off: trains all %d epochs, stopped at %d", max_epochs,
          off.epochs);
    printf("  mynn: stopped after epoch %d (MSE %g); with the desired error off it trains %d epochs\n",
           at_zero.epochs, (double)at_zero.last_mse, off.epochs);
#ifdef MYNN_HAVE_FANN
    fann_to_stop(ds, w0, nw, max_epochs, wf);
    CHECK(g_fann_epochs == at_zero.epochs, "FANN stopped after epoch %d (MSE %g), mynn after %d",
          g_fann_epochs, (double)g_fann_mse, at_zero.epochs);
    double worst = 0;
    for (size_t i = 0; i < nw; i++) {
        double u = ulps(wf[i], wm[i]);
        if (u > worst && fabs((double)wf[i] - wm[i]) > 1e-9) worst = u;
    }
    CHECK(worst <= 4, "final weights differ from FANN's by %.1f ulps", worst);
    printf("  FANN: stopped after epoch %d (MSE %g); final weights within %.0f ulps\n", g_fann_epochs,
           (double)g_fann_mse, worst);
#else
    (void)wf;
    printf("  libfann-dev absent: FANN's own stop not compared\n");
#endif
    mynn_free(net);
    mynn_free(on);
    free(wm);
    free(wf);
    free(w0);
    free_data(ds);
}

/* The recipe's own contract, with or without libfann. */
static void test_recipe_contract(void)
{
    const config *c = &g_configs[3];
    mynn_dataset *ds = make_data(c, 30);
    size_t nw;
    float *w0 = initial_weights(c, &nw);
    mynn_net *net = make_net(c, w0, 30);
    mynn_fann_options o = options_of(c);
    mynn_fann_trainer *t = NULL;
    CHECK_OK(mynn_fann_trainer_create(&t, net, &o));
    /* FANN's weights are the parameters unfolded: exactly w0 at the start. */
    size_t at = 0;
    int same = t != NULL;
    for (int l = 0; same && l < 3; l++) {
        const float *w = mynn_fann_layer_weights(t, l);
        size_t cnt = (size_t)c->layers[l + 1] * (c->layers[l] + 1);
        for (size_t i = 0; i < cnt; i++) same &= w[i] == w0[at++];
    }
    CHECK(same, "unfolded weights");
    CHECK(mynn_fann_layer_weights(t, 3) == NULL, "layer out of range");
    /* The MSE falls over 200 epochs (FANN's training converges). */
    float first = 0, last = 0;
    for (int e = 0; t && e < 200; e++) {
        float m;
        CHECK_OK(mynn_fann_epoch(t, ds, &m));
        if (e == 0) first = m;
        last = m;
    }
    CHECK(last < first * 0.5f, "MSE %g -> %g", (double)first, (double)last);
    mynn_fann_trainer_free(t);
    /* Activations FANN lacks, dropout, bad options. */
    mynn_net *bad = NULL;
    mynn_create(&bad, 3);
    mynn_add_layers(bad, "4:relu,3:sigmoid");
    mynn_build(bad, 4, MYNN_INIT_AUTO, 1);
    CHECK(mynn_fann_trainer_create(&t, bad, NULL) == MYNN_ERR_ARG, "relu");
    CHECK(strstr(mynn_last_error(), "activation relu is not one of FANN's"), "%s", mynn_last_error());
    mynn_free(bad);
    o.steepness_output = 0;
    CHECK(mynn_fann_trainer_create(&t, net, &o) == MYNN_ERR_ARG, "steepness 0");
    /* Nguyen-Widrow: weights in [0, f), biases in [-f, f), folded by c. */
    mynn_fann_options_default(&o);
    CHECK_OK(mynn_fann_init_weights(net, &o, ds, 1, 5));
    float mn = ds->x[0], mx = ds->x[0];
    for (int i = 0; i < 30 * 3; i++) mn = fminf(mn, ds->x[i]), mx = fmaxf(mx, ds->x[i]);
    float f = (float)(pow(0.7 * 9, 1.0 / 3) / (mx - mn));
    int in_range = 1;
    for (int l = 0; l < 3; l++) {
        mynn_layer_info li;
        mynn_layer_get_info(net, l, &li);
        float cf = li.activation == MYNN_ACT_SIGMOID ? 1.0f : 0.5f;
        const float *W = mynn_layer_weight(net, l), *B = mynn_layer_bias(net, l);
        for (int i = 0; i < li.n_inputs * li.n_outputs; i++) in_range &= W[i] >= 0 && W[i] < cf * f * 1.0001f;
        for (int j = 0; j < li.n_outputs; j++) in_range &= B[j] >= -cf * f && B[j] < cf * f * 1.0001f;
    }
    CHECK(in_range, "Nguyen-Widrow range (f = %g)", (double)f);
    CHECK_OK(mynn_fann_init_weights(net, &o, NULL, 0, 5));
    const float *W = mynn_layer_weight(net, 2);
    CHECK(fabsf(W[0]) <= 0.1f && W[0] != 0, "U(-0.1, 0.1) for a sigmoid output (c = 1): %g", (double)W[0]);
    mynn_free(net);
    free(w0);
    free_data(ds);
}

int main(void)
{
    CK_BEGIN("test_fann");
    RUN(test_against_fann);
    RUN(test_recipe_contract);
    RUN(test_stops_where_fann_stops);
    return CK_END();
}
