/* tests - core/serve/upload.c: what `innereye serve` accepts as an upload.
 * Zips are made here with libzip (names the way an attacker would write
 * them), gzip streams with zlib; each refusal is checked for its code, its
 * message and that nothing was written outside the work folder. */
#include <dirent.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zip.h>
#include <zlib.h>

#include "core/export/bundle.h"
#include "core/serve/upload.h"
#include "core/util/file_util.h"
#include "test_util.h"

#define MB (1024 * 1024)

typedef struct blob {
    char *data;
    size_t size;
} blob;

/* A zip holding `n` entries (name, contents of `sizes[i]` bytes of 'x'). */
static blob make_zip(const char *const *names, const size_t *sizes, int n) {
    char path[] = "/tmp/test_upload_zip_XXXXXX";
    int fd = mkstemp(path);
    close(fd);
    int err = 0;
    zip_t *z = zip_open(path, ZIP_TRUNCATE, &err);
    for (int i = 0; z && i < n; i++) {
        size_t len = strlen(names[i]);
        if (len && names[i][len - 1] == '/') {
            zip_dir_add(z, names[i], ZIP_FL_ENC_RAW);
            continue;
        }
        char *contents = malloc(sizes[i] + 1);
        memset(contents, names[i][0] == '0' ? 0 : 'x', sizes[i]);
        zip_file_add(z, names[i], zip_source_buffer(z, contents, sizes[i], 1), ZIP_FL_ENC_RAW);
    }
    if (z) zip_close(z);
    blob b = {0};
    CHECK(ie_read_file(path, &b.data, &b.size) == IE_OK, "zip written");
    unlink(path);
    return b;
}

static blob make_gzip(const void *data, size_t size) {
    blob b = {.size = compressBound((uLong)size) + 64};
    b.data = malloc(b.size);
    z_stream z = {0};
    deflateInit2(&z, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY); /* gzip wrapper */
    z.next_in = (Bytef *)data;
    z.avail_in = (uInt)size;
    z.next_out = (Bytef *)b.data;
    z.avail_out = (uInt)b.size;
    deflate(&z, Z_FINISH);
    b.size = z.total_out;
    deflateEnd(&z);
    return b;
}

static int count_files(const char *dir) {
    DIR *d = opendir(dir);
    int n = 0;
    struct dirent *e;
    while (d && (e = readdir(d)))
        if (e->d_name[0] != '.') n++;
    if (d) closedir(d);
    return n;
}

/* A PNG's signature and IHDR chunk declaring width x height of a colour
 * type and bit depth (CRC left zero: the upload checks the header only;
 * libpng checks the rest when the image reader decodes it). */
static blob make_png_header(uint32_t width, uint32_t height, uint8_t depth, uint8_t colour) {
    static char png[8 + 8 + 13 + 4];
    static const uint8_t head[16] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n', 0, 0, 0, 13, 'I', 'H', 'D', 'R'};
    memset(png, 0, sizeof png);
    memcpy(png, head, sizeof head);
    for (int i = 0; i < 4; i++) {
        png[16 + i] = (char)(width >> (24 - 8 * i));
        png[20 + i] = (char)(height >> (24 - 8 * i));
    }
    png[24] = (char)depth;
    png[25] = (char)colour;
    return (blob){.data = png, .size = sizeof png};
}

/* Unpacks into a fresh folder; returns the status, fills image/over. */
static ie_status unpack(blob b, size_t limit, ie_upload_kind *kind, char *image, bool *over, char *dir) {
    CHECK_OK(ie_bundle_temp_dir(dir, 512));
    ie_error_clear();
    return ie_upload_unpack(b.data, b.size, limit, dir, kind, image, 4600, over);
}

int main(void) {
    char dir[512], image[4600];
    ie_upload_kind kind;
    bool over;

    /* Names that leave the folder are refused, with the name and why. */
    static const char *const bad[][2] = {{"/etc/evil.dcm", "absolute"},
                                         {"ct/../../evil.dcm", "\"..\""},
                                         {"..", "\"..\""},
                                         {"ct\\..\\evil.dcm", "backslash"},
                                         {"ct/a\nb.dcm", "control character"}};
    for (int i = 0; i < 5; i++) {
        size_t one = 4;
        const char *names[2] = {"ct/ok.dcm", bad[i][0]};
        size_t sizes[2] = {one, one};
        blob z = make_zip(names, sizes, 2);
        ie_status st = unpack(z, MB, &kind, image, &over, dir);
        CHECK(st == IE_ERR_IO && !over, "%s: refused as a bad name (%d)", bad[i][0], (int)st);
        CHECK(strstr(ie_error_message(), "is refused") && strstr(ie_error_message(), bad[i][1]),
              "%s: message names why: %s", bad[i][0], ie_error_message());
        CHECK(count_files(dir) == 0, "%s: nothing written, not even the good entry", bad[i][0]);
        ie_remove_tree(dir);
        free(z.data);
    }

    /* A good zip: folders flattened, hidden files and __MACOSX left out,
     * names such as "..x" are fine. */
    {
        const char *names[] = {"ct/", "ct/a.dcm", "ct/..x/b.dcm", "c.dcm", "__MACOSX/ct/._a.dcm", "ct/.DS_Store"};
        size_t sizes[] = {0, 10, 20, 30, 5, 5};
        blob z = make_zip(names, sizes, 6);
        CHECK_OK(unpack(z, MB, &kind, image, &over, dir));
        CHECK(kind == IE_UPLOAD_DICOM_ZIP, "a zip is a DICOM series");
        CHECK(strstr(image, "/series") != NULL, "the image is the series folder: %s", image);
        CHECK(count_files(image) == 3, "three slice files, got %d", count_files(image));
        char path[4700];
        snprintf(path, sizeof path, "%s/000001.dcm", image);
        struct stat st;
        CHECK(stat(path, &st) == 0 && st.st_size == 20, "the second entry's bytes under a numbered name");
        CHECK((st.st_mode & 077) == 0, "written for the server's user only");
        ie_remove_tree(dir);
        free(z.data);
    }

    /* A zip bomb: the declared sizes are over the limit, nothing is written. */
    {
        const char *names[] = {"0bomb.dcm"};
        size_t sizes[] = {3 * MB};
        blob z = make_zip(names, sizes, 1);
        CHECK(z.size < MB / 10, "the bomb is small (%zu bytes)", z.size);
        CHECK_FAILS(unpack(z, MB, &kind, image, &over, dir), IE_ERR_IO, "add up to more than 1 MB");
        CHECK(over, "over the limit");
        ie_remove_tree(dir);
        free(z.data);
    }
    {
        const char *names[] = {"ct/"};
        size_t sizes[] = {0};
        blob z = make_zip(names, sizes, 1);
        CHECK_FAILS(unpack(z, MB, &kind, image, &over, dir), IE_ERR_IO, "holds no files");
        ie_remove_tree(dir);
        free(z.data);
    }
    blob junk = {.data = "PK\3\4 this is not a zip at all", .size = 30};
    CHECK_FAILS(unpack(junk, MB, &kind, image, &over, dir), IE_ERR_IO, "the zip cannot be opened");
    ie_remove_tree(dir);

    /* NIfTI: plain and gzipped, checked by their header. */
    static char nifti[352 + 64];
    memset(nifti, 0, sizeof nifti);
    nifti[0] = 92, nifti[1] = 1; /* sizeof_hdr 348, little-endian */
    memcpy(nifti + 344, "n+1", 4);
    blob plain = {.data = nifti, .size = sizeof nifti};
    CHECK_OK(unpack(plain, MB, &kind, image, &over, dir));
    CHECK(kind == IE_UPLOAD_NIFTI && strstr(image, "upload.nii") && !strstr(image, ".gz"), "a .nii: %s", image);
    ie_remove_tree(dir);
    blob gz = make_gzip(nifti, sizeof nifti);
    CHECK_OK(unpack(gz, MB, &kind, image, &over, dir));
    CHECK(kind == IE_UPLOAD_NIFTI_GZ && strstr(image, "upload.nii.gz"), "a .nii.gz: %s", image);
    char *back = NULL;
    size_t back_size = 0;
    CHECK_OK(ie_read_file(image, &back, &back_size));
    CHECK(back_size == gz.size && !memcmp(back, gz.data, gz.size), "the upload's bytes, unchanged");
    free(back);
    ie_remove_tree(dir);
    blob cut = {.data = gz.data, .size = gz.size / 2};
    CHECK_FAILS(unpack(cut, MB, &kind, image, &over, dir), IE_ERR_IO, "truncated");
    ie_remove_tree(dir);
    free(gz.data);
    char *zeros = calloc(1, 3 * MB);
    memcpy(zeros, nifti, sizeof nifti);
    blob bomb = make_gzip(zeros, 3 * MB);
    CHECK_FAILS(unpack(bomb, MB, &kind, image, &over, dir), IE_ERR_IO, "decompresses to more than 1 MB");
    CHECK(over && count_files(dir) == 0, "a gzip bomb is over the limit, nothing written");
    ie_remove_tree(dir);
    free(bomb.data);
    blob text_gz = make_gzip("just some text, no image", 24);
    CHECK_FAILS(unpack(text_gz, MB, &kind, image, &over, dir), IE_ERR_UNSUPPORTED, "holds no NIfTI image");
    ie_remove_tree(dir);
    free(text_gz.data);
    free(zeros);

    /* NRRD: one file only. */
    static const char nrrd_ok[] = "NRRD0004\ntype: uchar\ndimension: 1\nsizes: 2\nencoding: raw\n\nab";
    blob nrrd = {.data = (char *)nrrd_ok, .size = sizeof nrrd_ok - 1};
    CHECK_OK(unpack(nrrd, MB, &kind, image, &over, dir));
    CHECK(kind == IE_UPLOAD_NRRD && strstr(image, "upload.nrrd"), "an .nrrd: %s", image);
    ie_remove_tree(dir);
    static const char nrrd_detached[] = "NRRD0004\ntype: uchar\ndimension: 1\nsizes: 2\ndata file: /etc/passwd\n\n";
    blob detached = {.data = (char *)nrrd_detached, .size = sizeof nrrd_detached - 1};
    CHECK_FAILS(unpack(detached, MB, &kind, image, &over, dir), IE_ERR_UNSUPPORTED, "separate data file");
    ie_remove_tree(dir);

    /* PNG: the decoded size its header declares (width x height x samples
     * per pixel x bytes per sample; a palette decodes to RGBA) is bounded
     * before anything decodes it. */
    static const struct {
        uint32_t width, height;
        uint8_t depth, colour;
        bool fits; /* within 1 MB */
    } pngs[] = {{28, 28, 8, 0, true},          {1024, 1024, 8, 0, true},  {1024, 1025, 8, 0, false},
                {1024, 1024, 16, 0, false},    {512, 512, 8, 3, true},    {513, 512, 8, 3, false},
                {512, 682, 8, 2, true},        {512, 683, 8, 2, false},   {65536, 65536, 8, 0, false}};
    for (size_t i = 0; i < sizeof pngs / sizeof pngs[0]; i++) {
        blob png = make_png_header(pngs[i].width, pngs[i].height, pngs[i].depth, pngs[i].colour);
        ie_status st = unpack(png, MB, &kind, image, &over, dir);
        if (pngs[i].fits) {
            CHECK(st == IE_OK && kind == IE_UPLOAD_PNG && strstr(image, "upload.png"),
                  "PNG %ux%u depth %u colour %u is taken as upload.png (%s)", pngs[i].width, pngs[i].height,
                  pngs[i].depth, pngs[i].colour, ie_error_message());
        } else {
            CHECK(st == IE_ERR_IO && over && strstr(ie_error_message(), "more than --max-image-mb 1 allows"),
                  "PNG %ux%u depth %u colour %u is over 1 MB decoded: %s", pngs[i].width, pngs[i].height,
                  pngs[i].depth, pngs[i].colour, ie_error_message());
            CHECK(count_files(dir) == 0, "nothing written for an oversized PNG");
        }
        ie_remove_tree(dir);
    }
    blob png = make_png_header(28, 28, 8, 5); /* colour type 5 does not exist */
    CHECK_FAILS(unpack(png, MB, &kind, image, &over, dir), IE_ERR_IO, "colour type 5 with bit depth 8");
    CHECK(!over, "a damaged header is not over a limit");
    ie_remove_tree(dir);
    png = make_png_header(0, 28, 8, 0);
    CHECK_FAILS(unpack(png, MB, &kind, image, &over, dir), IE_ERR_IO, "declares 0 x 28 pixels");
    ie_remove_tree(dir);
    png.size = 12; /* the signature and a cut chunk */
    CHECK_FAILS(unpack(png, MB, &kind, image, &over, dir), IE_ERR_IO, "the IHDR chunk) is missing");
    ie_remove_tree(dir);

    blob text = {.data = "hello", .size = 5};
    CHECK_FAILS(unpack(text, MB, &kind, image, &over, dir), IE_ERR_UNSUPPORTED, "not an image this server reads");
    CHECK(count_files(dir) == 0, "nothing written for text");
    ie_remove_tree(dir);
    blob empty = {.data = "", .size = 0};
    CHECK_FAILS(unpack(empty, MB, &kind, image, &over, dir), IE_ERR_UNSUPPORTED, "(0 bytes)");
    ie_remove_tree(dir);
    return test_summary();
}
