/* core/data - the dataset check before training (rules in validate.h). */
#include "core/data/validate.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/util/progress.h"
#include "innereye/image_io.h"
#include "innereye/threads.h"

#define MAX_CHECKED_CHANNELS 128

typedef struct job {
    const ie_seg_config *cfg;
    const ie_dataset *ds;
    const int *items;
    int path_column, channel_column;
    bool allow_empty_truth;
    char **text;    /* per subject, NULL when fine */
    int *problems;  /* per subject */
    bool *nomem;
    ie_progress *bar;
} job;

/* One subject's report, written through a memory stream. */
typedef struct report {
    FILE *f;
    int count;
    const char *subject;
} report;

__attribute__((format(printf, 4, 5))) static void problem(report *r, const char *channel, const char *path,
                                                          const char *fmt, ...) {
    if (!r->f) return;
    fprintf(r->f, "subject '%s'", r->subject);
    if (channel) fprintf(r->f, ", channel '%s'", channel);
    if (path) fprintf(r->f, " (%s)", path);
    fputs(": ", r->f);
    va_list ap;
    va_start(ap, fmt);
    vfprintf(r->f, fmt, ap);
    va_end(ap);
    fputc('\n', r->f);
    r->count++;
}

static const char *cell(const ie_dataset_item *item, int row, int col) {
    return item->values[(size_t)row * (size_t)item->n_columns + (size_t)col];
}

/* The row of `channel`, or -1 (with a problem) when there is none or more
 * than one. */
static int find_row(const job *j, const ie_dataset_item *item, int index, const char *channel, report *r) {
    int found = -1, second = -1;
    for (int row = 0; row < item->n_rows; row++)
        if (strcmp(cell(item, row, j->channel_column), channel) == 0) {
            if (found < 0) found = row;
            else if (second < 0) second = row;
        }
    if (found >= 0 && second >= 0) {
        problem(r, channel, NULL, "two rows for this channel (lines %d and %d of %s); keep one",
                ie_dataset_line(j->ds, index, found), ie_dataset_line(j->ds, index, second), ie_dataset_path(j->ds));
        return -1;
    }
    if (found < 0) {
        char have[256] = "";
        for (int row = 0; row < item->n_rows; row++) {
            size_t n = strlen(have);
            snprintf(have + n, sizeof have - n, "%s'%s'", row ? ", " : "", cell(item, row, j->channel_column));
        }
        problem(r, channel, NULL, "no row for this channel (the subject has %s)", have);
        return -1;
    }
    if (!cell(item, found, j->path_column)[0]) {
        problem(r, channel, NULL, "the file path is empty (line %d of %s)", ie_dataset_line(j->ds, index, found),
                ie_dataset_path(j->ds));
        return -1;
    }
    return found;
}

/* Reads a truth channel in full; *foreground is set when a voxel > 0. */
static bool check_truth(const job *j, const char *channel, const char *path, bool label_map, report *r,
                        ie_image_geometry *geometry, bool *foreground) {
    ie_tensor *t = NULL;
    if (ie_image_read(path, IE_I64, &t, geometry) != IE_OK) {
        problem(r, channel, path, "%s", ie_error_message());
        return false;
    }
    const int64_t *v = ie_tensor_data(t), n = ie_tensor_numel(t);
    const int classes = label_map ? j->cfg->n_classes : 0;
    int64_t bad = 0, first = -1, worst = 0;
    for (int64_t i = 0; i < n; i++) {
        if (v[i] > 0) *foreground = true;
        if (v[i] < 0 || (classes > 0 && v[i] >= classes)) {
            if (first < 0) first = i, worst = v[i];
            bad++;
        }
    }
    if (bad) {
        const int64_t W = geometry->size[0], H = geometry->size[1];
        char range[64] = "whole numbers >= 0";
        if (classes > 0) snprintf(range, sizeof range, "the classes 0..%d (data.classes)", classes - 1);
        problem(r, channel, path,
                "%lld voxel%s values outside %s; the first, %lld, at voxel (x %lld, y %lld, z %lld)",
                (long long)bad, bad == 1 ? " holds" : "s hold", range, (long long)worst, (long long)(first % W), (long long)(first / W % H),
                (long long)(first / (W * H)));
    }
    ie_tensor_release(t);
    return true;
}

/* Reads an image channel in full, so that a truncated or damaged file (and
 * non-finite voxels, which normalisation would stop at) is found now, not
 * when a validation or test subject is first loaded after training. */
static bool check_image(const ie_seg_config *cfg, const char *channel, const char *path, report *r,
                        ie_image_geometry *g) {
    ie_tensor *t = NULL;
    if (ie_image_read(path, IE_F32, &t, g) != IE_OK) {
        problem(r, channel, path, "%s", ie_error_message());
        return false;
    }
    const float *v = ie_tensor_data_f32(t);
    int64_t n = ie_tensor_numel(t), bad = 0, first = -1;
    for (int64_t i = 0; i < n; i++)
        if (!isfinite(v[i])) {
            if (first < 0) first = i;
            bad++;
        }
    if (bad) {
        const int64_t W = g->size[0], H = g->size[1];
        problem(r, channel, path, "voxel (x %lld, y %lld, z %lld) is %s (%lld non-finite voxel%s); images must hold "
                "finite values: replace them (for example with the background value)", (long long)(first % W),
                (long long)(first / W % H), (long long)(first / (W * H)), isnan(v[first]) ? "NaN" : "infinite",
                (long long)bad, bad == 1 ? "" : "s");
    }
    ie_tensor_release(t);
    /* A 2-D image would reach a 3-D model as one slice, padded to its crop:
     * a model trained on that is not what anyone meant. */
    if (!bad && (g->ndim == 2 || g->size[2] == 1) && cfg->crop[0] > 1)
        problem(r, channel, path, "a %s (%lldx%lld%s, x, y), but the model works on 3-D crops (data.crop_size [%lld, %lld, "
                "%lld]): give 3-D volumes, or train a 2-D model (data.crop_size [1, H, W], for example UNet2D)",
                g->ndim == 2 ? "2-D image" : "3-D image of one slice", (long long)g->size[0], (long long)g->size[1],
                g->ndim == 2 ? "" : "x1", (long long)cfg->crop[0], (long long)cfg->crop[1], (long long)cfg->crop[2]);
    return !bad;
}

static void check_one(void *ctx, int64_t k) {
    const job *j = ctx;
    const int index = j->items ? j->items[k] : (int)k;
    const ie_dataset_item *item = ie_dataset_item_at(j->ds, index);
    const ie_seg_config *cfg = j->cfg;
    char *text = NULL;
    size_t len = 0;
    report r = {.f = open_memstream(&text, &len), .subject = item->subject};
    if (!r.f) {
        *j->nomem = true;
        return;
    }
    const int n_truth = cfg->truth == IE_SEG_TRUTH_LABEL_MAP ? 1
                        : cfg->truth == IE_SEG_TRUTH_MASKS  ? cfg->n_mask_channels
                                                            : 0;
    const int n = cfg->n_image_channels + n_truth;
    ie_image_geometry ref;
    const char *ref_channel = NULL;
    char ref_path[4096] = "";
    bool foreground = false, truth_read = n_truth > 0;
    for (int c = 0; c < n && c < MAX_CHECKED_CHANNELS; c++) {
        const bool is_truth = c >= cfg->n_image_channels;
        const char *channel = !is_truth                             ? cfg->image_channels[c]
                              : cfg->truth == IE_SEG_TRUTH_LABEL_MAP ? cfg->label_channel
                                                                     : cfg->mask_channels[c - cfg->n_image_channels];
        int row = find_row(j, item, index, channel, &r);
        if (row < 0) {
            truth_read = truth_read && !is_truth;
            continue;
        }
        char path[4096];
        const char *file = cell(item, row, j->path_column);
        if (ie_dataset_item_file(item, file, path, sizeof path) != IE_OK) {
            problem(&r, channel, NULL, "%s", ie_error_message());
            truth_read = truth_read && !is_truth;
            continue;
        }
        struct stat sb;
        if (stat(path, &sb) != 0) {
            problem(&r, channel, path, "%s; check the path (relative paths start at %s)", strerror(errno),
                    item->root && item->root[0] ? item->root : "the current folder");
            truth_read = truth_read && !is_truth;
            continue;
        }
        ie_image_geometry g;
        bool ok = is_truth ? check_truth(j, channel, path, cfg->truth == IE_SEG_TRUTH_LABEL_MAP, &r, &g, &foreground)
                           : check_image(cfg, channel, path, &r, &g);
        if (!ok) {
            truth_read = truth_read && !is_truth;
            continue;
        }
        if (!ref_channel) {
            ref = g;
            ref_channel = channel;
            memcpy(ref_path, path, sizeof ref_path); /* the same size: nothing is cut */
            continue;
        }
        char diff[256];
        /* this file first: "size 35x52x34 (3-D) vs 36x52x38 (3-D)" reads as "this vs the reference" */
        if (!ie_image_geometry_equal(&g, &ref, IE_GEOMETRY_TOLERANCE, diff, sizeof diff))
            problem(&r, channel, path, "not on the grid of channel '%s' (%s): %s; every image and truth of a subject "
                    "must share one grid (resample them first)", ref_channel, ref_path, diff);
    }
    if (truth_read && !foreground && !j->allow_empty_truth)
        problem(&r, NULL, NULL, "the ground truth is empty (no foreground voxel) and data.allow_empty_truth is false");
    if (fclose(r.f) != 0 || !text) {
        free(text);
        *j->nomem = true;
        return;
    }
    j->problems[k] = r.count;
    if (r.count) j->text[k] = text;
    else free(text);
}

static void check_subject(void *ctx, int64_t k) {
    check_one(ctx, k);
    ie_progress_tick(((const job *)ctx)->bar);
}

void ie_validate_result_free(ie_validate_result *r) {
    if (!r) return;
    free(r->report);
    memset(r, 0, sizeof *r);
}

ie_status ie_seg_validate(const ie_seg_config *cfg, const ie_dataset *ds, const int *items, int n_items,
                          bool allow_empty_truth, ie_validate_result *out) {
    if (!cfg || !ds || !out) return ie_error_set(IE_ERR_INVALID_ARG, "validate: NULL argument");
    memset(out, 0, sizeof *out);
    if (cfg->n_image_channels < 1 || !cfg->image_channels)
        return ie_error_set(IE_ERR_CONFIG, "validate: no image channels are configured");
    if ((cfg->truth == IE_SEG_TRUTH_LABEL_MAP && !cfg->label_channel) ||
        (cfg->truth == IE_SEG_TRUTH_MASKS && (cfg->n_mask_channels < 1 || !cfg->mask_channels)))
        return ie_error_set(IE_ERR_CONFIG, "validate: the ground truth channels are not configured");
    const int n = items ? n_items : ie_dataset_count(ds);
    job j = {.cfg = cfg, .ds = ds, .items = items, .allow_empty_truth = allow_empty_truth};
    j.path_column = ie_dataset_column(ds, cfg->path_column ? cfg->path_column : "filePath");
    j.channel_column = ie_dataset_column(ds, cfg->channel_column ? cfg->channel_column : "channel");
    out->subjects = n;
    if (j.path_column < 0 || j.channel_column < 0) {
        char *text = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&text, &len);
        if (!f) return ie_error_set(IE_ERR_NOMEM, "validate: out of memory");
        fprintf(f, "%s: no '%s' column; InnerEye's layout is subject,filePath,channel[,institutionId,seriesId,tags,"
                "groupID]\n", ie_dataset_path(ds), j.path_column < 0 ? "filePath" : "channel");
        fclose(f);
        out->report = text;
        out->problems = 1;
        out->bad_subjects = n;
        return IE_OK;
    }
    for (int k = 0; items && k < n; k++)
        if (!ie_dataset_item_at(ds, items[k]))
            return ie_error_set(IE_ERR_INVALID_ARG, "validate: item %d is not in %s", items[k], ie_dataset_path(ds));
    bool nomem = false;
    j.nomem = &nomem;
    j.text = calloc((size_t)n + 1, sizeof *j.text);
    j.problems = calloc((size_t)n + 1, sizeof *j.problems);
    if (!j.text || !j.problems) {
        free(j.text);
        free(j.problems);
        return ie_error_set(IE_ERR_NOMEM, "validate: out of memory for %d subjects", n);
    }
    ie_progress bar;
    ie_progress_begin(&bar, "dataset check", "subjects", n, 10);
    j.bar = &bar;
    ie_parallel_for(n, check_subject, &j);
    ie_progress_end(&bar);
    size_t total = 1;
    for (int k = 0; k < n; k++) {
        out->problems += j.problems[k];
        out->bad_subjects += j.problems[k] > 0;
        if (j.text[k]) total += strlen(j.text[k]);
    }
    ie_status st = IE_OK;
    if (!nomem && out->problems) {
        out->report = malloc(total);
        if (out->report) {
            size_t at = 0;
            for (int k = 0; k < n; k++)
                if (j.text[k]) {
                    size_t len = strlen(j.text[k]);
                    memcpy(out->report + at, j.text[k], len);
                    at += len;
                }
            out->report[at] = '\0';
        } else {
            nomem = true;
        }
    }
    if (nomem) st = ie_error_set(IE_ERR_NOMEM, "validate: out of memory");
    for (int k = 0; k < n; k++) free(j.text[k]);
    free(j.text);
    free(j.problems);
    if (st != IE_OK) ie_validate_result_free(out);
    return st;
}
