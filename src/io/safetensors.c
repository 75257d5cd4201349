/* Model files in the safetensors format:
 *
 *   u64 little-endian N | N bytes of JSON header | raw little-endian data
 *
 * The header maps tensor names to {"dtype", "shape", "data_offsets"} (offsets
 * relative to the start of the data) and holds string pairs in
 * "__metadata__".  A mynn model stores
 *   layers.<i>.weight [n_out, n_in], layers.<i>.bias [n_out]   (F32, dense i)
 *   input.shift [n_inputs], input.scale [n_inputs]             (with a transform)
 * and the metadata format=mynn, format_version=1, n_inputs, layers (the
 * mynn_add_layers spec), loss, normalize, plus the net's own metadata.
 *
 * Loading trusts nothing: the architecture comes from the metadata, every
 * tensor must have exactly the shape it implies, lie inside the data, not
 * overlap another, and hold finite values; together the tensors must cover
 * the data exactly. */
#include "safetensors.h"
#include "atomic_file.h"
#include "core/core.h"
#include "json.h"
#include "network/network.h"
#include "numparse.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#define ST_MAX_FILE (((uint64_t)1 << 30) + ((uint64_t)128 << 20)) /* 1 GiB of weights + header */
#define ST_MAX_HEADER ((uint64_t)100 * 1000 * 1000)  /* 100 MB */
#define ST_SPEC_MAX 4096                            /* mynn_add_layers' limit */
#define ST_FORMAT_VERSION "1"

/* ------------------------------------------------------------------------ */
/* The tensors a network has, in file order                                  */
/* ------------------------------------------------------------------------ */

typedef struct tensor {
    char name[40];
    int rank;
    uint64_t dims[2];
    size_t count;
    int where;          /* 0: params (at param_off), 1: input shift, 2: input scale */
    size_t param_off;
    uint64_t begin, end;
    int seen;
} tensor;

/* Lists net's tensors (dense layers, then the input transform if with_input)
 * with file offsets laid out contiguously; *total receives the data bytes. */
static mynn_status plan(const mynn_net *net, int with_input, tensor **out, size_t *n,
                        uint64_t *total)
{
    size_t cap = 2 * (size_t)net->n_layers + 2, k = 0, off = 0;
    tensor *t = calloc(cap, sizeof *t);
    if (!t) return mn_error(MYNN_ERR_NOMEM, "out of memory listing tensors");
    uint64_t pos = 0;
    for (int i = 0; i < net->n_layers; i++) {
        const mn_layer *l = &net->layers[i];
        size_t np = l->ops->n_params(l);
        if (l->ops->kind == MYNN_LAYER_DENSE) {
            tensor *w = &t[k++], *b = &t[k++];
            snprintf(w->name, sizeof w->name, "layers.%d.weight", i);
            w->rank = 2;
            w->dims[0] = (uint64_t)l->n_out;
            w->dims[1] = (uint64_t)l->n_in;
            w->count = (size_t)l->n_out * (size_t)l->n_in;
            w->param_off = off;
            snprintf(b->name, sizeof b->name, "layers.%d.bias", i);
            b->rank = 1;
            b->dims[0] = (uint64_t)l->n_out;
            b->count = (size_t)l->n_out;
            b->param_off = off + w->count;
        }
        off += np;
    }
    if (with_input) {
        for (int j = 0; j < 2; j++) {
            tensor *s = &t[k++];
            snprintf(s->name, sizeof s->name, j == 0 ? "input.shift" : "input.scale");
            s->rank = 1;
            s->dims[0] = (uint64_t)net->n_inputs;
            s->count = (size_t)net->n_inputs;
            s->where = j + 1;
        }
    }
    for (size_t i = 0; i < k; i++) {
        t[i].begin = pos;
        pos += 4 * (uint64_t)t[i].count;
        t[i].end = pos;
    }
    *out = t;
    *n = k;
    *total = pos;
    return MYNN_OK;
}

/* ------------------------------------------------------------------------ */
/* Saving                                                                    */
/* ------------------------------------------------------------------------ */

typedef struct sbuf {
    char *p;
    size_t n, cap;
    int oom;
} sbuf;

static void sb_add(sbuf *b, const char *s, size_t n)
{
    if (b->oom) return;
    if (b->n + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 1024;
        while (cap < b->n + n + 1) cap *= 2;
        char *p = realloc(b->p, cap);
        if (!p) {
            b->oom = 1;
            return;
        }
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->n, s, n);
    b->n += n;
    b->p[b->n] = '\0';
}

static void sb_str(sbuf *b, const char *s) { sb_add(b, s, strlen(s)); }

static void sb_u64(sbuf *b, uint64_t v)
{
    char tmp[24];
    snprintf(tmp, sizeof tmp, "%" PRIu64, v);
    sb_str(b, tmp);
}

/* A JSON string literal; s must be valid UTF-8 (checked by the caller). */
static void sb_json(sbuf *b, const char *s)
{
    sb_add(b, "\"", 1);
    for (const char *p = s; *p; p++) {
        unsigned char c = (unsigned char)*p;
        if (c == '"') sb_add(b, "\\\"", 2);
        else if (c == '\\') sb_add(b, "\\\\", 2);
        else if (c == '\n') sb_add(b, "\\n", 2);
        else if (c == '\t') sb_add(b, "\\t", 2);
        else if (c == '\r') sb_add(b, "\\r", 2);
        else if (c < 0x20) {
            char e[8];
            snprintf(e, sizeof e, "\\u%04x", c);
            sb_add(b, e, 6);
        } else
            sb_add(b, p, 1);
    }
    sb_add(b, "\"", 1);
}

static const char *const g_reserved[] = {"format", "format_version", "n_inputs",
                                         "layers", "loss", "normalize"};

static int reserved(const char *key)
{
    for (size_t i = 0; i < sizeof g_reserved / sizeof *g_reserved; i++)
        if (strcmp(key, g_reserved[i]) == 0) return 1;
    return 0;
}

/* The mynn_add_layers description of net's layers. */
static void layer_spec(const mynn_net *net, sbuf *b)
{
    for (int i = 0; i < net->n_layers; i++) {
        const mn_layer *l = &net->layers[i];
        char tmp[64];
        if (i) sb_add(b, ",", 1);
        if (l->ops->kind == MYNN_LAYER_DROPOUT) {
            char num[MN_NUM_BUFSZ];
            mn_format_float(num, sizeof num, l->rate);
            snprintf(tmp, sizeof tmp, "dropout:%s", num);
        } else
            snprintf(tmp, sizeof tmp, "%d:%s", l->n_out, mynn_activation_name(l->act));
        sb_str(b, tmp);
    }
}

static void sb_meta(sbuf *b, const char *key, const char *value)
{
    sb_add(b, ",", 1);
    sb_json(b, key);
    sb_add(b, ":", 1);
    sb_json(b, value);
}

static void put_le32(unsigned char *o, float v)
{
    uint32_t u;
    memcpy(&u, &v, 4);
    o[0] = (unsigned char)u;
    o[1] = (unsigned char)(u >> 8);
    o[2] = (unsigned char)(u >> 16);
    o[3] = (unsigned char)(u >> 24);
}

static const float *tensor_src(const mynn_net *net, const tensor *t)
{
    return t->where == 0 ? net->params + t->param_off : t->where == 1 ? net->shift : net->scale;
}

mynn_status mynn_save(const mynn_net *net, const char *path)
{
    if (!net || !path) return mn_error(MYNN_ERR_NULL, "mynn_save: NULL argument");
    if (!net->max_batch) return mn_error(MYNN_ERR_STATE, "mynn_save: the network is not built");
    size_t at;
    if (mn_find_nonfinite(net->params, net->n_params, &at))
        return mn_error(MYNN_ERR_NUMERIC, "mynn_save: parameter %zu is not finite; not saving '%s'",
                        at, path);
    for (int i = 0; i < net->n_meta; i++)
        if (!mn_json_utf8_valid(net->meta_key[i], strlen(net->meta_key[i])) ||
            !mn_json_utf8_valid(net->meta_val[i], strlen(net->meta_val[i])))
            return mn_error(MYNN_ERR_ARG, "mynn_save: metadata entry %d is not valid UTF-8", i);

    tensor *t = NULL;
    size_t nt = 0;
    uint64_t total;
    int with_input = net->shift && net->scale;
    mynn_status s = plan(net, with_input, &t, &nt, &total);
    if (s) return s;

    sbuf spec = {0}, h = {0};
    layer_spec(net, &spec);
    if (!spec.oom && spec.n >= ST_SPEC_MAX) {
        free(spec.p);
        free(t);
        return mn_error(MYNN_ERR_ARG, "mynn_save: the layer list is longer than %d characters",
                        ST_SPEC_MAX - 1);
    }
    char num[24];
    snprintf(num, sizeof num, "%d", net->n_inputs);
    sb_str(&h, "{\"__metadata__\":{\"format\":\"mynn\"");
    sb_meta(&h, "format_version", ST_FORMAT_VERSION);
    sb_meta(&h, "n_inputs", num);
    sb_meta(&h, "layers", spec.p ? spec.p : "");
    sb_meta(&h, "loss", mynn_loss_name(net->loss));
    sb_meta(&h, "normalize", with_input ? (net->transform_kind[0] ? net->transform_kind : "custom")
                                        : "none");
    for (int i = 0; i < net->n_meta; i++)
        if (!reserved(net->meta_key[i])) sb_meta(&h, net->meta_key[i], net->meta_val[i]);
    sb_add(&h, "}", 1);
    for (size_t i = 0; i < nt; i++) {
        sb_add(&h, ",", 1);
        sb_json(&h, t[i].name);
        sb_str(&h, ":{\"dtype\":\"F32\",\"shape\":[");
        for (int d = 0; d < t[i].rank; d++) {
            if (d) sb_add(&h, ",", 1);
            sb_u64(&h, t[i].dims[d]);
        }
        sb_str(&h, "],\"data_offsets\":[");
        sb_u64(&h, t[i].begin);
        sb_add(&h, ",", 1);
        sb_u64(&h, t[i].end);
        sb_str(&h, "]}");
    }
    sb_add(&h, "}", 1);
    while (!h.oom && h.n % 8 != 0) sb_add(&h, " ", 1);   /* data starts 8-aligned */
    free(spec.p);
    if (h.oom || spec.oom) {
        free(h.p);
        free(t);
        return mn_error(MYNN_ERR_NOMEM, "mynn_save: out of memory building the header");
    }

    unsigned char len8[8];
    for (int i = 0; i < 8; i++) len8[i] = (unsigned char)((uint64_t)h.n >> (8 * i));
    mn_atomic a;
    s = mn_atomic_open(&a, path);
    if (!s) s = mn_atomic_write(&a, len8, 8);
    if (!s) s = mn_atomic_write(&a, h.p, h.n);
    unsigned char chunk[4096];
    for (size_t i = 0; i < nt && !s; i++) {
        const float *src = tensor_src(net, &t[i]);
        for (size_t j = 0; j < t[i].count && !s;) {
            size_t m = t[i].count - j < sizeof chunk / 4 ? t[i].count - j : sizeof chunk / 4;
            for (size_t q = 0; q < m; q++) put_le32(chunk + 4 * q, src[j + q]);
            s = mn_atomic_write(&a, chunk, 4 * m);
            j += m;
        }
    }
    free(h.p);
    free(t);
    if (s) {
        mn_atomic_abort(&a);
        return s;
    }
    return mn_atomic_commit(&a);
}

/* ------------------------------------------------------------------------ */
/* Loading                                                                   */
/* ------------------------------------------------------------------------ */

typedef struct loader {
    const char *path;
    FILE *f;
    uint64_t header_len, data_len;
    char *header;
    mn_json *root;
    const mn_json *meta;
    mynn_net *net;
    tensor *t;
    size_t nt;
    float *shift, *scale;
    uint64_t max_file;      /* 0: ST_MAX_FILE */
} loader;

#define LFAIL(...) mn_error(MYNN_ERR_FORMAT, __VA_ARGS__)

static mynn_status read_exact(loader *L, void *dst, size_t n, const char *what)
{
    if (n && fread(dst, 1, n, L->f) != n) {
        if (ferror(L->f))
            return mn_error(MYNN_ERR_IO, "%s: cannot read %s: %s", L->path, what, strerror(errno));
        return LFAIL("%s: file ends inside %s (truncated?)", L->path, what);
    }
    return MYNN_OK;
}

static mynn_status open_and_parse(loader *L)
{
    /* O_NONBLOCK: opening a FIFO must not wait for a writer; it is refused below. */
    int fd = open(L->path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) return mn_error(MYNN_ERR_IO, "cannot open '%s': %s", L->path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int err = errno;
        close(fd);
        return mn_error(MYNN_ERR_IO, "cannot stat '%s': %s", L->path, strerror(err));
    }
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        return mn_error(MYNN_ERR_IO, "'%s' is not a regular file", L->path);
    }
    int fl = fcntl(fd, F_GETFL);
    if (fl != -1) fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
    L->f = fdopen(fd, "rb");
    if (!L->f) {
        int err = errno;
        close(fd);
        return mn_error(MYNN_ERR_IO, "cannot open '%s': %s", L->path, strerror(err));
    }
    uint64_t size = (uint64_t)st.st_size, max_file = L->max_file ? L->max_file : ST_MAX_FILE;
    if (size > max_file)
        return LFAIL("%s: file of %" PRIu64 " bytes exceeds the limit of %" PRIu64 " bytes", L->path, size, max_file);
    if (size < 8)
        return LFAIL("%s: not a safetensors file (%" PRIu64 " bytes, shorter than the 8-byte "
                     "header length)", L->path, size);
    unsigned char len8[8];
    mynn_status s = read_exact(L, len8, 8, "the header length");
    if (s) return s;
    uint64_t n = 0;
    for (int i = 7; i >= 0; i--) n = (n << 8) | len8[i];
    if (n > ST_MAX_HEADER)
        return LFAIL("%s: header length %" PRIu64 " exceeds the limit of %" PRIu64 " bytes",
                     L->path, n, ST_MAX_HEADER);
    if (n > size - 8)
        return LFAIL("%s: header length %" PRIu64 " exceeds the file size (%" PRIu64 " bytes)",
                     L->path, n, size);
    L->header_len = n;
    L->data_len = size - 8 - n;
    L->header = malloc(n ? (size_t)n : 1);
    if (!L->header) return mn_error(MYNN_ERR_NOMEM, "%s: out of memory reading the header", L->path);
    s = read_exact(L, L->header, (size_t)n, "the header");
    if (s) return s;
    char err[200];
    s = mn_json_parse(L->header, (size_t)n, &L->root, err, sizeof err);
    if (s == MYNN_ERR_NOMEM) return mn_error(s, "%s: out of memory parsing the header", L->path);
    if (s) return LFAIL("%s: header is not valid JSON: %s", L->path, err);
    if (L->root->type != MN_JSON_OBJECT)
        return LFAIL("%s: header is a JSON %s, not an object", L->path,
                     mn_json_type_name(L->root->type));
    return MYNN_OK;
}

static const char *meta_str(const loader *L, const char *key)
{
    const mn_json *v = mn_json_get(L->meta, key);
    return v ? v->s : NULL;   /* every value was checked to be a string */
}

/* Architecture, loss and metadata from __metadata__; creates L->net. */
static mynn_status read_metadata(loader *L)
{
    L->meta = mn_json_get(L->root, "__metadata__");
    if (L->meta && L->meta->type != MN_JSON_OBJECT)
        return LFAIL("%s: __metadata__ is a JSON %s, not an object", L->path,
                     mn_json_type_name(L->meta->type));
    for (size_t i = 0; L->meta && i < L->meta->n; i++)
        if (L->meta->items[i].type != MN_JSON_STRING)
            return LFAIL("%s: __metadata__ entry \"%.64s\" is a JSON %s, not a string", L->path,
                         L->meta->keys[i], mn_json_type_name(L->meta->items[i].type));
    const char *fmt = L->meta ? meta_str(L, "format") : NULL;
    if (!fmt || strcmp(fmt, "mynn") != 0)
        return LFAIL("%s: not a mynn model: no format=mynn metadata", L->path);
    const char *ver = meta_str(L, "format_version");
    if (!ver) return LFAIL("%s: metadata has no format_version", L->path);
    if (strcmp(ver, ST_FORMAT_VERSION) != 0)
        return LFAIL("%s: unsupported format_version \"%.32s\" (this build reads %s)", L->path,
                     ver, ST_FORMAT_VERSION);

    const char *ni = meta_str(L, "n_inputs");
    if (!ni) return LFAIL("%s: metadata has no n_inputs", L->path);
    long n_inputs = 0;
    size_t len = strlen(ni);
    int ok = len >= 1 && len <= 8 && ni[0] != '0';
    for (size_t i = 0; ok && i < len; i++) {
        if (ni[i] < '0' || ni[i] > '9') ok = 0;
        else n_inputs = n_inputs * 10 + (ni[i] - '0');
    }
    if (!ok || n_inputs < 1 || n_inputs > (1L << 24))
        return LFAIL("%s: metadata n_inputs \"%.32s\" is not a count in 1..%d", L->path, ni,
                     1 << 24);

    const char *layers = meta_str(L, "layers");
    if (!layers) return LFAIL("%s: metadata has no layers", L->path);
    mynn_status s = mynn_create(&L->net, (int)n_inputs);
    if (s) return s;
    char msg[300];
    s = mynn_add_layers(L->net, layers);
    if (s) {
        snprintf(msg, sizeof msg, "%s", mynn_last_error());
        if (s == MYNN_ERR_NOMEM) return mn_error(s, "%s: %s", L->path, msg);
        return LFAIL("%s: metadata layers \"%.80s\": %s", L->path, layers, msg);
    }
    const mn_layer *last = &L->net->layers[L->net->n_layers - 1];
    if (last->ops->kind != MYNN_LAYER_DENSE)
        return LFAIL("%s: metadata layers \"%.80s\": the last layer must be dense", L->path, layers);

    const char *loss_name = meta_str(L, "loss");
    if (!loss_name) return LFAIL("%s: metadata has no loss", L->path);
    mynn_loss loss;
    if (mynn_loss_from_name(loss_name, &loss) != MYNN_OK)
        return LFAIL("%s: metadata loss \"%.32s\" is unknown (mse, bce, ce)", L->path, loss_name);
    s = mynn_set_loss(L->net, loss);
    if (s) {
        snprintf(msg, sizeof msg, "%s", mynn_last_error());
        return LFAIL("%s: metadata loss \"%.32s\": %s", L->path, loss_name, msg);
    }

    const char *norm = meta_str(L, "normalize");
    if (norm && strlen(norm) >= sizeof L->net->transform_kind)
        return LFAIL("%s: metadata normalize \"%.32s\" is longer than %zu characters", L->path,
                     norm, sizeof L->net->transform_kind - 1);
    if (norm && !*norm) return LFAIL("%s: metadata normalize is empty", L->path);

    for (size_t i = 0; i < L->meta->n; i++) {
        s = mn_net_set_meta(L->net, L->meta->keys[i], L->meta->items[i].s);
        if (s) {
            snprintf(msg, sizeof msg, "%s", mynn_last_error());
            return mn_error(s == MYNN_ERR_NOMEM ? s : MYNN_ERR_FORMAT, "%s: metadata: %s", L->path,
                            msg);
        }
    }
    return MYNN_OK;
}

static void shape_text(char *buf, size_t n, const uint64_t *dims, int rank)
{
    size_t k = (size_t)snprintf(buf, n, "[");
    for (int d = 0; d < rank && k < n; d++)
        k += (size_t)snprintf(buf + k, n - k, "%s%" PRIu64, d ? ", " : "", dims[d]);
    if (k < n) snprintf(buf + k, n - k, "]");
}

/* Reads a JSON array of non-negative integers (at most max of them). */
static mynn_status uint_array(const loader *L, const char *tname, const char *field,
                              const mn_json *v, uint64_t *out, size_t max, size_t *count)
{
    if (!v) return LFAIL("%s: tensor \"%s\" has no %s", L->path, tname, field);
    if (v->type != MN_JSON_ARRAY)
        return LFAIL("%s: tensor \"%s\": %s is a JSON %s, not an array", L->path, tname, field,
                     mn_json_type_name(v->type));
    for (size_t i = 0; i < v->n; i++) {
        const mn_json *e = &v->items[i];
        if (e->type != MN_JSON_INT || (e->negative && e->u != 0))
            return LFAIL("%s: tensor \"%s\": %s element %zu is not a non-negative integer",
                         L->path, tname, field, i);
        if (i < max) out[i] = e->u;
    }
    *count = v->n;
    return MYNN_OK;
}

static int cmp_begin(const void *a, const void *b)
{
    const tensor *x = *(const tensor *const *)a, *y = *(const tensor *const *)b;
    return x->begin < y->begin ? -1 : x->begin > y->begin;
}

static mynn_status check_tensors(loader *L)
{
    const char *norm = meta_str(L, "normalize");
    int with_input = norm && strcmp(norm, "none") != 0;
    uint64_t total;
    mynn_status s = plan(L->net, with_input, &L->t, &L->nt, &total);
    if (s) return s;
    /* Positions from plan() are what a writer would use; the file's own are read below. */
    for (size_t i = 0; i < L->nt; i++) L->t[i].begin = L->t[i].end = 0;

    for (size_t i = 0; i < L->root->n; i++) {
        const char *name = L->root->keys[i];
        if (strcmp(name, "__metadata__") == 0) continue;
        tensor *t = NULL;
        for (size_t j = 0; j < L->nt && !t; j++)
            if (strcmp(L->t[j].name, name) == 0) t = &L->t[j];
        if (!t)
            return LFAIL("%s: unexpected tensor \"%.64s\" (not in the architecture \"%.80s\"%s)",
                         L->path, name, meta_str(L, "layers"),
                         with_input ? "" : ", normalize=none");
        const mn_json *v = &L->root->items[i];
        if (v->type != MN_JSON_OBJECT)
            return LFAIL("%s: tensor \"%s\" is a JSON %s, not an object", L->path, name,
                         mn_json_type_name(v->type));
        for (size_t k = 0; k < v->n; k++)
            if (strcmp(v->keys[k], "dtype") && strcmp(v->keys[k], "shape") &&
                strcmp(v->keys[k], "data_offsets"))
                return LFAIL("%s: tensor \"%s\": unknown field \"%.32s\"", L->path, name,
                             v->keys[k]);
        const mn_json *dt = mn_json_get(v, "dtype");
        if (!dt) return LFAIL("%s: tensor \"%s\" has no dtype", L->path, name);
        if (dt->type != MN_JSON_STRING || strcmp(dt->s, "F32") != 0)
            return LFAIL("%s: tensor \"%s\": dtype %.16s%s%s, expected F32", L->path, name,
                         dt->type == MN_JSON_STRING ? "\"" : "",
                         dt->type == MN_JSON_STRING ? dt->s : mn_json_type_name(dt->type),
                         dt->type == MN_JSON_STRING ? "\"" : "");
        uint64_t dims[4];
        size_t rank;
        s = uint_array(L, name, "shape", mn_json_get(v, "shape"), dims, 4, &rank);
        if (s) return s;
        int match = rank == (size_t)t->rank;
        for (int d = 0; match && d < t->rank; d++) match = dims[d] == t->dims[d];
        if (!match) {
            char got[96], want[64];
            if (rank <= 4) shape_text(got, sizeof got, dims, (int)rank);
            else snprintf(got, sizeof got, "of rank %zu", rank);
            shape_text(want, sizeof want, t->dims, t->rank);
            return LFAIL("%s: tensor \"%s\": shape %s does not match the architecture's %s",
                         L->path, name, got, want);
        }
        uint64_t off[2];
        size_t noff;
        s = uint_array(L, name, "data_offsets", mn_json_get(v, "data_offsets"), off, 2, &noff);
        if (s) return s;
        if (noff != 2)
            return LFAIL("%s: tensor \"%s\": data_offsets must be [begin, end], has %zu elements",
                         L->path, name, noff);
        if (off[0] > off[1] || off[1] > L->data_len)
            return LFAIL("%s: tensor \"%s\": data_offsets [%" PRIu64 ", %" PRIu64 "] not within "
                         "the %" PRIu64 "-byte data", L->path, name, off[0], off[1], L->data_len);
        if (off[1] - off[0] != 4 * (uint64_t)t->count)
            return LFAIL("%s: tensor \"%s\": data_offsets span %" PRIu64 " bytes, its shape "
                         "needs %" PRIu64, L->path, name, off[1] - off[0], 4 * (uint64_t)t->count);
        t->begin = off[0];
        t->end = off[1];
        t->seen = 1;
    }
    for (size_t j = 0; j < L->nt; j++)
        if (!L->t[j].seen) return LFAIL("%s: missing tensor \"%s\"", L->path, L->t[j].name);

    tensor **order = malloc((L->nt ? L->nt : 1) * sizeof *order);
    if (!order) return mn_error(MYNN_ERR_NOMEM, "%s: out of memory", L->path);
    for (size_t j = 0; j < L->nt; j++) order[j] = &L->t[j];
    qsort(order, L->nt, sizeof *order, cmp_begin);
    for (size_t j = 1; j < L->nt; j++)
        if (order[j]->begin < order[j - 1]->end) {
            s = LFAIL("%s: tensors \"%s\" and \"%s\" overlap in the data", L->path,
                      order[j - 1]->name, order[j]->name);
            free(order);
            return s;
        }
    free(order);
    /* Inside the data and disjoint: they cover it exactly iff the sizes add up. */
    if (total != L->data_len)
        return LFAIL("%s: %" PRIu64 " bytes of data are not covered by any tensor", L->path,
                     L->data_len - total);
    return MYNN_OK;
}

static mynn_status read_data(loader *L)
{
    for (size_t i = 0; i < L->nt; i++) {
        tensor *t = &L->t[i];
        float *dst = t->where == 0 ? L->net->params + t->param_off : t->where == 1 ? L->shift
                                                                                  : L->scale;
        if (fseeko(L->f, (off_t)(8 + L->header_len + t->begin), SEEK_SET) != 0)
            return mn_error(MYNN_ERR_IO, "%s: cannot seek: %s", L->path, strerror(errno));
        char what[64];
        snprintf(what, sizeof what, "tensor \"%s\"", t->name);
        mynn_status s = read_exact(L, dst, 4 * t->count, what);
        if (s) return s;
        unsigned char *b = (unsigned char *)dst;
        for (size_t k = 0; k < t->count; k++) {
            const unsigned char *q = b + 4 * k;
            uint32_t u = (uint32_t)q[0] | (uint32_t)q[1] << 8 | (uint32_t)q[2] << 16 |
                         (uint32_t)q[3] << 24;
            float v;
            memcpy(&v, &u, 4);
            if (!isfinite(v))
                return LFAIL("%s: tensor \"%s\": value %zu is %s", L->path, t->name, k,
                             isnan(v) ? "NaN" : "infinite");
            dst[k] = v;
        }
    }
    return MYNN_OK;
}

mynn_status mynn_load(mynn_net **out, const char *path, int max_batch)
{
    if (!out) return mn_error(MYNN_ERR_NULL, "mynn_load: out is NULL");
    *out = NULL;
    if (!path) return mn_error(MYNN_ERR_NULL, "mynn_load: path is NULL");
    if (max_batch < 1 || max_batch > (1 << 24))
        return mn_error(MYNN_ERR_ARG, "mynn_load: max_batch must be in 1..%d, got %d", 1 << 24,
                        max_batch);
    loader L = {0};
    L.path = path;
    mynn_status s = open_and_parse(&L);
    if (!s) s = read_metadata(&L);
    if (!s) s = check_tensors(&L);
    if (!s) {
        s = mynn_build(L.net, max_batch, MYNN_INIT_AUTO, 0);
        if (s) {
            char msg[300];
            snprintf(msg, sizeof msg, "%s", mynn_last_error());
            s = mn_error(s == MYNN_ERR_NOMEM ? s : MYNN_ERR_FORMAT, "%s: %s", path, msg);
        }
    }
    const char *norm = L.meta ? meta_str(&L, "normalize") : NULL;
    int with_input = norm && strcmp(norm, "none") != 0;
    if (!s && with_input) {
        L.shift = mn_calloc((size_t)L.net->n_inputs, sizeof(float), "input transform");
        L.scale = mn_calloc((size_t)L.net->n_inputs, sizeof(float), "input transform");
        if (!L.shift || !L.scale) s = MYNN_ERR_NOMEM;
    }
    if (!s) s = read_data(&L);
    if (!s && with_input) s = mynn_set_input_transform(L.net, norm, L.shift, L.scale);
    if (L.f) fclose(L.f);
    free(L.header);
    mn_json_free(L.root);
    free(L.t);
    free(L.shift);
    free(L.scale);
    if (s) {
        mynn_free(L.net);
        return s;
    }
    *out = L.net;
    return MYNN_OK;
}

/* ------------------------------------------------------------------------ */
/* Generic named tensors (checkpoints): see safetensors.h                    */
/* ------------------------------------------------------------------------ */

static const char *const g_dtype_names[] = {"F32", "I32", "U64"};
static const unsigned g_dtype_size[] = {4, 4, 8};

char *mn_st_layer_spec(const mynn_net *net)
{
    sbuf b = {0};
    layer_spec(net, &b);
    if (b.oom) {
        free(b.p);
        return NULL;
    }
    if (!b.p) {
        b.p = malloc(1);
        if (b.p) b.p[0] = '\0';
    }
    return b.p;
}

/* Element count of a shape; -1 on overflow or beyond MN_MAX_ELEMS. */
static int st_count(int rank, const uint64_t *dims, uint64_t *count)
{
    uint64_t c = 1;
    for (int d = 0; d < rank; d++) {
        if (dims[d] && c > (uint64_t)MN_MAX_ELEMS / dims[d]) return -1;
        c *= dims[d];
    }
    if (c > (uint64_t)MN_MAX_ELEMS) return -1;
    *count = c;
    return 0;
}

/* Store element i of a host-order array of dtype at o, little-endian. */
static void put_le(unsigned char *o, const void *src, size_t i, unsigned size)
{
    uint64_t u;
    if (size == 8) {
        memcpy(&u, (const unsigned char *)src + 8 * i, 8);
    } else {
        uint32_t w;
        memcpy(&w, (const unsigned char *)src + 4 * i, 4);
        u = w;
    }
    for (unsigned k = 0; k < size; k++) o[k] = (unsigned char)(u >> (8 * k));
}

mynn_status mn_st_write(const char *path, const char *const *meta, size_t n_meta,
                        const mn_st_tensor *t, size_t nt)
{
    if (!path || (n_meta && !meta) || (nt && !t))
        return mn_error(MYNN_ERR_NULL, "mn_st_write: NULL argument");
    sbuf h = {0};
    sb_str(&h, "{\"__metadata__\":{");
    for (size_t i = 0; i < n_meta; i++) {
        const char *k = meta[2 * i], *v = meta[2 * i + 1];
        if (!k || !v || !mn_json_utf8_valid(k, strlen(k)) || !mn_json_utf8_valid(v, strlen(v))) {
            free(h.p);
            return mn_error(MYNN_ERR_ARG, "%s: metadata entry %zu is missing or not valid UTF-8",
                            path, i);
        }
        if (i) sb_add(&h, ",", 1);
        sb_json(&h, k);
        sb_add(&h, ":", 1);
        sb_json(&h, v);
    }
    sb_add(&h, "}", 1);
    uint64_t pos = 0;
    for (size_t i = 0; i < nt; i++) {
        uint64_t count;
        if ((unsigned)t[i].dtype > MN_ST_U64 || t[i].rank < 0 || t[i].rank > MN_ST_MAX_RANK ||
            !t[i].name || !mn_json_utf8_valid(t[i].name, strlen(t[i].name)) ||
            strcmp(t[i].name, "__metadata__") == 0 || st_count(t[i].rank, t[i].dims, &count) ||
            (count && !t[i].data)) {
            free(h.p);
            return mn_error(MYNN_ERR_ARG, "%s: tensor %zu (\"%.64s\") has a bad name, dtype or shape",
                            path, i, t[i].name ? t[i].name : "");
        }
        sb_add(&h, ",", 1);
        sb_json(&h, t[i].name);
        sb_str(&h, ":{\"dtype\":\"");
        sb_str(&h, g_dtype_names[t[i].dtype]);
        sb_str(&h, "\",\"shape\":[");
        for (int d = 0; d < t[i].rank; d++) {
            if (d) sb_add(&h, ",", 1);
            sb_u64(&h, t[i].dims[d]);
        }
        sb_str(&h, "],\"data_offsets\":[");
        sb_u64(&h, pos);
        sb_add(&h, ",", 1);
        pos += count * g_dtype_size[t[i].dtype];
        sb_u64(&h, pos);
        sb_str(&h, "]}");
    }
    sb_add(&h, "}", 1);
    while (!h.oom && h.n % 8 != 0) sb_add(&h, " ", 1);
    if (h.oom) {
        free(h.p);
        return mn_error(MYNN_ERR_NOMEM, "%s: out of memory building the header", path);
    }

    unsigned char len8[8];
    for (int i = 0; i < 8; i++) len8[i] = (unsigned char)((uint64_t)h.n >> (8 * i));
    mn_atomic a;
    mynn_status s = mn_atomic_open(&a, path);
    if (!s) s = mn_atomic_write(&a, len8, 8);
    if (!s) s = mn_atomic_write(&a, h.p, h.n);
    free(h.p);
    unsigned char chunk[4096];
    for (size_t i = 0; i < nt && !s; i++) {
        unsigned size = g_dtype_size[t[i].dtype];
        uint64_t count = 0;
        st_count(t[i].rank, t[i].dims, &count);
        for (size_t j = 0; j < count && !s;) {
            size_t m = count - j < sizeof chunk / size ? (size_t)(count - j) : sizeof chunk / size;
            for (size_t q = 0; q < m; q++) put_le(chunk + size * q, t[i].data, j + q, size);
            s = mn_atomic_write(&a, chunk, size * m);
            j += m;
        }
    }
    if (s) {
        mn_atomic_abort(&a);
        return s;
    }
    return mn_atomic_commit(&a);
}

typedef struct st_entry {
    const char *name;          /* the header's key (owned by the parsed JSON) */
    mn_st_dtype dtype;
    int rank;
    uint64_t dims[MN_ST_MAX_RANK];
    uint64_t begin, end;
    int read;
} st_entry;

struct mn_st_file {
    loader L;
    st_entry *e;
    size_t n;
};

void mn_st_close(mn_st_file *f)
{
    if (!f) return;
    if (f->L.f) fclose(f->L.f);
    free(f->L.header);
    mn_json_free(f->L.root);
    free(f->e);
    free(f);
}

static int cmp_entry(const void *a, const void *b)
{
    const st_entry *x = *(const st_entry *const *)a, *y = *(const st_entry *const *)b;
    return x->begin < y->begin ? -1 : x->begin > y->begin;
}

static mynn_status st_check(mn_st_file *f)
{
    loader *L = &f->L;
    L->meta = mn_json_get(L->root, "__metadata__");
    if (L->meta && L->meta->type != MN_JSON_OBJECT)
        return LFAIL("%s: __metadata__ is a JSON %s, not an object", L->path,
                     mn_json_type_name(L->meta->type));
    for (size_t i = 0; L->meta && i < L->meta->n; i++)
        if (L->meta->items[i].type != MN_JSON_STRING)
            return LFAIL("%s: __metadata__ entry \"%.64s\" is a JSON %s, not a string", L->path,
                         L->meta->keys[i], mn_json_type_name(L->meta->items[i].type));
    f->e = calloc(L->root->n ? L->root->n : 1, sizeof *f->e);
    if (!f->e) return mn_error(MYNN_ERR_NOMEM, "%s: out of memory", L->path);
    uint64_t total = 0;
    for (size_t i = 0; i < L->root->n; i++) {
        const char *name = L->root->keys[i];
        if (strcmp(name, "__metadata__") == 0) continue;
        const mn_json *v = &L->root->items[i];
        if (v->type != MN_JSON_OBJECT)
            return LFAIL("%s: tensor \"%.64s\" is a JSON %s, not an object", L->path, name,
                         mn_json_type_name(v->type));
        for (size_t k = 0; k < v->n; k++)
            if (strcmp(v->keys[k], "dtype") && strcmp(v->keys[k], "shape") &&
                strcmp(v->keys[k], "data_offsets"))
                return LFAIL("%s: tensor \"%.64s\": unknown field \"%.32s\"", L->path, name,
                             v->keys[k]);
        st_entry *e = &f->e[f->n];
        e->name = name;
        const mn_json *dt = mn_json_get(v, "dtype");
        int known = -1;
        for (int d = 0; dt && dt->type == MN_JSON_STRING && d <= MN_ST_U64; d++)
            if (strcmp(dt->s, g_dtype_names[d]) == 0) known = d;
        if (known < 0)
            return LFAIL("%s: tensor \"%.64s\": missing or unsupported dtype (F32, I32, U64)",
                         L->path, name);
        e->dtype = (mn_st_dtype)known;
        size_t rank;
        mynn_status s = uint_array(L, name, "shape", mn_json_get(v, "shape"), e->dims,
                                   MN_ST_MAX_RANK, &rank);
        if (s) return s;
        uint64_t count;
        if (rank > MN_ST_MAX_RANK || st_count((int)rank, e->dims, &count))
            return LFAIL("%s: tensor \"%.64s\": shape of rank %zu or more than %zu elements",
                         L->path, name, rank, MN_MAX_ELEMS);
        e->rank = (int)rank;
        uint64_t off[2];
        size_t noff;
        s = uint_array(L, name, "data_offsets", mn_json_get(v, "data_offsets"), off, 2, &noff);
        if (s) return s;
        if (noff != 2)
            return LFAIL("%s: tensor \"%.64s\": data_offsets must be [begin, end], has %zu elements",
                         L->path, name, noff);
        uint64_t bytes = count * g_dtype_size[e->dtype];
        if (off[0] > off[1] || off[1] > L->data_len || off[1] - off[0] != bytes)
            return LFAIL("%s: tensor \"%.64s\": data_offsets [%" PRIu64 ", %" PRIu64 "] are not "
                         "its %" PRIu64 " bytes within the %" PRIu64 "-byte data", L->path, name,
                         off[0], off[1], bytes, L->data_len);
        e->begin = off[0];
        e->end = off[1];
        total += bytes;
        f->n++;
    }
    st_entry **order = malloc((f->n ? f->n : 1) * sizeof *order);
    if (!order) return mn_error(MYNN_ERR_NOMEM, "%s: out of memory", L->path);
    for (size_t j = 0; j < f->n; j++) order[j] = &f->e[j];
    qsort(order, f->n, sizeof *order, cmp_entry);
    mynn_status s = MYNN_OK;
    for (size_t j = 1; j < f->n && !s; j++)
        if (order[j]->begin < order[j - 1]->end)
            s = LFAIL("%s: tensors \"%.64s\" and \"%.64s\" overlap in the data", L->path,
                      order[j - 1]->name, order[j]->name);
    free(order);
    if (!s && total != L->data_len)
        s = LFAIL("%s: %" PRIu64 " bytes of data are not covered by any tensor", L->path,
                  L->data_len - total);
    return s;
}

mynn_status mn_st_open(mn_st_file **out, const char *path, uint64_t max_size)
{
    if (!out) return mn_error(MYNN_ERR_NULL, "mn_st_open: out is NULL");
    *out = NULL;
    if (!path) return mn_error(MYNN_ERR_NULL, "mn_st_open: path is NULL");
    mn_st_file *f = calloc(1, sizeof *f);
    if (!f) return mn_error(MYNN_ERR_NOMEM, "%s: out of memory", path);
    f->L.path = path;
    f->L.max_file = max_size ? max_size : ST_MAX_FILE;
    mynn_status s = open_and_parse(&f->L);
    if (!s) s = st_check(f);
    if (s) {
        mn_st_close(f);
        return s;
    }
    *out = f;
    return MYNN_OK;
}

const char *mn_st_meta(const mn_st_file *f, const char *key)
{
    const mn_json *v = f && f->L.meta ? mn_json_get(f->L.meta, key) : NULL;
    return v ? v->s : NULL;
}

static st_entry *st_find(const mn_st_file *f, const char *name)
{
    for (size_t i = 0; f && i < f->n; i++)
        if (strcmp(f->e[i].name, name) == 0) return &f->e[i];
    return NULL;
}

int mn_st_has(const mn_st_file *f, const char *name) { return st_find(f, name) != NULL; }

const char *mn_st_unread(const mn_st_file *f)
{
    for (size_t i = 0; f && i < f->n; i++)
        if (!f->e[i].read) return f->e[i].name;
    return NULL;
}

mynn_status mn_st_read(mn_st_file *f, const char *name, mn_st_dtype dtype, int rank,
                       const uint64_t *dims, void *dst)
{
    if (!f || !name || (rank && !dims)) return mn_error(MYNN_ERR_NULL, "mn_st_read: NULL argument");
    loader *L = &f->L;
    st_entry *e = st_find(f, name);
    if (!e) return LFAIL("%s: missing tensor \"%.64s\"", L->path, name);
    int match = e->dtype == dtype && e->rank == rank;
    for (int d = 0; match && d < rank; d++) match = e->dims[d] == dims[d];
    if (!match) {
        char got[96], want[96];
        shape_text(got, sizeof got, e->dims, e->rank);
        shape_text(want, sizeof want, dims, rank < 0 ? 0 : rank > MN_ST_MAX_RANK ? MN_ST_MAX_RANK : rank);
        return LFAIL("%s: tensor \"%.64s\" is %s %s, expected %s %s", L->path, name,
                     g_dtype_names[e->dtype], got,
                     (unsigned)dtype <= MN_ST_U64 ? g_dtype_names[dtype] : "?", want);
    }
    if (fseeko(L->f, (off_t)(8 + L->header_len + e->begin), SEEK_SET) != 0)
        return mn_error(MYNN_ERR_IO, "%s: cannot seek: %s", L->path, strerror(errno));
    char what[96];
    snprintf(what, sizeof what, "tensor \"%.64s\"", name);
    size_t bytes = (size_t)(e->end - e->begin), size = g_dtype_size[dtype];
    mynn_status s = read_exact(L, dst, bytes, what);
    if (s) return s;
    unsigned char *b = dst;
    for (size_t k = 0; k < bytes; k += size) {   /* little-endian to host, in place */
        uint64_t u = 0;
        for (size_t q = size; q-- > 0;) u = (u << 8) | b[k + q];
        if (size == 8) {
            memcpy(b + k, &u, 8);
        } else {
            uint32_t w = (uint32_t)u;
            memcpy(b + k, &w, 4);
        }
    }
    e->read = 1;
    return MYNN_OK;
}
