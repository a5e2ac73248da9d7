/* innereye/op_modes.h - the modes ops take (innereye/ops.h includes this
 * header, so plugins need not name it).
 *
 * They live apart from ops.h because the kernels below the ops read them
 * too (core/backend/pool_kernels.h): a kernel may include this header, not
 * the op front ends' (docs/architecture.md). */
#ifndef INNEREYE_OP_MODES_H
#define INNEREYE_OP_MODES_H

#ifdef __cplusplus
extern "C" {
#endif

/* ie_upsample: "nearest", or "bilinear"/"trilinear" by the number of
 * spatial dimensions. */
typedef enum ie_upsample_mode { IE_UPSAMPLE_NEAREST = 0, IE_UPSAMPLE_LINEAR = 1 } ie_upsample_mode;

#ifdef __cplusplus
}
#endif
#endif
