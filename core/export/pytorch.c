/* core/export - PyTorch zip checkpoints (pytorch.h).
 *
 * The zip is "stored" (no compression), as torch.save writes it, with each
 * record's data aligned to 64 bytes through a padding extra field (torch's
 * own writer does the same so that tensors can be memory-mapped).  Sizes
 * stay below 4 GiB (no zip64), which is checked. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "core/util/file_util.h"
#include "core/export/pb.h"
#include "core/export/pytorch.h"

#define ALIGN 64

static void u16(ie_pb *b, uint32_t v) {
    uint8_t x[2] = {(uint8_t)v, (uint8_t)(v >> 8)};
    ie_pb_raw(b, x, 2);
}

static void u32(ie_pb *b, uint32_t v) {
    uint8_t x[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};
    ie_pb_raw(b, x, 4);
}

/* ---- the pickle (protocol 2) ---- */

static void op(ie_pb *p, char c) { ie_pb_raw(p, &c, 1); }

static void global(ie_pb *p, const char *module, const char *name) {
    op(p, 'c');
    ie_pb_raw(p, module, strlen(module));
    op(p, '\n');
    ie_pb_raw(p, name, strlen(name));
    op(p, '\n');
}

static void unicode(ie_pb *p, const char *s) {
    op(p, 'X');
    u32(p, (uint32_t)strlen(s));
    ie_pb_raw(p, s, strlen(s));
}

static void binint(ie_pb *p, int64_t v) { /* shapes and counts of our tensors fit 32 bits (checked) */
    op(p, 'J');
    u32(p, (uint32_t)(int32_t)v);
}

static void ordered_dict(ie_pb *p) {
    global(p, "collections", "OrderedDict");
    op(p, ')'); /* EMPTY_TUPLE */
    op(p, 'R'); /* REDUCE */
}

static void tensor(ie_pb *p, const ie_tensor *t, int key) {
    char k[16];
    snprintf(k, sizeof k, "%d", key);
    global(p, "torch._utils", "_rebuild_tensor_v2");
    op(p, '('); /* args */
    op(p, '('); /* persistent id: ('storage', type, key, location, numel) */
    unicode(p, "storage");
    global(p, "torch", ie_tensor_dtype(t) == IE_F32 ? "FloatStorage" : "LongStorage");
    unicode(p, k);
    unicode(p, "cpu");
    binint(p, ie_tensor_numel(t));
    op(p, 't');
    op(p, 'Q'); /* BINPERSID */
    binint(p, 0); /* storage offset */
    int nd = ie_tensor_ndim(t);
    const int64_t *shape = ie_tensor_shape(t);
    op(p, '(');
    for (int i = 0; i < nd; i++) binint(p, shape[i]);
    op(p, 't');
    op(p, '('); /* contiguous strides */
    for (int i = 0; i < nd; i++) {
        int64_t s = 1;
        for (int j = i + 1; j < nd; j++) s *= shape[j];
        binint(p, s);
    }
    op(p, 't');
    op(p, '\x89'); /* NEWFALSE: requires_grad */
    ordered_dict(p); /* backward hooks */
    op(p, 't');
    op(p, 'R');
}

/* ---- the zip ---- */

typedef struct entry {
    char name[300];
    uint32_t crc, size, offset;
} entry;

static void record(ie_pb *zip, entry *e, const char *name, const void *data, size_t size) {
    snprintf(e->name, sizeof e->name, "%s", name);
    e->crc = (uint32_t)crc32(0L, data, (uInt)size);
    e->size = (uint32_t)size;
    e->offset = (uint32_t)zip->len;
    size_t name_len = strlen(name), at = zip->len + 30 + name_len + 4;
    size_t pad = (ALIGN - at % ALIGN) % ALIGN;
    u32(zip, 0x04034b50);
    u16(zip, 20);  /* version needed */
    u16(zip, 0);   /* flags */
    u16(zip, 0);   /* stored */
    u16(zip, 0);   /* time */
    u16(zip, 0x21); /* date: 1980-01-01, fixed so the file depends only on the weights */
    u32(zip, e->crc);
    u32(zip, e->size);
    u32(zip, e->size);
    u16(zip, (uint32_t)name_len);
    u16(zip, (uint32_t)(4 + pad));
    ie_pb_raw(zip, name, name_len);
    u16(zip, 0x4246); /* "FB": padding, as torch's writer */
    u16(zip, (uint32_t)pad);
    static const uint8_t zeros[ALIGN] = {0};
    ie_pb_raw(zip, zeros, pad);
    ie_pb_raw(zip, data, size);
}

static void central(ie_pb *zip, const entry *e, int n) {
    uint32_t start = (uint32_t)zip->len;
    for (int i = 0; i < n; i++) {
        size_t name_len = strlen(e[i].name);
        u32(zip, 0x02014b50);
        u16(zip, 20);
        u16(zip, 20);
        u16(zip, 0);
        u16(zip, 0);
        u16(zip, 0);
        u16(zip, 0x21);
        u32(zip, e[i].crc);
        u32(zip, e[i].size);
        u32(zip, e[i].size);
        u16(zip, (uint32_t)name_len);
        u16(zip, 0); /* extra */
        u16(zip, 0); /* comment */
        u16(zip, 0); /* disk */
        u16(zip, 0); /* internal attributes */
        u32(zip, 0); /* external attributes */
        u32(zip, e[i].offset);
        ie_pb_raw(zip, e[i].name, name_len);
    }
    uint32_t size = (uint32_t)zip->len - start;
    u32(zip, 0x06054b50);
    u16(zip, 0);
    u16(zip, 0);
    u16(zip, (uint32_t)n);
    u16(zip, (uint32_t)n);
    u32(zip, size);
    u32(zip, start);
    u16(zip, 0);
}

ie_status ie_export_pytorch(const ie_params *params, const char *path) {
    int n = ie_params_count(params);
    uint64_t total = 0;
    for (int i = 0; i < n; i++) {
        const ie_tensor *t = ie_params_tensor(params, i);
        if (ie_tensor_dtype(t) != IE_F32 && ie_tensor_dtype(t) != IE_I64)
            return ie_error_set(IE_ERR_UNSUPPORTED, "export: tensor %s is %s; a PyTorch checkpoint is written for "
                                "float32 and int64 tensors", ie_params_name(params, i),
                                ie_dtype_name(ie_tensor_dtype(t)));
        if (ie_tensor_device(t) != IE_CPU)
            return ie_error_set(IE_ERR_UNSUPPORTED, "export: tensor %s is not on the CPU", ie_params_name(params, i));
        total += (uint64_t)ie_tensor_numel(t) * 8 + ALIGN + 400;
    }
    if (n == 0) return ie_error_set(IE_ERR_INVALID_ARG, "export: the model has no parameters");
    if (total >= (1ull << 31) || n > 60000)
        return ie_error_set(IE_ERR_UNSUPPORTED, "export: the model is larger than 2 GiB; PyTorch export writes "
                            "no zip64 archives");
    ie_pb pkl = {0}, zip = {0};
    op(&pkl, '\x80');
    op(&pkl, 2);
    ordered_dict(&pkl);
    op(&pkl, '(');
    for (int i = 0; i < n; i++) {
        unicode(&pkl, ie_params_name(params, i));
        tensor(&pkl, ie_params_tensor(params, i), i);
    }
    op(&pkl, 'u'); /* SETITEMS */
    op(&pkl, '.');
    entry *entries = calloc((size_t)n + 2, sizeof *entries);
    ie_status st = entries && ie_pb_ok(&pkl) ? IE_OK : ie_error_set(IE_ERR_NOMEM, "export: out of memory");
    if (st == IE_OK) {
        record(&zip, &entries[0], "archive/data.pkl", pkl.data, pkl.len);
        for (int i = 0; i < n; i++) {
            const ie_tensor *t = ie_params_tensor(params, i);
            char name[64];
            snprintf(name, sizeof name, "archive/data/%d", i);
            size_t bytes = (size_t)ie_tensor_numel(t) * (ie_tensor_dtype(t) == IE_F32 ? 4 : 8);
            record(&zip, &entries[1 + i], name, ie_tensor_data(t), bytes);
        }
        record(&zip, &entries[n + 1], "archive/version", "3\n", 2);
        central(&zip, entries, n + 2);
        st = ie_pb_ok(&zip) ? ie_write_file_atomic(path, (const char *)zip.data, zip.len)
                            : ie_error_set(IE_ERR_NOMEM, "export: out of memory");
    }
    free(entries);
    ie_pb_free(&pkl);
    ie_pb_free(&zip);
    return st;
}
