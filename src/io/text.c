/* Text for character-level language models: the vocabulary (the sorted
 * set of UTF-8 code points, or of bytes, a text holds), encoding text to
 * token ids and back, reading a file or a folder of files, and cutting the
 * ids into training windows (inputs: seq ids; targets: the next seq ids).
 * The vocabulary travels in a model's metadata: "text_mode" ("utf8" or
 * "bytes") and "text_vocab" (a JSON array of the code points in id order),
 * so `mynn generate` and Python decode what the model predicts. */
#include "mynn.h"
#include "core/core.h"
#include "io/json.h"
#include "network/network.h"

#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define MAX_CODE 0x10FFFF

struct mynn_vocab {
    int bytes;          /* 1: every byte is a symbol; 0: UTF-8 code points */
    int n;              /* symbols */
    uint32_t *codes;    /* [n], ascending: id i is codes[i] */
};

/* ---- UTF-8 ------------------------------------------------------------- */

/* The code point at s[0..len) into *cp; its length in bytes, or 0 when
 * the bytes there are not well-formed UTF-8 (overlong forms, surrogates,
 * values above U+10FFFF, truncated sequences). */
static int utf8_next(const unsigned char *s, size_t len, uint32_t *cp)
{
    const unsigned char c = s[0];
    if (c < 0x80) {
        *cp = c;
        return 1;
    }
    int n = c >= 0xF0 && c <= 0xF4 ? 4 : c >= 0xE0 ? 3 : c >= 0xC2 && c < 0xE0 ? 2 : 0;
    if (!n || (size_t)n > len || c > 0xF4) return 0;
    uint32_t v = c & (0x7F >> n);
    for (int i = 1; i < n; i++) {
        if ((s[i] & 0xC0) != 0x80) return 0;
        v = (v << 6) | (s[i] & 0x3F);
    }
    if ((n == 3 && v < 0x800) || (n == 4 && (v < 0x10000 || v > MAX_CODE)) || (v >= 0xD800 && v <= 0xDFFF))
        return 0;
    *cp = v;
    return n;
}

static int utf8_put(uint32_t cp, char out[5])
{
    int n = 0;
    if (cp < 0x80) out[n++] = (char)cp;
    else if (cp < 0x800) out[n++] = (char)(0xC0 | cp >> 6), out[n++] = (char)(0x80 | (cp & 0x3F));
    else if (cp < 0x10000)
        out[n++] = (char)(0xE0 | cp >> 12), out[n++] = (char)(0x80 | ((cp >> 6) & 0x3F)),
        out[n++] = (char)(0x80 | (cp & 0x3F));
    else
        out[n++] = (char)(0xF0 | cp >> 18), out[n++] = (char)(0x80 | ((cp >> 12) & 0x3F)),
        out[n++] = (char)(0x80 | ((cp >> 6) & 0x3F)), out[n++] = (char)(0x80 | (cp & 0x3F));
    out[n] = '\0';
    return n;
}

/* The symbol at text[at..len): *cp and its length, or an error naming the
 * byte offset. */
static mynn_status next_symbol(int bytes, const char *text, size_t len, size_t at, uint32_t *cp, int *step)
{
    if (bytes) {
        *cp = (unsigned char)text[at];
        *step = 1;
        return MYNN_OK;
    }
    *step = utf8_next((const unsigned char *)text + at, len - at, cp);
    if (!*step)
        return mn_error(MYNN_ERR_FORMAT, "byte %zu (0x%02x) is not valid UTF-8 (read the text as bytes: --text bytes)",
                        at, (unsigned char)text[at]);
    return MYNN_OK;
}

/* ---- the vocabulary ------------------------------------------------------ */

mynn_status mynn_vocab_build(const char *text, size_t len, int bytes, mynn_vocab **out)
{
    if (!out) return mn_error(MYNN_ERR_NULL, "mynn_vocab_build: out is NULL");
    *out = NULL;
    if (!text && len) return mn_error(MYNN_ERR_NULL, "mynn_vocab_build: text is NULL");
    if (!len) return mn_error(MYNN_ERR_ARG, "the text is empty");
    /* A bitmap of the code points seen, then the set bits in order. */
    const size_t span = bytes ? 256 : (size_t)MAX_CODE + 1;
    uint8_t *seen = calloc((span + 7) / 8, 1);
    if (!seen) return mn_error(MYNN_ERR_NOMEM, "out of memory building a vocabulary");
    int n = 0;
    for (size_t at = 0; at < len;) {
        uint32_t cp;
        int step;
        mynn_status s = next_symbol(bytes, text, len, at, &cp, &step);
        if (s) {
            free(seen);
            return s;
        }
        if (!(seen[cp >> 3] & (1u << (cp & 7)))) n++;
        seen[cp >> 3] |= (uint8_t)(1u << (cp & 7));
        at += (size_t)step;
    }
    mynn_vocab *v = calloc(1, sizeof *v);
    uint32_t *codes = malloc((size_t)n * sizeof *codes);
    if (!v || !codes) {
        free(seen), free(v), free(codes);
        return mn_error(MYNN_ERR_NOMEM, "out of memory building a vocabulary");
    }
    int k = 0;
    for (size_t cp = 0; cp < span; cp++)
        if (seen[cp >> 3] & (1u << (cp & 7))) codes[k++] = (uint32_t)cp;
    free(seen);
    v->bytes = bytes != 0;
    v->n = n;
    v->codes = codes;
    *out = v;
    return MYNN_OK;
}

int mynn_vocab_size(const mynn_vocab *v) { return v ? v->n : 0; }
int mynn_vocab_is_bytes(const mynn_vocab *v) { return v ? v->bytes : 0; }

void mynn_vocab_free(mynn_vocab *v)
{
    if (!v) return;
    free(v->codes);
    free(v);
}

static int id_of(const mynn_vocab *v, uint32_t cp)
{
    int lo = 0, hi = v->n - 1;
    while (lo <= hi) {
        int mid = lo + (hi - lo) / 2;
        if (v->codes[mid] == cp) return mid;
        if (v->codes[mid] < cp) lo = mid + 1;
        else hi = mid - 1;
    }
    return -1;
}

mynn_status mynn_vocab_encode(const mynn_vocab *v, const char *text, size_t len, float *ids, size_t *n)
{
    if (!v || !n || (!text && len)) return mn_error(MYNN_ERR_NULL, "mynn_vocab_encode: NULL argument");
    size_t k = 0;
    for (size_t at = 0; at < len;) {
        uint32_t cp;
        int step;
        mynn_status s = next_symbol(v->bytes, text, len, at, &cp, &step);
        if (s) return s;
        int id = id_of(v, cp);
        if (id < 0) {
            char ch[5];
            if (v->bytes) snprintf(ch, sizeof ch, "\\x%02x", (unsigned)cp);
            else utf8_put(cp, ch);
            return mn_error(MYNN_ERR_ARG, "character \"%s\" (U+%04X) at byte %zu is not in the model's vocabulary "
                            "of %d", cp < 32 ? "?" : ch, (unsigned)cp, at, v->n);
        }
        if (ids) ids[k] = (float)id;
        k++;
        at += (size_t)step;
    }
    *n = k;
    return MYNN_OK;
}

int mynn_vocab_decode(const mynn_vocab *v, int id, char out[5])
{
    out[0] = '\0';
    if (!v || id < 0 || id >= v->n) return 0;
    if (v->bytes) {
        out[0] = (char)v->codes[id];
        out[1] = '\0';
        return 1;
    }
    return utf8_put(v->codes[id], out);
}

/* ---- in a model's metadata ---------------------------------------------- */

mynn_status mynn_set_vocab(mynn_net *net, const mynn_vocab *v)
{
    if (!net || !v) return mn_error(MYNN_ERR_NULL, "mynn_set_vocab: NULL argument");
    char *buf = malloc((size_t)v->n * 8 + 3);
    if (!buf) return mn_error(MYNN_ERR_NOMEM, "out of memory storing a vocabulary");
    size_t at = 0;
    buf[at++] = '[';
    for (int i = 0; i < v->n; i++) at += (size_t)sprintf(buf + at, i ? ",%u" : "%u", (unsigned)v->codes[i]);
    buf[at++] = ']';
    buf[at] = '\0';
    mynn_status s = mn_net_set_meta(net, "text_vocab", buf);
    free(buf);
    if (!s) s = mn_net_set_meta(net, "text_mode", v->bytes ? "bytes" : "utf8");
    return s;
}

mynn_status mynn_get_vocab(const mynn_net *net, mynn_vocab **out)
{
    if (!net || !out) return mn_error(MYNN_ERR_NULL, "mynn_get_vocab: NULL argument");
    *out = NULL;
    const char *mode = mynn_metadata(net, "text_mode"), *list = mynn_metadata(net, "text_vocab");
    if (!mode || !*mode || !list || !*list)
        return mn_error(MYNN_ERR_STATE, "the model has no text vocabulary (it was not trained with --text)");
    const int bytes = strcmp(mode, "bytes") == 0;
    if (!bytes && strcmp(mode, "utf8") != 0)
        return mn_error(MYNN_ERR_FORMAT, "metadata text_mode: \"%.16s\" is neither utf8 nor bytes", mode);
    mn_json *j = NULL;
    char err[128];
    if (mn_json_parse(list, strlen(list), &j, err, sizeof err))
        return mn_error(MYNN_ERR_FORMAT, "metadata text_vocab: %s", err);
    mynn_status s = MYNN_OK;
    mynn_vocab *v = calloc(1, sizeof *v);
    if (j->type != MN_JSON_ARRAY || j->n == 0 || j->n > (bytes ? 256u : (size_t)MAX_CODE + 1))
        s = mn_error(MYNN_ERR_FORMAT, "metadata text_vocab: not an array of 1 to %d code points", bytes ? 256 : MAX_CODE + 1);
    else if (!v || !(v->codes = malloc(j->n * sizeof *v->codes)))
        s = mn_error(MYNN_ERR_NOMEM, "out of memory reading a vocabulary");
    for (size_t i = 0; !s && i < j->n; i++) {
        const mn_json *e = &j->items[i];
        if (e->type != MN_JSON_INT || e->negative || e->u > (bytes ? 255u : MAX_CODE) ||
            (i && e->u <= v->codes[i - 1]))
            s = mn_error(MYNN_ERR_FORMAT, "metadata text_vocab: item %zu is not a code point above the one "
                         "before", i);
        else
            v->codes[i] = (uint32_t)e->u;
    }
    if (!s) {
        v->n = (int)j->n;
        v->bytes = bytes;
        *out = v;
    } else {
        mynn_vocab_free(v);
    }
    mn_json_free(j);
    return s;
}

/* ---- generating ------------------------------------------------------------ */

/* The id drawn from probabilities p [v] at temperature temp among the top k
 * (k <= 0: all); u uniform in [0, 1); keep [v] scratch.  softmax(z / T)
 * from softmax(z) is p^(1/T), renormalised. */
static int draw(const float *p, int v, float temp, int k, double u, double *keep)
{
    int best = 0;
    for (int i = 1; i < v; i++) best = p[i] > p[best] ? i : best;
    if (temp <= 0.0f) return best;
    double floor_p = -1.0;
    if (k > 0 && k < v) {   /* the k-th largest probability */
        for (int i = 0; i < v; i++) keep[i] = p[i];
        for (int r = 0; r < k; r++) {
            int m = 0;
            for (int i = 1; i < v; i++) m = keep[i] > keep[m] ? i : m;
            floor_p = keep[m];
            keep[m] = -1.0;
        }
    }
    double sum = 0.0;
    for (int i = 0; i < v; i++) {
        keep[i] = p[i] >= floor_p && p[i] > 0.0f ? exp(log((double)p[i]) / temp) : 0.0;
        sum += keep[i];
    }
    if (!(sum > 0.0)) return best;
    double at = u * sum;
    for (int i = 0; i < v; i++) {
        at -= keep[i];
        if (at < 0.0) return i;
    }
    return best;
}

mynn_status mynn_generate(const mynn_net *net, const char *prompt, int length, float temperature, int top_k,
                          uint64_t seed, mynn_emit_fn emit, void *user)
{
    if (!net || !emit) return mn_error(MYNN_ERR_NULL, "mynn_generate: NULL argument");
    if (length < 0 || !(temperature >= 0.0f) || top_k < 0)
        return mn_error(MYNN_ERR_ARG, "mynn_generate: length %d, temperature %g, top_k %d: each must be >= 0",
                        length, (double)temperature, top_k);
    mynn_vocab *v = NULL;
    mynn_status s = mynn_get_vocab(net, &v);
    if (s) return s;
    const int V = v->n;
    const size_t plen = prompt ? strlen(prompt) : 0;
    size_t n = 0;
    float *ids = malloc((plen ? plen : 1) * sizeof *ids), *probs = malloc((size_t)V * sizeof *probs);
    double *keep = malloc((size_t)V * sizeof *keep);
    mynn_net *st = NULL;
    if (!ids || !probs || !keep) s = mn_error(MYNN_ERR_NOMEM, "out of memory generating text");
    if (!s && mynn_n_outputs(net) % V)
        s = mn_error(MYNN_ERR_ARG, "the model's %d outputs are not steps of its vocabulary's %d",
                     mynn_n_outputs(net), V);
    if (!s) s = mynn_vocab_encode(v, prompt ? prompt : "", plen, ids, &n);
    if (!s && !n) ids[0] = 0.0f, n = 1;   /* no prompt: the first symbol */
    if (!s) s = mynn_stream_create(net, &st);
    for (size_t i = 0; !s && i < n; i++) s = mynn_stream_step(st, &ids[i], probs);
    mynn_rng rng;
    mynn_rng_seed(&rng, seed);
    for (int i = 0; !s && i < length; i++) {
        float id = (float)draw(probs, V, temperature, top_k, mynn_rng_uniform(&rng), keep);
        char ch[5];
        int k = mynn_vocab_decode(v, (int)id, ch);
        if (emit(ch, k, user)) break;
        if (i + 1 < length) s = mynn_stream_step(st, &id, probs);
    }
    mynn_free(st);
    free(ids);
    free(probs);
    free(keep);
    mynn_vocab_free(v);
    return s;
}

/* ---- reading ------------------------------------------------------------- */

static mynn_status append_file(const char *path, char **buf, size_t *len, size_t *cap)
{
    FILE *f = fopen(path, "rb");
    if (!f) return mn_error(MYNN_ERR_IO, "%s: %s", path, strerror(errno));
    char chunk[65536];
    size_t got;
    mynn_status s = MYNN_OK;
    while (!s && (got = fread(chunk, 1, sizeof chunk, f)) > 0) {
        if (*len + got + 1 > *cap) {
            size_t c = *cap ? *cap : 1 << 16;
            while (c < *len + got + 1) c *= 2;
            char *p = realloc(*buf, c);
            if (!p) {
                s = mn_error(MYNN_ERR_NOMEM, "%s: out of memory reading text", path);
                break;
            }
            *buf = p;
            *cap = c;
        }
        memcpy(*buf + *len, chunk, got);
        *len += got;
    }
    if (!s && ferror(f)) s = mn_error(MYNN_ERR_IO, "%s: read error", path);
    fclose(f);
    return s;
}

static int by_name(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* Every regular file of dir (not starting with '.'), sorted by name. */
static mynn_status append_folder(const char *dir, char **buf, size_t *len, size_t *cap)
{
    DIR *d = opendir(dir);
    if (!d) return mn_error(MYNN_ERR_IO, "%s: %s", dir, strerror(errno));
    char **names = NULL;
    size_t n = 0, ncap = 0;
    mynn_status s = MYNN_OK;
    for (struct dirent *e; !s && (e = readdir(d));) {
        if (e->d_name[0] == '.') continue;
        if (n == ncap) {
            ncap = ncap ? 2 * ncap : 64;
            char **p = realloc(names, ncap * sizeof *p);
            if (!p) s = mn_error(MYNN_ERR_NOMEM, "%s: out of memory listing files", dir);
            else names = p;
        }
        if (!s && !(names[n++] = strdup(e->d_name))) s = mn_error(MYNN_ERR_NOMEM, "out of memory");
    }
    closedir(d);
    if (!s) qsort(names, n, sizeof *names, by_name);
    char path[4096];
    size_t files = 0;
    for (size_t i = 0; !s && i < n; i++) {
        struct stat st;
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        if (stat(path, &st) || !S_ISREG(st.st_mode)) continue;
        s = append_file(path, buf, len, cap);
        files++;
    }
    for (size_t i = 0; i < n; i++) free(names[i]);
    free(names);
    if (!s && !files) s = mn_error(MYNN_ERR_IO, "%s: the folder holds no files", dir);
    return s;
}

mynn_status mynn_read_text(const char *path, char **text, size_t *len)
{
    if (!path || !text || !len) return mn_error(MYNN_ERR_NULL, "mynn_read_text: NULL argument");
    *text = NULL;
    *len = 0;
    struct stat st;
    if (stat(path, &st)) return mn_error(MYNN_ERR_IO, "%s: %s", path, strerror(errno));
    size_t cap = 0;
    mynn_status s = S_ISDIR(st.st_mode) ? append_folder(path, text, len, &cap) : append_file(path, text, len, &cap);
    if (!s && !*len) s = mn_error(MYNN_ERR_ARG, "%s: the text is empty", path);
    if (s) {
        free(*text);
        *text = NULL;
        *len = 0;
        return s;
    }
    (*text)[*len] = '\0';
    return MYNN_OK;
}

/* ---- windows ----------------------------------------------------------------- */

static mynn_status windows(const float *ids, size_t first, size_t count, int seq, mynn_dataset **out)
{
    mynn_dataset *ds = calloc(1, sizeof *ds);
    const size_t n = count * (size_t)seq;
    float *x = ds ? malloc(n * sizeof *x) : NULL, *y = x ? malloc(n * sizeof *y) : NULL;
    if (!y) {
        free(ds), free(x);
        return mn_error(MYNN_ERR_NOMEM, "out of memory cutting %zu windows of %d", count, seq);
    }
    for (size_t w = 0; w < count; w++) {
        const float *at = ids + (first + w) * (size_t)seq;
        memcpy(x + w * seq, at, (size_t)seq * sizeof *x);
        memcpy(y + w * seq, at + 1, (size_t)seq * sizeof *y);
    }
    ds->n = (int)count;
    ds->n_inputs = ds->n_outputs = seq;
    ds->x = x;
    ds->y = y;
    ds->owned = 1;
    *out = ds;
    return MYNN_OK;
}

mynn_status mynn_text_dataset(const float *ids, size_t n_ids, int seq, double val_frac, mynn_dataset **train,
                              mynn_dataset **val)
{
    if (!ids || !train) return mn_error(MYNN_ERR_NULL, "mynn_text_dataset: NULL argument");
    *train = NULL;
    if (val) *val = NULL;
    if (seq < 1 || seq > MYNN_MAX_TEXT_SEQ)
        return mn_error(MYNN_ERR_ARG, "--seq: %d is not a window length in 1..%d", seq, MYNN_MAX_TEXT_SEQ);
    if (!(val_frac >= 0.0 && val_frac < 1.0))
        return mn_error(MYNN_ERR_ARG, "the validation fraction must be in [0, 1), got %g", val_frac);
    /* Window w reads ids [w·seq, w·seq + seq] (its targets one further). */
    const size_t total = n_ids > 0 ? (n_ids - 1) / (size_t)seq : 0;
    if (total < 1)
        return mn_error(MYNN_ERR_ARG, "--seq %d is longer than the text: %zu characters give no window of %d "
                        "and its next character", seq, n_ids, seq);
    if (total > (size_t)1 << 30) return mn_error(MYNN_ERR_ARG, "the text gives more than 2^30 windows");
    size_t n_val = val && val_frac > 0.0 ? (size_t)(val_frac * (double)total + 0.5) : 0;
    if (val && val_frac > 0.0 && (n_val < 1 || n_val >= total))
        return mn_error(MYNN_ERR_ARG, "%zu windows of %d cannot be split %g held out (need one in each part)",
                        total, seq, val_frac);
    mynn_status s = windows(ids, 0, total - n_val, seq, train);
    if (!s && n_val) s = windows(ids, total - n_val, n_val, seq, val);
    if (s) {
        mynn_dataset_free(*train);
        *train = NULL;
    }
    return s;
}
