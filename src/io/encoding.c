/* Feature encodings: the public accessors, and their form in a network's
 * metadata, three string values holding JSON texts (readable by any JSON
 * library, unambiguous for any name):
 *   class_names     ["setosa","versicolor","virginica"]
 *   input_encoding  [{"type":"numeric"},{"type":"numeric","fill":"5.8"},
 *                    {"type":"categorical","categories":["blue","red"]}]
 *   missing         "error" | "drop" | "mean" | "median"
 * Fill values are strings holding the float's shortest round-trip decimal
 * (the JSON reader takes integers only). */
#include "io/encoding.h"
#include "io/json.h"
#include "core/numparse.h"
#include "core/core.h"
#include "network/network.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const g_missing[] = {"error", "drop", "mean", "median"};

mynn_status mynn_missing_from_name(const char *name, mynn_missing *out)
{
    if (!name || !out) return mn_error(MYNN_ERR_NULL, "mynn_missing_from_name: NULL argument");
    for (int i = 0; i < 4; i++)
        if (strcmp(name, g_missing[i]) == 0) {
            *out = (mynn_missing)i;
            return MYNN_OK;
        }
    return mn_error(MYNN_ERR_ARG, "unknown missing-value policy \"%.32s\" (error, drop, mean, median)",
                    name);
}

const char *mynn_missing_name(mynn_missing m)
{
    return (unsigned)m < 4 ? g_missing[m] : "unknown";
}

int mn_name_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

mynn_encoding *mn_encoding_new(int n_cols)
{
    mynn_encoding *e = mn_calloc(1, sizeof *e, "encoding");
    if (!e) return NULL;
    e->n_cols = n_cols;
    e->cols = mn_calloc((size_t)(n_cols > 0 ? n_cols : 1), sizeof *e->cols, "encoding columns");
    if (!e->cols) {
        free(e);
        return NULL;
    }
    return e;
}

static void free_names(char **names, int n)
{
    for (int i = 0; names && i < n; i++) free(names[i]);
    free(names);
}

void mynn_encoding_free(mynn_encoding *e)
{
    if (!e) return;
    for (int i = 0; i < e->n_cols; i++) free_names(e->cols[i].cats, e->cols[i].n_cats);
    free(e->cols);
    free_names(e->classes, e->n_classes);
    free(e);
}

long mn_encoding_width(const mynn_encoding *e)
{
    long w = 0;
    for (int i = 0; i < e->n_cols; i++) w += e->cols[i].n_cats ? e->cols[i].n_cats : 1;
    return w;
}

int mn_encoding_trivial(const mynn_encoding *e)
{
    if (e->n_classes) return 0;
    for (int i = 0; i < e->n_cols; i++)
        if (e->cols[i].n_cats || e->cols[i].has_fill) return 0;
    return 1;
}

int mynn_encoding_n_columns(const mynn_encoding *e) { return e ? e->n_cols : 0; }
int mynn_encoding_n_inputs(const mynn_encoding *e) { return e ? (int)mn_encoding_width(e) : 0; }
int mynn_encoding_n_classes(const mynn_encoding *e) { return e ? e->n_classes : 0; }

const char *mynn_encoding_class_name(const mynn_encoding *e, int k)
{
    return e && k >= 0 && k < e->n_classes ? e->classes[k] : NULL;
}

int mynn_encoding_n_categories(const mynn_encoding *e, int col)
{
    return e && col >= 0 && col < e->n_cols ? e->cols[col].n_cats : 0;
}

const char *mynn_encoding_category(const mynn_encoding *e, int col, int k)
{
    if (!e || col < 0 || col >= e->n_cols || k < 0 || k >= e->cols[col].n_cats) return NULL;
    return e->cols[col].cats[k];
}

int mynn_encoding_fill(const mynn_encoding *e, int col, float *fill)
{
    if (!e || col < 0 || col >= e->n_cols || !e->cols[col].has_fill) return 0;
    if (fill) *fill = e->cols[col].fill;
    return 1;
}

/* ---- writing ------------------------------------------------------------- */

typedef struct jbuf {
    char *p;
    size_t n, cap;
    int oom;
} jbuf;

static void jb_add(jbuf *b, const char *s, size_t n)
{
    if (b->oom) return;
    if (b->n + n + 1 > b->cap) {
        size_t nc = (b->cap ? b->cap * 2 : 256);
        while (nc < b->n + n + 1) nc *= 2;
        char *q = realloc(b->p, nc);
        if (!q) {
            b->oom = 1;
            return;
        }
        b->p = q;
        b->cap = nc;
    }
    memcpy(b->p + b->n, s, n);
    b->n += n;
    b->p[b->n] = '\0';
}

static void jb_str(jbuf *b, const char *s) { jb_add(b, s, strlen(s)); }

/* s as a JSON string: quotes, backslashes and control characters escaped. */
static void jb_json(jbuf *b, const char *s)
{
    jb_add(b, "\"", 1);
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        char esc[8];
        if (ch == '"' || ch == '\\') {
            esc[0] = '\\';
            esc[1] = (char)ch;
            jb_add(b, esc, 2);
        } else if (ch < 0x20) {
            snprintf(esc, sizeof esc, "\\u%04x", ch);
            jb_add(b, esc, 6);
        } else {
            jb_add(b, s, 1);
        }
    }
    jb_add(b, "\"", 1);
}

static void jb_names(jbuf *b, char *const *names, int n)
{
    jb_add(b, "[", 1);
    for (int i = 0; i < n; i++) {
        if (i) jb_add(b, ",", 1);
        jb_json(b, names[i]);
    }
    jb_add(b, "]", 1);
}

static void jb_columns(jbuf *b, const mynn_encoding *e)
{
    jb_add(b, "[", 1);
    for (int i = 0; i < e->n_cols; i++) {
        const mn_enc_col *c = &e->cols[i];
        if (i) jb_add(b, ",", 1);
        if (c->n_cats) {
            jb_str(b, "{\"type\":\"categorical\",\"categories\":");
            jb_names(b, c->cats, c->n_cats);
            jb_add(b, "}", 1);
        } else if (c->has_fill) {
            char num[MN_NUM_BUFSZ];
            mn_format_float(num, sizeof num, c->fill);
            jb_str(b, "{\"type\":\"numeric\",\"fill\":\"");
            jb_str(b, num);
            jb_str(b, "\"}");
        } else {
            jb_str(b, "{\"type\":\"numeric\"}");
        }
    }
    jb_add(b, "]", 1);
}

static int names_valid(char *const *names, int n)
{
    for (int i = 0; i < n; i++)
        if (!mn_json_utf8_valid(names[i], strlen(names[i])) ||
            (i && strcmp(names[i - 1], names[i]) >= 0))
            return 0;
    return 1;
}

mynn_status mynn_set_encoding(mynn_net *net, const mynn_encoding *e)
{
    if (!net) return mn_error(MYNN_ERR_NULL, "mynn_set_encoding: net is NULL");
    if (!e) {
        mynn_status s = mn_net_set_meta(net, "class_names", "");
        if (!s) s = mn_net_set_meta(net, "input_encoding", "");
        if (!s) s = mn_net_set_meta(net, "missing", "");
        return s;
    }
    if (mn_encoding_width(e) != net->n_inputs)
        return mn_error(MYNN_ERR_SHAPE, "mynn_set_encoding: the encoding gives %ld inputs, the network takes %d",
                        mn_encoding_width(e), net->n_inputs);
    int k = mynn_n_outputs(net);
    if (e->n_classes && !(e->n_classes == k || (e->n_classes == 2 && k == 1)))
        return mn_error(MYNN_ERR_SHAPE,
                        "mynn_set_encoding: %d named classes, but the network has %d outputs",
                        e->n_classes, k);
    int ok = names_valid(e->classes, e->n_classes);
    for (int i = 0; ok && i < e->n_cols; i++) ok = names_valid(e->cols[i].cats, e->cols[i].n_cats);
    if (!ok)
        return mn_error(MYNN_ERR_ARG,
                        "mynn_set_encoding: names must be valid UTF-8, distinct and sorted");
    jbuf cn = {0}, ie = {0};
    jb_names(&cn, e->classes, e->n_classes);
    jb_columns(&ie, e);
    mynn_status s = cn.oom || ie.oom ? mn_error(MYNN_ERR_NOMEM, "mynn_set_encoding: out of memory")
                                     : MYNN_OK;
    if (!s) s = mn_net_set_meta(net, "class_names", e->n_classes ? cn.p : "");
    if (!s) s = mn_net_set_meta(net, "input_encoding", ie.p);
    if (!s) s = mn_net_set_meta(net, "missing", mynn_missing_name(e->missing));
    free(cn.p);
    free(ie.p);
    return s;
}

/* ---- reading ------------------------------------------------------------- */

#define BAD(...) mn_error(MYNN_ERR_FORMAT, __VA_ARGS__)

/* A JSON array of strictly increasing UTF-8 strings into *names. */
static mynn_status read_names(const mn_json *v, const char *what, char ***names, int *n)
{
    if (!v || v->type != MN_JSON_ARRAY) return BAD("metadata %s: not a JSON array", what);
    if (v->n > MN_ENC_MAX_NAMES) return BAD("metadata %s: more than %d names", what, MN_ENC_MAX_NAMES);
    *names = mn_calloc(v->n ? v->n : 1, sizeof **names, "encoding names");
    if (!*names) return MYNN_ERR_NOMEM;
    *n = 0;
    for (size_t i = 0; i < v->n; i++) {
        const mn_json *s = &v->items[i];
        if (s->type != MN_JSON_STRING) return BAD("metadata %s: entry %zu is not a string", what, i);
        if (i && strcmp(s->s, (*names)[i - 1]) <= 0)
            return BAD("metadata %s: \"%.40s\" is not after \"%.40s\" (names must be distinct and sorted)",
                       what, s->s, (*names)[i - 1]);
        if (!((*names)[i] = malloc(s->len + 1))) return mn_error(MYNN_ERR_NOMEM, "out of memory");
        memcpy((*names)[i], s->s, s->len + 1);
        *n = (int)i + 1;
    }
    return MYNN_OK;
}

static mynn_status read_column(const mn_json *v, size_t i, mn_enc_col *c)
{
    const mn_json *t = v->type == MN_JSON_OBJECT ? mn_json_get(v, "type") : NULL;
    if (!t || t->type != MN_JSON_STRING)
        return BAD("metadata input_encoding: column %zu has no \"type\"", i);
    if (strcmp(t->s, "categorical") == 0) {
        char what[64];
        snprintf(what, sizeof what, "input_encoding column %zu", i);
        mynn_status s = read_names(mn_json_get(v, "categories"), what, &c->cats, &c->n_cats);
        if (!s && c->n_cats == 0) s = BAD("metadata %s: no categories", what);
        return s;
    }
    if (strcmp(t->s, "numeric") != 0)
        return BAD("metadata input_encoding: column %zu: unknown type \"%.32s\"", i, t->s);
    const mn_json *f = mn_json_get(v, "fill");
    if (!f) return MYNN_OK;
    if (f->type != MN_JSON_STRING || mn_parse_float_str(f->s, &c->fill) != 0)
        return BAD("metadata input_encoding: column %zu: fill is not a finite number", i);
    c->has_fill = 1;
    return MYNN_OK;
}

static mynn_status parse_json(const char *key, const char *text, mn_json **v)
{
    char err[160];
    mynn_status s = mn_json_parse(text, strlen(text), v, err, sizeof err);
    if (s == MYNN_ERR_FORMAT) return BAD("metadata %s: %s", key, err);
    return s ? mn_error(s, "metadata %s: out of memory", key) : MYNN_OK;
}

static mynn_status read_encoding(const mynn_net *net, mynn_encoding **out)
{
    const char *ie = mynn_metadata(net, "input_encoding");
    const char *cn = mynn_metadata(net, "class_names");
    const char *mi = mynn_metadata(net, "missing");
    mn_json *cols = NULL, *names = NULL;
    mynn_status s = parse_json("input_encoding", ie, &cols);
    if (!s && cols->type != MN_JSON_ARRAY) s = BAD("metadata input_encoding: not a JSON array");
    if (!s && (cols->n < 1 || cols->n > (1u << 24)))
        s = BAD("metadata input_encoding: %zu columns", cols->n);
    mynn_encoding *e = s ? NULL : mn_encoding_new((int)cols->n);
    if (!s && !e) s = MYNN_ERR_NOMEM;
    for (size_t i = 0; !s && i < cols->n; i++) s = read_column(&cols->items[i], i, &e->cols[i]);
    if (!s && *cn) s = parse_json("class_names", cn, &names);
    if (!s && names) s = read_names(names, "class_names", &e->classes, &e->n_classes);
    if (!s && *mi && mynn_missing_from_name(mi, &e->missing) != MYNN_OK)
        s = BAD("metadata missing: unknown policy \"%.32s\"", mi);
    if (!s && mn_encoding_width(e) != net->n_inputs)
        s = BAD("metadata input_encoding: %ld encoded inputs, but the network takes %d",
                mn_encoding_width(e), net->n_inputs);
    int k = mynn_n_outputs(net);
    if (!s && e->n_classes && !(e->n_classes == k || (e->n_classes == 2 && k == 1)))
        s = BAD("metadata class_names: %d names, but the network has %d outputs", e->n_classes, k);
    mn_json_free(cols);
    mn_json_free(names);
    if (s) {
        mynn_encoding_free(e);
        return s;
    }
    *out = e;
    return MYNN_OK;
}

mynn_status mynn_get_encoding(const mynn_net *net, mynn_encoding **out)
{
    if (!out) return mn_error(MYNN_ERR_NULL, "mynn_get_encoding: out is NULL");
    *out = NULL;
    if (!net) return mn_error(MYNN_ERR_NULL, "mynn_get_encoding: net is NULL");
    if (!*mynn_metadata(net, "input_encoding")) return MYNN_OK;
    return read_encoding(net, out);
}
