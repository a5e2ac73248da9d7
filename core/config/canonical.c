/* core/config - canonical JSON text (the form that is hashed) and the small
 * string buffer the config code builds its messages with. */
#include <locale.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/config/config_impl.h"

/* ---------------------------------------------------------------- strbuf */

static bool sb_reserve(ie_strbuf *sb, size_t extra) {
    if (sb->failed) return false;
    if (sb->len + extra + 1 <= sb->cap) return true;
    size_t cap = sb->cap ? sb->cap : 256;
    while (cap < sb->len + extra + 1) cap *= 2;
    char *p = realloc(sb->data, cap);
    if (!p) {
        sb->failed = true;
        return false;
    }
    sb->data = p;
    sb->cap = cap;
    return true;
}

void ie_sb_appendn(ie_strbuf *sb, const char *s, size_t n) {
    if (!sb_reserve(sb, n)) return;
    memcpy(sb->data + sb->len, s, n);
    sb->len += n;
    sb->data[sb->len] = '\0';
}

void ie_sb_append(ie_strbuf *sb, const char *s) { ie_sb_appendn(sb, s, strlen(s)); }

void ie_sb_printf(ie_strbuf *sb, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0 || !sb_reserve(sb, (size_t)n)) return;
    va_start(ap, fmt);
    vsnprintf(sb->data + sb->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    sb->len += (size_t)n;
}

char *ie_sb_take(ie_strbuf *sb) {
    if (sb->failed) {
        ie_sb_free(sb);
        return NULL;
    }
    char *s = sb->data ? sb->data : strdup("");
    sb->data = NULL;
    sb->len = sb->cap = 0;
    return s;
}

void ie_sb_free(ie_strbuf *sb) {
    free(sb->data);
    sb->data = NULL;
    sb->len = sb->cap = 0;
    sb->failed = false;
}

char *ie_config_path_join(const char *prefix, const char *key) {
    size_t a = strlen(prefix), b = strlen(key);
    char *p = malloc(a + b + 2);
    if (!p) return NULL;
    if (a) {
        memcpy(p, prefix, a);
        p[a++] = '.';
    }
    memcpy(p + a, key, b + 1);
    return p;
}

/* ---------------------------------------------------------------- numbers */

/* Integers (exact in a double) print without fraction or exponent; anything
 * else takes the shortest %.Ng that reads back bit-exactly, with the exponent
 * written "1e-8" rather than "1e-08".  Printing must not follow the C locale's
 * decimal comma, so that the hash is the same everywhere. */
void ie_json_number(double x, char out[32]) {
    if (!isfinite(x)) {
        strcpy(out, "null"); /* JSON has no Inf/NaN; validation refuses them first */
        return;
    }
    if (x == 0) {
        strcpy(out, "0"); /* also -0 */
        return;
    }
    if (x == floor(x) && fabs(x) <= 9007199254740992.0) {
        snprintf(out, 32, "%.0f", x);
        return;
    }
    char buf[40];
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(buf, sizeof buf, "%.*g", prec, x);
        if (strtod(buf, NULL) == x) break;
    }
    const char point = localeconv()->decimal_point[0];
    size_t o = 0;
    for (const char *p = buf; *p && o < 31; p++) {
        if (*p == point && point != '.') {
            out[o++] = '.';
        } else if (*p == 'e') {
            out[o++] = 'e';
            if (p[1] == '+') p++;
            else if (p[1] == '-') out[o++] = *++p;
            while (p[1] == '0' && p[2]) p++;
        } else {
            out[o++] = *p;
        }
    }
    out[o] = '\0';
}

/* ---------------------------------------------------------------- text */

static void write_string(ie_strbuf *sb, const char *s) {
    ie_sb_append(sb, "\"");
    const char *run = s;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        const char *esc = NULL;
        char hex[8];
        switch (*p) {
        case '"': esc = "\\\""; break;
        case '\\': esc = "\\\\"; break;
        case '\b': esc = "\\b"; break;
        case '\f': esc = "\\f"; break;
        case '\n': esc = "\\n"; break;
        case '\r': esc = "\\r"; break;
        case '\t': esc = "\\t"; break;
        default:
            if (*p < 0x20) {
                snprintf(hex, sizeof hex, "\\u%04x", *p);
                esc = hex;
            }
        }
        if (esc) {
            ie_sb_appendn(sb, run, (size_t)((const char *)p - run));
            ie_sb_append(sb, esc);
            run = (const char *)p + 1;
        }
    }
    ie_sb_append(sb, run);
    ie_sb_append(sb, "\"");
}

static int by_key(const void *a, const void *b) {
    return strcmp((*(const cJSON *const *)a)->string, (*(const cJSON *const *)b)->string);
}

static void newline(ie_strbuf *sb, int indent) {
    if (indent < 0) return;
    ie_sb_append(sb, "\n");
    for (int i = 0; i < indent; i++) ie_sb_append(sb, "  ");
}

static bool is_scalar_array(const cJSON *node) {
    for (const cJSON *c = node->child; c; c = c->next)
        if (cJSON_IsObject(c) || cJSON_IsArray(c)) return false;
    return true;
}

static void write_object(ie_strbuf *sb, const cJSON *node, int indent) {
    int n = cJSON_GetArraySize(node);
    if (n == 0) {
        ie_sb_append(sb, "{}");
        return;
    }
    const cJSON **kids = malloc((size_t)n * sizeof *kids);
    if (!kids) {
        sb->failed = true;
        return;
    }
    int k = 0;
    for (const cJSON *c = node->child; c; c = c->next) kids[k++] = c;
    qsort(kids, (size_t)n, sizeof *kids, by_key);
    ie_sb_append(sb, "{");
    for (int i = 0; i < n; i++) {
        if (i) ie_sb_append(sb, ",");
        newline(sb, indent < 0 ? -1 : indent + 1);
        write_string(sb, kids[i]->string);
        ie_sb_append(sb, indent < 0 ? ":" : ": ");
        ie_json_write(sb, kids[i], indent < 0 ? -1 : indent + 1);
    }
    newline(sb, indent);
    ie_sb_append(sb, "}");
    free(kids);
}

static void write_array(ie_strbuf *sb, const cJSON *node, int indent) {
    /* Pretty form keeps short arrays of scalars ([32, 32, 32]) on one line. */
    bool inline_items = indent < 0 || is_scalar_array(node);
    ie_sb_append(sb, "[");
    for (const cJSON *c = node->child; c; c = c->next) {
        if (c != node->child) ie_sb_append(sb, indent >= 0 && inline_items ? ", " : ",");
        if (!inline_items) newline(sb, indent + 1);
        ie_json_write(sb, c, indent < 0 ? -1 : indent + 1);
    }
    if (!inline_items && node->child) newline(sb, indent);
    ie_sb_append(sb, "]");
}

void ie_json_write(ie_strbuf *sb, const cJSON *node, int indent) {
    char num[32];
    if (cJSON_IsObject(node)) {
        write_object(sb, node, indent);
    } else if (cJSON_IsArray(node)) {
        write_array(sb, node, indent);
    } else if (cJSON_IsString(node)) {
        write_string(sb, node->valuestring);
    } else if (cJSON_IsNumber(node)) {
        ie_json_number(node->valuedouble, num);
        ie_sb_append(sb, num);
    } else if (cJSON_IsTrue(node)) {
        ie_sb_append(sb, "true");
    } else if (cJSON_IsFalse(node)) {
        ie_sb_append(sb, "false");
    } else {
        ie_sb_append(sb, "null");
    }
}

void ie_json_describe(ie_strbuf *sb, const cJSON *node) {
    ie_strbuf tmp = {0};
    ie_json_write(&tmp, node, -1);
    if (tmp.failed || !tmp.data) {
        ie_sb_append(sb, "(a value)");
    } else if (tmp.len > 60) {
        size_t cut = 57;
        while (cut > 0 && ((unsigned char)tmp.data[cut] & 0xC0) == 0x80) cut--; /* whole UTF-8 characters */
        ie_sb_appendn(sb, tmp.data, cut);
        ie_sb_append(sb, "...");
    } else {
        ie_sb_append(sb, tmp.data);
    }
    ie_sb_free(&tmp);
}
