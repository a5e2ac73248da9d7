/* core/data - MSD and nnU-Net folders to dataset.csv + a config stub (see
 * dataset_import.h). */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "core/util/csv.h"
#include "core/data/dataset_import.h"
#include "core/util/file_util.h"
#include "core/util/path.h"

#define MAX_CHANNELS 16
#define MAX_CLASSES 256

typedef struct import_case {
    char *subject;
    char *files[MAX_CHANNELS + 1]; /* channels, then the label map (training cases) */
} import_case;

typedef struct import {
    char dir[PATH_MAX], out[PATH_MAX], json[PATH_MAX + 16];
    int n_channels, n_classes;
    const char *channel[MAX_CHANNELS];
    const char *classes[MAX_CLASSES];
    import_case *cases, *tests;
    int n_cases, n_tests, cap_cases, cap_tests, unlabelled;
    cJSON *root, *folds;
    const char *ending;
} import;

static bool exists(const char *path) {
    struct stat sb;
    return stat(path, &sb) == 0 && !S_ISDIR(sb.st_mode);
}

static ie_status read_json(const char *path, cJSON **out) {
    char *text = NULL;
    IE_TRY(ie_read_file(path, &text, NULL));
    *out = cJSON_Parse(text);
    free(text);
    if (!*out || !cJSON_IsObject(*out)) {
        cJSON_Delete(*out);
        *out = NULL;
        return ie_error_set(IE_ERR_CONFIG, "%s: not a JSON object; check the file (a JSON validator shows where)",
                            path);
    }
    return IE_OK;
}

static ie_status add_case(import *im, bool test, import_case c) {
    import_case **list = test ? &im->tests : &im->cases;
    int *n = test ? &im->n_tests : &im->n_cases, *cap = test ? &im->cap_tests : &im->cap_cases;
    if (*n == *cap) {
        int grown = *cap ? *cap * 2 : 64;
        import_case *p = realloc(*list, (size_t)grown * sizeof *p);
        if (!p) return ie_error_set(IE_ERR_NOMEM, "import: out of memory");
        *list = p;
        *cap = grown;
    }
    (*list)[(*n)++] = c;
    return IE_OK;
}

/* "0".."n-1" keyed names: MSD's modality, nnU-Net's channel_names. */
static ie_status read_channels(import *im, const char *key) {
    const cJSON *o = cJSON_GetObjectItemCaseSensitive(im->root, key);
    int n = cJSON_IsObject(o) ? cJSON_GetArraySize(o) : 0;
    if (n < 1 || n > MAX_CHANNELS)
        return ie_error_set(IE_ERR_CONFIG, "%s: \"%s\" must be an object of 1 to %d channels ({\"0\": \"CT\"})",
                            im->json, key, MAX_CHANNELS);
    for (int k = 0; k < n; k++) {
        char idx[16];
        snprintf(idx, sizeof idx, "%d", k);
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, idx);
        if (!cJSON_IsString(v) || !v->valuestring[0])
            return ie_error_set(IE_ERR_CONFIG, "%s: \"%s\" needs a name for channel \"%s\" (keys 0..%d)", im->json,
                                key, idx, n - 1);
        im->channel[k] = v->valuestring;
        for (int j = 0; j < k; j++)
            if (!strcmp(im->channel[j], v->valuestring))
                return ie_error_set(IE_ERR_CONFIG, "%s: \"%s\": channels %d and %d are both called '%s'; give them "
                                    "distinct names", im->json, key, j, k, v->valuestring);
        if (!strcmp(v->valuestring, "label"))
            return ie_error_set(IE_ERR_CONFIG, "%s: \"%s\": a channel called 'label' would clash with the label "
                                "map's channel; rename it", im->json, key);
    }
    im->n_channels = n;
    return IE_OK;
}

/* MSD and nnU-Net v1: {"0": "background"}; nnU-Net v2: {"background": 0}.
 * Values must be 0..K-1, each once. */
static ie_status read_labels(import *im) {
    const cJSON *o = cJSON_GetObjectItemCaseSensitive(im->root, "labels");
    int n = cJSON_IsObject(o) ? cJSON_GetArraySize(o) : 0;
    if (n < 2 || n > MAX_CLASSES)
        return ie_error_set(IE_ERR_CONFIG, "%s: \"labels\" must be an object of 2 to %d classes, background first",
                            im->json, MAX_CLASSES);
    memset(im->classes, 0, sizeof im->classes);
    for (const cJSON *e = o->child; e; e = e->next) {
        long value;
        const char *name;
        char *end;
        if (cJSON_IsNumber(e)) { /* v2 */
            value = (long)e->valuedouble;
            name = e->string;
            if ((double)value != e->valuedouble) value = -1;
        } else if (cJSON_IsString(e)) {
            value = strtol(e->string, &end, 10);
            name = e->valuestring;
            if (*end || end == e->string) value = -1;
        } else {
            return ie_error_set(IE_ERR_CONFIG, "%s: labels.\"%s\" is %s; InnerEye-C trains one label map with one "
                                "value per class (nnU-Net's region-based labels are not supported)", im->json,
                                e->string, cJSON_IsArray(e) ? "a region (a list of labels)" : "neither a name nor a number");
        }
        if (value < 0 || value >= n)
            return ie_error_set(IE_ERR_CONFIG, "%s: labels.\"%s\": label values must be 0..%d, each once", im->json,
                                e->string, n - 1);
        if (im->classes[value])
            return ie_error_set(IE_ERR_CONFIG, "%s: labels: value %ld is given twice", im->json, value);
        im->classes[value] = name;
    }
    im->n_classes = n;
    return IE_OK;
}

static char *join(const char *dir, const char *rel) {
    while (rel[0] == '.' && rel[1] == '/') rel += 2;
    size_t n = strlen(dir) + strlen(rel) + 2;
    char *p = malloc(n);
    if (p) snprintf(p, n, "%s/%s", dir, rel);
    return p;
}

/* The subject of a file: its name without folder and image ending. */
static char *subject_of(const char *path, const char *ending) {
    static const char *const endings[] = {".nii.gz", ".nii", ".nrrd", ".mha", ".mhd", ".nhdr", ".hdr", NULL};
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    size_t n = strlen(base);
    for (int k = -1; k < 0 || endings[k]; k++) {
        const char *e = k < 0 ? ending : endings[k];
        size_t m = e ? strlen(e) : 0;
        if (e && n > m && !strcmp(base + n - m, e)) return strndup(base, n - m);
    }
    return strdup(base);
}

static ie_status msd_cases(import *im) {
    const cJSON *mod = cJSON_GetObjectItemCaseSensitive(im->root, "modality");
    if (cJSON_IsObject(mod) && cJSON_GetArraySize(mod) > 1)
        return ie_error_set(IE_ERR_UNSUPPORTED,
                            "%s: \"modality\" lists %d channels, which the Decathlon stores together in one 4-D file "
                            "per case; InnerEye-C reads 3-D volumes only. Convert the folder with nnU-Net's "
                            "nnUNetv2_convert_MSD_dataset (one file per channel) and use innereye dataset from-nnunet",
                            im->json, cJSON_GetArraySize(mod));
    IE_TRY(read_channels(im, "modality"));
    IE_TRY(read_labels(im));
    const cJSON *tr = cJSON_GetObjectItemCaseSensitive(im->root, "training");
    if (!cJSON_IsArray(tr) || cJSON_GetArraySize(tr) < 1)
        return ie_error_set(IE_ERR_CONFIG, "%s: \"training\" must list the training cases ([{\"image\": ..., "
                            "\"label\": ...}])", im->json);
    int i = 0;
    for (const cJSON *e = tr->child; e; e = e->next, i++) {
        const cJSON *img = cJSON_GetObjectItemCaseSensitive(e, "image");
        const cJSON *lab = cJSON_GetObjectItemCaseSensitive(e, "label");
        if (!cJSON_IsString(img) || !cJSON_IsString(lab))
            return ie_error_set(IE_ERR_CONFIG, "%s: training[%d] needs \"image\" and \"label\" paths", im->json, i);
        import_case c = {.subject = subject_of(img->valuestring, ".nii.gz"), .files = {join(im->dir, img->valuestring)}};
        c.files[1] = join(im->dir, lab->valuestring);
        IE_TRY(add_case(im, false, c));
        for (int k = 0; k < 2; k++)
            if (!exists(c.files[k]))
                return ie_error_set(IE_ERR_IO, "%s: training[%d].%s: %s does not exist", im->json, i,
                                    k ? "label" : "image", c.files[k]);
    }
    const cJSON *ts = cJSON_GetObjectItemCaseSensitive(im->root, "test");
    i = 0;
    for (const cJSON *e = cJSON_IsArray(ts) ? ts->child : NULL; e; e = e->next, i++) {
        if (!cJSON_IsString(e)) return ie_error_set(IE_ERR_CONFIG, "%s: test[%d] must be a path", im->json, i);
        import_case c = {.subject = subject_of(e->valuestring, ".nii.gz"), .files = {join(im->dir, e->valuestring)}};
        IE_TRY(add_case(im, true, c));
        if (!exists(c.files[0]))
            return ie_error_set(IE_ERR_IO, "%s: test[%d]: %s does not exist", im->json, i, c.files[0]);
    }
    return IE_OK;
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* Sorted names in `folder` that end in `suffix` (hidden files skipped). */
static ie_status list_folder(const char *folder, const char *suffix, char ***names, int *n) {
    *names = NULL;
    *n = 0;
    DIR *d = opendir(folder);
    if (!d) return ie_error_set(IE_ERR_IO, "%s: cannot read the folder: %s", folder, strerror(errno));
    int cap = 0;
    size_t m = strlen(suffix);
    for (struct dirent *e; (e = readdir(d));) {
        size_t len = strlen(e->d_name);
        if (e->d_name[0] == '.' || len <= m || strcmp(e->d_name + len - m, suffix)) continue;
        if (*n == cap) {
            cap = cap ? cap * 2 : 64;
            char **p = realloc(*names, (size_t)cap * sizeof *p);
            if (!p) break;
            *names = p;
        }
        (*names)[(*n)++] = strdup(e->d_name);
    }
    closedir(d);
    if (*n) qsort(*names, (size_t)*n, sizeof **names, cmp_str);
    return IE_OK;
}

static void free_names(char **names, int n) {
    for (int i = 0; i < n; i++) free(names[i]);
    free(names);
}

/* nnU-Net: images named <case>_<kkkk><ending>, one per channel. */
static ie_status nnunet_folder(import *im, const char *images, const char *labels, bool test) {
    char **names = NULL, folder[PATH_MAX + 32], suffix[64];
    int n = 0;
    snprintf(suffix, sizeof suffix, "_0000%s", im->ending);
    IE_TRY(ie_path_join(folder, sizeof folder, im->dir, test ? images : labels));
    IE_TRY(list_folder(folder, test ? suffix : im->ending, &names, &n));
    ie_status st = IE_OK;
    if (!test && n == 0)
        st = ie_error_set(IE_ERR_CONFIG, "%s: no label map ending in %s; a training case X needs labelsTr/X%s and "
                          "imagesTr/X_0000%s", folder, im->ending, im->ending, im->ending);
    for (int i = 0; st == IE_OK && i < n; i++) {
        size_t cut = strlen(names[i]) - strlen(test ? suffix : im->ending);
        import_case c = {.subject = strndup(names[i], cut)};
        for (int k = 0; k < im->n_channels; k++) {
            c.files[k] = ie_path_new("%s/%s/%s_%04d%s", im->dir, images, c.subject, k, im->ending);
        }
        if (!test) {
            c.files[im->n_channels] = ie_path_new("%s/%s/%s", im->dir, labels, names[i]);
        }
        st = add_case(im, test, c);
        for (int k = 0; st == IE_OK && k < im->n_channels; k++)
            if (!exists(c.files[k]))
                st = ie_error_set(IE_ERR_IO, "%s: case '%s' has no image for channel %d ('%s'): %s does not exist "
                                  "(dataset.json lists %d channels)", folder, c.subject, k, im->channel[k],
                                  c.files[k], im->n_channels);
    }
    free_names(names, n);
    if (st != IE_OK || test) return st;
    /* Training images without a label map: counted, left out. */
    IE_TRY(ie_path_join(folder, sizeof folder, im->dir, images));
    IE_TRY(list_folder(folder, suffix, &names, &n));
    for (int i = 0; i < n; i++) {
        char *subject = strndup(names[i], strlen(names[i]) - strlen(suffix));
        bool found = false;
        for (int c = 0; c < im->n_cases && !found; c++) found = !strcmp(im->cases[c].subject, subject);
        im->unlabelled += !found;
        free(subject);
    }
    free_names(names, n);
    return IE_OK;
}

static ie_status nnunet_cases(import *im) {
    bool v2 = cJSON_GetObjectItemCaseSensitive(im->root, "channel_names") != NULL;
    IE_TRY(read_channels(im, v2 ? "channel_names" : "modality"));
    IE_TRY(read_labels(im));
    const cJSON *e = cJSON_GetObjectItemCaseSensitive(im->root, "file_ending");
    im->ending = cJSON_IsString(e) && e->valuestring[0] ? e->valuestring : ".nii.gz";
    IE_TRY(nnunet_folder(im, "imagesTr", "labelsTr", false));
    char ts[PATH_MAX + 16];
    IE_TRY(ie_path_format(ts, sizeof ts, "%s/imagesTs", im->dir));
    struct stat sb;
    if (stat(ts, &sb) == 0 && S_ISDIR(sb.st_mode)) IE_TRY(nnunet_folder(im, "imagesTs", NULL, true));
    /* nnU-Net's folds, when the folder has them. */
    char sp[PATH_MAX + 32];
    IE_TRY(ie_path_format(sp, sizeof sp, "%s/splits_final.json", im->dir));
    if (!exists(sp)) return IE_OK;
    char *text = NULL;
    IE_TRY(ie_read_file(sp, &text, NULL));
    im->folds = cJSON_Parse(text);
    free(text);
    if (!cJSON_IsArray(im->folds) || cJSON_GetArraySize(im->folds) < 2)
        return ie_error_set(IE_ERR_CONFIG, "%s: must be a list of at least 2 folds [{\"train\": [...], \"val\": "
                            "[...]}, ...] as nnU-Net writes it", sp);
    int f = 0;
    for (const cJSON *fold = im->folds->child; fold; fold = fold->next, f++)
        for (int part = 0; part < 2; part++) {
            const cJSON *list = cJSON_GetObjectItemCaseSensitive(fold, part ? "val" : "train");
            if (!cJSON_IsArray(list))
                return ie_error_set(IE_ERR_CONFIG, "%s: fold %d has no \"%s\" list", sp, f, part ? "val" : "train");
            for (const cJSON *s = list->child; s; s = s->next) {
                bool found = false;
                for (int c = 0; cJSON_IsString(s) && c < im->n_cases && !found; c++)
                    found = !strcmp(im->cases[c].subject, s->valuestring);
                if (!found)
                    return ie_error_set(IE_ERR_CONFIG, "%s: fold %d, %s: '%s' is not a training case of %s/labelsTr",
                                        sp, f, part ? "val" : "train", cJSON_IsString(s) ? s->valuestring : "?",
                                        im->dir);
            }
        }
    return IE_OK;
}

/* ---- writing ---- */

static const char *relative(const import *im, const char *path) {
    size_t n = strlen(im->out);
    return !strncmp(path, im->out, n) && path[n] == '/' ? path + n + 1 : path;
}

static ie_status csv_text(const import *im, bool test, char **text) {
    size_t len = 0;
    FILE *f = open_memstream(text, &len);
    if (!f) return ie_error_set(IE_ERR_NOMEM, "import: out of memory");
    fputs("subject,filePath,channel\n", f);
    const import_case *cases = test ? im->tests : im->cases;
    for (int i = 0; i < (test ? im->n_tests : im->n_cases); i++)
        for (int k = 0; k <= im->n_channels; k++) {
            if (k == im->n_channels && test) break;
            ie_csv_write_field(f, cases[i].subject);
            fputc(',', f);
            ie_csv_write_field(f, relative(im, cases[i].files[k]));
            fputc(',', f);
            ie_csv_write_field(f, k < im->n_channels ? im->channel[k] : "label");
            fputc('\n', f);
        }
    fclose(f);
    return *text ? IE_OK : ie_error_set(IE_ERR_NOMEM, "import: out of memory");
}

static char *stub_text(const import *im) {
    cJSON *root = cJSON_CreateObject(), *data;
    cJSON_AddStringToObject(root, "extends", "unet3d.json");
    data = cJSON_AddObjectToObject(root, "data");
    char *csv = ie_path_new("%s/dataset.csv", im->out);
    if (!csv) {
        cJSON_Delete(root);
        return NULL; /* reported as out of memory by write_outputs */
    }
    cJSON_AddStringToObject(data, "dataset_csv", csv);
    free(csv);
    cJSON_AddStringToObject(data, "images_dir", "");
    cJSON_AddStringToObject(data, "labels_dir", "");
    cJSON_AddBoolToObject(data, "fallback_synthetic", false);
    cJSON_AddItemToObject(data, "image_channels", cJSON_CreateStringArray(im->channel, im->n_channels));
    cJSON_AddStringToObject(data, "label_channel", "label");
    cJSON_AddItemToObject(data, "classes", cJSON_CreateStringArray(im->classes, im->n_classes));
    char *text = cJSON_Print(root);
    cJSON_Delete(root);
    return text;
}

static char *fold_text(const cJSON *fold) {
    cJSON *root = cJSON_CreateObject(), *split = cJSON_AddObjectToObject(cJSON_AddObjectToObject(root, "data"), "split");
    cJSON_AddItemToObject(split, "train_subjects",
                          cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(fold, "train"), true));
    cJSON_AddItemToObject(split, "val_subjects", cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(fold, "val"), true));
    char *text = cJSON_Print(root);
    cJSON_Delete(root);
    return text;
}

#define MAX_OUTPUTS 72

static ie_status write_outputs(import *im) {
    char *paths[MAX_OUTPUTS] = {0}, *texts[MAX_OUTPUTS] = {0};
    int n = 0, n_folds = im->folds ? cJSON_GetArraySize(im->folds) : 0;
    ie_status st = IE_OK;
    if (n_folds > MAX_OUTPUTS - 3)
        return ie_error_set(IE_ERR_CONFIG, "%s/splits_final.json: %d folds; at most %d", im->dir, n_folds,
                            MAX_OUTPUTS - 3);
    const char *names[3] = {"dataset.csv", "config.json", "test.csv"};
    for (int k = 0; k < 3 && st == IE_OK; k++) {
        if (k == 2 && !im->n_tests) break;
        paths[n] = join(im->out, names[k]);
        if (k == 1) texts[n] = stub_text(im);
        else st = csv_text(im, k == 2, &texts[n]);
        n++;
    }
    int f = 0;
    for (const cJSON *fold = im->folds ? im->folds->child : NULL; st == IE_OK && fold; fold = fold->next, f++) {
        paths[n] = ie_path_new("%s/folds/fold_%d.json", im->out, f);
        texts[n++] = fold_text(fold);
    }
    /* Every output absent before the first is written: no half import. */
    for (int i = 0; st == IE_OK && i < n; i++) {
        if (!paths[i] || !texts[i]) st = ie_error_set(IE_ERR_NOMEM, "import: out of memory");
        else if (access(paths[i], F_OK) == 0)
            st = ie_error_set(IE_ERR_IO, "%s already exists; it is never overwritten (remove it, or import into "
                              "another folder with --out)", paths[i]);
    }
    if (st == IE_OK && n_folds) {
        char folder[PATH_MAX + 16];
        st = ie_path_format(folder, sizeof folder, "%s/folds", im->out);
        if (st == IE_OK) st = ie_make_dirs(folder);
    }
    for (int i = 0; st == IE_OK && i < n; i++) st = ie_write_file_exclusive(paths[i], texts[i], strlen(texts[i]));
    for (int i = 0; i < n; i++) {
        free(paths[i]);
        free(texts[i]);
    }
    return st;
}

ie_status ie_dataset_import(const char *dir, ie_import_layout layout, const char *out_dir, ie_import_summary *summary) {
    memset(summary, 0, sizeof *summary);
    import *im = calloc(1, sizeof *im);
    if (!im) return ie_error_set(IE_ERR_NOMEM, "import: out of memory");
    ie_status st = IE_OK;
    if (!realpath(dir, im->dir))
        st = ie_error_set(IE_ERR_IO, "%s: %s; give the dataset folder (the one holding dataset.json)", dir,
                          strerror(errno));
    if (st == IE_OK && !realpath(out_dir ? out_dir : dir, im->out))
        st = ie_error_set(IE_ERR_IO, "%s: %s; create the output folder first", out_dir, strerror(errno));
    if (st == IE_OK) st = ie_path_format(im->json, sizeof im->json, "%s/dataset.json", im->dir);
    if (st == IE_OK) st = read_json(im->json, &im->root);
    if (st == IE_OK) st = layout == IE_IMPORT_MSD ? msd_cases(im) : nnunet_cases(im);
    if (st == IE_OK) st = write_outputs(im);
    if (st == IE_OK)
        *summary = (ie_import_summary){.cases = im->n_cases, .test_cases = im->n_tests, .channels = im->n_channels,
                                       .classes = im->n_classes, .unlabelled = im->unlabelled,
                                       .folds = im->folds ? cJSON_GetArraySize(im->folds) : 0};
    for (int pass = 0; pass < 2; pass++) {
        import_case *list = pass ? im->tests : im->cases;
        for (int i = 0; i < (pass ? im->n_tests : im->n_cases); i++) {
            free(list[i].subject);
            for (int k = 0; k <= MAX_CHANNELS; k++) free(list[i].files[k]);
        }
        free(list);
    }
    cJSON_Delete(im->root);
    cJSON_Delete(im->folds);
    free(im);
    return st;
}
