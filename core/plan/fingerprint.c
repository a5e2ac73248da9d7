/* core/plan - the dataset fingerprint: cases measured in parallel
 * (fingerprint_case.c), then the dataset summary, the checks and the JSON
 * (rules in fingerprint.h). */
#include <ctype.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "core/data/dataset.h"
#include "core/plan/fingerprint_impl.h"
#include "innereye/threads.h"

/* Checks: a case whose spacing or size along an axis is more than this
 * factor away from the dataset's median is an outlier (a different scanner
 * protocol, a crop, a mislabelled file), and so is a case whose foreground
 * median intensity lies outside the dataset's 0.5-99.5 percentile range or,
 * for intensities that are never negative (MR), is more than 10 times away
 * from the dataset's median (a different intensity scale).  nnU-Net's anisotropy threshold is 3. */
#define OUTLIER_FACTOR 2.0
#define ANISOTROPY_RATIO 3.0
#define MAX_LISTED 20

typedef struct run {
    fp_case *cases;
    int n_cases, n_channels;
    int64_t n_samples;
    atomic_int done;
    pthread_mutex_t print;
    bool progress, tty;
} run;

/* Which modality a channel is, from its name: "ct" (any case, alone or as a
 * word such as "ct_arterial") is CT, everything else is handled as MR (nnU-Net's
 * "non-CT": per-case z-score).  --modality overrides. */
static const char *guess_modality(const char *name) {
    size_t n = strlen(name);
    if (n >= 2 && tolower((unsigned char)name[0]) == 'c' && tolower((unsigned char)name[1]) == 't' &&
        (n == 2 || !isalnum((unsigned char)name[2])))
        return "CT";
    return "MR";
}

static void measure_task(void *ctx, int64_t i) {
    run *r = ctx;
    ie_fp_measure_case(&r->cases[i], (int)i, r->n_channels, r->n_samples);
    int done = atomic_fetch_add(&r->done, 1) + 1;
    if (!r->progress) return;
    /* Progress goes to stderr and never into the fingerprint: a bar redrawn
     * in place on a terminal, every tenth in plain lines for logs. */
    pthread_mutex_lock(&r->print);
    if (r->tty) {
        int width = 30, filled = (int)((int64_t)done * width / r->n_cases);
        fprintf(stderr, "\rfingerprint [%.*s%*s] %d/%d cases", filled, "##############################",
                width - filled, "", done, r->n_cases);
        if (done == r->n_cases) fputc('\n', stderr);
    } else if (done == r->n_cases || (done * 10 / r->n_cases) != ((done - 1) * 10 / r->n_cases)) {
        fprintf(stderr, "fingerprint: %d/%d cases\n", done, r->n_cases);
    }
    fflush(stderr);
    pthread_mutex_unlock(&r->print);
}

static int column_of(const ie_dataset_item *it, const char *name) {
    for (int k = 0; k < it->n_columns; k++)
        if (!strcmp(it->columns[k], name)) return k;
    return -1;
}

static char *resolve(const ie_dataset_item *it, const char *file) {
    size_t len = strlen(file) + (it->root ? strlen(it->root) : 0) + 2;
    char *p = malloc(len);
    if (!p) return NULL;
    if (file[0] == '/' || !it->root || !it->root[0]) snprintf(p, len, "%s", file);
    else snprintf(p, len, "%s/%s", it->root, file);
    return p;
}

/* Finds every case's files; errors name the CSV, the subject and what is missing. */
static ie_status find_paths(const ie_dataset *ds, const ie_fp_options *o, const char *const *channels, int n_ch,
                            fp_case *cases) {
    const char *csv = ie_dataset_path(ds);
    for (int i = 0; i < ie_dataset_count(ds); i++) {
        const ie_dataset_item *it = ie_dataset_item_at(ds, i);
        int cp = column_of(it, "filePath"), cc = column_of(it, "channel");
        if (cp < 0 || cc < 0)
            return ie_error_set(IE_ERR_CONFIG, "%s: needs the columns filePath and channel (InnerEye's "
                                "subject,filePath,channel layout); make one with innereye dataset create", csv);
        cases[i].subject = it->subject;
        for (int ch = 0; ch <= n_ch; ch++) {
            const char *want = ch < n_ch ? channels[ch] : o->label_channel;
            const char *file = NULL;
            for (int r = 0; r < it->n_rows; r++)
                if (!strcmp(it->values[r * it->n_columns + cc], want)) file = it->values[r * it->n_columns + cp];
            if (!file || !file[0])
                return ie_error_set(IE_ERR_CONFIG, "%s: subject '%s' has no row with channel '%s'%s", csv,
                                    it->subject, want,
                                    ch == n_ch ? "; the fingerprint needs a label map per case (--label-channel)"
                                               : "; give the image channels with --channels");
            if (!(cases[i].paths[ch] = resolve(it, file))) return ie_error_set(IE_ERR_NOMEM, "out of memory");
        }
    }
    return IE_OK;
}

/* ---- summary ---- */

static cJSON *numbers(const double *v, int n) { return cJSON_CreateDoubleArray(v, n); }

static cJSON *stats_json(const fp_stats *s) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "p00_5", s->p005);
    cJSON_AddNumberToObject(o, "median", s->p50);
    cJSON_AddNumberToObject(o, "p99_5", s->p995);
    cJSON_AddNumberToObject(o, "mean", s->mean);
    cJSON_AddNumberToObject(o, "std", s->std);
    cJSON_AddNumberToObject(o, "min", s->min);
    cJSON_AddNumberToObject(o, "max", s->max);
    return o;
}

/* Median and 10th percentile of one value per case. */
static void axis_percentiles(const fp_case *cases, int n, bool spacing, int axis, double *median, double *p10) {
    double *v = malloc((size_t)n * sizeof *v);
    for (int i = 0; i < n; i++) v[i] = spacing ? cases[i].spacing[axis] : (double)cases[i].size[axis];
    fp_stats s;
    ie_fp_stats_of(v, n, &s);
    *median = s.p50;
    *p10 = ie_fp_percentile_sorted(v, n, 10);
    free(v);
}

/* Adds a check: name, whether it flagged, what it found and the cases (up to MAX_LISTED). */
static void add_check(cJSON *checks, const char *name, bool flagged, const char *detail, cJSON *cases) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "check", name);
    cJSON_AddBoolToObject(o, "flagged", flagged);
    cJSON_AddStringToObject(o, "detail", detail);
    if (cases) cJSON_AddItemToObject(o, "cases", cases);
    cJSON_AddItemToArray(checks, o);
}

static bool off_by_factor(double v, double median) {
    return median > 0 && (v > median * OUTLIER_FACTOR || v < median / OUTLIER_FACTOR);
}

static ie_status summarise(const run *r, cJSON *root, const char *const *channels) {
    const fp_case *c = r->cases;
    int n = r->n_cases, n_ch = r->n_channels, n_labels = 1;
    for (int i = 0; i < n; i++) n_labels = c[i].n_labels > n_labels ? c[i].n_labels : n_labels;
    cJSON *sum = cJSON_AddObjectToObject(root, "summary");
    cJSON_AddNumberToObject(sum, "cases", n);
    cJSON_AddNumberToObject(sum, "classes", n_labels < 2 ? 2 : n_labels);
    double med_sp[3], p10_sp[3], med_sz[3], p10_sz[3];
    for (int a = 0; a < 3; a++) {
        axis_percentiles(c, n, true, a, &med_sp[a], &p10_sp[a]);
        axis_percentiles(c, n, false, a, &med_sz[a], &p10_sz[a]);
    }
    cJSON_AddItemToObject(sum, "median_spacing_xyz", numbers(med_sp, 3));
    cJSON_AddItemToObject(sum, "p10_spacing_xyz", numbers(p10_sp, 3));
    cJSON_AddItemToObject(sum, "median_size_xyz", numbers(med_sz, 3));
    /* Dataset intensities from every case's draws, in case order. */
    cJSON *inten = cJSON_AddArrayToObject(sum, "intensity");
    fp_stats dataset[IE_FP_MAX_CHANNELS] = {0};
    double *all = malloc((size_t)(n * r->n_samples) * sizeof *all);
    if (!all) return ie_error_set(IE_ERR_NOMEM, "fingerprint: out of memory for the intensity samples");
    for (int ch = 0; ch < n_ch; ch++) {
        int64_t k = 0;
        for (int i = 0; i < n; i++)
            for (int64_t j = 0; c[i].samples && j < r->n_samples; j++)
                all[k++] = c[i].samples[ch * r->n_samples + j];
        if (k) ie_fp_stats_of(all, k, &dataset[ch]);
        cJSON *o = k ? stats_json(&dataset[ch]) : cJSON_CreateObject();
        cJSON_AddStringToObject(o, "channel", channels[ch]);
        cJSON_AddNumberToObject(o, "samples", (double)k);
        cJSON_AddItemToArray(inten, o);
    }
    free(all);
    /* Classes: share of all voxels (what a uniform crop sees), cases holding
     * the class, mean volume and mean component count over those cases. */
    cJSON *classes = cJSON_AddArrayToObject(sum, "class");
    double total = 0;
    for (int i = 0; i < n; i++) total += (double)(c[i].size[0] * c[i].size[1] * c[i].size[2]);
    for (int k = 0; k < n_labels; k++) {
        double vox = 0, mm3 = 0, comps = 0;
        int present = 0;
        for (int i = 0; i < n; i++) {
            if (!c[i].class_voxels[k]) continue;
            present++;
            vox += (double)c[i].class_voxels[k];
            mm3 += (double)c[i].class_voxels[k] * c[i].spacing[0] * c[i].spacing[1] * c[i].spacing[2];
            comps += c[i].components[k];
        }
        cJSON *o = cJSON_CreateObject();
        cJSON_AddNumberToObject(o, "label", k);
        cJSON_AddNumberToObject(o, "voxel_fraction", total > 0 ? vox / total : 0);
        cJSON_AddNumberToObject(o, "cases", present);
        cJSON_AddNumberToObject(o, "mean_mm3", present ? mm3 / present : 0);
        if (k > 0) cJSON_AddNumberToObject(o, "mean_components", present ? comps / present : 0);
        cJSON_AddItemToArray(classes, o);
    }
    /* Class layout: for each pair of foreground classes a < b, along each
     * axis, in how many of the cases holding both b's centroid lies after
     * a's (larger voxel index), before it, and the mean offset b - a in
     * voxels.  The plan keeps mirroring off an axis along which the classes
     * keep their order (docs/planning.md, "Mirroring"). */
    cJSON *order = cJSON_AddArrayToObject(sum, "class_order");
    for (int a = 1; a < n_labels; a++)
        for (int b = a + 1; b < n_labels; b++) {
            double after[3] = {0}, before[3] = {0}, offset[3] = {0};
            int both = 0;
            for (int i = 0; i < n; i++) {
                if (a >= c[i].n_labels || b >= c[i].n_labels || !c[i].class_voxels[a] || !c[i].class_voxels[b])
                    continue;
                both++;
                for (int x = 0; x < 3; x++) {
                    double d = c[i].centroid[b][x] - c[i].centroid[a][x];
                    after[x] += d > 0;
                    before[x] += d < 0;
                    offset[x] += d;
                }
            }
            if (!both) continue;
            for (int x = 0; x < 3; x++) offset[x] /= both;
            cJSON *o = cJSON_CreateObject();
            int pair[2] = {a, b};
            cJSON_AddItemToObject(o, "classes", cJSON_CreateIntArray(pair, 2));
            cJSON_AddNumberToObject(o, "cases", both);
            cJSON_AddItemToObject(o, "b_after_a_xyz", numbers(after, 3));
            cJSON_AddItemToObject(o, "b_before_a_xyz", numbers(before, 3));
            cJSON_AddItemToObject(o, "mean_offset_xyz", numbers(offset, 3));
            cJSON_AddItemToArray(order, o);
        }
    /* Orientations, in order of first appearance. */
    cJSON *orient = cJSON_AddObjectToObject(sum, "orientations");
    for (int i = 0; i < n; i++) {
        cJSON *e = cJSON_GetObjectItemCaseSensitive(orient, c[i].orientation);
        if (e) cJSON_SetNumberValue(e, e->valuedouble + 1);
        else cJSON_AddNumberToObject(orient, c[i].orientation, 1);
    }

    cJSON *checks = cJSON_AddArrayToObject(root, "checks");
    char detail[1024];
    int lo = 0, hi = 0;
    for (int a = 1; a < 3; a++) {
        if (med_sp[a] < med_sp[lo]) lo = a;
        if (med_sp[a] > med_sp[hi]) hi = a;
    }
    double ratio = med_sp[hi] / med_sp[lo];
    snprintf(detail, sizeof detail,
             "median spacing %g x %g x %g mm: the coarsest axis (%c) is %.2f times the finest (%c)%s", med_sp[0],
             med_sp[1], med_sp[2], "xyz"[hi], ratio, "xyz"[lo],
             ratio > ANISOTROPY_RATIO ? "; above 3, so the plan treats the data as anisotropic" : "");
    add_check(checks, "anisotropy", ratio > ANISOTROPY_RATIO, detail, NULL);
    int n_orient = cJSON_GetArraySize(orient);
    snprintf(detail, sizeof detail, "%d orientation%s (%s)", n_orient, n_orient == 1 ? "" : "s",
             n_orient == 1 ? "all cases alike" : "resample or reorient the cases to one orientation before training");
    add_check(checks, "mixed_orientations", n_orient > 1, detail, NULL);
    /* Outliers and empty label maps, each with the first MAX_LISTED cases. */
    static const char *const kinds[] = {"spacing_outliers", "size_outliers", "intensity_outliers", "empty_foreground"};
    for (int kind = 0; kind < 4; kind++) {
        cJSON *list = cJSON_CreateArray();
        int count = 0;
        for (int i = 0; i < n; i++) {
            bool hit = false;
            for (int a = 0; a < 3; a++) {
                if (kind == 0) hit |= off_by_factor(c[i].spacing[a], med_sp[a]);
                if (kind == 1) hit |= off_by_factor((double)c[i].size[a], med_sz[a]);
            }
            for (int ch = 0; kind == 2 && c[i].n_foreground && ch < n_ch; ch++) {
                double m = c[i].channel[ch].p50, d = dataset[ch].p50;
                hit |= m < dataset[ch].p005 || m > dataset[ch].p995;
                /* Positive intensities (MR) on another scale: 10x from the dataset's median. */
                hit |= dataset[ch].min >= 0 && d > 0 && (m > 10 * d || m < d / 10);
            }
            if (kind == 3) hit = c[i].n_foreground == 0;
            if (!hit) continue;
            if (count++ < MAX_LISTED) cJSON_AddItemToArray(list, cJSON_CreateString(c[i].subject));
        }
        static const char *const what[] = {
            "cases with a spacing more than 2x away from the median along some axis",
            "cases with a size more than 2x away from the median along some axis",
            ("cases whose foreground median intensity lies outside the dataset's 0.5-99.5 percentiles or, for "
             "non-negative intensities, 10x away from its median (another intensity scale?)"),
            "cases without any foreground voxel"};
        snprintf(detail, sizeof detail, "%d %s%s", count, what[kind], count > MAX_LISTED ? " (first 20 listed)" : "");
        add_check(checks, kinds[kind], count > 0, detail, list);
    }
    return IE_OK;
}

static cJSON *case_json(const fp_case *c, int n_ch) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "subject", c->subject);
    double size[3] = {(double)c->size[0], (double)c->size[1], (double)c->size[2]};
    cJSON_AddItemToObject(o, "size_xyz", numbers(size, 3));
    cJSON_AddItemToObject(o, "spacing_xyz", numbers(c->spacing, 3));
    cJSON_AddStringToObject(o, "orientation", c->orientation);
    cJSON_AddNumberToObject(o, "foreground_voxels", (double)c->n_foreground);
    cJSON *chs = cJSON_AddArrayToObject(o, "intensity");
    for (int ch = 0; ch < n_ch; ch++)
        cJSON_AddItemToArray(chs, c->n_foreground ? stats_json(&c->channel[ch]) : cJSON_CreateNull());
    double vox[IE_FP_MAX_CLASSES], comps[IE_FP_MAX_CLASSES];
    for (int k = 0; k < c->n_labels; k++) {
        vox[k] = (double)c->class_voxels[k];
        comps[k] = c->components[k];
    }
    cJSON_AddItemToObject(o, "class_voxels", numbers(vox, c->n_labels));
    cJSON_AddItemToObject(o, "components", numbers(comps, c->n_labels));
    cJSON *centroids = cJSON_AddArrayToObject(o, "class_centroids_xyz");
    for (int k = 0; k < c->n_labels; k++)
        cJSON_AddItemToArray(centroids, c->class_voxels[k] ? numbers(c->centroid[k], 3) : cJSON_CreateNull());
    return o;
}

ie_status ie_fingerprint_run(const ie_fp_options *o, char **json_out) {
    *json_out = NULL;
    ie_dataset *ds = NULL;
    IE_TRY(ie_dataset_load(o->dataset_csv, NULL, &ds));
    int n = ie_dataset_count(ds), n_ch = o->n_channels;
    const char *channels[IE_FP_MAX_CHANNELS];
    const char *label = o->label_channel ? o->label_channel : "label";
    ie_fp_options opts = *o;
    opts.label_channel = label;
    for (int ch = 0; ch < n_ch; ch++) channels[ch] = o->channels[ch];
    if (n_ch == 0 && n > 0) { /* the first subject's channels but the label, in row order */
        const ie_dataset_item *it = ie_dataset_item_at(ds, 0);
        int cc = column_of(it, "channel");
        for (int r = 0; cc >= 0 && r < it->n_rows && n_ch < IE_FP_MAX_CHANNELS; r++)
            if (strcmp(it->values[r * it->n_columns + cc], label)) channels[n_ch++] = it->values[r * it->n_columns + cc];
    }
    run r = {.n_cases = n, .n_channels = n_ch, .progress = o->progress, .tty = o->tty};
    ie_status st = IE_OK;
    if (n == 0 || n_ch == 0)
        st = ie_error_set(IE_ERR_CONFIG, "%s: %s; the fingerprint needs subjects with image channels and a label "
                          "map", o->dataset_csv, n == 0 ? "no subjects" : "no image channel besides the label");
    /* nnU-Net draws 10^8 / cases voxels per case; a tenth of that, at least
     * 1000 and at most 100000 per case, keeps 40 MB per channel. */
    r.n_samples = n ? 10000000 / n : 0;
    r.n_samples = r.n_samples < 1000 ? 1000 : r.n_samples > 100000 ? 100000 : r.n_samples;
    r.cases = st == IE_OK ? calloc((size_t)n, sizeof *r.cases) : NULL;
    if (st == IE_OK && !r.cases) st = ie_error_set(IE_ERR_NOMEM, "fingerprint: out of memory for %d cases", n);
    if (st == IE_OK) st = find_paths(ds, &opts, channels, n_ch, r.cases);
    if (st == IE_OK) {
        pthread_mutex_init(&r.print, NULL);
        ie_parallel_for(n, measure_task, &r);
        pthread_mutex_destroy(&r.print);
        for (int i = 0; i < n && st == IE_OK; i++) /* the first failure in dataset order */
            if (r.cases[i].status != IE_OK)
                st = ie_error_set(r.cases[i].status, "%s: %s", o->dataset_csv, r.cases[i].error);
    }
    cJSON *root = NULL;
    if (st == IE_OK) {
        root = cJSON_CreateObject();
        cJSON_AddStringToObject(root, "format", "innereye-fingerprint-1");
        char *abs = realpath(o->dataset_csv, NULL);
        cJSON_AddStringToObject(root, "dataset_csv", abs ? abs : o->dataset_csv);
        free(abs);
        cJSON_AddNumberToObject(root, "samples_per_case", (double)r.n_samples);
        cJSON *chs = cJSON_AddArrayToObject(root, "channels");
        for (int ch = 0; ch < n_ch; ch++) {
            cJSON *c = cJSON_CreateObject();
            cJSON_AddStringToObject(c, "name", channels[ch]);
            cJSON_AddStringToObject(c, "modality", o->modalities[ch] ? o->modalities[ch] : guess_modality(channels[ch]));
            cJSON_AddItemToArray(chs, c);
        }
        cJSON_AddStringToObject(root, "label_channel", label);
        st = summarise(&r, root, channels);
        cJSON *cases = cJSON_AddArrayToObject(root, "cases");
        for (int i = 0; st == IE_OK && i < n; i++) cJSON_AddItemToArray(cases, case_json(&r.cases[i], n_ch));
    }
    if (st == IE_OK) {
        char *text = cJSON_Print(root);
        size_t len = text ? strlen(text) : 0;
        *json_out = text ? realloc(text, len + 2) : NULL;
        if (*json_out) memcpy(*json_out + len, "\n", 2);
        else st = ie_error_set(IE_ERR_NOMEM, "fingerprint: out of memory for the JSON");
    }
    cJSON_Delete(root);
    for (int i = 0; r.cases && i < n; i++) {
        for (int ch = 0; ch <= IE_FP_MAX_CHANNELS; ch++) free(r.cases[i].paths[ch]);
        free(r.cases[i].samples);
        free(r.cases[i].error);
    }
    free(r.cases);
    ie_dataset_free(ds);
    return st;
}
