/* tests/bad_inputs - makes the damaged and unusual inputs of the bad-input
 * suite (tests/bad_inputs/run.sh), so the suite needs neither Python nor
 * committed binary files:
 *
 *   bad_input_tool dataset DIR N            N generated subjects + DIR/dataset.csv
 *   bad_input_tool image OUT [options]      an f32 image (8x8x8 unless --like)
 *   bad_input_tool labels OUT [options]     a label map (values 0..2)
 *   bad_input_tool nan-weights IN OUT       a safetensors copy with NaN floats
 *   bad_input_tool reseries SRC DST         DICOM files of SRC with another
 *                                           SeriesInstanceUID, into DST
 *   bad_input_tool verify FILE...           every file reads as a complete image
 *   bad_input_tool same-grid REF FILE...    every file has REF's voxel grid
 * options: --like FILE (its grid), --2d (16x16), --spacing X,Y,Z,
 *          --nan / --inf (one voxel), --value V (labels: one voxel = V,
 *          written as float when V is not whole) */
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/checkpoint/safetensors.h"
#include "core/train/data_setup.h"
#include "core/util/file_util.h"
#include "innereye/image_io.h"

static int fail(const char *what) {
    fprintf(stderr, "bad_input_tool: %s%s%s\n", what, ie_error_message()[0] ? ": " : "", ie_error_message());
    return 1;
}

typedef struct options {
    const char *like;
    bool two_d, nan, inf, has_value;
    double value, spacing[3];
} options;

static bool parse_options(int argc, char **argv, options *o) {
    memset(o, 0, sizeof *o);
    for (int i = 0; i < argc; i++) {
        if (!strcmp(argv[i], "--like") && i + 1 < argc) o->like = argv[++i];
        else if (!strcmp(argv[i], "--2d")) o->two_d = true;
        else if (!strcmp(argv[i], "--nan")) o->nan = true;
        else if (!strcmp(argv[i], "--inf")) o->inf = true;
        else if (!strcmp(argv[i], "--value") && i + 1 < argc) o->has_value = true, o->value = atof(argv[++i]);
        else if (!strcmp(argv[i], "--spacing") && i + 1 < argc &&
                 sscanf(argv[++i], "%lf,%lf,%lf", &o->spacing[0], &o->spacing[1], &o->spacing[2]) == 3) continue;
        else {
            fprintf(stderr, "bad_input_tool: unknown option '%s'\n", argv[i]);
            return false;
        }
    }
    return true;
}

static ie_status grid(const options *o, ie_image_geometry *g) {
    if (o->like) return ie_image_read_geometry(o->like, g);
    int64_t shape3[3] = {8, 8, 8}, shape2[2] = {16, 16};
    IE_TRY(ie_image_geometry_from_shape(o->two_d ? 2 : 3, o->two_d ? shape2 : shape3, g));
    for (int a = 0; a < 3 && o->spacing[0] > 0; a++) g->spacing[a] = o->spacing[a];
    return IE_OK;
}

/* A bright blob in the middle (labels 1 inside, 2 around it). */
static int blob_class(const ie_image_geometry *g, int64_t i) {
    int64_t x = i % g->size[0], y = i / g->size[0] % g->size[1], z = i / (g->size[0] * g->size[1]);
    double d = 0;
    for (int a = 0; a < g->ndim; a++) {
        double c = (a == 0 ? x : a == 1 ? y : z) - (g->size[a] - 1) / 2.0, r = g->size[a] / 4.0 + 0.5;
        d += c * c / (r * r);
    }
    return d < 1 ? 1 : d < 2.25 ? 2 : 0;
}

static int write_volume(const char *out, const options *o, bool labels) {
    ie_image_geometry g;
    if (grid(o, &g) != IE_OK) return fail("reading the grid");
    int64_t shape[3];
    int nd = ie_image_geometry_shape(&g, shape);
    bool as_float = !labels || (o->has_value && o->value != floor(o->value)) || o->nan || o->inf;
    ie_tensor *t = NULL;
    if (ie_tensor_empty(as_float ? IE_F32 : IE_I64, nd, shape, IE_CPU, &t) != IE_OK) return fail("out of memory");
    int64_t n = ie_tensor_numel(t);
    for (int64_t i = 0; i < n; i++) {
        int c = blob_class(&g, i);
        double v = labels ? c : 100.0 + 50.0 * c + (double)(i % 7);
        if (as_float) ie_tensor_data_f32(t)[i] = (float)v;
        else ((int64_t *)ie_tensor_data(t))[i] = c;
    }
    int64_t mid = n / 2;
    if (o->nan) ie_tensor_data_f32(t)[mid] = NAN;
    if (o->inf) ie_tensor_data_f32(t)[mid] = INFINITY;
    if (o->has_value) {
        if (as_float) ie_tensor_data_f32(t)[mid] = (float)o->value;
        else ((int64_t *)ie_tensor_data(t))[mid] = (int64_t)o->value;
    }
    ie_status st = ie_image_write(out, t, &g);
    ie_tensor_release(t);
    return st == IE_OK ? 0 : fail(out);
}

static int nan_weights(const char *in, const char *out) {
    ie_params *p = NULL;
    if (ie_safetensors_read(in, &p) != IE_OK) return fail(in);
    for (int i = 0; i < ie_params_count(p); i++) {
        ie_tensor *t = ie_params_tensor(p, i);
        if (ie_tensor_dtype(t) != IE_F32) continue;
        float *v = ie_tensor_data_f32(t);
        for (int64_t k = 0; k < ie_tensor_numel(t); k++) v[k] = NAN;
    }
    ie_status st = ie_safetensors_write(out, p);
    ie_params_free(p);
    return st == IE_OK ? 0 : fail(out);
}

/* The value of tag (0020,000E) SeriesInstanceUID in an explicit-VR
 * little-endian file: its last digit changed, so the length stays. */
static bool change_series_uid(unsigned char *b, size_t n) {
    static const unsigned char tag[] = {0x20, 0x00, 0x0e, 0x00, 'U', 'I'};
    for (size_t i = 0; i + 8 < n; i++) {
        if (memcmp(b + i, tag, sizeof tag) != 0) continue;
        size_t len = b[i + 6] | (size_t)b[i + 7] << 8, end = i + 8 + len;
        if (end > n) return false;
        while (end > i + 8 && (b[end - 1] < '0' || b[end - 1] > '9')) end--; /* padding */
        if (end == i + 8) return false;
        b[end - 1] = b[end - 1] == '9' ? '8' : (unsigned char)(b[end - 1] + 1);
        return true;
    }
    return false;
}

static int reseries(const char *src, const char *dst) {
    if (ie_make_dirs(dst) != IE_OK) return fail(dst);
    DIR *d = opendir(src);
    if (!d) return fail(src);
    int copied = 0;
    for (struct dirent *e; (e = readdir(d));) {
        if (e->d_name[0] == '.') continue;
        char in[4096], out[4096], *bytes = NULL;
        size_t n = 0;
        snprintf(in, sizeof in, "%s/%s", src, e->d_name);
        snprintf(out, sizeof out, "%s/%s", dst, e->d_name);
        if (ie_read_file(in, &bytes, &n) != IE_OK) return fail(in);
        if (!change_series_uid((unsigned char *)bytes, n)) {
            fprintf(stderr, "bad_input_tool: %s has no SeriesInstanceUID\n", in);
            return 1;
        }
        FILE *f = fopen(out, "wb");
        bool ok = f && fwrite(bytes, 1, n, f) == n;
        if (f && fclose(f) != 0) ok = false;
        free(bytes);
        if (!ok) return fail(out);
        copied++;
    }
    closedir(d);
    return copied ? 0 : fail("no files copied");
}

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: see tests/bad_inputs/bad_input_tool.c\n");
        return 2;
    }
    const char *cmd = argv[1];
    options o;
    if (!strcmp(cmd, "dataset") && argc == 4) {
        char csv[4200];
        ie_status st = ie_data_write_synthetic(argv[2], atoi(argv[3]), 7, csv, sizeof csv);
        return st == IE_OK ? 0 : fail(argv[2]);
    }
    if ((!strcmp(cmd, "image") || !strcmp(cmd, "labels")) && parse_options(argc - 3, argv + 3, &o))
        return write_volume(argv[2], &o, !strcmp(cmd, "labels"));
    if (!strcmp(cmd, "nan-weights") && argc == 4) return nan_weights(argv[2], argv[3]);
    if (!strcmp(cmd, "reseries") && argc == 4) return reseries(argv[2], argv[3]);
    if (!strcmp(cmd, "same-grid") && argc >= 4) {
        ie_image_geometry ref, g;
        if (ie_image_read_geometry(argv[2], &ref) != IE_OK) return fail(argv[2]);
        for (int i = 3; i < argc; i++) {
            char why[256];
            if (ie_image_read_geometry(argv[i], &g) != IE_OK) return fail(argv[i]);
            if (!ie_image_geometry_equal(&g, &ref, IE_GEOMETRY_TOLERANCE, why, sizeof why)) {
                fprintf(stderr, "bad_input_tool: %s is not on the grid of %s: %s\n", argv[i], argv[2], why);
                return 1;
            }
        }
        return 0;
    }
    if (!strcmp(cmd, "verify")) {
        for (int i = 2; i < argc; i++) {
            ie_tensor *t = NULL;
            if (ie_image_read(argv[i], IE_F32, &t, NULL) != IE_OK) return fail(argv[i]);
            ie_tensor_release(t);
        }
        return 0;
    }
    fprintf(stderr, "bad_input_tool: cannot do '%s' with these arguments\n", cmd);
    return 2;
}
