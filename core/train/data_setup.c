/* core/train - dataset sources, splits and loader settings from the config. */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/data/split_column.h"
#include "core/tensor/tensor_impl.h"
#include "core/train/data_setup.h"
#include "innereye/image_io.h"

static bool is_dir(const char *path) {
    struct stat st;
    return path[0] && stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static bool is_image_name(const char *name) {
    static const char *const ext[] = {".nii.gz", ".nii", ".nrrd", ".nhdr", ".mha", ".mhd"};
    size_t n = strlen(name);
    if (name[0] == '.') return false;
    for (size_t i = 0; i < sizeof ext / sizeof ext[0]; i++) {
        size_t e = strlen(ext[i]);
        if (n > e && strcmp(name + n - e, ext[i]) == 0) return true;
    }
    return false;
}

static int by_name(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* Sorted image file names of dir (caller frees each and the array). */
static ie_status list_images(const char *dir, char ***out, int *count) {
    DIR *d = opendir(dir);
    if (!d) return ie_error_set(IE_ERR_IO, "%s: cannot open the folder: %s", dir, strerror(errno));
    int n = 0, cap = 64;
    char **names = malloc((size_t)cap * sizeof *names);
    struct dirent *e;
    while (names && (e = readdir(d))) {
        if (!is_image_name(e->d_name)) continue;
        if (n == cap) {
            char **grown = realloc(names, (size_t)(cap *= 2) * sizeof *names);
            if (!grown) break;
            names = grown;
        }
        names[n++] = strdup(e->d_name);
    }
    closedir(d);
    if (!names) return ie_error_set(IE_ERR_NOMEM, "%s: out of memory listing images", dir);
    qsort(names, (size_t)n, sizeof *names, by_name);
    *out = names;
    *count = n;
    return IE_OK;
}

static void subject_of(const char *file, char *out, size_t size) {
    snprintf(out, size, "%s", file);
    char *dot = strstr(out, ".nii");
    if (!dot) dot = strrchr(out, '.');
    if (dot) *dot = '\0';
}

static void csv_field(FILE *f, const char *s) {
    if (!strpbrk(s, ",\"\n\r")) {
        fputs(s, f);
        return;
    }
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"') fputc('"', f);
        fputc(*s, f);
    }
    fputc('"', f);
}

/* dataset.csv pairing images and labels by file name (label-map layout). */
static ie_status write_paired_csv(const char *images_dir, const char *labels_dir, int max_subjects,
                                  const char *csv_path, int *written) {
    /* The CSV lives in the run folder: it lists absolute paths. */
    char images[PATH_MAX], labels[PATH_MAX];
    if (!realpath(images_dir, images)) return ie_error_set(IE_ERR_IO, "%s: %s", images_dir, strerror(errno));
    if (!realpath(labels_dir, labels))
        return ie_error_set(IE_ERR_IO, "data.labels_dir %s: %s", labels_dir, strerror(errno));
    char **names = NULL;
    int n = 0;
    IE_TRY(list_images(images, &names, &n));
    FILE *f = fopen(csv_path, "w");
    ie_status st = f ? IE_OK : ie_error_set(IE_ERR_IO, "%s: cannot write: %s", csv_path, strerror(errno));
    int count = 0, missing = 0;
    char first_missing[2 * PATH_MAX] = "";
    if (st == IE_OK) fprintf(f, "subject,filePath,channel\n");
    for (int i = 0; st == IE_OK && i < n && (!max_subjects || count < max_subjects); i++) {
        char label_path[2 * PATH_MAX], image_path[2 * PATH_MAX], subject[512];
        snprintf(label_path, sizeof label_path, "%s/%s", labels, names[i]);
        snprintf(image_path, sizeof image_path, "%s/%s", images, names[i]);
        struct stat sb;
        if (stat(label_path, &sb) != 0) {
            if (!missing++) snprintf(first_missing, sizeof first_missing, "%s", label_path);
            continue;
        }
        subject_of(names[i], subject, sizeof subject);
        csv_field(f, subject); fputc(',', f); csv_field(f, image_path); fputs(",image\n", f);
        csv_field(f, subject); fputc(',', f); csv_field(f, label_path); fputs(",label\n", f);
        count++;
    }
    if (f && fclose(f) != 0 && st == IE_OK) st = ie_error_set(IE_ERR_IO, "%s: write failed", csv_path);
    for (int i = 0; i < n; i++) free(names[i]);
    free(names);
    if (st == IE_OK && count == 0)
        st = ie_error_set(IE_ERR_IO, "%s: no image has a label of the same name in %s%s%s", images, labels,
                          missing ? " (first missing: " : "", missing ? first_missing : "");
    if (st == IE_OK && missing)
        fprintf(stderr, "note: %d images in %s have no label in %s (first: %s); they are left out\n", missing,
                images, labels, first_missing);
    *written = count;
    return st;
}

ie_status ie_data_write_synthetic(const char *dir, int count, uint64_t seed, char *csv_path, size_t size) {
    if (mkdir(dir, 0755) != 0 && errno != EEXIST)
        return ie_error_set(IE_ERR_IO, "%s: cannot create the folder: %s", dir, strerror(errno));
    snprintf(csv_path, size, "%s/dataset.csv", dir);
    FILE *f = fopen(csv_path, "w");
    if (!f) return ie_error_set(IE_ERR_IO, "%s: cannot write: %s", csv_path, strerror(errno));
    fprintf(f, "subject,filePath,channel\n");
    const int64_t shape[3] = {24, 40, 32}; /* D, H, W: hippocampus-like crops */
    ie_status st = IE_OK;
    for (int s = 0; st == IE_OK && s < count; s++) {
        ie_tensor *image = NULL, *labels = NULL;
        st = ie_tensor_empty(IE_F32, 3, shape, IE_CPU, &image);
        if (st == IE_OK) st = ie_tensor_empty(IE_I64, 3, shape, IE_CPU, &labels);
        if (st != IE_OK) break;
        ie_rng rng = ie_rng_make(seed, IE_STREAM_SAMPLING, 0, (uint32_t)s);
        double c[3], r[3];
        for (int a = 0; a < 3; a++) {
            c[a] = shape[a] * (0.35 + 0.3 * ie_rng_uniform(&rng));
            r[a] = shape[a] * (0.12 + 0.08 * ie_rng_uniform(&rng));
        }
        float *img = ie_f32(image);
        int64_t *lab = ie_tensor_data(labels);
        for (int64_t z = 0, i = 0; z < shape[0]; z++)
            for (int64_t y = 0; y < shape[1]; y++)
                for (int64_t x = 0; x < shape[2]; x++, i++) {
                    double dz = (z - c[0]) / r[0], dy = (y - c[1]) / r[1], dx = (x - c[2]) / r[2];
                    double d = sqrt(dz * dz + dy * dy + dx * dx);
                    int cls = d < 1.0 ? 1 : d < 1.5 ? 2 : 0;
                    lab[i] = cls;
                    img[i] = (float)(100.0 + 60.0 * cls + 20.0 * ie_rng_normal(&rng));
                }
        ie_image_geometry geom;
        char subject[64], image_path[4200], label_path[4200];
        snprintf(subject, sizeof subject, "synthetic_%03d", s);
        snprintf(image_path, sizeof image_path, "%s/%s_image.nii.gz", dir, subject);
        snprintf(label_path, sizeof label_path, "%s/%s_label.nii.gz", dir, subject);
        st = ie_image_geometry_from_shape(3, shape, &geom);
        if (st == IE_OK) st = ie_image_write(image_path, image, &geom);
        if (st == IE_OK) st = ie_image_write(label_path, labels, &geom);
        if (st == IE_OK) fprintf(f, "%s,%s,image\n%s,%s,label\n", subject, image_path, subject, label_path);
        ie_tensor_release(image);
        ie_tensor_release(labels);
    }
    if (fclose(f) != 0 && st == IE_OK) st = ie_error_set(IE_ERR_IO, "%s: write failed", csv_path);
    return st;
}

ie_status ie_data_prepare(const ie_config *cfg, const char *run_dir, ie_dataset **out, char *note,
                          size_t note_size) {
    const char *csv = "", *images = "", *labels = "";
    bool synthetic = false, fallback = false;
    int64_t max_subjects = 0, synthetic_count = 12, seed = 0;
    IE_TRY(ie_config_get_string(cfg, "data.dataset_csv", &csv));
    IE_TRY(ie_config_get_string(cfg, "data.images_dir", &images));
    IE_TRY(ie_config_get_string(cfg, "data.labels_dir", &labels));
    IE_TRY(ie_config_get_bool(cfg, "data.synthetic", &synthetic));
    IE_TRY(ie_config_get_bool(cfg, "data.fallback_synthetic", &fallback));
    IE_TRY(ie_config_get_int(cfg, "data.max_subjects", &max_subjects));
    IE_TRY(ie_config_get_int(cfg, "data.synthetic_subjects", &synthetic_count));
    IE_TRY(ie_config_get_int(cfg, "seed", &seed));
    char path[4200];
    if (!synthetic && csv[0]) {
        snprintf(note, note_size, "data: %s", csv);
        return ie_dataset_load(csv, "subject", out);
    }
    if (!synthetic && images[0] && (is_dir(images) || !fallback)) {
        if (!is_dir(images))
            return ie_error_set(IE_ERR_IO, "data.images_dir %s is not a folder (paths are relative to the "
                                           "current folder)", images);
        if (!labels[0]) return ie_error_set(IE_ERR_CONFIG, "data.images_dir is set but data.labels_dir is empty");
        snprintf(path, sizeof path, "%s/dataset.csv", run_dir);
        int count = 0;
        IE_TRY(write_paired_csv(images, labels, (int)max_subjects, path, &count));
        snprintf(note, note_size, "data: %d subjects from %s (labels %s), listed in %s", count, images, labels, path);
        return ie_dataset_load(path, "subject", out);
    }
    if (!synthetic && !fallback)
        return ie_error_set(IE_ERR_CONFIG, "no data: set data.dataset_csv, or data.images_dir and data.labels_dir, "
                                           "or data.synthetic");
    char dir[4200];
    snprintf(dir, sizeof dir, "%s/synthetic_data", run_dir);
    IE_TRY(ie_data_write_synthetic(dir, (int)synthetic_count, (uint64_t)seed, path, sizeof path));
    if (synthetic)
        snprintf(note, note_size, "data: %d generated volumes in %s", (int)synthetic_count, dir);
    else
        snprintf(note, note_size, "data: %s not found, so %d generated volumes in %s (data.fallback_synthetic)",
                 images, (int)synthetic_count, dir);
    return ie_dataset_load(path, "subject", out);
}

ie_status ie_data_split(const ie_config *cfg, const ie_dataset *ds, const char *run_dir, bool reuse, ie_split *out) {
    char path[4200];
    snprintf(path, sizeof path, "%s/split.csv", run_dir);
    if (reuse) return ie_split_read_csv(ds, path, out);
    const char *column = "";
    IE_TRY(ie_config_get_string(cfg, "data.split.column", &column));
    if (column[0]) { /* the dataset says (core/data/split_column.h) */
        IE_TRY(ie_split_by_column(ds, column, out));
        return ie_split_write_csv(ds, out, path);
    }
    double p[IE_SPLIT_PARTS];
    int64_t seed = 0, split_seed = -1;
    IE_TRY(ie_config_get_number(cfg, "data.split.train", &p[IE_SPLIT_TRAIN]));
    IE_TRY(ie_config_get_number(cfg, "data.split.val", &p[IE_SPLIT_VAL]));
    IE_TRY(ie_config_get_number(cfg, "data.split.test", &p[IE_SPLIT_TEST]));
    IE_TRY(ie_config_get_int(cfg, "seed", &seed));
    IE_TRY(ie_config_get_int(cfg, "data.split.seed", &split_seed));
    IE_TRY(ie_split_by_proportions(ds, p, (uint64_t)(split_seed >= 0 ? split_seed : seed), NULL, out));
    return ie_split_write_csv(ds, out, path);
}

ie_status ie_seg_setup_from_config(const ie_config *cfg, int n_classes, ie_seg_setup *s) {
    memset(s, 0, sizeof *s);
    ie_seg_config_init(&s->seg);
    int n = 0;
    IE_TRY(ie_config_get_array_length(cfg, "data.image_channels", &n));
    if (n < 1 || n > IE_MAX_CHANNELS)
        return ie_error_set(IE_ERR_CONFIG, "data.image_channels must list 1 to %d channels, it lists %d",
                            IE_MAX_CHANNELS, n);
    IE_TRY(ie_config_get_string_array(cfg, "data.image_channels", s->image_channels, IE_MAX_CHANNELS, &n));
    const char *norm = "SimpleNorm";
    IE_TRY(ie_config_get_string(cfg, "data.normalization", &norm));
    ie_seg_norm kind;
    if (!strcmp(norm, "None")) kind = IE_SEG_NORM_NONE;
    else if (!strcmp(norm, "SimpleNorm")) kind = IE_SEG_NORM_SIMPLE;
    else
        return ie_error_set(IE_ERR_UNSUPPORTED, "data.normalization \"%s\" is not available yet; use \"SimpleNorm\" "
                                                "or \"None\"",
                            norm);
    for (int i = 0; i < n; i++) s->norm[i] = kind;
    s->seg.n_image_channels = n;
    s->seg.image_channels = s->image_channels;
    s->seg.norm = s->norm;
    s->seg.truth = IE_SEG_TRUTH_LABEL_MAP;
    IE_TRY(ie_config_get_string(cfg, "data.label_channel", &s->seg.label_channel));
    s->seg.n_classes = n_classes;
    s->n_classes = n_classes;
    int64_t crop[3];
    int count = 0;
    IE_TRY(ie_config_get_int_array(cfg, "data.crop_size", crop, 3, &count));
    for (int i = 0; i < 3; i++) s->seg.crop[i] = crop[i];
    int64_t axes[3];
    IE_TRY(ie_config_get_int_array(cfg, "data.flip_axes", axes, 3, &count));
    for (int i = 0; i < count; i++) s->seg.flip[axes[i]] = true;
    return IE_OK;
}
