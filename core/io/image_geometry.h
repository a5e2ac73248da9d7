/* core/io - checks on image geometry shared by the ITK wrapper and the C side. */
#ifndef IE_CORE_IO_IMAGE_GEOMETRY_H
#define IE_CORE_IO_IMAGE_GEOMETRY_H

#include "innereye/image_io.h"

#ifdef __cplusplus
extern "C" {
#endif

/* A geometry an image can have: ndim 2 or 3, sizes >= 1, positive finite
 * spacing, finite origin, finite non-singular direction.  Fails with
 * IE_ERR_INVALID_ARG and a message starting with `context`. */
ie_status ie_image_geometry_check(const char *context, const ie_image_geometry *geometry);

#ifdef __cplusplus
}
#endif
#endif
