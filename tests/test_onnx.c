/* ONNX export: the protobuf writer against known encodings, the export's
 * errors and atomicity, and the exported models checked by independent
 * tools (tests/onnx_check.py: onnx.checker, shape inference, ONNX Runtime
 * under node) against `mynn predict` on Fashion-MNIST test images
 * (synthetic data where the dataset is absent): sequences and graphs
 * (residual blocks with identity and projection shortcuts, an inception
 * block with padded pooling, add of a dense output and pooled planes,
 * concat of vectors, 1-D); sequence models (lstm, gru, rnn, embedding,
 * dense layers and softmax on every step) with random weights against
 * mynn_predict, and that a wrong gate order would not pass. */
#include "check.h"
#include "emit/protobuf.h"
#include "network/network.h"
#include "mynn.h"

#include <dirent.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static char g_dir[64];

static void tpath(char *buf, size_t n, const char *name) { snprintf(buf, n, "%s/%s", g_dir, name); }

static int same_bytes(const mn_pb *b, const char *want, size_t n)
{
    return !b->failed && b->len == n && memcmp(b->data, want, n) == 0;
}

static void test_protobuf(void)
{
    mn_pb b;
    mn_pb_init(&b);
    mn_pb_varint(&b, 1, 0);
    mn_pb_varint(&b, 2, 150);                     /* the protobuf guide's example: 08 96 01 */
    mn_pb_varint(&b, 3, (uint64_t)(int64_t)-1);   /* int64 -1: ten bytes */
    CHECK(same_bytes(&b, "\x08\x00\x10\x96\x01\x18\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01", 16),
          "varints: %zu bytes", b.len);
    mn_pb_free(&b);

    mn_pb_init(&b);
    mn_pb_float(&b, 2, 1.0f);
    mn_pb_string(&b, 16, "ab");                   /* field 16: a two-byte key */
    float v[2] = {-2.0f, 0.5f};
    mn_pb_floats_le(&b, 9, v, 2);
    CHECK(same_bytes(&b, "\x15\x00\x00\x80\x3f" "\x82\x01\x02" "ab" "\x4a\x08\x00\x00\x00\xc0\x00\x00\x00\x3f", 20),
          "float, string, raw floats: %zu bytes", b.len);
    mn_pb_free(&b);

    /* Nested messages: an empty one, and one of 200 bytes (two-byte length,
     * the content moved up by one). */
    mn_pb_init(&b);
    mn_pb_end(&b, mn_pb_begin(&b, 1));
    size_t m = mn_pb_begin(&b, 7);
    size_t inner = mn_pb_begin(&b, 3);
    char s[198];
    memset(s, 'x', sizeof s - 1);
    s[sizeof s - 1] = '\0';
    mn_pb_string(&b, 1, s);                       /* 3 + 197 bytes */
    mn_pb_end(&b, inner);
    mn_pb_end(&b, m);
    CHECK(!b.failed && b.len == 2 + 3 + 3 + 200, "nested: %zu bytes", b.len);
    if (b.len == 208) {
        const unsigned char *d = b.data;
        CHECK(d[0] == 0x0a && d[1] == 0 && d[2] == 0x3a && d[3] == 0xcb && d[4] == 0x01 &&
              d[5] == 0x1a && d[6] == 0xc8 && d[7] == 0x01 && d[8] == 0x0a && d[9] == 0xc5 &&
              d[10] == 0x01 && d[11] == 'x' && d[207] == 'x', "nested bytes %02x %02x %02x %02x %02x",
              d[2], d[3], d[4], d[5], d[6]);
    }
    mn_pb_free(&b);
}

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = n >= 0 ? malloc((size_t)n + 1) : NULL;
    if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
        free(buf);
        buf = NULL;
    }
    fclose(f);
    if (buf) *len = (size_t)n;
    return buf;
}

static mynn_net *small_net(const char *spec, uint64_t seed)
{
    mynn_net *net = NULL;
    if (mynn_create(&net, 5) || mynn_add_layers(net, spec) || mynn_build(net, 4, MYNN_INIT_AUTO, seed)) {
        CHECK(0, "small_net %s: %s", spec, mynn_last_error());
        mynn_free(net);
        return NULL;
    }
    return net;
}

/* No entries in g_dir but the names given (NULL-terminated). */
static int only_files(const char *const *names)
{
    DIR *d = opendir(g_dir);
    if (!d) return 0;
    int ok = 1;
    for (struct dirent *e; (e = readdir(d));) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        int known = 0;
        for (int i = 0; names[i]; i++) known |= !strcmp(e->d_name, names[i]);
        if (!known) {
            fprintf(stderr, "  unexpected file %s\n", e->d_name);
            ok = 0;
        }
    }
    closedir(d);
    return ok;
}

static void test_errors(void)
{
    char path[128], bad[160];
    tpath(path, sizeof path, "e.onnx");
    CHECK(mynn_export_onnx(NULL, path) == MYNN_ERR_NULL, "NULL net");
    mynn_net *net = NULL;
    CHECK_OK(mynn_create(&net, 3));
    CHECK(mynn_export_onnx(net, path) == MYNN_ERR_STATE, "no layers: %s", mynn_last_error());
    CHECK_OK(mynn_add_layers(net, "4:relu,2:softmax"));
    CHECK(mynn_export_onnx(net, NULL) == MYNN_ERR_NULL, "NULL path");
    CHECK(mynn_export_onnx(net, path) == MYNN_ERR_STATE && strstr(mynn_last_error(), "not built"),
          "not built: %s", mynn_last_error());
    CHECK_OK(mynn_build(net, 2, MYNN_INIT_AUTO, 1));
    snprintf(bad, sizeof bad, "%s/missing/e.onnx", g_dir);
    CHECK(mynn_export_onnx(net, bad) == MYNN_ERR_IO && strstr(mynn_last_error(), "missing"),
          "missing folder: %s", mynn_last_error());
    mynn_free(net);

    /* A layer kind with no ONNX handler (as a new kind would be before its
     * handler exists): an error naming the layer, the previous file intact. */
    net = small_net("4:relu,dropout:0.5,3:softmax", 2);
    if (!net) return;
    FILE *f = fopen(path, "wb");
    CHECK(f && fputs("previous", f) >= 0 && fclose(f) == 0, "writing %s", path);
    mn_kind fake = *net->layers[1].kind;
    fake.id = (mynn_layer_kind)99;
    fake.name = "warp";
    fake.onnx = NULL;
    const mn_kind *saved = net->layers[1].kind;
    net->layers[1].kind = &fake;
    CHECK(mynn_export_onnx(net, path) == MYNN_ERR_ARG && strstr(mynn_last_error(), "layer 1 (warp)"),
          "unknown kind: %s", mynn_last_error());
    net->layers[1].kind = saved;
    size_t n = 0;
    char *text = slurp(path, &n);
    CHECK(text && n == 8 && !memcmp(text, "previous", 8), "previous file changed");
    free(text);
    const char *names[] = {"e.onnx", NULL};
    CHECK(only_files(names), "a temporary file was left behind");
    mynn_free(net);

    /* mynn's softmax layer spans a whole sample; ONNX's is over one axis,
     * so a spatial layer after it has no ONNX form. */
    net = NULL;
    CHECK_OK(mynn_create(&net, 36));
    CHECK_OK(mynn_set_input_shape(net, 1, 6, 6));
    CHECK_OK(mynn_add_layers(net, "conv:2:3,softmax,conv:2:3,flatten,3:softmax"));
    CHECK_OK(mynn_build(net, 2, MYNN_INIT_AUTO, 1));
    CHECK(mynn_export_onnx(net, path) == MYNN_ERR_ARG && strstr(mynn_last_error(), "layers.2 (conv)"),
          "softmax then conv: %s", mynn_last_error());
    CHECK(only_files(names), "a temporary file was left behind");
    mynn_free(net);

    /* A join of inputs of different ranks (a dense output, [N, F], and a
     * global average pool, [N, C, 1, 1]) flattens them, so a spatial layer
     * after it has no ONNX form here either. */
    net = NULL;
    CHECK_OK(mynn_create(&net, 36));
    CHECK_OK(mynn_set_input_shape(net, 1, 6, 6));
    CHECK_OK(mynn_add_layers(net, "conv:2:3,gap:as=g,2:from=0,add:from=g+-1,maxpool:1,flatten,3:softmax"));
    CHECK_OK(mynn_build(net, 2, MYNN_INIT_AUTO, 1));
    CHECK(mynn_export_onnx(net, path) == MYNN_ERR_ARG && strstr(mynn_last_error(), "layers.4 (maxpool)") &&
              strstr(mynn_last_error(), "different ranks"), "join then maxpool: %s", mynn_last_error());
    CHECK(only_files(names), "a temporary file was left behind");
    mynn_free(net);
    remove(path);
}

/* The same net gives the same bytes, also after a save/load round trip
 * (a graph's inputs included); the file starts with ir_version 7 and
 * names the producer. */
static void check_deterministic(const char *spec)
{
    char a[128], b[128], st[128];
    tpath(a, sizeof a, "a.onnx");
    tpath(b, sizeof b, "b.onnx");
    tpath(st, sizeof st, "d.safetensors");
    mynn_net *net = small_net(spec, 3);
    if (!net) return;
    float shift[5] = {1, 2, 3, 4, 5}, scale[5] = {0.5f, 0.25f, 2, 1, 4};
    CHECK_OK(mynn_set_input_transform(net, "standard", shift, scale));
    CHECK_OK(mynn_export_onnx(net, a));
    CHECK_OK(mynn_save(net, st));
    mynn_net *back = NULL;
    CHECK_OK(mynn_load(&back, st, 1));
    if (back) CHECK_OK(mynn_export_onnx(back, b));
    size_t na = 0, nb = 0;
    char *da = slurp(a, &na), *db = slurp(b, &nb);
    CHECK(da && db && na == nb && !memcmp(da, db, na), "%s: exports differ: %zu vs %zu bytes", spec, na, nb);
    CHECK(da && na > 2 && da[0] == 0x08 && da[1] == 7, "ir_version field");
    CHECK(da && na > 8 && !memcmp(da + 2, "\x12\x04mynn", 6), "producer_name field");
    free(da);
    free(db);
    mynn_free(back);
    mynn_free(net);
    remove(a);
    remove(b);
    remove(st);
}

static void test_deterministic(void)
{
    check_deterministic("6:gelu,dropout:0.1,4:tanh,3:softmax");
    check_deterministic("6:tanh:as=h,res(6:relu,6 | 6:sigmoid):relu,4:from=h,concat:from=-2+-1+h,3:softmax");
    /* the recurrent layers' reordered weights are the graph's own copies */
    check_deterministic("lstm:4:seq:bi,gru:3:seq,rnn:2:relu:bi,2:softmax");
}

/* ---- the exported models against ONNX Runtime -------------------------- */

typedef struct model_case {
    const char *name;
    const char *spec;
    mynn_loss loss;
    int target;       /* 0: one-hot classes, 1: label / (classes - 1) (regression), 2: label < half */
    int normalize;    /* 1: raw inputs with a standard transform stored in the model */
    int shape;        /* input shape: 0 flat, 1 rows x columns as C x L, 2 1 x rows x columns */
} model_case;

static const model_case cases[] = {
    {"identity", "32:identity,10:softmax", MYNN_LOSS_CE, 0, 0, 0},
    {"sigmoid", "32:sigmoid,10:softmax", MYNN_LOSS_CE, 0, 0, 0},
    {"tanh", "32:tanh,10:softmax", MYNN_LOSS_CE, 0, 0, 0},
    {"relu", "32:relu,10:softmax", MYNN_LOSS_CE, 0, 0, 0},
    {"leaky_relu", "32:leaky_relu,10:softmax", MYNN_LOSS_CE, 0, 0, 0},
    {"gelu", "32:gelu,10:softmax", MYNN_LOSS_CE, 0, 0, 0},
    {"binary", "16:relu,1:sigmoid", MYNN_LOSS_BCE, 2, 0, 0},
    {"regression", "32:tanh,16:relu,1", MYNN_LOSS_MSE, 1, 0, 0},
    {"normalized", "dropout:0.1,32:relu,dropout:0.2,10:softmax", MYNN_LOSS_CE, 0, 1, 0},
    {"cnn_batchnorm", "conv:6:3:relu:pad=1,batchnorm,maxpool:2,conv:8:3:tanh:stride=2,avgpool:2:stride=1,"
     "flatten,batchnorm,24:gelu,10:softmax", MYNN_LOSS_CE, 0, 0, 2},
    {"cnn_gap", "conv:8:5x3:pad=same,batchnorm,leaky_relu,conv:8:3:sigmoid,gap,10:softmax", MYNN_LOSS_CE, 0, 1, 2},
    {"cnn_1d", "conv1d:8:3:relu:pad=1,maxpool1d:2,conv1d:6:3,avgpool1d:2,32:relu,10:softmax", MYNN_LOSS_CE, 0, 0, 1},
    /* graphs: residual blocks with an identity shortcut and with a strided
     * 1x1 projection shortcut carrying its own batch norm */
    {"res_blocks", "conv:4:3:stride=2:pad=1,batchnorm,relu,"
     "res(conv:4:3:pad=same,batchnorm,relu,conv:4:3:pad=same,batchnorm):relu,"
     "res(conv:8:3:stride=2:pad=1,batchnorm,relu,conv:8:3:pad=same,batchnorm | conv:8:1:stride=2,batchnorm):relu,"
     "gap,10:softmax", MYNN_LOSS_CE, 0, 0, 2},
    /* an identity shortcut straight from the (normalised) network input,
     * joined with GELU; a max pool whose padding is half its window */
    {"res_input", "res(conv:1:3:tanh:pad=same,batchnorm):gelu,conv:6:3:relu:stride=2,maxpool:2:pad=1,flatten,10:softmax",
     MYNN_LOSS_CE, 0, 1, 2},
    /* an inception block: 1x1, 3x3, a padded max pool and a padded average
     * pool side by side, concatenated along the channels */
    {"inception", "conv:4:3:relu:stride=2:pad=1,"
     "cat(conv:4:1:relu | conv:4:3:relu:pad=same | maxpool:3:stride=1:pad=1 | avgpool:3:stride=1:pad=1),"
     "batchnorm,maxpool:2,flatten,10:softmax", MYNN_LOSS_CE, 0, 0, 2},
    /* add of a dense output ([N, F]) and global average pools ([N, C, 1, 1]) */
    {"add_ranks", "conv:8:3:relu:stride=2:as=c,gap:as=g,8:tanh:from=c,conv:8:3:pad=1:from=c,gap,"
     "add:relu:from=g+-3+-1,10:softmax", MYNN_LOSS_CE, 0, 0, 2},
    /* concatenated vectors: two dense branches, the shared layer again and
     * the (normalised) network input */
    {"concat_vec", "32:relu:as=h,16:tanh,16:sigmoid:from=h,concat:from=-2+-1+h+input,dropout:0.1,10:softmax",
     MYNN_LOSS_CE, 0, 1, 0},
    /* 1-D: a residual block, padded max and average pools beside a 1x1 conv */
    {"graph_1d", "conv1d:6:3:pad=1,res(conv1d:6:3:pad=same,batchnorm,relu,conv1d:6:3:pad=same,batchnorm):leaky_relu,"
     "cat(conv1d:4:1:tanh | maxpool1d:3:stride=1:pad=1 | avgpool1d:3:stride=1:pad=1),gap,10:softmax", MYNN_LOSS_CE, 0, 0, 1},
};
enum { N_CASES = sizeof cases / sizeof cases[0] };

typedef struct data {
    int n, d, k;            /* samples, features, classes */
    int rows, cols;         /* d = rows × cols (one-channel images) */
    float *raw, *unit;      /* [n × d]: as loaded, and scaled to about [0, 1] */
    int *label;
} data;

static void data_free(data *g)
{
    free(g->raw);
    free(g->unit);
    free(g->label);
}

/* Fashion-MNIST's 10000 test images, or 3000 synthetic samples. */
static int load_data(data *g, char *what, size_t what_n)
{
    memset(g, 0, sizeof *g);
    const char *dir = "/usr/share/datasets/fashion-mnist";
    mynn_dataset *ds = NULL;
    float div = 1.0f;
    if (access(dir, R_OK) == 0 && mynn_dataset_load(&ds, dir, NULL, 1) == MYNN_OK) {
        g->n = ds->n;
        g->d = ds->n_inputs;
        g->k = ds->n_classes;
        g->rows = g->cols = 28;
        div = 255.0f;
        snprintf(what, what_n, "Fashion-MNIST test images");
    } else {
        g->n = 3000;
        g->rows = 6;
        g->cols = 8;
        g->d = g->rows * g->cols;
        g->k = 10;   /* the cases' softmax outputs */
        div = 10.0f;
        snprintf(what, what_n, "synthetic data (%s absent)", dir);
    }
    size_t nx = (size_t)g->n * g->d;
    g->raw = malloc(nx * sizeof *g->raw);
    g->unit = malloc(nx * sizeof *g->unit);
    g->label = malloc((size_t)g->n * sizeof *g->label);
    if (!g->raw || !g->unit || !g->label) {
        mynn_dataset_free(ds);
        data_free(g);
        return -1;
    }
    mynn_rng r;
    mynn_rng_seed(&r, 11);
    for (int i = 0; i < g->n; i++) {
        g->label[i] = ds ? ds->labels[i] : (int)mynn_rng_below(&r, (uint64_t)g->k);
        for (int j = 0; j < g->d; j++) {
            size_t at = (size_t)i * g->d + j;
            /* synthetic: class-dependent means plus noise, offset like pixels */
            g->raw[at] = ds ? ds->x[at] : 5.0f + (float)((g->label[i] + j) % g->k) + 4.0f * mynn_rng_uniform(&r);
            g->unit[at] = g->raw[at] / div;
        }
    }
    mynn_dataset_free(ds);
    return 0;
}

static mynn_status set_standard(mynn_net *net, const float *x, int n, int d)
{
    double *sum = calloc((size_t)d, sizeof *sum), *sq = calloc((size_t)d, sizeof *sq);
    float *shift = malloc((size_t)d * sizeof *shift), *scale = malloc((size_t)d * sizeof *scale);
    mynn_status s = MYNN_ERR_NOMEM;
    if (sum && sq && shift && scale) {
        for (int i = 0; i < n; i++)
            for (int j = 0; j < d; j++) {
                double v = x[(size_t)i * d + j];
                sum[j] += v;
                sq[j] += v * v;
            }
        for (int j = 0; j < d; j++) {
            double mean = sum[j] / n, var = sq[j] / n - mean * mean;
            shift[j] = (float)mean;
            scale[j] = var > 1e-6 ? (float)(1.0 / sqrt(var)) : 1.0f;
        }
        s = mynn_set_input_transform(net, "standard", shift, scale);
    }
    free(sum);
    free(sq);
    free(shift);
    free(scale);
    return s;
}

enum { N_TRAIN = 2000, N_CHECK = 500 };

/* Training samples: fewer under sanitizers and valgrind (still real weights). */
static int n_train(void) { return ck_sanitized() ? 200 : N_TRAIN; }

/* Train case c briefly on the first n_train() samples; save it and export it. */
static int make_model(const model_case *c, const data *g, const char *st, const char *onnx)
{
    int k = c->target ? 1 : g->k;
    mynn_net *net = NULL;
    const int nt = n_train();
    float *y = calloc((size_t)nt * k, sizeof *y);
    int ok = y && !mynn_create(&net, g->d);
    if (ok && c->shape == 1) ok = !mynn_set_input_shape_1d(net, g->rows, g->cols);
    if (ok && c->shape == 2) ok = !mynn_set_input_shape(net, 1, g->rows, g->cols);
    ok = ok && !mynn_add_layers(net, c->spec) && !mynn_set_loss(net, c->loss) && !mynn_build(net, 64, MYNN_INIT_AUTO, 5);
    const float *x = c->normalize ? g->raw : g->unit;
    if (ok && c->normalize) ok = !set_standard(net, x, nt, g->d);
    for (int i = 0; ok && i < nt; i++) {
        if (c->target == 0) y[(size_t)i * k + g->label[i]] = 1.0f;
        else if (c->target == 1) y[i] = (float)g->label[i] / (float)(g->k - 1);
        else y[i] = g->label[i] < g->k / 2 ? 1.0f : 0.0f;
    }
    mynn_dataset ds = {.n = nt, .n_inputs = g->d, .n_outputs = k, .n_classes = c->target ? 0 : g->k,
                       .x = (float *)x, .y = y, .labels = c->target ? NULL : g->label};
    mynn_fit_options o;
    mynn_fit_options_default(&o);
    o.epochs = 1;
    o.batch_size = 64;
    o.seed = 9;
    if (ok) ok = !mynn_fit(net, &ds, NULL, &o);
    if (ok) ok = !mynn_save(net, st);
    if (ok) ok = !mynn_export_onnx(net, onnx);
    CHECK(ok, "%s: %s", c->name, mynn_last_error());
    mynn_free(net);
    free(y);
    return ok ? 0 : -1;
}

/* Write rows [N_TRAIN, N_TRAIN + N_CHECK) of x as CSV (for mynn predict)
 * and as raw float32 (for ONNX Runtime; little-endian like this machine). */
static int write_inputs(const data *g, const float *x, const char *csv, const char *f32)
{
    FILE *c = fopen(csv, "w"), *r = fopen(f32, "wb");
    int ok = c && r;
    for (int i = N_TRAIN; ok && i < N_TRAIN + N_CHECK; i++) {
        const float *row = x + (size_t)i * g->d;
        for (int j = 0; j < g->d; j++) fprintf(c, j ? ",%.9g" : "%.9g", row[j]);
        fputc('\n', c);
        ok = fwrite(row, sizeof *row, (size_t)g->d, r) == (size_t)g->d;
    }
    if (c && fclose(c) != 0) ok = 0;
    if (r && fclose(r) != 0) ok = 0;
    return ok ? 0 : -1;
}

static int run_cmd(const char *cmd, char *out, size_t out_n)
{
    FILE *p = popen(cmd, "r");
    if (!p) return -1;
    size_t n = fread(out, 1, out_n - 1, p);
    out[n] = '\0';
    int st = pclose(p);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void test_onnxruntime(void)
{
    if (ck_emulated()) SKIP("under emulation: ONNX Runtime is the host's (x86) build");
    const char *py = "/usr/bin/python3", *script = "tests/onnx_check.py";
    if (access(py, X_OK) != 0) SKIP("%s is missing", py);
    if (access(script, R_OK) != 0) SKIP("%s not found (run from the repository root)", script);
    const char *tool = getenv("MYNN_TOOL") ? getenv("MYNN_TOOL") : "build/mynn";
    if (access(tool, X_OK) != 0) SKIP("the mynn tool %s is missing", tool);
    const char *ort = getenv("MYNN_ORT_DIR") ? getenv("MYNN_ORT_DIR") : "build/npm";
    data g;
    char what[96];
    if (load_data(&g, what, sizeof what)) {
        CHECK(0, "out of memory loading data");
        return;
    }
    printf("  on %s: %d samples checked per model\n", what, N_CHECK);
    static char out[16384];
    char unit_csv[128], unit_f32[128], raw_csv[128], raw_f32[128];
    tpath(unit_csv, sizeof unit_csv, "unit.csv");
    tpath(unit_f32, sizeof unit_f32, "unit.f32");
    tpath(raw_csv, sizeof raw_csv, "raw.csv");
    tpath(raw_f32, sizeof raw_f32, "raw.f32");
    int ok = !write_inputs(&g, g.unit, unit_csv, unit_f32) && !write_inputs(&g, g.raw, raw_csv, raw_f32);
    CHECK(ok, "writing the inputs");
    /* One checker run per kind of input: [0, 1] or raw values, flat or shaped. */
    enum { N_GROUPS = 6 };
    static char cmds[N_GROUPS][4096];
    size_t len[N_GROUPS];
    for (int q = 0; q < N_GROUPS; q++) {
        char dims[32];
        if (q % 3 == 0) snprintf(dims, sizeof dims, "%d", g.d);
        else if (q % 3 == 1) snprintf(dims, sizeof dims, "%dx%d", g.rows, g.cols);
        else snprintf(dims, sizeof dims, "1x%dx%d", g.rows, g.cols);
        len[q] = (size_t)snprintf(cmds[q], sizeof cmds[q], "%s %s '%s' '%s' %d %s", py, script, ort,
                                  q < 3 ? unit_f32 : raw_f32, N_CHECK, dims);
    }
    int used[N_GROUPS] = {0};
    for (int i = 0; ok && i < N_CASES; i++) {
        const model_case *c = &cases[i];
        char st[128], onnx[128], pred[128], name[64], line[1024];
        snprintf(name, sizeof name, "%s.safetensors", c->name);
        tpath(st, sizeof st, name);
        snprintf(name, sizeof name, "%s.onnx", c->name);
        tpath(onnx, sizeof onnx, name);
        snprintf(name, sizeof name, "%s.csv", c->name);
        tpath(pred, sizeof pred, name);
        if (make_model(c, &g, st, onnx)) {
            ok = 0;
            break;
        }
        snprintf(line, sizeof line, "'%s' predict '%s' '%s' --out '%s' 2>&1", tool, st,
                 c->normalize ? raw_csv : unit_csv, pred);
        int rc = run_cmd(line, out, sizeof out);
        CHECK(rc == 0, "%s: mynn predict: rc %d: %s", c->name, rc, out);
        if (rc) ok = 0;
        int q = 3 * c->normalize + c->shape;
        used[q] = 1;
        len[q] += (size_t)snprintf(cmds[q] + len[q], sizeof cmds[q] - len[q], " '%s' '%s'", onnx, pred);
    }
    for (int q = 0; ok && q < N_GROUPS; q++) {
        if (!used[q]) continue;
        snprintf(cmds[q] + len[q], sizeof cmds[q] - len[q], " 2>&1");
        int rc = run_cmd(cmds[q], out, sizeof out);
        fputs(out, stdout);
        if (rc == 77) {
            data_free(&g);
            SKIP("the ONNX Runtime check could not run (see above)");
        }
        CHECK(rc == 0, "tests/onnx_check.py: rc %d", rc);
    }
    data_free(&g);
}

/* ---- sequences against ONNX Runtime ------------------------------------ */

/* Sequence models with their initial (random) weights: every recurrent kind
 * forward and reverse, every step and the last, on each way a recurrent
 * layer reads its input (T × F data, a flat row as T steps of one feature,
 * C × H × W data as C steps, a conv1d's C × L as L steps of C, an
 * embedding's sequence), and a dense layer, dropout and activations on
 * every step (softmax per step). */
typedef struct seq_case {
    const char *name, *spec;
    int dims[3], n_dims;    /* the input shape: T × F (1-D), C × H × W, or 0 dims: flat */
    int n_inputs;
    int vocab;              /* > 0: the inputs are token ids in 0..vocab-1 */
} seq_case;

static const seq_case seq_cases[] = {
    {"lstm_bi_gru", "lstm:8:seq:bi,gru:6,3:softmax", {5, 4}, 2, 20, 0},
    {"rnn_relu_seq", "rnn:5:relu:seq,4", {5, 4}, 2, 20, 0},
    {"rnn_bi_flat", "rnn:3:bi,2:tanh", {0}, 0, 7, 0},
    {"gru_bi_seq", "gru:4:seq:bi,dropout:0.3,softmax,3:sigmoid", {6, 3}, 2, 18, 0},
    {"lstm_image", "lstm:4:bi,rnn:3:seq:tanh,flatten,5", {3, 2, 4}, 3, 24, 0},
    {"embedding_lstm", "embedding:11:4,lstm:6:seq,11:softmax", {0}, 0, 6, 11},
    {"conv1d_lstm", "conv1d:4:3,lstm:5,2", {2, 9}, 2, 18, 0},
    /* dense layers on every step joined by add (a sequence join) */
    {"gru_add_steps", "gru:6:seq:as=h,8:gelu,8:leaky_relu:from=h,add:relu:from=-2+-1,2", {4, 3}, 2, 12, 0},
};
enum { N_SEQ_CASES = sizeof seq_cases / sizeof seq_cases[0], N_SEQ = 64 };

static mynn_net *seq_net(const seq_case *c)
{
    mynn_net *net = NULL;
    int ok = !mynn_create(&net, c->n_inputs);
    if (ok && c->n_dims == 2) ok = !mynn_set_input_shape_1d(net, c->dims[0], c->dims[1]);
    if (ok && c->n_dims == 3) ok = !mynn_set_input_shape(net, c->dims[0], c->dims[1], c->dims[2]);
    ok = ok && !mynn_add_layers(net, c->spec) && !mynn_build(net, N_SEQ, MYNN_INIT_AUTO, 17);
    CHECK(ok, "%s: %s", c->name, mynn_last_error());
    if (!ok) mynn_free(net);
    return ok ? net : NULL;
}

/* N_SEQ inputs for c (ids, or uniform in [-2, 2]) as float32 at f32. */
static float *seq_inputs(const seq_case *c, const char *f32)
{
    const size_t n = (size_t)N_SEQ * c->n_inputs;
    float *x = malloc(n * sizeof *x);
    if (!x) return NULL;
    mynn_rng r;
    mynn_rng_seed(&r, 23);
    for (size_t i = 0; i < n; i++)
        x[i] = c->vocab ? (float)mynn_rng_below(&r, (uint64_t)c->vocab) : 4.0f * mynn_rng_uniform(&r) - 2.0f;
    FILE *f = fopen(f32, "wb");
    int ok = f && fwrite(x, sizeof *x, n, f) == n;
    if (f && fclose(f) != 0) ok = 0;
    if (!ok) {
        free(x);
        return NULL;
    }
    return x;
}

/* mynn_predict's n × k outputs y as the CSV onnx_check.py reads. */
static int write_pred(const char *path, const float *y, int n, int k)
{
    FILE *f = fopen(path, "w");
    if (!f) return -1;
    for (int j = 0; j < k; j++) fprintf(f, j ? ",y%d" : "y%d", j);
    fputc('\n', f);
    for (int i = 0; i < n; i++)
        for (int j = 0; j < k; j++) fprintf(f, "%.9g%c", y[(size_t)i * k + j], j + 1 < k ? ',' : '\n');
    return fclose(f) == 0 ? 0 : -1;
}

static void seq_dims(const seq_case *c, char *buf, size_t n)
{
    if (c->n_dims == 0) snprintf(buf, n, "%d", c->n_inputs);
    else if (c->n_dims == 2) snprintf(buf, n, "%dx%d", c->dims[0], c->dims[1]);
    else snprintf(buf, n, "%dx%dx%d", c->dims[0], c->dims[1], c->dims[2]);
}

/* max |a - b| over n values.  (A compare, not fmax: aarch64 GCC 12 stops
 * with an internal error vectorising an fmax reduction here.) */
static double max_diff(const float *a, const float *b, size_t n)
{
    double m = 0.0;
    for (size_t i = 0; i < n; i++) {
        const double d = fabs((double)a[i] - b[i]);
        if (d > m) m = d;
    }
    return m;
}

/* Layer i's gate blocks (G of them, per direction, in every tensor)
 * rearranged: block k gets the old block perm[k]. */
static void permute_gates(mynn_net *net, int i, int G, const int *perm)
{
    for (int k = 0; mynn_layer_tensor_name(net, i, k); k++) {
        int rank = 0;
        size_t dims[4] = {0};
        float *t = mynn_layer_tensor(net, i, mynn_layer_tensor_name(net, i, k), &rank, dims);
        const size_t block = dims[0] / (size_t)G * (rank == 2 ? dims[1] : 1);
        float old[4 * 1024];
        if (!t || block * G > sizeof old / sizeof *old) continue;
        memcpy(old, t, block * G * sizeof *t);
        for (int b = 0; b < G; b++) memcpy(t + b * block, old + perm[b] * block, block * sizeof *t);
    }
}

/* ONNX Runtime's outputs for model on the N_SEQ inputs at f32 into y
 * (count values): 0, 77 when it cannot run here, else failure. */
static int ort_outputs(const char *model, const char *f32, const char *dims, float *y, size_t count)
{
    const char *ort = getenv("MYNN_ORT_DIR") ? getenv("MYNN_ORT_DIR") : "build/npm";
    char cmd[1024], got[160], out[4096];
    snprintf(got, sizeof got, "%s.ort", model);
    snprintf(cmd, sizeof cmd, "node tests/onnx_run.js '%s' '%s' %d %s '%s' '%s' 2>&1", ort, f32, N_SEQ, dims, model,
             got);
    int rc = run_cmd(cmd, out, sizeof out);
    if (rc) return rc == 77 || rc == 127 ? 77 : rc;
    FILE *f = fopen(got, "rb");
    size_t n = f ? fread(y, sizeof *y, count, f) : 0;
    if (f) fclose(f);
    remove(got);
    return n == count ? 0 : -1;
}

/* The parity test below catches a wrong gate order because a reorder
 * mistake is the same as mynn running permuted blocks: an exporter that
 * wrote PyTorch's order unchanged gives ONNX Runtime LSTM blocks i f g o
 * read as i o f c, which is mynn with blocks (i, g, o, f), and GRU's r z n
 * read as z r h, mynn with r and z swapped.  With these random weights
 * such a permuted net must differ from ONNX Runtime's outputs by far more
 * than the tolerance. */
static void check_gate_orders(mynn_net *net, const char *model, const char *f32, const char *dims, const float *x)
{
    const int K = mynn_n_outputs(net);
    const size_t count = (size_t)N_SEQ * K;
    float *ort = malloc(count * sizeof *ort), *y = malloc(count * sizeof *y);
    if (!ort || !y) {
        CHECK(0, "out of memory");
        free(ort);
        free(y);
        return;
    }
    int rc = ort_outputs(model, f32, dims, ort, count);
    CHECK(rc == 0 || rc == 77, "onnx_run.js on %s: rc %d", model, rc);
    if (rc == 0 && !mynn_predict(net, x, N_SEQ, y)) {
        CHECK(max_diff(ort, y, count) <= 1e-5, "gate orders: ORT vs mynn %g", max_diff(ort, y, count));
        static const int lstm_unordered[4] = {0, 2, 3, 1}, lstm_back[4] = {0, 3, 1, 2};
        static const int gru_unordered[3] = {1, 0, 2};
        permute_gates(net, 0, 4, lstm_unordered);
        CHECK_OK(mynn_predict(net, x, N_SEQ, y));
        const double lstm_off = max_diff(ort, y, count);
        CHECK(lstm_off > 1e-3, "LSTM gates i f g o read as i o f c: only %g from ORT",
              max_diff(ort, y, count));
        permute_gates(net, 0, 4, lstm_back);
        permute_gates(net, 1, 3, gru_unordered);
        CHECK_OK(mynn_predict(net, x, N_SEQ, y));
        const double gru_off = max_diff(ort, y, count);
        CHECK(gru_off > 1e-3, "GRU gates r z n read as z r h: only %g from ORT", gru_off);
        printf("  gates in PyTorch's order read as ONNX's: max |onnxruntime - mynn| = %.3g (LSTM), %.3g (GRU)\n",
               lstm_off, gru_off);
        permute_gates(net, 1, 3, gru_unordered);
        CHECK_OK(mynn_predict(net, x, N_SEQ, y));
        CHECK(max_diff(ort, y, count) <= 1e-5, "gates restored: %g", max_diff(ort, y, count));
    }
    free(ort);
    free(y);
}

/* One case: export, mynn_predict, then onnx_check.py (checker, shape
 * inference, ONNX Runtime within 1e-5); returns its exit status. */
static int check_seq_case(const seq_case *c, int first)
{
    char onnx[128], pred[128], f32[128], name[64], dims[32], cmd[1024];
    static char out[8192];
    snprintf(name, sizeof name, "%s.onnx", c->name);
    tpath(onnx, sizeof onnx, name);
    snprintf(name, sizeof name, "%s.csv", c->name);
    tpath(pred, sizeof pred, name);
    snprintf(name, sizeof name, "%s.f32", c->name);
    tpath(f32, sizeof f32, name);
    seq_dims(c, dims, sizeof dims);
    mynn_net *net = seq_net(c);
    float *x = net ? seq_inputs(c, f32) : NULL;
    const int K = net ? mynn_n_outputs(net) : 0;
    float *y = malloc((size_t)N_SEQ * (K ? K : 1) * sizeof *y);
    int ok = net && x && y;
    if (ok) ok = !mynn_export_onnx(net, onnx);
    if (ok) ok = !mynn_predict(net, x, N_SEQ, y) && !write_pred(pred, y, N_SEQ, K);
    CHECK(ok, "%s: %s", c->name, mynn_last_error());
    int rc = 1;
    if (ok) {
        const char *ort = getenv("MYNN_ORT_DIR") ? getenv("MYNN_ORT_DIR") : "build/npm";
        snprintf(cmd, sizeof cmd, "/usr/bin/python3 tests/onnx_check.py '%s' '%s' %d %s '%s' '%s' 2>&1", ort, f32,
                 N_SEQ, dims, onnx, pred);
        rc = run_cmd(cmd, out, sizeof out);
        fputs(out, stdout);
        CHECK(rc == 0 || rc == 77, "%s: tests/onnx_check.py: rc %d", c->name, rc);
    }
    if (ok && rc == 0 && first) check_gate_orders(net, onnx, f32, dims, x);
    free(x);
    free(y);
    mynn_free(net);
    remove(onnx);
    remove(pred);
    remove(f32);
    return rc;
}

static void test_onnx_sequences(void)
{
    if (ck_emulated()) SKIP("under emulation: ONNX Runtime is the host's (x86) build");
    if (access("/usr/bin/python3", X_OK) != 0) SKIP("/usr/bin/python3 is missing");
    if (access("tests/onnx_check.py", R_OK) != 0) SKIP("tests/onnx_check.py not found (run from the repository root)");
    int skipped = 0;
    for (int i = 0; i < N_SEQ_CASES; i++) skipped |= check_seq_case(&seq_cases[i], i == 0) == 77;
    if (skipped) SKIP("the ONNX Runtime check could not run (see above)");
}

static void remove_dir(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d) return;
    char p[512];
    for (struct dirent *e; (e = readdir(d));) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
        unlink(p);
    }
    closedir(d);
    rmdir(dir);
}

int main(void)
{
    CK_BEGIN("test_onnx");
    const char *tmp = getenv("TMPDIR");
    snprintf(g_dir, sizeof g_dir, "%s/mynn_onnx_XXXXXX", tmp && strlen(tmp) < 40 ? tmp : "/tmp");
    if (!mkdtemp(g_dir)) {
        printf("cannot create a temporary folder\n");
        return 1;
    }
    RUN(test_protobuf);
    RUN(test_errors);
    RUN(test_deterministic);
    RUN(test_onnxruntime);
    RUN(test_onnx_sequences);
    remove_dir(g_dir);
    return CK_END();
}
