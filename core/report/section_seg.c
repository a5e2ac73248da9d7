/* core/report - segmentation results: box plots per structure, every test
 * subject, the worst subjects with overlays. */
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "core/data/data_settings.h"
#include "core/data/dataset.h"
#include "core/report/report_impl.h"
#include "core/util/path.h"
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
    IE_TRY(ie_path_format(path, sizeof path, "%s/config.resolved.json", where->run_dir));
    IE_TRY(ie_config_new(&f->cfg));
    IE_TRY(ie_config_add_file(f->cfg, path));
    IE_TRY(ie_config_resolve(f->cfg));
    ie_data_settings data;
    IE_TRY(ie_data_settings_read(f->cfg, &data));
    IE_TRY(ie_data_settings_check_count("data.image_channels", data.n_image_channels, MAX_GROUPS));
    IE_TRY(ie_data_settings_check_count("data.mask_channels", data.n_mask_channels, MAX_GROUPS));
    IE_TRY(ie_data_settings_check_count("data.classes", data.n_classes, MAX_GROUPS));
    f->image_channel = data.n_image_channels ? data.image_channels[0] : "image";
    f->label_channel = data.label_channel;
    f->n_masks = data.n_mask_channels;
    memcpy(f->masks, data.mask_channels, (size_t)f->n_masks * sizeof *f->masks);
    f->n_classes = data.n_classes;
    memcpy(f->classes, data.classes, (size_t)f->n_classes * sizeof *f->classes);
    cJSON *record = ie_report_json(where->run_dir, "run.json");
    const char *csv = ie_report_json_string(record, "data.dataset_csv", "");
    char csv_path[4200];
    ie_status st = ie_path_format(csv_path, sizeof csv_path, "%s", csv);
    cJSON_Delete(record);
    IE_TRY(st);
    if (!csv_path[0]) return ie_error_set(IE_ERR_IO, "%s/run.json names no dataset", where->run_dir);
    IE_TRY(ie_dataset_load(csv_path, "subject", &f->ds));
    const char *root = data.root;
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
        return ie_dataset_item_file(item, p, out, size) == IE_OK; /* a path too long: as if absent */
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
        IE_TRY(ie_path_format(pred, sizeof pred, "%s/%s/segmentation.nii.gz", f->where->pred_dir, subject));
    else
        IE_TRY(ie_path_format(pred, sizeof pred, "%s/%s_segmentation.nii.gz", f->where->pred_dir, subject));
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

/* The splits a folder's segmentation results can hold, in the order shown:
 * what the trainer writes after training (core/train/trainer.c). */
typedef struct split_files {
    const char *name, *metrics, *aggregates, *predictions;
} split_files;
static const split_files SPLITS[] = {
    {"test", "metrics.csv", "metrics_aggregates.csv", NULL}, /* predictions: where->pred_dir */
    {"val", "val_metrics.csv", "val_metrics_aggregates.csv", "val_predictions"},
};
#define N_SPLITS ((int)(sizeof SPLITS / sizeof SPLITS[0]))

/* One split's metrics file, its rows grouped by structure. */
typedef struct split_table {
    const split_files *split;
    ie_csv *m;
    int patient, structure, dice;
    char groups[MAX_GROUPS][128];
    int n_groups, *group_of;
} split_table;

static ie_status split_open(const char *dir, const split_files *split, split_table *t) {
    memset(t, 0, sizeof *t);
    t->split = split;
    IE_TRY(ie_report_csv(dir, split->metrics, &t->m));
    if (!t->m) return IE_OK;
    t->patient = ie_csv_column(t->m, "Patient");
    t->structure = ie_csv_column(t->m, "Structure");
    t->dice = ie_csv_column(t->m, "Dice");
    if (t->patient < 0 || t->structure < 0 || t->dice < 0)
        return ie_error_set(IE_ERR_IO, "%s/%s: not a segmentation metrics file (needs Patient, Structure, Dice)", dir,
                            split->metrics);
    t->group_of = malloc(sizeof(int) * (size_t)(t->m->n_rows + 1));
    if (!t->group_of) return ie_error_set(IE_ERR_NOMEM, "out of memory");
    for (int r = 0; r < t->m->n_rows; r++) {
        const char *g = ie_csv_cell(t->m, r, t->structure);
        int k = 0;
        while (k < t->n_groups && strcmp(t->groups[k], g) != 0) k++;
        if (k == t->n_groups && t->n_groups < MAX_GROUPS) snprintf(t->groups[t->n_groups++], sizeof t->groups[0], "%s", g);
        t->group_of[r] = k < t->n_groups ? k : -1;
    }
    return IE_OK;
}

static void split_close(split_table *t) {
    ie_csv_free(t->m);
    free(t->group_of);
}

/* Box plots of Dice, HD95 and mean surface distance: one box per structure
 * and split, the splits side by side (one colour each). */
static void box_plots(ie_html *h, split_table *tables, int n_tables) {
    ie_html_printf(h, "<div class=\"plots\">\n");
    for (int b = 0; b < 3; b++) {
        ie_plot_box boxes[MAX_GROUPS];
        double *per[MAX_GROUPS];
        char labels[MAX_GROUPS][160];
        int n_boxes = 0;
        /* Structures in the order of the first file that has them. */
        for (int s = 0; s < n_tables; s++)
            for (int g = 0; g < tables[s].n_groups; g++) {
                const char *structure = tables[s].groups[g];
                bool seen = false;
                for (int e = 0; e < s && !seen; e++)
                    for (int q = 0; q < tables[e].n_groups && !seen; q++) seen = !strcmp(tables[e].groups[q], structure);
                for (int t = s; !seen && t < n_tables && n_boxes < MAX_GROUPS; t++) {
                    int c = ie_csv_column(tables[t].m, BOXED[b]), k = 0;
                    while (k < tables[t].n_groups && strcmp(tables[t].groups[k], structure) != 0) k++;
                    if (c < 0 || k == tables[t].n_groups) continue;
                    double *v = ie_report_column(tables[t].m, c, NULL, 0);
                    per[n_boxes] = malloc(sizeof(double) * (size_t)(tables[t].m->n_rows + 1));
                    snprintf(labels[n_boxes], sizeof labels[0], "%s %s", structure, tables[t].split->name);
                    boxes[n_boxes] = (ie_plot_box){.label = labels[n_boxes], .values = per[n_boxes], .n = 0,
                                                   .file = tables[t].split->metrics, .key = structure,
                                                   .color = (int)(tables[t].split - SPLITS)};
                    for (int r = 0; per[n_boxes] && v && r < tables[t].m->n_rows; r++)
                        if (tables[t].group_of[r] == k) per[n_boxes][boxes[n_boxes].n++] = v[r];
                    free(v);
                    n_boxes++;
                }
            }
        char id[64];
        snprintf(id, sizeof id, "box:%s", BOXED[b]);
        if (n_boxes) ie_plot_boxes(h, id, BOXED_LABEL[b], BOXED_LABEL[b], boxes, n_boxes);
        for (int k = 0; k < n_boxes; k++) free(per[k]);
    }
    ie_html_printf(h, "</div>\n");
}

/* One split's aggregates, its worst subjects by Dice per structure (with
 * overlays when the files are there) and every subject. */
static ie_status split_details(ie_html *h, const char *dir, const split_table *t, seg_files *f, bool have_files) {
    const ie_csv *m = t->m;
    ie_csv *agg = NULL;
    IE_TRY(ie_report_csv(dir, t->split->aggregates, &agg));
    if (agg) {
        ie_html_printf(h, "<h3>%s split, per structure (%s)</h3>\n<p class=\"note\">mean and std over the finite "
                          "values; inf_count subjects where a structure is in one map only.</p>\n",
                       t->split->name, t->split->aggregates);
        ie_report_csv_table(h, agg, t->split->aggregates, NULL, 0);
        ie_csv_free(agg);
    }
    ranked *order = malloc(sizeof *order * (size_t)(m->n_rows + 1));
    if (!order) return ie_error_set(IE_ERR_NOMEM, "out of memory");
    for (int g = 0; g < t->n_groups; g++) {
        int n = 0;
        for (int r = 0; r < m->n_rows; r++) {
            double d = ie_report_number(ie_csv_cell(m, r, t->dice));
            if (t->group_of[r] == g && !isnan(d)) order[n++] = (ranked){r, d};
        }
        qsort(order, (size_t)n, sizeof *order, by_dice);
        if (n > WORST) n = WORST;
        int rows[WORST];
        for (int i = 0; i < n; i++) rows[i] = order[i].row;
        ie_html_printf(h, "<h3>%s split, the %d worst subjects by Dice: ", t->split->name, n);
        ie_html_text(h, t->groups[g]);
        ie_html_printf(h, "</h3>\n");
        ie_report_csv_table(h, m, t->split->metrics, rows, n);
        if (have_files)
            ie_html_printf(h, "<p class=\"legend note\"><span style=\"color:#00a000\">&#9632; truth</span>"
                              "<span style=\"color:#ff2828\">&#9632; prediction</span><span style=\"color:#d4b000\">"
                              "&#9632; both</span> contours; slices through the structure's centre, "
                              "square millimetres.</p>\n");
        for (int i = 0; have_files && i < n; i++) {
            char caption[300];
            const char *subject = ie_csv_cell(m, rows[i], t->patient), *name = ie_csv_cell(m, rows[i], t->structure);
            snprintf(caption, sizeof caption, "%s, %s: Dice %s", subject, name, ie_csv_cell(m, rows[i], t->dice));
            ie_html_printf(h, "<div data-subject=\"");
            ie_html_text(h, subject);
            ie_html_printf(h, "\">");
            if (overlay(h, f, subject, name, caption) != IE_OK) {
                ie_html_printf(h, "<p class=\"note\">No overlay for ");
                ie_html_text(h, caption);
                ie_html_printf(h, ": ");
                ie_html_text(h, ie_error_message());
                ie_html_printf(h, "</p>");
            }
            ie_html_printf(h, "</div>\n");
        }
    }
    free(order);
    ie_html_printf(h, "<h3>%s split, every subject (%s)</h3>\n", t->split->name, t->split->metrics);
    ie_report_csv_table(h, m, t->split->metrics, NULL, 0);
    return IE_OK;
}

ie_status ie_report_segmentation(ie_html *h, const char *dir, const ie_report_seg_files *where) {
    split_table tables[N_SPLITS];
    int n_tables = 0;
    ie_status st = IE_OK;
    for (int s = 0; st == IE_OK && s < N_SPLITS; s++) {
        st = split_open(dir, &SPLITS[s], &tables[n_tables]);
        if (tables[n_tables].m) n_tables++;
        else split_close(&tables[n_tables]);
    }
    if (st != IE_OK || n_tables == 0) {
        for (int s = 0; s < n_tables; s++) split_close(&tables[s]);
        return st;
    }
    ie_html_printf(h, "<h2 id=\"segmentation\">Segmentation: per structure and split</h2>\n<p class=\"note\">");
    for (int s = 0; s < n_tables; s++)
        ie_html_printf(h, "%s%s split: %s, %d rows (subject and structure)", s ? "; " : "", tables[s].split->name,
                       tables[s].split->metrics, tables[s].m->n_rows);
    ie_html_printf(h, ". docs/metrics.md defines each metric.</p>\n");
    box_plots(h, tables, n_tables);
    for (int s = 0; st == IE_OK && s < n_tables; s++) {
        /* Overlays need the dataset (the run's config) and the split's predictions. */
        char pred[4200];
        ie_report_seg_files split_where = where ? *where : (ie_report_seg_files){0};
        if (tables[s].split->predictions) {
            st = ie_path_join(pred, sizeof pred, dir, tables[s].split->predictions);
            if (st != IE_OK) break;
            split_where.pred_dir = pred;
            split_where.pred_subfolders = false;
        }
        seg_files f;
        bool have_files = false;
        if (where) {
            have_files = seg_files_open(&f, &split_where) == IE_OK;
            if (!have_files) {
                ie_html_printf(h, "<p class=\"note\">No overlays: ");
                ie_html_text(h, ie_error_message());
                ie_html_printf(h, "</p>\n");
                seg_files_free(&f);
            }
        }
        st = split_details(h, dir, &tables[s], &f, have_files);
        if (have_files) seg_files_free(&f);
    }
    for (int s = 0; s < n_tables; s++) split_close(&tables[s]);
    return st;
}
