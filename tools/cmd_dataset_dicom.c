/* tools - `innereye dataset from-dicom`: clinical contours become training
 * data.  An RT Structure Set drawn on a DICOM series is rasterised into a
 * label map on the series' grid (core/dicom: each contour filled on its
 * slice, holes by the even-odd rule), written next to a dataset.csv row
 * pair that the trainer reads (the image channel is the series folder
 * itself, the label channel the new NIfTI label map).  Running it again with
 * another case and the same --out adds that case to the dataset. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/util/csv.h"
#include "core/dicom/dicom.h"
#include "core/dicom/structure_set.h"
#include "core/util/file_util.h"
#include "core/util/path.h"
#include "innereye/image_io.h"
#include "innereye/ops.h"
#include "tools/cmd_dataset.h"

#define MAX_STRUCTURES 254

static void from_dicom_usage(FILE *out) {
    fprintf(out,
            "usage: innereye dataset from-dicom --series DIR --rtstruct FILE --out DIR [--subject NAME]\n"
            "                                   [--structures NAME,NAME,...] [--select SELECTOR]\n"
            "\n"
            "Rasterises the RT structure set FILE, drawn on the DICOM series in DIR, into a label map\n"
            "OUT/labels/<subject>.nii.gz on the series' grid (structure i of --structures, or of the file's\n"
            "order, is label i; later structures win where they overlap) and adds the subject to\n"
            "OUT/dataset.csv (subject,filePath,channel: the series folder as channel 'image', the label map\n"
            "as 'label').  --select picks a series of a folder holding several (uid=..., modality=...,\n"
            "description=...; data.dicom_series when training).  The structure set must be on the series'\n"
            "Frame of Reference and reference that series.  Prints the data.classes to train with.\n");
}

typedef struct request {
    const char *series, *rtstruct, *out, *subject, *structures, *select;
} request;

static int parse(int argc, char **argv, request *r) {
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            from_dicom_usage(stdout);
            return 0;
        }
        const char **slot = !strcmp(a, "--series")       ? &r->series
                            : !strcmp(a, "--rtstruct")   ? &r->rtstruct
                            : !strcmp(a, "--out")        ? &r->out
                            : !strcmp(a, "--subject")    ? &r->subject
                            : !strcmp(a, "--structures") ? &r->structures
                            : !strcmp(a, "--select")     ? &r->select
                                                         : NULL;
        if (!slot || i + 1 >= argc || !argv[i + 1][0]) {
            from_dicom_usage(stderr);
            fprintf(stderr, slot ? "innereye dataset from-dicom: %s needs a value\n"
                                 : "innereye dataset from-dicom: unknown argument '%s'\n", a);
            return 2;
        }
        *slot = argv[++i];
    }
    if (!r->series || !r->rtstruct || !r->out) {
        from_dicom_usage(stderr);
        fprintf(stderr, "innereye dataset from-dicom: give --series DIR, --rtstruct FILE and --out DIR\n");
        return 2;
    }
    return -1;
}

/* The subject: --subject, else the series folder's name; false when it
 * does not fit in size bytes. */
static bool subject_name(const request *r, char *out, size_t size) {
    const char *name = r->subject;
    char tmp[4096];
    if (!name) {
        if (ie_path_format(tmp, sizeof tmp, "%s", r->series) != IE_OK) return false;
        size_t n = strlen(tmp);
        while (n > 1 && tmp[n - 1] == '/') tmp[--n] = '\0';
        const char *base = strrchr(tmp, '/');
        name = base ? base + 1 : tmp;
    }
    if (strlen(name) >= size) return false;
    memcpy(out, name, strlen(name) + 1);
    return true;
}

/* The ROIs to rasterise, in label order. */
static ie_status choose_rois(const ie_dicom_structure_set *set, const char *list, const char *file,
                             const ie_dicom_roi **out, int *n) {
    *n = 0;
    if (!list) {
        for (int r = 0; r < set->n_rois && *n < MAX_STRUCTURES; r++) out[(*n)++] = &set->rois[r];
        return IE_OK;
    }
    const char *p = list;
    while (*p && *n < MAX_STRUCTURES) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        const ie_dicom_roi *found = NULL;
        for (int r = 0; r < set->n_rois && !found; r++)
            if (strlen(set->rois[r].name) == len && !strncmp(set->rois[r].name, p, len)) found = &set->rois[r];
        if (!found) {
            char names[2048] = "";
            for (int r = 0; r < set->n_rois; r++) {
                size_t used = strlen(names);
                snprintf(names + used, sizeof names - used, "%s\"%s\"", r ? ", " : "", set->rois[r].name);
            }
            return ie_error_set(IE_ERR_CONFIG, "--structures: %s has no ROI named \"%.*s\"; its ROI Names are %s",
                                file, (int)len, p, names);
        }
        out[(*n)++] = found;
        p = comma ? comma + 1 : p + len;
    }
    return IE_OK;
}

/* The structure set must be drawn on this series: same Frame of Reference,
 * and where it names a series or slices, this series and its slices. */
static ie_status check_references(const ie_dicom_structure_set *set, const ie_dicom_series *series,
                                  const ie_dicom_roi *const *rois, int n, const char *file) {
    if (strcmp(set->frame_of_reference_uid, series->frame_of_reference_uid) != 0)
        return ie_error_set(IE_ERR_IO, "%s: its FrameOfReferenceUID (3006,0024) is %s but the series in %s has %s: "
                            "the structure set was drawn on another patient position or scan; export the structure "
                            "set together with the series it was drawn on", file, set->frame_of_reference_uid,
                            series->dir, series->frame_of_reference_uid);
    if (set->referenced_series_uid[0] && strcmp(set->referenced_series_uid, series->series_uid) != 0)
        return ie_error_set(IE_ERR_IO, "%s references series %s (RT Referenced Series Sequence, SeriesInstanceUID "
                            "(0020,000e)) but %s holds series %s; give the series the structures were drawn on",
                            file, set->referenced_series_uid, series->dir, series->series_uid);
    for (int r = 0; r < n; r++)
        for (int c = 0; c < rois[r]->n_contours; c++) {
            const char *uid = rois[r]->contours[c].referenced_sop_uid;
            if (!uid[0]) continue;
            int k = 0;
            while (k < series->n_slices && strcmp(series->sop_instance_uids[k], uid) != 0) k++;
            if (k == series->n_slices)
                return ie_error_set(IE_ERR_IO, "%s: ROI \"%s\", contour %d references image %s "
                                    "(ReferencedSOPInstanceUID (0008,1155)), which is not a slice of the series in %s",
                                    file, rois[r]->name, c + 1, uid, series->dir);
        }
    return IE_OK;
}

/* dataset.csv with the new subject's rows added (written atomically). */
static ie_status add_rows(const char *out, const char *subject, const char *image, const char *label) {
    char csv[4200];
    IE_TRY(ie_path_format(csv, sizeof csv, "%s/dataset.csv", out));
    char *old = NULL, *text = NULL;
    size_t old_len = 0, len = 0;
    struct stat sb;
    if (stat(csv, &sb) == 0) IE_TRY(ie_read_file(csv, &old, &old_len));
    FILE *f = open_memstream(&text, &len);
    if (!f) {
        free(old);
        return ie_error_set(IE_ERR_NOMEM, "out of memory");
    }
    if (old) fwrite(old, 1, old_len, f);
    else fputs("subject,filePath,channel\n", f);
    const char *rows[2][2] = {{image, "image"}, {label, "label"}};
    for (int i = 0; i < 2; i++) {
        ie_csv_write_field(f, subject);
        fputc(',', f);
        ie_csv_write_field(f, rows[i][0]);
        fputc(',', f);
        ie_csv_write_field(f, rows[i][1]);
        fputc('\n', f);
    }
    free(old);
    return ie_write_stream_atomic(f, &text, &len, csv);
}

/* Whether dataset.csv already lists the subject (a subject is added once). */
static bool listed(const char *out, const char *subject) {
    char csv[4200], *text = NULL;
    struct stat sb;
    if (ie_path_format(csv, sizeof csv, "%s/dataset.csv", out) != IE_OK || stat(csv, &sb) != 0 ||
        ie_read_file(csv, &text, NULL) != IE_OK)
        return false;
    char needle[600];
    snprintf(needle, sizeof needle, "\n%s,", subject);
    bool found = strstr(text, needle) != NULL;
    free(text);
    return found;
}

static ie_status run(const request *r, const char *subject, char *classes, size_t classes_size) {
    ie_tensor *image = NULL, *labels = NULL;
    ie_image_geometry g;
    ie_dicom_series series = {0};
    ie_dicom_structure_set set = {0};
    const ie_dicom_roi *rois[MAX_STRUCTURES];
    int n = 0;
    char abs_series[4096], label_dir[4200], label_path[4600];
    struct stat sb;
    if (stat(r->series, &sb) != 0 || !S_ISDIR(sb.st_mode))
        return ie_error_set(IE_ERR_IO, "--series %s: %s", r->series,
                            stat(r->series, &sb) != 0 ? strerror(errno) : "not a folder (give the folder of the "
                                                                          "series' DICOM slices)");
    if (!realpath(r->series, abs_series)) return ie_error_set(IE_ERR_IO, "%s: %s", r->series, strerror(errno));
    ie_status st = ie_image_dicom_series_select(r->select ? r->select : "");
    if (st == IE_OK) st = ie_image_read_geometry(abs_series, &g);
    if (st == IE_OK && g.ndim != 3)
        st = ie_error_set(IE_ERR_UNSUPPORTED, "%s: a 2-D image; structure sets are drawn on 3-D series", r->series);
    if (st == IE_OK) st = ie_dicom_series_load(abs_series, &g, &series);
    if (st == IE_OK) st = ie_dicom_rtstruct_read(r->rtstruct, &set);
    if (st == IE_OK) st = choose_rois(&set, r->structures, r->rtstruct, rois, &n);
    if (st == IE_OK && n == 0) st = ie_error_set(IE_ERR_IO, "%s holds no ROI", r->rtstruct);
    if (st == IE_OK) st = check_references(&set, &series, rois, n, r->rtstruct);
    int64_t shape[3] = {g.size[2], g.size[1], g.size[0]};
    if (st == IE_OK) st = ie_tensor_zeros(IE_U8, 3, shape, IE_CPU, &labels);
    if (st == IE_OK) st = ie_structure_set_to_labels(&g, rois, n, r->rtstruct, ie_tensor_data(labels));
    if (st == IE_OK) st = ie_path_format(label_dir, sizeof label_dir, "%s/labels", r->out);
    if (st == IE_OK) st = ie_path_format(label_path, sizeof label_path, "%s/%s.nii.gz", label_dir, subject);
    if (st == IE_OK) st = ie_make_dirs(label_dir);
    if (st == IE_OK) st = ie_image_write(label_path, labels, &g);
    if (st == IE_OK) {
        char relative[4300];
        st = ie_path_format(relative, sizeof relative, "labels/%s.nii.gz", subject);
        if (st == IE_OK) st = add_rows(r->out, subject, abs_series, relative);
        if (st != IE_OK) remove(label_path); /* no label map without its row */
    }
    if (st == IE_OK) {
        snprintf(classes, classes_size, "[\"background\"");
        for (int i = 0; i < n; i++) {
            size_t used = strlen(classes);
            snprintf(classes + used, classes_size - used, ", \"%s\"", rois[i]->name);
        }
        size_t used = strlen(classes);
        snprintf(classes + used, classes_size - used, "]");
        int64_t counts[MAX_STRUCTURES + 1] = {0};
        const uint8_t *v = ie_tensor_data(labels);
        for (int64_t i = 0; i < ie_tensor_numel(labels); i++) counts[v[i]]++;
        printf("%s: %s, %d structure%s rasterised on %lldx%lldx%lld voxels (x, y, z) ->\n  %s\n", subject, r->rtstruct, n,
               n == 1 ? "" : "s", (long long)g.size[0], (long long)g.size[1], (long long)g.size[2], label_path);
        for (int i = 0; i < n; i++)
            printf("  label %d \"%s\": %d contours, %lld voxels\n", i + 1, rois[i]->name, rois[i]->n_contours,
                   (long long)counts[i + 1]);
    }
    ie_tensor_release(image);
    ie_tensor_release(labels);
    ie_dicom_series_free(&series);
    ie_dicom_structure_set_free(&set);
    return st;
}

int ie_cmd_dataset_from_dicom(int argc, char **argv) {
    request r = {0};
    int code = parse(argc, argv, &r);
    if (code >= 0) return code;
    char subject[256], classes[4096];
    if (!subject_name(&r, subject, sizeof subject)) {
        fprintf(stderr, "innereye dataset from-dicom: the subject name is longer than %zu characters; give a shorter "
                        "--subject NAME\n", sizeof subject - 1);
        return 2;
    }
    if (!subject[0] || strchr(subject, '/') || !strcmp(subject, ".") || !strcmp(subject, "..")) {
        fprintf(stderr, "innereye dataset from-dicom: '%s' cannot be a subject name; give --subject NAME\n", subject);
        return 2;
    }
    if (listed(r.out, subject)) {
        fprintf(stderr, "innereye dataset from-dicom: %s/dataset.csv already lists subject '%s'; nothing was "
                        "changed (give another --subject, or another --out)\n", r.out, subject);
        return 1;
    }
    if (run(&r, subject, classes, sizeof classes) != IE_OK) {
        fprintf(stderr, "innereye dataset from-dicom: %s\nnothing was added to %s\n", ie_error_message(), r.out);
        return 1;
    }
    printf("added subject '%s' to %s/dataset.csv; train with data.classes %s\n", subject, r.out, classes);
    return 0;
}
