/* tools - writing 8-bit grey PNG files (for dataset export; reading goes
 * through ITK like every other image). */
#ifndef IE_TOOLS_PNG_WRITE_H
#define IE_TOOLS_PNG_WRITE_H

#include <stdint.h>

#include "innereye/status.h"

/* Writes a width x height 8-bit grey image (rows top to bottom) to path. */
ie_status ie_png_write_gray8(const char *path, const uint8_t *pixels, int width, int height);

#endif
