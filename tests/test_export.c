/* mynn_export_c / mynn export --format c: the generated C99 compiles with
 * gcc and clang at -std=c99 -Wall -Wextra -Wpedantic -Werror, and on real
 * data (Fashion-MNIST test images where installed, else synthetic) gives
 *  - exactly mynn_predict's outputs, bit for bit, with the reference GEMM
 *    (the same float operations in the same order), and
 *  - mynn_predict's outputs with the machine's fastest GEMM to within its
 *    summation-order rounding (see tol_fast below),
 * for every activation, a sigmoid output, a regression and a
 * normalised model.  A compiler that is absent is skipped with a message. */
#include "check.h"
#include "gen_c.h"
#include "mynn.h"
#include "kernels/gemm_internal.h"
#include "kernels/kernels.h"

#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define FM_DIR "/usr/share/datasets/fashion-mnist"

static char tmpdir[256];
static mynn_dataset *g_data;    /* inputs for every model */
static int g_n_check;           /* samples compared */
static int g_have_cc[2], g_compiled;

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

static void check_net(mynn_net *net, const char *label)
{
    char dir[400];
    snprintf(dir, sizeof dir, "%s/%s", tmpdir, label);
    CHECK(mkdir(dir, 0755) == 0, "mkdir %s", dir);
    CHECK_OK(mynn_export_c(net, dir, "m"));
    int n = g_n_check, d = mynn_n_inputs(net), k = mynn_n_outputs(net);
    float *ref = malloc(sizeof(float) * (size_t)n * k), *fast = malloc(sizeof(float) * (size_t)n * k);
    float *gen = malloc(sizeof(float) * (size_t)n * k);
    CHECK(mn_gemm_set_engine("ref") == 0, "no ref engine");
    CHECK_OK(mynn_predict(net, g_data->x, n, ref));
    mn_gemm_set_engine(NULL);
    CHECK_OK(mynn_predict(net, g_data->x, n, fast));
    for (int c = 0; c < 2; c++) {
        if (!g_have_cc[c]) continue;
        int rc = gen_c_compile_run(dir, gen_c_cc[c], g_data->x, n, d, k, gen);
        CHECK(rc == 0, "%s: %s: compile or run failed (%d)", label, gen_c_cc[c], rc);
        if (rc) continue;
        g_compiled++;
        size_t differ = 0;
        for (size_t i = 0; i < (size_t)n * k; i++) differ += memcmp(&gen[i], &ref[i], 4) != 0;
        CHECK(differ == 0, "%s: %s: %zu of %zu outputs differ from mynn_predict (ref GEMM)", label,
              gen_c_cc[c], differ, (size_t)n * k);
        double rel = row_rel_diff(gen, fast, n, k);
        CHECK(rel <= tol_fast, "%s: %s: %g from mynn_predict (%s GEMM)", label, gen_c_cc[c], rel,
              mn_gemm_engine());
        if (c == 0)
            printf("  %-12s identical to the ref GEMM; %.2g (row-relative) from %s\n", label, rel,
                   mn_gemm_engine());
    }
    free(ref);
    free(fast);
    free(gen);
}

/* A net on g_data's inputs, trained briefly on its first samples, so the
 * weights are a trained model's rather than the initial ones. */
static mynn_net *make_net(const char *spec, mynn_loss loss, const char *norm, const float *y,
                          int k)
{
    mynn_net *net = NULL;
    int d = g_data->n_inputs, ntrain = g_data->n < 2000 ? g_data->n : 2000;
    CHECK_OK(mynn_create(&net, d));
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
    /* a convolution is refused, naming the layer */
    CHECK_OK(mynn_create(&net, d));
    CHECK_OK(mynn_set_input_shape(net, 1, h, w));
    CHECK_OK(mynn_add_layers(net, "conv:2:3:relu,flatten,3:softmax"));
    CHECK_OK(mynn_set_loss(net, MYNN_LOSS_CE));
    CHECK_OK(mynn_build(net, 4, MYNN_INIT_AUTO, 4));
    CHECK(mynn_export_c(net, tmpdir, "m") == MYNN_ERR_ARG && strstr(mynn_last_error(), "layer 0 (conv"),
          "conv: %s", mynn_last_error());
    mynn_free(net);
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
