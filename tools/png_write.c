/* tools - a minimal PNG writer: one IDAT chunk, filter 0 on every row,
 * zlib's default compression.  Enough for dataset export, and about 30x
 * faster than going through ITK with an fsync per file (the dataset command
 * makes the whole folder appear at once instead). */
#include "tools/png_write.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

static void put32(uint8_t *p, uint32_t v) {
    p[0] = (uint8_t)(v >> 24), p[1] = (uint8_t)(v >> 16), p[2] = (uint8_t)(v >> 8), p[3] = (uint8_t)v;
}

static int chunk(FILE *f, const char *type, const uint8_t *data, uint32_t n) {
    uint8_t head[8];
    put32(head, n);
    memcpy(head + 4, type, 4);
    uLong crc = crc32(0L, (const Bytef *)type, 4);
    if (n) crc = crc32(crc, data, n);
    uint8_t tail[4];
    put32(tail, (uint32_t)crc);
    return fwrite(head, 1, 8, f) == 8 && (n == 0 || fwrite(data, 1, n, f) == n) && fwrite(tail, 1, 4, f) == 4;
}

ie_status ie_png_write_gray8(const char *path, const uint8_t *pixels, int width, int height) {
    size_t raw_size = (size_t)height * ((size_t)width + 1);
    uLongf packed_size = compressBound((uLong)raw_size);
    uint8_t *raw = malloc(raw_size), *packed = malloc(packed_size);
    ie_status st = raw && packed ? IE_OK : ie_error_set(IE_ERR_NOMEM, "%s: out of memory", path);
    for (int y = 0; st == IE_OK && y < height; y++) {
        raw[(size_t)y * (width + 1)] = 0; /* filter: none */
        memcpy(raw + (size_t)y * (width + 1) + 1, pixels + (size_t)y * width, (size_t)width);
    }
    if (st == IE_OK && compress(packed, &packed_size, raw, (uLong)raw_size) != Z_OK)
        st = ie_error_set(IE_ERR_INTERNAL, "%s: zlib could not compress the image", path);
    FILE *f = st == IE_OK ? fopen(path, "wb") : NULL;
    if (st == IE_OK && !f) st = ie_error_set(IE_ERR_IO, "%s: cannot write: %s", path, strerror(errno));
    if (st == IE_OK) {
        static const uint8_t signature[8] = {137, 80, 78, 71, 13, 10, 26, 10};
        uint8_t ihdr[13] = {0};
        put32(ihdr, (uint32_t)width);
        put32(ihdr + 4, (uint32_t)height);
        ihdr[8] = 8; /* bit depth; colour type 0 (grey), no interlace */
        int ok = fwrite(signature, 1, 8, f) == 8 && chunk(f, "IHDR", ihdr, 13) &&
                 chunk(f, "IDAT", packed, (uint32_t)packed_size) && chunk(f, "IEND", NULL, 0);
        if (fclose(f) != 0 || !ok) st = ie_error_set(IE_ERR_IO, "%s: write failed (disk full?)", path);
    }
    free(raw);
    free(packed);
    return st;
}
