/* Fuzz targets, one function per parser.  Built two ways:
 *  - by `make fuzz` with clang's libFuzzer, one binary per target
 *    (fuzz/driver.c maps LLVMFuzzerTestOneInput to FUZZ_TARGET);
 *  - into tests/test_fuzz_corpus.c, which replays every corpus and
 *    regression input in `make test`, so a crash found once stays fixed.
 * The model targets also run the writers a loaded model reaches (C and
 * ONNX export).  Each returns 0 and must never crash, leak, hang or read out of bounds,
 * whatever the bytes. */
#include "io/io.h"
#include "mynn.h"
#include "network/network.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* A NUL-terminated copy: the text parsers take C strings. */
static char *text_copy(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    if (s) {
        if (size) memcpy(s, data, size);
        s[size] = '\0';
    }
    return s;
}

/* Writes bytes to /tmp/mynn-fuzz-<pid>-<name> (per process, so parallel
 * fuzzers do not collide); returns that path in buf, or NULL on failure. */
static const char *scratch_file(char *buf, size_t n, const char *name, const uint8_t *data,
                                size_t size)
{
    snprintf(buf, n, "/tmp/mynn-fuzz-%ld-%s", (long)getpid(), name);
    FILE *f = fopen(buf, "wb");
    if (!f) return NULL;
    size_t w = size ? fwrite(data, 1, size, f) : 0;
    return (fclose(f) == 0 && w == size) ? buf : NULL;
}

/* The first byte picks CSV options, the rest is the file. */
int fuzz_csv(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    mynn_load_options o;
    mynn_load_options_default(&o);
    uint8_t c = data[0];
    const char seps[4] = {',', ';', '\t', 0};
    o.separator = seps[c & 3];
    o.header = (int)((c >> 2) & 3) - 1; /* -1, 0, 1, 2 (2 acts as 1) */
    if (o.header > 1) o.header = 1;
    o.label_column = (c >> 4) & 1 ? 0 : -1;
    o.n_targets = (c >> 5) & 1;
    o.skip_nonfinite = (c >> 6) & 1;
    o.no_labels = (c >> 7) & 1;
    char *s = text_copy(data + 1, size - 1);
    if (!s) return 0;
    mynn_dataset *ds = NULL;
    if (mn_load_csv(&ds, "fuzz.csv", s, size - 1, &o) == MYNN_OK) mynn_dataset_free(ds);
    /* Again with the encoding options (picked from the size, so the inputs
     * above keep their meaning), then through the encoding it learned. */
    static const char *const cats[4] = {"auto", "none", "0", "0,1"};
    o.missing = (mynn_missing)(size % 4);
    o.categorical = cats[(size / 4) % 4];
    o.strict = (int)((size / 16) & 1);
    ds = NULL;
    if (mn_load_csv(&ds, "fuzz.csv", s, size - 1, &o) == MYNN_OK) {
        if (ds->encoding) {
            mynn_dataset *again = NULL;
            o.encoding = ds->encoding;
            if (mn_load_csv(&again, "fuzz.csv", s, size - 1, &o) == MYNN_OK) mynn_dataset_free(again);
            o.no_labels = !o.no_labels;
            again = NULL;
            if (mn_load_csv(&again, "fuzz.csv", s, size - 1, &o) == MYNN_OK) mynn_dataset_free(again);
        }
        mynn_dataset_free(ds);
    }
    free(s);
    return 0;
}

/* NumPy: the first byte picks the options, the rest is read as a .npy
 * and as a .npz. */
int fuzz_npy(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    mynn_load_options o;
    mynn_load_options_default(&o);
    uint8_t c = data[0];
    o.no_labels = c & 1;
    o.n_targets = (c >> 1) & 1;
    o.skip_nonfinite = (c >> 2) & 1;
    o.label_column = (c >> 3) & 1 ? 0 : -1;
    o.n_classes = (c >> 4) & 1 ? 3 : 0;
    mynn_dataset *ds = NULL;
    if (mn_load_npy(&ds, "fuzz.npy", data + 1, size - 1, &o) == MYNN_OK) mynn_dataset_free(ds);
    ds = NULL;
    if (mn_load_npz(&ds, "fuzz.npz", data + 1, size - 1, &o) == MYNN_OK) mynn_dataset_free(ds);
    return 0;
}

/* The text loader: byte 0 picks bytes or UTF-8 and the window length; the
 * rest is the text.  Its vocabulary is built, the text encoded and decoded
 * back (the same bytes when valid), windows cut, and the vocabulary stored
 * in a net's metadata and read back. */
int fuzz_text(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    const int bytes = data[0] & 1, seq = 1 + (data[0] >> 1);
    const char *text = (const char *)data + 1;
    const size_t len = size - 1;
    mynn_vocab *v = NULL, *back = NULL;
    if (mynn_vocab_build(text, len, bytes, &v) != MYNN_OK) return 0;
    float *ids = malloc((len ? len : 1) * sizeof *ids);
    char *round = malloc(4 * len + 1);
    size_t n = 0, at = 0;
    if (ids && round && mynn_vocab_encode(v, text, len, ids, &n) == MYNN_OK) {
        for (size_t i = 0; i < n; i++) {
            char ch[5];
            int k = mynn_vocab_decode(v, (int)ids[i], ch);
            memcpy(round + at, ch, (size_t)k);
            at += (size_t)k;
        }
        if (at != len || memcmp(round, text, len)) abort();   /* the round trip must be exact */
        mynn_dataset *tr = NULL, *va = NULL;
        if (mynn_text_dataset(ids, n, seq, 0.25, &tr, &va) == MYNN_OK) {
            mynn_dataset_free(tr);
            mynn_dataset_free(va);
        }
    }
    mynn_net *net = NULL;
    if (mynn_create(&net, 1) == MYNN_OK && mynn_set_vocab(net, v) == MYNN_OK &&
        mynn_get_vocab(net, &back) == MYNN_OK && mynn_vocab_size(back) != mynn_vocab_size(v))
        abort();
    mynn_free(net);
    mynn_vocab_free(back);
    mynn_vocab_free(v);
    free(ids);
    free(round);
    return 0;
}

int fuzz_fann(const uint8_t *data, size_t size)
{
    char *s = text_copy(data, size);
    if (!s) return 0;
    mynn_dataset *ds = NULL;
    mynn_load_options o;
    mynn_load_options_default(&o);
    (void)mn_fann_detect(s, size);
    if (mn_load_fann(&ds, "fuzz.data", s, size, &o) == MYNN_OK) mynn_dataset_free(ds);
    free(s);
    return 0;
}

/* The description's parser (blocks, names, references) and the graph it
 * builds: the canonical form must parse back to itself, and a small net is
 * built, run forward and backward (fan-out, the gradient plan), and saved
 * and loaded through the model file's architecture. */
int fuzz_layers(const uint8_t *data, size_t size)
{
    char *s = text_copy(data, size);
    mynn_net *net = NULL, *syntax = NULL;
    if (s && mynn_parse_layers(&syntax, s) == MYNN_OK) mynn_free(syntax);
    /* a 3×4×4 input, so convolution and pooling items meet real shapes */
    if (s && mynn_create(&net, 48) == MYNN_OK && mynn_set_input_shape(net, 3, 4, 4) == MYNN_OK) {
        if (mynn_add_layers(net, s) == MYNN_OK && mynn_n_layers(net) <= 24) {
            char *spec = mn_net_spec(net);
            mynn_net *again = NULL;
            if (spec && mynn_create(&again, 48) == MYNN_OK && mynn_set_input_shape(again, 3, 4, 4) == MYNN_OK) {
                char *spec2 = mynn_add_layers(again, spec) == MYNN_OK ? mn_net_spec(again) : NULL;
                if (!spec2 || strcmp(spec, spec2) != 0) __builtin_trap();   /* print and parse disagree */
                free(spec2);
            }
            mynn_free(again);
            free(spec);
            /* keep builds small: a spec may ask for millions of units */
            size_t total = 0;
            for (int i = 0; i < mynn_n_layers(net); i++) {
                mynn_layer_info li;
                mynn_layer_get_info(net, i, &li);
                total += li.n_params + (size_t)li.n_outputs;
            }
            if (total < 100000 && mynn_build(net, 2, MYNN_INIT_AUTO, 1) == MYNN_OK) {
                static float x[96], y[2 * 100000], t[2 * 100000];
                const int k = mynn_n_outputs(net);
                for (int i = 0; i < 96; i++) x[i] = (float)(i % 7) - 3.0f;
                if ((size_t)k * 2 <= sizeof y / sizeof *y && mynn_predict(net, x, 2, y) == MYNN_OK) {
                    for (int i = 0; i < 2 * k; i++) t[i] = y[i] > 0.5f ? 1.0f : 0.0f;
                    (void)mynn_compute_gradients(net, x, t, 2, NULL);
                    char path[64];
                    snprintf(path, sizeof path, "/tmp/fuzz_layers_%d.safetensors", (int)getpid());
                    mynn_net *back = NULL;
                    if (mynn_save(net, path) == MYNN_OK && mynn_load(&back, path, 2) == MYNN_OK) mynn_free(back);
                    unlink(path);
                }
            }
        }
        mynn_free(net);
    }
    free(s);
    return 0;
}

/* Input: [2 bytes big-endian length L][L bytes of images file][labels file].
 * Both are written beside each other as MNIST names, then loaded the way
 * users load them (plain or gzip, found from the content). */
int fuzz_idx(const uint8_t *data, size_t size)
{
    if (size < 2) return 0;
    size_t li = ((size_t)data[0] << 8) | data[1];
    if (li > size - 2) li = size - 2;
    char img[128], lab[128];
    if (!scratch_file(img, sizeof img, "train-images-idx3-ubyte", data + 2, li) ||
        !scratch_file(lab, sizeof lab, "train-labels-idx1-ubyte", data + 2 + li, size - 2 - li))
        return 0;
    mynn_dataset *ds = NULL;
    if (mynn_dataset_load(&ds, img, NULL, 0) == MYNN_OK) mynn_dataset_free(ds);
    unlink(img);
    unlink(lab);
    return 0;
}

/* The writers a loaded model reaches (C export, ONNX; int8 C export when
 * q is not NULL), into a per-process folder removed afterwards: a model
 * that loads must export or be refused, never crash them. */
static void run_writers(const mynn_net *net, const mynn_qnet *q)
{
    char dir[96], file[160];
    snprintf(dir, sizeof dir, "/tmp/mynn-fuzz-%ld-out", (long)getpid());
    mkdir(dir, 0700);
    if (q) {
        mynn_qexport_c(q, dir, "fz");
    } else {
        mynn_export_c(net, dir, "fz");
        snprintf(file, sizeof file, "%s/fz.onnx", dir);
        mynn_export_onnx(net, file);
        unlink(file);
    }
    snprintf(file, sizeof file, "%s/fz.h", dir);
    unlink(file);
    snprintf(file, sizeof file, "%s/fz.c", dir);
    unlink(file);
    rmdir(dir);
}

int fuzz_safetensors(const uint8_t *data, size_t size)
{
    char path[128];
    if (!scratch_file(path, sizeof path, "input.safetensors", data, size)) return 0;
    mynn_net *net = NULL;
    if (mynn_load(&net, path, 2) == MYNN_OK) {
        mynn_encoding *enc = NULL;   /* the CSV encoding's JSON metadata, parsed on demand */
        if (mynn_get_encoding(net, &enc) == MYNN_OK) mynn_encoding_free(enc);
        run_writers(net, NULL);
        mynn_free(net);
    }
    unlink(path);
    return 0;
}

/* int8 model files (mynn quantize): load, then one prediction. */
int fuzz_qmodel(const uint8_t *data, size_t size)
{
    char path[128];
    if (!scratch_file(path, sizeof path, "input8.safetensors", data, size)) return 0;
    mynn_qnet *q = NULL;
    if (mynn_qnet_load(&q, path, 2) == MYNN_OK) {
        const mynn_net *f = mynn_qnet_float(q);
        float *x = calloc((size_t)mynn_n_inputs(f), sizeof *x), *y = calloc((size_t)mynn_n_outputs(f), sizeof *y);
        if (x && y) mynn_qnet_predict(q, x, 1, y);
        free(x);
        free(y);
        run_writers(f, q);
        mynn_qnet_free(q);
    }
    unlink(path);
    return 0;
}

/* Everything that autodetects: the path users take with any file. */
int fuzz_dataset(const uint8_t *data, size_t size)
{
    char path[128];
    if (!scratch_file(path, sizeof path, "input.data", data, size)) return 0;
    mynn_dataset *ds = NULL;
    if (mynn_dataset_load(&ds, path, NULL, 0) == MYNN_OK) mynn_dataset_free(ds);
    unlink(path);
    return 0;
}

/* Training checkpoints (read by mynn_fit with resume, the CLI's --resume):
 * one fixed small run, so a valid seed reaches the deep checks. */
int fuzz_checkpoint_run(const char *path, int resume)
{
    static float x[8] = {0, 0, 0, 1, 1, 0, 1, 1};
    static float y[8] = {1, 0, 0, 1, 0, 1, 1, 0};
    static int labels[4] = {0, 1, 1, 0};
    mynn_dataset ds = {.n = 4, .n_inputs = 2, .n_outputs = 2, .n_classes = 2, .x = x, .y = y, .labels = labels};
    mynn_net *net = NULL;
    if (mynn_create(&net, 2) || mynn_add_layers(net, "3:tanh,dropout:0.1,2:softmax") ||
        mynn_set_loss(net, MYNN_LOSS_CE) || mynn_build(net, 2, MYNN_INIT_AUTO, 1)) {
        mynn_free(net);
        return -1;
    }
    mynn_fit_options o;
    mynn_fit_options_default(&o);
    o.epochs = resume ? 3 : 1;
    o.batch_size = 2;
    o.seed = 1;
    o.checkpoint_path = path;
    o.resume = resume;
    mynn_status s = mynn_fit(net, &ds, NULL, &o);
    mynn_free(net);
    return s == MYNN_OK ? 0 : -1;
}

int fuzz_checkpoint(const uint8_t *data, size_t size)
{
    char path[128];
    if (!scratch_file(path, sizeof path, "input.ckpt", data, size)) return 0;
    (void)fuzz_checkpoint_run(path, 1);
    unlink(path);
    return 0;
}
