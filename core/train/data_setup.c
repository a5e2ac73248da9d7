/* core/train - dataset sources, splits and loader settings from the config. */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/data/cv_settings.h"
#include "core/data/data_settings.h"
#include "core/data/pairing.h"
#include "core/data/split_column.h"
#include "core/data/validate.h"
#include "core/util/file_util.h"
#include "core/run/run_settings.h"
#include "core/tensor/tensor_impl.h"
#include "core/train/data_setup.h"
#include "core/util/path.h"
#include "innereye/image_io.h"

static bool is_dir(const char *path) {
    struct stat st;
    return path[0] && stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

ie_status ie_data_write_synthetic(const char *dir, int count, uint64_t seed, char *csv_path, size_t size) {
    if (mkdir(dir, 0755) != 0 && errno != EEXIST)
        return ie_error_set(IE_ERR_IO, "%s: cannot create the folder: %s", dir, strerror(errno));
    IE_TRY(ie_path_format(csv_path, size, "%s/dataset.csv", dir));
    char *text = NULL;
    size_t text_size = 0;
    FILE *f = open_memstream(&text, &text_size); /* written atomically at the end */
    if (!f) return ie_error_set(IE_ERR_NOMEM, "%s: out of memory", csv_path);
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
        st = ie_path_format(image_path, sizeof image_path, "%s/%s_image.nii.gz", dir, subject);
        if (st == IE_OK) st = ie_path_format(label_path, sizeof label_path, "%s/%s_label.nii.gz", dir, subject);
        if (st == IE_OK) st = ie_image_geometry_from_shape(3, shape, &geom);
        if (st == IE_OK) st = ie_image_write(image_path, image, &geom);
        if (st == IE_OK) st = ie_image_write(label_path, labels, &geom);
        /* Paths relative to the CSV's folder, where the dataset resolves them. */
        if (st == IE_OK)
            fprintf(f, "%s,%s_image.nii.gz,image\n%s,%s_label.nii.gz,label\n", subject, subject, subject, subject);
        ie_tensor_release(image);
        ie_tensor_release(labels);
    }
    if (st != IE_OK) {
        fclose(f);
        free(text);
        return st;
    }
    return ie_write_stream_atomic(f, &text, &text_size, csv_path);
}

/* dataset.csv in the run folder pairing data.images_dir with data.labels_dir. */
static ie_status pair_folders(const ie_data_settings *data, int max_subjects, const char *run_dir, char *path,
                              size_t path_size, char *note, size_t note_size) {
    const char *images = data->images_dir, *labels = data->labels_dir;
    const char *image_channel = "image", *label_channel = data->label_channel;
    IE_TRY(ie_data_settings_check_count("data.image_channels", data->n_image_channels, IE_MAX_CHANNELS));
    if (data->n_image_channels == 1) image_channel = data->image_channels[0];
    ie_pairing pairs;
    IE_TRY(ie_path_format(path, path_size, "%s/dataset.csv", run_dir));
    IE_TRY(ie_pairing_find(images, labels, max_subjects, &pairs));
    ie_status st = ie_pairing_write_csv(&pairs, image_channel, label_channel, path);
    char unpaired[1024];
    ie_pairing_describe_unpaired(&pairs, 3, unpaired, sizeof unpaired);
    snprintf(note, note_size, "data: %d subjects from %s (labels %s), listed in %s%s%s", pairs.n_pairs, images,
             labels, path, unpaired[0] ? "; left out: " : "", unpaired);
    ie_pairing_free(&pairs);
    return st;
}

/* data.dataset_csv, or <data.root>/dataset.csv; with data.root set, the
 * CSV's file paths start there. */
static ie_status load_csv(const char *csv, const char *root, ie_dataset **out, char *note, size_t note_size) {
    char path[4200];
    const char *key = csv[0] ? "data.dataset_csv" : "data.root";
    ie_status fits =
        csv[0] ? ie_path_format(path, sizeof path, "%s", csv) : ie_path_join(path, sizeof path, root, "dataset.csv");
    if (fits != IE_OK) return ie_error_wrap(fits, "%s", key);
    struct stat sb;
    bool exists = stat(path, &sb) == 0; /* sb is read only when it does */
    int err = errno;
    if (!exists || !S_ISREG(sb.st_mode))
        return ie_error_set(IE_ERR_IO, "%s: cannot open '%s': %s; check %s (relative paths start at the current "
                            "folder%s)", key, path,
                            !exists ? strerror(err) : S_ISDIR(sb.st_mode) ? "it is a folder" : "it is not a file",
                            key, csv[0] ? "" : "; data.root must hold dataset.csv");
    IE_TRY(ie_dataset_load(path, "subject", out));
    snprintf(note, note_size, "data: %s", path);
    if (!root[0]) return IE_OK;
    char resolved[PATH_MAX];
    ie_status st = realpath(root, resolved) && is_dir(resolved)
                       ? ie_dataset_set_root(*out, resolved)
                       : ie_error_set(IE_ERR_IO, "data.root %s is not a folder (relative paths start at the current "
                                      "folder)", root);
    if (st != IE_OK) {
        ie_dataset_free(*out);
        *out = NULL;
    }
    return st;
}

/* A resumed run reads the dataset.csv it built itself (pairing the folders
 * again would meet its own file, which is never overwritten, and must not
 * silently pick up images added since). */
static ie_status reuse_built(const char *path, const char *what, ie_dataset **out, char *note, size_t note_size) {
    snprintf(note, note_size, "data: %s (%s, as the run started)", path, what);
    return ie_dataset_load(path, "subject", out);
}

ie_status ie_data_prepare(const ie_config *cfg, const char *run_dir, bool resume, ie_dataset **out, char *note,
                          size_t note_size) {
    *out = NULL;
    ie_data_settings data;
    ie_run_settings run;
    int64_t max_subjects = 0, synthetic_count = 12;
    IE_TRY(ie_data_settings_read(cfg, &data));
    IE_TRY(ie_run_settings_read(cfg, &run));
    IE_TRY(ie_config_get_int(cfg, "data.max_subjects", &max_subjects));
    IE_TRY(ie_config_get_int(cfg, "data.synthetic_subjects", &synthetic_count));
    const char *csv = data.dataset_csv, *root = data.root, *images = data.images_dir, *labels = data.labels_dir;
    bool synthetic = data.synthetic, fallback = data.fallback_synthetic;
    char path[4400];
    if (!synthetic && (csv[0] || root[0])) return load_csv(csv, root, out, note, note_size);
    /* A resumed run reads what it built when it started, whatever exists now:
     * generated data never replaces a folder that went missing since. */
    char built[4400];
    IE_TRY(ie_path_format(built, sizeof built, "%s/dataset.csv", run_dir));
    if (resume && !synthetic && images[0] && access(built, F_OK) == 0)
        return reuse_built(built, "paired from data.images_dir", out, note, note_size);
    if (!synthetic && images[0] && (is_dir(images) || !fallback)) {
        if (!is_dir(images))
            return ie_error_set(IE_ERR_IO, "data.images_dir %s is not a folder (paths are relative to the "
                                           "current folder)", images);
        if (!labels[0]) return ie_error_set(IE_ERR_CONFIG, "data.images_dir is set but data.labels_dir is empty");
        IE_TRY(ie_path_format(path, sizeof path, "%s/dataset.csv", run_dir));
        if (resume) return reuse_built(path, "paired from data.images_dir", out, note, note_size);
        IE_TRY(pair_folders(&data, (int)max_subjects, run_dir, path, sizeof path, note, note_size));
        return ie_dataset_load(path, "subject", out);
    }
    if (!synthetic && !fallback)
        return ie_error_set(IE_ERR_CONFIG, "no data: set data.dataset_csv, or data.images_dir and data.labels_dir, "
                                           "or data.synthetic");
    char dir[4200];
    IE_TRY(ie_path_format(dir, sizeof dir, "%s/synthetic_data", run_dir));
    IE_TRY(ie_path_format(path, sizeof path, "%s/dataset.csv", dir));
    if (resume) return reuse_built(path, "generated", out, note, note_size);
    IE_TRY(ie_data_write_synthetic(dir, (int)synthetic_count, run.seed, path, sizeof path));
    if (synthetic) {
        snprintf(note, note_size, "data: %d generated volumes in %s", (int)synthetic_count, dir);
    } else {
        snprintf(note, note_size, "data: %s not found, so %d GENERATED volumes in %s (data.fallback_synthetic)",
                 images, (int)synthetic_count, dir);
        /* Loud: a run on stand-in data must never pass for one on the user's. */
        fprintf(stderr,
                "warning: ======================================================================\n"
                "warning: data.images_dir %s does not exist, so this run trains and tests on %d\n"
                "warning: GENERATED volumes (data.fallback_synthetic is true): its results say nothing\n"
                "warning: about real data. Give your data (--set data.images_dir=DIR --set\n"
                "warning: data.labels_dir=DIR, or data.dataset_csv), or --set data.fallback_synthetic=false\n"
                "warning: to make a missing folder an error. Paths are relative to the current folder.\n"
                "warning: ======================================================================\n",
                images, (int)synthetic_count);
    }
    return ie_dataset_load(path, "subject", out);
}

/* data.split.{train,val,test}_subjects, when any is set. */
static ie_status split_by_lists(const ie_config *cfg, const ie_dataset *ds, bool *used, ie_split *out) {
    static const char *const keys[IE_SPLIT_PARTS] = {"data.split.train_subjects", "data.split.val_subjects",
                                                     "data.split.test_subjects"};
    int counts[IE_SPLIT_PARTS], total = 0;
    for (int p = 0; p < IE_SPLIT_PARTS; p++) {
        IE_TRY(ie_config_get_array_length(cfg, keys[p], &counts[p]));
        total += counts[p];
    }
    *used = total > 0;
    if (!*used) return IE_OK;
    const char **names = calloc((size_t)total, sizeof *names);
    if (!names) return ie_error_set(IE_ERR_NOMEM, "split: out of memory");
    const char *const *lists[IE_SPLIT_PARTS];
    ie_status st = IE_OK;
    for (int p = 0, at = 0; p < IE_SPLIT_PARTS && st == IE_OK; p++) {
        int n = 0;
        st = ie_config_get_string_array(cfg, keys[p], names + at, counts[p], &n);
        lists[p] = names + at;
        at += counts[p];
    }
    if (st == IE_OK) st = ie_split_by_lists(ds, lists, counts, out);
    free(names);
    return st;
}

/* How the dataset is split: the seed (data.split.seed when set, else the
 * run's seed), data.split.group_column, column and the proportions. */
ie_status ie_split_settings_read(const ie_config *cfg, ie_split_settings *out) {
    ie_run_settings run;
    ie_split_settings s = {.group_column = "", .column = ""};
    int64_t split_seed = -1;
    IE_TRY(ie_run_settings_read(cfg, &run));
    IE_TRY(ie_config_get_int(cfg, "data.split.seed", &split_seed));
    IE_TRY(ie_config_get_string(cfg, "data.split.group_column", &s.group_column));
    IE_TRY(ie_config_get_string(cfg, "data.split.column", &s.column));
    IE_TRY(ie_config_get_number(cfg, "data.split.train", &s.fraction[IE_SPLIT_TRAIN]));
    IE_TRY(ie_config_get_number(cfg, "data.split.val", &s.fraction[IE_SPLIT_VAL]));
    IE_TRY(ie_config_get_number(cfg, "data.split.test", &s.fraction[IE_SPLIT_TEST]));
    s.seed = split_seed >= 0 ? (uint64_t)split_seed : run.seed;
    *out = s;
    return IE_OK;
}

/* Cross-validation (cv.splits >= 2, cv.split_index >= 0): the test part
 * stays; fold `cv.split_index` of a k-fold cut of everything else (train +
 * val, groups kept together) becomes this run's validation part. */
static ie_status cross_validation_fold(const ie_config *cfg, const ie_split_settings *split, const ie_dataset *ds,
                                       ie_split *out) {
    ie_cv_settings cv;
    IE_TRY(ie_cv_settings_read(cfg, &cv));
    int folds = cv.splits, fold = cv.split_index;
    if (folds < 2 || fold < 0) return IE_OK;
    const char *group = split->group_column;
    int pool_n = out->count[IE_SPLIT_TRAIN] + out->count[IE_SPLIT_VAL];
    int *pool = malloc((size_t)(pool_n ? pool_n : 1) * sizeof *pool);
    if (!pool) return ie_error_set(IE_ERR_NOMEM, "cross-validation split: out of memory");
    if (out->count[IE_SPLIT_TRAIN]) memcpy(pool, out->part[IE_SPLIT_TRAIN], (size_t)out->count[IE_SPLIT_TRAIN] * sizeof *pool);
    if (out->count[IE_SPLIT_VAL])
        memcpy(pool + out->count[IE_SPLIT_TRAIN], out->part[IE_SPLIT_VAL], (size_t)out->count[IE_SPLIT_VAL] * sizeof *pool);
    ie_split fold_split = {0};
    ie_status st = ie_split_kfold(ds, pool, pool_n, folds, fold, split->seed, group[0] ? group : NULL, &fold_split);
    free(pool);
    if (st != IE_OK) return ie_error_wrap(st, "cv.splits = %d", folds);
    fold_split.part[IE_SPLIT_TEST] = out->part[IE_SPLIT_TEST];
    fold_split.count[IE_SPLIT_TEST] = out->count[IE_SPLIT_TEST];
    out->part[IE_SPLIT_TEST] = NULL;
    out->count[IE_SPLIT_TEST] = 0;
    ie_split_free(out);
    *out = fold_split;
    return IE_OK;
}

ie_status ie_data_split(const ie_config *cfg, const ie_dataset *ds, const char *run_dir, bool reuse, ie_split *out) {
    char path[4200];
    IE_TRY(ie_path_format(path, sizeof path, "%s/split.csv", run_dir));
    if (reuse) return ie_split_read_csv(ds, path, out);
    bool listed = false;
    ie_split_settings settings;
    IE_TRY(ie_split_settings_read(cfg, &settings));
    if (settings.column[0]) { /* the dataset says (core/data/split_column.h) */
        IE_TRY(ie_split_by_column(ds, settings.column, out));
        listed = true;
    } else {
        IE_TRY(split_by_lists(cfg, ds, &listed, out));
    }
    if (!listed) {
        const char *group = settings.group_column;
        IE_TRY(ie_split_by_proportions(ds, settings.fraction, settings.seed, group[0] ? group : NULL, out));
    }
    IE_TRY(cross_validation_fold(cfg, &settings, ds, out));
    ie_status st = ie_split_write_csv(ds, out, path);
    if (st != IE_OK) ie_split_free(out);
    return st;
}

static ie_status norm_from_config(const ie_config *cfg, const ie_data_settings *data, ie_seg_setup *s, int n) {
    ie_seg_norm method;
    IE_TRY(ie_norm_parse(data->normalization, &method));
    ie_norm_params p;
    ie_norm_params_init(&p);
    double tail[IE_MAX_CHANNELS];
    int n_tail = 0, count = 0;
    IE_TRY(ie_config_get_number(cfg, "data.window_level", &p.level));
    IE_TRY(ie_config_get_number(cfg, "data.window_width", &p.window));
    IE_TRY(ie_config_get_number_array(cfg, "data.output_range", p.output_range, 2, &count));
    IE_TRY(ie_config_get_number(cfg, "data.sharpen", &p.sharpen));
    IE_TRY(ie_config_get_number_array(cfg, "data.trim_percentiles", p.trim_percentiles, 2, &count));
    IE_TRY(ie_config_get_array_length(cfg, "data.tail", &n_tail));
    if (n_tail != 1 && n_tail != n)
        return ie_error_set(IE_ERR_CONFIG, "data.tail lists %d values; give one for all image channels or one per "
                            "channel (%d)", n_tail, n);
    IE_TRY(ie_config_get_number_array(cfg, "data.tail", tail, IE_MAX_CHANNELS, &n_tail));
    for (int c = 0; c < n; c++) {
        s->norm[c] = method;
        s->norm_params[c] = p;
        s->norm_params[c].tail = tail[n_tail == 1 ? 0 : c];
    }
    s->seg.norm = s->norm;
    s->seg.norm_params = s->norm_params;
    return IE_OK;
}

static ie_status truth_from_config(const ie_config *cfg, const ie_data_settings *data, ie_seg_setup *s,
                                   int n_classes) {
    const char *truth = "label_map";
    IE_TRY(ie_config_get_string(cfg, "data.truth", &truth));
    s->seg.label_channel = data->label_channel;
    s->seg.n_classes = n_classes;
    s->n_classes = n_classes;
    if (strcmp(truth, "masks") != 0) {
        s->seg.truth = IE_SEG_TRUTH_LABEL_MAP;
        return IE_OK;
    }
    int n = data->n_mask_channels;
    if (n < 1 || n > IE_MAX_CHANNELS)
        return ie_error_set(IE_ERR_CONFIG, "data.truth is \"masks\": data.mask_channels must name 1 to %d mask "
                            "channels (one per structure), it names %d", IE_MAX_CHANNELS, n);
    memcpy(s->mask_channels, data->mask_channels, (size_t)n * sizeof *s->mask_channels);
    if (n_classes > 0 && n_classes != n + 1)
        return ie_error_set(IE_ERR_CONFIG, "data.truth is \"masks\": data.classes must be the background and one "
                            "name per mask channel (%d names), it has %d", n + 1, n_classes);
    s->seg.truth = IE_SEG_TRUTH_MASKS;
    s->seg.n_mask_channels = n;
    s->seg.mask_channels = s->mask_channels;
    return IE_OK;
}

static ie_status augment_from_config(const ie_config *cfg, ie_augment_config *a) {
    int count = 0;
    IE_TRY(ie_config_get_number_array(cfg, "data.augment.rotate_degrees", a->rotate_degrees, 3, &count));
    IE_TRY(ie_config_get_number(cfg, "data.augment.rotate_probability", &a->rotate_probability));
    IE_TRY(ie_config_get_number_array(cfg, "data.augment.scale_range", a->scale_range, 2, &count));
    IE_TRY(ie_config_get_number(cfg, "data.augment.scale_probability", &a->scale_probability));
    IE_TRY(ie_config_get_number_array(cfg, "data.augment.gamma_range", a->gamma_range, 2, &count));
    IE_TRY(ie_config_get_number(cfg, "data.augment.gamma_probability", &a->gamma_probability));
    IE_TRY(ie_config_get_bool(cfg, "data.augment.gamma_retain_stats", &a->gamma_retain_stats));
    IE_TRY(ie_config_get_number_array(cfg, "data.augment.noise_std", a->noise_std, 2, &count));
    IE_TRY(ie_config_get_number(cfg, "data.augment.noise_probability", &a->noise_probability));
    IE_TRY(ie_config_get_number(cfg, "data.augment.gamma_invert_probability", &a->gamma_invert_probability));
    IE_TRY(ie_config_get_number_array(cfg, "data.augment.blur_sigma", a->blur_sigma, 2, &count));
    IE_TRY(ie_config_get_number(cfg, "data.augment.blur_probability", &a->blur_probability));
    IE_TRY(ie_config_get_number(cfg, "data.augment.blur_channel_probability", &a->blur_channel_probability));
    IE_TRY(ie_config_get_number_array(cfg, "data.augment.brightness_range", a->brightness_range, 2, &count));
    IE_TRY(ie_config_get_number(cfg, "data.augment.brightness_probability", &a->brightness_probability));
    IE_TRY(ie_config_get_number_array(cfg, "data.augment.contrast_range", a->contrast_range, 2, &count));
    IE_TRY(ie_config_get_number(cfg, "data.augment.contrast_probability", &a->contrast_probability));
    IE_TRY(ie_config_get_number_array(cfg, "data.augment.lowres_zoom", a->lowres_zoom, 2, &count));
    IE_TRY(ie_config_get_number(cfg, "data.augment.lowres_probability", &a->lowres_probability));
    IE_TRY(ie_config_get_number(cfg, "data.augment.lowres_channel_probability", &a->lowres_channel_probability));
    IE_TRY(ie_config_get_number_array(cfg, "data.augment.elastic_alpha", a->elastic_alpha, 2, &count));
    IE_TRY(ie_config_get_number_array(cfg, "data.augment.elastic_sigma", a->elastic_sigma, 2, &count));
    IE_TRY(ie_config_get_number(cfg, "data.augment.elastic_probability", &a->elastic_probability));
    int64_t axes[3];
    IE_TRY(ie_config_get_int_array(cfg, "data.augment.elastic_axes", axes, 3, &count));
    if (count < 1)
        return ie_error_set(IE_ERR_CONFIG, "data.augment.elastic_axes is empty: name the axes to deform (0 = D, "
                                           "1 = H, 2 = W), e.g. [0, 1, 2], or set data.augment.elastic_alpha to [0, 0] "
                                           "to turn the deformation off");
    for (int i = 0; i < 3; i++) a->elastic_axes[i] = false;
    for (int i = 0; i < count; i++) a->elastic_axes[axes[i]] = true;
    if (a->elastic_alpha[0] > a->elastic_alpha[1] || a->elastic_sigma[0] > a->elastic_sigma[1])
        return ie_error_set(IE_ERR_CONFIG, "data.augment.elastic_alpha and elastic_sigma are ranges [low, high]: "
                                           "got alpha [%g, %g], sigma [%g, %g]; give the smaller value first",
                            a->elastic_alpha[0], a->elastic_alpha[1], a->elastic_sigma[0], a->elastic_sigma[1]);
    return IE_OK;
}

ie_status ie_seg_setup_from_config(const ie_config *cfg, int n_classes, ie_seg_setup *s) {
    memset(s, 0, sizeof *s);
    ie_seg_config_init(&s->seg);
    ie_data_settings data;
    IE_TRY(ie_data_settings_read(cfg, &data));
    int n = data.n_image_channels;
    if (n < 1 || n > IE_MAX_CHANNELS)
        return ie_error_set(IE_ERR_CONFIG, "data.image_channels must list 1 to %d channels, it lists %d",
                            IE_MAX_CHANNELS, n);
    memcpy(s->image_channels, data.image_channels, (size_t)n * sizeof *s->image_channels);
    s->seg.n_image_channels = n;
    s->seg.image_channels = s->image_channels;
    IE_TRY(norm_from_config(cfg, &data, s, n));
    IE_TRY(truth_from_config(cfg, &data, s, n_classes));
    /* Before any image is read: which series a DICOM folder gives. */
    const char *series = "";
    IE_TRY(ie_config_get_string(cfg, "data.dicom_series", &series));
    if (ie_image_dicom_series_select(series) != IE_OK) return ie_error_wrap(IE_ERR_CONFIG, "data.dicom_series");
    IE_TRY(ie_geometry_settings_read(cfg, &s->geometry));
    for (int i = 0; i < 3; i++) s->seg.crop[i] = s->geometry.crop_size[i];
    int count = 0;
    for (int i = 0; i < 3; i++) s->seg.flip[i] = data.flip[i];
    /* InnerEye's class-balanced sampling: crop centres drawn per class. */
    double weights[64];
    IE_TRY(ie_config_get_number_array(cfg, "data.crop_class_weights", weights, 64, &count));
    if (count > 0 && n_classes > 0 && count != n_classes)
        return ie_error_set(IE_ERR_CONFIG, "data.crop_class_weights has %d entries; give one per class (%d, background "
                                           "first) or []",
                            count, n_classes);
    for (int i = 0; i < count; i++) s->crop_class_weights[i] = (float)weights[i];
    s->seg.class_weights = count ? s->crop_class_weights : NULL;
    s->seg.n_class_weights = count;
    IE_TRY(augment_from_config(cfg, &s->seg.augment));
    for (int i = 0; i < 3; i++) s->seg.target_spacing[i] = s->geometry.target_spacing[i];
    return IE_OK;
}


ie_status ie_data_validate(const ie_config *cfg, const ie_dataset *ds, int n_classes, const char *problems_path) {
    bool enabled = true, allow_empty = true;
    IE_TRY(ie_config_get_bool(cfg, "data.validate", &enabled));
    IE_TRY(ie_config_get_bool(cfg, "data.allow_empty_truth", &allow_empty));
    if (!enabled) return IE_OK;
    ie_seg_setup *setup = malloc(sizeof *setup);
    if (!setup) return ie_error_set(IE_ERR_NOMEM, "data check: out of memory");
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    ie_validate_result r;
    ie_status st = ie_seg_setup_from_config(cfg, n_classes, setup);
    if (st == IE_OK) st = ie_seg_validate(&setup->seg, ds, NULL, 0, allow_empty, &r);
    free(setup);
    if (st != IE_OK) return st;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double seconds = (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec);
    printf("data check: %d subject%s, %d problem%s (%.2f s)\n", r.subjects, r.subjects == 1 ? "" : "s", r.problems,
           r.problems == 1 ? "" : "s", seconds);
    fflush(stdout);
    if (!r.problems) return IE_OK;
    const char *path = problems_path;
    st = ie_write_file_atomic(path, r.report, strlen(r.report));
    /* The message holds what fits (statuses carry about 2 KB); the file all. */
    char shown[1500];
    size_t keep = strlen(r.report) < sizeof shown ? strlen(r.report) : sizeof shown - 1;
    while (keep > 0 && keep < strlen(r.report) && r.report[keep - 1] != '\n') keep--;
    memcpy(shown, r.report, keep);
    shown[keep] = '\0';
    int listed = 0;
    for (size_t i = 0; i < keep; i++) listed += shown[i] == '\n';
    char more[64] = "";
    if (listed < r.problems) snprintf(more, sizeof more, "\n... and %d more", r.problems - listed);
    if (keep > 0) shown[keep - 1] = '\0'; /* the message ends without a line break */
    ie_status result = ie_error_set(IE_ERR_CONFIG, "the dataset has %d problem%s in %d of %d subjects; nothing was "
                                    "trained. Fix them (all are in %s) or set data.validate false:\n%s%s",
                                    r.problems, r.problems == 1 ? "" : "s", r.bad_subjects, r.subjects,
                                    st == IE_OK ? path : "the list below", shown, more);
    ie_validate_result_free(&r);
    return result;
}
