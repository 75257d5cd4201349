/* Strict JSON reader: recursive descent over a length-delimited buffer.
 * Every read goes through peek/at-end checks against the end pointer, so
 * no input, however malformed, makes it read past the buffer. */
#include "json.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct parser {
    const unsigned char *begin, *p, *end;
    size_t nodes;
    mynn_status status;
    char *err;
    size_t errsize;
} parser;

#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
static int fail(parser *ps, const char *fmt, ...)
{
    if (ps->status != MYNN_OK) return -1;   /* keep the first message */
    ps->status = MYNN_ERR_FORMAT;
    if (ps->err && ps->errsize) {
        int k = snprintf(ps->err, ps->errsize, "byte %zu: ", (size_t)(ps->p - ps->begin));
        if (k < 0) k = 0;
        if ((size_t)k < ps->errsize) {
            va_list ap;
            va_start(ap, fmt);
            vsnprintf(ps->err + k, ps->errsize - (size_t)k, fmt, ap);
            va_end(ap);
        }
    }
    return -1;
}

static int fail_nomem(parser *ps)
{
    if (ps->status != MYNN_OK) return -1;
    ps->status = MYNN_ERR_NOMEM;
    if (ps->err && ps->errsize) snprintf(ps->err, ps->errsize, "out of memory");
    return -1;
}

static void skip_ws(parser *ps)
{
    while (ps->p < ps->end &&
           (*ps->p == ' ' || *ps->p == '\t' || *ps->p == '\n' || *ps->p == '\r'))
        ps->p++;
}

/* Describe the byte at p for messages: 'x', end of input, or a hex byte. */
static const char *describe(const parser *ps, char *buf, size_t n)
{
    if (ps->p >= ps->end) return "the end of the input";
    unsigned c = *ps->p;
    if (c >= 0x21 && c < 0x7f) snprintf(buf, n, "'%c'", (char)c);
    else snprintf(buf, n, "byte 0x%02x", c);
    return buf;
}

/* Length of the valid UTF-8 sequence starting at s (at most avail bytes),
 * or 0 if it is malformed. */
static size_t utf8_seq(const unsigned char *s, size_t avail)
{
    unsigned c = s[0];
    if (c < 0x80) return 1;
    size_t n;
    unsigned lo = 0x80, hi = 0xbf;
    if (c >= 0xc2 && c <= 0xdf) n = 2;
    else if (c >= 0xe0 && c <= 0xef) {
        n = 3;
        if (c == 0xe0) lo = 0xa0;          /* overlong */
        else if (c == 0xed) hi = 0x9f;     /* surrogates */
    } else if (c >= 0xf0 && c <= 0xf4) {
        n = 4;
        if (c == 0xf0) lo = 0x90;          /* overlong */
        else if (c == 0xf4) hi = 0x8f;     /* above U+10FFFF */
    } else
        return 0;
    if (avail < n) return 0;
    if (s[1] < lo || s[1] > hi) return 0;
    for (size_t i = 2; i < n; i++)
        if (s[i] < 0x80 || s[i] > 0xbf) return 0;
    return n;
}

int mn_json_utf8_valid(const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s, *end = p + n;
    while (p < end) {
        size_t k = utf8_seq(p, (size_t)(end - p));
        if (!k) return 0;
        p += k;
    }
    return 1;
}

static int hex4(parser *ps, unsigned *out)
{
    if (ps->end - ps->p < 4) return fail(ps, "truncated \\u escape");
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        unsigned c = ps->p[i], d;
        if (c >= '0' && c <= '9') d = c - '0';
        else if (c >= 'a' && c <= 'f') d = c - 'a' + 10;
        else if (c >= 'A' && c <= 'F') d = c - 'A' + 10;
        else return fail(ps, "\\u must be followed by 4 hex digits");
        v = v * 16 + d;
    }
    ps->p += 4;
    *out = v;
    return 0;
}

static size_t put_utf8(unsigned char *o, unsigned cp)
{
    if (cp < 0x80) { o[0] = (unsigned char)cp; return 1; }
    if (cp < 0x800) {
        o[0] = (unsigned char)(0xc0 | (cp >> 6));
        o[1] = (unsigned char)(0x80 | (cp & 0x3f));
        return 2;
    }
    if (cp < 0x10000) {
        o[0] = (unsigned char)(0xe0 | (cp >> 12));
        o[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
        o[2] = (unsigned char)(0x80 | (cp & 0x3f));
        return 3;
    }
    o[0] = (unsigned char)(0xf0 | (cp >> 18));
    o[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3f));
    o[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
    o[3] = (unsigned char)(0x80 | (cp & 0x3f));
    return 4;
}

/* At the opening quote.  Decodes into a new buffer (*out, *out_len). */
static int parse_string(parser *ps, char **out, size_t *out_len)
{
    ps->p++;   /* the quote */
    /* Find the closing quote first: the decoded text is never longer. */
    const unsigned char *q = ps->p;
    while (q < ps->end && *q != '"') q += (*q == '\\' && q + 1 < ps->end) ? 2 : 1;
    if (q >= ps->end) return fail(ps, "unterminated string");
    unsigned char *buf = malloc((size_t)(q - ps->p) + 1), *o = buf;
    if (!buf) return fail_nomem(ps);
    while (*ps->p != '"') {
        unsigned c = *ps->p;
        if (c < 0x20) {
            free(buf);
            return fail(ps, "control character 0x%02x in a string (must be escaped)", c);
        }
        if (c != '\\') {
            size_t k = utf8_seq(ps->p, (size_t)(ps->end - ps->p));
            if (!k) {
                free(buf);
                return fail(ps, "invalid UTF-8 in a string");
            }
            memcpy(o, ps->p, k);
            o += k;
            ps->p += k;
            continue;
        }
        ps->p++;   /* the backslash; the scan above guarantees a next byte */
        c = *ps->p++;
        switch (c) {
        case '"': *o++ = '"'; break;
        case '\\': *o++ = '\\'; break;
        case '/': *o++ = '/'; break;
        case 'b': *o++ = '\b'; break;
        case 'f': *o++ = '\f'; break;
        case 'n': *o++ = '\n'; break;
        case 'r': *o++ = '\r'; break;
        case 't': *o++ = '\t'; break;
        case 'u': {
            unsigned cp = 0, lo = 0; /* set by hex4 on success; zeroed for the compiler */
            if (hex4(ps, &cp)) { free(buf); return -1; }
            if (cp >= 0xdc00 && cp <= 0xdfff) {
                free(buf);
                return fail(ps, "unpaired low surrogate \\u%04x", cp);
            }
            if (cp >= 0xd800 && cp <= 0xdbff) {
                if (ps->end - ps->p < 2 || ps->p[0] != '\\' || ps->p[1] != 'u') {
                    free(buf);
                    return fail(ps, "high surrogate \\u%04x not followed by a low one", cp);
                }
                ps->p += 2;
                if (hex4(ps, &lo)) { free(buf); return -1; }
                if (lo < 0xdc00 || lo > 0xdfff) {
                    free(buf);
                    return fail(ps, "high surrogate \\u%04x not followed by a low one", cp);
                }
                cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
            }
            if (cp == 0) {
                free(buf);
                return fail(ps, "\\u0000 is not supported in strings");
            }
            o += put_utf8(o, cp);
            break;
        }
        default:
            ps->p--;
            free(buf);
            return fail(ps, "invalid escape '\\%c'", c >= 0x20 && c < 0x7f ? (char)c : '?');
        }
    }
    ps->p++;   /* closing quote */
    *o = '\0';
    *out_len = (size_t)(o - buf);
    *out = (char *)buf;
    return 0;
}

static int parse_number(parser *ps, mn_json *v)
{
    const unsigned char *start = ps->p;
    v->type = MN_JSON_INT;
    if (*ps->p == '-') {
        v->negative = 1;
        ps->p++;
    }
    if (ps->p >= ps->end || *ps->p < '0' || *ps->p > '9') return fail(ps, "expected a digit");
    if (*ps->p == '0' && ps->p + 1 < ps->end && ps->p[1] >= '0' && ps->p[1] <= '9')
        return fail(ps, "leading zero in a number");
    uint64_t u = 0;
    while (ps->p < ps->end && *ps->p >= '0' && *ps->p <= '9') {
        unsigned d = *ps->p - '0';
        if (u > (UINT64_MAX - d) / 10) {
            ps->p = start;
            return fail(ps, "integer out of the 64-bit range");
        }
        u = u * 10 + d;
        ps->p++;
    }
    if (ps->p < ps->end && (*ps->p == '.' || *ps->p == 'e' || *ps->p == 'E')) {
        ps->p = start;
        return fail(ps, "only integers are supported (no fraction or exponent)");
    }
    if (v->negative && u > (uint64_t)INT64_MAX + 1) {
        ps->p = start;
        return fail(ps, "integer out of the 64-bit range");
    }
    v->u = u;
    return 0;
}

static int literal(parser *ps, const char *word)
{
    size_t n = strlen(word);
    if ((size_t)(ps->end - ps->p) < n || memcmp(ps->p, word, n) != 0) {
        char d[16];
        return fail(ps, "unexpected %s", describe(ps, d, sizeof d));
    }
    ps->p += n;
    return 0;
}

static int parse_value(parser *ps, mn_json *v, int depth);

static int cmp_keys(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Duplicate keys: sort a copy of the key pointers and compare neighbours. */
static int check_duplicates(parser *ps, const mn_json *v, const unsigned char *obj_start)
{
    if (v->n < 2) return 0;
    char **k = malloc(v->n * sizeof *k);
    if (!k) return fail_nomem(ps);
    memcpy(k, v->keys, v->n * sizeof *k);
    qsort(k, v->n, sizeof *k, cmp_keys);
    for (size_t i = 1; i < v->n; i++)
        if (strcmp(k[i - 1], k[i]) == 0) {
            char name[64];
            snprintf(name, sizeof name, "%s", k[i]);
            free(k);
            ps->p = obj_start;
            return fail(ps, "duplicate key \"%s\" in an object", name);
        }
    free(k);
    return 0;
}

/* Make room for one more member of an array/object. */
static int grow(parser *ps, mn_json *v, size_t *cap, int with_keys)
{
    if (v->n < *cap) return 0;
    size_t nc = *cap ? *cap * 2 : 4;
    mn_json *items = realloc(v->items, nc * sizeof *items);
    if (!items) return fail_nomem(ps);
    v->items = items;
    if (with_keys) {
        char **keys = realloc(v->keys, nc * sizeof *keys);
        if (!keys) return fail_nomem(ps);
        v->keys = keys;
    }
    *cap = nc;
    return 0;
}

static int parse_container(parser *ps, mn_json *v, int depth, int is_object)
{
    const unsigned char *start = ps->p;
    char close = is_object ? '}' : ']';
    v->type = is_object ? MN_JSON_OBJECT : MN_JSON_ARRAY;
    if (depth >= MN_JSON_MAX_DEPTH) return fail(ps, "nesting deeper than %d", MN_JSON_MAX_DEPTH);
    ps->p++;
    skip_ws(ps);
    if (ps->p < ps->end && *ps->p == close) {
        ps->p++;
        return 0;
    }
    size_t cap = 0;
    for (;;) {
        char d[16];
        skip_ws(ps);
        if (grow(ps, v, &cap, is_object)) return -1;
        if (is_object) {
            if (ps->p >= ps->end || *ps->p != '"')
                return fail(ps, "expected a string key, found %s", describe(ps, d, sizeof d));
            size_t klen;
            if (parse_string(ps, &v->keys[v->n], &klen)) return -1;
            skip_ws(ps);
            if (ps->p >= ps->end || *ps->p != ':') {
                free(v->keys[v->n]);
                return fail(ps, "expected ':' after an object key, found %s",
                            describe(ps, d, sizeof d));
            }
            ps->p++;
            skip_ws(ps);
        }
        memset(&v->items[v->n], 0, sizeof v->items[v->n]);
        v->n++;   /* counted now so that a failure below frees what was built */
        if (parse_value(ps, &v->items[v->n - 1], depth + 1)) return -1;
        skip_ws(ps);
        if (ps->p < ps->end && *ps->p == ',') {
            ps->p++;
            skip_ws(ps);
            if (ps->p < ps->end && *ps->p == close)
                return fail(ps, "trailing comma before '%c'", close);
            continue;
        }
        if (ps->p < ps->end && *ps->p == close) {
            ps->p++;
            break;
        }
        return fail(ps, "expected ',' or '%c', found %s", close, describe(ps, d, sizeof d));
    }
    return is_object ? check_duplicates(ps, v, start) : 0;
}

static int parse_value(parser *ps, mn_json *v, int depth)
{
    char d[16];
    if (++ps->nodes > MN_JSON_MAX_NODES)
        return fail(ps, "more than %zu values", (size_t)MN_JSON_MAX_NODES);
    skip_ws(ps);
    if (ps->p >= ps->end) return fail(ps, "expected a value, found the end of the input");
    switch (*ps->p) {
    case '{': return parse_container(ps, v, depth, 1);
    case '[': return parse_container(ps, v, depth, 0);
    case '"':
        v->type = MN_JSON_STRING;
        return parse_string(ps, &v->s, &v->len);
    case 't': v->type = MN_JSON_TRUE; return literal(ps, "true");
    case 'f': v->type = MN_JSON_FALSE; return literal(ps, "false");
    case 'n': v->type = MN_JSON_NULL; return literal(ps, "null");
    default:
        if (*ps->p == '-' || (*ps->p >= '0' && *ps->p <= '9')) return parse_number(ps, v);
        return fail(ps, "expected a value, found %s", describe(ps, d, sizeof d));
    }
}

static void free_children(mn_json *v)
{
    if (v->type == MN_JSON_STRING) free(v->s);
    if (v->type == MN_JSON_ARRAY || v->type == MN_JSON_OBJECT) {
        for (size_t i = 0; i < v->n; i++) {
            free_children(&v->items[i]);
            if (v->keys) free(v->keys[i]);
        }
        free(v->items);
        free(v->keys);
    }
}

void mn_json_free(mn_json *v)
{
    if (!v) return;
    free_children(v);
    free(v);
}

mynn_status mn_json_parse(const char *buf, size_t len, mn_json **out, char *err, size_t errsize)
{
    if (err && errsize) err[0] = '\0';
    if (!out) return MYNN_ERR_NULL;
    *out = NULL;
    if (!buf && len) return MYNN_ERR_NULL;
    static const unsigned char empty[1] = {0};
    parser ps = {0};
    ps.begin = ps.p = buf ? (const unsigned char *)buf : empty;
    ps.end = ps.begin + len;
    ps.err = err;
    ps.errsize = errsize;
    mn_json *v = calloc(1, sizeof *v);
    if (!v) {
        fail_nomem(&ps);
        return ps.status;
    }
    if (parse_value(&ps, v, 0) == 0) {
        skip_ws(&ps);
        if (ps.p < ps.end) fail(&ps, "unexpected data after the JSON value");
    }
    if (ps.status != MYNN_OK) {
        mn_json_free(v);
        return ps.status;
    }
    *out = v;
    return MYNN_OK;
}

const mn_json *mn_json_get(const mn_json *obj, const char *key)
{
    if (!obj || obj->type != MN_JSON_OBJECT || !key) return NULL;
    for (size_t i = 0; i < obj->n; i++)
        if (strcmp(obj->keys[i], key) == 0) return &obj->items[i];
    return NULL;
}

const char *mn_json_type_name(mn_json_type t)
{
    switch (t) {
    case MN_JSON_NULL: return "null";
    case MN_JSON_FALSE:
    case MN_JSON_TRUE: return "boolean";
    case MN_JSON_INT: return "integer";
    case MN_JSON_STRING: return "string";
    case MN_JSON_ARRAY: return "array";
    case MN_JSON_OBJECT: return "object";
    }
    return "unknown";
}
