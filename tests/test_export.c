/* mynn_export_c / mynn export --format c: the generated C99 compiles with
 * gcc and clang at -std=c99 -Wall -Wextra -Wpedantic -Werror, and on real
 * data (Fashion-MNIST test images where installed, else synthetic) gives
 *  - exactly mynn_predict's outputs, bit for bit, with the reference GEMM
 *    (the same float operations in the same order), or within 1e-6 of
 *    each row's largest output where a batch norm is folded into the
 *    convolution or dense layer before it (which rounds differently), and
 *  - mynn_predict's outputs with the machine's fastest GEMM to within its
 *    summation-order rounding (see tol_fast below),
 * for every activation, a sigmoid output, a regression and a normalised
 * model, random CNNs with every layer kind (2-D and 1-D) and random batch
 * norm statistics, graphs (residual blocks, inception blocks with padded
 * pooling, add and concat of vectors; their int8 export bit for bit
 * mynn_qnet_predict), a deep residual net whose arena is a fraction of its
 * outputs, a CNN trained on Fashion-MNIST (the same classes), and sequence
 * models (rnn, lstm, gru, embedding; within tol_fast of the library), with
 * their streaming step function where they have one (every sample's steps
 * through m_step give m_predict's outputs bit for bit).  The reference in
 * double walks the graph from the layers' definitions.
 * A compiler that is absent is skipped with a message. */
#include "check.h"
#include "gen_c.h"
#include "mynn.h"
#include "kernels/gemm_internal.h"
#include "kernels/kernels.h"
#include "network/network.h"

#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define FM_DIR "/usr/share/datasets/fashion-mnist"

static char tmpdir[256];
static mynn_dataset *g_data;    /* inputs for every model */
static int g_n_check;           /* samples compared */
static int g_have_cc[2], g_compiled;

static int argmax(const float *v, int k)
{
    int b = 0;
    for (int j = 1; j < k; j++)
        if (v[j] > v[b]) b = j;
    return b;
}

/* Largest |a - b| over each row, relative to the row's largest |b|. */
static double row_rel_diff(const float *a, const float *b, int n, int k)
{
    double worst = 0.0;
    for (int r = 0; r < n; r++) {
        double m = 1e-30, d = 0.0;
        for (int j = 0; j < k; j++) {
            double bj = fabs(b[(size_t)r * k + j]), dj = fabs((double)a[(size_t)r * k + j] - b[(size_t)r * k + j]);
            if (bj > m) m = bj;
            if (dj > d) d = dj;
        }
        if (d / m > worst) worst = d / m;
    }
    return worst;
}

/* The blocked SIMD GEMM sums each dot product in another order than the
 * generated plain loop, so the two differ by float rounding of 784-term
 * sums (measured up to ~2.3e-6 of the row's largest output on a
 * standard-normalised model); 1e-5 of it is a bound with margin that
 * still catches any real mistake (a wrong weight, bias or activation moves
 * outputs by far more).  Exactness is asserted against the reference GEMM. */
static const double tol_fast = 1e-5;

/* ---- the network in double, at inference ------------------------------ */

static void act_double(mynn_activation a, double *v, int n)
{
    if (a == MYNN_ACT_SOFTMAX) {
        double m = v[0], sum = 0;
        for (int i = 1; i < n; i++) m = v[i] > m ? v[i] : m;
        for (int i = 0; i < n; i++) sum += v[i] = exp(v[i] - m);
        for (int i = 0; i < n; i++) v[i] /= sum;
        return;
    }
    for (int i = 0; i < n; i++) {
        double z = v[i];
        switch (a) {
        case MYNN_ACT_SIGMOID: v[i] = 1.0 / (1.0 + exp(-z)); break;
        case MYNN_ACT_TANH: v[i] = tanh(z); break;
        case MYNN_ACT_RELU: v[i] = z > 0 ? z : 0; break;
        case MYNN_ACT_LEAKY_RELU: v[i] = z > 0 ? z : 0.01 * z; break;
        case MYNN_ACT_GELU: v[i] = 0.5 * z * (1.0 + erf(z / sqrt(2.0))); break;
        default: break;
        }
    }
}

/* One node on one sample, its inputs x[j] [j's size] -> y [n_out], written
 * from the kinds' definitions (direct convolution, pooling over the
 * window's part inside the plane: max ignores the padding, average counts
 * it as zeros; batch norm unfolded; add and concat of the inputs). */
static void layer_double(const mn_layer *l, const double *const *xs, double *y)
{
    const double *x = xs[0];
    const int C = l->in_shape.c, H = l->in_shape.h, W = l->in_shape.w;
    const int F = l->out_shape.c, OH = l->out_shape.h, OW = l->out_shape.w;
    const float *p = l->param;
    switch (l->kind->id) {
    case MYNN_LAYER_DENSE:
        for (int o = 0; o < l->n_out; o++) {
            double z = p[(size_t)l->n_out * l->n_in + o];
            for (int k = 0; k < l->n_in; k++) z += (double)p[(size_t)o * l->n_in + k] * x[k];
            y[o] = z;
        }
        break;
    case MYNN_LAYER_CONV:
        for (int f = 0; f < F; f++)
            for (int oy = 0; oy < OH; oy++)
                for (int ox = 0; ox < OW; ox++) {
                    double z = p[(size_t)F * C * l->kh * l->kw + f];
                    for (int c = 0; c < C; c++)
                        for (int i = 0; i < l->kh; i++)
                            for (int j = 0; j < l->kw; j++) {
                                int iy = oy * l->sh - l->ph + i, ix = ox * l->sw - l->pw + j;
                                if (iy >= 0 && iy < H && ix >= 0 && ix < W)
                                    z += (double)p[((f * C + c) * l->kh + i) * l->kw + j] * x[(c * H + iy) * W + ix];
                            }
                    y[(f * OH + oy) * OW + ox] = z;
                }
        break;
    case MYNN_LAYER_MAXPOOL:
    case MYNN_LAYER_AVGPOOL:
        for (int c = 0; c < C; c++)
            for (int oy = 0; oy < OH; oy++)
                for (int ox = 0; ox < OW; ox++) {
                    double m = -INFINITY, sum = 0;
                    for (int i = 0; i < l->kh; i++)
                        for (int j = 0; j < l->kw; j++) {
                            int iy = oy * l->sh - l->ph + i, ix = ox * l->sw - l->pw + j;
                            if (iy < 0 || iy >= H || ix < 0 || ix >= W) continue;
                            double v = x[(c * H + iy) * W + ix];
                            m = v > m ? v : m;
                            sum += v;
                        }
                    y[(c * OH + oy) * OW + ox] = l->kind->id == MYNN_LAYER_MAXPOOL ? m : sum / (l->kh * l->kw);
                }
        break;
    case MYNN_LAYER_GLOBAL_AVGPOOL:
        for (int c = 0; c < C; c++) {
            double sum = 0;
            for (int i = 0; i < H * W; i++) sum += x[c * H * W + i];
            y[c] = sum / (H * W);
        }
        break;
    case MYNN_LAYER_BATCHNORM:
        for (int c = 0; c < C; c++)
            for (int i = 0; i < H * W; i++)
                y[c * H * W + i] = p[c] * (x[c * H * W + i] - l->buf[c]) / sqrt((double)l->buf[C + c] + l->eps) + p[C + c];
        break;
    case MYNN_LAYER_ADD:
        for (int i = 0; i < l->n_out; i++) {
            double z = 0;
            for (int j = 0; j < l->n_src; j++) z += xs[j][i];
            y[i] = z;
        }
        break;
    case MYNN_LAYER_CONCAT: {
        double *o = y;
        for (int j = 0; j < l->n_src; j++) {
            const mn_shape sj = l->src_shape[j];
            for (int i = 0; i < sj.c * sj.h * sj.w; i++) *o++ = xs[j][i];
        }
        break;
    }
    default:   /* flatten, dropout, activation */
        for (int i = 0; i < l->n_out; i++) y[i] = x[i];
    }
    mynn_layer_kind k = l->kind->id;
    if (k == MYNN_LAYER_DENSE || k == MYNN_LAYER_CONV || k == MYNN_LAYER_ACTIVATION || k == MYNN_LAYER_ADD)
        act_double(l->act, y, l->n_out);
}

/* The n rows of x through the input transform and every node of the
 * graph (each reading its inputs: mynn_layer_inputs), in double. */
static void forward_double(const mynn_net *net, const float *x, int n, double *y)
{
    const int N = net->n_layers, k = mynn_n_outputs(net);
    double *in = malloc(sizeof(double) * net->n_inputs), **val = malloc(sizeof(double *) * N);
    for (int i = 0; i < N; i++) val[i] = malloc(sizeof(double) * net->layers[i].n_out);
    for (int r = 0; r < n; r++) {
        for (int j = 0; j < net->n_inputs; j++) {
            double v = x[(size_t)r * net->n_inputs + j];
            in[j] = net->shift ? (v - net->shift[j]) * net->scale[j] : v;
        }
        for (int i = 0; i < N; i++) {
            int ids[MN_MAX_INPUTS], m = mynn_layer_inputs(net, i, ids, MN_MAX_INPUTS);
            const double *xs[MN_MAX_INPUTS];
            for (int j = 0; j < m; j++) xs[j] = ids[j] == MYNN_INPUT ? in : val[ids[j]];
            layer_double(&net->layers[i], xs, val[i]);
        }
        for (int j = 0; j < k; j++) y[(size_t)r * k + j] = val[N - 1][j];
    }
    for (int i = 0; i < N; i++) free(val[i]);
    free(val);
    free(in);
}

/* Largest |a - t| over each row, relative to the row's largest |t|. */
static double row_rel_diff_d(const float *a, const double *t, int n, int k)
{
    double worst = 0.0;
    for (int r = 0; r < n; r++) {
        double m = 1e-30, d = 0.0;
        for (int j = 0; j < k; j++) {
            double tj = t[(size_t)r * k + j], dj = fabs(a[(size_t)r * k + j] - tj);
            m = fabs(tj) > m ? fabs(tj) : m;
            d = dj > d ? dj : d;
        }
        worst = d / m > worst ? d / m : worst;
    }
    return worst;
}

/* A batch norm folded into the weights rounds differently from the
 * library, which normalises the rounded sum: where the running variance is
 * small, 1/sqrt(var + eps) magnifies either's rounding alike (measured up
 * to 1.4e-6 of the row's largest output on the Fashion-MNIST CNN below,
 * the library's own two GEMMs 3.6e-6 apart on it).  So a folded model is
 * held to what the library is held to across GEMMs (tol_fast), and to be
 * as close to the exact (double) result as the library is. */
static const double tol_fold_vs_lib = 2.0;

/* Compares the generated code on x [n × inputs] with mynn_predict (ref and
 * fast GEMM); exact: bit for bit with the ref GEMM, else within tol_fast
 * and no further than tol_fold_vs_lib times the library's distance from
 * the network computed in double.  classes: also the same argmax in every
 * row. */
static void check_net_on(mynn_net *net, const char *label, const float *x, int n, int exact, int classes)
{
    char dir[400];
    snprintf(dir, sizeof dir, "%s/%s", tmpdir, label);
    CHECK(mkdir(dir, 0755) == 0, "mkdir %s", dir);
    CHECK_OK(mynn_export_c(net, dir, "m"));
    int d = mynn_n_inputs(net), k = mynn_n_outputs(net);
    float *ref = malloc(sizeof(float) * (size_t)n * k), *fast = malloc(sizeof(float) * (size_t)n * k);
    float *gen = malloc(sizeof(float) * (size_t)n * k);
    CHECK(mn_gemm_set_engine("ref") == 0, "no ref engine");
    CHECK_OK(mynn_predict(net, x, n, ref));
    mn_gemm_set_engine(NULL);
    CHECK_OK(mynn_predict(net, x, n, fast));
    double *truth = malloc(sizeof(double) * (size_t)n * k);
    forward_double(net, x, n, truth);
    double err_lib = row_rel_diff_d(ref, truth, n, k), err_fast = row_rel_diff_d(fast, truth, n, k);
    err_lib = err_fast > err_lib ? err_fast : err_lib;
    for (int c = 0; c < 2; c++) {
        if (!g_have_cc[c]) continue;
        int rc = gen_c_compile_run(dir, gen_c_cc[c], x, n, d, k, gen);
        CHECK(rc == 0, "%s: %s: compile or run failed (%d)", label, gen_c_cc[c], rc);
        if (rc) continue;
        g_compiled++;
        size_t differ = 0, other = 0;
        for (size_t i = 0; i < (size_t)n * k; i++) differ += memcmp(&gen[i], &ref[i], 4) != 0;
        double rel_ref = row_rel_diff(gen, ref, n, k), err_gen = row_rel_diff_d(gen, truth, n, k);
        if (exact) {
            CHECK(differ == 0, "%s: %s: %zu of %zu outputs differ from mynn_predict (ref GEMM)", label,
                  gen_c_cc[c], differ, (size_t)n * k);
        } else {
            CHECK(rel_ref <= tol_fast, "%s: %s: %g from mynn_predict (ref GEMM)", label, gen_c_cc[c],
                  rel_ref);
            CHECK(err_gen <= tol_fold_vs_lib * err_lib, "%s: %s: %g from the exact outputs, the library %g",
                  label, gen_c_cc[c], err_gen, err_lib);
        }
        for (int r = 0; classes && r < n; r++) other += argmax(gen + (size_t)r * k, k) != argmax(ref + (size_t)r * k, k);
        CHECK(other == 0, "%s: %s: %zu of %d samples change class", label, gen_c_cc[c], other, n);
        double rel = row_rel_diff(gen, fast, n, k);
        CHECK(rel <= tol_fast, "%s: %s: %g from mynn_predict (%s GEMM)", label, gen_c_cc[c], rel,
              mn_gemm_engine());
        if (c == 0 && exact)
            printf("  %-12s identical to the ref GEMM; %.2g (row-relative) from %s\n", label, rel,
                   mn_gemm_engine());
        else if (c == 0)
            printf("  %-12s %.2g from the ref GEMM, %.2g from %s (row-relative; %zu of %zu differ); "
                   "from exact: %.2g, the library %.2g\n", label, rel_ref, rel, mn_gemm_engine(), differ,
                   (size_t)n * k, err_gen, err_lib);
    }
    free(ref);
    free(fast);
    free(gen);
    free(truth);
}

static void check_net(mynn_net *net, const char *label) { check_net_on(net, label, g_data->x, g_n_check, 1, 0); }

/* A net on g_data's inputs, trained briefly on its first samples, so the
 * weights are a trained model's rather than the initial ones. */
static mynn_net *make_net_shaped(const int *shape, const char *spec, mynn_loss loss, const char *norm,
                                 const float *y, int k)
{
    mynn_net *net = NULL;
    int d = g_data->n_inputs, ntrain = g_data->n < 2000 ? g_data->n : 2000;
    CHECK_OK(mynn_create(&net, d));
    if (shape) CHECK_OK(mynn_set_input_shape(net, shape[0], shape[1], shape[2]));
    CHECK_OK(mynn_add_layers(net, spec));
    CHECK_OK(mynn_set_loss(net, loss));
    CHECK_OK(mynn_build(net, 64, MYNN_INIT_AUTO, 3));
    float *shift = calloc((size_t)d, sizeof *shift), *scale = calloc((size_t)d, sizeof *scale);
    for (int j = 0; j < d; j++) {
        double m = 0, v = 0;
        for (int r = 0; r < ntrain; r++) m += g_data->x[(size_t)r * d + j];
        m /= ntrain;
        for (int r = 0; r < ntrain; r++) {
            double t = g_data->x[(size_t)r * d + j] - m;
            v += t * t;
        }
        v = sqrt(v / ntrain);
        int standard = !strcmp(norm, "standard");
        shift[j] = standard ? (float)m : 0.0f;
        scale[j] = standard ? (float)(1.0 / (v > 1e-3 ? v : 1.0)) : 1.0f / 255.0f;
    }
    CHECK_OK(mynn_set_input_transform(net, norm, shift, scale));
    free(shift);
    free(scale);
    mynn_dataset tr = {.n = ntrain, .n_inputs = d, .n_outputs = k, .x = g_data->x, .y = (float *)y};
    mynn_fit_options o;
    mynn_fit_options_default(&o);
    o.epochs = 1;
    o.batch_size = 32;
    CHECK_OK(mynn_fit(net, &tr, NULL, &o));
    return net;
}

static mynn_net *make_net(const char *spec, mynn_loss loss, const char *norm, const float *y, int k)
{
    return make_net_shaped(NULL, spec, loss, norm, y, k);
}

static void test_activations(void)
{
    if (ck_emulated()) SKIP("under emulation: the generated code is built by the host's compilers, with the host's libm");
    static const char *const hidden[] = {"identity", "sigmoid", "tanh", "relu", "leaky_relu", "gelu"};
    for (int a = 0; a < 6; a++) {
        char spec[80];
        snprintf(spec, sizeof spec, "24:%s,dropout:0.2,12:%s,%d:softmax", hidden[a], hidden[a],
                 g_data->n_outputs);
        mynn_net *net = make_net(spec, MYNN_LOSS_CE, "scale", g_data->y, g_data->n_outputs);
        check_net(net, hidden[a]);
        mynn_free(net);
    }
}

/* One sigmoid output (class 0 or not), binary cross-entropy. */
static void test_sigmoid_output(void)
{
    float *y = malloc(sizeof(float) * (size_t)g_data->n);
    for (int r = 0; r < g_data->n; r++) y[r] = g_data->labels[r] == 0;
    mynn_net *net = make_net("16:relu,1:sigmoid", MYNN_LOSS_BCE, "scale", y, 1);
    check_net(net, "sigmoid_out");
    mynn_free(net);
    free(y);
}

/* Regression: the image's mean brightness and its label / 9, identity outputs. */
static void test_regression(void)
{
    if (ck_emulated()) SKIP("under emulation: the generated code is built by the host's compilers, with the host's libm");
    int d = g_data->n_inputs;
    float *y = malloc(sizeof(float) * 2 * (size_t)g_data->n);
    for (int r = 0; r < g_data->n; r++) {
        double m = 0;
        for (int j = 0; j < d; j++) m += g_data->x[(size_t)r * d + j];
        y[2 * r] = (float)(m / d / 255.0);
        y[2 * r + 1] = (float)g_data->labels[r] / 9.0f;
    }
    mynn_net *net = make_net("16:tanh,2", MYNN_LOSS_MSE, "scale", y, 2);
    check_net(net, "regression");
    mynn_free(net);
    free(y);
}

/* Standard normalisation (per-feature mean and 1/std), then the same
 * model exported by the tool: byte-identical files. */
static void test_normalised_and_cli(void)
{
    if (ck_emulated()) SKIP("under emulation: the generated code is built by the host's compilers, with the host's libm");
    char spec[64];
    snprintf(spec, sizeof spec, "32:gelu,%d:softmax", g_data->n_outputs);
    mynn_net *net = make_net(spec, MYNN_LOSS_CE, "standard", g_data->y, g_data->n_outputs);
    check_net(net, "standard");
    const char *tool = getenv("MYNN_TOOL");
    if (!tool || access(tool, X_OK) != 0) {
        mynn_free(net);
        SKIP("MYNN_TOOL not set: the tool's export is not compared");
    }
    char model[400], cmd[2400];
    snprintf(model, sizeof model, "%s/standard.safetensors", tmpdir);
    CHECK_OK(mynn_save(net, model));
    snprintf(cmd, sizeof cmd, "'%s' export '%s' --format c --out '%s' --name m && "
             "cmp -s '%s/m.c' '%s/standard/m.c' && cmp -s '%s/m.h' '%s/standard/m.h'",
             tool, model, tmpdir, tmpdir, tmpdir, tmpdir, tmpdir);
    CHECK(system(cmd) == 0, "mynn export differs from mynn_export_c: %s", cmd);
    struct { const char *args; int rc; } bad[] = {
        {"--format c --out . --name 9lives", 2},
        {"--format onnx2 --out .", 2},
        {"--format c", 2},
        {"--format c --out /nonexistent/dir", 1},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        snprintf(cmd, sizeof cmd, "'%s' export '%s' %s 2>/dev/null", tool, model, bad[i].args);
        int rc = system(cmd);
        CHECK(WIFEXITED(rc) && WEXITSTATUS(rc) == bad[i].rc, "%s: exit %d, expected %d", bad[i].args,
              WEXITSTATUS(rc), bad[i].rc);
    }
    mynn_free(net);
}

/* A shaped input (1 × 28 × 28, or 1 × 4 × 5 synthetic), flatten and
 * activation layers: the identity and f(x) in the generated code. */
static void test_flatten_activation(void)
{
    if (ck_emulated()) SKIP("under emulation: the generated code is built by the host's compilers, with the host's libm");
    int d = g_data->n_inputs, h = d == 784 ? 28 : 4, w = d / h;
    mynn_net *net = NULL;
    char spec[80];
    snprintf(spec, sizeof spec, "flatten,24,gelu,dropout:0.1,16,tanh,%d:softmax", g_data->n_outputs);
    CHECK_OK(mynn_create(&net, d));
    CHECK_OK(mynn_set_input_shape(net, 1, h, w));
    CHECK_OK(mynn_add_layers(net, spec));
    CHECK_OK(mynn_set_loss(net, MYNN_LOSS_CE));
    CHECK_OK(mynn_build(net, 64, MYNN_INIT_AUTO, 4));
    float *shift = calloc((size_t)d, sizeof *shift), *scale = malloc(sizeof(float) * (size_t)d);
    for (int j = 0; j < d; j++) scale[j] = 1.0f / 255.0f;
    CHECK_OK(mynn_set_input_transform(net, "scale", shift, scale));
    free(shift);
    free(scale);
    check_net(net, "flatten_act");
    mynn_free(net);
}

/* ---- convolutional models -------------------------------------------- */

/* Random γ and β in [0.5, 1.5) and [-0.5, 0.5), running means in
 * [-0.3, 0.3), variances in [0.05, 2) for every batch norm, and non-zero
 * biases: the initial 1, 0, 0, 1 and zero biases would hide a wrong fold. */
static void randomise(mynn_net *net, mynn_rng *r)
{
    for (int i = 0; i < net->n_layers; i++) {
        mn_layer *l = &net->layers[i];
        size_t np = mn_layer_params(l);
        int C = l->out_shape.c;
        if (l->kind->id == MYNN_LAYER_BATCHNORM) {
            for (int c = 0; c < C; c++) {
                l->param[c] = 0.5f + mynn_rng_uniform(r);
                l->param[C + c] = mynn_rng_uniform(r) - 0.5f;
                l->buf[c] = 0.6f * mynn_rng_uniform(r) - 0.3f;
                l->buf[C + c] = 0.05f + 1.95f * mynn_rng_uniform(r);
            }
        } else if (np > (size_t)C) {
            for (int c = 0; c < C; c++) l->param[np - C + c] = 0.4f * mynn_rng_uniform(r) - 0.2f;
        }
    }
}

/* M_SCRATCH_FLOATS of the header dir/m.h, or -1. */
static long header_scratch(const char *dir)
{
    char path[500], line[256];
    snprintf(path, sizeof path, "%s/m.h", dir);
    FILE *f = fopen(path, "r");
    long v = -1;
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "#define M_SCRATCH_FLOATS %ld", &v) == 1) break;
    if (f) fclose(f);
    return v;
}

/* The int8 model of net (calibrated on x) exported as C (tmpdir/label):
 * compiled by each compiler, it gives mynn_qnet_predict's outputs bit for
 * bit, and mynn_qnet_predict those of one thread at two. */
static void check_int8_on(mynn_net *net, const char *label, const float *x, int n)
{
    char dir[400];
    snprintf(dir, sizeof dir, "%s/%s", tmpdir, label);
    CHECK(mkdir(dir, 0755) == 0, "mkdir %s", dir);
    mynn_qnet *q = NULL;
    CHECK_OK(mynn_quantize(&q, net, x, n, NULL));
    if (!q) return;
    CHECK_OK(mynn_qexport_c(q, dir, "m"));
    int d = mynn_n_inputs(net), k = mynn_n_outputs(net);
    float *y = malloc(sizeof(float) * (size_t)n * k), *y2 = malloc(sizeof(float) * (size_t)n * k);
    float *gen = malloc(sizeof(float) * (size_t)n * k);
    CHECK_OK(mynn_qnet_predict(q, x, n, y));
    mynn_set_threads(2);
    CHECK_OK(mynn_qnet_predict(q, x, n, y2));
    mynn_set_threads(1);
    CHECK(!memcmp(y, y2, sizeof(float) * (size_t)n * k), "%s: int8 at 2 threads differs from 1", label);
    for (int c = 0; c < 2; c++) {
        if (!g_have_cc[c]) continue;
        int rc = gen_c_compile_run(dir, gen_c_cc[c], x, n, d, k, gen);
        CHECK(rc == 0, "%s: %s: compile or run failed (%d)", label, gen_c_cc[c], rc);
        if (rc) continue;
        g_compiled++;
        size_t differ = 0;
        for (size_t i = 0; i < (size_t)n * k; i++) differ += memcmp(&gen[i], &y[i], 4) != 0;
        CHECK(differ == 0, "%s: %s: %zu of %zu outputs differ from mynn_qnet_predict", label, gen_c_cc[c], differ,
              (size_t)n * k);
        if (c == 0 && !differ)
            printf("  %-12s identical to mynn_qnet_predict (scratch %ld floats)\n", label, header_scratch(dir));
    }
    mynn_qnet_free(q);
    free(y);
    free(y2);
    free(gen);
}

/* A CNN on c × h × w inputs (h == 1: 1-D, c × w) with its initial weights
 * and random batch norm statistics, checked on n random inputs in [-1, 1);
 * transform: with an input transform; int8: its int8 export too (label
 * with "_q8"). */
static void check_random_graph(int c, int h, int w, const char *spec, const char *label, int exact, int transform,
                               int int8)
{
    mynn_net *net = NULL;
    mynn_rng r;
    mynn_rng_seed(&r, 21);
    int d = c * h * w, n = 200;
    CHECK_OK(mynn_create(&net, d));
    if (h == 1) CHECK_OK(mynn_set_input_shape_1d(net, c, w));
    else CHECK_OK(mynn_set_input_shape(net, c, h, w));
    CHECK_OK(mynn_add_layers(net, spec));
    CHECK_OK(mynn_set_loss(net, MYNN_LOSS_MSE));
    CHECK_OK(mynn_build(net, 64, MYNN_INIT_AUTO, 9));
    if (ck_cur_failed || !mynn_n_outputs(net)) {
        mynn_free(net);
        return;
    }
    randomise(net, &r);
    if (transform) {
        float *shift = malloc(sizeof(float) * d), *scale = malloc(sizeof(float) * d);
        for (int j = 0; j < d; j++) {
            shift[j] = 0.2f * mynn_rng_uniform(&r) - 0.1f;
            scale[j] = 0.5f + mynn_rng_uniform(&r);
        }
        CHECK_OK(mynn_set_input_transform(net, "custom", shift, scale));
        free(shift);
        free(scale);
    }
    float *x = malloc(sizeof(float) * (size_t)n * d);
    for (size_t i = 0; i < (size_t)n * d; i++) x[i] = 2.0f * mynn_rng_uniform(&r) - 1.0f;
    check_net_on(net, label, x, n, exact, 0);
    if (int8) {
        char q8[64];
        snprintf(q8, sizeof q8, "%s_q8", label);
        check_int8_on(net, q8, x, n);
    }
    free(x);
    mynn_free(net);
}

static void check_random_cnn(int c, int h, int w, const char *spec, const char *label, int exact)
{
    check_random_graph(c, h, w, spec, label, exact, 0, 0);
}

/* Every layer kind: conv with padding 1 and stride 2, "same" padding, a
 * rectangular kernel, conv1d, max, average and global average pooling (2-D
 * and 1-D), batch norms that fold (after a conv or dense layer with the
 * identity) and that do not (after tanh, relu, pooling), flatten, dropout,
 * activation layers, dense and softmax. */
static void test_cnn_every_kind(void)
{
    if (ck_emulated()) SKIP("under emulation: the generated code is built by the host's compilers, with the host's libm");
    check_random_cnn(3, 12, 12, "conv:6:3:pad=1:stride=2,batchnorm,relu,conv:8:3:tanh:pad=same,batchnorm,"
                     "maxpool:2,batchnorm,avgpool:2:stride=1,gap,flatten,12,batchnorm,gelu,dropout:0.2,"
                     "5:softmax", "cnn2d", 0);
    check_random_cnn(2, 1, 40, "conv1d:4:5:pad=2:stride=2,batchnorm,leaky_relu,maxpool1d:2,"
                     "conv1d:6:3:sigmoid:pad=same,avgpool1d:2,batchnorm,flatten,4:softmax", "cnn1d", 0);
    /* nothing folds: bit for bit */
    check_random_cnn(3, 12, 12, "conv:4:3:relu:pad=1,batchnorm,maxpool:3:stride=2,conv:5:2x3:stride=2,"
                     "avgpool:2,flatten,tanh,6:softmax", "cnn_nofold", 1);
    check_random_cnn(2, 1, 30, "sigmoid,conv1d:3:4:gelu:stride=3,batchnorm,gap,softmax,3", "cnn1d_nofold", 1);
}

/* Graphs: residual blocks (identity shortcuts, a strided 1x1 projection
 * with its batch norm, batch norms folding inside the branches, one that
 * cannot fold because its conv's output has a second reader, a shortcut
 * straight from the transformed input), inception blocks (1x1, 3x3, padded
 * max and average pooling concatenated), add and concat of vectors (a
 * dense output beside a global average pool), 1-D: the float C against
 * mynn_predict and the double reference, the int8 C against
 * mynn_qnet_predict. */
static void test_cnn_graph(void)
{
    if (ck_emulated()) SKIP("under emulation: the generated code is built by the host's compilers, with the host's libm");
    check_random_graph(3, 12, 12, "conv:4:3:pad=1,batchnorm,relu,"
                       "res(conv:4:3:pad=same,batchnorm,relu,conv:4:3:pad=same,batchnorm):relu,"
                       "res(conv:6:3:stride=2:pad=1,batchnorm,relu,conv:6:3:pad=same,batchnorm | "
                       "conv:6:1:stride=2,batchnorm):relu,gap,5:softmax", "resnet", 0, 0, 1);
    /* nothing folds (the first conv is read by its batch norm and the add;
     * the others have activations): bit for bit */
    check_random_graph(3, 10, 10, "conv:4:3:pad=1:as=c,batchnorm,add:tanh:from=c+-1,"
                       "res(conv:4:3:relu:pad=same,batchnorm | conv:4:1:sigmoid):relu,gap,5:softmax",
                       "res_nofold", 1, 1, 1);
    check_random_graph(3, 10, 10, "res(conv:3:3:tanh:pad=same,batchnorm | avgpool:3:stride=1:pad=1):relu,"
                       "res(conv:3:3:pad=same,batchnorm,relu),conv:4:3:stride=2,batchnorm,relu,flatten,5:softmax",
                       "res_input", 0, 1, 1);
    check_random_graph(3, 12, 12, "cat(conv:3:1:relu | conv:3:3:tanh:pad=same | maxpool:3:stride=1:pad=1 | "
                       "avgpool:3:stride=1:pad=1),maxpool:3:stride=2:pad=1,conv:4:3:relu,flatten,5:softmax",
                       "inception", 1, 1, 1);
    check_random_graph(3, 9, 9, "conv:4:3:relu:stride=2:as=c,gap:as=g,4:tanh:from=c,add:relu:from=g+-1,"
                       "concat:from=g+-1+-2,dropout:0.1,6:gelu:from=input,concat:from=-2+-1,5:softmax",
                       "add_vectors", 1, 1, 1);
    check_random_graph(2, 1, 30, "conv1d:4:3:pad=1,batchnorm,relu,"
                       "res(conv1d:4:3:pad=same,batchnorm,relu,conv1d:4:3:pad=same,batchnorm):relu,"
                       "cat(conv1d:3:1:tanh | maxpool1d:3:stride=1:pad=1 | avgpool1d:3:stride=1:pad=1),gap,"
                       "4:softmax", "graph1d", 0, 0, 1);
}

/* A deep residual net: the generated arena holds what is alive at once,
 * far less than every node's output together. */
static void test_arena(void)
{
    if (ck_emulated()) SKIP("under emulation: the generated code is built by the host's compilers, with the host's libm");
    const char *spec = "conv:8:3:pad=1,batchnorm,relu,"
                       "(res(conv:8:3:pad=same,batchnorm,relu,conv:8:3:pad=same,batchnorm):relu)x6,gap,5:softmax";
    check_random_graph(3, 12, 12, spec, "deep_res", 0, 1, 1);
    mynn_net *net = NULL;
    CHECK_OK(mynn_create(&net, 3 * 12 * 12));
    CHECK_OK(mynn_set_input_shape(net, 3, 12, 12));
    CHECK_OK(mynn_add_layers(net, spec));
    CHECK_OK(mynn_build(net, 1, MYNN_INIT_AUTO, 9));
    if (ck_cur_failed) {
        mynn_free(net);
        return;
    }
    long sum = 0, widest = 0;
    for (int i = 0; i < net->n_layers; i++) {
        sum += net->layers[i].n_out;
        widest = net->layers[i].n_out > widest ? net->layers[i].n_out : widest;
    }
    char dir[400];
    snprintf(dir, sizeof dir, "%s/deep_res", tmpdir);
    long fl = header_scratch(dir);
    snprintf(dir, sizeof dir, "%s/deep_res_q8", tmpdir);
    long q8 = header_scratch(dir);
    printf("  %d nodes, outputs %ld floats together (widest %ld): scratch %ld floats (float C), %ld (int8 C)\n",
           net->n_layers, sum, widest, fl, q8);
    /* at most the block's input, its branch's two outputs and the sum are
     * alive at once (and the transformed input, before the first block);
     * the int8 code also holds one quantised layer input (bytes) */
    CHECK(fl > 0 && fl <= 4 * widest && fl < sum / 8, "float C: scratch %ld floats, outputs %ld", fl, sum);
    CHECK(q8 > 0 && q8 <= 4 * widest + widest / 4 + 4 && q8 < sum / 8, "int8 C: scratch %ld floats, outputs %ld",
          q8, sum);
    mynn_free(net);
}

/* A small CNN trained briefly on Fashion-MNIST: the generated code
 * classifies the test images as mynn_predict does, and the tool exports
 * the same files. */
static void test_cnn_fashion(void)
{
    if (ck_emulated()) SKIP("under emulation: the generated code is built by the host's compilers, with the host's libm");
    if (g_data->n_inputs != 784) SKIP("Fashion-MNIST not in %s: no trained CNN", FM_DIR);
    static const int shape[3] = {1, 28, 28};
    mynn_net *net = make_net_shaped(shape, "conv:8:3:pad=1,batchnorm,relu,maxpool:2,conv:16:3:pad=1,"
                                    "batchnorm,relu,maxpool:2,flatten,32,batchnorm,relu,10:softmax",
                                    MYNN_LOSS_CE, "scale", g_data->y, 10);
    check_net_on(net, "cnn_fashion", g_data->x, g_n_check, 0, 1);
    const char *tool = getenv("MYNN_TOOL");
    if (!tool || access(tool, X_OK) != 0) {
        mynn_free(net);
        SKIP("MYNN_TOOL not set: the tool's export is not compared");
    }
    char model[400], cmd[2400];
    snprintf(model, sizeof model, "%s/cnn.safetensors", tmpdir);
    CHECK_OK(mynn_save(net, model));
    snprintf(cmd, sizeof cmd, "'%s' export '%s' --format c --out '%s' --name m && "
             "cmp -s '%s/m.c' '%s/cnn_fashion/m.c' && cmp -s '%s/m.h' '%s/cnn_fashion/m.h'",
             tool, model, tmpdir, tmpdir, tmpdir, tmpdir, tmpdir);
    CHECK(system(cmd) == 0, "mynn export differs from mynn_export_c: %s", cmd);
    mynn_free(net);
}

/* ---- sequence models ------------------------------------------------- */

/* The #define NAME of dir/m.h, or -1 when it has none. */
static long header_define(const char *dir, const char *name)
{
    char path[500], line[256], fmt[96];
    snprintf(path, sizeof path, "%s/m.h", dir);
    snprintf(fmt, sizeof fmt, "#define %s %%ld", name);
    FILE *f = fopen(path, "r");
    long v = -1;
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, fmt, &v) == 1) break;
    if (f) fclose(f);
    return v;
}

/* Does dir/m.h contain text? */
static int header_has(const char *dir, const char *text)
{
    char path[500], line[512];
    snprintf(path, sizeof path, "%s/m.h", dir);
    FILE *f = fopen(path, "r");
    int found = 0;
    while (f && !found && fgets(line, sizeof line, f)) found = strstr(line, text) != NULL;
    if (f) fclose(f);
    return found;
}

/* The stream of dir's m.c (each compiler): every sample's steps through
 * m_step give m_predict's outputs bit for bit (gen: the generated
 * prediction), the last step's for a last-step model, each step's row for
 * a :seq output; after: what a step past the last returns. */
static void check_stream(const char *dir, const char *label, const float *x, int n, int d, int k, const float *gen,
                         int after)
{
    long T = header_define(dir, "M_N_STEPS"), so = header_define(dir, "M_STEP_OUTPUTS");
    CHECK(T > 0 && so > 0 && (so == k || so * T == k), "%s: M_N_STEPS %ld, M_STEP_OUTPUTS %ld, %d outputs", label,
          T, so, k);
    if (ck_cur_failed) return;
    float *y = malloc(sizeof(float) * (size_t)n * T * so);
    for (int c = 0; c < 2; c++) {
        if (!g_have_cc[c]) continue;
        int rc = gen_c_compile_run_steps(dir, gen_c_cc[c], x, n, d, after, T * so, y);
        CHECK(rc == 0, "%s: %s: the stream's compile or run failed (%d)", label, gen_c_cc[c], rc);
        if (rc) continue;
        size_t differ = 0;
        for (int r = 0; r < n; r++) {
            const float *ys = y + (size_t)r * T * so + (so == k ? (size_t)(T - 1) * so : 0);
            differ += memcmp(ys, gen + (size_t)r * k, sizeof(float) * k) != 0;
        }
        CHECK(differ == 0, "%s: %s: %zu of %d samples' streams differ from m_predict", label, gen_c_cc[c], differ, n);
        if (c == 0 && !differ)
            printf("  %-12s m_step over %ld steps (state %ld floats) = m_predict, every sample\n", label, T,
                   header_define(dir, "M_STATE_FLOATS"));
    }
    free(y);
}

/* A sequence model on T × F inputs (spec; vocab > 0: token ids below it
 * as inputs, else random values in [-1, 1)), its initial weights with
 * random biases; transform 1: the same scale for every input, 2: random
 * coefficients per input (so per step: the stream counts its steps).
 * m_predict on 40 inputs against mynn_predict, with the reference GEMM
 * and the fastest: within tol_fast (bit for bit where the library's cells
 * use libm's expf and tanhf, as the generated code does; the count of
 * differing outputs is printed); streams: the header
 * declares m_step and check_stream holds, else it says why there is none
 * (why_not in its line). */
static void check_seq(int T, int F, const char *spec, const char *label, int vocab, int transform, int streams,
                      const char *why_not)
{
    mynn_net *net = NULL;
    mynn_rng r;
    mynn_rng_seed(&r, 33);
    const int d = T * F, n = 40;
    CHECK_OK(mynn_create(&net, d));
    if (!vocab) CHECK_OK(mynn_set_input_shape_1d(net, T, F));
    CHECK_OK(mynn_add_layers(net, spec));
    CHECK_OK(mynn_build(net, 64, MYNN_INIT_AUTO, 5));
    if (ck_cur_failed) {
        mynn_free(net);
        return;
    }
    randomise(net, &r);
    if (transform) {
        float *shift = malloc(sizeof(float) * d), *scale = malloc(sizeof(float) * d);
        for (int j = 0; j < d; j++) {
            shift[j] = transform == 2 ? 0.2f * mynn_rng_uniform(&r) - 0.1f : 0.0f;
            scale[j] = transform == 2 ? 0.5f + mynn_rng_uniform(&r) : 0.75f;
        }
        CHECK_OK(mynn_set_input_transform(net, transform == 2 ? "custom" : "scale", shift, scale));
        free(shift);
        free(scale);
    }
    const int k = mynn_n_outputs(net);
    float *x = malloc(sizeof(float) * (size_t)n * d), *ref = malloc(sizeof(float) * (size_t)n * k);
    float *fast = malloc(sizeof(float) * (size_t)n * k), *gen = malloc(sizeof(float) * (size_t)n * k);
    for (size_t i = 0; i < (size_t)n * d; i++)
        x[i] = vocab ? (float)mynn_rng_below(&r, (uint64_t)vocab) : 2.0f * mynn_rng_uniform(&r) - 1.0f;
    char dir[400];
    snprintf(dir, sizeof dir, "%s/%s", tmpdir, label);
    CHECK(mkdir(dir, 0755) == 0, "mkdir %s", dir);
    CHECK_OK(mynn_export_c(net, dir, "m"));
    CHECK(mn_gemm_set_engine("ref") == 0, "no ref engine");
    CHECK_OK(mynn_predict(net, x, n, ref));
    mn_gemm_set_engine(NULL);
    CHECK_OK(mynn_predict(net, x, n, fast));
    CHECK(streams ? header_define(dir, "M_STATE_FLOATS") >= 0 : header_has(dir, why_not),
          "%s: the header %s", label, streams ? "declares no m_step" : "does not say why there is no m_step");
    for (int c = 0; c < 2 && !ck_cur_failed; c++) {
        if (!g_have_cc[c]) continue;
        int rc = gen_c_compile_run(dir, gen_c_cc[c], x, n, d, k, gen);
        CHECK(rc == 0, "%s: %s: compile or run failed (%d)", label, gen_c_cc[c], rc);
        if (rc) continue;
        g_compiled++;
        size_t differ = 0;
        for (size_t i = 0; i < (size_t)n * k; i++) differ += memcmp(&gen[i], &ref[i], 4) != 0;
        double rel = row_rel_diff(gen, fast, n, k), rel_ref = row_rel_diff(gen, ref, n, k);
        CHECK(rel_ref <= tol_fast, "%s: %s: %g from mynn_predict (ref GEMM)", label, gen_c_cc[c], rel_ref);
        CHECK(rel <= tol_fast, "%s: %s: %g from mynn_predict (%s GEMM)", label, gen_c_cc[c], rel, mn_gemm_engine());
        if (c == 0)
            printf("  %-12s %.2g from the ref GEMM (%zu of %zu outputs differ), %.2g from %s (row-relative)\n",
                   label, rel_ref, differ, (size_t)n * k, rel, mn_gemm_engine());
    }
    if (streams && !ck_cur_failed) check_stream(dir, label, x, n, d, k, gen, transform == 2 ? -2 : 0);
    free(x);
    free(ref);
    free(fast);
    free(gen);
    mynn_free(net);
}

/* rnn (tanh, relu), lstm, gru, the embedding, dense, add and softmax per step:
 * the whole-sequence prediction of every kind and shape (a sequence or
 * the last step out, bidirectional, a 1-D conv's output read channel-
 * major), and the stream where a model has one. */
static void test_sequences(void)
{
    if (ck_emulated()) SKIP("under emulation: the generated code is built by the host's compilers, with the host's libm");
    check_seq(5, 4, "lstm:8,3:softmax", "lstm_last", 0, 1, 1, NULL);
    check_seq(5, 4, "gru:6:seq:bi,2", "gru_seq_bi", 0, 0, 0, "layer 0 (gru) is bidirectional");
    check_seq(5, 4, "rnn:5:relu:seq,flatten,3", "rnn_flatten", 0, 0, 0, "layer 1 (flatten) needs every step");
    check_seq(2, 9, "conv1d:4:3,lstm:5,2", "conv1d_lstm", 0, 0, 0, "layer 0 (conv) reads the whole input");
    check_seq(6, 3, "gru:6:seq,5:tanh,softmax,3:sigmoid", "gru_per_step", 0, 2, 1, NULL);
    check_seq(7, 3, "rnn:6:relu:seq,dropout:0.1,lstm:5:seq,rnn:4,gru:4,3:softmax", "stacked", 0, 0, 1, NULL);
    check_seq(8, 1, "embedding:11:4,lstm:6,3", "embedding", 11, 0, 1, NULL);
    check_seq(6, 3, "rnn:4:seq:as=r,4:tanh,add:relu:from=r+-1,lstm:3,2", "residual_seq", 0, 1, 1, NULL);
    check_seq(6, 2, "lstm:5:seq:bi,gru:4:bi,rnn:3:seq:bi,2", "bi_stack", 0, 1, 0, "bidirectional");
}

/* Batch norm statistics that make no finite float are refused, naming the
 * layer, and nothing is written. */
static void test_cnn_bad_statistics(void)
{
    static const struct { const char *spec; int bn; float var, gamma; const char *what; } cases[] = {
        {"conv:2:3:relu,batchnorm,flatten,3", 1, -1.0f, 1.0f, "layer 1 (batchnorm)"},   /* not folded */
        {"conv:2:3,batchnorm,flatten,3", 1, -1.0f, 1.0f, "layer 1 (batchnorm) folded into layer 0"},
        {"conv:2:3,batchnorm,flatten,3", 1, 1e-30f, 3e38f, "layer 1 (batchnorm) folded into layer 0"},
        {"6,batchnorm,3", 1, 1e-30f, 3e38f, "layer 1 (batchnorm) folded into layer 0 (dense)"},
        {"6,batchnorm,3", 1, NAN, 1.0f, "statistic"},
    };
    for (size_t t = 0; t < sizeof cases / sizeof *cases; t++) {
        mynn_net *net = NULL;
        CHECK_OK(mynn_create(&net, 36));
        if (strncmp(cases[t].spec, "conv", 4) == 0) CHECK_OK(mynn_set_input_shape(net, 1, 6, 6));
        CHECK_OK(mynn_add_layers(net, cases[t].spec));
        CHECK_OK(mynn_build(net, 4, MYNN_INIT_AUTO, 1));
        mn_layer *bn = &net->layers[cases[t].bn];
        for (int c = 0; c < bn->in_shape.c; c++) {
            bn->buf[bn->in_shape.c + c] = cases[t].var;
            bn->param[c] = cases[t].gamma;
        }
        char dir[400], path[500];
        snprintf(dir, sizeof dir, "%s/bad%zu", tmpdir, t);
        CHECK(mkdir(dir, 0755) == 0, "mkdir %s", dir);
        mynn_status st = mynn_export_c(net, dir, "m");
        CHECK(st == MYNN_ERR_NUMERIC && strstr(mynn_last_error(), cases[t].what),
              "%s: %s: %s", cases[t].spec, mynn_status_name(st), mynn_last_error());
        snprintf(path, sizeof path, "%s/m.c", dir);
        CHECK(access(path, F_OK) != 0, "%s written", path);
        mynn_free(net);
    }
}

static void test_bad_arguments(void)
{
    mynn_net *net = NULL;
    CHECK(mynn_export_c(NULL, tmpdir, "m") == MYNN_ERR_NULL, "NULL net");
    CHECK_OK(mynn_create(&net, 3));
    CHECK_OK(mynn_add_layers(net, "2:relu,1"));
    CHECK(mynn_export_c(net, tmpdir, "m") == MYNN_ERR_STATE, "not built");
    CHECK_OK(mynn_build(net, 4, MYNN_INIT_AUTO, 1));
    CHECK(mynn_export_c(net, tmpdir, "a-b") == MYNN_ERR_ARG, "bad name");
    CHECK(mynn_export_c(net, tmpdir, "") == MYNN_ERR_ARG, "empty name");
    CHECK(mynn_export_c(net, "/nonexistent/dir", "m") == MYNN_ERR_IO, "missing folder");
    CHECK(strstr(mynn_last_error(), "/nonexistent/dir") != NULL, "message: %s", mynn_last_error());
    mynn_free(net);
}

/* Fashion-MNIST test images, or blobs of 20 features in 4 classes. */
static mynn_dataset *load_data(void)
{
    mynn_dataset *ds = NULL;
    if (access(FM_DIR, R_OK) == 0 && mynn_dataset_load(&ds, FM_DIR, NULL, 1) == MYNN_OK) {
        g_n_check = ck_sanitized() ? 100 : 300;
        printf("  data: Fashion-MNIST test images (%d compared)\n", g_n_check);
        return ds;
    }
    printf("  data: synthetic (Fashion-MNIST not in %s)\n", FM_DIR);
    int n = 1000, d = 20, k = 4;
    ds = calloc(1, sizeof *ds);
    ds->n = n;
    ds->n_inputs = d;
    ds->n_outputs = ds->n_classes = k;
    ds->x = malloc(sizeof(float) * (size_t)n * d);
    ds->y = calloc((size_t)n * k, sizeof(float));
    ds->labels = malloc(sizeof(int) * (size_t)n);
    ds->owned = 1;
    mynn_rng r;
    mynn_rng_seed(&r, 5);
    for (int i = 0; i < n; i++) {
        int c = (int)mynn_rng_below(&r, (uint64_t)k);
        ds->labels[i] = c;
        ds->y[(size_t)i * k + c] = 1.0f;
        for (int j = 0; j < d; j++)
            ds->x[(size_t)i * d + j] = 255.0f * mynn_rng_uniform(&r) * (j % k == c ? 1.0f : 0.5f);
    }
    g_n_check = 300;
    return ds;
}

int main(void)
{
    CK_BEGIN("test_export");
    const char *base = getenv("TMPDIR");
    snprintf(tmpdir, sizeof tmpdir, "%s/mynn_export_XXXXXX", base && *base ? base : "/tmp");
    if (!mkdtemp(tmpdir)) {
        perror("mkdtemp");
        return 1;
    }
    for (int c = 0; c < 2; c++) g_have_cc[c] = gen_c_have(gen_c_cc[c]);
    mynn_set_threads(1);
    g_data = load_data();
    RUN(test_bad_arguments);
    RUN(test_activations);
    RUN(test_sigmoid_output);
    RUN(test_regression);
    RUN(test_normalised_and_cli);
    RUN(test_flatten_activation);
    RUN(test_cnn_every_kind);
    RUN(test_cnn_graph);
    RUN(test_arena);
    RUN(test_cnn_fashion);
    RUN(test_cnn_bad_statistics);
    RUN(test_sequences);
    if (!g_compiled) printf("  no C compiler ran the generated code\n");
    mynn_dataset_free(g_data);
    if (!ck_failed) {
        char cmd[400];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
        if (system(cmd) != 0) fprintf(stderr, "test_export: could not remove %s\n", tmpdir);
    } else {
        printf("  files kept in %s\n", tmpdir);
    }
    return CK_END();
}
