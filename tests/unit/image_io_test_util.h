/* tests - helpers shared by the image IO tests: a scratch folder, file
 * surgery (copy, truncate, corrupt) and round-trip checks. */
#ifndef IE_TESTS_IMAGE_IO_TEST_UTIL_H
#define IE_TESTS_IMAGE_IO_TEST_UTIL_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1 /* mkdtemp, nftw */
#endif
#include <dirent.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "innereye/image_io.h"
#include "test_util.h"

/* ctest's SKIP_RETURN_CODE (tests/CMakeLists.txt). */
#define TEST_SKIP 77

static char scratch_dir[512];

static int scratch_remove_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw) {
    (void)sb, (void)flag, (void)ftw;
    return remove(path);
}

static void scratch_cleanup(void) {
    if (scratch_dir[0]) nftw(scratch_dir, scratch_remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* A fresh folder under $TMPDIR (or /tmp), removed at exit. */
static inline const char *scratch_make(void) {
    const char *base = getenv("TMPDIR");
    snprintf(scratch_dir, sizeof scratch_dir, "%s/ie_image_io_XXXXXX", base && *base ? base : "/tmp");
    if (!mkdtemp(scratch_dir)) {
        perror("mkdtemp");
        exit(1);
    }
    atexit(scratch_cleanup);
    return scratch_dir;
}

/* scratch_dir/name in a rotating static buffer (several may be alive at once). */
static inline const char *scratch_path(const char *name) {
    static char bufs[8][768];
    static int next;
    char *b = bufs[next++ % 8];
    snprintf(b, sizeof bufs[0], "%s/%s", scratch_dir, name);
    return b;
}

static inline long file_size(const char *path) {
    struct stat sb;
    return stat(path, &sb) == 0 ? (long)sb.st_size : -1;
}

static inline void write_bytes(const char *path, const void *data, size_t n) {
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(data, 1, n, f) != n || fclose(f) != 0) {
        fprintf(stderr, "cannot write %s\n", path);
        exit(1);
    }
}

static inline void append_bytes(const char *path, const void *data, size_t n) {
    FILE *f = fopen(path, "ab");
    if (!f || fwrite(data, 1, n, f) != n || fclose(f) != 0) {
        fprintf(stderr, "cannot append to %s\n", path);
        exit(1);
    }
}

/* Copies the first `keep` bytes of src to dst (keep < 0: all of it). */
static inline void copy_prefix(const char *src, const char *dst, long keep) {
    long n = file_size(src);
    if (n < 0) {
        fprintf(stderr, "cannot stat %s\n", src);
        exit(1);
    }
    if (keep >= 0 && keep < n) n = keep;
    char *buf = malloc((size_t)n + 1);
    FILE *f = fopen(src, "rb");
    if (!buf || !f || fread(buf, 1, (size_t)n, f) != (size_t)n) {
        fprintf(stderr, "cannot read %s\n", src);
        exit(1);
    }
    fclose(f);
    write_bytes(dst, buf, (size_t)n);
    free(buf);
}

/* Overwrites `n` bytes at `offset` of path with a pattern. */
static inline void corrupt_at(const char *path, long offset, int n) {
    FILE *f = fopen(path, "r+b");
    if (!f || fseek(f, offset, SEEK_SET) != 0) {
        fprintf(stderr, "cannot open %s\n", path);
        exit(1);
    }
    for (int i = 0; i < n; i++) fputc(0x5a ^ i, f);
    fclose(f);
}

/* Number of names in dir containing `needle` (temporary files left behind). */
static inline int count_names_containing(const char *dir, const char *needle) {
    DIR *d = opendir(dir);
    if (!d) return -1;
    int count = 0;
    for (struct dirent *e; (e = readdir(d));)
        if (strstr(e->d_name, needle)) count++;
    closedir(d);
    return count;
}

static inline bool same_voxels(const ie_tensor *a, const ie_tensor *b) {
    if (!a || !b || ie_tensor_dtype(a) != ie_tensor_dtype(b) || !ie_tensor_same_shape(a, b)) return false;
    size_t n = (size_t)ie_tensor_numel(a) * ie_dtype_size(ie_tensor_dtype(a));
    return memcmp(ie_tensor_data(a), ie_tensor_data(b), n) == 0;
}

/* Writes t with geometry g to path, reads it back as t's dtype and requires
 * byte-identical voxels and a geometry equal within `tolerance` (0: exact). */
static inline void check_round_trip(const char *path, const ie_tensor *t, const ie_image_geometry *g, double tolerance) {
    CHECK_OK(ie_image_write(path, t, g));
    ie_tensor *back = NULL;
    ie_image_geometry gb;
    CHECK_OK(ie_image_read(path, ie_tensor_dtype(t), &back, &gb));
    char a[128], b[128], why[512];
    CHECK(same_voxels(t, back), "%s: voxels differ after the round trip (%s vs %s)", path,
          ie_tensor_describe(t, a, sizeof a), ie_tensor_describe(back, b, sizeof b));
    CHECK(ie_image_geometry_equal(g, &gb, tolerance, why, sizeof why), "%s: geometry changed: %s", path, why);
    ie_tensor_release(back);
}

/* Sum of a float32 tensor in double, in storage order. */
static inline double sum_f32(const ie_tensor *t) {
    const float *p = ie_tensor_data_f32(t);
    double s = 0;
    for (int64_t i = 0; i < ie_tensor_numel(t); i++) s += p[i];
    return s;
}

#endif
