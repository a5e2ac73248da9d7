/* tests - a reader for the YAML subset `innereye submit azureml` writes, into
 * a cJSON tree, so tests can check the job specifications field by field.
 *
 * Accepted: full-line comments; "key: value" and "key:" opening a block
 * indented deeper; values plain (numbers become numbers), double-quoted
 * (with \" \\ \n escapes) or flow sequences "[a, "b", 3]".  Anything else
 * (block sequences, anchors, multi-line scalars) fails with the line number,
 * so the writer cannot drift into YAML this reader would misread. */
#ifndef IE_TESTS_YAML_SUBSET_H
#define IE_TESTS_YAML_SUBSET_H

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

static cJSON *yaml_scalar(const char *s, int line, char *err, size_t err_size) {
    if (*s == '"') {
        char buf[8192];
        size_t j = 0;
        const char *p = s + 1;
        for (; *p && *p != '"' && j + 1 < sizeof buf; p++) {
            if (*p == '\\') {
                p++;
                buf[j++] = *p == 'n' ? '\n' : *p;
            } else {
                buf[j++] = *p;
            }
        }
        buf[j] = '\0';
        if (*p != '"' || p[1]) {
            snprintf(err, err_size, "line %d: unterminated or trailing text after a quoted scalar", line);
            return NULL;
        }
        return cJSON_CreateString(buf);
    }
    if (*s == '[') {
        size_t n = strlen(s);
        if (s[n - 1] != ']') {
            snprintf(err, err_size, "line %d: flow sequence without ']'", line);
            return NULL;
        }
        cJSON *arr = cJSON_CreateArray();
        char *inner = strndup(s + 1, n - 2), *save = NULL;
        for (char *tok = strtok_r(inner, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
            while (*tok == ' ') tok++;
            size_t m = strlen(tok);
            while (m && tok[m - 1] == ' ') tok[--m] = '\0';
            cJSON *item = yaml_scalar(tok, line, err, err_size);
            if (!item) {
                free(inner);
                cJSON_Delete(arr);
                return NULL;
            }
            cJSON_AddItemToArray(arr, item);
        }
        free(inner);
        return arr;
    }
    if (*s && (strchr("&*!|>{", *s) || (*s == '-' && !isdigit((unsigned char)s[1])))) {
        snprintf(err, err_size, "line %d: '%c' starts YAML this subset does not accept", line, *s);
        return NULL;
    }
    char *end;
    double v = strtod(s, &end);
    if (*s && !*end) return cJSON_CreateNumber(v);
    return cJSON_CreateString(s);
}

/* Parses text; NULL with err filled on anything outside the subset. */
static cJSON *yaml_parse(const char *text, char *err, size_t err_size) {
    cJSON *root = cJSON_CreateObject();
    cJSON *stack[32] = {root};
    int indents[32] = {-1}, depth = 0, line_no = 0;
    const char *p = text;
    while (*p) {
        const char *eol = strchr(p, '\n');
        size_t len = eol ? (size_t)(eol - p) : strlen(p);
        char line[8192];
        snprintf(line, sizeof line, "%.*s", (int)len, p);
        p = eol ? eol + 1 : p + len;
        line_no++;
        int indent = 0;
        while (line[indent] == ' ') indent++;
        char *s = line + indent;
        if (!*s || *s == '#') continue;
        if (line[indent] == '\t') {
            snprintf(err, err_size, "line %d: tab indentation", line_no);
            goto fail;
        }
        char *colon = strstr(s, ": ");
        size_t klen = colon ? (size_t)(colon - s) : strlen(s);
        if (!colon && s[klen - 1] != ':') {
            snprintf(err, err_size, "line %d: expected 'key: value' or 'key:'", line_no);
            goto fail;
        }
        if (!colon) klen--;
        char key[512];
        snprintf(key, sizeof key, "%.*s", (int)klen, s);
        while (depth > 0 && indent <= indents[depth]) depth--;
        cJSON *parent = stack[depth];
        if (!cJSON_IsObject(parent) || cJSON_GetObjectItem(parent, key)) {
            snprintf(err, err_size, "line %d: key %.200s repeated or misplaced", line_no, key);
            goto fail;
        }
        if (colon) {
            cJSON *value = yaml_scalar(colon + 2, line_no, err, err_size);
            if (!value) goto fail;
            cJSON_AddItemToObject(parent, key, value);
        } else {
            if (depth == 31) goto fail;
            cJSON *child = cJSON_AddObjectToObject(parent, key);
            stack[++depth] = child;
            indents[depth] = indent;
        }
    }
    return root;
fail:
    cJSON_Delete(root);
    return NULL;
}

/* The node at a dotted path ("trial.environment.build.path"). */
static const cJSON *yaml_get(const cJSON *root, const char *path) {
    char buf[512];
    snprintf(buf, sizeof buf, "%s", path);
    const cJSON *node = root;
    char *save = NULL;
    for (char *k = strtok_r(buf, ".", &save); k && node; k = strtok_r(NULL, ".", &save))
        node = cJSON_GetObjectItemCaseSensitive(node, k);
    return node;
}

/* A number at path, NaN when missing or not a number. */
static double yaml_num(const cJSON *root, const char *path) {
    const cJSON *n = yaml_get(root, path);
    return cJSON_IsNumber(n) ? n->valuedouble : NAN;
}

static const char *yaml_str(const cJSON *root, const char *path) {
    const char *s = cJSON_GetStringValue(yaml_get(root, path));
    return s ? s : "";
}

#endif
