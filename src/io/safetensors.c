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
#include "emit/atomic_file.h"
#include "core/core.h"
#include "json.h"
#include "network/network.h"
#include "core/numparse.h"

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
#define ST_SPEC_MAX 65536                           /* mynn_add_layers' limit */
#define ST_FORMAT_VERSION "1"

/* ------------------------------------------------------------------------ */
/* The tensors a network has, in file order                                  */
/* ------------------------------------------------------------------------ */

typedef struct tensor {
    char name[48];
    int rank;
    uint64_t dims[4];
    size_t count;
    int where;          /* 0: params (at param_off), 1: input shift, 2: input scale */
    size_t param_off;
    uint64_t begin, end;   /* where mynn_save puts it */
} tensor;

/* Lists net's tensors (each layer's, as mn_layer_tensors names them, then
 * the input transform if with_input) with file offsets laid out
 * contiguously; *total receives the data bytes.  Works before build:
 * buffers lie after all parameters, as mynn_build places them. */
static mynn_status plan(const mynn_net *net, int with_input, tensor **out, size_t *n,
                        uint64_t *total)
{
    size_t cap = MN_MAX_TENSORS * (size_t)net->n_layers + 2, k = 0, off = 0, boff = 0;
    tensor *t = calloc(cap, sizeof *t);
    if (!t) return mn_error(MYNN_ERR_NOMEM, "out of memory listing tensors");
    for (int i = 0; i < net->n_layers; i++) boff += mn_layer_params(&net->layers[i]);
    uint64_t pos = 0;
    for (int i = 0; i < net->n_layers; i++) {
        const mn_layer *l = &net->layers[i];
        mn_tensor_desc d[MN_MAX_TENSORS];
        int nd = mn_layer_tensors(l, d);
        for (int j = 0; j < nd; j++) {
            tensor *w = &t[k++];
            snprintf(w->name, sizeof w->name, "layers.%d.%s", i, d[j].name);
            w->rank = d[j].rank;
            for (int r = 0; r < d[j].rank; r++) w->dims[r] = (uint64_t)d[j].dims[r];
            w->count = d[j].count;
            w->param_off = (d[j].buffer ? boff : off) + d[j].offset;
        }
        off += mn_layer_params(l);
        boff += mn_layer_buffers(l);
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
                                         "input_shape", "layers", "loss", "normalize"};

static int reserved(const char *key)
{
    for (size_t i = 0; i < sizeof g_reserved / sizeof *g_reserved; i++)
        if (strcmp(key, g_reserved[i]) == 0) return 1;
    return 0;
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
    if (mn_find_nonfinite(net->params, mn_net_values(net), &at))
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

    sbuf h = {0};
    char *spec = mn_net_spec(net);
    if (!spec) {
        free(t);
        return mn_error(MYNN_ERR_NOMEM, "mynn_save: out of memory describing the layers");
    }
    if (strlen(spec) >= ST_SPEC_MAX) {
        free(spec);
        free(t);
        return mn_error(MYNN_ERR_ARG, "mynn_save: the layer list is longer than %d characters",
                        ST_SPEC_MAX - 1);
    }
    char num[24];
    snprintf(num, sizeof num, "%d", net->n_inputs);
    sb_str(&h, "{\"__metadata__\":{\"format\":\"mynn\"");
    sb_meta(&h, "format_version", ST_FORMAT_VERSION);
    sb_meta(&h, "n_inputs", num);
    if (net->in_dims) {
        char shape[48];
        if (net->in_dims == 1) snprintf(shape, sizeof shape, "%dx%d", net->in_shape.c, net->in_shape.w);
        else snprintf(shape, sizeof shape, "%dx%dx%d", net->in_shape.c, net->in_shape.h, net->in_shape.w);
        sb_meta(&h, "input_shape", shape);
    }
    sb_meta(&h, "layers", spec);
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
    free(spec);
    if (h.oom) {
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
/* Reading: the one parser, under both mn_st_open and mynn_load              */
/* ------------------------------------------------------------------------ */

static const char *const g_dtype_names[] = {"F32", "I32", "U64", "I8"};
static const unsigned g_dtype_size[] = {4, 4, 8, 1};

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

typedef struct st_entry {
    const char *name;          /* the header's key (owned by the parsed JSON) */
    mn_st_dtype dtype;
    int rank;
    uint64_t dims[MN_ST_MAX_RANK];
    uint64_t begin, end;
    int read;
} st_entry;

struct mn_st_file {
    const char *path;
    FILE *f;
    uint64_t header_len, data_len;
    char *header;
    mn_json *root;
    const mn_json *meta;       /* NULL, or an object holding only strings */
    st_entry *e;               /* every other header entry, in file order */
    size_t n;
};

#define LFAIL(...) mn_error(MYNN_ERR_FORMAT, __VA_ARGS__)

void mn_st_close(mn_st_file *f)
{
    if (!f) return;
    if (f->f) fclose(f->f);
    free(f->header);
    mn_json_free(f->root);
    free(f->e);
    free(f);
}

static mynn_status read_exact(const mn_st_file *f, void *dst, size_t n, const char *what)
{
    if (n && fread(dst, 1, n, f->f) != n) {
        if (ferror(f->f))
            return mn_error(MYNN_ERR_IO, "%s: cannot read %s: %s", f->path, what, strerror(errno));
        return LFAIL("%s: file ends inside %s (truncated?)", f->path, what);
    }
    return MYNN_OK;
}

/* Everything up to, not including, the tensor table: mynn_load judges the
 * metadata in between, so that a file which is not a model says so instead
 * of failing on some tensor. */
static mynn_status st_header(mn_st_file *f, uint64_t max_file)
{
    /* O_NONBLOCK: opening a FIFO must not wait for a writer; it is refused below. */
    int fd = open(f->path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) return mn_error(MYNN_ERR_IO, "cannot open '%s': %s", f->path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int err = errno;
        close(fd);
        return mn_error(MYNN_ERR_IO, "cannot stat '%s': %s", f->path, strerror(err));
    }
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        return mn_error(MYNN_ERR_IO, "'%s' is not a regular file", f->path);
    }
    int fl = fcntl(fd, F_GETFL);
    if (fl != -1) fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
    f->f = fdopen(fd, "rb");
    if (!f->f) {
        int err = errno;
        close(fd);
        return mn_error(MYNN_ERR_IO, "cannot open '%s': %s", f->path, strerror(err));
    }
    uint64_t size = (uint64_t)st.st_size;
    if (size > max_file)
        return LFAIL("%s: file of %" PRIu64 " bytes exceeds the limit of %" PRIu64 " bytes",
                     f->path, size, max_file);
    if (size < 8)
        return LFAIL("%s: not a safetensors file (%" PRIu64 " bytes, shorter than the 8-byte "
                     "header length)", f->path, size);
    unsigned char len8[8];
    mynn_status s = read_exact(f, len8, 8, "the header length");
    if (s) return s;
    uint64_t n = 0;
    for (int i = 7; i >= 0; i--) n = (n << 8) | len8[i];
    if (n > ST_MAX_HEADER)
        return LFAIL("%s: header length %" PRIu64 " exceeds the limit of %" PRIu64 " bytes",
                     f->path, n, ST_MAX_HEADER);
    if (n > size - 8)
        return LFAIL("%s: header length %" PRIu64 " exceeds the file size (%" PRIu64 " bytes)",
                     f->path, n, size);
    f->header_len = n;
    f->data_len = size - 8 - n;
    f->header = malloc(n ? (size_t)n : 1);
    if (!f->header) return mn_error(MYNN_ERR_NOMEM, "%s: out of memory reading the header", f->path);
    s = read_exact(f, f->header, (size_t)n, "the header");
    if (s) return s;
    char err[200];
    s = mn_json_parse(f->header, (size_t)n, &f->root, err, sizeof err);
    if (s == MYNN_ERR_NOMEM) return mn_error(s, "%s: out of memory parsing the header", f->path);
    if (s) return LFAIL("%s: header is not valid JSON: %s", f->path, err);
    if (f->root->type != MN_JSON_OBJECT)
        return LFAIL("%s: header is a JSON %s, not an object", f->path,
                     mn_json_type_name(f->root->type));
    const mn_json *meta = mn_json_get(f->root, "__metadata__");
    if (meta && meta->type != MN_JSON_OBJECT)
        return LFAIL("%s: __metadata__ is a JSON %s, not an object", f->path,
                     mn_json_type_name(meta->type));
    for (size_t i = 0; meta && i < meta->n; i++)
        if (meta->items[i].type != MN_JSON_STRING)
            return LFAIL("%s: __metadata__ entry \"%.64s\" is a JSON %s, not a string", f->path,
                         meta->keys[i], mn_json_type_name(meta->items[i].type));
    f->meta = meta;
    return MYNN_OK;
}

/* Reads a JSON array of non-negative integers (at most max of them). */
static mynn_status uint_array(const mn_st_file *f, const char *tname, const char *field,
                              const mn_json *v, uint64_t *out, size_t max, size_t *count)
{
    if (!v) return LFAIL("%s: tensor \"%.64s\" has no %s", f->path, tname, field);
    if (v->type != MN_JSON_ARRAY)
        return LFAIL("%s: tensor \"%.64s\": %s is a JSON %s, not an array", f->path, tname, field,
                     mn_json_type_name(v->type));
    for (size_t i = 0; i < v->n; i++) {
        const mn_json *e = &v->items[i];
        if (e->type != MN_JSON_INT || (e->negative && e->u != 0))
            return LFAIL("%s: tensor \"%.64s\": %s element %zu is not a non-negative integer",
                         f->path, tname, field, i);
        if (i < max) out[i] = e->u;
    }
    *count = v->n;
    return MYNN_OK;
}

/* The tensor table, each entry on its own.  Sizes are left to st_layout:
 * mynn_load compares the shapes with the architecture first, so a wrong
 * shape is reported as such rather than as a wrong span. */
static mynn_status st_tensors(mn_st_file *f)
{
    f->e = calloc(f->root->n ? f->root->n : 1, sizeof *f->e);
    if (!f->e) return mn_error(MYNN_ERR_NOMEM, "%s: out of memory", f->path);
    for (size_t i = 0; i < f->root->n; i++) {
        const char *name = f->root->keys[i];
        if (strcmp(name, "__metadata__") == 0) continue;
        const mn_json *v = &f->root->items[i];
        if (v->type != MN_JSON_OBJECT)
            return LFAIL("%s: tensor \"%.64s\" is a JSON %s, not an object", f->path, name,
                         mn_json_type_name(v->type));
        for (size_t k = 0; k < v->n; k++)
            if (strcmp(v->keys[k], "dtype") && strcmp(v->keys[k], "shape") &&
                strcmp(v->keys[k], "data_offsets"))
                return LFAIL("%s: tensor \"%.64s\": unknown field \"%.32s\"", f->path, name,
                             v->keys[k]);
        st_entry *e = &f->e[f->n];
        e->name = name;
        const mn_json *dt = mn_json_get(v, "dtype");
        if (!dt) return LFAIL("%s: tensor \"%.64s\" has no dtype", f->path, name);
        int known = -1;
        for (int d = 0; dt->type == MN_JSON_STRING && d < MN_ST_DTYPES; d++)
            if (strcmp(dt->s, g_dtype_names[d]) == 0) known = d;
        if (known < 0)
            return LFAIL("%s: tensor \"%.64s\": dtype %s%.16s%s, expected F32, I32, U64 or I8", f->path,
                         name, dt->type == MN_JSON_STRING ? "\"" : "",
                         dt->type == MN_JSON_STRING ? dt->s : mn_json_type_name(dt->type),
                         dt->type == MN_JSON_STRING ? "\"" : "");
        e->dtype = (mn_st_dtype)known;
        size_t rank;
        mynn_status s = uint_array(f, name, "shape", mn_json_get(v, "shape"), e->dims,
                                   MN_ST_MAX_RANK, &rank);
        if (s) return s;
        if (rank > MN_ST_MAX_RANK)
            return LFAIL("%s: tensor \"%.64s\": shape of rank %zu, more than %d", f->path, name,
                         rank, MN_ST_MAX_RANK);
        e->rank = (int)rank;
        uint64_t off[2];
        size_t noff;
        s = uint_array(f, name, "data_offsets", mn_json_get(v, "data_offsets"), off, 2, &noff);
        if (s) return s;
        if (noff != 2)
            return LFAIL("%s: tensor \"%.64s\": data_offsets must be [begin, end], has %zu elements",
                         f->path, name, noff);
        if (off[0] > off[1] || off[1] > f->data_len)
            return LFAIL("%s: tensor \"%.64s\": data_offsets [%" PRIu64 ", %" PRIu64 "] not within "
                         "the %" PRIu64 "-byte data", f->path, name, off[0], off[1], f->data_len);
        e->begin = off[0];
        e->end = off[1];
        f->n++;
    }
    return MYNN_OK;
}

static int cmp_entry(const void *a, const void *b)
{
    const st_entry *x = *(const st_entry *const *)a, *y = *(const st_entry *const *)b;
    return x->begin < y->begin ? -1 : x->begin > y->begin;
}

/* Each tensor spans exactly its bytes, none overlap, and together they
 * cover the data: nothing in the file goes unexplained. */
static mynn_status st_layout(const mn_st_file *f)
{
    uint64_t total = 0;
    for (size_t i = 0; i < f->n; i++) {
        const st_entry *e = &f->e[i];
        uint64_t count;
        if (st_count(e->rank, e->dims, &count))
            return LFAIL("%s: tensor \"%.64s\": shape of more than %zu elements", f->path, e->name,
                         MN_MAX_ELEMS);
        uint64_t bytes = count * g_dtype_size[e->dtype];
        if (e->end - e->begin != bytes)
            return LFAIL("%s: tensor \"%.64s\": data_offsets span %" PRIu64 " bytes, its shape "
                         "needs %" PRIu64, f->path, e->name, e->end - e->begin, bytes);
        total += bytes;
    }
    const st_entry **order = malloc((f->n ? f->n : 1) * sizeof *order);
    if (!order) return mn_error(MYNN_ERR_NOMEM, "%s: out of memory", f->path);
    for (size_t j = 0; j < f->n; j++) order[j] = &f->e[j];
    qsort(order, f->n, sizeof *order, cmp_entry);
    mynn_status s = MYNN_OK;
    for (size_t j = 1; j < f->n && !s; j++)
        if (order[j]->begin < order[j - 1]->end)
            s = LFAIL("%s: tensors \"%.64s\" and \"%.64s\" overlap in the data", f->path,
                      order[j - 1]->name, order[j]->name);
    free(order);
    /* Inside the data and disjoint: they cover it exactly iff the sizes add up. */
    if (!s && total != f->data_len)
        s = LFAIL("%s: %" PRIu64 " bytes of data are not covered by any tensor", f->path,
                  f->data_len - total);
    return s;
}

mynn_status mn_st_open(mn_st_file **out, const char *path, uint64_t max_size)
{
    if (!out) return mn_error(MYNN_ERR_NULL, "mn_st_open: out is NULL");
    *out = NULL;
    if (!path) return mn_error(MYNN_ERR_NULL, "mn_st_open: path is NULL");
    mn_st_file *f = calloc(1, sizeof *f);
    if (!f) return mn_error(MYNN_ERR_NOMEM, "%s: out of memory", path);
    f->path = path;
    mynn_status s = st_header(f, max_size ? max_size : ST_MAX_FILE);
    if (!s) s = st_tensors(f);
    if (!s) s = st_layout(f);
    if (s) {
        mn_st_close(f);
        return s;
    }
    *out = f;
    return MYNN_OK;
}

const char *mn_st_meta(const mn_st_file *f, const char *key)
{
    const mn_json *v = f && f->meta ? mn_json_get(f->meta, key) : NULL;
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

static void shape_text(char *buf, size_t n, const uint64_t *dims, int rank)
{
    size_t k = (size_t)snprintf(buf, n, "[");
    for (int d = 0; d < rank && k < n; d++)
        k += (size_t)snprintf(buf + k, n - k, "%s%" PRIu64, d ? ", " : "", dims[d]);
    if (k < n) snprintf(buf + k, n - k, "]");
}

mynn_status mn_st_read(mn_st_file *f, const char *name, mn_st_dtype dtype, int rank,
                       const uint64_t *dims, void *dst)
{
    if (!f || !name || (rank && !dims)) return mn_error(MYNN_ERR_NULL, "mn_st_read: NULL argument");
    st_entry *e = st_find(f, name);
    if (!e) return LFAIL("%s: missing tensor \"%.64s\"", f->path, name);
    int match = e->dtype == dtype && e->rank == rank;
    for (int d = 0; match && d < rank; d++) match = e->dims[d] == dims[d];
    if (!match) {
        char got[96], want[96];
        shape_text(got, sizeof got, e->dims, e->rank);
        shape_text(want, sizeof want, dims, rank < 0 ? 0 : rank > MN_ST_MAX_RANK ? MN_ST_MAX_RANK : rank);
        return LFAIL("%s: tensor \"%.64s\" is %s %s, expected %s %s", f->path, name,
                     g_dtype_names[e->dtype], got,
                     (unsigned)dtype < MN_ST_DTYPES ? g_dtype_names[dtype] : "?", want);
    }
    if (fseeko(f->f, (off_t)(8 + f->header_len + e->begin), SEEK_SET) != 0)
        return mn_error(MYNN_ERR_IO, "%s: cannot seek: %s", f->path, strerror(errno));
    char what[96];
    snprintf(what, sizeof what, "tensor \"%.64s\"", name);
    size_t bytes = (size_t)(e->end - e->begin), size = g_dtype_size[dtype];
    mynn_status s = read_exact(f, dst, bytes, what);
    if (s) return s;
    unsigned char *b = dst;
    for (size_t k = 0; size > 1 && k < bytes; k += size) {   /* little-endian to host, in place */
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

/* ------------------------------------------------------------------------ */
/* Loading a model                                                           */
/* ------------------------------------------------------------------------ */

/* Architecture, loss and metadata from __metadata__; creates *net. */
static mynn_status read_metadata(const mn_st_file *f, mynn_net **net)
{
    const char *path = f->path;
    const char *fmt = mn_st_meta(f, "format");
    if (!fmt || strcmp(fmt, "mynn") != 0)
        return LFAIL("%s: not a mynn model: no format=mynn metadata", path);
    const char *ver = mn_st_meta(f, "format_version");
    if (!ver) return LFAIL("%s: metadata has no format_version", path);
    if (strcmp(ver, ST_FORMAT_VERSION) != 0)
        return LFAIL("%s: unsupported format_version \"%.32s\" (this build reads %s)", path,
                     ver, ST_FORMAT_VERSION);

    const char *ni = mn_st_meta(f, "n_inputs");
    if (!ni) return LFAIL("%s: metadata has no n_inputs", path);
    long n_inputs = 0;
    size_t len = strlen(ni);
    int ok = len >= 1 && len <= 8 && ni[0] != '0';
    for (size_t i = 0; ok && i < len; i++) {
        if (ni[i] < '0' || ni[i] > '9') ok = 0;
        else n_inputs = n_inputs * 10 + (ni[i] - '0');
    }
    if (!ok || n_inputs < 1 || n_inputs > (1L << 24))
        return LFAIL("%s: metadata n_inputs \"%.32s\" is not a count in 1..%d", path, ni,
                     1 << 24);

    const char *layers = mn_st_meta(f, "layers");
    if (!layers) return LFAIL("%s: metadata has no layers", path);
    mynn_status s = mynn_create(net, (int)n_inputs);
    if (s) return s;
    char msg[300];
    const char *shape = mn_st_meta(f, "input_shape");
    if (shape) {
        int dims[3], nd;
        if (mn_parse_shape(shape, dims, &nd) != 0)
            return LFAIL("%s: metadata input_shape \"%.32s\" is not CxHxW or CxL", path, shape);
        s = nd == 1 ? mynn_set_input_shape_1d(*net, dims[0], dims[2])
                    : mynn_set_input_shape(*net, dims[0], dims[1], dims[2]);
        if (s) {
            snprintf(msg, sizeof msg, "%s", mynn_last_error());
            return LFAIL("%s: metadata input_shape: %s", path, msg);
        }
    }
    s = mynn_add_layers(*net, layers);
    if (s) {
        snprintf(msg, sizeof msg, "%s", mynn_last_error());
        if (s == MYNN_ERR_NOMEM) return mn_error(s, "%s: %s", path, msg);
        return LFAIL("%s: metadata layers \"%.80s\": %s", path, layers, msg);
    }
    const mn_layer *last = &(*net)->layers[(*net)->n_layers - 1];
    if (last->kind->id != MYNN_LAYER_DENSE)
        return LFAIL("%s: metadata layers \"%.80s\": the last layer must be dense", path, layers);

    const char *loss_name = mn_st_meta(f, "loss");
    if (!loss_name) return LFAIL("%s: metadata has no loss", path);
    mynn_loss loss;
    if (mynn_loss_from_name(loss_name, &loss) != MYNN_OK)
        return LFAIL("%s: metadata loss \"%.32s\" is unknown (mse, bce, ce)", path, loss_name);
    s = mynn_set_loss(*net, loss);
    if (s) {
        snprintf(msg, sizeof msg, "%s", mynn_last_error());
        return LFAIL("%s: metadata loss \"%.32s\": %s", path, loss_name, msg);
    }

    const char *norm = mn_st_meta(f, "normalize");
    if (norm && strlen(norm) >= sizeof (*net)->transform_kind)
        return LFAIL("%s: metadata normalize \"%.32s\" is longer than %zu characters", path,
                     norm, sizeof (*net)->transform_kind - 1);
    if (norm && !*norm) return LFAIL("%s: metadata normalize is empty", path);

    for (size_t i = 0; i < f->meta->n; i++) {
        s = mn_net_set_meta(*net, f->meta->keys[i], f->meta->items[i].s);
        if (s) {
            snprintf(msg, sizeof msg, "%s", mynn_last_error());
            return mn_error(s == MYNN_ERR_NOMEM ? s : MYNN_ERR_FORMAT, "%s: metadata: %s", path,
                            msg);
        }
    }
    return MYNN_OK;
}

/* The file must hold exactly the architecture's tensors, as F32 of its
 * shapes.  Done before st_layout and before any parameter is allocated, so
 * an architecture too large for the file fails here, naming the shape. */
static mynn_status check_tensors(const mn_st_file *f, const tensor *t, size_t nt, int with_input)
{
    for (size_t i = 0; i < f->n; i++) {
        const st_entry *e = &f->e[i];
        const tensor *p = NULL;
        for (size_t j = 0; j < nt && !p; j++)
            if (strcmp(t[j].name, e->name) == 0) p = &t[j];
        if (!p)
            return LFAIL("%s: unexpected tensor \"%.64s\" (not in the architecture \"%.80s\"%s)",
                         f->path, e->name, mn_st_meta(f, "layers"),
                         with_input ? "" : ", normalize=none");
        if (e->dtype != MN_ST_F32)
            return LFAIL("%s: tensor \"%s\": dtype \"%s\", expected F32", f->path, p->name,
                         g_dtype_names[e->dtype]);
        int match = e->rank == p->rank;
        for (int d = 0; match && d < p->rank; d++) match = e->dims[d] == p->dims[d];
        if (!match) {
            char got[96], want[64];
            shape_text(got, sizeof got, e->dims, e->rank);
            shape_text(want, sizeof want, p->dims, p->rank);
            return LFAIL("%s: tensor \"%s\": shape %s does not match the architecture's %s",
                         f->path, p->name, got, want);
        }
    }
    for (size_t j = 0; j < nt; j++)
        if (!mn_st_has(f, t[j].name)) return LFAIL("%s: missing tensor \"%s\"", f->path, t[j].name);
    return MYNN_OK;
}

static mynn_status read_data(mn_st_file *f, mynn_net *net, const tensor *t, size_t nt,
                             float *shift, float *scale)
{
    for (size_t i = 0; i < nt; i++) {
        float *dst = t[i].where == 0 ? net->params + t[i].param_off : t[i].where == 1 ? shift : scale;
        mynn_status s = mn_st_read(f, t[i].name, MN_ST_F32, t[i].rank, t[i].dims, dst);
        if (s) return s;
        size_t at;
        if (mn_find_nonfinite(dst, t[i].count, &at))
            return LFAIL("%s: tensor \"%s\": value %zu is %s", f->path, t[i].name, at,
                         isnan(dst[at]) ? "NaN" : "infinite");
    }
    for (int i = 0; i < net->n_layers; i++) {
        const mn_layer *l = &net->layers[i];
        char why[160];
        if (l->kind->check_values && l->kind->check_values(l, why, sizeof why))
            return LFAIL("%s: layer %d (%s): %s", f->path, i, l->kind->name, why);
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
    mn_st_file *f = calloc(1, sizeof *f);
    if (!f) return mn_error(MYNN_ERR_NOMEM, "%s: out of memory", path);
    f->path = path;
    mynn_net *net = NULL;
    tensor *t = NULL;
    size_t nt = 0;
    uint64_t total;
    float *shift = NULL, *scale = NULL;
    const char *norm = NULL;
    mynn_status s = st_header(f, ST_MAX_FILE);
    if (!s) s = read_metadata(f, &net);
    if (!s) norm = mn_st_meta(f, "normalize");
    int with_input = norm && strcmp(norm, "none") != 0;
    if (!s) s = plan(net, with_input, &t, &nt, &total);
    if (!s) s = st_tensors(f);
    if (!s) s = check_tensors(f, t, nt, with_input);
    if (!s) s = st_layout(f);
    if (!s) {
        s = mynn_build(net, max_batch, MYNN_INIT_AUTO, 0);
        if (s) {
            char msg[300];
            snprintf(msg, sizeof msg, "%s", mynn_last_error());
            s = mn_error(s == MYNN_ERR_NOMEM ? s : MYNN_ERR_FORMAT, "%s: %s", path, msg);
        }
    }
    if (!s && with_input) {
        shift = mn_calloc((size_t)net->n_inputs, sizeof(float), "input transform");
        scale = mn_calloc((size_t)net->n_inputs, sizeof(float), "input transform");
        if (!shift || !scale) s = MYNN_ERR_NOMEM;
    }
    if (!s) s = read_data(f, net, t, nt, shift, scale);
    if (!s && with_input) s = mynn_set_input_transform(net, norm, shift, scale);
    mn_st_close(f);
    free(t);
    free(shift);
    free(scale);
    if (s) {
        mynn_free(net);
        return s;
    }
    *out = net;
    return MYNN_OK;
}

/* ------------------------------------------------------------------------ */
/* Generic named tensors (checkpoints): see safetensors.h                    */
/* ------------------------------------------------------------------------ */

/* Store element i of a host-order array of dtype at o, little-endian. */
static void put_le(unsigned char *o, const void *src, size_t i, unsigned size)
{
    uint64_t u;
    if (size == 1) {
        u = ((const unsigned char *)src)[i];
    } else if (size == 8) {
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
        if ((unsigned)t[i].dtype >= MN_ST_DTYPES || t[i].rank < 0 || t[i].rank > MN_ST_MAX_RANK ||
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
