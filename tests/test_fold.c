/* Batch norm folded into the layer before it (src/network/fold.c): with
 * random weights, random γ, β and random running statistics, a network
 * whose conv (2-D or 1-D) or dense layer carries the folded weight and
 * bias and has no batch norm predicts what the unfolded network predicts
 * at inference, to 1e-5 of each row's largest output; a batch norm that
 * cannot fold (after a non-linear activation, after pooling) is the
 * per-channel affine x·s + t.  In graphs: batch norms fold inside
 * residual branches and into a node other than the one before them, the
 * float C and the int8 model of the graph giving the bits of the same net
 * folded by hand; a conv read twice (its batch norm and an add) does not
 * fold in either. */
#include "check.h"
#include "gen_c.h"
#include "mynn.h"
#include "kernels/gemm_internal.h"
#include "network/fold.h"
#include "network/network.h"

#include <sys/stat.h>

static char g_tmp[256];

static mynn_rng g_rng;

static float unif(float lo, float hi) { return lo + (hi - lo) * mynn_rng_uniform(&g_rng); }

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

static mynn_net *build(int c, int h, int w, const char *spec)
{
    mynn_net *net = NULL;
    CHECK_OK(mynn_create(&net, c * h * w));
    if (h == 1 && w > 1) CHECK_OK(mynn_set_input_shape_1d(net, c, w));
    else if (h > 1) CHECK_OK(mynn_set_input_shape(net, c, h, w));
    CHECK_OK(mynn_add_layers(net, spec));
    CHECK_OK(mynn_build(net, 16, MYNN_INIT_AUTO, 7));
    return net;
}

/* Random γ, β, running mean and variance for every batch norm, and biases
 * that are not zero. */
static void randomise(mynn_net *net)
{
    for (int i = 0; i < net->n_layers; i++) {
        mn_layer *l = &net->layers[i];
        size_t np = mn_layer_params(l);
        if (l->kind->id == MYNN_LAYER_BATCHNORM) {
            int C = l->in_shape.c;
            for (int c = 0; c < C; c++) {
                l->param[c] = unif(0.5f, 1.5f);
                l->param[C + c] = unif(-0.5f, 0.5f);
                l->buf[c] = unif(-0.3f, 0.3f);
                l->buf[C + c] = unif(0.05f, 2.0f);
            }
        } else if (np > (size_t)l->out_shape.c) {
            for (int c = 0; c < l->out_shape.c; c++) l->param[np - l->out_shape.c + c] = unif(-0.2f, 0.2f);
        }
    }
}

static float *inputs(int n, int d)
{
    float *x = malloc(sizeof(float) * (size_t)n * d);
    for (size_t i = 0; i < (size_t)n * d; i++) x[i] = unif(-1.0f, 1.0f);
    return x;
}

/* full: a spec with "batchnorm" right after layer `at`; bare: the same
 * without it.  bare's layer `at` gets the folded pair, the others full's. */
static void check_fold(int c, int h, int w, const char *full, const char *bare, int at)
{
    mynn_net *a = build(c, h, w, full), *b = build(c, h, w, bare);
    randomise(a);
    CHECK(mn_fold_next(a, at), "%s: layer %d does not fold", full, at);
    for (int i = 0, j = 0; i < a->n_layers; i++, j++) {
        mn_layer *la = &a->layers[i], *lb = &b->layers[j];
        if (i == at) {
            mn_bn_fold(la, &a->layers[i + 1], lb->param, lb->param + mn_layer_params(lb) - lb->out_shape.c);
            i++;
            continue;
        }
        size_t np = mn_layer_params(la), nb = mn_layer_buffers(la);
        CHECK(np == mn_layer_params(lb) && nb == mn_layer_buffers(lb), "layer %d: sizes differ", i);
        if (np) memcpy(lb->param, la->param, np * sizeof(float));
        if (nb) memcpy(lb->buf, la->buf, nb * sizeof(float));
    }
    int n = 16, d = c * h * w, k = mynn_n_outputs(a);
    float *x = inputs(n, d), *ya = malloc(sizeof(float) * (size_t)n * k), *yb = malloc(sizeof(float) * (size_t)n * k);
    CHECK_OK(mynn_predict(a, x, n, ya));
    CHECK_OK(mynn_predict(b, x, n, yb));
    double rel = row_rel_diff(yb, ya, n, k);
    CHECK(rel <= 1e-5, "%s: folded differs by %g", full, rel);
    printf("  %-58s folded: %.2g\n", full, rel);
    free(x);
    free(ya);
    free(yb);
    mynn_free(a);
    mynn_free(b);
}

static void test_conv2d_fold(void)
{
    check_fold(3, 9, 9, "conv:6:3:pad=1:stride=2,batchnorm,relu,conv:4:3:pad=same,batchnorm,flatten,5",
               "conv:6:3:pad=1:stride=2,relu,conv:4:3:pad=same,batchnorm,flatten,5", 0);
    check_fold(3, 9, 9, "conv:6:3:pad=1:stride=2,batchnorm,relu,conv:4:3:pad=same,batchnorm,flatten,5",
               "conv:6:3:pad=1:stride=2,batchnorm,relu,conv:4:3:pad=same,flatten,5", 3);
}

static void test_conv1d_fold(void)
{
    check_fold(2, 1, 20, "conv1d:5:3:pad=1,batchnorm,tanh,gap,3", "conv1d:5:3:pad=1,tanh,gap,3", 0);
}

static void test_dense_fold(void)
{
    check_fold(12, 1, 1, "10,batchnorm,gelu,4", "10,gelu,4", 0);
}

/* Not foldable: the affine map on what the layer before gives (each
 * layer's output of the last prediction is in its out buffer). */
static void check_affine(int c, int h, int w, const char *spec, int at)
{
    mynn_net *a = build(c, h, w, spec);
    randomise(a);
    CHECK(!mn_fold_next(a, at - 1), "%s: layer %d folds", spec, at - 1);
    const mn_layer *bn = &a->layers[at];
    int C = bn->in_shape.c, S = bn->in_shape.h * bn->in_shape.w, n = 8, d = c * h * w, k = bn->n_out;
    float *s = malloc(sizeof(float) * C), *t = malloc(sizeof(float) * C);
    mn_bn_affine(bn, s, t);
    float *x = inputs(n, d), *y = malloc(sizeof(float) * (size_t)n * mynn_n_outputs(a));
    float *yb = malloc(sizeof(float) * (size_t)n * k);
    CHECK_OK(mynn_predict(a, x, n, y));
    const float *before = a->layers[at - 1].out;
    for (int r = 0; r < n; r++)
        for (int q = 0; q < C; q++)
            for (int p = 0; p < S; p++) {
                size_t o = (size_t)r * k + (size_t)q * S + p;
                yb[o] = before[o] * s[q] + t[q];
            }
    double rel = row_rel_diff(yb, bn->out, n, k);
    CHECK(rel <= 1e-6, "%s: affine differs by %g", spec, rel);
    printf("  %-58s affine: %.2g\n", spec, rel);
    free(s);
    free(t);
    free(x);
    free(y);
    free(yb);
    mynn_free(a);
}

static void test_not_foldable(void)
{
    check_affine(2, 8, 8, "conv:4:3:relu,batchnorm,flatten,3", 1);
    check_affine(2, 8, 8, "conv:4:3,maxpool:2,batchnorm,flatten,3", 2);
    check_affine(2, 1, 16, "conv1d:3:3,avgpool1d:2,batchnorm,flatten,3", 2);
    check_affine(6, 1, 1, "5:sigmoid,batchnorm,3", 1);
    /* the predicates themselves */
    mynn_net *net = build(2, 6, 6, "conv:3:3,flatten,batchnorm,8,batchnorm,batchnorm,2");
    CHECK(!mn_fold_next(net, 0) && !mn_fold_next(net, 1), "conv, flatten, batchnorm folds");
    CHECK(mn_fold_next(net, 3) && !mn_fold_next(net, 4), "dense, batchnorm, batchnorm");
    CHECK(!mn_fold_next(net, 5) && !mn_fold_next(net, -1) && !mn_fold_next(NULL, 0), "out of range");
    mynn_free(net);
}

/* ---- graphs ------------------------------------------------------------ */

/* The float C export of net (into g_tmp/sub) run on x by gcc: 0, or < 0
 * when it could not run; y [n × outputs]. */
static int export_run(const mynn_net *net, const char *sub, const float *x, int n, float *y)
{
    char dir[400];
    snprintf(dir, sizeof dir, "%s/%s", g_tmp, sub);
    if (mkdir(dir, 0755) != 0) return -1;
    mynn_status s = mynn_export_c(net, dir, "m");
    CHECK(s == MYNN_OK, "%s: mynn_export_c: %s", sub, mynn_last_error());
    return s ? -1 : gen_c_compile_run(dir, "gcc", x, n, mynn_n_inputs(net), mynn_n_outputs(net), y);
}

static int g_have_gcc;

/* full: a graph with batch norms; bare: the same graph with the folds
 * batch norms that fold (inside branches, or reading a node other than
 * the one before) taken out.  bare's nodes get the folded weights, the
 * others full's.  Then the folded pair predicts what the unfolded graph
 * does (1e-5 of each row's largest output); the float C of full (which
 * folds itself) gives the bits of bare's C and of bare's mynn_predict
 * with the reference GEMM; full's int8 model (folded before it is
 * calibrated) the bits of bare's, through mynn_qnet_predict. */
static void check_fold_graph(int c, int h, int w, const char *full, const char *bare, int folds, const char *label)
{
    mynn_net *a = build(c, h, w, full), *b = build(c, h, w, bare);
    if (!a || !b || ck_cur_failed) {
        mynn_free(a);
        mynn_free(b);
        return;
    }
    randomise(a);
    int found = 0, j = 0;
    for (int i = 0; i < a->n_layers; i++) {
        if (mn_fold_source(a, i) >= 0) {
            CHECK(mn_fold_target(a, mn_fold_source(a, i)) == i, "%s: fold source and target disagree at %d",
                  label, i);
            found++;
            continue;
        }
        if (j >= b->n_layers) break;
        mn_layer *la = &a->layers[i], *lb = &b->layers[j++];
        size_t np = mn_layer_params(la), nb = mn_layer_buffers(la);
        CHECK(la->kind == lb->kind && np == mn_layer_params(lb) && nb == mn_layer_buffers(lb),
              "%s: node %d (%s) does not match the bare net's %d (%s)", label, i, la->kind->name, j - 1,
              lb->kind->name);
        if (ck_cur_failed) break;
        int bn = mn_fold_target(a, i);
        if (bn >= 0) mn_bn_fold(la, &a->layers[bn], lb->param, lb->param + np - lb->out_shape.c);
        else if (np) memcpy(lb->param, la->param, np * sizeof(float));
        if (nb) memcpy(lb->buf, la->buf, nb * sizeof(float));
    }
    CHECK(found == folds && j == b->n_layers, "%s: %d batch norms fold (want %d), %d of %d bare nodes matched", label,
          found, folds, j, b->n_layers);
    if (ck_cur_failed) {
        mynn_free(a);
        mynn_free(b);
        return;
    }
    int n = 40, d = c * h * w, k = mynn_n_outputs(a);
    size_t ny = (size_t)n * k;
    float *x = inputs(n, d), *ya = malloc(sizeof(float) * ny), *yb = malloc(sizeof(float) * ny);
    float *ga = malloc(sizeof(float) * ny), *gb = malloc(sizeof(float) * ny);
    CHECK_OK(mynn_predict(a, x, n, ya));
    CHECK(mn_gemm_set_engine("ref") == 0, "no ref engine");
    CHECK_OK(mynn_predict(b, x, n, yb));
    mn_gemm_set_engine(NULL);
    double rel = row_rel_diff(yb, ya, n, k);
    CHECK(rel <= 1e-5, "%s: folded differs by %g", label, rel);
    printf("  %-12s %d folded: %.2g from the unfolded graph", label, found, rel);
    if (g_have_gcc && !ck_emulated()) {
        char sub[80];
        snprintf(sub, sizeof sub, "%s_full", label);
        int ra = export_run(a, sub, x, n, ga);
        snprintf(sub, sizeof sub, "%s_bare", label);
        int rb = export_run(b, sub, x, n, gb);
        CHECK(ra == 0 && rb == 0, "%s: the generated C did not run (%d, %d)", label, ra, rb);
        if (!ra && !rb) {
            CHECK(!memcmp(ga, gb, sizeof(float) * ny), "%s: the C of the graph differs from the folded one's", label);
            CHECK(!memcmp(gb, yb, sizeof(float) * ny), "%s: the folded graph's C differs from mynn_predict", label);
            printf("; float C: the folded net's bits");
        }
    }
    mynn_qnet *qa = NULL, *qb = NULL;
    CHECK_OK(mynn_quantize(&qa, a, x, n, NULL));
    CHECK_OK(mynn_quantize(&qb, b, x, n, NULL));
    if (qa && qb) {
        CHECK(mynn_n_layers(mynn_qnet_float(qa)) == b->n_layers, "%s: the int8 model has %d nodes, want %d", label,
              mynn_n_layers(mynn_qnet_float(qa)), b->n_layers);
        CHECK_OK(mynn_qnet_predict(qa, x, n, ga));
        CHECK_OK(mynn_qnet_predict(qb, x, n, gb));
        CHECK(!memcmp(ga, gb, sizeof(float) * ny), "%s: the int8 model differs from the folded net's", label);
        printf("; int8: the folded net's bits");
    }
    printf("\n");
    mynn_qnet_free(qa);
    mynn_qnet_free(qb);
    free(x);
    free(ya);
    free(yb);
    free(ga);
    free(gb);
    mynn_free(a);
    mynn_free(b);
}

/* Batch norms fold into the conv before them inside residual branches
 * (the main branch's and the projection shortcut's), also into a node
 * that is not the one before them in the graph's order (from=). */
static void test_graph_fold(void)
{
    check_fold_graph(3, 8, 8,
                     "conv:4:3:pad=1,batchnorm,relu,"
                     "res(conv:4:3:pad=same,batchnorm,relu,conv:4:3:pad=same,batchnorm):relu,"
                     "res(conv:6:3:stride=2:pad=1,batchnorm,relu,conv:6:3:pad=same,batchnorm | "
                     "conv:6:1:stride=2,batchnorm):relu,gap,3",
                     "conv:4:3:pad=1,relu,res(conv:4:3:pad=same,relu,conv:4:3:pad=same):relu,"
                     "res(conv:6:3:stride=2:pad=1,relu,conv:6:3:pad=same | conv:6:1:stride=2):relu,gap,3",
                     6, "resnet");
    check_fold_graph(2, 1, 16, "conv1d:3:3:pad=1:as=a,conv1d:3:1:tanh:from=input,batchnorm:from=a,"
                     "add:relu:from=-1+-2,flatten,6,batchnorm,4:tanh,res(4,batchnorm | 4:sigmoid),3",
                     "conv1d:3:3:pad=1:as=a,conv1d:3:1:tanh:from=input,add:relu:from=a+-1,flatten,6,"
                     "4:tanh,res(4 | 4:sigmoid),3", 3, "from");
}

/* A conv whose output is read twice (by its batch norm and by the add of
 * a shortcut) does not fold: the predicates say so, the float C computes
 * the batch norm itself (bit for bit mynn_predict with the reference
 * GEMM: nothing is folded), and the int8 model keeps it as x·s + t. */
static void test_graph_no_fold(void)
{
    const char *spec = "conv:4:3:pad=1:as=c,batchnorm,add:relu:from=c+-1,"
                       "res(conv:4:3:pad=same:as=d,batchnorm,add:from=d+-1),gap,3";
    mynn_net *a = build(2, 6, 6, spec);
    if (!a || ck_cur_failed) {
        mynn_free(a);
        return;
    }
    randomise(a);
    for (int i = 0; i < a->n_layers; i++) {
        CHECK(mn_fold_source(a, i) < 0 && mn_fold_target(a, i) < 0, "node %d folds (or is folded into)", i);
        CHECK(a->layers[i].kind->id != MYNN_LAYER_BATCHNORM || mn_net_readers(a, a->layers[i].src[0]) == 2,
              "batch norm %d: its conv has %d readers", i, mn_net_readers(a, a->layers[i].src[0]));
    }
    int n = 40, d = 72, k = mynn_n_outputs(a);
    float *x = inputs(n, d), *y = malloc(sizeof(float) * n * k), *g = malloc(sizeof(float) * n * k);
    CHECK(mn_gemm_set_engine("ref") == 0, "no ref engine");
    CHECK_OK(mynn_predict(a, x, n, y));
    mn_gemm_set_engine(NULL);
    if (g_have_gcc && !ck_emulated()) {
        int rc = export_run(a, "nofold", x, n, g);
        CHECK(rc == 0, "the generated C did not run (%d)", rc);
        if (!rc) CHECK(!memcmp(g, y, sizeof(float) * n * k), "the generated C differs from mynn_predict");
        char path[400], line[512];
        snprintf(path, sizeof path, "%s/nofold/m.c", g_tmp);
        FILE *f = fopen(path, "r");
        int calls = 0;
        while (f && fgets(line, sizeof line, f)) calls += strstr(line, "    batchnorm(") != NULL;
        if (f) fclose(f);
        CHECK(calls == 2, "the generated C runs %d batch norms, want 2", calls);
    }
    mynn_qnet *q = NULL;
    CHECK_OK(mynn_quantize(&q, a, x, n, NULL));
    if (q) {
        const mynn_net *f = mynn_qnet_float(q);
        int bns = 0;
        for (int i = 0; i < mynn_n_layers(f); i++) bns += f->layers[i].kind->id == MYNN_LAYER_BATCHNORM;
        CHECK(mynn_n_layers(f) == a->n_layers && bns == 2, "the int8 model: %d nodes, %d batch norms",
              mynn_n_layers(f), bns);
        CHECK_OK(mynn_qnet_predict(q, x, n, g));
        double rel = row_rel_diff(g, y, n, k);
        CHECK(rel <= 0.05, "int8 vs float: %g of the row's largest output", rel);
    }
    mynn_qnet_free(q);
    free(x);
    free(y);
    free(g);
    mynn_free(a);
}

int main(void)
{
    CK_BEGIN("test_fold");
    mynn_set_threads(1);
    mynn_rng_seed(&g_rng, 11);
    const char *base = getenv("TMPDIR");
    snprintf(g_tmp, sizeof g_tmp, "%s/mynn_fold_XXXXXX", base && *base ? base : "/tmp");
    if (!mkdtemp(g_tmp)) {
        perror("mkdtemp");
        return 1;
    }
    g_have_gcc = gen_c_have("gcc");
    RUN(test_conv2d_fold);
    RUN(test_conv1d_fold);
    RUN(test_dense_fold);
    RUN(test_not_foldable);
    RUN(test_graph_fold);
    RUN(test_graph_no_fold);
    if (!ck_failed) {
        char cmd[400];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", g_tmp);
        if (system(cmd) != 0) fprintf(stderr, "test_fold: could not remove %s\n", g_tmp);
    } else {
        printf("  files kept in %s\n", g_tmp);
    }
    return CK_END();
}
