/* tools - `innereye dataset to-dicom`: a label map on a DICOM series' grid
 * (a manual segmentation, or a prediction made earlier) written as the same
 * RT Structure Set or DICOM Segmentation that `innereye infer --format`
 * writes, so existing NIfTI segmentations reach a planning system too, and
 * the round trip label map -> DICOM -> label map can be checked. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/dicom/colours.h"
#include "core/dicom/dicom.h"
#include "core/dicom/structure_set.h"
#include "innereye/image_io.h"
#include "tools/cmd_dataset.h"

#define MAX_CLASSES 255
#define SOFTWARE "InnerEye-C (innereye dataset to-dicom)"

static void to_dicom_usage(FILE *out) {
    fprintf(out,
            "usage: innereye dataset to-dicom --series DIR --labels FILE --out FILE.dcm --format rtstruct|dicom-seg\n"
            "                                 --classes background,NAME,... [--colours '#RRGGBB,...']\n"
            "                                 [--select SELECTOR]\n"
            "\n"
            "Writes the label map FILE (on the grid of the DICOM series in DIR, e.g. a prediction) as an RT\n"
            "Structure Set or a DICOM Segmentation referencing that series; label i is structure\n"
            "--classes[i] (the first name is the background, as data.classes).\n");
}

static int split(char *text, const char **out, int max) {
    int n = 0;
    for (char *p = strtok(text, ","); p && n < max; p = strtok(NULL, ",")) out[n++] = p;
    return n;
}

int ie_cmd_dataset_to_dicom(int argc, char **argv) {
    const char *series_dir = NULL, *labels_path = NULL, *out = NULL, *format = NULL, *select = "";
    char *classes_text = NULL, *colours_text = NULL;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            to_dicom_usage(stdout);
            return 0;
        }
        const char **slot = !strcmp(a, "--series") ? &series_dir
                            : !strcmp(a, "--labels") ? &labels_path
                            : !strcmp(a, "--out")    ? &out
                            : !strcmp(a, "--format") ? &format
                            : !strcmp(a, "--select") ? &select
                                                     : NULL;
        char **owned = !strcmp(a, "--classes") ? &classes_text : !strcmp(a, "--colours") ? &colours_text : NULL;
        if ((!slot && !owned) || i + 1 >= argc) {
            to_dicom_usage(stderr);
            fprintf(stderr, "innereye dataset to-dicom: %s '%s'\n", slot || owned ? "no value for" : "unknown argument",
                    a);
            return 2;
        }
        if (slot) *slot = argv[++i];
        else *owned = argv[++i];
    }
    bool rtstruct = format && !strcmp(format, "rtstruct");
    if (!series_dir || !labels_path || !out || !classes_text || !format ||
        (!rtstruct && strcmp(format, "dicom-seg") != 0)) {
        to_dicom_usage(stderr);
        fprintf(stderr, "innereye dataset to-dicom: give --series, --labels, --out, --classes and --format rtstruct "
                        "or dicom-seg\n");
        return 2;
    }
    const char *names[MAX_CLASSES];
    int n_classes = split(classes_text, names, MAX_CLASSES);
    uint8_t colours[MAX_CLASSES][3] = {{0}};
    /* The palette of data.class_colours = [] unless --colours gives them. */
    ie_status st = IE_OK;
    ie_config *cfg = NULL;
    /* '#a,#b' -> data.class_colours=["#a","#b"]: each character at most
     * three, so the buffer always holds it. */
    char set[3 * 1024 + 64];
    if (colours_text && strlen(colours_text) > 1024) {
        fprintf(stderr, "innereye dataset to-dicom: --colours is too long\n");
        return 2;
    }
    size_t n_set = (size_t)snprintf(set, sizeof set, "data.class_colours=[%s", colours_text ? "\"" : "");
    for (const char *p = colours_text; p && *p; p++) n_set += (size_t)snprintf(set + n_set, sizeof set - n_set, "%s",
                                                                               *p == ',' ? "\",\"" : (char[]){*p, 0});
    snprintf(set + n_set, sizeof set - n_set, "%s]", colours_text ? "\"" : "");
    if (ie_config_new(&cfg) != IE_OK || ie_config_set(cfg, set, "--colours") != IE_OK ||
        ie_config_resolve(cfg) != IE_OK || ie_class_colours_from_config(cfg, n_classes, colours) != IE_OK) {
        fprintf(stderr, "innereye dataset to-dicom: --colours: %s\n", ie_error_message());
        ie_config_free(cfg);
        return 2;
    }
    ie_config_free(cfg);
    ie_tensor *labels = NULL;
    ie_image_geometry g, lg;
    ie_dicom_series series = {0};
    st = ie_image_dicom_series_select(select);
    if (st == IE_OK) st = ie_image_read_geometry(series_dir, &g);
    if (st == IE_OK) st = ie_image_read(labels_path, IE_U8, &labels, &lg);
    char why[256];
    if (st == IE_OK && !ie_image_geometry_equal(&g, &lg, 1e-4, why, sizeof why))
        st = ie_error_set(IE_ERR_SHAPE, "%s is not on the grid of the series in %s (%s); the label map must overlay "
                          "the series voxel for voxel", labels_path, series_dir, why);
    const uint8_t *v = st == IE_OK ? ie_tensor_data(labels) : NULL;
    for (int64_t i = 0; st == IE_OK && i < ie_tensor_numel(labels); i++)
        if (v[i] >= n_classes)
            st = ie_error_set(IE_ERR_IO, "%s holds label %d but --classes names %d classes (0..%d)", labels_path, v[i],
                              n_classes, n_classes - 1);
    if (st == IE_OK) st = ie_dicom_series_load(series_dir, &g, &series);
    if (st == IE_OK && rtstruct) {
        ie_dicom_structure_set s;
        st = ie_structure_set_from_labels(&g, v, n_classes, names, (const uint8_t(*)[3])colours, &s);
        if (st == IE_OK) st = ie_dicom_rtstruct_write(out, &series, &s, SOFTWARE);
        ie_dicom_structure_set_free(&s);
    } else if (st == IE_OK) {
        ie_dicom_segment segments[MAX_CLASSES];
        for (int c = 1; c < n_classes; c++) {
            segments[c - 1].name = names[c];
            memcpy(segments[c - 1].colour, colours[c], 3);
        }
        st = ie_dicom_seg_write(out, &series, v, segments, n_classes - 1, SOFTWARE);
    }
    if (st == IE_OK)
        printf("%s: %s with %d structure%s on series %s\n", out, rtstruct ? "RT Structure Set" : "DICOM Segmentation",
               n_classes - 1, n_classes == 2 ? "" : "s", series.series_uid);
    ie_tensor_release(labels);
    ie_dicom_series_free(&series);
    if (st != IE_OK) {
        fprintf(stderr, "innereye dataset to-dicom: %s\nnothing was written to %s\n", ie_error_message(), out);
        return 1;
    }
    return 0;
}
