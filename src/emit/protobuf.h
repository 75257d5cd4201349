/* A minimal protocol-buffers writer (enough for ONNX files): varint,
 * fixed32 and length-delimited fields appended to a growing buffer, and
 * nested messages whose length is filled in when they end.
 *
 *     mn_pb b;  mn_pb_init(&b);
 *     mn_pb_varint(&b, 1, 7);                  // field 1 = 7
 *     size_t m = mn_pb_begin(&b, 7);           // field 7: a sub-message
 *     mn_pb_string(&b, 2, "main");
 *     mn_pb_end(&b, m);
 *     if (b.failed) ...                         // an allocation failed
 *     ... b.data, b.len ...;  mn_pb_free(&b);
 *
 * Failure (out of memory) is sticky: later calls do nothing and failed
 * stays set; the message for mynn_last_error() is set once.  Not part of
 * the public API. */
#ifndef MN_PROTOBUF_H
#define MN_PROTOBUF_H

#include <stddef.h>
#include <stdint.h>

typedef struct mn_pb {
    unsigned char *data;
    size_t len, cap;
    int failed;
} mn_pb;

void mn_pb_init(mn_pb *b);
void mn_pb_free(mn_pb *b);

/* Wire type 0: an unsigned varint (negative int64 values are passed as
 * their two's-complement uint64, as protobuf encodes them). */
void mn_pb_varint(mn_pb *b, int field, uint64_t v);
/* Wire type 5: a float, little-endian. */
void mn_pb_float(mn_pb *b, int field, float v);
/* Wire type 2: bytes, a string (without its NUL). */
void mn_pb_bytes(mn_pb *b, int field, const void *p, size_t n);
void mn_pb_string(mn_pb *b, int field, const char *s);
/* Wire type 2: n floats as little-endian bytes (a TensorProto's raw_data). */
void mn_pb_floats_le(mn_pb *b, int field, const float *v, size_t n);

/* Start a sub-message in field; returns a mark for mn_pb_end, which writes
 * its length (moving the content to make room for the varint). */
size_t mn_pb_begin(mn_pb *b, int field);
void mn_pb_end(mn_pb *b, size_t mark);

#endif
