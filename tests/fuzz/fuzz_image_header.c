/* tests/fuzz - image headers: the input is an image file, named by what it
 * starts with (NRRD magic: .nrrd; gzip: .nii.gz; a NIfTI header size: .nii;
 * else .mha).  It goes through InnerEye's own integrity checks
 * (core/io/file_check.c) and ITK's header read with InnerEye's shape and
 * geometry checks (core/io/itk_image_io.cxx); when the header passes and the
 * image is small, the voxels are read too (conversion, NaN checks).  ITK
 * itself is not built with the fuzzer's instrumentation, so coverage counts
 * only InnerEye's code. */
#include "tests/fuzz/fuzz_util.h"

#include "core/io/file_check.h"
#include "innereye/image_io.h"
#include "innereye/tensor.h"

static const char *file_name(const uint8_t *data, size_t size) {
    if (size >= 4 && memcmp(data, "NRRD", 4) == 0) return "image.nrrd";
    if (size >= 2 && data[0] == 0x1f && data[1] == 0x8b) return "image.nii.gz";
    if (size >= 4) {
        uint32_t le = (uint32_t)data[0] | (uint32_t)data[1] << 8 | (uint32_t)data[2] << 16 | (uint32_t)data[3] << 24;
        uint32_t be = __builtin_bswap32(le);
        if (le == 348 || be == 348 || le == 540 || be == 540) return "image.nii";
    }
    return "image.mha";
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char path[256];
    const char *name = file_name(data, size);
    fuzz_write(name, data, size, path);
    ie_status checked;
    if (strstr(name, ".nii")) {
        (void)ie_nifti2_header(path);
        checked = ie_nifti_check("fuzz", path);
    } else if (strstr(name, ".mha")) {
        checked = ie_metaimage_check("fuzz", path);
    } else {
        checked = IE_OK; /* NRRD: ITK's reader is the check */
    }
    fuzz_check_message(checked, path);

    ie_image_geometry geometry;
    ie_status st = ie_image_read_geometry(path, &geometry);
    fuzz_check_message(st, path);
    if (st != IE_OK || checked != IE_OK) return 0;
    int64_t shape[3];
    int nd = ie_image_geometry_shape(&geometry, shape);
    int64_t numel = 1;
    for (int i = 0; i < nd; i++) {
        if (shape[i] <= 0 || shape[i] > (1 << 20)) return 0;
        numel *= shape[i];
    }
    if (nd < 2 || numel > (1 << 20)) return 0; /* big (checked) images: memory, not coverage */
    ie_tensor *t = NULL;
    st = ie_image_read(path, IE_F32, &t, NULL);
    fuzz_check_message(st, path);
    ie_tensor_release(t);
    return 0;
}
