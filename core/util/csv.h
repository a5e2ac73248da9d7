/* core/util - reading CSV files (RFC 4180) into a table of strings.
 *
 * Accepted input:
 *   - the first non-blank record is the header; every later record must have
 *     as many fields as the header (else an error naming file:line);
 *   - fields may be quoted with '"'; inside quotes commas, line breaks and
 *     doubled quotes ("") are literal text; after a closing quote only a comma
 *     or a line end may follow;
 *   - an unquoted field is taken verbatim up to the next comma or line end
 *     (spaces are kept, a stray '"' inside it is literal text);
 *   - lines end with LF, CRLF or a lone CR; a UTF-8 byte order mark at the
 *     start is skipped; lines that are empty or hold only spaces and tabs are
 *     ignored; the last line needs no line end.
 *   - header names must be non-empty and distinct.
 * Line numbers in messages are 1-based physical lines (a record whose quoted
 * field spans lines is reported at the line where it starts). */
#ifndef IE_CORE_UTIL_CSV_H
#define IE_CORE_UTIL_CSV_H

#include <stddef.h>
#include <stdio.h>

#include "innereye/status.h"

typedef struct ie_csv {
    char *name;           /* the file name used in messages */
    int n_columns;
    const char **header;  /* n_columns names */
    int header_line;
    int n_rows;
    const char **cells;   /* n_rows x n_columns, row-major */
    int *lines;           /* n_rows: line where each row starts */
    char *text;           /* unescaped field text that header and cells point into */
} ie_csv;

/* Parses len bytes of text; `name` (copied) is what messages call the input. */
ie_status ie_csv_parse(const char *text, size_t len, const char *name, ie_csv **out);
/* Reads and parses a file; messages name `path`. */
ie_status ie_csv_read(const char *path, ie_csv **out);
void ie_csv_free(ie_csv *csv);

/* Index of the column called `name`, or -1. */
int ie_csv_column(const ie_csv *csv, const char *name);
static inline const char *ie_csv_cell(const ie_csv *csv, int row, int column) {
    return csv->cells[(size_t)row * (size_t)csv->n_columns + (size_t)column];
}

/* Writes `text` to f as one CSV field, quoting it when it holds a comma, a
 * quote, a line break or leading/trailing spaces. */
void ie_csv_write_field(FILE *f, const char *text);

#endif
