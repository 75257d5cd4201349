/* Old model files keep loading and predicting the same: every model in
 * tests/data/compat/ was saved by the release before the graph redesign,
 * with inputs and the outputs that release predicted (README.md there).
 * The float models must give those outputs to GEMM rounding (another CPU
 * sums in another order), the int8 model to the bit's neighbourhood; the
 * CSV model its class probabilities through the tool. */
#include "check.h"
#include "mynn.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define DIR "tests/data/compat/"

static float *read_f32(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long sz = ftell(f);
    fseek(f, 0, SEEK_SET);
    float *v = malloc(sz > 0 ? (size_t)sz : 1);
    *n = v && fread(v, 1, (size_t)sz, f) == (size_t)sz ? (size_t)sz / sizeof *v : 0;
    fclose(f);
    return v;
}

/* The largest |a - b| / (1e-6 + |b|) ... in the units of the outputs (all
 * in [0, 1] or small regressions): an absolute bound with a relative part. */
static double worst(const float *a, const float *b, size_t n)
{
    double w = 0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)a[i] - b[i]) / (1.0 + fabs((double)b[i]));
        if (d > w || d != d) w = d != d ? 1e30 : d;
    }
    return w;
}

static void check_float(const char *name, double tol)
{
    char path[256];
    size_t nx, ny;
    snprintf(path, sizeof path, DIR "%s.x.f32", name);
    float *x = read_f32(path, &nx);
    snprintf(path, sizeof path, DIR "%s.y.f32", name);
    float *want = read_f32(path, &ny);
    snprintf(path, sizeof path, DIR "%s.safetensors", name);
    mynn_net *net = NULL;
    CHECK(x && want && mynn_load(&net, path, 7) == MYNN_OK, "%s: %s", path, mynn_last_error());
    if (net) {
        int d = mynn_n_inputs(net), k = mynn_n_outputs(net), n = (int)(nx / (size_t)d);
        CHECK((size_t)n * d == nx && (size_t)n * k == ny, "%s: %zu inputs, %zu outputs for %d x %d", name, nx, ny, d, k);
        float *got = calloc(ny, sizeof *got);
        CHECK(mynn_predict(net, x, n, got) == MYNN_OK, "%s: predict: %s", name, mynn_last_error());
        double w = worst(got, want, ny);
        CHECK(w <= tol, "%s: outputs differ from the old release's by %g (tolerance %g)", name, w, tol);
        /* and saving it again gives a file that loads to the same outputs */
        char again[64];
        snprintf(again, sizeof again, "/tmp/mynn_compat_%d.safetensors", (int)getpid());
        mynn_net *back = NULL;
        CHECK(mynn_save(net, again) == MYNN_OK && mynn_load(&back, again, 7) == MYNN_OK, "%s: resave: %s", name,
              mynn_last_error());
        if (back) {
            float *got2 = calloc(ny, sizeof *got2);
            mynn_predict(back, x, n, got2);
            CHECK(memcmp(got, got2, ny * sizeof *got) == 0, "%s: the resaved model predicts differently", name);
            free(got2);
            mynn_free(back);
        }
        unlink(again);
        free(got);
        mynn_free(net);
    }
    free(x);
    free(want);
}

static void check_int8(void)
{
    size_t nx, ny;
    float *x = read_f32(DIR "cnn_int8.x.f32", &nx), *want = read_f32(DIR "cnn_int8.y.f32", &ny);
    mynn_qnet *q = NULL;
    CHECK(x && want && mynn_qnet_load(&q, DIR "cnn_int8.safetensors", 5) == MYNN_OK, "int8: %s", mynn_last_error());
    if (q) {
        const mynn_net *f = mynn_qnet_float(q);
        int d = mynn_n_inputs(f), n = (int)(nx / (size_t)d);
        float *got = calloc(ny, sizeof *got);
        CHECK(mynn_qnet_predict(q, x, n, got) == MYNN_OK, "int8 predict: %s", mynn_last_error());
        /* exact integer sums and the same float steps: the same bits */
        CHECK(memcmp(got, want, ny * sizeof *got) == 0, "int8: outputs differ from the old release's by %g",
              worst(got, want, ny));
        free(got);
        mynn_qnet_free(q);
    }
    free(x);
    free(want);
}

/* The tool's predictions for the CSV model, as the old release printed them. */
static void check_csv_tool(void)
{
    const char *tool = getenv("MYNN_TOOL");
    if (!tool) SKIP("csv model through the tool: MYNN_TOOL is not set");
    char out[64], cmd[512];
    snprintf(out, sizeof out, "/tmp/mynn_compat_%d.csv", (int)getpid());
    snprintf(cmd, sizeof cmd, "%s predict " DIR "csv_enc.safetensors " DIR "csv_enc.csv --out %s >/dev/null 2>&1",
             tool, out);
    CHECK(system(cmd) == 0, "%s failed", cmd);
    FILE *a = fopen(out, "r"), *b = fopen(DIR "csv_enc.pred.csv", "r");
    CHECK(a && b, "prediction files");
    char la[512], lb[512];
    int lines = 0, same = 1;
    while (a && b && fgets(lb, sizeof lb, b)) {
        if (!fgets(la, sizeof la, a)) {
            same = 0;
            break;
        }
        lines++;
        if (lines == 1) {
            same &= strcmp(la, lb) == 0;
            continue;
        }
        /* class,p0,p1,p2: the class the same, the probabilities to 1e-5 */
        char *pa = strchr(la, ','), *pb = strchr(lb, ',');
        same &= pa && pb && pa - la == pb - lb && strncmp(la, lb, (size_t)(pa - la)) == 0;
        for (int k = 0; same && k < 3; k++) {
            double va = strtod(pa + 1, &pa), vb = strtod(pb + 1, &pb);
            same &= fabs(va - vb) <= 1e-5;
        }
    }
    CHECK(same && lines == 13, "the tool's predictions differ from the old release's (%d lines)", lines);
    if (a) fclose(a);
    if (b) fclose(b);
    unlink(out);
}

static int have_data(void)
{
    struct stat st;
    return stat(DIR "mlp.safetensors", &st) == 0;
}

#define FLOAT_TEST(name)                                                            \
    static void test_##name(void)                                                   \
    {                                                                               \
        if (!have_data()) SKIP("tests/data/compat not found (run from the source tree)"); \
        check_float(#name, 1e-5);                                                   \
    }
FLOAT_TEST(mlp)
FLOAT_TEST(cnn)
FLOAT_TEST(conv1d)
FLOAT_TEST(regression)
FLOAT_TEST(cnn_bn)

static void test_int8(void)
{
    if (!have_data()) SKIP("tests/data/compat not found (run from the source tree)");
    check_int8();
}

static void test_csv_tool(void)
{
    if (!have_data()) SKIP("tests/data/compat not found (run from the source tree)");
    check_csv_tool();
}

int main(void)
{
    CK_BEGIN("test_compat");
    RUN(test_mlp);
    RUN(test_cnn);
    RUN(test_conv1d);
    RUN(test_regression);
    RUN(test_cnn_bn);
    RUN(test_int8);
    RUN(test_csv_tool);
    return CK_END();
}
