/* int8 models: the int8 GEMM engines against an exact integer reference,
 * the rounding, mynn_quantize's scales against their definitions, the
 * int8 forward pass against an independent implementation of the same
 * arithmetic (a sequence and a dense graph: residual block, concat, batch
 * norms that fold and that do not), files (round trip, damaged files),
 * the exported int8 C code
 * (bit for bit, gcc and clang -std=c99 -Werror), the tool, and accuracy on
 * Fashion-MNIST (int8 within 0.5 points of float, file >= 3.5x smaller). */
#include "check.h"
#include "gen_c.h"
#include "mynn.h"
#include "kernels/qgemm.h"
#include "network/network.h"

#include <stdint.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define FM_DIR "/usr/share/datasets/fashion-mnist"

static char tmpdir[256];

static const char *tmp_path(const char *name)
{
    static char buf[4][512];
    static int k;
    k = (k + 1) % 4;
    snprintf(buf[k], sizeof buf[k], "%s/%s", tmpdir, name);
    return buf[k];
}

/* ---- kernels ------------------------------------------------------------ */

static void test_rounding(void)
{
    static const float in[] = {0.0f, 0.49f, 0.5f, -0.5f, 1.5f, -2.5f, 126.6f, 127.4f, 1e9f, -1e9f};
    static const int want[] = {0, 0, 1, -1, 2, -3, 127, 127, 127, -127};
    for (size_t i = 0; i < sizeof in / sizeof *in; i++)
        CHECK(mn_q8(in[i]) == want[i], "mn_q8(%g) = %d, want %d", in[i], mn_q8(in[i]), want[i]);
    float x[5] = {0.0f, 0.1f, -0.1f, 1.0f, -3.0f};
    uint8_t q[8];
    mn_quantize_rows(x, NULL, NULL, 1, 5, 100.0f, q, 8);
    static const uint8_t wq[8] = {128, 138, 118, 228, 1, 128, 128, 128};
    CHECK(!memcmp(q, wq, 8), "quantize_rows: %d %d %d %d %d %d", q[0], q[1], q[2], q[3], q[4], q[5]);
}

/* The vector quantiser against the scalar definition, with and without
 * the input transform, on random values, exact ties and clamped ones. */
static void test_quantize_vector(void)
{
    mn_quant_row_fn f = mn_qgemm_quant512();
    if (!f) SKIP("no AVX-512 here: the scalar quantiser is the only one");
    enum { C = 333, LD = 340 };
    float x[C], sh[C], sc[C];
    mynn_rng r;
    mynn_rng_seed(&r, 9);
    for (int j = 0; j < C; j++) {
        x[j] = j % 7 == 0 ? (float)(j % 50) - 25.5f : 600.0f * mynn_rng_uniform(&r) - 300.0f;
        sh[j] = mynn_rng_uniform(&r) - 0.5f;
        sc[j] = 2.0f * mynn_rng_uniform(&r);
    }
    uint8_t q[LD];
    for (int t = 0; t < 2; t++) {
        float inv = t ? 0.7f : 1.0f;
        f(x, t ? sh : NULL, t ? sc : NULL, C, inv, q, LD);
        int bad = 0;
        for (int j = 0; j < LD; j++) {
            int want = j >= C ? 128 : mn_q8((t ? (x[j] - sh[j]) * sc[j] : x[j]) * inv) + 128;
            bad += q[j] != want;
        }
        CHECK(bad == 0, "transform %d: %d bytes differ from mn_q8", t, bad);
    }
}

static void test_qgemm_engines(void)
{
    static const int Ms[] = {1, 3, 4, 5, 17, 40}, Ns[] = {1, 10, 16, 17, 64, 70}, Ks[] = {1, 3, 4, 7, 64, 257};
    static const char *const eng[] = {"portable", "avx512vnni", "avxvnni"};
    mynn_rng r;
    mynn_rng_seed(&r, 11);
    int tried[3] = {0};
    for (size_t a = 0; a < 6; a++)
        for (size_t b = 0; b < 6; b++)
            for (size_t c = 0; c < 6; c++) {
                int M = Ms[a], N = Ns[b], K = Ks[c], kp = mn_qgemm_kpad(K);
                uint8_t *A = malloc((size_t)M * kp);
                int8_t *W = malloc((size_t)N * K), *Wp = malloc(mn_qgemm_packed_bytes(N, K));
                int32_t *corr = malloc(sizeof(int32_t) * N), *C = malloc(sizeof(int32_t) * M * (N + 3));
                for (int i = 0; i < M * kp; i++) A[i] = (uint8_t)(1 + mynn_rng_below(&r, 255));
                for (int i = 0; i < N * K; i++) W[i] = (int8_t)((int)mynn_rng_below(&r, 255) - 127);
                mn_qgemm_pack(W, N, K, Wp, corr);
                for (int e = 0; e < 3; e++) {
                    if (mn_qgemm_set_engine(eng[e]) != 0) continue;
                    tried[e] = 1;
                    for (int i = 0; i < M * (N + 3); i++) C[i] = 0x5555;
                    mn_qgemm(M, N, K, A, kp, Wp, corr, C, N + 3);
                    long bad = 0;
                    for (int m = 0; m < M; m++)
                        for (int n = 0; n < N + 3; n++) {
                            int64_t ref = 0;
                            for (int k = 0; n < N && k < K; k++) ref += ((int64_t)A[m * kp + k] - 128) * W[n * K + k];
                            bad += n < N ? C[m * (N + 3) + n] != ref : C[m * (N + 3) + n] != 0x5555;
                        }
                    CHECK(bad == 0, "%s M=%d N=%d K=%d: %ld wrong (or written past N)", eng[e], M, N, K, bad);
                }
                free(A);
                free(W);
                free(Wp);
                free(corr);
                free(C);
            }
    mn_qgemm_set_engine(NULL);
    printf("  engines checked:%s%s%s (automatic: %s)\n", tried[0] ? " portable" : "",
           tried[1] ? " avx512vnni" : "", tried[2] ? " avxvnni" : "", mn_qgemm_engine());
    CHECK(tried[0], "the portable engine must always run");
}

/* ---- quantising a small net ---------------------------------------------- */

/* A 6-input net with every activation kind the output allows. */
static mynn_net *small_net(const char *spec, mynn_loss loss)
{
    mynn_net *net = NULL;
    CHECK_OK(mynn_create(&net, 6));
    CHECK_OK(mynn_add_layers(net, spec));
    CHECK_OK(mynn_set_loss(net, loss));
    CHECK_OK(mynn_build(net, 8, MYNN_INIT_AUTO, 21));
    float shift[6] = {0.5f, 0, 0, 1, 0, -2}, scale[6] = {2, 1, 0.5f, 1, 3, 1};
    CHECK_OK(mynn_set_input_transform(net, "custom", shift, scale));
    return net;
}

static float *random_x(int n, int d, uint64_t seed)
{
    float *x = malloc(sizeof(float) * (size_t)n * d);
    mynn_rng r;
    mynn_rng_seed(&r, seed);
    for (int i = 0; i < n * d; i++) x[i] = 4.0f * mynn_rng_uniform(&r) - 2.0f;
    return x;
}

/* The int8 arithmetic written out again from its definition (mynn.h),
 * from the float view's architecture and the scales: y for one sample. */
static void reference_forward(const mynn_qnet *q, const float *x, float *y)
{
    const mynn_net *f = mynn_qnet_float(q);
    float a[64], b[64];
    int d = mynn_n_inputs(f);
    (void)d;
    memcpy(a, x, sizeof(float) * (size_t)mynn_n_inputs(f));
    /* the input transform is (x - shift) * scale: the same six values as small_net */
    static const float shift[6] = {0.5f, 0, 0, 1, 0, -2}, scale[6] = {2, 1, 0.5f, 1, 3, 1};
    for (int j = 0; j < 6; j++) a[j] = (a[j] - shift[j]) * scale[j];
    int width = 6;
    for (int i = 0; i < mynn_n_layers(f); i++) {
        mynn_layer_info li;
        mynn_layer_get_info(f, i, &li);
        if (li.kind != MYNN_LAYER_DENSE) continue;
        float s;
        const float *ws;
        CHECK_OK(mynn_qnet_layer_scales(q, i, &s, &ws));
        float *w = mynn_layer_weight((mynn_net *)f, i), *bias = mynn_layer_bias((mynn_net *)f, i);
        int qa[64];
        for (int k = 0; k < width; k++) qa[k] = mn_q8(a[k] * (1.0f / s));
        for (int o = 0; o < li.n_outputs; o++) {
            long acc = 0;
            for (int k = 0; k < width; k++) {
                long wq = lroundf(w[o * width + k] / ws[o]);   /* dequantised back to its integer */
                acc += qa[k] * wq;
            }
            b[o] = (float)acc * (s * ws[o]) + bias[o];
        }
        width = li.n_outputs;
        for (int o = 0; o < width; o++) {
            float z = b[o];
            switch (li.activation) {
            case MYNN_ACT_RELU: b[o] = z > 0 ? z : 0; break;
            case MYNN_ACT_TANH: b[o] = tanhf(z); break;
            case MYNN_ACT_SIGMOID: b[o] = z >= 0 ? 1.0f / (1.0f + expf(-z)) : expf(z) / (1.0f + expf(z)); break;
            case MYNN_ACT_LEAKY_RELU: b[o] = z > 0 ? z : 0.01f * z; break;
            case MYNN_ACT_GELU: b[o] = 0.5f * z * (1.0f + erff(z * 0.70710678118654752f)); break;
            default: break;
            }
        }
        if (li.activation == MYNN_ACT_SOFTMAX) {
            float m = b[0], sum = 0;
            for (int o = 1; o < width; o++) m = b[o] > m ? b[o] : m;
            for (int o = 0; o < width; o++) sum += (b[o] = expf(b[o] - m));
            for (int o = 0; o < width; o++) b[o] *= 1.0f / sum;
        }
        memcpy(a, b, sizeof(float) * (size_t)width);
    }
    memcpy(y, a, sizeof(float) * (size_t)width);
}

static void test_quantize_small(void)
{
    mynn_net *net = small_net("12:tanh,dropout:0.3,9:gelu,7:leaky_relu,5:sigmoid,4:softmax", MYNN_LOSS_CE);
    int n = 200;
    float *x = random_x(n, 6, 3);
    mynn_qnet *q = NULL;
    CHECK_OK(mynn_quantize(&q, net, x, n, NULL));
    if (!q) return;
    const mynn_net *f = mynn_qnet_float(q);
    CHECK(mynn_n_layers(f) == 6 && mynn_n_outputs(f) == 4, "float view: %d layers", mynn_n_layers(f));
    /* weights: one scale per output = max|w| / 127; every weight within half a step */
    for (int i = 0; i < mynn_n_layers(net); i++) {
        mynn_layer_info li;
        mynn_layer_get_info(net, i, &li);
        if (li.kind != MYNN_LAYER_DENSE) continue;
        float s;
        const float *ws;
        CHECK_OK(mynn_qnet_layer_scales(q, i, &s, &ws));
        const float *w = mynn_layer_weight(net, i), *wd = mynn_layer_weight((mynn_net *)f, i);
        for (int o = 0; o < li.n_outputs; o++) {
            float m = 0;
            for (int k = 0; k < li.n_inputs; k++) m = fmaxf(m, fabsf(w[o * li.n_inputs + k]));
            CHECK(ws[o] == m / 127.0f, "layer %d out %d: scale %g, max/127 %g", i, o, ws[o], m / 127.0f);
            for (int k = 0; k < li.n_inputs; k++)
                CHECK(fabsf(wd[o * li.n_inputs + k] - w[o * li.n_inputs + k]) <= 0.5001f * ws[o],
                      "layer %d w[%d][%d] dequantised %g from %g", i, o, k, wd[o * li.n_inputs + k],
                      w[o * li.n_inputs + k]);
        }
        if (i == 0) {   /* the transformed inputs' max |x| / 127 */
            static const float shift[6] = {0.5f, 0, 0, 1, 0, -2}, scale[6] = {2, 1, 0.5f, 1, 3, 1};
            float m = 0;
            for (int r = 0; r < n * 6; r++) m = fmaxf(m, fabsf((x[r] - shift[r % 6]) * scale[r % 6]));
            CHECK(s == m / 127.0f, "input scale %g, max/127 %g", s, m / 127.0f);
        }
    }
    CHECK(mynn_qnet_layer_scales(q, 1, NULL, NULL) == MYNN_ERR_ARG, "dropout has no scales");
    /* the forward pass: exactly the arithmetic of its definition; close to float */
    float *y = malloc(sizeof(float) * 4 * n), *yf = malloc(sizeof(float) * 4 * n);
    CHECK_OK(mynn_qnet_predict(q, x, n, y));
    CHECK_OK(mynn_predict(net, x, n, yf));
    double worst = 0;
    long differ = 0;
    for (int r = 0; r < n; r++) {
        float ref[4];
        reference_forward(q, x + 6 * r, ref);
        for (int j = 0; j < 4; j++) {
            differ += memcmp(&ref[j], &y[4 * r + j], 4) != 0;
            worst = fmax(worst, fabs(y[4 * r + j] - yf[4 * r + j]));
        }
    }
    CHECK(differ == 0, "%ld outputs differ from the reference int8 arithmetic", differ);
    CHECK(worst < 0.05, "int8 vs float: max |diff| %g", worst);
    printf("  small net: int8 vs float max |diff| %.3g\n", worst);
    /* any chunking gives the same result */
    mynn_qnet *q2 = NULL;
    mynn_quant_options o;
    mynn_quant_options_default(&o);
    o.max_batch = 7;
    CHECK_OK(mynn_quantize(&q2, net, x, n, &o));
    float *y2 = malloc(sizeof(float) * 4 * n);
    CHECK_OK(mynn_qnet_predict(q2, x, n, y2));
    CHECK(!memcmp(y, y2, sizeof(float) * 4 * n), "max_batch 7 changes the result");
    mynn_qnet_free(q2);
    q2 = NULL;
    /* errors */
    x[7] = NAN;
    CHECK(mynn_qnet_predict(q, x, n, y) == MYNN_ERR_NUMERIC, "NaN input");
    CHECK(mynn_quantize(&q2, net, x, n, NULL) == MYNN_ERR_NUMERIC && q2 == NULL, "NaN calibration");
    o.stat = MYNN_CALIB_PERCENTILE;
    o.percentile = 20;
    CHECK(mynn_quantize(&q2, net, x, n, &o) == MYNN_ERR_ARG, "bad percentile");
    mynn_qnet_free(q);
    mynn_free(net);
    free(x);
    free(y);
    free(y2);
    free(yf);
}

/* ---- a graph ---------------------------------------------------------------- */

static void act_ref(mynn_activation a, float *v, int n)
{
    for (int o = 0; o < n; o++) {
        float z = v[o];
        switch (a) {
        case MYNN_ACT_RELU: v[o] = z > 0 ? z : 0; break;
        case MYNN_ACT_TANH: v[o] = tanhf(z); break;
        case MYNN_ACT_SIGMOID: v[o] = z >= 0 ? 1.0f / (1.0f + expf(-z)) : expf(z) / (1.0f + expf(z)); break;
        case MYNN_ACT_LEAKY_RELU: v[o] = z > 0 ? z : 0.01f * z; break;
        case MYNN_ACT_GELU: v[o] = 0.5f * z * (1.0f + erff(z * 0.70710678118654752f)); break;
        default: break;
        }
    }
    if (a == MYNN_ACT_SOFTMAX) {
        float m = v[0], sum = 0;
        for (int o = 1; o < n; o++) m = v[o] > m ? v[o] : m;
        for (int o = 0; o < n; o++) sum += (v[o] = expf(v[o] - m));
        for (int o = 0; o < n; o++) v[o] *= 1.0f / sum;
    }
}

/* The int8 arithmetic of a graph of dense, add, concat, batch norm (that
 * did not fold: x·s + t, s and t from the float view's statistics in
 * double), activation and dropout nodes, node by node, each reading its
 * inputs (mynn_layer_inputs): y for one sample of small_net's inputs. */
static void graph_reference(const mynn_qnet *q, const float *x, float *y)
{
    static const float shift[6] = {0.5f, 0, 0, 1, 0, -2}, scale[6] = {2, 1, 0.5f, 1, 3, 1};
    mynn_net *f = (mynn_net *)mynn_qnet_float(q);
    const int N = mynn_n_layers(f);
    float in[6], val[32][64];
    for (int j = 0; j < 6; j++) in[j] = (x[j] - shift[j]) * scale[j];
    CHECK(N <= 32, "%d nodes", N);
    for (int i = 0; i < N && i < 32; i++) {
        mynn_layer_info li;
        mynn_layer_get_info(f, i, &li);
        int ids[8], m = mynn_layer_inputs(f, i, ids, 8), size[8];
        const float *xs[8];
        for (int j = 0; j < m; j++) {
            xs[j] = ids[j] == MYNN_INPUT ? in : val[ids[j]];
            mynn_layer_info lj;
            mynn_layer_get_info(f, ids[j] == MYNN_INPUT ? 0 : ids[j], &lj);
            size[j] = ids[j] == MYNN_INPUT ? 6 : lj.n_outputs;
        }
        float *b = val[i];
        CHECK(li.n_outputs <= 64, "node %d: %d outputs", i, li.n_outputs);
        switch (li.kind) {
        case MYNN_LAYER_DENSE: {
            float s;
            const float *ws;
            CHECK_OK(mynn_qnet_layer_scales(q, i, &s, &ws));
            const float *w = mynn_layer_weight(f, i), *bias = mynn_layer_bias(f, i);
            for (int o = 0; o < li.n_outputs; o++) {
                long acc = 0;
                for (int k = 0; k < li.n_inputs; k++)
                    acc += mn_q8(xs[0][k] * (1.0f / s)) * lroundf(w[o * li.n_inputs + k] / ws[o]);
                b[o] = (float)acc * (s * ws[o]) + bias[o];
            }
            act_ref(li.activation, b, li.n_outputs);
            break;
        }
        case MYNN_LAYER_ADD:
            for (int k = 0; k < li.n_outputs; k++) {
                float v = xs[0][k];
                for (int j = 1; j < m; j++) v += xs[j][k];
                b[k] = v;
            }
            act_ref(li.activation, b, li.n_outputs);
            break;
        case MYNN_LAYER_CONCAT:
            for (int j = 0, o = 0; j < m; o += size[j++]) memcpy(b + o, xs[j], sizeof(float) * size[j]);
            break;
        case MYNN_LAYER_BATCHNORM: {
            const mn_layer *l = &f->layers[i];   /* γ, β; running mean, variance */
            for (int c = 0; c < li.n_outputs; c++) {
                double sc = (double)l->param[c] / sqrt((double)l->buf[li.n_outputs + c] + (double)li.eps);
                float sf = (float)sc, t = (float)((double)l->param[li.n_outputs + c] - (double)l->buf[c] * sc);
                b[c] = xs[0][c] * sf + t;
            }
            break;
        }
        case MYNN_LAYER_ACTIVATION:
            memcpy(b, xs[0], sizeof(float) * li.n_outputs);
            act_ref(li.activation, b, li.n_outputs);
            break;
        default:   /* dropout */
            memcpy(b, xs[0], sizeof(float) * li.n_outputs);
        }
    }
    mynn_layer_info last;
    mynn_layer_get_info(f, N - 1, &last);
    memcpy(y, val[N - 1], sizeof(float) * last.n_outputs);
}

/* A dense graph: a residual block whose batch norm folds into the dense
 * layer before it, a dense output read twice (by its batch norm, which
 * therefore does not fold, and by an add), a concat of vectors, a batch
 * norm after an activation: int8 against its arithmetic written out (bit
 * for bit) and the float net, 1 and 2 threads, chunks of 7, the file round
 * trip (the graph's inputs kept) and the exported C (bit for bit). */
static void test_quantize_graph(void)
{
    mynn_net *net = small_net("12:tanh:as=h,res(12:relu,12,batchnorm):relu,8:sigmoid:from=h,concat:from=-2+-1,"
                              "10:as=v,batchnorm,add:gelu:from=v+-1,batchnorm,dropout:0.2,tanh,4:softmax",
                              MYNN_LOSS_CE);
    if (ck_cur_failed) {
        mynn_free(net);
        return;
    }
    /* batch norm statistics far from the identity */
    mynn_rng r;
    mynn_rng_seed(&r, 77);
    for (int i = 0; i < mynn_n_layers(net); i++) {
        mynn_layer_info li;
        mynn_layer_get_info(net, i, &li);
        if (li.kind != MYNN_LAYER_BATCHNORM) continue;
        mn_layer *l = &net->layers[i];
        for (int c = 0; c < li.n_outputs; c++) {
            l->param[c] = 0.5f + mynn_rng_uniform(&r);
            l->param[li.n_outputs + c] = mynn_rng_uniform(&r) - 0.5f;
            l->buf[c] = 0.4f * mynn_rng_uniform(&r) - 0.2f;
            l->buf[li.n_outputs + c] = 0.3f + mynn_rng_uniform(&r);
        }
    }
    const int n = 300, k = 4;
    float *x = random_x(n, 6, 8);
    mynn_qnet *q = NULL;
    CHECK_OK(mynn_quantize(&q, net, x, n, NULL));
    if (!q) {
        mynn_free(net);
        free(x);
        return;
    }
    const mynn_net *f = mynn_qnet_float(q);
    int bns = 0;
    for (int i = 0; i < mynn_n_layers(f); i++) {
        mynn_layer_info li;
        mynn_layer_get_info(f, i, &li);
        bns += li.kind == MYNN_LAYER_BATCHNORM;
    }
    CHECK(mynn_n_layers(f) == mynn_n_layers(net) - 1 && bns == 2, "float view: %d nodes (of %d), %d batch norms",
          mynn_n_layers(f), mynn_n_layers(net), bns);
    float *y = malloc(sizeof(float) * k * n), *yf = malloc(sizeof(float) * k * n), *y2 = malloc(sizeof(float) * k * n);
    CHECK_OK(mynn_qnet_predict(q, x, n, y));
    CHECK_OK(mynn_predict(net, x, n, yf));
    long differ = 0;
    double worst = 0;
    for (int i = 0; i < n; i++) {
        float ref[4];
        graph_reference(q, x + 6 * i, ref);
        for (int j = 0; j < k; j++) {
            differ += memcmp(&ref[j], &y[k * i + j], 4) != 0;
            worst = fmax(worst, fabs(y[k * i + j] - yf[k * i + j]));
        }
    }
    CHECK(differ == 0, "%ld outputs differ from the reference int8 arithmetic", differ);
    CHECK(worst < 0.05, "int8 vs float: max |diff| %g", worst);
    printf("  graph: int8 vs float max |diff| %.3g\n", worst);
    mynn_set_threads(1);
    CHECK_OK(mynn_qnet_predict(q, x, n, y2));
    CHECK(!memcmp(y, y2, sizeof(float) * k * n), "1 thread differs");
    mynn_set_threads(2);
    CHECK_OK(mynn_qnet_predict(q, x, n, y2));
    CHECK(!memcmp(y, y2, sizeof(float) * k * n), "2 threads differ");
    mynn_set_threads(0);
    mynn_qnet *q7 = NULL;
    mynn_quant_options o;
    mynn_quant_options_default(&o);
    o.max_batch = 7;
    CHECK_OK(mynn_quantize(&q7, net, x, n, &o));
    if (q7) CHECK_OK(mynn_qnet_predict(q7, x, n, y2));
    CHECK(q7 && !memcmp(y, y2, sizeof(float) * k * n), "max_batch 7 differs");
    mynn_qnet_free(q7);
    /* the file round trip: the same graph, the same bits */
    const char *p = tmp_path("graph8.safetensors");
    mynn_qnet *l = NULL;
    CHECK_OK(mynn_qnet_save(q, p));
    CHECK_OK(mynn_qnet_load(&l, p, 16));
    if (l) {
        const mynn_net *lf = mynn_qnet_float(l);
        CHECK(mynn_n_layers(lf) == mynn_n_layers(f), "loaded: %d nodes, want %d", mynn_n_layers(lf), mynn_n_layers(f));
        for (int i = 0; i < mynn_n_layers(f) && i < mynn_n_layers(lf); i++) {
            int a[8], b[8], na = mynn_layer_inputs(f, i, a, 8), nb = mynn_layer_inputs(lf, i, b, 8);
            CHECK(na == nb && !memcmp(a, b, sizeof(int) * (na < 8 ? na : 8)), "loaded: node %d's inputs differ", i);
        }
        CHECK_OK(mynn_qnet_predict(l, x, n, y2));
        CHECK(!memcmp(y, y2, sizeof(float) * k * n), "the loaded model differs");
    }
    mynn_qnet_free(l);
    /* the exported C */
    const char *dir = tmp_path("g8");
    CHECK(mkdir(dir, 0755) == 0, "mkdir");
    CHECK_OK(mynn_qexport_c(q, dir, "m"));
    for (int c = 0; c < 2; c++) {
        if (!gen_c_have(gen_c_cc[c])) continue;
        int rc = gen_c_compile_run(dir, gen_c_cc[c], x, n, 6, k, y2);
        CHECK(rc == 0, "%s: %d", gen_c_cc[c], rc);
        if (!rc) CHECK(!memcmp(y, y2, sizeof(float) * k * n), "%s: the exported int8 C differs", gen_c_cc[c]);
    }
    mynn_qnet_free(q);
    mynn_free(net);
    free(x);
    free(y);
    free(yf);
    free(y2);
}

static void test_percentile(void)
{
    /* inputs: 999 values of 1 and one of 1000: the 99th percentile of |x|
     * ignores the outlier, the maximum does not */
    mynn_net *net = NULL;
    CHECK_OK(mynn_create(&net, 1));
    CHECK_OK(mynn_add_layers(net, "2:relu,1"));
    CHECK_OK(mynn_build(net, 64, MYNN_INIT_AUTO, 1));
    float x[1000];
    for (int i = 0; i < 1000; i++) x[i] = i == 500 ? 1000.0f : 1.0f;
    mynn_quant_options o;
    mynn_quant_options_default(&o);
    mynn_qnet *qm = NULL, *qp = NULL;
    CHECK_OK(mynn_quantize(&qm, net, x, 1000, &o));
    o.stat = MYNN_CALIB_PERCENTILE;
    o.percentile = 99.0f;
    CHECK_OK(mynn_quantize(&qp, net, x, 1000, &o));
    float sm = 0, sp = 0;
    if (qm) mynn_qnet_layer_scales(qm, 0, &sm, NULL);
    if (qp) mynn_qnet_layer_scales(qp, 0, &sp, NULL);
    CHECK(sm == 1000.0f / 127.0f, "max: %g", sm);
    /* one histogram bin (1000/4096) above 1 */
    CHECK(sp * 127.0f >= 1.0f && sp * 127.0f <= 1.0f + 1000.0f / 4096 + 1e-3f, "percentile: %g", sp * 127);
    mynn_qnet_free(qm);
    mynn_qnet_free(qp);
    mynn_free(net);
}

/* ---- files --------------------------------------------------------------- */

static void test_files(void)
{
    mynn_net *net = small_net("16:relu,3:softmax", MYNN_LOSS_CE);
    int n = 50;
    float *x = random_x(n, 6, 4);
    mynn_qnet *q = NULL, *l = NULL;
    CHECK_OK(mynn_quantize(&q, net, x, n, NULL));
    const char *p = tmp_path("small8.safetensors"), *pf = tmp_path("small.safetensors");
    CHECK_OK(mynn_qnet_save(q, p));
    CHECK_OK(mynn_save(net, pf));
    CHECK(mynn_file_is_int8(p) && !mynn_file_is_int8(pf) && !mynn_file_is_int8("/nonexistent"), "is_int8");
    CHECK_OK(mynn_qnet_load(&l, p, 5));
    float y1[150], y2[150];
    if (l) {
        CHECK_OK(mynn_qnet_predict(q, x, n, y1));
        CHECK_OK(mynn_qnet_predict(l, x, n, y2));
        CHECK(!memcmp(y1, y2, sizeof y1), "loaded int8 model predicts differently");
        CHECK(!strcmp(mynn_metadata(mynn_qnet_float(l), "format"), "mynn-int8"), "format metadata");
        CHECK(strstr(mynn_metadata(mynn_qnet_float(l), "calibration"), "max of |x| over 50 samples") != NULL,
              "calibration: %s", mynn_metadata(mynn_qnet_float(l), "calibration"));
        mynn_qnet_free(l);
        l = NULL;
    }
    mynn_net *f = NULL;
    CHECK(mynn_load(&f, p, 1) != MYNN_OK && f == NULL, "the float loader must refuse an int8 file");
    CHECK(mynn_qnet_load(&l, pf, 1) == MYNN_ERR_FORMAT && strstr(mynn_last_error(), "not an int8 model"),
          "float file: %s", mynn_last_error());
    /* a damaged scale: the first weight_scale set to 0 (found by its offset in the header) */
    FILE *fp = fopen(p, "rb");
    unsigned char buf[8192];
    size_t len = fp ? fread(buf, 1, sizeof buf, fp) : 0;
    if (fp) fclose(fp);
    uint64_t hl = 0;
    for (int i = 7; i >= 0; i--) hl = (hl << 8) | buf[i];
    const char *h = (const char *)buf + 8, *e = strstr(h, "\"layers.0.weight_scale\"");
    const char *o = e ? strstr(e, "data_offsets\":[") : NULL;
    CHECK(o != NULL, "no weight_scale in the header");
    if (o) {
        long begin = strtol(o + strlen("data_offsets\":["), NULL, 10);
        memset(buf + 8 + hl + begin, 0, 4);
        const char *bad = tmp_path("bad8.safetensors");
        fp = fopen(bad, "wb");
        fwrite(buf, 1, len, fp);
        fclose(fp);
        CHECK(mynn_qnet_load(&l, bad, 1) == MYNN_ERR_FORMAT &&
                  strstr(mynn_last_error(), "layers.0.weight_scale") &&
                  strstr(mynn_last_error(), "positive"), "zero scale: %s", mynn_last_error());
    }
    mynn_qnet_free(q);
    mynn_free(net);
    free(x);
}

/* ---- exported C ----------------------------------------------------------- */

static void test_export_int8(void)
{
    mynn_net *net = small_net("20:relu,dropout:0.1,10:tanh,5:softmax", MYNN_LOSS_CE);
    int n = 300;
    float *x = random_x(n, 6, 5);
    mynn_qnet *q = NULL;
    CHECK_OK(mynn_quantize(&q, net, x, n, NULL));
    if (!q) return;
    const char *dir = tmp_path("c8");
    CHECK(mkdir(dir, 0755) == 0, "mkdir");
    CHECK_OK(mynn_qexport_c(q, dir, "m"));
    float *y = malloc(sizeof(float) * 5 * n), *g = malloc(sizeof(float) * 5 * n);
    CHECK_OK(mynn_qnet_predict(q, x, n, y));
    int ran = 0;
    for (int c = 0; c < 2; c++) {
        if (!gen_c_have(gen_c_cc[c])) continue;
        int rc = gen_c_compile_run(dir, gen_c_cc[c], x, n, 6, 5, g);
        CHECK(rc == 0, "%s: %d", gen_c_cc[c], rc);
        if (rc) continue;
        ran++;
        CHECK(!memcmp(y, g, sizeof(float) * 5 * n), "%s: exported int8 code differs from mynn_qnet_predict",
              gen_c_cc[c]);
    }
    if (!ran) printf("  no compiler ran the int8 code\n");
    mynn_qnet_free(q);
    mynn_free(net);
    free(x);
    free(y);
    free(g);
}

/* ---- Fashion-MNIST and the tool ------------------------------------------ */

/* The tool (MYNN_TOOL, made absolute: it runs in tmpdir) with args. */
static int run_tool(const char *args)
{
    char tool[4096] = "";
    const char *t = getenv("MYNN_TOOL");
    if (t[0] != '/' && !getcwd(tool, sizeof tool - strlen(t) - 2)) return 127;
    if (t[0] != '/') strcat(tool, "/");
    strcat(tool, t);
    char cmd[9000];
    snprintf(cmd, sizeof cmd, "cd '%s' && '%s' %s >tool.out 2>tool.err", tmpdir, tool, args);
    int rc = system(cmd);
    return WIFEXITED(rc) ? WEXITSTATUS(rc) : 128;
}

static void test_fashion_mnist(void)
{
    if (ck_emulated()) SKIP("Fashion-MNIST training is minutes under emulation");
    if (access(FM_DIR, R_OK) != 0) SKIP("Fashion-MNIST not installed in %s", FM_DIR);
    mynn_dataset *train = NULL, *test = NULL;
    CHECK_OK(mynn_dataset_load(&train, FM_DIR, NULL, 0));
    CHECK_OK(mynn_dataset_load(&test, FM_DIR, NULL, 1));
    if (!train || !test) return;
    if (ck_sanitized()) train->n = 12000;
    mynn_net *net = NULL;
    CHECK_OK(mynn_create(&net, 784));
    CHECK_OK(mynn_add_layers(net, "128:relu,10:softmax"));
    CHECK_OK(mynn_set_loss(net, MYNN_LOSS_CE));
    CHECK_OK(mynn_build(net, 64, MYNN_INIT_AUTO, 1));
    float shift[784] = {0}, scale[784];
    for (int j = 0; j < 784; j++) scale[j] = 1.0f / 255.0f;
    CHECK_OK(mynn_set_input_transform(net, "scale", shift, scale));
    mynn_fit_options fo;
    mynn_fit_options_default(&fo);
    fo.epochs = 2;
    fo.batch_size = 64;
    CHECK_OK(mynn_fit(net, train, NULL, &fo));
    mynn_qnet *q = NULL;
    CHECK_OK(mynn_quantize(&q, net, train->x, 5000, NULL));
    mynn_metrics mf, mq;
    CHECK_OK(mynn_evaluate(net, test, &mf, NULL));
    if (q) CHECK_OK(mynn_qnet_evaluate(q, test, &mq, NULL));
    printf("  Fashion-MNIST test accuracy: float %.2f%%, int8 %.2f%%\n", 100 * mf.accuracy, 100 * mq.accuracy);
    CHECK(mf.accuracy > 0.82f, "float accuracy %g", mf.accuracy);
    CHECK(mq.accuracy >= mf.accuracy - 0.005f, "int8 loses %.2f points", 100 * (mf.accuracy - mq.accuracy));
    /* exact integer sums: the same bits at 1 and 2 threads */
    if (q) {
        int nt = 2048;
        float *y1 = malloc(sizeof(float) * 10 * nt), *y2 = malloc(sizeof(float) * 10 * nt);
        mynn_set_threads(1);
        CHECK_OK(mynn_qnet_predict(q, test->x, nt, y1));
        mynn_set_threads(2);
        CHECK_OK(mynn_qnet_predict(q, test->x, nt, y2));
        mynn_set_threads(0);
        CHECK(!memcmp(y1, y2, sizeof(float) * 10 * nt), "int8 outputs depend on the thread count");
        free(y1);
        free(y2);
    }
    const char *pf = tmp_path("fm.safetensors"), *pq = tmp_path("fm8.safetensors");
    CHECK_OK(mynn_save(net, pf));
    CHECK_OK(mynn_qnet_save(q, pq));
    struct stat sf, sq;
    CHECK(stat(pf, &sf) == 0 && stat(pq, &sq) == 0 && (double)sf.st_size / sq.st_size >= 3.5,
          "file sizes %ld / %ld", (long)sf.st_size, (long)sq.st_size);
    printf("  files: float %ld bytes, int8 %ld bytes (%.2fx)\n", (long)sf.st_size, (long)sq.st_size,
           (double)sf.st_size / sq.st_size);

    /* the tool: quantize, then eval, predict, info and export on the result */
    const char *tool = getenv("MYNN_TOOL");
    if (!tool || access(tool, X_OK) != 0) {
        mynn_qnet_free(q);
        mynn_free(net);
        mynn_dataset_free(train);
        mynn_dataset_free(test);
        SKIP("MYNN_TOOL not set: the tool is not tested");
    }
    CHECK(run_tool("quantize fm.safetensors --calib " FM_DIR " --samples 5000 --out t8.safetensors") == 0,
          "mynn quantize failed");
    mynn_qnet *qt = NULL;
    CHECK_OK(mynn_qnet_load(&qt, tmp_path("t8.safetensors"), 256));
    mynn_metrics mt;
    if (qt) {
        CHECK_OK(mynn_qnet_evaluate(qt, test, &mt, NULL));
        CHECK(mt.accuracy == mq.accuracy, "tool's int8 model: %g vs %g", mt.accuracy, mq.accuracy);
    }
    CHECK(run_tool("eval t8.safetensors " FM_DIR " --json") == 0, "eval");
    FILE *f = fopen(tmp_path("tool.out"), "r");
    char line[4096] = "";
    if (f) {
        if (!fgets(line, sizeof line, f)) line[0] = '\0';
        fclose(f);
    }
    char want[64];
    snprintf(want, sizeof want, "\"correct\":%ld,", lroundf(mq.accuracy * test->n));
    CHECK(strstr(line, want) != NULL, "eval --json: want %s in %.200s", want, line);
    CHECK(run_tool("info t8.safetensors") == 0, "info");
    CHECK(run_tool("predict t8.safetensors " FM_DIR " --out p8.csv") == 0, "predict");
    CHECK(run_tool("export t8.safetensors --format c --out . --name fm8") == 0, "export");
    CHECK(access(tmp_path("fm8.c"), R_OK) == 0 && access(tmp_path("fm8.h"), R_OK) == 0, "export files");
    CHECK(run_tool("quantize t8.safetensors --calib " FM_DIR " --out t9.safetensors") == 1, "int8 again");
    CHECK(run_tool("quantize fm.safetensors --calib " FM_DIR " --out t9.safetensors --stat median") == 2, "bad stat");
    CHECK(run_tool("quantize fm.safetensors --out t9.safetensors") == 2, "no --calib");
    CHECK(run_tool("quantize --help") == 0 && run_tool("export --help") == 0, "--help");
    CHECK(run_tool("quantize fm.safetensors --calib " FM_DIR " --out t9.safetensors --percentile 99") == 2,
          "--percentile without --stat percentile");
    mynn_qnet_free(qt);
    mynn_qnet_free(q);
    mynn_free(net);
    mynn_dataset_free(train);
    mynn_dataset_free(test);
}

int main(void)
{
    CK_BEGIN("test_quant");
    const char *base = getenv("TMPDIR");
    snprintf(tmpdir, sizeof tmpdir, "%s/mynn_quant_XXXXXX", base && *base ? base : "/tmp");
    if (!mkdtemp(tmpdir)) {
        perror("mkdtemp");
        return 1;
    }
    RUN(test_rounding);
    RUN(test_quantize_vector);
    RUN(test_qgemm_engines);
    RUN(test_quantize_small);
    RUN(test_quantize_graph);
    RUN(test_percentile);
    RUN(test_files);
    RUN(test_export_int8);
    RUN(test_fashion_mnist);
    if (!ck_failed) {
        char cmd[400];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
        if (system(cmd) != 0) fprintf(stderr, "test_quant: could not remove %s\n", tmpdir);
    } else {
        printf("  files kept in %s\n", tmpdir);
    }
    return CK_END();
}
