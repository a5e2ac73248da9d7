/* core/export - protocol-buffers encoding (pb.h). */
#include <stdlib.h>
#include <string.h>

#include "core/export/pb.h"

void ie_pb_free(ie_pb *b) {
    free(b->data);
    memset(b, 0, sizeof *b);
}

bool ie_pb_ok(const ie_pb *b) { return !b->failed; }

static void put(ie_pb *b, const void *p, size_t n) {
    if (b->failed) return;
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + n) cap *= 2;
        uint8_t *d = realloc(b->data, cap);
        if (!d) {
            b->failed = true;
            return;
        }
        b->data = d;
        b->cap = cap;
    }
    if (n) memcpy(b->data + b->len, p, n);
    b->len += n;
}

static void raw_varint(ie_pb *b, uint64_t v) {
    uint8_t buf[10];
    int n = 0;
    do {
        buf[n] = (uint8_t)(v & 0x7f);
        v >>= 7;
        if (v) buf[n] |= 0x80;
        n++;
    } while (v);
    put(b, buf, (size_t)n);
}

static void key(ie_pb *b, int field, int wire) { raw_varint(b, ((uint64_t)field << 3) | (uint64_t)wire); }

void ie_pb_varint(ie_pb *b, int field, uint64_t v) {
    key(b, field, 0);
    raw_varint(b, v);
}

void ie_pb_float(ie_pb *b, int field, float v) {
    uint32_t u;
    memcpy(&u, &v, 4);
    uint8_t le[4] = {(uint8_t)u, (uint8_t)(u >> 8), (uint8_t)(u >> 16), (uint8_t)(u >> 24)};
    key(b, field, 5);
    put(b, le, 4);
}

void ie_pb_bytes(ie_pb *b, int field, const void *data, size_t n) {
    key(b, field, 2);
    raw_varint(b, n);
    put(b, data, n);
}

void ie_pb_string(ie_pb *b, int field, const char *s) { ie_pb_bytes(b, field, s, strlen(s)); }

void ie_pb_message(ie_pb *b, int field, ie_pb *msg) {
    if (msg->failed) b->failed = true;
    else ie_pb_bytes(b, field, msg->data, msg->len);
    ie_pb_free(msg);
}

void ie_pb_append(ie_pb *b, ie_pb *other) {
    if (other->failed) b->failed = true;
    else put(b, other->data, other->len);
    ie_pb_free(other);
}

void ie_pb_raw(ie_pb *b, const void *data, size_t n) { put(b, data, n); }
