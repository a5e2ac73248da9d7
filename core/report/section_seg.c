/* core/report - segmentation results: box plots per structure, every test
 * subject, the worst subjects with overlays. */
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "core/data/dataset.h"
#include "core/report/report_impl.h"
#include "innereye/config.h"

#define MAX_GROUPS 64
#define WORST 5

/* The metric columns drawn as box plots (docs/metrics.md). */
static const char *const BOXED[] = {"Dice", "HD95_mm", "MeanDistance_mm"};
static const char *const BOXED_LABEL[] = {"Dice", "HD95 (mm)", "mean surface distance (mm)"};

/* Finds the files of a subject: the image, the truth and the prediction. */
typedef struct seg_files {
    ie_config *cfg;
    ie_dataset *ds;
    const char *image_channel, *label_channel;
    const char *masks[MAX_GROUPS];
    int n_masks;
    const char *classes[MAX_GROUPS];
    int n_classes;
    const ie_report_seg_files *where;
} seg_files;

static void seg_files_free(seg_files *f) {
    ie_dataset_free(f->ds);
    ie_config_free(f->cfg);
}

static ie_status seg_files_open(seg_files *f, const ie_report_seg_files *where) {
    memset(f, 0, sizeof *f);
    f->where = where;
    char path[4200];
    snprintf(path, sizeof path, "%s/config.resolved.json", where->run_dir);
    IE_TRY(ie_config_new(&f->cfg));
    IE_TRY(ie_config_add_file(f->cfg, path));
    IE_TRY(ie_config_resolve(f->cfg));
    const char *channels[MAX_GROUPS];
    int n = 0;
    IE_TRY(ie_config_get_string_array(f->cfg, "data.image_channels", channels, MAX_GROUPS, &n));
    f->image_channel = n ? channels[0] : "image";
    IE_TRY(ie_config_get_string(f->cfg, "data.label_channel", &f->label_channel));
    IE_TRY(ie_config_get_string_array(f->cfg, "data.mask_channels", f->masks, MAX_GROUPS, &f->n_masks));
    IE_TRY(ie_config_get_string_array(f->cfg, "data.classes", f->classes, MAX_GROUPS, &f->n_classes));
    cJSON *record = ie_report_json(where->run_dir, "run.json");
    const char *csv = ie_report_json_string(record, "data.dataset_csv", "");
    char csv_path[4200];
    snprintf(csv_path, sizeof csv_path, "%s", csv);
    cJSON_Delete(record);
    if (!csv_path[0]) return ie_error_set(IE_ERR_IO, "%s/run.json names no dataset", where->run_dir);
    IE_TRY(ie_dataset_load(csv_path, "subject", &f->ds));
    const char *root = "";
    IE_TRY(ie_config_get_string(f->cfg, "data.root", &root));
    char resolved[PATH_MAX];
    if (root[0] && realpath(root, resolved)) IE_TRY(ie_dataset_set_root(f->ds, resolved));
    return IE_OK;
}

static bool channel_file(const seg_files *f, const char *subject, const char *channel, char *out, size_t size) {
    int i = ie_dataset_find(f->ds, subject);
    const ie_dataset_item *item = i >= 0 ? ie_dataset_item_at(f->ds, i) : NULL;
    for (int r = 0; item && r < item->n_rows; r++) {
        const char *ch = ie_dataset_item_value(item, r, "channel"), *p = ie_dataset_item_value(item, r, "filePath");
        if (!ch || !p || strcmp(ch, channel) != 0) continue;
        if (p[0] != '/' && item->root && item->root[0]) snprintf(out, size, "%s/%s", item->root, p);
        else snprintf(out, size, "%s", p);
        return true;
    }
    return false;
}

static ie_status overlay(ie_html *h, const seg_files *f, const char *subject, const char *structure,
                         const char *caption) {
    int label = -1;
    for (int c = 1; c < f->n_classes; c++)
        if (!strcmp(f->classes[c], structure)) label = c;
    if (label < 0) return ie_error_set(IE_ERR_CONFIG, "structure %s is not in data.classes", structure);
    char image[4200], truth[4200], pred[4200];
    bool mask = f->n_masks > 0;
    if (!channel_file(f, subject, f->image_channel, image, sizeof image) ||
        !channel_file(f, subject, mask ? f->masks[label - 1] : f->label_channel, truth, sizeof truth))
        return ie_error_set(IE_ERR_IO, "%s: no image or truth in the dataset", subject);
    if (f->where->pred_subfolders)
        snprintf(pred, sizeof pred, "%s/%s/segmentation.nii.gz", f->where->pred_dir, subject);
    else
        snprintf(pred, sizeof pred, "%s/%s_segmentation.nii.gz", f->where->pred_dir, subject);
    return ie_report_overlay(h, image, truth, mask, pred, mask ? 1 : label, caption);
}

typedef struct ranked {
    int row;
    double dice;
} ranked;

static int by_dice(const void *a, const void *b) {
    const ranked *x = a, *y = b;
    return x->dice < y->dice ? -1 : x->dice > y->dice ? 1 : x->row - y->row;
}

ie_status ie_report_segmentation(ie_html *h, const char *dir, const ie_report_seg_files *where) {
    ie_csv *m = NULL, *agg = NULL;
    IE_TRY(ie_report_csv(dir, "metrics.csv", &m));
    if (!m) return IE_OK;
    int patient = ie_csv_column(m, "Patient"), structure = ie_csv_column(m, "Structure");
    int dice = ie_csv_column(m, "Dice"), split = ie_csv_column(m, "split");
    if (patient < 0 || structure < 0 || dice < 0) {
        ie_csv_free(m);
        return ie_error_set(IE_ERR_IO, "%s/metrics.csv: not a segmentation metrics.csv (needs Patient, Structure, "
                                       "Dice)", dir);
    }
    /* Groups: structure, and the split when the file has one (else all rows
     * are the test set). */
    char groups[MAX_GROUPS][160];
    int n_groups = 0, *group_of = malloc(sizeof(int) * (size_t)(m->n_rows + 1));
    for (int r = 0; group_of && r < m->n_rows; r++) {
        char g[160];
        snprintf(g, sizeof g, "%s%s%s", ie_csv_cell(m, r, structure), split >= 0 ? " " : "",
                 split >= 0 ? ie_csv_cell(m, r, split) : "");
        int k = 0;
        while (k < n_groups && strcmp(groups[k], g) != 0) k++;
        if (k == n_groups && n_groups < MAX_GROUPS) snprintf(groups[n_groups++], sizeof groups[0], "%s", g);
        group_of[r] = k < n_groups ? k : -1;
    }
    ie_html_printf(h, "<h2 id=\"segmentation\">Segmentation: %s</h2>\n<p class=\"note\">metrics.csv: %d rows "
                      "(subject and structure)%s; docs/metrics.md defines each metric.</p>\n<div class=\"plots\">\n",
                   split >= 0 ? "per structure and split" : "test subjects", m->n_rows,
                   split >= 0 ? "" : ", all from the test split");
    for (int b = 0; b < 3; b++) {
        int c = ie_csv_column(m, BOXED[b]);
        if (c < 0) continue;
        double *v = ie_report_column(m, c, NULL, 0);
        ie_plot_box boxes[MAX_GROUPS];
        double *per[MAX_GROUPS];
        for (int g = 0; g < n_groups; g++) {
            per[g] = malloc(sizeof(double) * (size_t)(m->n_rows + 1));
            boxes[g] = (ie_plot_box){.label = groups[g], .values = per[g], .n = 0};
            for (int r = 0; per[g] && v && r < m->n_rows; r++)
                if (group_of[r] == g) per[g][boxes[g].n++] = v[r];
        }
        char id[64];
        snprintf(id, sizeof id, "box:%s", BOXED[b]);
        ie_plot_boxes(h, id, BOXED_LABEL[b], BOXED_LABEL[b], boxes, n_groups);
        for (int g = 0; g < n_groups; g++) free(per[g]);
        free(v);
    }
    ie_html_printf(h, "</div>\n");
    ie_status st = ie_report_csv(dir, "metrics_aggregates.csv", &agg);
    if (st == IE_OK && agg) {
        ie_html_printf(h, "<h3>Per structure (metrics_aggregates.csv)</h3>\n<p class=\"note\">mean and std over "
                          "the finite values; inf_count subjects where a structure is in one map only.</p>\n");
        ie_report_csv_table(h, agg, "metrics_aggregates.csv", NULL, 0);
    }
    /* The worst subjects of each structure by Dice, with their overlays. */
    seg_files f;
    bool have_files = false;
    if (st == IE_OK && where) {
        ie_status fs = seg_files_open(&f, where);
        have_files = fs == IE_OK;
        if (!have_files) {
            ie_html_printf(h, "<p class=\"note\">No overlays: ");
            ie_html_text(h, ie_error_message());
            ie_html_printf(h, "</p>\n");
            seg_files_free(&f);
        }
    }
    ranked *order = malloc(sizeof *order * (size_t)(m->n_rows + 1));
    for (int g = 0; st == IE_OK && order && g < n_groups; g++) {
        int n = 0;
        for (int r = 0; r < m->n_rows; r++) {
            double d = ie_report_number(ie_csv_cell(m, r, dice));
            if (group_of[r] == g && !isnan(d)) order[n++] = (ranked){r, d};
        }
        qsort(order, (size_t)n, sizeof *order, by_dice);
        if (n > WORST) n = WORST;
        int rows[WORST];
        for (int i = 0; i < n; i++) rows[i] = order[i].row;
        ie_html_printf(h, "<h3>The %d worst subjects by Dice: ", n);
        ie_html_text(h, groups[g]);
        ie_html_printf(h, "</h3>\n");
        ie_report_csv_table(h, m, "metrics.csv", rows, n);
        if (have_files)
            ie_html_printf(h, "<p class=\"legend note\"><span style=\"color:#00a000\">&#9632; truth</span>"
                              "<span style=\"color:#ff2828\">&#9632; prediction</span><span style=\"color:#d4b000\">"
                              "&#9632; both</span> contours; slices through the structure's centre, "
                              "square millimetres.</p>\n");
        for (int i = 0; have_files && i < n; i++) {
            char caption[300];
            const char *subject = ie_csv_cell(m, rows[i], patient), *name = ie_csv_cell(m, rows[i], structure);
            snprintf(caption, sizeof caption, "%s, %s: Dice %s", subject, name, ie_csv_cell(m, rows[i], dice));
            ie_html_printf(h, "<div data-subject=\"");
            ie_html_text(h, subject);
            ie_html_printf(h, "\">");
            if (overlay(h, &f, subject, name, caption) != IE_OK) {
                ie_html_printf(h, "<p class=\"note\">No overlay for ");
                ie_html_text(h, caption);
                ie_html_printf(h, ": ");
                ie_html_text(h, ie_error_message());
                ie_html_printf(h, "</p>");
            }
            ie_html_printf(h, "</div>\n");
        }
    }
    if (st == IE_OK) {
        ie_html_printf(h, "<h3>Every subject (metrics.csv)</h3>\n");
        ie_report_csv_table(h, m, "metrics.csv", NULL, 0);
    }
    if (have_files) seg_files_free(&f);
    free(order);
    free(group_of);
    ie_csv_free(agg);
    ie_csv_free(m);
    return st;
}
