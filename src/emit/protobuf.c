/* Protocol-buffers encoding: a field is a varint key (field << 3 | wire
 * type) followed by a varint, 4 little-endian bytes, or a varint length and
 * that many bytes. */
#include "protobuf.h"
#include "core/core.h"

#include <stdlib.h>
#include <string.h>

enum { WIRE_VARINT = 0, WIRE_LEN = 2, WIRE_FIXED32 = 5 };

void mn_pb_init(mn_pb *b) { memset(b, 0, sizeof *b); }

void mn_pb_free(mn_pb *b)
{
    free(b->data);
    mn_pb_init(b);
}

/* Room for n more bytes; 0 on success. */
static int reserve(mn_pb *b, size_t n)
{
    if (b->failed) return -1;
    if (n <= b->cap - b->len) return 0;
    unsigned char *p = NULL;
    size_t need = b->len + n, cap = b->cap ? b->cap : 4096;
    if (need >= b->len) {
        while (cap < need) cap = cap > (size_t)-1 / 2 ? need : cap * 2;
        p = realloc(b->data, cap);
    }
    if (!p) {
        b->failed = 1;
        mn_error(MYNN_ERR_NOMEM, "out of memory encoding %zu more bytes of protobuf", n);
        return -1;
    }
    b->data = p;
    b->cap = cap;
    return 0;
}

static size_t varint_size(uint64_t v)
{
    size_t n = 1;
    while (v >= 0x80) {
        v >>= 7;
        n++;
    }
    return n;
}

static void put_varint(unsigned char *o, uint64_t v)
{
    while (v >= 0x80) {
        *o++ = (unsigned char)(v | 0x80);
        v >>= 7;
    }
    *o = (unsigned char)v;
}

static void raw_varint(mn_pb *b, uint64_t v)
{
    if (reserve(b, 10)) return;
    put_varint(b->data + b->len, v);
    b->len += varint_size(v);
}

static void key(mn_pb *b, int field, int wire) { raw_varint(b, (uint64_t)field << 3 | (uint64_t)wire); }

void mn_pb_varint(mn_pb *b, int field, uint64_t v)
{
    key(b, field, WIRE_VARINT);
    raw_varint(b, v);
}

static void put_le32(unsigned char *o, float v)
{
    uint32_t u;
    memcpy(&u, &v, 4);
    for (int i = 0; i < 4; i++) o[i] = (unsigned char)(u >> (8 * i));
}

void mn_pb_float(mn_pb *b, int field, float v)
{
    key(b, field, WIRE_FIXED32);
    if (reserve(b, 4)) return;
    put_le32(b->data + b->len, v);
    b->len += 4;
}

void mn_pb_bytes(mn_pb *b, int field, const void *p, size_t n)
{
    key(b, field, WIRE_LEN);
    raw_varint(b, n);
    if (!n || reserve(b, n)) return;
    memcpy(b->data + b->len, p, n);
    b->len += n;
}

void mn_pb_string(mn_pb *b, int field, const char *s) { mn_pb_bytes(b, field, s, strlen(s)); }

void mn_pb_floats_le(mn_pb *b, int field, const float *v, size_t n)
{
    key(b, field, WIRE_LEN);
    raw_varint(b, (uint64_t)n * 4);
    if (!n || reserve(b, n * 4)) return;
    for (size_t i = 0; i < n; i++) put_le32(b->data + b->len + 4 * i, v[i]);
    b->len += n * 4;
}

size_t mn_pb_begin(mn_pb *b, int field)
{
    key(b, field, WIRE_LEN);
    return b->len;
}

void mn_pb_end(mn_pb *b, size_t mark)
{
    if (b->failed) return;
    size_t n = b->len - mark, k = varint_size(n);
    if (reserve(b, k)) return;
    memmove(b->data + mark + k, b->data + mark, n);
    put_varint(b->data + mark, n);
    b->len += k;
}
