/* core/serve - uploads checked and put on disk (upload.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zip.h>
#include <zlib.h>

#include "core/serve/upload.h"
#include "core/util/path.h"

#define MB (1024.0 * 1024.0)

static ie_status write_all(const char *path, const void *data, size_t size) {
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) return ie_error_set(IE_ERR_IO, "%s: cannot create: %s", path, strerror(errno));
    const char *p = data;
    while (size > 0) {
        ssize_t n = write(fd, p, size);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            int e = errno;
            close(fd);
            return ie_error_set(IE_ERR_IO, "%s: cannot write: %s", path, strerror(e));
        }
        p += n;
        size -= (size_t)n;
    }
    if (close(fd) != 0) return ie_error_set(IE_ERR_IO, "%s: cannot write: %s", path, strerror(errno));
    return IE_OK;
}

/* A NIfTI-1 single file ("n+1") or NIfTI-2 ("n+2") header, either byte order. */
static bool is_nifti(const uint8_t *p, size_t n) {
    if (n >= 348 && ((p[0] == 92 && p[1] == 1 && !p[2] && !p[3]) || (!p[0] && !p[1] && p[2] == 1 && p[3] == 92)))
        return !memcmp(p + 344, "n+1", 4);
    if (n >= 540 && ((p[0] == 28 && p[1] == 2 && !p[2] && !p[3]) || (!p[0] && !p[1] && p[2] == 2 && p[3] == 28)))
        return !memcmp(p + 4, "n+2", 4);
    return false;
}

/* Inflates the whole gzip stream (all members) without keeping it: its
 * size must stay within the limit and it must end properly.  `head` gets
 * its first bytes, to tell what it holds. */
static ie_status check_gzip(const void *data, size_t size, size_t limit, uint8_t *head, size_t head_size,
                            size_t *head_got, bool *over_limit) {
    z_stream z = {0};
    if (inflateInit2(&z, 15 + 32) != Z_OK) return ie_error_set(IE_ERR_NOMEM, "gzip: cannot start zlib");
    z.next_in = (Bytef *)data;
    z.avail_in = (uInt)(size > UINT32_MAX ? UINT32_MAX : size);
    size_t fed = z.avail_in, total = 0;
    *head_got = 0;
    static _Thread_local uint8_t out[1 << 16];
    int rc = Z_OK;
    for (;;) {
        z.next_out = out;
        z.avail_out = sizeof out;
        rc = inflate(&z, Z_NO_FLUSH);
        size_t got = sizeof out - z.avail_out;
        if (*head_got < head_size) {
            size_t k = got < head_size - *head_got ? got : head_size - *head_got;
            memcpy(head + *head_got, out, k);
            *head_got += k;
        }
        total += got;
        if (total > limit) {
            inflateEnd(&z);
            *over_limit = true;
            return ie_error_set(IE_ERR_IO, "the gzip stream decompresses to more than %.0f MB (--max-image-mb); "
                                "send a smaller image", (double)limit / MB);
        }
        if (z.avail_in == 0 && fed < size) { /* uInt is 32 bits: feed the rest */
            size_t more = size - fed > UINT32_MAX ? UINT32_MAX : size - fed;
            z.next_in = (Bytef *)data + fed;
            z.avail_in = (uInt)more;
            fed += more;
        }
        if (rc == Z_STREAM_END) {
            if (z.avail_in == 0) break;
            inflateReset(&z); /* another gzip member follows */
            continue;
        }
        if (rc != Z_OK && !(rc == Z_BUF_ERROR && got > 0)) break;
    }
    inflateEnd(&z);
    if (rc != Z_STREAM_END)
        return ie_error_set(IE_ERR_IO, "the gzip stream is %s after %zu of its bytes (%zu bytes decompressed): "
                            "send the whole file", rc == Z_BUF_ERROR ? "truncated" : "damaged", size, total);
    return IE_OK;
}

/* An NRRD whose header names a separate data file would make the server
 * read a file of its own choosing: only single-file NRRD is served. */
static ie_status check_nrrd(const char *data, size_t size) {
    const char *end = data + size;
    for (const char *line = data; line < end && *line != '\n';) { /* the header ends at an empty line */
        size_t left = (size_t)(end - line);
        if ((left >= 10 && !strncmp(line, "data file:", 10)) || (left >= 9 && !strncmp(line, "datafile:", 9)))
            return ie_error_set(IE_ERR_UNSUPPORTED, "the NRRD header names a separate data file (\"data file:\"); "
                                "send one .nrrd holding header and data");
        const char *next = memchr(line, '\n', left);
        line = next ? next + 1 : end;
    }
    return IE_OK;
}

/* A zip entry name that stays inside the folder: relative, no "..", no
 * backslash (a Windows separator) and no control characters. */
static const char *unsafe_name(const char *name) {
    if (!name[0]) return "it is empty";
    if (name[0] == '/') return "it is an absolute path";
    if (strchr(name, '\\')) return "it holds a backslash";
    for (const char *c = name; *c; c++)
        if ((unsigned char)*c < 32) return "it holds a control character";
    for (const char *c = name; *c;) {
        size_t n = strcspn(c, "/");
        if (n == 2 && c[0] == '.' && c[1] == '.') return "it climbs out of the folder with \"..\"";
        c += n;
        if (*c == '/') c++;
    }
    return NULL;
}

/* Hidden files and macOS resource forks are not slices. */
static bool skipped_entry(const char *name) {
    if (!strncmp(name, "__MACOSX/", 9)) return true;
    const char *base = strrchr(name, '/');
    base = base ? base + 1 : name;
    return base[0] == '.' || base[0] == '\0';
}

static ie_status extract_entry(zip_t *za, zip_uint64_t i, const char *name, const char *path, size_t *total,
                               size_t limit, bool *over_limit) {
    zip_file_t *zf = zip_fopen_index(za, i, 0);
    if (!zf)
        return ie_error_set(IE_ERR_IO, "zip entry '%s' cannot be read: %s (encrypted zips are not accepted)", name,
                            zip_strerror(za));
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) {
        zip_fclose(zf);
        return ie_error_set(IE_ERR_IO, "%s: cannot create: %s", path, strerror(errno));
    }
    static _Thread_local char buf[1 << 16];
    ie_status st = IE_OK;
    for (;;) {
        zip_int64_t n = zip_fread(zf, buf, sizeof buf);
        if (n < 0) {
            st = ie_error_set(IE_ERR_IO, "zip entry '%s' is damaged: %s", name, zip_file_strerror(zf));
            break;
        }
        if (n == 0) break;
        *total += (size_t)n; /* counted as read: the sizes in the zip's directory may lie */
        if (*total > limit) {
            *over_limit = true;
            st = ie_error_set(IE_ERR_IO, "the zip decompresses to more than %.0f MB (--max-image-mb); send one "
                              "series, without other files", (double)limit / MB);
            break;
        }
        if (write(fd, buf, (size_t)n) != n) {
            st = ie_error_set(IE_ERR_IO, "%s: cannot write: %s", path, strerror(errno));
            break;
        }
    }
    zip_fclose(zf);
    if (close(fd) != 0 && st == IE_OK) st = ie_error_set(IE_ERR_IO, "%s: cannot write: %s", path, strerror(errno));
    return st;
}

static ie_status unpack_zip(const void *data, size_t size, size_t limit, const char *dir, char *image,
                            size_t image_size, bool *over_limit) {
    zip_error_t err;
    zip_error_init(&err);
    zip_source_t *src = zip_source_buffer_create(data, size, 0, &err);
    zip_t *za = src ? zip_open_from_source(src, ZIP_RDONLY, &err) : NULL;
    if (!za) {
        ie_status st = ie_error_set(IE_ERR_IO, "the zip cannot be opened: %s; send a complete zip of one DICOM series",
                                    zip_error_strerror(&err));
        zip_source_free(src);
        zip_error_fini(&err);
        return st;
    }
    zip_error_fini(&err);
    zip_int64_t n = zip_get_num_entries(za, 0);
    ie_status st = IE_OK;
    if (n > IE_UPLOAD_MAX_ZIP_ENTRIES) {
        *over_limit = true;
        st = ie_error_set(IE_ERR_IO, "the zip has %lld entries, more than %d; send one DICOM series", (long long)n,
                          IE_UPLOAD_MAX_ZIP_ENTRIES);
    }
    /* Names and declared sizes first, so nothing is written for a zip that
     * would be refused anyway. */
    size_t declared = 0;
    for (zip_int64_t i = 0; st == IE_OK && i < n; i++) {
        zip_stat_t zs;
        if (zip_stat_index(za, (zip_uint64_t)i, 0, &zs) != 0 || !(zs.valid & ZIP_STAT_NAME)) {
            st = ie_error_set(IE_ERR_IO, "zip entry %lld cannot be read: %s", (long long)i, zip_strerror(za));
            break;
        }
        const char *why = unsafe_name(zs.name);
        if (why) {
            st = ie_error_set(IE_ERR_IO, "zip entry '%.200s' is refused: %s; entry names must stay inside the zip's "
                              "folder", zs.name, why);
            break;
        }
        if ((zs.valid & ZIP_STAT_SIZE) && !skipped_entry(zs.name)) {
            declared += zs.size > limit ? limit + 1 : (size_t)zs.size;
            if (declared > limit) {
                *over_limit = true;
                st = ie_error_set(IE_ERR_IO, "the zip's entries add up to more than %.0f MB (--max-image-mb); send "
                                  "one series, without other files", (double)limit / MB);
            }
        }
    }
    if (st == IE_OK) st = ie_path_format(image, image_size, "%s/series", dir);
    if (st == IE_OK && mkdir(image, 0700) != 0)
        st = ie_error_set(IE_ERR_IO, "%s: cannot create: %s", image, strerror(errno));
    size_t total = 0;
    int files = 0;
    for (zip_int64_t i = 0; st == IE_OK && i < n; i++) {
        const char *name = zip_get_name(za, (zip_uint64_t)i, 0);
        if (!name || skipped_entry(name)) continue; /* folders end with '/' */
        char path[4400];
        st = ie_path_format(path, sizeof path, "%s/%06d.dcm", image, files++);
        if (st == IE_OK) st = extract_entry(za, (zip_uint64_t)i, name, path, &total, limit, over_limit);
    }
    if (st == IE_OK && files == 0)
        st = ie_error_set(IE_ERR_IO, "the zip holds no files; send a zip of one DICOM series' slice files");
    zip_discard(za);
    return st;
}

static const uint8_t png_signature[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};

static uint32_t big_endian32(const uint8_t *p) {
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* A PNG's size decoded, from its header (the IHDR chunk that must follow
 * the signature), bounded before anything decodes it: libpng allocates
 * what the header declares. */
static ie_status check_png(const uint8_t *p, size_t size, size_t limit, bool *over_limit) {
    if (size < 8 + 8 + 13 || big_endian32(p + 8) != 13 || memcmp(p + 12, "IHDR", 4) != 0)
        return ie_error_set(IE_ERR_IO, "the PNG is truncated or damaged: its header (the IHDR chunk) is missing "
                            "after the signature; send the whole file");
    uint32_t width = big_endian32(p + 16), height = big_endian32(p + 20);
    uint8_t depth = p[24], colour = p[25];
    /* Samples per pixel as decoded: grey, -, RGB, palette (expanded to RGBA), grey+alpha, -, RGBA. */
    static const int channels[7] = {1, 0, 3, 4, 2, 0, 4};
    if (colour > 6 || !channels[colour] || (depth != 1 && depth != 2 && depth != 4 && depth != 8 && depth != 16))
        return ie_error_set(IE_ERR_IO, "the PNG header is damaged: colour type %u with bit depth %u is not a PNG "
                            "format; send the file as it was written", colour, depth);
    if (width == 0 || height == 0)
        return ie_error_set(IE_ERR_IO, "the PNG header is damaged: it declares %u x %u pixels", width, height);
    double bytes = (double)width * (double)height * channels[colour] * (depth == 16 ? 2 : 1);
    if (bytes > (double)limit) {
        *over_limit = true;
        return ie_error_set(IE_ERR_IO, "the PNG declares %u x %u pixels (%.0f MB decoded), more than --max-image-mb "
                            "%.0f allows; send a smaller image", width, height, bytes / MB, (double)limit / MB);
    }
    return IE_OK;
}

ie_status ie_upload_unpack(const void *data, size_t size, size_t max_decompressed, const char *dir,
                           ie_upload_kind *kind, char *image, size_t image_size, bool *over_limit) {
    const uint8_t *p = data;
    *over_limit = false;
    if (size >= 4 && p[0] == 'P' && p[1] == 'K' && ((p[2] == 3 && p[3] == 4) || (p[2] == 5 && p[3] == 6))) {
        *kind = IE_UPLOAD_DICOM_ZIP;
        return unpack_zip(data, size, max_decompressed, dir, image, image_size, over_limit);
    }
    const char *name = NULL;
    if (size >= 2 && p[0] == 0x1f && p[1] == 0x8b) {
        uint8_t head[540];
        size_t got = 0;
        IE_TRY(check_gzip(data, size, max_decompressed, head, sizeof head, &got, over_limit));
        if (!is_nifti(head, got))
            return ie_error_set(IE_ERR_UNSUPPORTED, "the upload is gzip-compressed but holds no NIfTI image; send "
                                "a .nii or .nii.gz, a .nrrd, or a zip of one DICOM series");
        *kind = IE_UPLOAD_NIFTI_GZ;
        name = "upload.nii.gz";
    } else if (is_nifti(p, size)) {
        *kind = IE_UPLOAD_NIFTI;
        name = "upload.nii";
    } else if (size >= 7 && !memcmp(p, "NRRD000", 7)) {
        IE_TRY(check_nrrd(data, size));
        *kind = IE_UPLOAD_NRRD;
        name = "upload.nrrd";
    } else if (size >= sizeof png_signature && !memcmp(p, png_signature, sizeof png_signature)) {
        IE_TRY(check_png(p, size, max_decompressed, over_limit));
        *kind = IE_UPLOAD_PNG;
        name = "upload.png";
    } else {
        return ie_error_set(IE_ERR_UNSUPPORTED, "the upload (%zu bytes) is not an image this server reads: send a "
                            "NIfTI (.nii, .nii.gz), a single-file NRRD (.nrrd), a zip of one DICOM series or a PNG",
                            size);
    }
    IE_TRY(ie_path_join(image, image_size, dir, name));
    return write_all(image, data, size);
}
