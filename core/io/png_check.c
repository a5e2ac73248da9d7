/* core/io - a PNG decoded once by libpng before ITK reads it.
 *
 * ITK 5.2's PNG reader installs no error handler around png_read_info, so a
 * damaged PNG (a bad chunk type, CRC or zlib stream) reaches libpng's default
 * handler, which calls abort(): one bad file among a dataset's thousands
 * would end the process (found by fuzz_image_header).  libpng's simplified
 * API reports every such error as a return value instead; decoding the whole
 * image with it, with the same library ITK uses, finds what ITK's reader
 * would abort on, header and pixels alike. */
#include "core/io/file_check.h"

#include <png.h>
#include <stdlib.h>
#include <string.h>

/* The largest decoded image checked: 2-D classification images are small;
 * a header claiming more is refused rather than allocated. */
#define IE_PNG_MAX_BYTES ((size_t)1 << 30)

ie_status ie_png_check(const char *op, const char *path) {
    png_image image;
    memset(&image, 0, sizeof image);
    image.version = PNG_IMAGE_VERSION;
    if (!png_image_begin_read_from_file(&image, path))
        return ie_error_set(IE_ERR_IO, "%s: %s: not a readable PNG (libpng: %s); the file is incomplete or damaged: "
                            "copy or export it again", op, path, image.message);
    const size_t bytes = PNG_IMAGE_SIZE(image);
    if (image.width == 0 || image.height == 0 || bytes > IE_PNG_MAX_BYTES) {
        png_image_free(&image);
        return ie_error_set(IE_ERR_IO, "%s: %s: PNG header claims %u x %u pixels (%zu bytes decoded, at most %zu); "
                            "the file is damaged or not a 2-D image InnerEye reads", op, path,
                            (unsigned)image.width, (unsigned)image.height, bytes, IE_PNG_MAX_BYTES);
    }
    void *pixels = malloc(bytes);
    if (!pixels) {
        png_image_free(&image);
        return ie_error_set(IE_ERR_NOMEM, "%s: %s: out of memory decoding %zu bytes", op, path, bytes);
    }
    const int ok = png_image_finish_read(&image, NULL, pixels, 0, NULL);
    free(pixels);
    ie_status st = IE_OK;
    if (!ok)
        st = ie_error_set(IE_ERR_IO, "%s: %s: the PNG data is damaged (libpng: %s); the file is incomplete or "
                          "damaged: copy or export it again", op, path, image.message);
    png_image_free(&image);
    return st;
}
