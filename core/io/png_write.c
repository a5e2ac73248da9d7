/* core/io - a minimal PNG writer: one IDAT chunk, filter 0 on every row,
 * zlib's default compression.  Enough for dataset export and report
 * thumbnails, and about 30x faster than going through ITK with an fsync per
 * file (the dataset command makes the whole folder appear at once instead). */
#include "core/io/png_write.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

static void put32(uint8_t *p, uint32_t v) {
    p[0] = (uint8_t)(v >> 24), p[1] = (uint8_t)(v >> 16), p[2] = (uint8_t)(v >> 8), p[3] = (uint8_t)v;
}

/* Appends one chunk (length, type, data, CRC) at out + *at. */
static void chunk(uint8_t *out, size_t *at, const char *type, const uint8_t *data, uint32_t n) {
    uint8_t *p = out + *at;
    put32(p, n);
    memcpy(p + 4, type, 4);
    if (n) memcpy(p + 8, data, n);
    uLong crc = crc32(0L, (const Bytef *)type, 4);
    if (n) crc = crc32(crc, data, n);
    put32(p + 8 + n, (uint32_t)crc);
    *at += 12 + (size_t)n;
}

ie_status ie_png_encode(const uint8_t *pixels, int width, int height, int channels, uint8_t **png, size_t *size) {
    *png = NULL;
    *size = 0;
    if (width <= 0 || height <= 0 || (channels != 1 && channels != 3))
        return ie_error_set(IE_ERR_INVALID_ARG, "PNG: a %d x %d image with %d channels cannot be written", width,
                            height, channels);
    size_t row = (size_t)width * (size_t)channels;
    size_t raw_size = (size_t)height * (row + 1);
    uLongf packed_size = compressBound((uLong)raw_size);
    uint8_t *raw = malloc(raw_size), *packed = malloc(packed_size);
    ie_status st = raw && packed ? IE_OK : ie_error_set(IE_ERR_NOMEM, "PNG: out of memory");
    for (int y = 0; st == IE_OK && y < height; y++) {
        raw[(size_t)y * (row + 1)] = 0; /* filter: none */
        memcpy(raw + (size_t)y * (row + 1) + 1, pixels + (size_t)y * row, row);
    }
    if (st == IE_OK && compress(packed, &packed_size, raw, (uLong)raw_size) != Z_OK)
        st = ie_error_set(IE_ERR_INTERNAL, "PNG: zlib could not compress the image");
    uint8_t *out = st == IE_OK ? malloc(8 + 25 + 12 + (size_t)packed_size + 12) : NULL;
    if (st == IE_OK && !out) st = ie_error_set(IE_ERR_NOMEM, "PNG: out of memory");
    if (st == IE_OK) {
        static const uint8_t signature[8] = {137, 80, 78, 71, 13, 10, 26, 10};
        uint8_t ihdr[13] = {0};
        put32(ihdr, (uint32_t)width);
        put32(ihdr + 4, (uint32_t)height);
        ihdr[8] = 8;                        /* bit depth */
        ihdr[9] = channels == 3 ? 2 : 0;    /* colour type: RGB or grey; no interlace */
        size_t at = 8;
        memcpy(out, signature, 8);
        chunk(out, &at, "IHDR", ihdr, 13);
        chunk(out, &at, "IDAT", packed, (uint32_t)packed_size);
        chunk(out, &at, "IEND", NULL, 0);
        *png = out;
        *size = at;
    }
    free(raw);
    free(packed);
    return st;
}

ie_status ie_png_write_gray8(const char *path, const uint8_t *pixels, int width, int height) {
    uint8_t *png = NULL;
    size_t size = 0;
    ie_status st = ie_png_encode(pixels, width, height, 1, &png, &size);
    if (st != IE_OK) return ie_error_wrap(st, "%s", path);
    FILE *f = fopen(path, "wb");
    if (!f) st = ie_error_set(IE_ERR_IO, "%s: cannot write: %s", path, strerror(errno));
    if (f) {
        bool ok = fwrite(png, 1, size, f) == size;
        if (fclose(f) != 0 || !ok) st = ie_error_set(IE_ERR_IO, "%s: write failed (disk full?)", path);
    }
    free(png);
    return st;
}
