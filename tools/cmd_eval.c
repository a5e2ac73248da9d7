/* tools - `innereye eval`: Dice, Hausdorff, HD95 and mean surface distance
 * between predicted and true label maps, written as metrics.csv and
 * metrics_aggregates.csv (docs/metrics.md).
 *
 *   innereye eval --pred FILE_OR_DIR --truth FILE_OR_DIR [--labels a,b,...]
 *                 --out DIR [--threads N]
 *
 * Two folders pair their image files by name without the extension; a
 * prediction may add "_segmentation" (the trainer's naming), or be
 * <pred>/<subject>/segmentation.nii.gz (innereye infer's layout).  Nothing is
 * written until every pair has been evaluated, and existing results in DIR
 * are never replaced.
 *
 *   innereye eval --task NAME --predictions CSV --out DIR
 *
 * is the task NAME's own evaluation of a predictions file in its runs'
 * format (ie_task.eval_predictions, core/task/task.h: classification and
 * regression), e.g. --task classification --predictions run/predictions.csv. */
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/util/file_util.h"
#include "core/metrics/metrics_csv.h"
#include "core/metrics/segmentation_metrics.h"
#include "core/task/task.h"
#include "core/util/path.h"
#include "innereye/image_io.h"
#include "innereye/threads.h"
#include "tools/cmd_eval.h"
#include "tools/commands.h"

#define MAX_LABEL 1000 /* without --labels, a larger label is a mistake, not a structure */
#define PRED_SUFFIX "_segmentation"
/* Unmatched files are named up to this many times, then counted: a labels
 * folder with 200 cases and 2 predictions must not bury the results. */
#define WARNINGS_SHOWN 5

static void usage(FILE *out) { ie_cli_usage("eval", out); }

/* ------------------------------------------------------------ listings */

typedef struct entry {
    char *key;  /* file name without the extension */
    char *path;
} entry;

typedef struct listing {
    entry *e;
    int n;
} listing;

static void listing_free(listing *l) {
    for (int i = 0; i < l->n; i++) {
        free(l->e[i].key);
        free(l->e[i].path);
    }
    free(l->e);
    l->e = NULL;
    l->n = 0;
}

/* Length of the image extension ending `name`, 0 when none. */
static size_t image_extension(const char *name) {
    static const char *const ext[] = {".nii.gz", ".nii", ".nrrd", ".nhdr", ".mha", ".mhd", ".hdr"};
    size_t n = strlen(name);
    for (size_t i = 0; i < sizeof ext / sizeof ext[0]; i++) {
        size_t k = strlen(ext[i]);
        if (n > k && !strcmp(name + n - k, ext[i])) return k;
    }
    return 0;
}

static int by_key(const void *a, const void *b) {
    return strcmp(((const entry *)a)->key, ((const entry *)b)->key);
}

static bool add_entry(listing *l, const char *key, size_t key_len, const char *path) {
    entry *grown = realloc(l->e, sizeof *grown * (size_t)(l->n + 1));
    if (!grown) return false;
    l->e = grown;
    l->e[l->n].key = strndup(key, key_len);
    l->e[l->n].path = strdup(path);
    if (!l->e[l->n].key || !l->e[l->n].path) {
        free(l->e[l->n].key);
        free(l->e[l->n].path);
        return false;
    }
    l->n++;
    return true;
}

/* The image files of `dir` (not hidden, not in sub-folders), sorted by key.
 * Two files with one key (a.nii and a.nii.gz) are refused. */
static bool list_images(const char *role, const char *dir, listing *out) {
    memset(out, 0, sizeof *out);
    DIR *d = opendir(dir);
    if (!d) {
        fprintf(stderr, "innereye eval: %s folder %s: %s\n", role, dir, strerror(errno));
        return false;
    }
    bool ok = true;
    for (struct dirent *de; ok && (de = readdir(d));) {
        size_t ext = image_extension(de->d_name);
        if (de->d_name[0] == '.') continue;
        char path[4096];
        struct stat sb;
        if (ie_path_join(path, sizeof path, dir, de->d_name) != IE_OK) {
            fprintf(stderr, "innereye eval: %s\n", ie_error_message());
            ok = false;
            break;
        }
        if (stat(path, &sb) != 0) continue;
        if (S_ISDIR(sb.st_mode) && !strcmp(role, "predicted")) {
            /* innereye infer's layout: <out>/<subject>/segmentation.nii.gz */
            static const char *const names[] = {"segmentation.nii.gz", "segmentation.nii", "segmentation.nrrd",
                                                "segmentation.mha"};
            for (size_t k = 0; k < sizeof names / sizeof names[0]; k++) {
                char inner[4200];
                /* path fits 4096 and each name 20 bytes: inner always fits */
                if (ie_path_join(inner, sizeof inner, path, names[k]) != IE_OK) continue;
                if (stat(inner, &sb) != 0 || !S_ISREG(sb.st_mode)) continue;
                ok = add_entry(out, de->d_name, strlen(de->d_name), inner);
                break;
            }
            if (!ok) fprintf(stderr, "innereye eval: out of memory listing %s\n", dir);
            continue;
        }
        if (ext == 0 || !S_ISREG(sb.st_mode)) continue;
        ok = add_entry(out, de->d_name, strlen(de->d_name) - ext, path);
        if (!ok) fprintf(stderr, "innereye eval: out of memory listing %s\n", dir);
    }
    closedir(d);
    if (ok && out->n > 1) qsort(out->e, (size_t)out->n, sizeof *out->e, by_key);
    for (int i = 1; ok && i < out->n; i++)
        if (!strcmp(out->e[i - 1].key, out->e[i].key)) {
            fprintf(stderr, "innereye eval: %s and %s are both %s subject '%s'; keep one of them\n",
                    out->e[i - 1].path, out->e[i].path, role, out->e[i].key);
            ok = false;
        }
    if (!ok) listing_free(out);
    return ok;
}

static int find_key(const listing *l, const char *key, size_t key_len) {
    for (int i = 0; i < l->n; i++)
        if (strlen(l->e[i].key) == key_len && !strncmp(l->e[i].key, key, key_len)) return i;
    return -1;
}

/* ------------------------------------------------------------- pairing */

typedef struct pair {
    const char *patient, *pred, *truth;
    int n_structures;        /* metrics computed: classes 1 .. n_structures */
    ie_seg_metrics *metrics;
} pair;

/* pairs[t] for every truth t that a prediction matches; returns the count
 * or -1 after printing why. */
static int match_folders(const listing *preds, const listing *truths, const char *pred_dir, const char *truth_dir,
                         pair *pairs) {
    int *pred_of = malloc(sizeof(int) * (size_t)(truths->n ? truths->n : 1));
    if (!pred_of) return -1;
    for (int t = 0; t < truths->n; t++) pred_of[t] = -1;
    int unmatched_preds = 0, failed = 0;
    for (int p = 0; p < preds->n; p++) {
        const char *key = preds->e[p].key;
        size_t len = strlen(key), sl = strlen(PRED_SUFFIX);
        int t = find_key(truths, key, len);
        if (t < 0 && len > sl && !strcmp(key + len - sl, PRED_SUFFIX)) t = find_key(truths, key, len - sl);
        if (t < 0) {
            if (unmatched_preds < WARNINGS_SHOWN)
                fprintf(stderr, "innereye eval: warning: no true label map for prediction %s (looked for %s.* in %s)\n",
                        preds->e[p].path, key, truth_dir);
            unmatched_preds++;
        } else if (pred_of[t] >= 0) {
            fprintf(stderr, "innereye eval: %s and %s both match %s; keep one of them\n", preds->e[pred_of[t]].path,
                    preds->e[p].path, truths->e[t].path);
            failed = 1;
        } else {
            pred_of[t] = p;
        }
    }
    if (unmatched_preds > WARNINGS_SHOWN)
        fprintf(stderr, "innereye eval: warning: ... and %d more predictions without a true label map\n",
                unmatched_preds - WARNINGS_SHOWN);
    int n = 0, unmatched_truths = 0;
    for (int t = 0; t < truths->n; t++) {
        if (pred_of[t] < 0) {
            if (unmatched_truths++ < WARNINGS_SHOWN)
                fprintf(stderr, "innereye eval: warning: no prediction for true label map %s (looked for %s.* or "
                                "%s%s.* in %s)\n",
                        truths->e[t].path, truths->e[t].key, truths->e[t].key, PRED_SUFFIX, pred_dir);
            continue;
        }
        pairs[n++] = (pair){.patient = truths->e[t].key, .pred = preds->e[pred_of[t]].path, .truth = truths->e[t].path};
    }
    free(pred_of);
    if (unmatched_truths > WARNINGS_SHOWN)
        fprintf(stderr, "innereye eval: warning: ... and %d more true label maps without a prediction (%d of %d "
                        "evaluated; a labels folder may hold more cases than were predicted)\n",
                unmatched_truths - WARNINGS_SHOWN, n, truths->n);
    if (failed) return -1;
    if (n == 0) {
        fprintf(stderr,
                "innereye eval: no prediction in %s matches a true label map in %s (%d predictions, %d true maps); "
                "files pair when their names without the extension agree (a prediction may end in %s)\n",
                pred_dir, truth_dir, preds->n, truths->n, PRED_SUFFIX);
        return -1;
    }
    if (unmatched_preds || n < truths->n)
        fprintf(stderr, "innereye eval: evaluating the %d matched pairs; %d predictions and %d true maps unmatched\n",
                n, unmatched_preds, truths->n - n);
    return n;
}

/* ------------------------------------------------------------ one pair */

static int64_t max_label(const ie_tensor *t, const char *path, bool *ok) {
    int64_t n = ie_tensor_numel(t), best = 0;
    const int32_t *v = ie_tensor_data(t);
    for (int64_t i = 0; i < n; i++) {
        if (v[i] < 0) {
            fprintf(stderr, "innereye eval: %s: voxel %lld holds label %lld; labels are class indices 0, 1, 2, ...\n",
                    path, (long long)i, (long long)v[i]);
            *ok = false;
            return 0;
        }
        if (v[i] > best) best = v[i];
    }
    return best;
}

/* Reads and checks one pair, computes its metrics; false after printing why.
 * *above_names counts the maps with labels above --labels (the first
 * WARNINGS_SHOWN are named, the caller says how many more). */
static bool evaluate_pair(pair *p, int n_names, int *above_names) {
    ie_image_geometry gp, gt;
    char why[256];
    ie_tensor *pred = NULL, *truth = NULL;
    bool ok = false;
    if (ie_image_read_geometry(p->pred, &gp) != IE_OK || ie_image_read_geometry(p->truth, &gt) != IE_OK) {
        fprintf(stderr, "innereye eval: %s\n", ie_error_message());
        return false;
    }
    if (!ie_image_geometry_equal(&gp, &gt, IE_GEOMETRY_TOLERANCE, why, sizeof why)) {
        fprintf(stderr,
                "innereye eval: prediction %s and true label map %s are not on the same voxel grid (%s); "
                "resample the prediction onto the true map's grid\n",
                p->pred, p->truth, why);
        return false;
    }
    /* int32: half the memory of int64, and any label a map can sensibly hold */
    if (ie_image_read(p->pred, IE_I32, &pred, &gp) != IE_OK ||
        ie_image_read(p->truth, IE_I32, &truth, &gt) != IE_OK) {
        fprintf(stderr, "innereye eval: %s\n", ie_error_message());
        goto done;
    }
    bool labels_ok = true;
    int64_t top_pred = max_label(pred, p->pred, &labels_ok);
    int64_t top_truth = labels_ok ? max_label(truth, p->truth, &labels_ok) : 0;
    if (!labels_ok) goto done;
    int64_t top = top_pred > top_truth ? top_pred : top_truth;
    if (n_names > 0) {
        if (top > n_names && (*above_names)++ < WARNINGS_SHOWN)
            fprintf(stderr, "innereye eval: warning: %s holds label %lld, but --labels names %d structure%s; labels "
                            "above %d are not evaluated\n",
                    top_pred > n_names ? p->pred : p->truth, (long long)top, n_names, n_names == 1 ? "" : "s",
                    n_names);
        p->n_structures = n_names;
    } else {
        if (top > MAX_LABEL) {
            fprintf(stderr, "innereye eval: %s holds label %lld; give --labels to name the structures to evaluate\n",
                    top_pred > MAX_LABEL ? p->pred : p->truth, (long long)top);
            goto done;
        }
        p->n_structures = (int)top;
    }
    p->metrics = malloc(sizeof *p->metrics * (size_t)(p->n_structures ? p->n_structures : 1));
    if (!p->metrics) {
        fprintf(stderr, "innereye eval: out of memory\n");
        goto done;
    }
    if (ie_seg_metrics_labels(pred, truth, &gt, p->n_structures + 1, p->metrics) != IE_OK) {
        fprintf(stderr, "innereye eval: %s vs %s: %s\n", p->pred, p->truth, ie_error_message());
        goto done;
    }
    ok = true;
done:
    ie_tensor_release(pred);
    ie_tensor_release(truth);
    return ok;
}

/* ------------------------------------------------------------- output */

static void print_summary(const pair *pairs, int n_pairs, int n_structures, char **names) {
    static const char *const title[4] = {"Dice", "Hausdorff", "HD95", "mean distance"};
    double *v = malloc(sizeof(double) * (size_t)n_pairs);
    if (!v) return;
    printf("%d subject%s, %d structure%s (means over subjects; inf and nan values counted apart)\n", n_pairs,
           n_pairs == 1 ? "" : "s", n_structures, n_structures == 1 ? "" : "s");
    for (int c = 0; c < n_structures; c++) {
        printf("  %-16s", names[c]);
        for (int k = 0; k < 4; k++) {
            for (int i = 0; i < n_pairs; i++) {
                const ie_seg_metrics *m = &pairs[i].metrics[c];
                v[i] = c >= pairs[i].n_structures ? NAN
                       : k == 0                  ? m->dice
                       : k == 1                  ? m->hausdorff_mm
                       : k == 2                  ? m->hd95_mm
                                                 : m->mean_distance_mm;
            }
            ie_metric_stats s;
            ie_metric_stats_compute(v, n_pairs, &s);
            printf("  %s %.3f%s", title[k], s.mean, k ? " mm" : "");
            if (k == 0) printf(" (%d nan)", s.nan_count);
            if (k == 1 && s.inf_count) printf(" (%d inf)", s.inf_count);
        }
        printf("\n");
    }
    free(v);
}

static bool write_results(const char *out_dir, const pair *pairs, int n_pairs, int n_structures, char **names) {
    char metrics[4200], aggregates[4200];
    ie_metrics_writer *w = NULL;
    ie_status st = ie_path_format(metrics, sizeof metrics, "%s/metrics.csv", out_dir);
    if (st == IE_OK) st = ie_path_format(aggregates, sizeof aggregates, "%s/metrics_aggregates.csv", out_dir);
    if (st == IE_OK) st = ie_metrics_writer_open(metrics, false, &w);
    const ie_seg_metrics absent = {NAN, NAN, NAN, NAN}; /* a class above a pair's labels is in neither map */
    for (int i = 0; st == IE_OK && i < n_pairs; i++)
        for (int c = 0; st == IE_OK && c < n_structures; c++)
            st = ie_metrics_writer_add(w, pairs[i].patient, names[c],
                                       c < pairs[i].n_structures ? &pairs[i].metrics[c] : &absent);
    if (st == IE_OK) {
        st = ie_metrics_writer_commit(w);
        w = NULL;
    }
    ie_metrics_writer_discard(w);
    if (st == IE_OK) st = ie_metrics_aggregates_write(metrics, aggregates, false);
    if (st != IE_OK) {
        fprintf(stderr, "innereye eval: %s\n", ie_error_message());
        return false;
    }
    printf("metrics: %s\naggregates: %s\n", metrics, aggregates);
    return true;
}

/* ---------------------------------------------------------------- main */

/* "a,b,c" -> names[0..n); NULL names when the list has an empty name. */
static char **split_labels(const char *list, int *n) {
    int count = 1;
    for (const char *s = list; *s; s++) count += *s == ',';
    char **names = calloc((size_t)count, sizeof *names);
    if (!names) return NULL;
    const char *start = list;
    for (int i = 0; i < count; i++) {
        const char *end = strchr(start, ',');
        size_t len = end ? (size_t)(end - start) : strlen(start);
        names[i] = strndup(start, len);
        if (!names[i] || len == 0) {
            for (int j = 0; j <= i; j++) free(names[j]);
            free(names);
            return NULL;
        }
        start = end ? end + 1 : start + len;
    }
    *n = count;
    return names;
}

static bool is_dir(const char *path) {
    struct stat sb;
    return stat(path, &sb) == 0 && S_ISDIR(sb.st_mode);
}

/* Without a folder, the subject is the true map's file name without extension. */
static char *subject_of(const char *path) {
    const char *slash = strrchr(path, '/'), *name = slash ? slash + 1 : path;
    size_t ext = image_extension(name);
    return strndup(name, strlen(name) - ext);
}

/* The value of --name VALUE or --name=VALUE at argv[*i], advancing *i;
 * NULL when argv[*i] is another option. */
static const char *option(int argc, char **argv, int *i, const char *name) {
    size_t n = strlen(name);
    if (strncmp(argv[*i], name, n) != 0) return NULL;
    if (argv[*i][n] == '=') return argv[*i] + n + 1;
    if (argv[*i][n] != '\0') return NULL;
    if (*i + 1 >= argc) return "";
    return argv[++*i];
}

/* --task NAME: the task whose eval_predictions computes the metrics of a
 * predictions CSV (--predictions, --out). */
static int eval_task_predictions(const ie_task *task, int argc, char **argv) {
    const char *predictions = NULL, *out = NULL, *v;
    for (int i = 0; i < argc; i++) {
        if (option(argc, argv, &i, "--task")) continue;
        else if ((v = option(argc, argv, &i, "--predictions"))) predictions = v;
        else if ((v = option(argc, argv, &i, "--out"))) out = v;
        else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            usage(stdout);
            return 0;
        } else {
            ie_cli_unknown_option("eval", argv[i]);
            usage(stderr);
            return 2;
        }
    }
    if (!predictions || !predictions[0] || !out || !out[0]) {
        fprintf(stderr, "innereye eval: --task, --predictions and --out are required\n");
        usage(stderr);
        return 2;
    }
    if (task->eval_predictions(predictions, out) != IE_OK) {
        fprintf(stderr, "innereye eval: %s\n", ie_error_message());
        return 1;
    }
    return 0;
}

int ie_cmd_eval(int argc, char **argv) {
    /* A task that evaluates its own predictions files (core/task/task.h). */
    for (int i = 0; i < argc; i++) {
        const char *name = option(argc, argv, &i, "--task");
        const ie_task *task = ie_task_by_name(name);
        if (task && task->eval_predictions) return eval_task_predictions(task, argc, argv);
        if (name) break;
    }
    const char *pred = NULL, *truth = NULL, *labels = NULL, *out = NULL;
    int threads = -1, above_names = 0;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        const char **slot = !strcmp(a, "--pred")     ? &pred
                            : !strcmp(a, "--truth")  ? &truth
                            : !strcmp(a, "--labels") ? &labels
                            : !strcmp(a, "--out")    ? &out
                                                     : NULL;
        if (!strcmp(a, "--threads")) {
            char *end;
            long v = i + 1 < argc ? strtol(argv[i + 1], &end, 10) : -1;
            if (i + 1 >= argc || *end || v < 0 || v > 4096) {
                fprintf(stderr, "innereye eval: --threads needs an integer >= 0, got '%s'\n",
                        i + 1 < argc ? argv[i + 1] : "");
                return 2;
            }
            threads = (int)v;
            i++;
            continue;
        }
        if (!slot) {
            ie_cli_unknown_option("eval", a);
            return 2;
        }
        if (i + 1 >= argc) {
            fprintf(stderr, "innereye eval: %s needs a value\n", a);
            usage(stderr);
            return 2;
        }
        *slot = argv[++i];
    }
    if (!pred || !truth || !out) {
        fprintf(stderr, "innereye eval: give --pred, --truth and --out\n");
        usage(stderr);
        return 2;
    }
    /* "--out mine_eval/": the paths below read mine_eval/metrics.csv. */
    char folders[3][4096];
    const char **given[] = {&pred, &truth, &out};
    const char *option[] = {"--pred", "--truth", "--out"};
    for (int k = 0; k < 3; k++) {
        if (ie_path_format(folders[k], sizeof folders[k], "%s", *given[k]) != IE_OK) {
            fprintf(stderr, "innereye eval: %s %s\n", option[k], ie_error_message());
            return 2;
        }
        ie_path_trim_slashes(folders[k]);
        *given[k] = folders[k];
    }
    int n_names = 0;
    char **names = NULL;
    if (labels && !(names = split_labels(labels, &n_names))) {
        fprintf(stderr, "innereye eval: --labels '%s' has an empty name; give NAME1,NAME2,... for classes 1, 2, ...\n",
                labels);
        return 2;
    }
    if (threads >= 0) ie_threads_set(threads);

    int rc = 1, n_pairs = 0, n_structures = 0;
    listing preds = {0}, truths = {0};
    pair *pairs = NULL;
    char *single_subject = NULL;
    struct stat sb;
    char metrics_path[4200], aggregates_path[4200];
    if (ie_path_format(metrics_path, sizeof metrics_path, "%s/metrics.csv", out) != IE_OK ||
        ie_path_format(aggregates_path, sizeof aggregates_path, "%s/metrics_aggregates.csv", out) != IE_OK) {
        fprintf(stderr, "innereye eval: --out %s\n", ie_error_message());
        goto done;
    }
    if (stat(metrics_path, &sb) == 0 || stat(aggregates_path, &sb) == 0) {
        fprintf(stderr, "innereye eval: %s already holds results (%s); choose another --out folder (nothing was "
                        "written)\n",
                out, stat(metrics_path, &sb) == 0 ? metrics_path : aggregates_path);
        goto done;
    }
    if (stat(pred, &sb) != 0 || stat(truth, &sb) != 0) {
        const char *missing = stat(pred, &sb) != 0 ? pred : truth;
        fprintf(stderr, "innereye eval: %s: %s\n", missing, strerror(errno));
        goto done;
    }
    if (is_dir(pred) != is_dir(truth)) {
        fprintf(stderr, "innereye eval: --pred %s and --truth %s must both be files or both be folders\n", pred,
                truth);
        goto done;
    }
    if (is_dir(pred)) {
        if (!list_images("predicted", pred, &preds) || !list_images("true", truth, &truths)) goto done;
        pairs = calloc((size_t)(truths.n ? truths.n : 1), sizeof *pairs);
        if (!pairs) goto done;
        n_pairs = match_folders(&preds, &truths, pred, truth, pairs);
        if (n_pairs < 0) goto done;
    } else {
        pairs = calloc(1, sizeof *pairs);
        single_subject = subject_of(truth);
        if (!pairs || !single_subject) goto done;
        pairs[0] = (pair){.patient = single_subject, .pred = pred, .truth = truth};
        n_pairs = 1;
    }
    for (int i = 0; i < n_pairs; i++) {
        if (!evaluate_pair(&pairs[i], n_names, &above_names)) goto done;
        if (pairs[i].n_structures > n_structures) n_structures = pairs[i].n_structures;
    }
    if (above_names > WARNINGS_SHOWN)
        fprintf(stderr, "innereye eval: warning: ... and %d more subjects with labels above the %d --labels "
                        "names (%d of %d subjects)\n",
                above_names - WARNINGS_SHOWN, n_names, above_names, n_pairs);
    if (!names) { /* structures named by their label value, up to the largest seen */
        if (n_structures == 0) {
            fprintf(stderr, "innereye eval: no map holds a foreground label (all voxels are 0); give --labels to "
                            "report the structures as absent\n");
            goto done;
        }
        names = calloc((size_t)n_structures, sizeof *names);
        if (!names) goto done;
        n_names = n_structures;
        for (int c = 0; c < n_structures; c++) {
            if (!(names[c] = malloc(16))) goto done;
            snprintf(names[c], 16, "%d", c + 1);
        }
    }
    if (ie_make_dirs(out) != IE_OK) {
        fprintf(stderr, "innereye eval: %s\n", ie_error_message());
        goto done;
    }
    print_summary(pairs, n_pairs, n_structures, names);
    if (write_results(out, pairs, n_pairs, n_structures, names)) rc = 0;
done:
    for (int i = 0; pairs && i < n_pairs; i++) free(pairs[i].metrics);
    free(pairs);
    free(single_subject);
    listing_free(&preds);
    listing_free(&truths);
    for (int c = 0; names && c < n_names; c++) free(names[c]);
    free(names);
    return rc;
}
