/* core/report - building one self-contained HTML page in memory: escaped
 * text, tables, collapsible blocks, pictures embedded as data: URIs.  The
 * page loads nothing from anywhere (no scripts, fonts or style sheets from
 * outside), so it opens offline, from an e-mail or an artifact store alike.
 *
 * Numbers read from a run's files are written as the file spells them
 * (ie_html_text of the CSV cell), never re-formatted, so what a reader sees
 * is what the file says (tests/cli/check_report.py checks it). */
#ifndef IE_CORE_REPORT_HTML_H
#define IE_CORE_REPORT_HTML_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "innereye/status.h"

typedef struct ie_html {
    FILE *f; /* an open_memstream of buf */
    char *buf;
    size_t size;
} ie_html;

/* Starts a page: <head> with the title and the inline style sheet. */
ie_status ie_html_begin(ie_html *h, const char *title);
void ie_html_printf(ie_html *h, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Text with &, <, >, " escaped. */
void ie_html_text(ie_html *h, const char *text);
/* <img> of PNG bytes as a data: URI; width/height are the image's pixels. */
void ie_html_png(ie_html *h, const uint8_t *png, size_t size, int width, int height, const char *alt);
/* A table row of cells (th when header): each cell's text escaped. */
void ie_html_row(ie_html *h, const char *const *cells, int n, int header);
/* Ends the page and writes it to path atomically (never half a file);
 * discards the page on failure too. */
ie_status ie_html_commit(ie_html *h, const char *path);
void ie_html_discard(ie_html *h);

#endif
