/* core/report - reading a run's files for the report. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include <cjson/cJSON.h>

#include "core/report/report_impl.h"
#include "core/util/file_util.h"
#include "core/util/path.h"

double ie_report_number(const char *text) {
    if (!text || !text[0]) return NAN;
    char *end;
    double v = strtod(text, &end); /* strtod reads nan, inf and -inf as the files write them */
    return *end ? NAN : v;
}

bool ie_report_has(const char *dir, const char *name) {
    char path[4200];
    struct stat s;
    return ie_path_join(path, sizeof path, dir, name) == IE_OK && stat(path, &s) == 0;
}

ie_status ie_report_csv(const char *dir, const char *name, ie_csv **csv) {
    *csv = NULL;
    if (!ie_report_has(dir, name)) return IE_OK;
    char path[4200];
    IE_TRY(ie_path_join(path, sizeof path, dir, name));
    return ie_csv_read(path, csv);
}

cJSON *ie_report_json(const char *dir, const char *name) {
    char path[4200], *text = NULL;
    if (ie_path_join(path, sizeof path, dir, name) != IE_OK || !ie_report_has(dir, name) ||
        ie_read_file(path, &text, NULL) != IE_OK)
        return NULL;
    cJSON *j = cJSON_Parse(text);
    free(text);
    return j;
}

void ie_report_csv_table(ie_html *h, const ie_csv *csv, const char *file, const int *rows, int n_rows) {
    ie_html_printf(h, "<table data-file=\"");
    ie_html_text(h, file);
    ie_html_printf(h, "\">\n");
    ie_html_row(h, csv->header, csv->n_columns, 1);
    int n = rows ? n_rows : csv->n_rows;
    for (int i = 0; i < n; i++) {
        int r = rows ? rows[i] : i;
        ie_html_printf(h, "<tr>");
        for (int c = 0; c < csv->n_columns; c++) {
            const char *cell = ie_csv_cell(csv, r, c);
            char *end;
            strtod(cell, &end);
            ie_html_printf(h, cell[0] && !*end ? "<td class=\"num\">" : "<td>");
            ie_html_text(h, cell);
            ie_html_printf(h, "</td>");
        }
        ie_html_printf(h, "</tr>\n");
    }
    ie_html_printf(h, "</table>\n");
}

double *ie_report_column(const ie_csv *csv, int column, const int *rows, int n_rows) {
    int n = rows ? n_rows : csv->n_rows;
    double *v = malloc(sizeof *v * (size_t)(n + 1));
    for (int i = 0; v && i < n; i++) v[i] = ie_report_number(ie_csv_cell(csv, rows ? rows[i] : i, column));
    return v;
}

const char *ie_report_json_string(const cJSON *j, const char *path, const char *fallback) {
    char key[256];
    const cJSON *node = j;
    for (const char *p = path; node && *p;) {
        size_t n = strcspn(p, ".");
        snprintf(key, sizeof key, "%.*s", (int)n, p);
        node = cJSON_GetObjectItemCaseSensitive(node, key);
        p += n + (p[n] == '.');
    }
    const char *s = cJSON_GetStringValue(node);
    return s ? s : fallback;
}
