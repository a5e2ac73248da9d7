/* core/report - the HTML page in memory. */
#include "core/report/html.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "core/util/file_util.h"

/* One style sheet for every report: readable without any of it too. */
static const char *const STYLE =
    "body{font-family:sans-serif;margin:1.5em auto;max-width:1200px;color:#222;padding:0 1em}"
    "h1{font-size:1.5em}h2{font-size:1.25em;border-bottom:1px solid #ccc;margin-top:1.6em}h3{font-size:1.05em}"
    "table{border-collapse:collapse;margin:.5em 0;font-size:.85em;display:block;overflow-x:auto;max-width:100%}"
    "td,th{border:1px solid #ccc;padding:2px 6px;text-align:left;vertical-align:top}"
    "th{background:#f2f2f2}td.num{text-align:right;font-variant-numeric:tabular-nums}"
    "tr.bad td{background:#fde8e8}"
    ".plots{display:flex;flex-wrap:wrap;gap:12px}.plots svg{border:1px solid #eee}"
    ".thumbs{display:flex;gap:6px;align-items:flex-end}.thumbs figure{margin:0;text-align:center;font-size:.75em}"
    "img{image-rendering:pixelated}pre{background:#f7f7f7;padding:.5em;overflow-x:auto;font-size:.8em}"
    "details{margin:.5em 0}.note{color:#666;font-size:.85em}"
    ".legend span{display:inline-block;margin-right:1em}";

ie_status ie_html_begin(ie_html *h, const char *title) {
    memset(h, 0, sizeof *h);
    h->f = open_memstream(&h->buf, &h->size);
    if (!h->f) return ie_error_set(IE_ERR_NOMEM, "report: out of memory");
    ie_html_printf(h, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>");
    ie_html_text(h, title);
    ie_html_printf(h, "</title>\n<style>%s</style>\n</head>\n<body>\n", STYLE);
    return IE_OK;
}

void ie_html_printf(ie_html *h, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vfprintf(h->f, fmt, ap);
    va_end(ap);
}

void ie_html_text(ie_html *h, const char *text) {
    for (const char *p = text ? text : ""; *p; p++) {
        switch (*p) {
        case '&': fputs("&amp;", h->f); break;
        case '<': fputs("&lt;", h->f); break;
        case '>': fputs("&gt;", h->f); break;
        case '"': fputs("&quot;", h->f); break;
        default: fputc(*p, h->f);
        }
    }
}

void ie_html_png(ie_html *h, const uint8_t *png, size_t size, int width, int height, const char *alt) {
    static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    ie_html_printf(h, "<img width=\"%d\" height=\"%d\" alt=\"", width, height);
    ie_html_text(h, alt);
    ie_html_printf(h, "\" src=\"data:image/png;base64,");
    for (size_t i = 0; i < size; i += 3) {
        uint32_t v = (uint32_t)png[i] << 16 | (i + 1 < size ? (uint32_t)png[i + 1] << 8 : 0) |
                     (i + 2 < size ? png[i + 2] : 0);
        char out[4] = {b64[v >> 18 & 63], b64[v >> 12 & 63], i + 1 < size ? b64[v >> 6 & 63] : '=',
                       i + 2 < size ? b64[v & 63] : '='};
        fwrite(out, 1, 4, h->f);
    }
    ie_html_printf(h, "\">");
}

void ie_html_row(ie_html *h, const char *const *cells, int n, int header) {
    ie_html_printf(h, "<tr>");
    for (int i = 0; i < n; i++) {
        ie_html_printf(h, header ? "<th>" : "<td>");
        ie_html_text(h, cells[i]);
        ie_html_printf(h, header ? "</th>" : "</td>");
    }
    ie_html_printf(h, "</tr>\n");
}

ie_status ie_html_commit(ie_html *h, const char *path) {
    ie_html_printf(h, "</body>\n</html>\n");
    ie_status st = ie_write_stream_atomic(h->f, &h->buf, &h->size, path);
    h->f = NULL;
    h->buf = NULL;
    return st;
}

void ie_html_discard(ie_html *h) {
    if (h->f) fclose(h->f);
    free(h->buf);
    h->f = NULL;
    h->buf = NULL;
}
