/* core/io - writing 8-bit PNG images, grey or RGB: dataset export (files)
 * and the report's pictures (bytes in memory, embedded in report.html).
 * Reading goes through ITK like every other image. */
#ifndef IE_CORE_IO_PNG_WRITE_H
#define IE_CORE_IO_PNG_WRITE_H

#include <stddef.h>
#include <stdint.h>

#include "innereye/status.h"

/* The PNG file's bytes of a width x height image with `channels` 1 (grey) or
 * 3 (RGB, interleaved) 8-bit samples per pixel, rows top to bottom.  *png is
 * malloc'd (free() it). */
ie_status ie_png_encode(const uint8_t *pixels, int width, int height, int channels, uint8_t **png, size_t *size);

/* Writes a width x height 8-bit grey image (rows top to bottom) to path. */
ie_status ie_png_write_gray8(const char *path, const uint8_t *pixels, int width, int height);

#endif
