/* core/config - config files: reading, JSON syntax errors with line and
 * column, "extends" chains (search order, cycles), and the RFC 7396 merge that
 * records which file set each key. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/config/config_impl.h"

#define IE_CONFIG_MAX_EXTENDS_DEPTH 64
/* Configs are a few KB.  Far larger ones are mistakes (a subject list that
 * belongs in the dataset CSV, a generated file) and cost memory and time out
 * of all proportion (a 53 MB config took 2.1 GB and 23 s; an object of 200 000
 * keys minutes), so they are refused before parsing. */
#define IE_CONFIG_MAX_BYTES (4 << 20)
#define IE_CONFIG_MAX_KEYS 4096 /* in one object */

/* ---------------------------------------------------------------- provenance */

ie_status ie_config_layer_init(ie_config_layer *layer) {
    layer->tree = cJSON_CreateObject();
    layer->prov = cJSON_CreateObject();
    if (!layer->tree || !layer->prov) {
        ie_config_layer_clear(layer);
        return ie_error_set(IE_ERR_NOMEM, "config: out of memory");
    }
    return IE_OK;
}

void ie_config_layer_clear(ie_config_layer *layer) {
    cJSON_Delete(layer->tree);
    cJSON_Delete(layer->prov);
    layer->tree = layer->prov = NULL;
}

static bool path_covers(const char *prefix, const char *path) {
    size_t n = strlen(prefix);
    return n == 0 || (strncmp(prefix, path, n) == 0 && (path[n] == '\0' || path[n] == '.'));
}

const char *ie_config_prov_lookup(const cJSON *prov, const char *path) {
    const char *best = NULL;
    size_t best_len = 0;
    for (const cJSON *e = prov ? prov->child : NULL; e; e = e->next) {
        size_t n = strlen(e->string);
        if (path_covers(e->string, path) && (!best || n >= best_len)) {
            best = e->valuestring;
            best_len = n;
        }
    }
    return best;
}

static void prov_remove_under(cJSON *prov, const char *path) {
    cJSON *e = prov->child;
    while (e) {
        cJSON *next = e->next;
        if (*path && path_covers(path, e->string)) cJSON_Delete(cJSON_DetachItemViaPointer(prov, e));
        e = next;
    }
}

ie_status ie_config_prov_set(cJSON *prov, const char *path, const char *source) {
    prov_remove_under(prov, path);
    if (!cJSON_AddStringToObject(prov, path, source ? source : "?"))
        return ie_error_set(IE_ERR_NOMEM, "config: out of memory");
    return IE_OK;
}

/* ---------------------------------------------------------------- merge */

static ie_status merge_object(cJSON *dst, cJSON *dprov, const cJSON *src, const cJSON *sprov,
                              const char *prefix) {
    ie_status st = IE_OK;
    for (const cJSON *c = src->child; c && st == IE_OK; c = c->next) {
        char *path = ie_config_path_join(prefix, c->string);
        if (!path) return ie_error_set(IE_ERR_NOMEM, "config: out of memory");
        cJSON *d = cJSON_GetObjectItemCaseSensitive(dst, c->string);
        if (cJSON_IsNull(c)) {
            /* null deletes: the key falls back to its default */
            if (d) cJSON_DeleteItemFromObjectCaseSensitive(dst, c->string);
            prov_remove_under(dprov, path);
        } else if (cJSON_IsObject(d) && cJSON_IsObject(c)) {
            st = merge_object(d, dprov, c, sprov, path);
        } else {
            cJSON *copy = cJSON_IsObject(c) ? cJSON_CreateObject() : cJSON_Duplicate(c, 1);
            if (!copy) {
                free(path);
                return ie_error_set(IE_ERR_NOMEM, "config: out of memory");
            }
            /* ReplaceItemInObject names the new item; ReplaceItemViaPointer
             * would leave a fresh object (a section set over a value, e.g.
             * --set run=x then --threads 2) without a key. */
            if (d) cJSON_ReplaceItemInObjectCaseSensitive(dst, c->string, copy);
            else cJSON_AddItemToObject(dst, c->string, copy);
            st = ie_config_prov_set(dprov, path, ie_config_prov_lookup(sprov, path));
            /* A fresh object is filled through the merge too, so that nulls
             * inside it vanish and each leaf gets its own provenance. */
            if (st == IE_OK && cJSON_IsObject(c)) st = merge_object(copy, dprov, c, sprov, path);
        }
        free(path);
    }
    return st;
}

ie_status ie_config_merge(ie_config_layer *dst, const ie_config_layer *src) {
    return merge_object(dst->tree, dst->prov, src->tree, src->prov, "");
}

cJSON *ie_config_find(const cJSON *root, const char *path) {
    const cJSON *node = root;
    const char *p = path;
    while (node && *p) {
        const char *dot = strchr(p, '.');
        size_t n = dot ? (size_t)(dot - p) : strlen(p);
        if (!cJSON_IsObject(node)) return NULL;
        const cJSON *found = NULL;
        for (const cJSON *c = node->child; c; c = c->next)
            if (strlen(c->string) == n && strncmp(c->string, p, n) == 0) {
                found = c;
                break;
            }
        node = found;
        p = dot ? dot + 1 : p + n;
    }
    return (cJSON *)node;
}

/* ---------------------------------------------------------------- parsing */

static ie_status read_text_file(const char *path, char **out) {
    FILE *f = fopen(path, "rb");
    if (!f)
        return ie_error_set(IE_ERR_IO, "config: cannot open %s: %s; check the path given to --config", path,
                            strerror(errno));
    struct stat st;
    if (fstat(fileno(f), &st) == 0 && S_ISDIR(st.st_mode)) {
        fclose(f);
        return ie_error_set(IE_ERR_IO, "config: %s is a folder, not a file; give the config's JSON file", path);
    }
    if (fstat(fileno(f), &st) == 0 && st.st_size > IE_CONFIG_MAX_BYTES) {
        fclose(f);
        return ie_error_set(IE_ERR_CONFIG, "%s: the config is %.1f MB; a config file may have at most %d MB (they are "
                            "usually a few KB): list subjects in the dataset CSV (data.split.column) rather than in "
                            "the config, and check that this is the file you meant", path,
                            (double)st.st_size / 1048576.0, IE_CONFIG_MAX_BYTES >> 20);
    }
    ie_strbuf sb = {0};
    char buf[8192];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0) ie_sb_appendn(&sb, buf, n);
    int failed = ferror(f);
    fclose(f);
    if (failed) {
        ie_sb_free(&sb);
        return ie_error_set(IE_ERR_IO, "config: error while reading %s", path);
    }
    if (sb.data && strlen(sb.data) != sb.len) {
        ie_sb_free(&sb);
        return ie_error_set(IE_ERR_CONFIG, "%s: not a text file (it contains a NUL byte); give the config's JSON file",
                            path);
    }
    *out = ie_sb_take(&sb);
    return *out ? IE_OK : ie_error_set(IE_ERR_NOMEM, "config: out of memory reading %s", path);
}

/* "name:line:col: JSON syntax error: <what> in line `...`", counting columns
 * in characters (UTF-8 continuation bytes do not count), as editors do. */
static ie_status syntax_error(const char *text, const char *cjson_where, const char *name) {
    size_t len = strlen(text);
    const char *why = NULL;
    size_t pos = ie_json_syntax_error(text, &why);
    if (!why) { /* our checker accepts it (nesting, memory): fall back on cJSON's position */
        why = "cJSON could not parse the text here";
        pos = cjson_where && cjson_where >= text ? (size_t)(cjson_where - text) : 0;
    }
    if (pos > len) pos = len;
    int line = 1, col = 1;
    size_t line_start = 0;
    for (size_t i = 0; i < pos; i++) {
        if (text[i] == '\n') {
            line++;
            col = 1;
            line_start = i + 1;
        } else if (((unsigned char)text[i] & 0xC0) != 0x80) {
            col++;
        }
    }
    size_t line_end = line_start;
    while (line_end < len && text[line_end] != '\n' && text[line_end] != '\r') line_end++;
    int show = (int)(line_end - line_start > 80 ? 80 : line_end - line_start);
    if (show == 0)
        return ie_error_set(IE_ERR_CONFIG, "%s:%d:%d: JSON syntax error: %s", name, line, col, why);
    return ie_error_set(IE_ERR_CONFIG, "%s:%d:%d: JSON syntax error: %s, in line `%.*s`", name, line, col, why,
                        show, text + line_start);
}

static ie_status check_duplicates(const cJSON *node, const char *name, const char *prefix) {
    if (cJSON_IsArray(node)) {
        for (const cJSON *c = node->child; c; c = c->next) IE_TRY(check_duplicates(c, name, prefix));
        return IE_OK;
    }
    if (!cJSON_IsObject(node)) return IE_OK;
    int keys = 0;
    for (const cJSON *c = node->child; c; c = c->next) keys++;
    if (keys > IE_CONFIG_MAX_KEYS)
        return ie_error_set(IE_ERR_CONFIG, "%s: %s has %d keys; an object in a config may have at most %d: check "
                            "that this is the file you meant", name, *prefix ? prefix : "the top-level object", keys,
                            IE_CONFIG_MAX_KEYS);
    for (const cJSON *c = node->child; c; c = c->next) {
        for (const cJSON *e = node->child; e != c; e = e->next)
            if (strcmp(e->string, c->string) == 0)
                return ie_error_set(IE_ERR_CONFIG, "%s: key \"%s\" appears twice in %s (keep one)", name,
                                    c->string, *prefix ? prefix : "the top-level object");
        char *path = ie_config_path_join(prefix, c->string);
        if (!path) return ie_error_set(IE_ERR_NOMEM, "config: out of memory");
        ie_status st = check_duplicates(c, name, path);
        free(path);
        IE_TRY(st);
    }
    return IE_OK;
}

static ie_status parse_config_text(const char *text, const char *name, cJSON **out) {
    const char *why = NULL;
    if (ie_json_syntax_error(text, &why) != (size_t)-1) return syntax_error(text, NULL, name);
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithOpts(text, &end, 1);
    if (!root) return syntax_error(text, end, name);
    if (!cJSON_IsObject(root)) {
        cJSON_Delete(root);
        return ie_error_set(IE_ERR_CONFIG, "%s: a config must be a JSON object ({ ... }) at the top level", name);
    }
    ie_status st = check_duplicates(root, name, "");
    if (st != IE_OK) {
        cJSON_Delete(root);
        return st;
    }
    *out = root;
    return IE_OK;
}

/* ---------------------------------------------------------------- extends */

typedef struct load_chain {
    const char *names[IE_CONFIG_MAX_EXTENDS_DEPTH]; /* as shown to the user */
    char *real[IE_CONFIG_MAX_EXTENDS_DEPTH];        /* identity; NULL for text */
    int depth;
} load_chain;

static bool is_regular_file(const char *path) {
    struct stat sb;
    return stat(path, &sb) == 0 && S_ISREG(sb.st_mode);
}

/* Looks `name` up next to the extending file, then in the search folders. */
static ie_status find_parent(const ie_config *cfg, const char *child, bool child_is_file, const char *name,
                             char **out) {
    if (name[0] == '/') {
        if (is_regular_file(name))
            return (*out = strdup(name)) ? IE_OK : ie_error_set(IE_ERR_NOMEM, "config: out of memory");
        return ie_error_set(IE_ERR_IO, "config %s (extended by %s) not found", name, child);
    }
    ie_strbuf tried = {0};
    for (int i = -1; i < cfg->n_search_dirs; i++) {
        ie_strbuf cand = {0};
        if (i < 0) {
            if (!child_is_file) continue;
            const char *slash = strrchr(child, '/');
            if (slash) ie_sb_appendn(&cand, child, (size_t)(slash - child + 1));
            ie_sb_append(&cand, name);
        } else {
            ie_sb_printf(&cand, "%s/%s", cfg->search_dirs[i], name);
        }
        char *path = ie_sb_take(&cand);
        if (!path) {
            ie_sb_free(&tried);
            return ie_error_set(IE_ERR_NOMEM, "config: out of memory");
        }
        if (is_regular_file(path)) {
            ie_sb_free(&tried);
            *out = path;
            return IE_OK;
        }
        ie_sb_printf(&tried, "%s%s", tried.len ? ", " : "", path);
        free(path);
    }
    ie_status st = ie_error_set(IE_ERR_IO, "config \"%s\" (extended by %s) not found; looked for %s", name,
                                child, tried.len ? tried.data : "it in no folder (no search folder given)");
    ie_sb_free(&tried);
    return st;
}

static ie_status load_path(const ie_config *cfg, const char *path, load_chain *chain, ie_config_layer *out);

static ie_status load_parsed(const ie_config *cfg, cJSON *root, const char *name, bool is_file,
                             load_chain *chain, ie_config_layer *out) {
    cJSON *extends = cJSON_DetachItemFromObjectCaseSensitive(root, "extends");
    bool ok_shape = !extends || cJSON_IsString(extends) || cJSON_IsArray(extends);
    for (const cJSON *e = cJSON_IsArray(extends) ? extends->child : NULL; e; e = e->next)
        ok_shape = ok_shape && cJSON_IsString(e);
    ie_status st = IE_OK;
    if (!ok_shape)
        st = ie_error_set(IE_ERR_CONFIG, "%s: \"extends\" must be a file name or an array of file names", name);
    if (st == IE_OK) st = ie_config_layer_init(out);
    const cJSON *parent = cJSON_IsArray(extends) ? extends->child : extends;
    for (; st == IE_OK && parent; parent = cJSON_IsArray(extends) ? parent->next : NULL) {
        char *parent_path = NULL;
        ie_config_layer up = {0};
        st = find_parent(cfg, name, is_file, parent->valuestring, &parent_path);
        if (st == IE_OK) st = load_path(cfg, parent_path, chain, &up);
        if (st == IE_OK) st = ie_config_merge(out, &up);
        ie_config_layer_clear(&up);
        free(parent_path);
    }
    if (st == IE_OK) {
        /* The file's own keys, all set by this file ("" covers every path). */
        ie_config_layer own = {root, cJSON_CreateObject()};
        if (own.prov && cJSON_AddStringToObject(own.prov, "", name)) st = ie_config_merge(out, &own);
        else st = ie_error_set(IE_ERR_NOMEM, "config: out of memory");
        cJSON_Delete(own.prov);
    }
    cJSON_Delete(extends);
    if (st != IE_OK) ie_config_layer_clear(out);
    return st;
}

static ie_status cycle_error(const load_chain *chain, int from, const char *again) {
    ie_strbuf sb = {0};
    for (int i = from; i < chain->depth; i++) ie_sb_printf(&sb, "%s -> ", chain->names[i]);
    ie_sb_append(&sb, again);
    ie_status st = ie_error_set(IE_ERR_CONFIG, "config extends cycle: %s (a config cannot extend itself)",
                                sb.data ? sb.data : again);
    ie_sb_free(&sb);
    return st;
}

static ie_status load_path(const ie_config *cfg, const char *path, load_chain *chain, ie_config_layer *out) {
    char real[PATH_MAX];
    if (!realpath(path, real))
        return ie_error_set(IE_ERR_IO, "config: cannot open %s: %s; check the path given to --config", path,
                            strerror(errno));
    for (int i = 0; i < chain->depth; i++)
        if (chain->real[i] && strcmp(chain->real[i], real) == 0) return cycle_error(chain, i, path);
    if (chain->depth == IE_CONFIG_MAX_EXTENDS_DEPTH)
        return ie_error_set(IE_ERR_CONFIG, "%s: \"extends\" chain deeper than %d files", path,
                            IE_CONFIG_MAX_EXTENDS_DEPTH);
    char *text = NULL;
    IE_TRY(read_text_file(path, &text));
    cJSON *root = NULL;
    ie_status st = parse_config_text(text, path, &root);
    free(text);
    IE_TRY(st);
    chain->names[chain->depth] = path;
    chain->real[chain->depth] = real;
    chain->depth++;
    st = load_parsed(cfg, root, path, true, chain, out);
    chain->depth--;
    cJSON_Delete(root);
    return st;
}

ie_status ie_config_load_file(const ie_config *cfg, const char *path, ie_config_layer *out) {
    load_chain chain = {.depth = 0};
    return load_path(cfg, path, &chain, out);
}

ie_status ie_config_load_text(const ie_config *cfg, const char *text, const char *name, ie_config_layer *out) {
    cJSON *root = NULL;
    IE_TRY(parse_config_text(text, name, &root));
    load_chain chain = {.names = {name}, .real = {NULL}, .depth = 1};
    ie_status st = load_parsed(cfg, root, name, false, &chain, out);
    cJSON_Delete(root);
    return st;
}
