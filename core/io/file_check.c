/* core/io - integrity checks of NIfTI and MetaImage files: header arithmetic
 * and a full pass over compressed data. */
#include "core/io/file_check.h"
#include "core/util/path.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>

static const char *const hint = "the file is incomplete or damaged: copy or export it again";

typedef struct nifti_layout {
    int64_t vox_offset; /* bytes before the voxels (in the data file) */
    int64_t data_bytes; /* bytes of voxels the header promises */
    int datatype;       /* NIfTI DT_* code: 16 float32, 64 float64 */
    int swap;           /* the file's byte order is not this machine's */
    int64_t dims[3];    /* voxels along x, y, z (1 where absent) */
} nifti_layout;

static uint16_t rd16(const unsigned char *p, int swap) {
    uint16_t v;
    memcpy(&v, p, 2);
    return swap ? (uint16_t)((v >> 8) | (v << 8)) : v;
}
static uint32_t rd32(const unsigned char *p, int swap) {
    uint32_t v;
    memcpy(&v, p, 4);
    return swap ? __builtin_bswap32(v) : v;
}
static uint64_t rd64(const unsigned char *p, int swap) {
    uint64_t v;
    memcpy(&v, p, 8);
    return swap ? __builtin_bswap64(v) : v;
}

/* The spacing and orientation fields ITK turns into a direction matrix: a
 * NaN or infinity there makes ITK 5.2 abort the process inside vnl_svd
 * (assert_finite; found by fuzz_image_header), and a magnitude beyond 1e15 mm
 * (a million km) is no physical size but overflows float products on the way.
 * Each is checked whether or not its code (qform_code/sform_code) is set:
 * nifti1_io computes both matrices. */
#define IE_NIFTI_MAX_GEOMETRY 1e15
static ie_status check_geometry(const char *op, const char *path, const unsigned char *h, int v2, int swap) {
    static const struct {
        const char *name;
        int v1, v2, count; /* byte offsets in NIfTI-1 (float) and NIfTI-2 (double) headers */
    } fields[] = {{"pixdim[1..3] (voxel spacing)", 80, 112, 3},
                  {"quatern_b/c/d (qform rotation)", 256, 352, 3},
                  {"qoffset_x/y/z (qform origin)", 268, 376, 3},
                  {"srow_x (sform)", 280, 400, 4},
                  {"srow_y (sform)", 296, 432, 4},
                  {"srow_z (sform)", 312, 464, 4}};
    for (size_t f = 0; f < sizeof fields / sizeof fields[0]; f++) {
        for (int i = 0; i < fields[f].count; i++) {
            double v;
            if (v2) {
                uint64_t bits = rd64(h + fields[f].v2 + 8 * i, swap);
                memcpy(&v, &bits, 8);
            } else {
                uint32_t bits = rd32(h + fields[f].v1 + 4 * i, swap);
                float x;
                memcpy(&x, &bits, 4);
                v = x;
            }
            if (!isfinite(v) || fabs(v) > IE_NIFTI_MAX_GEOMETRY)
                return ie_error_set(IE_ERR_IO,
                                    "%s: %s: NIfTI header field %s, value %d, is %g: spacing and orientation must be "
                                    "finite sizes in mm (at most %g); %s",
                                    op, path, fields[f].name, i + 1, v, IE_NIFTI_MAX_GEOMETRY, hint);
        }
    }
    return IE_OK;
}

/* Parses the NIfTI-1 (348-byte) or NIfTI-2 (540-byte) header in h[0..n). */
static ie_status parse_header(const char *op, const char *path, const unsigned char *h, size_t n,
                              nifti_layout *out) {
    int swap = -1, v2 = 0;
    for (int s = 0; s < 2 && swap < 0; s++) {
        uint32_t size = rd32(h, s);
        if (size == 348) swap = s;
        if (size == 540) swap = s, v2 = 1;
    }
    if (swap < 0 || n < (v2 ? 540u : 348u))
        return ie_error_set(IE_ERR_IO, "%s: %s: not a complete NIfTI header; %s", op, path, hint);
    int64_t ndim, dims[8], bitpix;
    if (v2) {
        out->datatype = (int16_t)rd16(h + 12, swap);
        bitpix = (int16_t)rd16(h + 14, swap);
        for (int i = 0; i < 8; i++) dims[i] = (int64_t)rd64(h + 16 + 8 * i, swap);
        out->vox_offset = (int64_t)rd64(h + 168, swap);
    } else {
        out->datatype = (int16_t)rd16(h + 70, swap);
        bitpix = (int16_t)rd16(h + 72, swap);
        for (int i = 0; i < 8; i++) dims[i] = (int16_t)rd16(h + 40 + 2 * i, swap);
        uint32_t bits = rd32(h + 108, swap);
        float off;
        memcpy(&off, &bits, 4);
        out->vox_offset = off > 0 && off < 9.2e18f ? (int64_t)off : 0;
    }
    ndim = dims[0];
    if (ndim < 1 || ndim > 7 || bitpix <= 0 || bitpix % 8 != 0)
        return ie_error_set(IE_ERR_IO, "%s: %s: NIfTI header has %lld dimensions and %lld bits per voxel; %s", op,
                            path, (long long)ndim, (long long)bitpix, hint);
    int64_t bytes = bitpix / 8;
    for (int i = 1; i <= ndim; i++) {
        int64_t d = dims[i] < 1 ? 1 : dims[i]; /* as nifti_io reads it */
        if (bytes > INT64_MAX / d)
            return ie_error_set(IE_ERR_IO, "%s: %s: NIfTI header promises more voxels than fit in memory; %s", op,
                                path, hint);
        bytes *= d;
    }
    IE_TRY(check_geometry(op, path, h, v2, swap));
    out->data_bytes = bytes;
    out->swap = swap;
    for (int i = 0; i < 3; i++) out->dims[i] = i < ndim && dims[i + 1] > 1 ? dims[i + 1] : 1;
    return IE_OK;
}

static int is_gzip(FILE *f) {
    unsigned char m[2] = {0, 0};
    size_t n = fread(m, 1, 2, f);
    return n == 2 && m[0] == 0x1f && m[1] == 0x8b;
}

/* Uncompressed length of `path` (its size, or a full gzip pass that checks
 * every block and the trailing CRC), and its first `head_n` bytes. */
static ie_status content_length(const char *op, const char *path, unsigned char *head, size_t head_n,
                                size_t *head_got, int64_t *length) {
    FILE *f = fopen(path, "rb");
    if (!f) return ie_error_set(IE_ERR_IO, "%s: %s: %s", op, path, strerror(errno));
    const int gz = is_gzip(f);
    if (!gz) {
        rewind(f);
        *head_got = fread(head, 1, head_n, f);
        struct stat sb;
        int ok = fstat(fileno(f), &sb) == 0;
        fclose(f);
        if (!ok) return ie_error_set(IE_ERR_IO, "%s: %s: %s", op, path, strerror(errno));
        *length = (int64_t)sb.st_size;
        return IE_OK;
    }
    fclose(f);
    gzFile z = gzopen(path, "rb");
    if (!z) return ie_error_set(IE_ERR_IO, "%s: %s: cannot open: %s", op, path, strerror(errno));
    gzbuffer(z, 1 << 17);
    enum { chunk = 1 << 17 };
    unsigned char *buf = malloc(chunk);
    if (!buf) {
        gzclose(z);
        return ie_error_set(IE_ERR_NOMEM, "%s: %s: out of memory", op, path);
    }
    int64_t total = 0;
    *head_got = 0;
    int n;
    while ((n = gzread(z, buf, chunk)) > 0) {
        if (*head_got < head_n) {
            size_t take = head_n - *head_got < (size_t)n ? head_n - *head_got : (size_t)n;
            memcpy(head + *head_got, buf, take);
            *head_got += take;
        }
        total += n;
    }
    int err = Z_OK;
    char msg[128];
    const char *text = gzerror(z, &err);
    size_t plen = strlen(path); /* zlib prefixes its text with the path, which the message names already */
    if (strncmp(text, path, plen) == 0 && strncmp(text + plen, ": ", 2) == 0) text += plen + 2;
    snprintf(msg, sizeof msg, "%s", text); /* gzerror's text dies with z */
    gzclose(z);
    free(buf);
    if (n < 0 || err != Z_OK)
        return ie_error_set(IE_ERR_IO, "%s: %s: the gzip data is %s after %lld bytes (zlib: %s); %s", op, path,
                            err == Z_BUF_ERROR ? "truncated" : "damaged", (long long)total, msg, hint);
    *length = total;
    return IE_OK;
}

ie_status ie_nifti_header_check(const char *op, const char *path) {
    gzFile z = gzopen(path, "rb"); /* reads plain files as they are */
    if (!z) return ie_error_set(IE_ERR_IO, "%s: %s: cannot open: %s", op, path, strerror(errno));
    unsigned char head[540];
    const int n = gzread(z, head, sizeof head);
    gzclose(z);
    nifti_layout lay = {0};
    /* A short or damaged stream is left to the reader and the full check,
     * which say what is wrong with the data; only a complete header is judged. */
    if (n < 348) return IE_OK;
    return parse_header(op, path, head, (size_t)n, &lay);
}

int ie_nifti2_header(const char *path) {
    gzFile z = gzopen(path, "rb");
    if (!z) return 0;
    unsigned char head[12];
    const int n = gzread(z, head, sizeof head);
    gzclose(z);
    /* sizeof_hdr 540 in either byte order, then the "n+2" / "ni2" magic. */
    if (n != (int)sizeof head || (rd32(head, 0) != 540 && rd32(head, 1) != 540)) return 0;
    return head[4] == 'n' && (head[5] == '+' || head[5] == 'i') && head[6] == '2' ? 2 : 0;
}

static int ends_with(const char *s, const char *suffix) {
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && strcmp(s + n - k, suffix) == 0;
}

/* nifti1_io, inside ITK's reader, turns every NaN and infinite float voxel
 * into 0 and says nothing, so a damaged image would train and predict
 * "successfully".  The float voxels are therefore read here first (through
 * zlib, which reads uncompressed files as they are) and any non-finite one
 * is refused, naming the first. */
static ie_status check_finite(const char *op, const char *path, const nifti_layout *lay) {
    const int size = lay->datatype == 16 ? 4 : lay->datatype == 64 ? 8 : 0;
    if (!size) return IE_OK;
    gzFile z = gzopen(path, "rb");
    if (!z) return ie_error_set(IE_ERR_IO, "%s: %s: cannot open: %s", op, path, strerror(errno));
    gzbuffer(z, 1 << 17);
    enum { chunk = 1 << 17 }; /* a multiple of 8: no voxel straddles two reads */
    unsigned char *buf = malloc(chunk);
    if (!buf) {
        gzclose(z);
        return ie_error_set(IE_ERR_NOMEM, "%s: %s: out of memory", op, path);
    }
    int64_t skip = lay->vox_offset, voxel = 0, voxels = lay->data_bytes / size, bad = 0, first = -1;
    double first_value = 0;
    int n = 0;
    while (skip > 0 && (n = gzread(z, buf, (unsigned)(skip < chunk ? skip : chunk))) > 0) skip -= n;
    while (voxel < voxels && (n = gzread(z, buf, chunk)) > 0) {
        for (int i = 0; i + size <= n && voxel < voxels; i += size, voxel++) {
            double v;
            if (size == 4) {
                uint32_t bits = rd32(buf + i, lay->swap);
                float f;
                memcpy(&f, &bits, 4);
                v = f;
            } else {
                uint64_t bits = rd64(buf + i, lay->swap);
                memcpy(&v, &bits, 8);
            }
            if (isfinite(v)) continue;
            if (first < 0) first = voxel, first_value = v;
            bad++;
        }
    }
    gzclose(z);
    free(buf);
    if (!bad) return IE_OK;
    const int64_t x = first % lay->dims[0], y = first / lay->dims[0] % lay->dims[1],
                  zz = first / (lay->dims[0] * lay->dims[1]);
    return ie_error_set(IE_ERR_IO,
                        "%s: %s: voxel (x %lld, y %lld, z %lld) is %s (%lld non-finite voxel%s in all); NIfTI "
                        "readers would silently make them 0, so the image is refused: replace them (for example "
                        "with the background value) in the tool that wrote the file",
                        op, path, (long long)x, (long long)y, (long long)zz,
                        isnan(first_value) ? "NaN" : first_value > 0 ? "+Inf" : "-Inf", (long long)bad,
                        bad == 1 ? "" : "s");
}

static ie_status nifti_complete(const char *op, const char *path, nifti_layout *lay, const char **data_path_out,
                                char *img, size_t img_size);

ie_status ie_nifti_check_complete(const char *op, const char *path) {
    nifti_layout lay = {0};
    const char *data_path = NULL;
    char img[4096];
    return nifti_complete(op, path, &lay, &data_path, img, sizeof img);
}

ie_status ie_nifti_check(const char *op, const char *path) {
    nifti_layout lay = {0};
    const char *data_path = NULL;
    char img[4096];
    IE_TRY(nifti_complete(op, path, &lay, &data_path, img, sizeof img));
    return data_path ? check_finite(op, data_path, &lay) : IE_OK;
}

/* Header, data length and (compressed) stream; *data_path is the file with
 * the voxels (NULL when it could not be named: left to the reader). */
static ie_status nifti_complete(const char *op, const char *path, nifti_layout *lay_out, const char **data_path_out,
                                char *img, size_t img_size) {
    unsigned char head[540];
    size_t got = 0;
    int64_t length = 0;
    IE_TRY(content_length(op, path, head, sizeof head, &got, &length));
    nifti_layout lay = {0};
    IE_TRY(parse_header(op, path, head, got, &lay));
    *lay_out = lay;

    /* A .hdr/.img pair keeps its voxels in the .img (compressed or not). */
    const char *data_path = path;
    const int pair = ends_with(path, ".hdr") || ends_with(path, ".hdr.gz");
    if (pair) {
        size_t stem = strlen(path) - (ends_with(path, ".gz") ? 7 : 4);
        if (stem + 8 > img_size) return IE_OK; /* cannot name it: leave it to the reader */
        const char *candidates[] = {".img", ".img.gz"};
        data_path = NULL;
        for (int i = 0; i < 2 && !data_path; i++) {
            snprintf(img, img_size, "%.*s%s", (int)stem, path, candidates[i]);
            struct stat sb;
            if (stat(img, &sb) == 0) data_path = img;
        }
        if (!data_path)
            return ie_error_set(IE_ERR_IO, "%s: %s: the .img file with its voxels is missing; keep the .hdr and .img "
                                           "files together",
                                op, path);
        IE_TRY(content_length(op, data_path, head, 0, &got, &length));
    }
    if (length - lay.vox_offset < lay.data_bytes)
        return ie_error_set(IE_ERR_IO,
                            "%s: %s: the data is truncated: the header promises %lld bytes of voxels from byte %lld, "
                            "the file%s holds %lld bytes; %s",
                            op, path, (long long)lay.data_bytes, (long long)lay.vox_offset,
                            pair ? " with the voxels" : "", (long long)length, hint);
    *data_path_out = data_path;
    return IE_OK;
}

/* ---- MetaImage ---- */

/* Bytes per element of MetaIO's MET_<type> names (metaTypes.h). */
static int met_element_size(const char *type) {
    static const struct {
        const char *name;
        int size;
    } table[] = {{"MET_CHAR", 1},      {"MET_UCHAR", 1},     {"MET_SHORT", 2},     {"MET_USHORT", 2},
                 {"MET_INT", 4},       {"MET_UINT", 4},      {"MET_LONG", 4},      {"MET_ULONG", 4},
                 {"MET_LONG_LONG", 8}, {"MET_ULONG_LONG", 8}, {"MET_FLOAT", 4},    {"MET_DOUBLE", 8}};
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++)
        if (strcmp(type, table[i].name) == 0) return table[i].size;
    return 0;
}

typedef struct meta_header {
    int64_t voxels;        /* product of DimSize */
    int64_t channels;      /* ElementNumberOfChannels */
    int element_size;      /* from ElementType */
    int compressed;        /* CompressedData = True */
    int64_t header_size;   /* HeaderSize: bytes to skip in an external data file, -1: data at the end */
    char data_file[1024];  /* ElementDataFile value */
    int64_t data_offset;   /* where LOCAL data starts */
} meta_header;

static char *trim(char *s) {
    while (isspace((unsigned char)*s)) s++;
    char *e = s + strlen(s);
    while (e > s && isspace((unsigned char)e[-1])) *--e = '\0';
    return s;
}

static ie_status meta_parse(const char *op, const char *path, FILE *f, meta_header *h) {
    memset(h, 0, sizeof *h);
    h->channels = 1;
    h->header_size = 0;
    char line[4096];
    int64_t at = 0;
    int have_dims = 0;
    while (fgets(line, sizeof line, f)) {
        at += (int64_t)strlen(line);
        char *eq = strchr(line, '=');
        if (!eq) continue;
        *eq = '\0';
        char *key = trim(line), *value = trim(eq + 1);
        if (strcmp(key, "DimSize") == 0) {
            h->voxels = 1;
            have_dims = 1;
            for (char *p = value, *end; *p; p = end) {
                long long d = strtoll(p, &end, 10);
                if (end == p) break;
                if (d < 1 || h->voxels > INT64_MAX / d) return ie_error_set(IE_ERR_IO, "%s: %s: bad DimSize; %s", op, path, hint);
                h->voxels *= d;
            }
        } else if (strcmp(key, "ElementNumberOfChannels") == 0) {
            h->channels = strtoll(value, NULL, 10);
        } else if (strcmp(key, "ElementType") == 0) {
            h->element_size = met_element_size(value);
        } else if (strcmp(key, "CompressedData") == 0) {
            h->compressed = strcasecmp(value, "true") == 0;
        } else if (strcmp(key, "HeaderSize") == 0) {
            h->header_size = strtoll(value, NULL, 10);
        } else if (strcmp(key, "ElementDataFile") == 0) {
            snprintf(h->data_file, sizeof h->data_file, "%s", value);
            h->data_offset = at; /* the data follows this last header line */
            if (!have_dims || h->element_size == 0 || h->channels < 1)
                return ie_error_set(IE_ERR_IO, "%s: %s: MetaImage header lacks DimSize or a known ElementType; %s", op,
                                    path, hint);
            return IE_OK;
        }
    }
    return ie_error_set(IE_ERR_IO, "%s: %s: MetaImage header has no ElementDataFile line; %s", op, path, hint);
}

/* Inflates the zlib (or gzip) stream at the current position of f to its end;
 * *length gets the inflated size. */
static ie_status inflate_length(const char *op, const char *path, FILE *f, int64_t *length) {
    enum { chunk = 1 << 17 };
    unsigned char *in = malloc(chunk), *out = malloc(chunk);
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    if (!in || !out || inflateInit2(&zs, 15 + 32) != Z_OK) {
        free(in);
        free(out);
        return ie_error_set(IE_ERR_NOMEM, "%s: %s: out of memory", op, path);
    }
    int ret = Z_OK;
    int64_t total = 0;
    while (ret != Z_STREAM_END) {
        if (zs.avail_in == 0) {
            zs.avail_in = (uInt)fread(in, 1, chunk, f);
            zs.next_in = in;
            if (zs.avail_in == 0) break; /* input ended before the stream did */
        }
        zs.next_out = out;
        zs.avail_out = chunk;
        ret = inflate(&zs, Z_NO_FLUSH);
        total += (int64_t)(chunk - zs.avail_out);
        if (ret != Z_OK && ret != Z_STREAM_END && ret != Z_BUF_ERROR) break;
    }
    char why[128];
    snprintf(why, sizeof why, "%s", zs.msg ? zs.msg : "unexpected end of data");
    inflateEnd(&zs);
    free(in);
    free(out);
    if (ret != Z_STREAM_END)
        return ie_error_set(IE_ERR_IO, "%s: %s: the compressed data is %s after %lld bytes (zlib: %s); %s", op, path,
                            ret == Z_DATA_ERROR ? "damaged" : "truncated", (long long)total, why, hint);
    *length = total;
    return IE_OK;
}

ie_status ie_metaimage_check(const char *op, const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) return ie_error_set(IE_ERR_IO, "%s: %s: %s", op, path, strerror(errno));
    meta_header h;
    ie_status st = meta_parse(op, path, f, &h);
    if (st != IE_OK) {
        fclose(f);
        return st;
    }
    const int local = strcmp(h.data_file, "LOCAL") == 0;
    if (!local) {
        fclose(f);
        /* Several data files (LIST, or a numbered pattern): left to the reader. */
        if (strncmp(h.data_file, "LIST", 4) == 0 || strchr(h.data_file, '%') || strchr(h.data_file, ' ')) return IE_OK;
        char data_path[4096];
        const char *slash = strrchr(path, '/');
        ie_status fits = h.data_file[0] == '/' || !slash
                             ? ie_path_format(data_path, sizeof data_path, "%s", h.data_file)
                             : ie_path_format(data_path, sizeof data_path, "%.*s/%s", (int)(slash - path), path,
                                              h.data_file);
        if (fits != IE_OK) return ie_error_wrap(fits, "%s: %s: its data file", op, path);
        f = fopen(data_path, "rb");
        if (!f)
            return ie_error_set(IE_ERR_IO, "%s: %s: its data file %s cannot be opened (%s); keep the header and its "
                                           "data file together",
                                op, path, data_path, strerror(errno));
        h.data_offset = h.header_size > 0 ? h.header_size : 0;
    }
    const int64_t needed = h.voxels * h.channels * h.element_size;
    int64_t length = 0;
    if (h.compressed) {
        if (fseeko(f, (off_t)h.data_offset, SEEK_SET) != 0) st = ie_error_set(IE_ERR_IO, "%s: %s: %s", op, path, strerror(errno));
        else st = inflate_length(op, path, f, &length);
    } else {
        struct stat sb;
        if (fstat(fileno(f), &sb) != 0) st = ie_error_set(IE_ERR_IO, "%s: %s: %s", op, path, strerror(errno));
        /* HeaderSize -1 puts the data at the end of the file. */
        length = h.header_size == -1 && !local ? (int64_t)sb.st_size : (int64_t)sb.st_size - h.data_offset;
    }
    fclose(f);
    IE_TRY(st);
    if (length < needed)
        return ie_error_set(IE_ERR_IO,
                            "%s: %s: the data is truncated: the header promises %lld bytes of voxels, the file "
                            "holds %lld; %s",
                            op, path, (long long)needed, (long long)length, hint);
    return IE_OK;
}

/* ITK 5.2's MetaIO reads a header field's name into a 255-byte buffer with
 * strcpy (MET_InitReadField), and copies string values such as Comment or Name
 * the same way (MetaObject::M_Read): a longer name or value overflows it and
 * the process aborts.  This scan follows MET_Read: a name starts after white
 * space and ends at '=', ':' or a line end (trailing blanks and tabs are not
 * part of it); the value runs to the end of the line.  Reading stops at
 * ElementDataFile, whose value ITK keeps in a string (a long path is fine)
 * and which is only checked when it is a pattern (data_file_pattern_check). */
enum { META_NAME_MAX = 254 };

/* An ElementDataFile value with a '%' is a numbered series of files, which
 * MetaIO reads as "PATTERN MIN MAX STEP" without checking the words are
 * there: fewer words, or a step of 0, crash it (out-of-bounds read, division
 * by zero).  f is just after the '='. */
static ie_status data_file_pattern_check(const char *op, const char *path, FILE *f, int line) {
    char value[1024];
    if (!fgets(value, sizeof value, f) || !strchr(value, '%')) return IE_OK;
    char pattern[1024], extra;
    long long lo, hi, step;
    int words = sscanf(value, " %1023s %lld %lld %lld %c", pattern, &lo, &hi, &step, &extra);
    int printable = 1;
    for (const char *c = value; *c && *c != '\n'; c++) printable &= isprint((unsigned char)*c) != 0;
    if (words != 4 || step == 0 || !printable)
        return ie_error_set(IE_ERR_IO, "%s: %s: line %d of the MetaImage header: ElementDataFile with a '%%' must be "
                                       "\"PATTERN MIN MAX STEP\" (integers, STEP not 0), which ITK's reader needs; %s",
                            op, path, line, hint);
    return IE_OK;
}

ie_status ie_metaimage_header_check(const char *op, const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) return ie_error_set(IE_ERR_IO, "%s: %s: %s", op, path, strerror(errno));
    char name[META_NAME_MAX + 2];
    int c = 0, line = 1;
    ie_status st = IE_OK;
    while (st == IE_OK && c != EOF) {
        while ((c = getc(f)) != EOF && isspace(c))
            if (c == '\n') line++;
        size_t n = 0;
        for (; c != EOF && c != '=' && c != ':' && c != '\r' && c != '\n'; c = getc(f), n++)
            if (n < sizeof name - 1) name[n] = (char)c;
        while (n > 0 && n < sizeof name && (name[n - 1] == ' ' || name[n - 1] == '\t')) n--;
        name[n < sizeof name ? n : sizeof name - 1] = '\0';
        if (n > META_NAME_MAX) {
            st = ie_error_set(IE_ERR_IO, "%s: %s: line %d of the MetaImage header has a field name of more than %d "
                                         "characters, which ITK's reader cannot take; %s",
                              op, path, line, META_NAME_MAX, hint);
            break;
        }
        if (c != '=' && c != ':') {
            if (c == '\n') line++;
            continue;
        }
        if (strcmp(name, "ElementDataFile") == 0) {
            st = data_file_pattern_check(op, path, f, line);
            break;
        }
        while ((c = getc(f)) == ' ' || c == '\t') {
        }
        size_t value = 0;
        char text[32] = "";
        for (; c != EOF && c != '\n'; c = getc(f))
            if (value++ < sizeof text - 1) text[value - 1] = (char)c;
        /* A huge NDims kept MetaIO busy for minutes (fuzz_image_header); MetaIO
         * images have at most 10 dimensions. */
        char *end;
        long ndims = strcmp(name, "NDims") == 0 ? strtol(text, &end, 10) : 1;
        if (ndims < 1 || ndims > 10 || (strcmp(name, "NDims") == 0 && (end == text || value >= sizeof text)))
            st = ie_error_set(IE_ERR_IO, "%s: %s: line %d of the MetaImage header: NDims must be 1 to 10; %s", op,
                              path, line, hint);
        if (st == IE_OK && value > META_NAME_MAX)
            st = ie_error_set(IE_ERR_IO, "%s: %s: line %d of the MetaImage header (%s) has a value of more than %d "
                                         "characters, which ITK's reader cannot take; %s",
                              op, path, line, name, META_NAME_MAX, hint);
        if (c == '\n') line++;
    }
    fclose(f);
    return st;
}
