/* Every layer kind of the registry through every path: a small net holding
 * it is built, trained one epoch with a checkpoint and resumed, saved and
 * loaded (the same outputs), described (mynn info's line), exported to
 * ONNX and to C, quantised to int8, saved and loaded as int8 and exported
 * as int8 C.  Each path works or refuses with a message naming the kind.
 * A kind added to the registry without an example here fails this test:
 * the new kind has to be carried through everything. */
#include "check.h"
#include "mynn.h"
#include "network/network.h"

#include <sys/stat.h>
#include <unistd.h>

typedef struct example {
    const char *kind;
    const char *spec;
    int c, h, w;          /* input shape: C×H×W, C×L when h = 0, a vector of w when c = 0 */
    int ids;              /* > 0: the inputs are token ids 0..ids-1 (an embedding's) */
} example;

static const example g_examples[] = {
    {"dense", "6:tanh,3:softmax", 0, 0, 8, 0},
    {"dropout", "6:relu,dropout:0.3,3:softmax", 0, 0, 8, 0},
    {"conv", "conv1d:3:3:relu:pad=1,conv1d:3:1:from=input,add:from=-1+-2,conv1d:2:2:stride=2,flatten,3:softmax", 2, 0, 8, 0},
    {"maxpool", "conv:3:3:pad=same,maxpool:3:stride=2:pad=1,3:softmax", 2, 5, 6, 0},
    {"avgpool", "conv:3:3:pad=same,avgpool:2:pad=1,3:softmax", 2, 5, 6, 0},
    {"gap", "conv:3:3:tanh,gap,3:softmax", 2, 5, 6, 0},
    {"flatten", "conv:3:3:relu,flatten,3:softmax", 2, 5, 6, 0},
    {"batchnorm", "conv:3:3:pad=same,batchnorm,relu,maxpool:2,batchnorm,3:softmax", 2, 5, 6, 0},
    {"activation", "conv:3:3:pad=same,gelu,flatten,sigmoid,3:softmax", 2, 5, 6, 0},
    {"add", "conv:3:3:pad=same,res(conv:3:3:pad=same,batchnorm,relu,conv:3:3:pad=same):relu,gap,3:softmax", 2, 5, 6, 0},
    {"concat", "cat(conv:2:1 | conv:2:3:pad=same | avgpool:3:stride=1:pad=1),gap,3:softmax", 2, 5, 6, 0},
    {"embedding", "embedding:7:3,gru:4:seq,flatten,3:softmax", 0, 0, 5, 7},
    {"rnn", "rnn:5:seq:bi,rnn:4:relu,3:softmax", 3, 0, 4, 0},
    {"lstm", "conv1d:3:2,lstm:5:seq,lstm:4:bi,3:softmax", 2, 0, 6, 0},
    {"gru", "gru:5:seq,dropout:0.2,4:tanh,gru:3,3:softmax", 4, 0, 3, 0},
};

static char g_dir[64];

static const example *example_of(const char *kind)
{
    for (size_t i = 0; i < sizeof g_examples / sizeof *g_examples; i++)
        if (strcmp(g_examples[i].kind, kind) == 0) return &g_examples[i];
    return NULL;
}

/* An error status must name the kind; MYNN_OK passes. */
static int ok_or_names(mynn_status s, const char *kind, const char *path)
{
    if (s == MYNN_OK) return 1;
    const int named = strstr(mynn_last_error(), kind) != NULL;
    CHECK(named, "%s: %s refused without naming the kind: %s", kind, path, mynn_last_error());
    return 0;
}

static mynn_net *build(const example *e, int max_batch)
{
    mynn_net *net = NULL;
    int d = e->c ? e->c * (e->h ? e->h : 1) * e->w : e->w;
    const char *spec = e->spec;
    CHECK_OK(mynn_create(&net, d));
    if (e->c && e->h) CHECK_OK(mynn_set_input_shape(net, e->c, e->h, e->w));
    else if (e->c) CHECK_OK(mynn_set_input_shape_1d(net, e->c, e->w));
    mynn_status s = mynn_add_layers(net, spec);
    if (!s) s = mynn_set_loss(net, MYNN_LOSS_CE);
    if (!s) s = mynn_build(net, max_batch, MYNN_INIT_AUTO, 3);
    CHECK(s == MYNN_OK, "%s: %s: %s", e->kind, spec, mynn_last_error());
    if (s) {
        mynn_free(net);
        return NULL;
    }
    return net;
}

static void check_kind(const mn_kind *kind)
{
    const example *e = example_of(kind->name);
    CHECK(e, "kind %s has no example here: add one (and carry the kind through every path)", kind->name);
    if (!e) return;
    mynn_net *net = build(e, 8);
    if (!net) return;
    int present = 0;
    for (int i = 0; i < net->n_layers; i++) present |= net->layers[i].kind == kind;
    CHECK(present, "%s: the example holds no such layer", kind->name);
    const int d = mynn_n_inputs(net), n = 24;
    float *x = malloc(sizeof(float) * n * d), *y = calloc((size_t)n * 3, sizeof(float));
    float a[24 * 3], b[24 * 3];
    for (int i = 0; i < n * d; i++) x[i] = e->ids ? (float)((i * 5 + i / 3) % e->ids) : (float)sin(0.37 * i) + 0.2f * (float)(i % 5);
    for (int s = 0; s < n; s++) y[s * 3 + s % 3] = 1.0f;
    char path[256], ck[256];

    /* training with a checkpoint, then a resume to the end */
    mynn_dataset ds = {.n = n, .n_inputs = d, .n_outputs = 3, .n_classes = 3, .x = x, .y = y};
    mynn_fit_options o;
    mynn_fit_options_default(&o);
    o.epochs = 2;
    o.batch_size = 8;
    snprintf(ck, sizeof ck, "%s/%s.ckpt", g_dir, kind->name);
    o.checkpoint_path = ck;
    ok_or_names(mynn_fit(net, &ds, NULL, &o), kind->name, "fit with a checkpoint");
    o.epochs = 3;
    o.resume = 1;
    ok_or_names(mynn_fit(net, &ds, NULL, &o), kind->name, "resume");

    /* the model file */
    snprintf(path, sizeof path, "%s/%s.safetensors", g_dir, kind->name);
    CHECK_OK(mynn_predict(net, x, n, a));
    if (ok_or_names(mynn_save(net, path), kind->name, "save")) {
        mynn_net *back = NULL;
        if (ok_or_names(mynn_load(&back, path, 8), kind->name, "load")) {   /* the same chunks: the same bits */
            CHECK_OK(mynn_predict(back, x, n, b));
            CHECK(memcmp(a, b, sizeof(float) * n * 3) == 0, "%s: the loaded model predicts differently", kind->name);
        }
        mynn_free(back);
    }

    /* mynn info's line for every node */
    for (int i = 0; i < net->n_layers; i++) {
        char item[256], settings[64];
        CHECK_OK(mynn_layer_describe(net, i, item, sizeof item, settings, sizeof settings, NULL));
        CHECK(item[0] && settings[0], "%s: layer %d has an empty description", kind->name, i);
    }

    /* ONNX, C, int8, int8 C */
    snprintf(path, sizeof path, "%s/%s.onnx", g_dir, kind->name);
    ok_or_names(mynn_export_onnx(net, path), kind->name, "ONNX export");
    char cdir[256];
    snprintf(cdir, sizeof cdir, "%s/c_%s", g_dir, kind->name);
    mkdir(cdir, 0755);
    ok_or_names(mynn_export_c(net, cdir, "m"), kind->name, "C export");
    mynn_qnet *q = NULL;
    if (ok_or_names(mynn_quantize(&q, net, x, n, NULL), kind->name, "quantize")) {
        float qa[24 * 3], qb[24 * 3];
        CHECK_OK(mynn_qnet_predict(q, x, n, qa));
        snprintf(path, sizeof path, "%s/%s.int8.safetensors", g_dir, kind->name);
        if (ok_or_names(mynn_qnet_save(q, path), kind->name, "int8 save")) {
            mynn_qnet *back = NULL;
            if (ok_or_names(mynn_qnet_load(&back, path, 7), kind->name, "int8 load")) {
                CHECK_OK(mynn_qnet_predict(back, x, n, qb));
                CHECK(memcmp(qa, qb, sizeof qa) == 0, "%s: the loaded int8 model predicts differently", kind->name);
            }
            mynn_qnet_free(back);
        }
        snprintf(cdir, sizeof cdir, "%s/q_%s", g_dir, kind->name);
        mkdir(cdir, 0755);
        ok_or_names(mynn_qexport_c(q, cdir, "q"), kind->name, "int8 C export");
    }
    mynn_qnet_free(q);
    free(x);
    free(y);
    mynn_free(net);
}

static void test_every_kind(void)
{
    for (int k = 0; k < mn_kind_count(); k++) check_kind(mn_kind_at(k));
    /* the registry's ids are the public enum's, in order */
    for (int k = 0; k < mn_kind_count(); k++)
        CHECK((int)mn_kind_at(k)->id == k && mn_kind_of((mynn_layer_kind)k) == mn_kind_at(k), "registry row %d", k);
}

int main(void)
{
    CK_BEGIN("test_kinds");
    snprintf(g_dir, sizeof g_dir, "/tmp/mynn_kinds_%d", (int)getpid());
    mkdir(g_dir, 0755);
    RUN(test_every_kind);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", g_dir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", g_dir);
    return CK_END();
}
