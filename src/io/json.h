/* A small, strict JSON reader (RFC 8259) for headers such as safetensors'.
 *
 * Accepted: objects, arrays, strings (every escape, \uXXXX with surrogate
 * pairs, strictly validated UTF-8), integers, true, false, null.  Refused,
 * with a message naming the byte offset: numbers with a fraction or an
 * exponent, integers outside the 64-bit range, leading zeros, "\u0000",
 * unescaped control characters, duplicate keys in one object, nesting
 * deeper than MN_JSON_MAX_DEPTH, more than MN_JSON_MAX_NODES values, and
 * anything but white space after the value.  The input is a byte buffer of
 * known length: it need not be NUL-terminated and is never read past its
 * end.  Not part of the public API. */
#ifndef MN_JSON_H
#define MN_JSON_H

#include "mynn.h"

#include <stddef.h>
#include <stdint.h>

#define MN_JSON_MAX_DEPTH 64
#define MN_JSON_MAX_NODES ((size_t)1 << 20)

typedef enum mn_json_type {
    MN_JSON_NULL = 0,
    MN_JSON_FALSE,
    MN_JSON_TRUE,
    MN_JSON_INT,
    MN_JSON_STRING,
    MN_JSON_ARRAY,
    MN_JSON_OBJECT
} mn_json_type;

typedef struct mn_json mn_json;
struct mn_json {
    mn_json_type type;
    /* MN_JSON_INT: the value is -u when negative, else u. */
    int negative;
    uint64_t u;
    /* MN_JSON_STRING: UTF-8, NUL-terminated (never holds a NUL). */
    char *s;
    size_t len;
    /* MN_JSON_ARRAY / MN_JSON_OBJECT: n values in document order; objects
     * also have n keys (NUL-terminated UTF-8), keys[i] naming items[i]. */
    size_t n;
    mn_json *items;
    char **keys;
};

/* Parse the len bytes at buf.  On success returns MYNN_OK and *out (free
 * with mn_json_free).  On failure *out is NULL, the return value is
 * MYNN_ERR_FORMAT (or MYNN_ERR_NOMEM) and err (errsize bytes, may be NULL)
 * receives a message such as "byte 17: expected ':' after an object key".
 * mynn_last_error() is not touched: callers add their own context. */
mynn_status mn_json_parse(const char *buf, size_t len, mn_json **out, char *err, size_t errsize);
void mn_json_free(mn_json *v);

/* The value of key in object obj, or NULL (also when obj is not an object). */
const mn_json *mn_json_get(const mn_json *obj, const char *key);

/* A readable name for a type: "string", "integer", "object", ... */
const char *mn_json_type_name(mn_json_type t);

/* Non-zero if the n bytes at s are well-formed UTF-8 (no overlong forms,
 * no surrogates, nothing above U+10FFFF). */
int mn_json_utf8_valid(const char *s, size_t n);

#endif
