/* core/util - the RFC 4180 CSV reader (rules in csv.h). */
#include "core/util/csv.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "core/util/strmap.h"

typedef struct ptr_vec {
    const char **data;
    size_t count, capacity;
} ptr_vec;

static ie_status ptr_push(ptr_vec *v, const char *p) {
    if (v->count == v->capacity) {
        size_t cap = v->capacity ? v->capacity * 2 : 64;
        const char **d = realloc(v->data, cap * sizeof *d);
        if (!d) return ie_error_set(IE_ERR_NOMEM, "csv: out of memory for %zu fields", cap);
        v->data = d;
        v->capacity = cap;
    }
    v->data[v->count++] = p;
    return IE_OK;
}

typedef struct parser {
    const char *p, *end;
    int line;
    const char *name;
    char *out; /* next free byte of the unescaped text */
} parser;

/* Length of the line break at p (0 when there is none). */
static int line_break(const parser *ps, const char *p) {
    if (p >= ps->end) return 0;
    if (*p == '\n') return 1;
    if (*p == '\r') return (p + 1 < ps->end && p[1] == '\n') ? 2 : 1;
    return 0;
}

/* Skips lines that are empty or hold only spaces and tabs; false at the end. */
static bool skip_blank_lines(parser *ps) {
    for (;;) {
        const char *q = ps->p;
        while (q < ps->end && (*q == ' ' || *q == '\t')) q++;
        if (q >= ps->end) {
            ps->p = q;
            return false;
        }
        int br = line_break(ps, q);
        if (!br) return true;
        ps->p = q + br;
        ps->line++;
    }
}

static ie_status quoted_field(parser *ps, int field) {
    int start_line = ps->line;
    ps->p++; /* the opening quote */
    for (;;) {
        if (ps->p >= ps->end)
            return ie_error_set(IE_ERR_IO,
                                "%s:%d: field %d opens a quote that is never closed (a quoted field "
                                "ends with '\"'; write a quote inside it as '\"\"')",
                                ps->name, start_line, field + 1);
        char c = *ps->p;
        if (c == '"') {
            if (ps->p + 1 < ps->end && ps->p[1] == '"') {
                *ps->out++ = '"';
                ps->p += 2;
                continue;
            }
            ps->p++;
            break;
        }
        if (c == '\n' || (c == '\r' && !(ps->p + 1 < ps->end && ps->p[1] == '\n'))) ps->line++;
        *ps->out++ = c;
        ps->p++;
    }
    if (ps->p < ps->end && *ps->p != ',' && !line_break(ps, ps->p))
        return ie_error_set(IE_ERR_IO,
                            "%s:%d: text after the closing quote of field %d (quote the whole field "
                            "and write inner quotes as '\"\"')",
                            ps->name, ps->line, field + 1);
    return IE_OK;
}

/* Parses one record into `fields`; *n gets its field count. */
static ie_status record(parser *ps, ptr_vec *fields, int *n) {
    int count = 0;
    for (;;) {
        const char *start = ps->out;
        if (ps->p < ps->end && *ps->p == '"') {
            IE_TRY(quoted_field(ps, count));
        } else {
            while (ps->p < ps->end && *ps->p != ',' && *ps->p != '\n' && *ps->p != '\r') *ps->out++ = *ps->p++;
        }
        *ps->out++ = '\0';
        IE_TRY(ptr_push(fields, start));
        count++;
        if (ps->p < ps->end && *ps->p == ',') {
            ps->p++;
            continue;
        }
        int br = line_break(ps, ps->p);
        ps->p += br;
        if (br) ps->line++;
        break;
    }
    *n = count;
    return IE_OK;
}

static ie_status check_header(const ie_csv *csv) {
    ie_strmap seen;
    IE_TRY(ie_strmap_init(&seen, (size_t)csv->n_columns));
    ie_status st = IE_OK;
    for (int c = 0; c < csv->n_columns && st == IE_OK; c++) {
        if (!csv->header[c][0]) {
            st = ie_error_set(IE_ERR_IO, "%s:%d: column %d of the header has no name", csv->name,
                              csv->header_line, c + 1);
            break;
        }
        int before = -1;
        st = ie_strmap_put(&seen, csv->header[c], c, &before);
        if (st == IE_OK && before >= 0)
            st = ie_error_set(IE_ERR_IO, "%s:%d: the header names column '%s' twice (columns %d and %d)",
                              csv->name, csv->header_line, csv->header[c], before + 1, c + 1);
    }
    ie_strmap_free(&seen);
    return st;
}

static ie_status parse_records(parser *ps, ie_csv *csv) {
    ptr_vec fields = {0};
    int *lines = NULL;
    size_t lines_cap = 0;
    ie_status st = IE_OK;
    int n_records = 0;
    while (st == IE_OK && skip_blank_lines(ps)) {
        int line = ps->line, n = 0;
        st = record(ps, &fields, &n);
        if (st != IE_OK) break;
        if (n_records == 0) {
            csv->n_columns = n;
            csv->header_line = line;
        } else if (n != csv->n_columns) {
            st = ie_error_set(IE_ERR_IO, "%s:%d: this row has %d field%s, the header (line %d) has %d; add or remove "
                              "fields, or quote a field that holds a comma", ps->name, line, n, n == 1 ? "" : "s",
                              csv->header_line, csv->n_columns);
            break;
        } else {
            if ((size_t)n_records > lines_cap) {
                lines_cap = lines_cap ? lines_cap * 2 : 64;
                int *l = realloc(lines, lines_cap * sizeof *l);
                if (!l) {
                    st = ie_error_set(IE_ERR_NOMEM, "csv: out of memory for %zu line numbers", lines_cap);
                    break;
                }
                lines = l;
            }
            lines[n_records - 1] = line;
        }
        n_records++;
    }
    if (st == IE_OK && n_records == 0)
        st = ie_error_set(IE_ERR_IO, "%s: the file is empty; a CSV file needs a header row, for example "
                          "'subject,filePath,channel'", ps->name);
    if (st != IE_OK) {
        free(fields.data);
        free(lines);
        return st;
    }
    csv->header = fields.data;
    csv->cells = fields.data + csv->n_columns;
    csv->n_rows = n_records - 1;
    csv->lines = lines;
    return IE_OK;
}

static int line_of_offset(const char *text, size_t offset) {
    int line = 1;
    for (size_t i = 0; i < offset; i++)
        if (text[i] == '\n' || (text[i] == '\r' && !(i + 1 < offset && text[i + 1] == '\n'))) line++;
    return line;
}

ie_status ie_csv_parse(const char *text, size_t len, const char *name, ie_csv **out) {
    if (!out) return ie_error_set(IE_ERR_INVALID_ARG, "csv: out is NULL");
    *out = NULL;
    if (!text && len) return ie_error_set(IE_ERR_INVALID_ARG, "csv: text is NULL");
    if (!name) name = "<csv>";
    const char *nul = len ? memchr(text, '\0', len) : NULL;
    if (nul)
        return ie_error_set(IE_ERR_IO, "%s:%d: contains a NUL byte; is this a text CSV file?", name,
                            line_of_offset(text, (size_t)(nul - text)));
    ie_csv *csv = calloc(1, sizeof *csv);
    if (!csv) return ie_error_set(IE_ERR_NOMEM, "csv: out of memory");
    csv->name = strdup(name);
    /* Unescaping only shrinks a field and each field adds one NUL, and there
     * are at most len + 1 fields. */
    csv->text = malloc(2 * len + 2);
    if (!csv->name || !csv->text) {
        ie_csv_free(csv);
        return ie_error_set(IE_ERR_NOMEM, "csv: out of memory for %zu bytes of text", len);
    }
    parser ps = {.p = text, .end = text + len, .line = 1, .name = csv->name, .out = csv->text};
    if (len >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0) ps.p += 3;
    ie_status st = parse_records(&ps, csv);
    if (st == IE_OK) st = check_header(csv);
    if (st != IE_OK) {
        ie_csv_free(csv);
        return st;
    }
    *out = csv;
    return IE_OK;
}

ie_status ie_csv_read(const char *path, ie_csv **out) {
    if (!out) return ie_error_set(IE_ERR_INVALID_ARG, "csv: out is NULL");
    *out = NULL;
    if (!path) return ie_error_set(IE_ERR_INVALID_ARG, "csv: path is NULL");
    FILE *f = fopen(path, "rb");
    if (!f) return ie_error_set(IE_ERR_IO, "cannot open '%s': %s", path, strerror(errno));
    size_t len = 0, cap = 1 << 16;
    char *buf = malloc(cap);
    ie_status st = buf ? IE_OK : ie_error_set(IE_ERR_NOMEM, "csv: out of memory reading '%s'", path);
    while (st == IE_OK) {
        if (len == cap) {
            char *b = realloc(buf, cap * 2);
            if (!b) {
                st = ie_error_set(IE_ERR_NOMEM, "csv: out of memory reading '%s' (%zu bytes)", path, cap * 2);
                break;
            }
            buf = b;
            cap *= 2;
        }
        size_t got = fread(buf + len, 1, cap - len, f);
        len += got;
        if (got == 0) {
            if (ferror(f)) st = ie_error_set(IE_ERR_IO, "cannot read '%s': %s", path, strerror(errno));
            break;
        }
    }
    fclose(f);
    if (st == IE_OK) st = ie_csv_parse(buf, len, path, out);
    free(buf);
    return st;
}

void ie_csv_free(ie_csv *csv) {
    if (!csv) return;
    free(csv->name);
    free(csv->header); /* cells live in the same block */
    free(csv->lines);
    free(csv->text);
    free(csv);
}

int ie_csv_column(const ie_csv *csv, const char *name) {
    for (int c = 0; c < csv->n_columns; c++)
        if (strcmp(csv->header[c], name) == 0) return c;
    return -1;
}

void ie_csv_write_field(FILE *f, const char *text) {
    size_t n = strlen(text);
    bool quote = strpbrk(text, ",\"\r\n") != NULL ||
                 (n > 0 && (text[0] == ' ' || text[0] == '\t' || text[n - 1] == ' ' || text[n - 1] == '\t'));
    if (!quote) {
        fputs(text, f);
        return;
    }
    fputc('"', f);
    for (const char *p = text; *p; p++) {
        if (*p == '"') fputc('"', f);
        fputc(*p, f);
    }
    fputc('"', f);
}
