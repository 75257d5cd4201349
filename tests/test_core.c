/* Core behaviour: known values, learning, determinism, and every error path
 * of the network API. */
#include "check.h"
#include "mynn.h"

#include <stdint.h>

static mynn_net *tiny_net(void)
{
    mynn_net *net = NULL;
    CHECK_OK(mynn_create(&net, 2));
    CHECK_OK(mynn_add_dense(net, 2, MYNN_ACT_TANH));
    CHECK_OK(mynn_add_dense(net, 1, MYNN_ACT_SIGMOID));
    CHECK_OK(mynn_build(net, 4, MYNN_INIT_XAVIER, 1));
    float *w1 = mynn_layer_weight(net, 0), *b1 = mynn_layer_bias(net, 0);
    float *w2 = mynn_layer_weight(net, 1), *b2 = mynn_layer_bias(net, 1);
    const float W1[4] = {0.1f, 0.2f, 0.3f, 0.4f}, B1[2] = {0.5f, -0.5f};
    const float W2[2] = {0.6f, -0.7f}, B2[1] = {0.1f};
    memcpy(w1, W1, sizeof W1);
    memcpy(b1, B1, sizeof B1);
    memcpy(w2, W2, sizeof W2);
    memcpy(b2, B2, sizeof B2);
    return net;
}

#define NEAR(a, b) (fabs((double)(a) - (double)(b)) <= 2e-6 * (1.0 + fabs((double)(b))))

/* 2-2-1 (tanh, sigmoid), x = (1, 2), y = 1: forward and one SGD step at
 * lr 0.1 against values worked out by hand in double precision:
 *   z1 = W1 x + b1 = (1.0, 0.6)       a1 = tanh(z1)
 *   z2 = W2 a1 + b2                   a2 = σ(z2),  C = (a2 - 1)^2
 *   dz2 = 2(a2 - 1) a2 (1 - a2),  dW2 = dz2 a1ᵀ,  dz1 = (1 - a1²) ⊙ W2ᵀ dz2 */
static void test_known_values(void)
{
    mynn_net *net = tiny_net();
    const float x[2] = {1.0f, 2.0f}, y[1] = {1.0f};
    float out, loss;
    CHECK_OK(mynn_predict(net, x, 1, &out));
    CHECK(NEAR(out, 0.5451322718850028), "prediction %.9f", out);
    CHECK_OK(mynn_train_step(net, x, y, 1, 0.1f, &loss));
    CHECK(NEAR(loss, 0.20690465008049902), "loss %.9f", loss);
    const float *w1 = mynn_layer_weight(net, 0), *b1 = mynn_layer_bias(net, 0);
    const float *w2 = mynn_layer_weight(net, 1), *b2 = mynn_layer_bias(net, 1);
    const double W1[4] = {0.10568428897652236, 0.21136857795304473, 0.2887637201382839,
                          0.3775274402765678};
    const double B1[2] = {0.5056842889765224, -0.511236279861716};
    const double W2[2] = {0.6171801021964252, -0.6878851926929596};
    for (int i = 0; i < 4; i++) CHECK(NEAR(w1[i], W1[i]), "W1[%d] %.9f vs %.9f", i, w1[i], W1[i]);
    for (int i = 0; i < 2; i++) CHECK(NEAR(b1[i], B1[i]), "B1[%d] %.9f vs %.9f", i, b1[i], B1[i]);
    for (int i = 0; i < 2; i++) CHECK(NEAR(w2[i], W2[i]), "W2[%d] %.9f vs %.9f", i, w2[i], W2[i]);
    CHECK(NEAR(b2[0], 0.1225580803923908), "B2 %.9f", b2[0]);
    mynn_free(net);
}

/* The seed's cost: for one output and one sample, MSE is (a - y)^2. */
static void test_seed_cost(void)
{
    mynn_net *net = tiny_net();
    const float a[1] = {0.25f}, y[1] = {1.0f};
    float c;
    CHECK_OK(mynn_loss_value(net, a, y, 1, &c));
    CHECK(NEAR(c, 0.5625), "cost %.9f", c);
    mynn_free(net);
}

/* Large logits: softmax + CE and sigmoid + BCE stay finite. */
static void test_stability(void)
{
    mynn_net *net = NULL;
    CHECK_OK(mynn_create(&net, 1));
    CHECK_OK(mynn_add_dense(net, 3, MYNN_ACT_SOFTMAX));
    CHECK_OK(mynn_set_loss(net, MYNN_LOSS_CE));
    CHECK_OK(mynn_build(net, 1, MYNN_INIT_XAVIER, 1));
    float *w = mynn_layer_weight(net, 0);
    w[0] = 1000.0f; w[1] = -1000.0f; w[2] = 0.0f;
    const float x[1] = {1.0f}, y[3] = {0.0f, 1.0f, 0.0f};
    float p[3], loss;
    CHECK_OK(mynn_predict(net, x, 1, p));
    CHECK(p[0] == 1.0f && p[1] == 0.0f, "softmax %g %g %g", p[0], p[1], p[2]);
    CHECK_OK(mynn_compute_gradients(net, x, y, 1, &loss));
    CHECK(isfinite(loss) && fabs(loss - 2000.0) < 1e-2, "ce loss %g (expected 2000)", loss);
    size_t n;
    const float *g = mynn_grads(net, &n);
    for (size_t i = 0; i < n; i++) CHECK(isfinite(g[i]), "grad %zu = %g", i, g[i]);
    mynn_free(net);

    CHECK_OK(mynn_create(&net, 1));
    CHECK_OK(mynn_add_dense(net, 1, MYNN_ACT_SIGMOID));
    CHECK_OK(mynn_set_loss(net, MYNN_LOSS_BCE));
    CHECK_OK(mynn_build(net, 1, MYNN_INIT_XAVIER, 1));
    mynn_layer_weight(net, 0)[0] = -500.0f;
    const float y1[1] = {1.0f};
    CHECK_OK(mynn_compute_gradients(net, x, y1, 1, &loss));
    CHECK(fabs(loss - 500.0) < 1e-2, "bce loss %g (expected 500)", loss);
    g = mynn_grads(net, &n);
    CHECK(isfinite(g[0]) && fabs(g[0] + 1.0) < 1e-6, "bce grad %g (expected -1)", g[0]);
    mynn_free(net);
}

static int xor_accuracy(uint64_t seed, float *params_out, size_t *np_out)
{
    const float x[8] = {0, 0, 0, 1, 1, 0, 1, 1}, y[4] = {0, 1, 1, 0};
    mynn_net *net = NULL;
    CHECK_OK(mynn_create(&net, 2));
    CHECK_OK(mynn_add_dense(net, 4, MYNN_ACT_TANH));
    CHECK_OK(mynn_add_dense(net, 1, MYNN_ACT_SIGMOID));
    CHECK_OK(mynn_set_loss(net, MYNN_LOSS_BCE));
    CHECK_OK(mynn_build(net, 4, MYNN_INIT_AUTO, seed));
    for (int s = 0; s < 2000; s++) CHECK_OK(mynn_train_step(net, x, y, 4, 0.5f, NULL));
    float p[4];
    CHECK_OK(mynn_predict(net, x, 4, p));
    int correct = 0;
    for (int i = 0; i < 4; i++) correct += (p[i] > 0.5f) == (y[i] > 0.5f);
    if (params_out) {
        size_t n;
        float *q = mynn_params(net, &n);
        memcpy(params_out, q, n * sizeof *q);
        *np_out = n;
    }
    mynn_free(net);
    return correct;
}

static void test_xor(void)
{
    for (uint64_t seed = 1; seed <= 5; seed++) {
        int c = xor_accuracy(seed, NULL, NULL);
        CHECK(c == 4, "seed %llu: %d/4 correct", (unsigned long long)seed, c);
    }
}

/* The seed's example network, trained per sample, lowers its cost >= 10x. */
static void test_seed_example_learns(void)
{
    float x[32], y[16];
    for (int i = 0; i < 16; i++) {
        x[2 * i] = (float)(i % 4) / 3.0f;
        x[2 * i + 1] = (float)(i / 4) / 3.0f;
        y[i] = x[2 * i] * x[2 * i + 1];
    }
    mynn_net *net = NULL;
    CHECK_OK(mynn_create(&net, 2));
    CHECK_OK(mynn_add_layers(net, "3:tanh,5:sigmoid,2:tanh,1:sigmoid"));
    CHECK_OK(mynn_build(net, 16, MYNN_INIT_AUTO, 42));
    float p[16], before, after;
    CHECK_OK(mynn_predict(net, x, 16, p));
    CHECK_OK(mynn_loss_value(net, p, y, 16, &before));
    for (int e = 0; e < 3000; e++)
        for (int i = 0; i < 16; i++) CHECK_OK(mynn_train_step(net, &x[2 * i], &y[i], 1, 0.1f, NULL));
    CHECK_OK(mynn_predict(net, x, 16, p));
    CHECK_OK(mynn_loss_value(net, p, y, 16, &after));
    CHECK(after * 10.0f <= before, "cost %.6f -> %.6f: less than 10x", before, after);
    mynn_free(net);
}

static void test_determinism(void)
{
    static float a[64], b[64];
    size_t na = 0, nb = 0;
    xor_accuracy(11, a, &na);
    xor_accuracy(11, b, &nb);
    CHECK(na == nb && memcmp(a, b, na * sizeof *a) == 0, "two runs with one seed differ");
    xor_accuracy(12, b, &nb);
    CHECK(memcmp(a, b, na * sizeof *a) != 0, "different seeds gave identical weights");
}

/* The generator's stream is fixed for all time: files and tests rely on it. */
static void test_rng_stream(void)
{
    mynn_rng r;
    mynn_rng_seed(&r, 0);
    uint64_t v = mynn_rng_next(&r);
    mynn_rng r2;
    mynn_rng_seed(&r2, 0);
    CHECK(v == mynn_rng_next(&r2), "same seed, different first value");
    float u = mynn_rng_uniform(&r);
    CHECK(u >= 0.0f && u < 1.0f, "uniform %g", u);
    for (int i = 0; i < 1000; i++) CHECK(mynn_rng_below(&r, 7) < 7, "below out of range");
}

static void test_init(void)
{
    mynn_net *net = NULL;
    CHECK_OK(mynn_create(&net, 100));
    CHECK_OK(mynn_add_dense(net, 50, MYNN_ACT_RELU));
    CHECK_OK(mynn_add_dense(net, 10, MYNN_ACT_TANH));
    CHECK_OK(mynn_build(net, 1, MYNN_INIT_AUTO, 3));
    const float *w = mynn_layer_weight(net, 0);
    float he = sqrtf(6.0f / 100.0f), xa = sqrtf(6.0f / 60.0f), mx = 0.0f;
    for (int i = 0; i < 5000; i++) mx = fabsf(w[i]) > mx ? fabsf(w[i]) : mx;
    CHECK(mx <= he && mx > 0.9f * he, "relu layer: max |w| %g, He bound %g", mx, he);
    w = mynn_layer_weight(net, 1);
    mx = 0.0f;
    for (int i = 0; i < 500; i++) mx = fabsf(w[i]) > mx ? fabsf(w[i]) : mx;
    CHECK(mx <= xa && mx > 0.9f * xa, "tanh layer: max |w| %g, Xavier bound %g", mx, xa);
    CHECK(mynn_layer_bias(net, 1)[0] == 0.0f, "bias not zero");
    CHECK_OK(mynn_build(net, 1, MYNN_INIT_UNIFORM01, 3));
    w = mynn_layer_weight(net, 0);
    float mn = 1.0f;
    for (int i = 0; i < 5000; i++) mn = w[i] < mn ? w[i] : mn;
    CHECK(mn >= 0.0f, "uniform01 gave %g", mn);
    CHECK(mynn_layer_bias(net, 0)[0] >= 0.0f && mynn_layer_bias(net, 0)[0] < 1.0f, "uniform01 bias");
    mynn_free(net);
}

/* Predicting more samples than max_batch runs in chunks.  Repeating a
 * prediction is bit-identical; a different chunking may pick another GEMM
 * path (matrix-vector, blocked) whose sums round differently, so across
 * chunkings the answers agree to float rounding. */
static void test_predict_chunks(void)
{
    mynn_net *a = NULL, *b = NULL;
    CHECK_OK(mynn_create(&a, 3));
    CHECK_OK(mynn_add_layers(a, "5:relu,dropout:0.5,2:softmax"));
    CHECK_OK(mynn_build(a, 3, MYNN_INIT_AUTO, 9));
    CHECK_OK(mynn_create(&b, 3));
    CHECK_OK(mynn_add_layers(b, "5:relu,dropout:0.5,2:softmax"));
    CHECK_OK(mynn_build(b, 10, MYNN_INIT_AUTO, 9));
    float x[30], pa[20], pb[20], pa2[20];
    for (int i = 0; i < 30; i++) x[i] = (float)i / 10.0f - 1.5f;
    CHECK_OK(mynn_predict(a, x, 10, pa));
    CHECK_OK(mynn_predict(a, x, 10, pa2));
    CHECK_OK(mynn_predict(b, x, 10, pb));
    CHECK(memcmp(pa, pa2, sizeof pa) == 0, "repeated prediction differs");
    for (int i = 0; i < 20; i++)
        CHECK(fabsf(pa[i] - pb[i]) <= 1e-6f * (1.0f + fabsf(pb[i])), "output %d: %.9g (chunks of 3) vs %.9g",
              i, pa[i], pb[i]);
    mynn_free(a);
    mynn_free(b);
}

static void test_input_transform(void)
{
    mynn_net *net = NULL;
    CHECK_OK(mynn_create(&net, 2));
    CHECK_OK(mynn_add_dense(net, 1, MYNN_ACT_IDENTITY));
    CHECK_OK(mynn_build(net, 1, MYNN_INIT_XAVIER, 1));
    float *w = mynn_layer_weight(net, 0);
    w[0] = 1.0f; w[1] = 1.0f;
    const float shift[2] = {10.0f, 20.0f}, scale[2] = {0.5f, 2.0f}, x[2] = {12.0f, 21.0f};
    CHECK_OK(mynn_set_input_transform(net, "standard", shift, scale));
    float y;
    CHECK_OK(mynn_predict(net, x, 1, &y));
    CHECK(y == 3.0f, "transformed prediction %g (expected 1 + 2)", y);
    mynn_free(net);
}

/* Large enough for the threaded kernels (GEMM blocks, activation epilogues,
 * optimizer chunks): gradients and predictions are bit-identical at 1 and 2
 * threads, since no sum is split across threads. */
static void grads_at(int threads, float *grads, float *pred)
{
    mynn_set_threads(threads);
    mynn_net *net = NULL;
    CHECK_OK(mynn_create(&net, 300));
    CHECK_OK(mynn_add_layers(net, "256:relu,128:gelu,64:tanh,10:softmax"));
    CHECK_OK(mynn_set_loss(net, MYNN_LOSS_CE));
    CHECK_OK(mynn_build(net, 256, MYNN_INIT_AUTO, 5));
    static float x[256 * 300], y[256 * 10];
    mynn_rng r;
    mynn_rng_seed(&r, 77);
    for (int i = 0; i < 256 * 300; i++) x[i] = 2.0f * mynn_rng_uniform(&r) - 1.0f;
    for (int i = 0; i < 256; i++)
        for (int k = 0; k < 10; k++) y[i * 10 + k] = (float)(k == i % 10);
    CHECK_OK(mynn_compute_gradients(net, x, y, 256, NULL));
    size_t n = 0;
    const float *g = mynn_grads(net, &n);
    memcpy(grads, g, n * sizeof *grads);
    CHECK_OK(mynn_predict(net, x, 256, pred));
    mynn_free(net);
    mynn_set_threads(0);
}

static void test_threads_bit_identical(void)
{
    enum { NP = 300 * 256 + 256 + 256 * 128 + 128 + 128 * 64 + 64 + 64 * 10 + 10 };
    static float g1[NP], g2[NP], p1[2560], p2[2560];
    grads_at(1, g1, p1);
    grads_at(2, g2, p2);
    CHECK(memcmp(g1, g2, sizeof g1) == 0, "gradients differ between 1 and 2 threads");
    CHECK(memcmp(p1, p2, sizeof p1) == 0, "predictions differ between 1 and 2 threads");
}

static void expect(mynn_status got, mynn_status want, const char *what)
{
    CHECK(got == want, "%s: got %s, want %s", what, mynn_status_name(got), mynn_status_name(want));
    if (got != MYNN_OK) CHECK(mynn_last_error()[0] != '\0', "%s: empty message", what);
}

static void test_bad_input(void)
{
    mynn_net *net = NULL;
    expect(mynn_create(NULL, 2), MYNN_ERR_NULL, "create NULL");
    expect(mynn_create(&net, 0), MYNN_ERR_ARG, "create 0 inputs");
    CHECK(net == NULL, "net set on failure");
    CHECK_OK(mynn_create(&net, 2));
    expect(mynn_build(net, 4, MYNN_INIT_AUTO, 1), MYNN_ERR_STATE, "build with no layers");
    expect(mynn_add_dense(NULL, 3, MYNN_ACT_RELU), MYNN_ERR_NULL, "add to NULL");
    expect(mynn_add_dense(net, 0, MYNN_ACT_RELU), MYNN_ERR_ARG, "zero units");
    expect(mynn_add_dense(net, 3, (mynn_activation)99), MYNN_ERR_ARG, "unknown activation");
    expect(mynn_add_dropout(net, 1.0f), MYNN_ERR_ARG, "dropout rate 1");
    expect(mynn_add_dropout(net, NAN), MYNN_ERR_ARG, "dropout rate NaN");
    expect(mynn_add_layers(net, "10:relux"), MYNN_ERR_ARG, "unknown activation name");
    CHECK(strstr(mynn_last_error(), "relux") != NULL, "message lacks the name: %s", mynn_last_error());
    expect(mynn_add_layers(net, "abc"), MYNN_ERR_ARG, "non-numeric units");
    expect(mynn_add_layers(net, "4:relu,,2"), MYNN_ERR_ARG, "empty item");
    expect(mynn_add_layers(net, ""), MYNN_ERR_ARG, "empty spec");
    mynn_activation act;
    expect(mynn_activation_from_name("swishy", &act), MYNN_ERR_ARG, "activation name");
    mynn_loss loss;
    expect(mynn_loss_from_name("hinge", &loss), MYNN_ERR_ARG, "loss name");
    mynn_free(net);

    net = NULL;
    CHECK_OK(mynn_create(&net, 2));
    CHECK_OK(mynn_add_dense(net, 3, MYNN_ACT_TANH));
    float x[4] = {1, 2, 3, 4}, y[4] = {0}, out[4];
    expect(mynn_predict(net, x, 1, out), MYNN_ERR_STATE, "predict before build");
    expect(mynn_set_loss(net, MYNN_LOSS_CE), MYNN_ERR_ARG, "ce after tanh");
    expect(mynn_set_loss(net, (mynn_loss)7), MYNN_ERR_ARG, "unknown loss");
    CHECK_OK(mynn_build(net, 2, MYNN_INIT_AUTO, 1));
    expect(mynn_add_dense(net, 1, MYNN_ACT_RELU), MYNN_ERR_STATE, "add after build");
    expect(mynn_build(net, 0, MYNN_INIT_AUTO, 1), MYNN_ERR_ARG, "max batch 0");
    expect(mynn_build(net, 2, (mynn_init)42, 1), MYNN_ERR_ARG, "unknown init");
    expect(mynn_predict(net, NULL, 1, out), MYNN_ERR_NULL, "predict NULL x");
    expect(mynn_predict(net, x, 1, NULL), MYNN_ERR_NULL, "predict NULL y");
    expect(mynn_predict(net, x, 0, out), MYNN_ERR_SHAPE, "predict n=0");
    expect(mynn_train_step(net, x, y, 3, 0.1f, NULL), MYNN_ERR_SHAPE, "batch over max");
    expect(mynn_train_step(net, x, y, 1, -0.1f, NULL), MYNN_ERR_ARG, "negative lr");
    expect(mynn_train_step(net, x, NULL, 1, 0.1f, NULL), MYNN_ERR_NULL, "NULL targets");
    x[1] = NAN;
    expect(mynn_predict(net, x, 1, out), MYNN_ERR_NUMERIC, "NaN input to predict");
    expect(mynn_train_step(net, x, y, 1, 0.1f, NULL), MYNN_ERR_NUMERIC, "NaN input to train");
    x[1] = 2;
    y[0] = INFINITY;
    expect(mynn_train_step(net, x, y, 1, 0.1f, NULL), MYNN_ERR_NUMERIC, "inf target");
    mynn_free(net);
    mynn_free(NULL);
    CHECK(strcmp(mynn_status_name(MYNN_ERR_SHAPE), "MYNN_ERR_SHAPE") == 0, "status name");
}

int main(void)
{
    CK_BEGIN("test_core");
    RUN(test_known_values);
    RUN(test_seed_cost);
    RUN(test_stability);
    RUN(test_xor);
    RUN(test_seed_example_learns);
    RUN(test_determinism);
    RUN(test_rng_stream);
    RUN(test_init);
    RUN(test_predict_chunks);
    RUN(test_input_transform);
    RUN(test_threads_bit_identical);
    RUN(test_bad_input);
    return CK_END();
}
