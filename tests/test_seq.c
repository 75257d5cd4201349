/* Sequences: the recurrent layers (rnn, lstm, gru), the embedding and the
 * dense layer on every step, checked against central differences of an
 * independent double-precision forward written here (PyTorch's equations):
 * T = 1, 2, 7; batch 1 and 3; one and both directions; every step and the
 * last; odd sizes (F = 3, H = 5); two stacked layers; a channel-major 1-D
 * input read as steps; embedding gradients.  Then shapes, the errors a
 * sequence model gives, saving and loading, and thread counts. */
#include "check.h"
#include "mynn.h"
#include "network/network.h"

#include <unistd.h>

enum { K_RNN_TANH, K_RNN_RELU, K_LSTM, K_GRU };
static const char *const kind_item[] = {"rnn", "rnn", "lstm", "gru"};
static const int kind_gates[] = {1, 1, 4, 3};

typedef struct {
    int kind, H, every, bi;
} rec;

/* ---- the independent reference, in double ------------------------------ */

static double sig(double a) { return 1.0 / (1.0 + exp(-a)); }

/* One recurrent layer on one sample: x [T][F] -> y ([T][D·H] or [D·H]);
 * p: its parameters in the model file's order.  Returns the count used. */
static size_t ref_rec(const rec *r, const double *p, const double *x, int T, int F, double *y)
{
    const int H = r->H, G = kind_gates[r->kind], D = r->bi ? 2 : 1;
    const size_t per = (size_t)G * H * F + (size_t)G * H * H + 2 * (size_t)G * H;
    for (int d = 0; d < D; d++) {
        const double *wih = p + d * per, *whh = wih + G * H * F, *bih = whh + G * H * H, *bhh = bih + G * H;
        double h[64] = {0}, c[64] = {0}, a[256], ah[256];
        for (int s = 0; s < T; s++) {
            int t = d ? T - 1 - s : s;
            for (int g = 0; g < G * H; g++) {
                a[g] = bih[g];
                for (int f = 0; f < F; f++) a[g] += wih[g * F + f] * x[t * F + f];
                ah[g] = bhh[g];
                for (int k = 0; k < H; k++) ah[g] += whh[g * H + k] * h[k];
            }
            double hn[64];
            for (int j = 0; j < H; j++) {
                if (r->kind == K_LSTM) {
                    double i = sig(a[j] + ah[j]), f = sig(a[H + j] + ah[H + j]);
                    double gg = tanh(a[2 * H + j] + ah[2 * H + j]), o = sig(a[3 * H + j] + ah[3 * H + j]);
                    c[j] = f * c[j] + i * gg;
                    hn[j] = o * tanh(c[j]);
                } else if (r->kind == K_GRU) {
                    double rr = sig(a[j] + ah[j]), z = sig(a[H + j] + ah[H + j]);
                    double n = tanh(a[2 * H + j] + rr * ah[2 * H + j]);
                    hn[j] = (1 - z) * n + z * h[j];
                } else {
                    double v = a[j] + ah[j];
                    hn[j] = r->kind == K_RNN_TANH ? tanh(v) : (v > 0 ? v : 0);
                }
            }
            for (int j = 0; j < H; j++) h[j] = hn[j];
            if (r->every)
                for (int j = 0; j < H; j++) y[(size_t)t * D * H + d * H + j] = h[j];
        }
        if (!r->every)
            for (int j = 0; j < H; j++) y[d * H + j] = h[j];
    }
    return D * per;
}

/* A test network: [embedding V×E,] recurrent layers, then a dense layer of
 * K outputs (identity) on the last output (on every step when the last
 * recurrent layer returns every step); MSE.  x is read as T × F (ids when
 * V > 0); transposed: x is stored F × T (channel-major) and an identity
 * activation layer comes first, so the recurrent layer reads it as T steps
 * of F. */
typedef struct {
    int V, E;
    int n_rec;
    rec r[2];
    int T, F, K, transposed;
} model;

static int outs_of(const rec *r) { return (r->bi ? 2 : 1) * r->H; }

static double ref_cost(const model *m, const double *p, const double *x, const double *y, int n)
{
    double total = 0;
    const int T = m->T;
    for (int b = 0; b < n; b++) {
        double in[7 * 64], out[7 * 64];
        int F = m->F, steps = T;
        const double *q = p;
        const double *xs = x + (size_t)b * T * m->F;
        if (m->V) {
            for (int t = 0; t < T; t++)
                for (int e = 0; e < m->E; e++) in[t * m->E + e] = q[(int)xs[t] * m->E + e];
            q += m->V * m->E;
            F = m->E;
        } else {
            for (int t = 0; t < T; t++)
                for (int f = 0; f < F; f++)
                    in[t * F + f] = m->transposed ? xs[f * T + t] : xs[t * F + f];
        }
        for (int l = 0; l < m->n_rec; l++) {
            q += ref_rec(&m->r[l], q, in, steps, F, out);
            F = outs_of(&m->r[l]);
            if (!m->r[l].every) steps = 1;
            memcpy(in, out, sizeof(double) * steps * F);
        }
        const double *w = q, *bias = q + m->K * F;
        const int outs = steps * m->K;
        for (int t = 0; t < steps; t++)
            for (int k = 0; k < m->K; k++) {
                double z = bias[k];
                for (int f = 0; f < F; f++) z += w[k * F + f] * in[t * F + f];
                double e = z - y[(size_t)b * outs + t * m->K + k];
                total += e * e / outs;
            }
    }
    return total / n;
}

/* ---- the library's model --------------------------------------------------- */

static mynn_net *build(const model *m, int n, uint64_t seed)
{
    mynn_net *net = NULL;
    char spec[256], item[64];
    int at = 0;
    CHECK_OK(mynn_create(&net, m->T * m->F));
    if (!net) return NULL;
    if (m->transposed) CHECK_OK(mynn_set_input_shape_1d(net, m->F, m->T));
    else CHECK_OK(mynn_set_input_shape_1d(net, m->T, m->F));
    spec[0] = '\0';
    if (m->V) at += snprintf(spec + at, sizeof spec - at, "embedding:%d:%d,", m->V, m->E);
    if (m->transposed) at += snprintf(spec + at, sizeof spec - at, "identity,");
    for (int l = 0; l < m->n_rec; l++) {
        const rec *r = &m->r[l];
        snprintf(item, sizeof item, "%s:%d%s%s%s,", kind_item[r->kind], r->H, r->every ? ":seq" : "",
                 r->bi ? ":bi" : "", r->kind == K_RNN_RELU ? ":relu" : "");
        at += snprintf(spec + at, sizeof spec - at, "%s", item);
    }
    snprintf(spec + at, sizeof spec - at, "%d", m->K);
    CHECK_OK(mynn_add_layers(net, spec));
    CHECK_OK(mynn_set_loss(net, MYNN_LOSS_MSE));
    CHECK_OK(mynn_build(net, n, MYNN_INIT_AUTO, seed));
    if (!mynn_max_batch(net)) {
        fprintf(stderr, "  cannot build %s\n", spec);
        mynn_free(net);
        return NULL;
    }
    return net;
}

static double rel_err(const float *lib, const double *ref, size_t n)
{
    double diff = 0, scale = 1e-6;
    for (size_t i = 0; i < n; i++) {
        double d = fabs(lib[i] - ref[i]);
        diff = d > diff ? d : diff;
        scale = fabs(ref[i]) > scale ? fabs(ref[i]) : scale;
    }
    return diff / scale;
}

static double g_worst;

/* Every parameter's gradient and (without an embedding) dX against the
 * reference's central differences; the cost against the reference's. */
static void check_model(const model *m, int n, uint64_t seed, const char *what)
{
    mynn_net *net = build(m, n, seed);
    if (!net) return;
    mynn_rng r;
    mynn_rng_seed(&r, seed * 31 + 7);
    size_t np;
    float *p = mynn_params(net, &np);
    const int d = m->T * m->F, k = mynn_n_outputs(net);
    static float x[3 * 7 * 8], y[3 * 7 * 8], dx[3 * 7 * 8];
    static double xd[3 * 7 * 8], yd[3 * 7 * 8], pd[8192], gref[8192];
    CHECK(np <= 8192, "%zu parameters", np);
    for (size_t i = 0; i < np; i++) pd[i] = p[i] = (float)(mynn_rng_uniform(&r) - 0.5);
    for (int i = 0; i < n * d; i++)
        xd[i] = x[i] = m->V ? (float)mynn_rng_below(&r, (uint64_t)m->V) : (float)(2 * mynn_rng_uniform(&r) - 1);
    for (int i = 0; i < n * k; i++) yd[i] = y[i] = (float)(mynn_rng_uniform(&r) - 0.5);

    mn_forward(net, x, n, 1);
    double c = mn_backward_dx(net, y, n, m->V ? NULL : dx);
    double cref = ref_cost(m, pd, xd, yd, n);
    CHECK(fabs(c - cref) <= 1e-5 * (1 + fabs(cref)), "%s: cost %.9g vs reference %.9g", what, c, cref);

    const double h = 1e-5;
    for (size_t i = 0; i < np; i++) {
        double keep = pd[i];
        pd[i] = keep + h;
        double up = ref_cost(m, pd, xd, yd, n);
        pd[i] = keep - h;
        double down = ref_cost(m, pd, xd, yd, n);
        pd[i] = keep;
        gref[i] = (up - down) / (2 * h);
    }
    /* per tensor */
    const float *g = mynn_grads(net, NULL);
    for (int l = 0; l < mynn_n_layers(net); l++) {
        const char *name;
        for (int t = 0; (name = mynn_layer_tensor_name(net, l, t)); t++) {
            int rank;
            size_t dims[4];
            const float *v = mynn_layer_tensor(net, l, name, &rank, dims);
            size_t cnt = 1;
            for (int j = 0; j < rank; j++) cnt *= dims[j];
            size_t off = (size_t)(v - p);
            double e = rel_err(g + off, gref + off, cnt);
            CHECK(e <= 1e-4, "%s: layer %d %s rel err %.3g", what, l + 1, name, e);
            g_worst = e > g_worst ? e : g_worst;
        }
    }
    if (!m->V) {
        for (int i = 0; i < n * d; i++) {
            double keep = xd[i];
            xd[i] = keep + h;
            double up = ref_cost(m, pd, xd, yd, n);
            xd[i] = keep - h;
            double down = ref_cost(m, pd, xd, yd, n);
            xd[i] = keep;
            gref[i] = (up - down) / (2 * h);
        }
        double e = rel_err(dx, gref, (size_t)n * d);
        CHECK(e <= 1e-4, "%s: dX rel err %.3g", what, e);
        g_worst = e > g_worst ? e : g_worst;
    }
    mynn_free(net);
}

static void test_grad_single_layers(void)
{
    static const int Ts[] = {1, 2, 7};
    char what[128];
    int cases = 0;
    for (int kind = 0; kind < 4; kind++)
        for (int ti = 0; ti < 3; ti++)
            for (int n = 1; n <= 3; n += 2)
                for (int every = 0; every < 2; every++)
                    for (int bi = 0; bi < 2; bi++) {
                        model m = {.n_rec = 1, .r = {{kind, 5, every, bi}}, .T = Ts[ti], .F = 3, .K = 2};
                        snprintf(what, sizeof what, "%s%s T=%d n=%d %s%s", kind_item[kind],
                                 kind == K_RNN_RELU ? ":relu" : "", Ts[ti], n, every ? "seq" : "last",
                                 bi ? " bi" : "");
                        check_model(&m, n, 100 + cases++, what);
                    }
    printf("  %d models, worst relative error %.3g\n", cases, g_worst);
}

static void test_grad_stacked(void)
{
    for (int kind = 0; kind < 4; kind++)
        for (int bi = 0; bi < 2; bi++) {
            model m = {.n_rec = 2, .r = {{kind, 5, 1, bi}, {(kind + 1) % 4, 4, 0, 0}}, .T = 4, .F = 3, .K = 2};
            char what[64];
            snprintf(what, sizeof what, "%s:5:seq%s then %s:4", kind_item[kind], bi ? ":bi" : "",
                     kind_item[(kind + 1) % 4]);
            check_model(&m, 3, 7 + kind, what);
        }
}

static void test_grad_embedding(void)
{
    model m = {.V = 7, .E = 3, .n_rec = 1, .r = {{K_LSTM, 5, 1, 0}}, .T = 6, .F = 1, .K = 2};
    check_model(&m, 3, 11, "embedding:7:3 then lstm:5:seq");
    model g = {.V = 4, .E = 2, .n_rec = 1, .r = {{K_GRU, 3, 0, 1}}, .T = 5, .F = 1, .K = 3};
    check_model(&g, 1, 12, "embedding:4:2 then gru:3:bi");
}

/* A 1-D layer output C × L (channel-major) is read as L steps of C. */
static void test_grad_channel_major(void)
{
    model m = {.n_rec = 1, .r = {{K_LSTM, 5, 1, 1}}, .T = 4, .F = 3, .K = 2, .transposed = 1};
    check_model(&m, 3, 13, "identity on 3x4, then lstm:5:seq:bi");
    model g = {.n_rec = 1, .r = {{K_GRU, 4, 0, 0}}, .T = 5, .F = 2, .K = 1, .transposed = 1};
    check_model(&g, 1, 14, "identity on 2x5, then gru:4");
}

/* The embedding's gradient rows: only those used, and rows used by an
 * earlier batch and not this one are zero again. */
static void test_embedding_rows(void)
{
    mynn_net *net = NULL;
    CHECK_OK(mynn_create(&net, 2));
    CHECK_OK(mynn_add_layers(net, "embedding:5:2,flatten,1"));
    CHECK_OK(mynn_build(net, 2, MYNN_INIT_AUTO, 1));
    if (!mynn_max_batch(net)) return;
    float x1[4] = {0, 1, 1, 0}, x2[4] = {3, 3, 3, 3}, y[2] = {1, -1};
    const float *g = mynn_grads(net, NULL);
    CHECK_OK(mynn_compute_gradients(net, x1, y, 2, NULL));
    CHECK(g[0] != 0 && g[2] != 0 && g[6] == 0 && g[8] == 0, "rows 0 and 1 used: %g %g %g", g[0], g[2], g[6]);
    CHECK_OK(mynn_compute_gradients(net, x2, y, 2, NULL));
    CHECK(g[0] == 0 && g[1] == 0 && g[2] == 0 && g[3] == 0 && g[6] != 0, "rows 0, 1 cleared, 3 used: %g %g %g",
          g[0], g[2], g[6]);
    /* token ids take no input transform */
    float shift[2] = {0, 0}, scale[2] = {1, 1};
    mynn_status st = mynn_set_input_transform(net, "custom", shift, scale);
    CHECK(st == MYNN_ERR_ARG && strstr(mynn_last_error(), "layer 1 (embedding) reads token ids"), "%s",
          mynn_last_error());
    /* an id outside the vocabulary, or not an integer: an error naming it */
    float bad[4] = {0, 1, 5, 0};
    mynn_status s = mynn_compute_gradients(net, bad, y, 2, NULL);
    CHECK(s == MYNN_ERR_ARG && strstr(mynn_last_error(), "sample 2, position 1: token id 5"), "%s",
          mynn_last_error());
    bad[2] = 1.5f;
    float out[2];
    s = mynn_predict(net, bad, 2, out);
    CHECK(s == MYNN_ERR_ARG && strstr(mynn_last_error(), "token id 1.5"), "%s", mynn_last_error());
    mynn_free(net);
}

static int spec_error(int inputs, const char *shape, const char *spec, const char *want)
{
    mynn_net *net = NULL;
    mynn_create(&net, inputs);
    int c, l;
    if (shape && sscanf(shape, "%dx%d", &c, &l) == 2) mynn_set_input_shape_1d(net, c, l);
    mynn_status s = mynn_add_layers(net, spec);
    int ok = s != MYNN_OK && strstr(mynn_last_error(), want);
    CHECK(ok, "%s: want an error with \"%s\", got %s: %s", spec, want, mynn_status_name(s), mynn_last_error());
    mynn_free(net);
    return ok;
}

static void test_shapes_and_errors(void)
{
    mynn_net *net = NULL;
    CHECK_OK(mynn_create(&net, 28 * 28));
    CHECK_OK(mynn_set_input_shape_1d(net, 28, 28));
    CHECK_OK(mynn_add_layers(net, "lstm:16:seq:bi,gru:8:seq,dropout:0.1,4:relu,rnn:6:relu,3:softmax"));
    mynn_layer_info li;
    CHECK_OK(mynn_layer_get_info(net, 0, &li));
    CHECK(li.out_steps == 28 && li.n_outputs == 28 * 32, "lstm:16:seq:bi: %d steps, %d outputs", li.out_steps,
          li.n_outputs);
    CHECK_OK(mynn_layer_get_info(net, 3, &li));
    CHECK(li.in_steps == 28 && li.out_steps == 28 && li.n_outputs == 28 * 4 && li.n_params == 4 * 8 + 4,
          "dense on every step: %d steps, %d outputs, %zu parameters", li.out_steps, li.n_outputs, li.n_params);
    CHECK_OK(mynn_layer_get_info(net, 4, &li));
    CHECK(li.out_steps == 0 && li.n_outputs == 6, "rnn:6 last step: %d outputs", li.n_outputs);
    CHECK_OK(mynn_build(net, 4, MYNN_INIT_AUTO, 1));
    char item[64];
    CHECK_OK(mynn_layer_describe(net, 4, item, sizeof item, NULL, 0, NULL));
    CHECK(strcmp(item, "rnn:6:relu") == 0, "%s", item);
    CHECK_OK(mynn_layer_describe(net, 0, item, sizeof item, NULL, 0, NULL));
    CHECK(strcmp(item, "lstm:16:seq:bi") == 0, "%s", item);
    CHECK(strcmp(mynn_layer_tensor_name(net, 0, 4), "weight_ih_l0_reverse") == 0 &&
          !mynn_layer_tensor_name(net, 0, 8), "tensor names");
    mynn_free(net);

    spec_error(12, "3x4", "lstm:8:seq,conv1d:4:3", "conv does not read sequences");
    spec_error(12, "3x4", "lstm:8:seq,batchnorm", "batchnorm does not read sequences");
    spec_error(12, "3x4", "lstm:0", "HIDDEN in 1..");
    spec_error(12, "3x4", "lstm:8:sideways", "unknown setting \"sideways\"");
    spec_error(12, "3x4", "rnn:8:gelu", "unknown setting \"gelu\"");
    spec_error(12, "3x4", "8,embedding:4:2", "must be the network input");
    spec_error(12, "3x4", "embedding:4", "expected embedding:VOCAB:DIM");
}

/* A 2-D feature map is not a sequence. */
static void test_feature_map_refused(void)
{
    mynn_net *net = NULL;
    CHECK_OK(mynn_create(&net, 36));
    CHECK_OK(mynn_set_input_shape(net, 1, 6, 6));
    mynn_status s = mynn_add_layers(net, "conv:2:3,lstm:4");
    CHECK(s == MYNN_ERR_SHAPE && strstr(mynn_last_error(), "2-D feature map"), "%s", mynn_last_error());
    mynn_free(net);
}

/* Save, load: the same outputs; the tensors under PyTorch's names. */
static void test_save_load(void)
{
    mynn_net *net = NULL, *back = NULL;
    CHECK_OK(mynn_create(&net, 5 * 3));
    CHECK_OK(mynn_set_input_shape_1d(net, 5, 3));
    CHECK_OK(mynn_add_layers(net, "gru:4:seq:bi,lstm:3,rnn:2:relu:seq,2"));
    CHECK_OK(mynn_build(net, 4, MYNN_INIT_AUTO, 3));
    if (!mynn_max_batch(net)) return;
    char path[] = "/tmp/mynn_seq_XXXXXX";
    int fd = mkstemp(path);
    if (fd >= 0) close(fd);
    float x[4 * 15], y1[4 * 2], y2[4 * 2];
    for (int i = 0; i < 60; i++) x[i] = (float)sin(i * 0.7);
    CHECK_OK(mynn_predict(net, x, 4, y1));
    CHECK_OK(mynn_save(net, path));
    CHECK_OK(mynn_load(&back, path, 4));
    if (back) {
        CHECK_OK(mynn_predict(back, x, 4, y2));
        CHECK(memcmp(y1, y2, sizeof y1) == 0, "outputs after loading differ");
        int rank;
        size_t dims[4];
        CHECK(mynn_layer_tensor(back, 0, "weight_hh_l0_reverse", &rank, dims) && rank == 2 && dims[0] == 12 &&
              dims[1] == 4, "gru weight_hh_l0_reverse [12, 4]");
        CHECK(mynn_layer_tensor(back, 1, "weight_ih_l0", &rank, dims) && dims[0] == 12 && dims[1] == 8,
              "lstm weight_ih_l0 [12, 8]");
    }
    mynn_free(back);
    mynn_free(net);
    unlink(path);
}

/* Training: the same bits with 1 and 2 threads. */
static void test_threads_bit_identical(void)
{
    static float params[2][16384];
    size_t np = 0;
    for (int th = 1; th <= 2; th++) {
        mynn_set_threads(th);
        mynn_net *net = NULL;
        CHECK_OK(mynn_create(&net, 6 * 4));
        CHECK_OK(mynn_set_input_shape_1d(net, 6, 4));
        CHECK_OK(mynn_add_layers(net, "lstm:24:seq:bi,gru:16,3:softmax"));
        CHECK_OK(mynn_build(net, 32, MYNN_INIT_AUTO, 5));
        if (!mynn_max_batch(net)) return;
        static float x[32 * 24], y[32 * 3];
        for (int i = 0; i < 32 * 24; i++) x[i] = (float)cos(i * 0.37);
        for (int i = 0; i < 32; i++) y[i * 3 + i % 3] = 1;
        for (int step = 0; step < 5; step++) CHECK_OK(mynn_train_step(net, x, y, 32, 0.1f, NULL));
        float *p = mynn_params(net, &np);
        if (np <= 16384) memcpy(params[th - 1], p, np * sizeof *p);
        mynn_free(net);
    }
    mynn_set_threads(0);
    CHECK(np <= 16384 && memcmp(params[0], params[1], np * sizeof(float)) == 0, "1 and 2 threads differ");
}

/* ---- text ------------------------------------------------------------------ */

static void test_vocab(void)
{
    const char text[] = "h\xc3\xa9llo w\xc3\xb6rld \xe2\x82\xac";   /* héllo wörld € */
    mynn_vocab *v = NULL;
    CHECK_OK(mynn_vocab_build(text, strlen(text), 0, &v));
    if (!v) return;
    CHECK(mynn_vocab_size(v) == 10, "10 symbols, got %d", mynn_vocab_size(v));   /* ' ' d h l o r w é ö € */
    float ids[32];
    size_t n = 0;
    CHECK_OK(mynn_vocab_encode(v, text, strlen(text), ids, &n));
    CHECK(n == 13, "13 characters, got %zu", n);
    char back[64] = "", ch[5];
    for (size_t i = 0; i < n; i++) {
        CHECK(mynn_vocab_decode(v, (int)ids[i], ch) > 0, "decode %g", (double)ids[i]);
        strcat(back, ch);
    }
    CHECK(strcmp(back, text) == 0, "round trip: %s", back);
    CHECK(ids[0] == 2 && ids[12] == 9, "ids sorted by code point: h=%g €=%g", (double)ids[0], (double)ids[12]);
    mynn_status s = mynn_vocab_encode(v, "hex", 3, ids, &n);
    CHECK(s == MYNN_ERR_ARG && strstr(mynn_last_error(), "\"e\" (U+0065) at byte 1"), "%s", mynn_last_error());
    /* the vocabulary in a model's metadata, through a file */
    mynn_net *net = NULL, *back_net = NULL;
    CHECK_OK(mynn_create(&net, 4));
    CHECK_OK(mynn_add_layers(net, "embedding:10:3,gru:4:seq,10:softmax"));
    CHECK_OK(mynn_set_loss(net, MYNN_LOSS_CE));
    CHECK_OK(mynn_build(net, 2, MYNN_INIT_AUTO, 1));
    CHECK(mynn_n_targets(net) == 4 && mynn_n_outputs(net) == 40, "targets %d (ids per step), outputs %d",
          mynn_n_targets(net), mynn_n_outputs(net));
    CHECK_OK(mynn_set_vocab(net, v));
    char path[] = "/tmp/mynn_vocab_XXXXXX";
    int fd = mkstemp(path);
    if (fd >= 0) close(fd);
    CHECK_OK(mynn_save(net, path));
    CHECK_OK(mynn_load(&back_net, path, 1));
    mynn_vocab *v2 = NULL;
    if (back_net) CHECK_OK(mynn_get_vocab(back_net, &v2));
    if (v2) {
        CHECK(mynn_vocab_size(v2) == 10 && mynn_vocab_decode(v2, 9, ch) == 3 && !strcmp(ch, "\xe2\x82\xac"),
              "vocabulary after loading");
    }
    mynn_vocab_free(v2);
    mynn_free(back_net);
    mynn_free(net);
    unlink(path);
    mynn_vocab_free(v);

    /* invalid UTF-8: an error naming the byte; as bytes it is fine */
    const char bad[] = "ab\xff" "c";
    s = mynn_vocab_build(bad, 4, 0, &v);
    CHECK(s == MYNN_ERR_FORMAT && strstr(mynn_last_error(), "byte 2 (0xff) is not valid UTF-8"), "%s",
          mynn_last_error());
    CHECK_OK(mynn_vocab_build(bad, 4, 1, &v));
    CHECK(v && mynn_vocab_size(v) == 4 && mynn_vocab_is_bytes(v), "bytes vocabulary");
    mynn_vocab_free(v);
    const char overlong[] = "\xc0\xaf", surrogate[] = "\xed\xa0\x80", cut[] = "a\xe2\x82";
    CHECK(mynn_vocab_build(overlong, 2, 0, &v) == MYNN_ERR_FORMAT, "overlong form refused");
    CHECK(mynn_vocab_build(surrogate, 3, 0, &v) == MYNN_ERR_FORMAT, "surrogate refused");
    CHECK(mynn_vocab_build(cut, 3, 0, &v) == MYNN_ERR_FORMAT && strstr(mynn_last_error(), "byte 1"),
          "truncated sequence: %s", mynn_last_error());
    CHECK(mynn_vocab_build("", 0, 0, &v) == MYNN_ERR_ARG && strstr(mynn_last_error(), "empty"), "empty text");
}

static void test_text_windows(void)
{
    float ids[11];
    for (int i = 0; i < 11; i++) ids[i] = (float)i;
    mynn_dataset *tr = NULL, *va = NULL;
    CHECK_OK(mynn_text_dataset(ids, 11, 3, 0.34, &tr, &va));   /* 10 / 3 = 3 windows: 2 + 1 */
    if (tr && va) {
        CHECK(tr->n == 2 && va->n == 1 && tr->n_inputs == 3 && tr->n_outputs == 3, "windows %d + %d", tr->n, va->n);
        CHECK(tr->x[3] == 3 && tr->y[3] == 4 && tr->y[5] == 6, "window 1: x 3.. y 4..");
        CHECK(va->x[0] == 6 && va->y[2] == 9, "the tail: x 6.. y ..9");
    }
    mynn_dataset_free(tr);
    mynn_dataset_free(va);
    mynn_status s = mynn_text_dataset(ids, 11, 11, 0.0, &tr, NULL);
    CHECK(s == MYNN_ERR_ARG && strstr(mynn_last_error(), "--seq 11 is longer than the text"), "%s",
          mynn_last_error());
}

/* A language model learns a repeating text, and its stream (one character
 * at a time, the state carried) gives at every step what the whole model
 * gives for the window so far. */
static void test_lm_and_stream(void)
{
    const char *text = "abcabdabcabdabcabdabcabdabcabdabcabdabcabdabcabdabcabdabcabdabcabdabcabdabcabd";
    mynn_vocab *v = NULL;
    CHECK_OK(mynn_vocab_build(text, strlen(text), 0, &v));
    if (!v) return;
    float ids[128];
    size_t n = 0;
    CHECK_OK(mynn_vocab_encode(v, text, strlen(text), ids, &n));
    mynn_dataset *tr = NULL;
    CHECK_OK(mynn_text_dataset(ids, n, 6, 0.0, &tr, NULL));
    mynn_net *net = NULL, *st = NULL;
    CHECK_OK(mynn_create(&net, 6));
    CHECK_OK(mynn_add_layers(net, "embedding:4:8,lstm:16:seq,gru:12:seq,4:softmax"));
    CHECK_OK(mynn_set_loss(net, MYNN_LOSS_CE));
    CHECK_OK(mynn_build(net, 4, MYNN_INIT_AUTO, 2));
    if (!tr || !mynn_max_batch(net)) return;
    mynn_fit_options o;
    mynn_fit_options_default(&o);
    mynn_optim_config_default(&o.optim, MYNN_OPT_ADAM);
    o.optim.lr = 0.02f;
    o.epochs = 60;
    o.batch_size = 4;
    CHECK_OK(mynn_fit(net, tr, NULL, &o));
    mynn_metrics m;
    CHECK_OK(mynn_evaluate(net, tr, &m, NULL));
    /* the first character of each window cannot be known (1/3 of a step's
     * ids follow "ab" ambiguously as c or d): the rest can */
    CHECK(m.loss < 0.45f, "loss per character %g", (double)m.loss);
    CHECK_OK(mynn_stream_create(net, &st));
    if (st) {
        float y[6 * 4], ys[4];
        CHECK_OK(mynn_predict(net, ids + 6, 1, y));
        double worst = 0;
        for (int t = 0; t < 6; t++) {
            CHECK_OK(mynn_stream_step(st, ids + 6 + t, ys));
            for (int k = 0; k < 4; k++) worst = fmax(worst, fabs(ys[k] - y[t * 4 + k]));
        }
        CHECK(worst < 1e-5, "stream vs whole window: %g", worst);
        CHECK_OK(mynn_stream_reset(st));
        CHECK_OK(mynn_stream_step(st, ids + 6, ys));
        CHECK(fabs(ys[0] - y[0]) < 1e-5, "after a reset, the first step again");
    }
    mynn_free(st);
    /* no stream of a bidirectional layer */
    mynn_net *bi = NULL;
    CHECK_OK(mynn_create(&bi, 6));
    CHECK_OK(mynn_add_layers(bi, "embedding:4:3,lstm:5:bi,4:softmax"));
    CHECK_OK(mynn_build(bi, 1, MYNN_INIT_AUTO, 1));
    mynn_status s = mynn_stream_create(bi, &st);
    CHECK(s == MYNN_ERR_ARG && strstr(mynn_last_error(), "backwards"), "%s", mynn_last_error());
    /* targets that are not class ids */
    float x[6] = {0, 1, 2, 0, 1, 2}, yb[6] = {1, 2, 0, 1, 2, 4};
    s = mynn_compute_gradients(net, x, yb, 1, NULL);
    CHECK(s == MYNN_ERR_ARG && strstr(mynn_last_error(), "sample 1, step 6: 4 is not a class id in 0..3"), "%s",
          mynn_last_error());
    mynn_free(bi);
    mynn_free(net);
    mynn_dataset_free(tr);
    mynn_vocab_free(v);
}

/* Debian's fortunes (2.58 MB of UTF-8): every file's vocabulary, encoded
 * and decoded back byte for byte, and cut into windows. */
static void test_fortunes(void)
{
    char *text = NULL;
    size_t len = 0, n = 0;
    if (access("/usr/share/games/fortunes/fortunes", R_OK))
        SKIP("Debian's fortunes is not installed (apt-get install fortunes)");
    CHECK_OK(mynn_read_text("/usr/share/games/fortunes/fortunes", &text, &len));
    mynn_vocab *v = NULL;
    CHECK_OK(mynn_vocab_build(text, len, 0, &v));
    float *ids = malloc(len * sizeof *ids);
    char *back = malloc(len + 1);
    if (!v || !ids || !back) return;
    CHECK_OK(mynn_vocab_encode(v, text, len, ids, &n));
    size_t at = 0;
    for (size_t i = 0; i < n; i++) {
        char ch[5];
        int k = mynn_vocab_decode(v, (int)ids[i], ch);
        memcpy(back + at, ch, (size_t)k);
        at += (size_t)k;
    }
    CHECK(at == len && memcmp(back, text, len) == 0, "round trip of %zu bytes", len);
    mynn_dataset *tr = NULL, *va = NULL;
    CHECK_OK(mynn_text_dataset(ids, n, 64, 0.1, &tr, &va));
    CHECK(tr && va && tr->n + va->n == (int)((n - 1) / 64), "windows");
    printf("  %zu bytes, %zu characters, %d symbols\n", len, n, mynn_vocab_size(v));
    mynn_dataset_free(tr);
    mynn_dataset_free(va);
    mynn_vocab_free(v);
    free(ids);
    free(back);
    free(text);
}

int main(void)
{
    ck_prog = "test_seq";
    RUN(test_grad_single_layers);
    RUN(test_grad_stacked);
    RUN(test_grad_embedding);
    RUN(test_grad_channel_major);
    RUN(test_embedding_rows);
    RUN(test_shapes_and_errors);
    RUN(test_feature_map_refused);
    RUN(test_save_load);
    RUN(test_threads_bit_identical);
    RUN(test_vocab);
    RUN(test_text_windows);
    RUN(test_lm_and_stream);
    RUN(test_fortunes);
    printf("%s: %d passed, %d failed\n", ck_prog, ck_passed, ck_failed);
    return ck_failed != 0;
}
