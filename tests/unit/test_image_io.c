/* tests - image IO without the shared data: round trips through every
 * writable format, label typing, files whose geometry is known independently
 * of ITK (hand-written NRRD/MetaImage headers, NIfTI written by nibabel, a
 * DICOM series written by pydicom), damaged and wrong files, atomic writes,
 * geometry helpers.
 * The real MRI/CT cases are in test_image_io_data.c. */
#include "image_io_test_util.h"

#include <signal.h>
#include <stdint.h>
#include <sys/resource.h>

/* The oblique grid of tests/reference/gen_dicom_series.py, also written by
 * hand into the NRRD and MetaImage headers below: axes x = (0.6, 0.8, 0),
 * y = (-0.48, 0.36, 0.8), z = x cross y = (0.64, -0.48, 0.6) in LPS. */
static ie_image_geometry oblique_geometry(void) {
    ie_image_geometry g = {
        .ndim = 3,
        .size = {8, 6, 5},
        .spacing = {0.7, 0.9, 2.5},
        .origin = {-12.5, 30.25, 100.0},
        .direction = {0.6, -0.48, 0.64, 0.8, 0.36, -0.48, 0.0, 0.8, 0.6},
    };
    return g;
}

/* Voxel [k][r][c] of the DICOM fixture and the hand-written files, in HU. */
static int oblique_value(int k, int r, int c) { return -1000 + 100 * k + 10 * r + c; }

static void check_oblique_voxels(const char *what, const ie_tensor *t) {
    CHECK(ie_tensor_ndim(t) == 3 && ie_tensor_dim(t, 0) == 5 && ie_tensor_dim(t, 1) == 6 && ie_tensor_dim(t, 2) == 8,
          "%s: shape is not [5, 6, 8]", what);
    if (ie_tensor_numel(t) != 240) return;
    int bad = 0;
    for (int k = 0; k < 5; k++)
        for (int r = 0; r < 6; r++)
            for (int c = 0; c < 8; c++) {
                int64_t i = (k * 6 + r) * 8 + c;
                double v = ie_tensor_dtype(t) == IE_F32 ? ie_tensor_data_f32(t)[i]
                           : ie_tensor_dtype(t) == IE_I32 ? ((int32_t *)ie_tensor_data(t))[i]
                                                          : (double)((int64_t *)ie_tensor_data(t))[i];
                if (v != oblique_value(k, r, c) && bad++ < 3)
                    CHECK(0, "%s: voxel [%d][%d][%d] is %g, want %d", what, k, r, c, v, oblique_value(k, r, c));
            }
    CHECK(bad == 0, "%s: %d voxels differ", what, bad);
}

static void check_geometry(const char *what, const ie_image_geometry *got, const ie_image_geometry *want, double tol) {
    char why[512], desc[512];
    CHECK(ie_image_geometry_equal(want, got, tol, why, sizeof why), "%s: geometry %s differs: %s", what,
          ie_image_geometry_describe(got, desc, sizeof desc), why);
}

static int16_t oblique_short(int64_t i) {
    int c = (int)(i % 8), r = (int)(i / 8 % 6), k = (int)(i / 48);
    return (int16_t)oblique_value(k, r, c);
}

static void write_oblique_raw(const char *path) {
    int16_t v[240];
    for (int i = 0; i < 240; i++) v[i] = oblique_short(i); /* little endian on x86-64 */
    write_bytes(path, v, sizeof v);
}

/* ---- hand-written headers: geometry set by text, read through ITK ---- */

static void test_handwritten_formats(void) {
    const ie_image_geometry want = oblique_geometry();
    ie_tensor *t = NULL;
    ie_image_geometry g;

    /* NRRD: "space directions" are the axis vectors scaled by the spacing. */
    write_oblique_raw(scratch_path("vol.raw"));
    const char *nhdr = "NRRD0004\ntype: short\ndimension: 3\nspace: left-posterior-superior\nsizes: 8 6 5\n"
                       "space directions: (0.42,0.56,0) (-0.432,0.324,0.72) (1.6,-1.2,1.5)\n"
                       "kinds: domain domain domain\nendian: little\nencoding: raw\n"
                       "space origin: (-12.5,30.25,100)\ndata file: vol.raw\n";
    write_bytes(scratch_path("vol.nhdr"), nhdr, strlen(nhdr));
    CHECK_OK(ie_image_read(scratch_path("vol.nhdr"), IE_F32, &t, &g));
    check_geometry("hand-written .nhdr", &g, &want, 1e-12);
    check_oblique_voxels("hand-written .nhdr", t);
    ie_tensor_release(t);

    /* MetaImage: TransformMatrix lists the x, y and z axis vectors in turn. */
    const char *mhd_head = "ObjectType = Image\nNDims = 3\nBinaryData = True\nBinaryDataByteOrderMSB = False\n"
                           "CompressedData = False\nTransformMatrix = 0.6 0.8 0 -0.48 0.36 0.8 0.64 -0.48 0.6\n"
                           "Offset = -12.5 30.25 100\nElementSpacing = 0.7 0.9 2.5\nDimSize = 8 6 5\n"
                           "ElementType = MET_SHORT\n";
    char text[1024];
    snprintf(text, sizeof text, "%sElementDataFile = vol.raw\n", mhd_head);
    write_bytes(scratch_path("vol.mhd"), text, strlen(text));
    CHECK_OK(ie_image_read(scratch_path("vol.mhd"), IE_I32, &t, &g));
    check_geometry("hand-written .mhd", &g, &want, 0);
    check_oblique_voxels("hand-written .mhd", t);
    ie_tensor_release(t);

    /* The same as one .mha file with the voxels after the header. */
    int16_t v[240];
    for (int i = 0; i < 240; i++) v[i] = oblique_short(i);
    snprintf(text, sizeof text, "%sElementDataFile = LOCAL\n", mhd_head);
    write_bytes(scratch_path("vol.mha"), text, strlen(text));
    append_bytes(scratch_path("vol.mha"), v, sizeof v);
    CHECK_OK(ie_image_read(scratch_path("vol.mha"), IE_F32, &t, &g));
    check_geometry("hand-written .mha", &g, &want, 0);
    check_oblique_voxels("hand-written .mha", t);
    ie_tensor_release(t);

    /* Truncated uncompressed MetaImage: ITK alone would read it "successfully". */
    const char *cut = scratch_path("cut.mha");
    copy_prefix(scratch_path("vol.mha"), cut, (long)strlen(text) + 300);
    CHECK_FAILS(ie_image_read(cut, IE_F32, &t, &g), IE_ERR_IO, cut);
    CHECK(strstr(ie_error_message(), "truncated") != NULL, "message: %s", ie_error_message());
    CHECK(t == NULL, "a failed read returns no tensor");
    /* A .mhd whose data file is missing. */
    snprintf(text, sizeof text, "%sElementDataFile = gone.raw\n", mhd_head);
    write_bytes(scratch_path("gone.mhd"), text, strlen(text));
    CHECK_FAILS(ie_image_read(scratch_path("gone.mhd"), IE_F32, &t, &g), IE_ERR_IO, "gone.mhd");

    /* RGB voxels are refused, naming the component count. */
    const char *rgb = "ObjectType = Image\nNDims = 2\nDimSize = 4 3\nElementNumberOfChannels = 3\n"
                      "ElementType = MET_UCHAR\nElementDataFile = LOCAL\n";
    write_bytes(scratch_path("rgb.mha"), rgb, strlen(rgb));
    unsigned char pixels[36] = {0};
    append_bytes(scratch_path("rgb.mha"), pixels, sizeof pixels);
    CHECK_FAILS(ie_image_read(scratch_path("rgb.mha"), IE_F32, &t, &g), IE_ERR_UNSUPPORTED, "3 components");
    CHECK(strstr(ie_error_message(), "rgb.mha") != NULL, "message names the file: %s", ie_error_message());

    /* 4-D: refused unless the extra axes have size 1. */
    const char *four = "ObjectType = Image\nNDims = 4\nDimSize = 4 3 2 2\nElementType = MET_UCHAR\n"
                       "ElementDataFile = LOCAL\n";
    write_bytes(scratch_path("four.mha"), four, strlen(four));
    append_bytes(scratch_path("four.mha"), pixels, 48 > sizeof pixels ? sizeof pixels : 48);
    append_bytes(scratch_path("four.mha"), pixels, 12);
    CHECK_FAILS(ie_image_read(scratch_path("four.mha"), IE_F32, &t, &g), IE_ERR_UNSUPPORTED, "4-D");
    CHECK(strstr(ie_error_message(), "4x3x2x2") != NULL, "message gives the size: %s", ie_error_message());
    const char *flat4 = "ObjectType = Image\nNDims = 4\nDimSize = 4 3 2 1\nElementType = MET_UCHAR\n"
                        "ElementDataFile = LOCAL\n";
    write_bytes(scratch_path("flat4.mha"), flat4, strlen(flat4));
    unsigned char ramp[24];
    for (int i = 0; i < 24; i++) ramp[i] = (unsigned char)(i * 3);
    append_bytes(scratch_path("flat4.mha"), ramp, sizeof ramp);
    CHECK_OK(ie_image_read(scratch_path("flat4.mha"), IE_U8, &t, &g));
    CHECK(ie_tensor_ndim(t) == 3 && ie_tensor_dim(t, 0) == 2 && ie_tensor_dim(t, 1) == 3 && ie_tensor_dim(t, 2) == 4,
          "4-D image with a last axis of 1 reads as [2, 3, 4]");
    CHECK(g.ndim == 3 && memcmp(ie_tensor_data(t), ramp, 24) == 0, "its voxels in x-fastest order");
    ie_tensor_release(t);

    /* 2-D: [H, W], x is the last dimension. */
    const char *flat = "ObjectType = Image\nNDims = 2\nDimSize = 4 3\nElementSpacing = 0.5 2\nOffset = 1 2\n"
                       "ElementType = MET_UCHAR\nElementDataFile = LOCAL\n";
    write_bytes(scratch_path("flat.mha"), flat, strlen(flat));
    append_bytes(scratch_path("flat.mha"), ramp, 12);
    CHECK_OK(ie_image_read(scratch_path("flat.mha"), IE_U8, &t, &g));
    CHECK(ie_tensor_ndim(t) == 2 && ie_tensor_dim(t, 0) == 3 && ie_tensor_dim(t, 1) == 4, "2-D reads as [3, 4]");
    CHECK(g.ndim == 2 && g.size[0] == 4 && g.size[1] == 3 && g.size[2] == 1 && g.spacing[0] == 0.5 &&
              g.spacing[1] == 2 && g.origin[0] == 1 && g.origin[1] == 2 && g.direction[8] == 1,
          "2-D geometry");
    CHECK(((unsigned char *)ie_tensor_data(t))[5] == ramp[5], "2-D voxel [1][1] is stored element 5");
    ie_tensor_release(t);
}

/* ---- NIfTI written by nibabel ---- */

static void test_nibabel_files(void) {
    ie_tensor *t = NULL;
    ie_image_geometry g;
    const ie_image_geometry want = oblique_geometry();
    /* nibabel's RAS affine, float32 in the file: ITK's LPS geometry within 1e-6. */
    CHECK_OK(ie_image_read(IE_FIXTURE_DIR "/nifti_oblique.nii.gz", IE_F32, &t, &g));
    check_geometry("nibabel oblique NIfTI", &g, &want, IE_GEOMETRY_TOLERANCE);
    check_oblique_voxels("nibabel oblique NIfTI", t);
    ie_tensor_release(t);
    /* scl_slope 0.5 and scl_inter -10 are applied. */
    CHECK_OK(ie_image_read(IE_FIXTURE_DIR "/nifti_scaled.nii.gz", IE_F32, &t, &g));
    CHECK(ie_tensor_numel(t) == 24 && ie_tensor_dim(t, 0) == 2 && ie_tensor_dim(t, 2) == 4, "scaled NIfTI shape");
    int bad = 0;
    for (int i = 0; i < 24 && ie_tensor_numel(t) == 24; i++) bad += ie_tensor_data_f32(t)[i] != 0.5f * (float)i - 10.0f;
    CHECK(bad == 0, "scaled NIfTI: %d voxels are not 0.5 s - 10", bad);
    ie_tensor_release(t);
    /* Scaled to halves, so not labels: the first offender is stored 1 -> -9.5. */
    CHECK_FAILS(ie_image_read(IE_FIXTURE_DIR "/nifti_scaled.nii.gz", IE_I64, &t, &g), IE_ERR_IO, "is -9.5, not an integer");

    /* A .hdr/.img pair; then with its .img cut short, and without it. */
    CHECK_OK(ie_image_read(IE_FIXTURE_DIR "/nifti_pair.hdr", IE_I32, &t, &g));
    CHECK(ie_tensor_numel(t) == 24 && ((int32_t *)ie_tensor_data(t))[23] == 23 && g.spacing[0] == 2 &&
              g.spacing[1] == 3 && g.spacing[2] == 4,
          "NIfTI pair: voxels 0..23, spacing 2x3x4");
    ie_tensor_release(t);
    copy_prefix(IE_FIXTURE_DIR "/nifti_pair.hdr", scratch_path("pair.hdr"), -1);
    CHECK_FAILS(ie_image_read(scratch_path("pair.hdr"), IE_F32, &t, &g), IE_ERR_IO, "missing");
    copy_prefix(IE_FIXTURE_DIR "/nifti_pair.img", scratch_path("pair.img"), 20);
    CHECK_FAILS(ie_image_read(scratch_path("pair.hdr"), IE_F32, &t, &g), IE_ERR_IO, "truncated");
    CHECK(strstr(ie_error_message(), scratch_path("pair.hdr")) != NULL, "names the file: %s", ie_error_message());

    /* NIfTI-2: ITK 5.2 has no reader for it; say so rather than "not an image". */
    CHECK_FAILS(ie_image_read(IE_FIXTURE_DIR "/nifti2.nii.gz", IE_F32, &t, &g), IE_ERR_UNSUPPORTED, "is NIfTI-2");
}

/* ---- DICOM: a pydicom-made series with shuffled file names ---- */

static void test_dicom_series(void) {
    const char *dir = IE_FIXTURE_DIR "/dicom_series";
    const ie_image_geometry want = oblique_geometry();
    ie_tensor *t = NULL;
    ie_image_geometry g;
    CHECK_OK(ie_image_read(dir, IE_F32, &t, &g));
    /* Positions and orientation are decimal strings; the slice normal and gap
     * are computed from them, so allow rounding of the last bits. */
    check_geometry("DICOM series", &g, &want, 1e-9);
    check_oblique_voxels("DICOM series (f32, rescaled to HU)", t);
    ie_tensor_release(t);
    CHECK_OK(ie_image_read(dir, IE_I32, &t, NULL));
    check_oblique_voxels("DICOM series (i32)", t);
    ie_tensor_release(t);
    ie_image_geometry header;
    CHECK_OK(ie_image_read_geometry(dir, &header));
    check_geometry("DICOM series header", &header, &want, 1e-9);

    /* A prediction written for the series keeps its oblique geometry (NIfTI
     * stores it as float32, so within 1e-6). */
    CHECK_OK(ie_image_read(dir, IE_F32, &t, &g));
    ie_image_geometry back;
    ie_tensor *u = NULL;
    CHECK_OK(ie_image_write(scratch_path("from_dicom.nii.gz"), t, &g));
    CHECK_OK(ie_image_read(scratch_path("from_dicom.nii.gz"), IE_F32, &u, &back));
    CHECK(same_voxels(t, u), "DICOM volume written as NIfTI keeps its voxels");
    check_geometry("DICOM volume written as NIfTI", &back, &g, IE_GEOMETRY_TOLERANCE);
    ie_tensor_release(u);
    ie_tensor_release(t);

    /* A series with its middle slice missing would misplace every later slice. */
    const char *gap = scratch_path("gap_series");
    CHECK(mkdir(gap, 0755) == 0, "mkdir %s", gap);
    /* gen_dicom_series.py: file IM000i holds slice FILE_ORDER[i-1] = 3, 0, 4, 1, 2. */
    const char *keep[] = {"IM0001.dcm", "IM0002.dcm", "IM0003.dcm", "IM0004.dcm"}; /* drops slice 2 */
    for (int i = 0; i < 4; i++) {
        char src[1024], dst[1024];
        snprintf(src, sizeof src, "%s/%s", dir, keep[i]);
        snprintf(dst, sizeof dst, "%s/%s", gap, keep[i]);
        copy_prefix(src, dst, -1);
    }
    CHECK_FAILS(ie_image_read(gap, IE_F32, &t, &g), IE_ERR_UNSUPPORTED, "not evenly spaced");
    CHECK(strstr(ie_error_message(), gap) != NULL, "message names the folder: %s", ie_error_message());

    /* One DICOM file on its own reads as a single slice at its own position. */
    CHECK_OK(ie_image_read(IE_FIXTURE_DIR "/dicom_series/IM0001.dcm", IE_F32, &t, &g));
    CHECK(ie_tensor_ndim(t) == 3 && ie_tensor_dim(t, 0) == 1 && ie_tensor_dim(t, 1) == 6 && ie_tensor_dim(t, 2) == 8,
          "one DICOM slice reads as [1, 6, 8]");
    /* slice 3: origin + 7.5 * normal */
    CHECK(fabs(g.origin[0] - (-12.5 + 7.5 * 0.64)) < 1e-9 && fabs(g.origin[1] - (30.25 - 7.5 * 0.48)) < 1e-9 &&
              fabs(g.origin[2] - (100 + 7.5 * 0.6)) < 1e-9,
          "slice origin (%g, %g, %g)", g.origin[0], g.origin[1], g.origin[2]);
    CHECK(ie_tensor_numel(t) == 48 && ie_tensor_data_f32(t)[9] == oblique_value(3, 1, 1), "slice voxels");
    ie_tensor_release(t);
}

/* ---- round trips of made-up volumes ---- */

static ie_tensor *make_f32(int ndim, const int64_t *shape) {
    ie_tensor *t = NULL;
    CHECK_OK(ie_tensor_empty(IE_F32, ndim, shape, IE_CPU, &t));
    float *p = ie_tensor_data_f32(t);
    for (int64_t i = 0; i < ie_tensor_numel(t); i++) p[i] = (float)((double)(i % 17) * 0.37 - 3.1) * (i % 3 ? 1 : -1);
    /* Values a careless conversion would change. */
    p[0] = -0.0f;
    p[1] = 1e-40f; /* subnormal */
    p[2] = 3.4028235e38f;
    p[3] = -1.1754944e-38f; /* smallest normal */
    p[4] = 16777216.0f;
    return t;
}

static ie_tensor *make_labels(ie_dtype dtype, int ndim, const int64_t *shape, int64_t scale, int64_t offset) {
    ie_tensor *t = NULL;
    CHECK_OK(ie_tensor_empty(dtype, ndim, shape, IE_CPU, &t));
    for (int64_t i = 0; i < ie_tensor_numel(t); i++) {
        int64_t v = (i * 7 % 5) * scale + offset;
        if (dtype == IE_I64) ((int64_t *)ie_tensor_data(t))[i] = v;
        else if (dtype == IE_I32) ((int32_t *)ie_tensor_data(t))[i] = (int32_t)v;
        else ((uint8_t *)ie_tensor_data(t))[i] = (uint8_t)v;
    }
    return t;
}

/* NIfTI-1 datatype code (offset 70) of an uncompressed .nii. */
static int nifti_datatype(const char *path) {
    unsigned char h[348];
    FILE *f = fopen(path, "rb");
    if (!f || fread(h, 1, sizeof h, f) != sizeof h) {
        if (f) fclose(f);
        return -1;
    }
    fclose(f);
    return h[70] | h[71] << 8;
}

static void test_round_trips(void) {
    const int64_t shape[3] = {5, 6, 7};
    ie_image_geometry g = oblique_geometry();
    g.size[0] = 7, g.size[1] = 6, g.size[2] = 5;
    /* Float32-representable values, so that even NIfTI keeps them exactly. */
    g.spacing[0] = 0.75, g.spacing[1] = 1.25, g.spacing[2] = 2.5;
    g.origin[0] = -10.25, g.origin[1] = 3.5, g.origin[2] = 7;
    ie_tensor *img = make_f32(3, shape);

    /* MetaImage stores doubles in decimal with 17 digits: exact.  NRRD stores
     * spacing x direction and divides again on reading: within 1e-15.  NIfTI
     * stores the rotation as a float32 quaternion: within 1e-6 (ITK's default
     * tolerance); axis-aligned grids are exact (test_image_io_data.c). */
    check_round_trip(scratch_path("img.mha"), img, &g, 0);
    check_round_trip(scratch_path("img.nrrd"), img, &g, 1e-15);
    check_round_trip(scratch_path("img.nii.gz"), img, &g, IE_GEOMETRY_TOLERANCE);
    check_round_trip(scratch_path("img.nii"), img, &g, IE_GEOMETRY_TOLERANCE);
    check_round_trip(scratch_path("IMG_UPPER.NII.GZ"), img, &g, IE_GEOMETRY_TOLERANCE);
    CHECK(nifti_datatype(scratch_path("img.nii")) == 16, "f32 is written as NIfTI float32 (16)");
    unsigned char magic[2] = {0, 0};
    FILE *f = fopen(scratch_path("img.nii.gz"), "rb");
    CHECK(f && fread(magic, 1, 2, f) == 2 && magic[0] == 0x1f && magic[1] == 0x8b, ".nii.gz is gzip-compressed");
    if (f) fclose(f);
    CHECK(file_size(scratch_path("img.nii")) == 352 + 210 * 4, ".nii is not compressed (%ld bytes)",
          file_size(scratch_path("img.nii")));

    /* An axis-aligned grid survives NIfTI exactly. */
    ie_image_geometry straight = g;
    const double flip[9] = {-1, 0, 0, 0, -1, 0, 0, 0, 1};
    memcpy(straight.direction, flip, sizeof flip);
    check_round_trip(scratch_path("straight.nii.gz"), img, &straight, 0);

    /* Labels: written as uint8 when they fit, else int32. */
    ie_tensor *small = make_labels(IE_I64, 3, shape, 1, 0);
    check_round_trip(scratch_path("small.nii"), small, &g, IE_GEOMETRY_TOLERANCE);
    CHECK(nifti_datatype(scratch_path("small.nii")) == 2, "i64 labels 0..4 are written as uint8 (2)");
    ie_tensor *wide = make_labels(IE_I64, 3, shape, 250, -1);
    check_round_trip(scratch_path("wide.nii"), wide, &g, IE_GEOMETRY_TOLERANCE);
    check_round_trip(scratch_path("wide.nrrd"), wide, &g, 1e-15);
    check_round_trip(scratch_path("wide.mha"), wide, &g, 0);
    CHECK(nifti_datatype(scratch_path("wide.nii")) == 8, "i64 labels -1..999 are written as int32 (8)");
    ie_tensor *wide32 = make_labels(IE_I32, 3, shape, 250, -1);
    check_round_trip(scratch_path("wide32.nii.gz"), wide32, &g, IE_GEOMETRY_TOLERANCE);
    ie_tensor *bytes = make_labels(IE_U8, 3, shape, 60, 5);
    check_round_trip(scratch_path("bytes.nii"), bytes, &g, IE_GEOMETRY_TOLERANCE);
    CHECK(nifti_datatype(scratch_path("bytes.nii")) == 2, "u8 is written as uint8 (2)");

    /* Reading labels into a narrower type than their values. */
    ie_tensor *t = NULL;
    CHECK_FAILS(ie_image_read(scratch_path("wide.nii"), IE_U8, &t, NULL), IE_ERR_IO, "outside 0..255");
    CHECK(strstr(ie_error_message(), "wide.nii") && strstr(ie_error_message(), "is -1"),
          "message names the file and the value: %s", ie_error_message());
    CHECK(t == NULL, "no tensor after a refused read");
    /* The same values through every label type. */
    CHECK_OK(ie_image_read(scratch_path("small.nii"), IE_I32, &t, NULL));
    CHECK(((int32_t *)ie_tensor_data(t))[3] == ((int64_t *)ie_tensor_data(small))[3], "u8 file read as i32");
    ie_tensor_release(t);
    CHECK_OK(ie_image_read(scratch_path("wide.nii"), IE_F32, &t, NULL));
    CHECK(ie_tensor_data_f32(t)[1] == (float)((int64_t *)ie_tensor_data(wide))[1], "int32 file read as f32");
    ie_tensor_release(t);

    /* Non-integral voxels cannot become labels: the message names the file,
     * the voxel and its value. */
    CHECK_FAILS(ie_image_read(scratch_path("img.nii.gz"), IE_I64, &t, NULL), IE_ERR_IO, "not an integer");
    CHECK(strstr(ie_error_message(), scratch_path("img.nii.gz")) != NULL, "names the file: %s", ie_error_message());
    CHECK(strstr(ie_error_message(), "voxel (x 1, y 0, z 0) is 9.9999461e-41") != NULL,
          "names the first offending voxel (the subnormal at x 1): %s", ie_error_message());
    CHECK(strstr(ie_error_message(), "nearest neighbour") != NULL, "says what to do: %s", ie_error_message());

    /* Labels beyond int32 are refused rather than truncated. */
    ie_tensor *huge = make_labels(IE_I64, 3, shape, (int64_t)1 << 40, 0);
    CHECK_FAILS(ie_image_write(scratch_path("huge.nii.gz"), huge, &g), IE_ERR_UNSUPPORTED, "beyond int32");
    CHECK(file_size(scratch_path("huge.nii.gz")) < 0, "a refused write leaves no file");

    /* 2-D images. */
    const int64_t shape2[2] = {6, 7};
    ie_tensor *flat = make_f32(2, shape2);
    ie_image_geometry g2;
    CHECK_OK(ie_image_geometry_from_shape(2, shape2, &g2));
    g2.spacing[0] = 0.5, g2.origin[1] = -4;
    check_round_trip(scratch_path("flat.nii.gz"), flat, &g2, 0);
    check_round_trip(scratch_path("flat.mha"), flat, &g2, 0);
    ie_image_geometry g2b;
    CHECK_OK(ie_image_read_geometry(scratch_path("flat.nii.gz"), &g2b));
    CHECK(g2b.ndim == 2 && g2b.size[0] == 7 && g2b.size[1] == 6, "2-D geometry: %lldx%lld, ndim %d",
          (long long)g2b.size[0], (long long)g2b.size[1], g2b.ndim);

    /* NaN and infinities: MetaImage and NRRD keep them; ITK's NIfTI reader
     * (niftilib) would turn them into 0 although the file holds them, so such
     * a NIfTI file is refused (docs/io.md). */
    const int64_t shape1[1 + 2] = {1, 1, 4};
    ie_tensor *odd = NULL;
    CHECK_OK(ie_tensor_empty(IE_F32, 3, shape1, IE_CPU, &odd));
    float *q = ie_tensor_data_f32(odd);
    q[0] = NAN, q[1] = INFINITY, q[2] = -INFINITY, q[3] = 2.5f;
    ie_image_geometry g1;
    CHECK_OK(ie_image_geometry_from_shape(3, shape1, &g1));
    check_round_trip(scratch_path("odd.mha"), odd, &g1, 0);
    check_round_trip(scratch_path("odd.nrrd"), odd, &g1, 0);
    CHECK_OK(ie_image_write(scratch_path("odd.nii"), odd, &g1));
    float stored[4];
    f = fopen(scratch_path("odd.nii"), "rb");
    CHECK(f && fseek(f, 352, SEEK_SET) == 0 && fread(stored, 4, 4, f) == 4, "read odd.nii");
    if (f) fclose(f);
    CHECK(isnan(stored[0]) && stored[1] == INFINITY && stored[2] == -INFINITY, "the NIfTI file holds NaN and inf");
    CHECK_FAILS(ie_image_read(scratch_path("odd.nii"), IE_F32, &t, NULL), IE_ERR_IO,
                "voxel (x 0, y 0, z 0) is NaN (3 non-finite voxels in all)");
    CHECK(t == NULL, "no tensor from a refused file");
    ie_tensor_release(odd);

    /* Overwriting replaces the file. */
    CHECK_OK(ie_image_write(scratch_path("over.nii.gz"), img, &g));
    CHECK_OK(ie_image_write(scratch_path("over.nii.gz"), small, &g));
    CHECK_OK(ie_image_read(scratch_path("over.nii.gz"), IE_I64, &t, NULL));
    CHECK(same_voxels(t, small), "the second write wins");
    ie_tensor_release(t);

    ie_tensor_release(img);
    ie_tensor_release(small);
    ie_tensor_release(wide);
    ie_tensor_release(wide32);
    ie_tensor_release(bytes);
    ie_tensor_release(huge);
    ie_tensor_release(flat);
}

/* ---- damaged and wrong inputs ---- */

static void test_bad_files(void) {
    ie_tensor *t = NULL;
    ie_image_geometry g;
    const int64_t shape[3] = {20, 30, 40};
    ie_tensor *img = make_f32(3, shape);
    float *p = ie_tensor_data_f32(img);
    for (int64_t i = 0; i < ie_tensor_numel(img); i++) p[i] = (float)(i % 1013) * 0.25f; /* compressible */
    ie_image_geometry geo;
    CHECK_OK(ie_image_geometry_from_shape(3, shape, &geo));
    const char *good = scratch_path("good.nii.gz");
    CHECK_OK(ie_image_write(good, img, &geo));
    const long n = file_size(good);

    const char *missing = scratch_path("missing.nii.gz");
    CHECK_FAILS(ie_image_read(missing, IE_F32, &t, &g), IE_ERR_IO, missing);
    CHECK(strstr(ie_error_message(), "No such file") != NULL, "says why: %s", ie_error_message());

    /* Truncated in the data, and in the header. */
    const char *half = scratch_path("half.nii.gz");
    copy_prefix(good, half, n / 2);
    CHECK_FAILS(ie_image_read(half, IE_F32, &t, &g), IE_ERR_IO, half);
    CHECK(strstr(ie_error_message(), "truncated") != NULL, "says truncated: %s", ie_error_message());
    const char *stub = scratch_path("stub.nii.gz");
    copy_prefix(good, stub, 60);
    CHECK_FAILS(ie_image_read(stub, IE_F32, &t, &g), IE_ERR_IO, stub);

    /* Damaged in the middle of the compressed data. */
    const char *bad = scratch_path("bad.nii.gz");
    copy_prefix(good, bad, -1);
    corrupt_at(bad, n / 2, 16);
    CHECK_FAILS(ie_image_read(bad, IE_F32, &t, &g), IE_ERR_IO, bad);

    /* Uncompressed NIfTI cut short. */
    const char *plain = scratch_path("plain.nii");
    CHECK_OK(ie_image_write(plain, img, &geo));
    const char *short_nii = scratch_path("short.nii");
    copy_prefix(plain, short_nii, file_size(plain) - 1);
    CHECK_FAILS(ie_image_read(short_nii, IE_F32, &t, &g), IE_ERR_IO, "truncated");
    CHECK(strstr(ie_error_message(), short_nii) != NULL, "names the file: %s", ie_error_message());

    /* Compressed NRRD and MetaImage cut short or damaged. */
    const char *formats[] = {"good.nrrd", "good.mha"};
    for (int i = 0; i < 2; i++) {
        const char *src = scratch_path(formats[i]);
        CHECK_OK(ie_image_write(src, img, &geo));
        char name[64];
        snprintf(name, sizeof name, "cut_%s", formats[i]);
        const char *cut = scratch_path(name);
        copy_prefix(src, cut, file_size(src) * 2 / 3);
        CHECK_FAILS(ie_image_read(cut, IE_F32, &t, &g), IE_ERR_IO, cut);
        snprintf(name, sizeof name, "bad_%s", formats[i]);
        const char *damaged = scratch_path(name);
        copy_prefix(src, damaged, -1);
        corrupt_at(damaged, file_size(src) / 2, 16);
        CHECK_FAILS(ie_image_read(damaged, IE_F32, &t, &g), IE_ERR_IO, damaged);
    }

    /* NaN and infinite voxels: ITK's NIfTI reader would make them 0 without a
     * word; every format refuses them when read as labels, NIfTI always. */
    p[7 * 40 + 5] = NAN; /* voxel (x 5, y 7, z 0): [D, H, W] = [20, 30, 40] */
    p[1000] = INFINITY;
    const char *nan_files[] = {"nan.nii.gz", "nan.nii"};
    for (int i = 0; i < 2; i++) {
        const char *path = scratch_path(nan_files[i]);
        CHECK_OK(ie_image_write(path, img, &geo));
        CHECK_FAILS(ie_image_read(path, IE_F32, &t, &g), IE_ERR_IO,
                    "voxel (x 5, y 7, z 0) is NaN (2 non-finite voxels");
        CHECK(strstr(ie_error_message(), path) != NULL, "names the file: %s", ie_error_message());
        CHECK_OK(ie_image_read_geometry(path, &g)); /* the header alone is fine */
    }
    p[7 * 40 + 5] = 1.0f;
    p[1000] = 1.0f;

    /* Not images. */
    const char *notes = scratch_path("notes.txt");
    write_bytes(notes, "not an image\n", 13);
    CHECK_FAILS(ie_image_read(notes, IE_F32, &t, &g), IE_ERR_IO, notes);
    CHECK(strstr(ie_error_message(), "NIfTI") != NULL, "lists the formats: %s", ie_error_message());
    const char *fake = scratch_path("fake.nii.gz");
    write_bytes(fake, "not an image either, whatever the name says\n", 44);
    CHECK_FAILS(ie_image_read(fake, IE_F32, &t, &g), IE_ERR_IO, fake);
    const char *empty = scratch_path("empty.nii");
    write_bytes(empty, "", 0);
    CHECK_FAILS(ie_image_read(empty, IE_F32, &t, &g), IE_ERR_IO, empty);
    const char *folder = scratch_path("no_dicom_here");
    CHECK(mkdir(folder, 0755) == 0, "mkdir");
    write_bytes(scratch_path("no_dicom_here/readme.txt"), "hello\n", 6);
    CHECK_FAILS(ie_image_read(folder, IE_F32, &t, &g), IE_ERR_IO, "without a DICOM series");
    CHECK(strstr(ie_error_message(), folder) != NULL, "names the folder: %s", ie_error_message());
    CHECK_FAILS(ie_image_read("/dev/null", IE_F32, &t, &g), IE_ERR_IO, "/dev/null");
    CHECK(t == NULL, "no tensor after failures");

    /* Argument errors. */
    CHECK_FAILS(ie_image_read(NULL, IE_F32, &t, &g), IE_ERR_INVALID_ARG, "path is NULL");
    CHECK_FAILS(ie_image_read(good, IE_F32, NULL, &g), IE_ERR_INVALID_ARG, "out is NULL");
    CHECK_FAILS(ie_image_read(good, (ie_dtype)42, &t, &g), IE_ERR_INVALID_ARG, "dtype");
    CHECK_FAILS(ie_image_read_geometry(good, NULL), IE_ERR_INVALID_ARG, "geometry is NULL");
    ie_tensor_release(img);
}

/* A write that runs out of room (RLIMIT_FSIZE stands in for a full disk: it
 * needs no root) fails, naming the file, in every format, and leaves neither
 * the file nor a temporary behind: ITK's NIfTI writer only printed
 * "** ERROR: NWAD" and the truncated file was renamed into place. */
static void test_short_writes(void) {
    const int64_t shape[3] = {16, 16, 16};
    ie_tensor *t = make_f32(3, shape);
    float *p = ie_tensor_data_f32(t);
    uint32_t x = 12345;
    for (int64_t i = 0; i < ie_tensor_numel(t); i++) /* incompressible */
        p[i] = (float)((x = x * 1664525u + 1013904223u) >> 8);
    ie_image_geometry g;
    CHECK_OK(ie_image_geometry_from_shape(3, shape, &g));
    const char *names[] = {"fsize.nii.gz", "fsize.nii", "fsize.nrrd", "fsize.mha"};
    signal(SIGXFSZ, SIG_IGN); /* the write then fails with EFBIG instead of killing us */
    struct rlimit old, limit;
    getrlimit(RLIMIT_FSIZE, &old);
    limit = old;
    limit.rlim_cur = 4000; /* the image needs 16 KB */
    CHECK(setrlimit(RLIMIT_FSIZE, &limit) == 0, "setrlimit");
    for (int i = 0; i < 4; i++) {
        const char *path = scratch_path(names[i]);
        CHECK_FAILS(ie_image_write(path, t, &g), IE_ERR_IO, path);
        CHECK(strstr(ie_error_message(), "writing failed") || strstr(ie_error_message(), "Error writing"),
              "says the write failed: %s", ie_error_message());
        CHECK(access(path, F_OK) != 0, "%s: nothing under the final name", names[i]);
    }
    setrlimit(RLIMIT_FSIZE, &old);
    signal(SIGXFSZ, SIG_DFL);
    DIR *d = opendir(scratch_dir);
    for (struct dirent *e; d && (e = readdir(d));)
        CHECK(!strstr(e->d_name, ".tmp"), "a temporary file was left: %s", e->d_name);
    if (d) closedir(d);
    ie_tensor_release(t);
}

static void test_bad_writes(void) {
    const int64_t shape[3] = {3, 4, 5};
    ie_tensor *t = make_f32(3, shape);
    ie_image_geometry g;
    CHECK_OK(ie_image_geometry_from_shape(3, shape, &g));
    const char *keep = scratch_path("keep.nii.gz");
    CHECK_OK(ie_image_write(keep, t, &g));
    const long kept = file_size(keep);

    CHECK_FAILS(ie_image_write(scratch_path("x.mhd"), t, &g), IE_ERR_UNSUPPORTED, ".mha");
    CHECK_FAILS(ie_image_write(scratch_path("x.png"), t, &g), IE_ERR_UNSUPPORTED, "x.png");
    CHECK_FAILS(ie_image_write(scratch_path("no/such/folder/x.nii.gz"), t, &g), IE_ERR_IO, "does not exist");
    CHECK_FAILS(ie_image_write(scratch_dir, t, &g), IE_ERR_UNSUPPORTED, scratch_dir);
    CHECK(mkdir(scratch_path("dir.nii.gz"), 0755) == 0, "mkdir");
    CHECK_FAILS(ie_image_write(scratch_path("dir.nii.gz"), t, &g), IE_ERR_IO, "is a folder");

    ie_image_geometry wrong = g;
    wrong.size[0] = 6;
    CHECK_FAILS(ie_image_write(keep, t, &wrong), IE_ERR_SHAPE, "[3, 4, 6]");
    CHECK(strstr(ie_error_message(), "[3, 4, 5] f32") != NULL, "names the tensor: %s", ie_error_message());
    wrong = g;
    wrong.spacing[1] = 0;
    CHECK_FAILS(ie_image_write(keep, t, &wrong), IE_ERR_INVALID_ARG, "spacing");
    wrong = g;
    wrong.direction[4] = 0;
    CHECK_FAILS(ie_image_write(keep, t, &wrong), IE_ERR_INVALID_ARG, "singular");
    wrong = g;
    wrong.origin[2] = NAN;
    CHECK_FAILS(ie_image_write(keep, t, &wrong), IE_ERR_INVALID_ARG, "origin");
    wrong = g;
    wrong.ndim = 4;
    CHECK_FAILS(ie_image_write(keep, t, &wrong), IE_ERR_INVALID_ARG, "ndim 4");
    CHECK_FAILS(ie_image_write(NULL, t, &g), IE_ERR_INVALID_ARG, "NULL");
    CHECK_FAILS(ie_image_write(keep, NULL, &g), IE_ERR_INVALID_ARG, "NULL");
    CHECK_FAILS(ie_image_write(keep, t, NULL), IE_ERR_INVALID_ARG, "NULL");

    const int64_t long_shape[3] = {1, 1, 40000};
    ie_tensor *line = NULL;
    CHECK_OK(ie_tensor_zeros(IE_F32, 3, long_shape, IE_CPU, &line));
    ie_image_geometry lg;
    CHECK_OK(ie_image_geometry_from_shape(3, long_shape, &lg));
    CHECK_FAILS(ie_image_write(keep, line, &lg), IE_ERR_UNSUPPORTED, "32767");
    check_round_trip(scratch_path("line.nrrd"), line, &lg, 0);
    ie_tensor_release(line);

    /* None of the failures touched the existing file or left temporaries. */
    CHECK(file_size(keep) == kept, "a failed write leaves the previous file as it was");
    ie_tensor *back = NULL;
    CHECK_OK(ie_image_read(keep, IE_F32, &back, NULL));
    CHECK(same_voxels(t, back), "the previous file still reads");
    ie_tensor_release(back);
    ie_tensor_release(t);
}

/* ---- geometry helpers ---- */

static void test_geometry_helpers(void) {
    const int64_t shape[3] = {35, 51, 36};
    ie_image_geometry a, b;
    CHECK_OK(ie_image_geometry_from_shape(3, shape, &a));
    CHECK(a.size[0] == 36 && a.size[1] == 51 && a.size[2] == 35 && a.spacing[2] == 1 && a.direction[4] == 1,
          "from_shape reverses [D, H, W] into x, y, z sizes");
    int64_t back[3];
    CHECK(ie_image_geometry_shape(&a, back) == 3 && back[0] == 35 && back[1] == 51 && back[2] == 36, "shape");
    CHECK_FAILS(ie_image_geometry_from_shape(4, shape, &a), IE_ERR_INVALID_ARG, "4 dimensions");
    CHECK_OK(ie_image_geometry_from_shape(3, shape, &a));

    char why[512], desc[512];
    b = a;
    CHECK(ie_image_geometry_equal(&a, &b, 0, why, sizeof why) && why[0] == '\0', "equal to itself");
    b.spacing[2] = 1 + 5e-7;
    CHECK(ie_image_geometry_equal(&a, &b, 1e-6, why, sizeof why), "spacing within tolerance");
    CHECK(!ie_image_geometry_equal(&a, &b, 1e-7, why, sizeof why) && strstr(why, "spacing (1 1 1) mm vs (1 1 1.0000005)"),
          "spacing beyond tolerance: %s", why);
    b = a;
    b.origin[0] = 2e-6; /* origins are compared relative to the spacing (1 mm) */
    CHECK(!ie_image_geometry_equal(&a, &b, 1e-6, why, sizeof why) && strstr(why, "origin"), "origin: %s", why);
    b = a;
    b.direction[1] = 1e-3;
    CHECK(!ie_image_geometry_equal(&a, &b, 1e-6, why, sizeof why) && strstr(why, "direction"), "direction: %s", why);
    b = a;
    b.size[2] = 34;
    CHECK(!ie_image_geometry_equal(&a, &b, 1, why, sizeof why) && strstr(why, "36x51x35 (x, y, z; 3-D) vs 36x51x34"),
          "size: %s", why);
    b = a;
    b.spacing[0] = NAN;
    CHECK(!ie_image_geometry_equal(&a, &b, 1, NULL, 0), "NaN never compares equal");

    a.spacing[2] = 5, a.origin[0] = 406.205, a.direction[0] = -1;
    ie_image_geometry_describe(&a, desc, sizeof desc);
    CHECK(strcmp(desc, "36x51x35 voxels (x, y, z), spacing 1x1x5 mm, origin (406.205, 0, 0) mm, "
                       "direction [-1 0 0; 0 1 0; 0 0 1]") == 0,
          "describe: %s", desc);
}

int main(void) {
    scratch_make();
    test_geometry_helpers();
    test_handwritten_formats();
    test_nibabel_files();
    test_dicom_series();
    test_round_trips();
    test_bad_files();
    test_short_writes();
    test_bad_writes();
    CHECK(count_names_containing(scratch_dir, ".tmp-") == 0, "no temporary files are left behind");
    return test_summary();
}
