/* Networks as graphs (issue 17): gradient checks of add, concat, fan-out
 * to two and three readers, residual blocks with and without a projection
 * shortcut, nested blocks and pooling with padding, against central
 * differences of an independent double-precision forward over the graph
 * written here (walking the public API's nodes and inputs); the
 * description's forms and its errors; the C API (mynn_add_node); node
 * order; save and load; 1 and 2 threads bit-identical; the gradient
 * buffers' plan. */
#include "check.h"
#include "mynn.h"
#include "network/network.h"
#include "train/fit_internal.h"
#include "ref_net.h"

#include <stdint.h>
#include <unistd.h>

#define MAXN 7

static double g_worst;

/* The net of spec on input c×h×w (h = 0: c×w 1-D; c = 0: a vector of w),
 * or NULL (the failure checked). */
static mynn_net *make(const char *spec, int c, int h, int w, int n, uint64_t seed)
{
    mynn_net *net = NULL;
    int d = (c ? c : 1) * (h ? h : 1) * w;
    CHECK_OK(mynn_create(&net, d));
    if (c) CHECK_OK(h ? mynn_set_input_shape(net, c, h, w) : mynn_set_input_shape_1d(net, c, w));
    mynn_status s = mynn_add_layers(net, spec);
    CHECK(s == MYNN_OK, "%s: %s", spec, mynn_last_error());
    mynn_layer_info L;
    int ce = mynn_n_outputs(net) > 1 && mynn_layer_get_info(net, mynn_n_layers(net) - 1, &L) == MYNN_OK &&
             L.activation == MYNN_ACT_SOFTMAX;
    if (!s) s = mynn_set_loss(net, ce ? MYNN_LOSS_CE : MYNN_LOSS_MSE);
    if (!s) s = mynn_build(net, n, MYNN_INIT_XAVIER, seed);
    CHECK(s == MYNN_OK, "%s: %s", spec, mynn_last_error());
    if (s) {
        mynn_free(net);
        return NULL;
    }
    return net;
}

/* Every parameter's gradient and the input's against central differences. */
static void check_spec(const char *spec, int c, int h, int w, int n, uint64_t seed)
{
    mynn_net *net = make(spec, c, h, w, n, seed);
    if (!net) return;
    const int d = mynn_n_inputs(net), k = mynn_n_outputs(net);
    const int ce = mynn_get_loss(net) == MYNN_LOSS_CE;
    size_t np;
    float *p = mynn_params(net, &np);
    float *x = calloc((size_t)n * d, sizeof *x), *dx = calloc((size_t)n * d, sizeof *dx);
    float *y = calloc((size_t)n * k, sizeof *y);
    double *xd = calloc((size_t)n * d, sizeof *xd), *yd = calloc((size_t)n * k, sizeof *yd);
    double *pd = calloc(np + 1, sizeof *pd), *gref = calloc(np + (size_t)n * d + 1, sizeof *gref);
    mynn_rng r;
    mynn_rng_seed(&r, seed * 31 + 7);
    for (size_t i = 0; i < np; i++) pd[i] = p[i] = (float)(0.6 * (2.0 * mynn_rng_uniform(&r) - 1.0));
    for (int i = 0; i < n * d; i++) xd[i] = x[i] = (float)(2.0 * mynn_rng_uniform(&r) - 1.0);
    for (int s = 0; s < n; s++) {
        double sum = 0;
        for (int i = 0; i < k; i++) sum += yd[s * k + i] = 0.05 + mynn_rng_uniform(&r);
        for (int i = 0; i < k; i++) {
            if (ce) yd[s * k + i] /= sum;
            y[s * k + i] = (float)yd[s * k + i];
        }
    }
    mn_forward(net, x, n, 1);
    double cost = mn_backward_dx(net, y, n, dx);
    double cref = ref_cost(net, pd, xd, yd, n);
    CHECK(fabs(cost - cref) <= 1e-5 * (1.0 + fabs(cref)), "%s n=%d: cost %.9g vs reference %.9g", spec, n, cost, cref);
    const double hstep = 1e-5;
    for (size_t i = 0; i < np; i++) {
        double keep = pd[i];
        pd[i] = keep + hstep;
        double up = ref_cost(net, pd, xd, yd, n);
        pd[i] = keep - hstep;
        double down = ref_cost(net, pd, xd, yd, n);
        pd[i] = keep;
        gref[i] = (up - down) / (2 * hstep);
    }
    const float *g = mynn_grads(net, NULL);
    size_t off = 0;
    for (int l = 0; l < mynn_n_layers(net); l++) {
        mynn_layer_info L;
        mynn_layer_get_info(net, l, &L);
        if (!L.n_params) continue;
        size_t nb = L.kind == MYNN_LAYER_BATCHNORM ? (size_t)L.in_shape[0] : (size_t)L.out_shape[0];
        size_t nw = L.n_params - nb;
        /* A bias right before batch norm has a zero gradient in exact
         * arithmetic: its rounding is measured against the weights'. */
        double floor = 0;
        for (int m = l + 1; m < mynn_n_layers(net); m++) {
            int src[8], ns = mynn_layer_inputs(net, m, src, 8);
            mynn_layer_info M;
            mynn_layer_get_info(net, m, &M);
            for (int j = 0; j < ns; j++)
                if (src[j] == l && M.kind == MYNN_LAYER_BATCHNORM)
                    for (size_t i = 0; i < nw; i++) floor = fabs(gref[off + i]) > floor ? fabs(gref[off + i]) : floor;
        }
        double ew = ref_rel_err(g + off, gref + off, nw, 0), eb = ref_rel_err(g + off + nw, gref + off + nw, nb, floor);
        CHECK(ew <= 1e-4, "%s n=%d layer %d (%s): weight gradient rel err %.3g", spec, n, l, L.kind_name, ew);
        CHECK(eb <= 1e-4, "%s n=%d layer %d (%s): bias gradient rel err %.3g", spec, n, l, L.kind_name, eb);
        g_worst = ew > g_worst ? ew : g_worst;
        g_worst = eb > g_worst ? eb : g_worst;
        off += L.n_params;
    }
    for (int i = 0; i < n * d; i++) {
        double keep = xd[i];
        xd[i] = keep + hstep;
        double up = ref_cost(net, pd, xd, yd, n);
        xd[i] = keep - hstep;
        double down = ref_cost(net, pd, xd, yd, n);
        xd[i] = keep;
        gref[i] = (up - down) / (2 * hstep);
    }
    double ex = ref_rel_err(dx, gref, (size_t)n * d, 0);
    CHECK(ex <= 1e-4, "%s n=%d: input gradient rel err %.3g", spec, n, ex);
    g_worst = ex > g_worst ? ex : g_worst;
    free(x), free(dx), free(y), free(xd), free(yd), free(pd), free(gref);
    mynn_free(net);
}

/* ---- gradients ---------------------------------------------------------- */

static void test_add_concat_gradients(void)
{
    for (int n = 1; n <= 7; n += 6) {
        /* add of two and three inputs, with and without an activation */
        check_spec("5:tanh:as=a,5:sigmoid,add:from=a+-1,3", 0, 0, 4, n, 1);
        check_spec("4:tanh:as=a,4,4:gelu:from=a,add:tanh:from=a+-2+-1,2:softmax", 0, 0, 3, n, 2);
        /* concat of vectors, and of planes along the channels */
        check_spec("3:tanh:as=a,2:sigmoid:from=input,concat:from=a+-1,3", 0, 0, 5, n, 3);
        check_spec("cat(conv:2:1 | conv:3:3:tanh:pad=1 | maxpool:3:stride=1:pad=1),gap,3:softmax", 2, 5, 4, n, 4);
        /* the input read by several nodes (its gradient is the sum) */
        check_spec("add:from=input+input,cat(4:tanh | 3),2", 0, 0, 3, n, 5);
    }
}

/* One node read by two and by three later nodes. */
static void test_fan_out(void)
{
    for (int n = 1; n <= 7; n += 6) {
        check_spec("4:tanh:as=h,3:from=h,3:sigmoid:from=h,add:from=-1+-2,2", 0, 0, 3, n, 11);
        check_spec("5:gelu:as=h,4:tanh:from=h,4:from=h,4:sigmoid:from=h,concat:from=-1+-2+-3,5:relu:from=h,"
                   "concat:from=-2+-1,2:softmax", 0, 0, 4, n, 12);
    }
}

/* BasicBlock: identity and projection shortcuts, batch norm inside; a
 * nested block; odd shapes. */
static void test_residual_gradients(void)
{
    for (int n = 1; n <= 7; n += 6) {
        check_spec("conv:3:3:pad=same,res(conv:3:3:pad=same,batchnorm,relu,conv:3:3:pad=same,batchnorm):relu,gap,2",
                   2, 5, 6, n, 21);
        check_spec("res(conv:4:3:stride=2:pad=1,batchnorm,relu,conv:4:3:pad=same,batchnorm | "
                   "conv:4:1:stride=2,batchnorm):relu,flatten,3:softmax", 2, 5, 7, n, 22);
        check_spec("res(res(conv:2:3:tanh:pad=same) | conv:2:1),relu,res(conv:2:3:pad=same,sigmoid)x2,gap,2", 2, 4, 3,
                   n, 23);
        check_spec("res(4:tanh,4),res(3:tanh | 3),2:softmax", 0, 0, 4, n, 24);
        check_spec("conv1d:3:3:pad=same,res(conv1d:3:3:pad=same,batchnorm,relu),gap,2", 2, 0, 7, n, 25);
    }
    printf("  worst gradient relative error: %.3g (bound 1e-4)\n", g_worst);
}

/* ---- the description ------------------------------------------------------- */

/* spec on a 3×8×8 input gives the canonical description want. */
static void expect_spec(const char *spec, const char *want, int layers)
{
    mynn_net *net = NULL;
    CHECK_OK(mynn_create(&net, 3 * 8 * 8));
    CHECK_OK(mynn_set_input_shape(net, 3, 8, 8));
    CHECK(mynn_add_layers(net, spec) == MYNN_OK, "%s: %s", spec, mynn_last_error());
    char *got = mn_net_spec(net);
    CHECK(got && strcmp(got, want) == 0, "%s\n    gives  %s\n    wanted %s", spec, got, want);
    CHECK(mynn_n_layers(net) == layers, "%s: %d layers, expected %d", spec, mynn_n_layers(net), layers);
    /* the canonical form parses back to itself */
    mynn_net *back = NULL;
    CHECK_OK(mynn_create(&back, 3 * 8 * 8));
    CHECK_OK(mynn_set_input_shape(back, 3, 8, 8));
    CHECK(got && mynn_add_layers(back, got) == MYNN_OK, "%s: %s", got, mynn_last_error());
    char *again = mn_net_spec(back);
    CHECK(got && again && strcmp(got, again) == 0, "%s reprints as %s", got, again);
    free(got);
    free(again);
    mynn_free(net);
    mynn_free(back);
}

static void test_spec_forms(void)
{
    expect_spec("res(conv:3:3:pad=same,batchnorm,relu,conv:3:3:pad=same,batchnorm),relu",
                "conv:3:3:identity:stride=1:pad=1,batchnorm,relu,conv:3:3:identity:stride=1:pad=1,batchnorm,"
                "add:from=4+input,relu", 7);
    expect_spec("res(conv:4:3:stride=2:pad=1,batchnorm,relu,conv:4:3:pad=same,batchnorm | conv:4:1:stride=2,batchnorm)",
                "conv:4:3:identity:stride=2:pad=1,batchnorm,relu,conv:4:3:identity:stride=1:pad=1,batchnorm,"
                "conv:4:1:identity:stride=2:pad=0:from=input,batchnorm,add:from=4+6", 8);
    expect_spec("cat(conv:16:1 | conv:16:3:pad=same | maxpool:3:stride=1:pad=1)",
                "conv:16:1:identity:stride=1:pad=0,conv:16:3:identity:stride=1:pad=1:from=input,"
                "maxpool:3:stride=1:pad=1:from=input,concat:from=0+1+2", 4);
    /* blocks nest and repeat; a block's fields belong to its join */
    expect_spec("conv:4:3:pad=same,(res(conv:4:3:pad=same,relu))x2,res(conv:8:1 | cat(relu|relu)):as=j,gap,2",
                "conv:4:3:identity:stride=1:pad=1,conv:4:3:identity:stride=1:pad=1,relu,add:from=2+0,"
                "conv:4:3:identity:stride=1:pad=1,relu,add:from=5+3,conv:8:1:identity:stride=1:pad=0,relu:from=6,"
                "relu:from=6,concat:from=8+9,add:as=j:from=7+10,gap,2:identity", 14);
    /* names and references; a whole small ResNet on one line */
    expect_spec("conv:4:3:pad=same:as=stem,relu,conv:4:3:pad=same,add:relu:from=stem+-1,gap,2",
                "conv:4:3:identity:stride=1:pad=1:as=stem,relu,conv:4:3:identity:stride=1:pad=1,add:relu:from=0+2,"
                "gap,2:identity", 6);
    mynn_net *net = NULL;
    CHECK_OK(mynn_create(&net, 3 * 8 * 8));
    CHECK_OK(mynn_set_input_shape(net, 3, 8, 8));
    CHECK_OK(mynn_add_layers(net, "conv:8:3:pad=same,batchnorm,relu,"
                                  "(res(conv:8:3:pad=same,batchnorm,relu,conv:8:3:pad=same,batchnorm):relu)x2,"
                                  "res(conv:16:3:stride=2:pad=1,batchnorm,relu,conv:16:3:pad=same,batchnorm"
                                  " | conv:16:1:stride=2,batchnorm):relu,gap,10:softmax"));
    CHECK(mynn_n_outputs(net) == 10 && mynn_n_layers(net) == 25, "small ResNet: %d layers", mynn_n_layers(net));
    mynn_free(net);
}

/* spec on a 3×8×8 input fails with status want and a message holding what. */
static void expect_error(const char *spec, mynn_status want, const char *what)
{
    mynn_net *net = NULL;
    CHECK_OK(mynn_create(&net, 3 * 8 * 8));
    CHECK_OK(mynn_set_input_shape(net, 3, 8, 8));
    mynn_status s = mynn_add_layers(net, spec);
    CHECK(s == want && strstr(mynn_last_error(), what), "%s: %s \"%s\" (wanted %s with \"%s\")", spec,
          mynn_status_name(s), mynn_last_error(), mynn_status_name(want), what);
    mynn_free(net);
}

static void test_spec_errors(void)
{
    expect_error("conv:4:3,add:from=input+-1", MYNN_ERR_SHAPE, "input 1 is 3×8×8 but input 2 is 4×6×6");
    expect_error("cat(conv:4:3 | conv:4:1)", MYNN_ERR_SHAPE, "input 1 is 4×6×6 but input 2 is 4×8×8");
    expect_error("conv:4:3,add:from=x+-1", MYNN_ERR_ARG, "no earlier layer is named \"x\"");
    expect_error("conv:4:3,conv:4:1:from=5", MYNN_ERR_ARG, "from=5: no layer 5 comes before this one (from= numbers layers from 0, as mynn info's #: 0..0");
    expect_error("conv:4:3,conv:4:1:from=-3", MYNN_ERR_ARG, "no layer -3 comes before");
    expect_error("res(conv:3:3:pad=same | )", MYNN_ERR_ARG, "column 25: empty branch in res(...)");
    expect_error("cat( | relu)", MYNN_ERR_ARG, "column 6: empty branch in cat(...)");
    expect_error("res(conv:3:3:pad=same,relu", MYNN_ERR_ARG, "column 4: '(' is never closed");
    expect_error("relu,relu),relu", MYNN_ERR_ARG, "column 10: ')' without a matching '('");
    expect_error("relu|relu", MYNN_ERR_ARG, "column 5: '|' outside res(...) or cat(...)");
    expect_error("cat(relu)", MYNN_ERR_ARG, "cat(...) needs two or more branches");
    expect_error("res(relu|relu|relu)", MYNN_ERR_ARG, "at most one shortcut");
    expect_error("foo(relu)", MYNN_ERR_ARG, "unknown block \"foo(\"");
    expect_error("relu:as=a,relu:as=a", MYNN_ERR_ARG, "layer 1 has that name already");
    expect_error("relu:as=input", MYNN_ERR_ARG, "as=input");
    expect_error("add", MYNN_ERR_ARG, "adds two or more inputs");
    expect_error("(relu)x0", MYNN_ERR_ARG, "repeats 1..");
    expect_error("(relu|relu)", MYNN_ERR_ARG, "a group (...) has one branch");
    expect_error("res(relu)x2:from=0", MYNN_ERR_ARG, "from= is given by the inputs here");
    expect_error("relu,,relu", MYNN_ERR_ARG, "empty item");
}

/* A node nothing reads cannot be built: it would get no gradient. */
static void test_unused_node(void)
{
    mynn_net *net = NULL;
    CHECK_OK(mynn_create(&net, 4));
    CHECK_OK(mynn_add_layers(net, "3:tanh:as=a,2:from=input,2:from=-1"));
    mynn_status s = mynn_build(net, 2, MYNN_INIT_AUTO, 1);
    CHECK(s == MYNN_ERR_STATE && strstr(mynn_last_error(), "layer 1 (dense) is not read"), "%s: %s",
          mynn_status_name(s), mynn_last_error());
    mynn_free(net);
}

/* ---- the C API, node order, files, threads --------------------------------- */

/* The residual block of mynn.h's comment, node by node, equals its
 * description; and the same graph with the shortcut's nodes added first. */
static void test_add_node_api(void)
{
    const char *spec = "conv:4:3:pad=same,batchnorm,relu,conv:4:3:pad=same,add:relu:from=-1+input,gap,3";
    mynn_net *a = make(spec, 4, 5, 5, 3, 7), *b = NULL, *c = NULL;
    CHECK_OK(mynn_create(&b, 100));
    CHECK_OK(mynn_set_input_shape(b, 4, 5, 5));
    int x = MYNN_INPUT, ids[8], both[2];
    CHECK_OK(mynn_add_node(b, "conv:4:3:pad=same", &x, 1, &ids[0]));
    CHECK_OK(mynn_add_node(b, "batchnorm", &ids[0], 1, &ids[1]));
    CHECK_OK(mynn_add_node(b, "relu", &ids[1], 1, &ids[2]));
    CHECK_OK(mynn_add_node(b, "conv:4:3:pad=same", &ids[2], 1, &ids[3]));
    both[0] = ids[3], both[1] = x;
    CHECK_OK(mynn_add_node(b, "add:relu", both, 2, &ids[4]));
    CHECK_OK(mynn_add_node(b, "gap", NULL, 0, &ids[5]));
    CHECK_OK(mynn_add_node(b, "3", NULL, 0, &ids[6]));
    CHECK(ids[0] == 0 && ids[4] == 4 && ids[6] == 6, "ids %d %d %d", ids[0], ids[4], ids[6]);
    CHECK(mynn_add_node(b, "relu,relu", NULL, 0, NULL) == MYNN_ERR_ARG, "two items accepted");
    CHECK(mynn_add_node(b, "relu", (int[]){9}, 1, NULL) == MYNN_ERR_ARG && strstr(mynn_last_error(), "not an earlier"),
          "a later input: %s", mynn_last_error());
    CHECK_OK(mynn_set_loss(b, MYNN_LOSS_MSE));
    CHECK_OK(mynn_build(b, 3, MYNN_INIT_XAVIER, 7));
    char *sa = a ? mn_net_spec(a) : NULL, *sb = mn_net_spec(b);
    CHECK(sa && sb && strcmp(sa, sb) == 0, "node by node: %s\n    spec: %s", sb, sa);
    free(sa);
    free(sb);
    /* another valid order: the 1×1 projection shortcut first, then the block */
    const char *first = "conv:4:1:as=short,conv:4:3:pad=same:from=input,relu,add:from=short+-1,gap,3";
    const char *later = "conv:4:3:pad=same,relu,conv:4:1:from=input,add:from=-1+-2,gap,3";
    c = make(first, 4, 5, 5, 3, 1);
    mynn_net *d = make(later, 4, 5, 5, 3, 1);
    if (c && d) {
        /* the same weights by tensor: c's node 0 is d's node 2 and back */
        const int map[6] = {2, 0, 1, 3, 4, 5};
        for (int i = 0; i < 6; i++) {
            const char *names[2] = {"weight", "bias"};
            for (int t = 0; t < 2; t++) {
                size_t dims[4];
                int rank;
                float *pc = mynn_layer_tensor(c, i, names[t], &rank, dims), *pdd = mynn_layer_tensor(d, map[i], names[t], NULL, NULL);
                size_t cnt = 1;
                for (int r = 0; pc && r < rank; r++) cnt *= dims[r];
                if (pc && pdd) memcpy(pdd, pc, cnt * sizeof *pc);
            }
        }
        float xin[3 * 100], yc[9], yd[9];
        for (int i = 0; i < 300; i++) xin[i] = (float)sin(i * 0.37);
        CHECK_OK(mynn_predict(c, xin, 3, yc));
        CHECK_OK(mynn_predict(d, xin, 3, yd));
        /* both adds sum the shortcut first: the same bits */
        CHECK(memcmp(yc, yd, sizeof yc) == 0, "two node orders give different outputs");
    }
    mynn_free(a);
    mynn_free(b);
    mynn_free(c);
    mynn_free(d);
}

/* A graph saved and loaded predicts the same, names and inputs kept. */
static void test_save_load(void)
{
    const char *spec = "conv:4:3:pad=same:as=stem,res(conv:4:3:pad=same,batchnorm,relu,conv:4:3:pad=same,batchnorm):relu,"
                       "cat(maxpool:2 | avgpool:3:stride=2:pad=1),flatten,dropout:0.2,5:softmax";
    mynn_net *net = make(spec, 2, 6, 6, 4, 3);
    if (!net) return;
    char path[64];
    snprintf(path, sizeof path, "/tmp/mynn_graph_%d.safetensors", (int)getpid());
    float x[4 * 72], a[20], b[20];
    for (int i = 0; i < 4 * 72; i++) x[i] = (float)cos(i * 0.11);
    CHECK_OK(mynn_predict(net, x, 4, a));
    CHECK_OK(mynn_save(net, path));
    mynn_net *back = NULL;
    CHECK_OK(mynn_load(&back, path, 2));
    if (back) {
        CHECK_OK(mynn_predict(back, x, 4, b));
        CHECK(memcmp(a, b, sizeof a) == 0, "the loaded graph predicts differently");
        const char *name = NULL;
        CHECK_OK(mynn_layer_describe(back, 0, NULL, 0, NULL, 0, &name));
        CHECK(name && strcmp(name, "stem") == 0, "name: %s", name ? name : "(null)");
        int in[8];
        CHECK(mynn_layer_inputs(back, 6, in, 8) == 2 && in[0] == 5 && in[1] == 0, "add's inputs");
    }
    mynn_free(back);
    mynn_free(net);
    unlink(path);
}

/* Training a residual net is bit-identical on 1 and 2 threads. */
static void test_threads(void)
{
    const char *spec = "conv:6:3:pad=same,batchnorm,relu,res(conv:6:3:pad=same,batchnorm,relu,conv:6:3:pad=same,"
                       "batchnorm):relu,cat(conv:4:1 | maxpool:3:stride=1:pad=1),gap,4:softmax";
    float *params[2] = {NULL, NULL};
    size_t np = 0;
    const int n = 64, d = 2 * 10 * 10;
    float *x = malloc(sizeof(float) * n * d), *y = calloc((size_t)n * 4, sizeof(float));
    for (int i = 0; i < n * d; i++) x[i] = (float)sin(i * 0.013) * (float)cos(i * 0.7);
    for (int s = 0; s < n; s++) y[s * 4 + s % 4] = 1;
    for (int t = 0; t < 2; t++) {
        mynn_set_threads(t + 1);
        mynn_net *net = make(spec, 2, 10, 10, 32, 5);
        if (!net) break;
        mynn_dataset ds = {.n = n, .n_inputs = d, .n_outputs = 4, .x = x, .y = y};
        mynn_fit_options o;
        mynn_fit_options_default(&o);
        o.epochs = 2;
        o.batch_size = 32;
        CHECK_OK(mynn_fit(net, &ds, NULL, &o));
        float *p = mynn_params(net, &np);
        params[t] = malloc(np * sizeof *p);
        memcpy(params[t], p, np * sizeof *p);
        mynn_free(net);
    }
    mynn_set_threads(0);
    CHECK(params[0] && params[1] && memcmp(params[0], params[1], np * sizeof(float)) == 0,
          "1 and 2 threads train different weights");
    free(params[0]);
    free(params[1]);
    free(x);
    free(y);
}

/* The gradient buffers are planned by lifetime: a plain sequence needs the
 * two widest of them, not one per node. */
static void test_gradient_plan(void)
{
    mynn_net *net = make("8:tanh,8:tanh,8:tanh,8:tanh,8:tanh,8:tanh,8:tanh,8:tanh,2", 0, 0, 8, 16, 1);
    if (!net) return;
    size_t total = 0;
    for (int i = 0; i < mynn_n_layers(net); i++) total = net->gofs[i] + 16 * 8 > total ? net->gofs[i] + 16 * 8 : total;
    CHECK(total <= 2 * (16 * 8 + 16), "a sequence of 9 nodes uses %zu floats of gradients", total);
    mynn_free(net);
}

/* ---- augmentation ---------------------------------------------------------- */

/* Every augmented image is the original moved by some (dy, dx) in
 * [-crop, crop]² and mirrored or not, the border zero; every such move
 * occurs, flips about half the time; the draw depends on the place only. */
static void test_augment_gather(void)
{
    enum { C = 2, H = 5, W = 6, D = C * H * W, N = 400, CROP = 2 };
    static float x[N * D], y[N], out[N * D], again[D], yb[N];
    int order[N], seen[2 * CROP + 1][2 * CROP + 1][2] = {{{0}}};
    for (int s = 0; s < N; s++) {
        order[s] = (s * 7) % N;
        for (int i = 0; i < D; i++) x[s * D + i] = (float)(1 + i + s % 3);
    }
    mynn_dataset ds = {.n = N, .n_inputs = D, .n_outputs = 1, .x = x, .y = y};
    mn_fit_work w;
    memset(&w, 0, sizeof w);
    w.order = order;
    w.aug = (mynn_augment){CROP, 1};
    w.shape = (mn_shape){C, H, W};
    w.aug_seed = 42;
    w.epoch = 3;
    mn_gather_batch(&ds, &w, 0, N, NULL, NULL, out, yb);
    int unmatched = 0;
    for (int s = 0; s < N; s++) {
        const float *src = x + (size_t)order[s] * D, *o = out + (size_t)s * D;
        int found = 0;
        for (int dy = -CROP; dy <= CROP && !found; dy++)
            for (int dx = -CROP; dx <= CROP && !found; dx++)
                for (int f = 0; f < 2 && !found; f++) {
                    int same = 1;
                    for (int c = 0; c < C && same; c++)
                        for (int r = 0; r < H && same; r++)
                            for (int q = 0; q < W && same; q++) {
                                int sy = r + dy, sx = (f ? W - 1 - q : q) + dx;
                                float want = sy >= 0 && sy < H && sx >= 0 && sx < W ? src[(c * H + sy) * W + sx] : 0.0f;
                                same = o[(c * H + r) * W + q] == want;
                            }
                    if (same) {
                        found = 1;
                        seen[dy + CROP][dx + CROP][f]++;
                    }
                }
        unmatched += !found;
    }
    CHECK(unmatched == 0, "%d augmented images are no move of their original", unmatched);
    int flips = 0, missing = 0;
    for (int a = 0; a <= 2 * CROP; a++)
        for (int b = 0; b <= 2 * CROP; b++) {
            flips += seen[a][b][1];
            missing += !(seen[a][b][0] + seen[a][b][1]);
        }
    CHECK(missing == 0, "%d of the 25 moves never drawn", missing);
    CHECK(flips > N / 2 - 60 && flips < N / 2 + 60, "%d of %d flipped", flips, N);
    /* one sample gathered alone, at its place: the same draw */
    mn_gather_batch(&ds, &w, 137, 1, NULL, NULL, again, yb);
    CHECK(memcmp(again, out + 137 * D, sizeof again) == 0, "a sample's draw depends on its batch");
    /* off: a plain copy */
    w.aug = (mynn_augment){0, 0};
    mn_gather_batch(&ds, &w, 5, 1, NULL, NULL, again, yb);
    CHECK(memcmp(again, x + (size_t)order[5] * D, sizeof again) == 0, "no augmentation changed the image");
}

/* Checkpoint and resume of a residual net trained with augmentation and
 * dropout: the same bits as an uninterrupted run; augmentation asks for
 * images, and a resume with other augmentation is refused. */
static mynn_status aug_fit(const mynn_dataset *ds, int epochs, const char *ck, int resume, mynn_augment aug,
                           float **params, size_t *np)
{
    mynn_net *net = make("conv:4:3:pad=same,batchnorm,relu,res(conv:4:3:pad=same,batchnorm,relu,"
                         "conv:4:3:pad=same,batchnorm):relu,dropout:0.2,cat(conv:3:1|avgpool:3:stride=1:pad=1),"
                         "gap,3:softmax", 1, 6, 6, 16, 9);
    if (!net) return MYNN_ERR_STATE;
    mynn_fit_options o;
    mynn_fit_options_default(&o);
    o.epochs = epochs;
    o.batch_size = 16;
    o.seed = 11;
    o.checkpoint_path = ck;
    o.resume = resume;
    o.augment = aug;
    mynn_status s = mynn_fit(net, ds, NULL, &o);
    if (params) {
        const float *p = mynn_params(net, np);
        *params = malloc(*np * sizeof **params);
        memcpy(*params, p, *np * sizeof **params);
    }
    mynn_free(net);
    return s;
}

static void test_augment_resume(void)
{
    enum { N = 48, D = 36 };
    static float x[N * D], y[N * 3];
    for (int s = 0; s < N; s++) {
        for (int i = 0; i < D; i++) x[s * D + i] = (float)((i * (s % 3 + 1)) % 7) / 7.0f;
        y[s * 3 + s % 3] = 1.0f;
    }
    mynn_dataset ds = {.n = N, .n_inputs = D, .n_outputs = 3, .n_classes = 3, .x = x, .y = y};
    char ck[64];
    snprintf(ck, sizeof ck, "/tmp/mynn_graph_ck_%d.safetensors", (int)getpid());
    const mynn_augment aug = {1, 1};
    float *straight = NULL, *resumed = NULL, *plain = NULL;
    size_t n1 = 0, n2 = 0, n3 = 0;
    unlink(ck);
    CHECK_OK(aug_fit(&ds, 4, NULL, 0, aug, &straight, &n1));
    CHECK_OK(aug_fit(&ds, 2, ck, 0, aug, NULL, NULL));
    CHECK_OK(aug_fit(&ds, 4, ck, 1, aug, &resumed, &n2));
    CHECK(straight && resumed && n1 == n2 && memcmp(straight, resumed, n1 * sizeof(float)) == 0,
          "resumed != uninterrupted");
    CHECK_OK(aug_fit(&ds, 4, NULL, 0, (mynn_augment){0, 0}, &plain, &n3));
    CHECK(plain && n3 == n1 && memcmp(straight, plain, n1 * sizeof(float)) != 0, "augmentation changed nothing");
    mynn_status s = aug_fit(&ds, 4, ck, 1, (mynn_augment){2, 1}, NULL, NULL);
    CHECK(s == MYNN_ERR_ARG && strstr(mynn_last_error(), "augmentation \"crop=1,flip=1\" there"), "%s: %s",
          mynn_status_name(s), mynn_last_error());
    unlink(ck);
    /* a flat input cannot be augmented */
    mynn_net *flat = make("4:tanh,3:softmax", 0, 0, D, 16, 1);
    mynn_fit_options o;
    mynn_fit_options_default(&o);
    o.augment.flip = 1;
    o.batch_size = 16;
    s = flat ? mynn_fit(flat, &ds, NULL, &o) : MYNN_ERR_STATE;
    CHECK(s == MYNN_ERR_ARG && strstr(mynn_last_error(), "need images"), "%s: %s", mynn_status_name(s), mynn_last_error());
    mynn_free(flat);
    free(straight);
    free(resumed);
    free(plain);
}

int main(void)
{
    CK_BEGIN("test_graph");
    RUN(test_add_concat_gradients);
    RUN(test_fan_out);
    RUN(test_residual_gradients);
    RUN(test_spec_forms);
    RUN(test_spec_errors);
    RUN(test_unused_node);
    RUN(test_add_node_api);
    RUN(test_save_load);
    RUN(test_threads);
    RUN(test_gradient_plan);
    RUN(test_augment_gather);
    RUN(test_augment_resume);
    return CK_END();
}
