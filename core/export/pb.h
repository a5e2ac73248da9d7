/* core/export - a minimal protocol-buffers encoder (writing only).
 *
 * ONNX files are protobuf messages; the exporter needs to write a few of
 * their fields, not to parse any, so a growable byte buffer with varint,
 * fixed32 and length-delimited fields is all of protobuf it needs (no
 * library, no generated code).  Nested messages are encoded into their own
 * buffer and appended, because a length prefix must precede its message.
 * Allocation failure is sticky: every write after one does nothing and
 * ie_pb_ok() reports it once at the end. */
#ifndef IE_CORE_EXPORT_PB_H
#define IE_CORE_EXPORT_PB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct ie_pb {
    uint8_t *data;
    size_t len, cap;
    bool failed;
} ie_pb;

void ie_pb_free(ie_pb *b);
bool ie_pb_ok(const ie_pb *b);
/* wire type 0; negative int64 values take 10 bytes, as protobuf encodes them */
void ie_pb_varint(ie_pb *b, int field, uint64_t v);
/* wire type 5 */
void ie_pb_float(ie_pb *b, int field, float v);
/* wire type 2 */
void ie_pb_bytes(ie_pb *b, int field, const void *data, size_t n);
void ie_pb_string(ie_pb *b, int field, const char *s);
/* Appends raw bytes (no field key): for containers other than protobuf. */
void ie_pb_raw(ie_pb *b, const void *data, size_t n);
/* Appends other's bytes (already complete fields) to b and frees other. */
void ie_pb_append(ie_pb *b, ie_pb *other);
/* Appends `msg` as field `field` of b and frees msg (failure propagates). */
void ie_pb_message(ie_pb *b, int field, ie_pb *msg);

#endif
