/* core/config - the config object: files and overrides in, one validated
 * config with defaults out (canonical text, hash, typed reads by path). */
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/config/config_impl.h"
#include "core/config/config_int.h"
#include "core/util/sha256.h"

/* The status message is one thread-local buffer of 2 KiB; the problem list is
 * cut to fit it, and ie_config_problems keeps them all. */
#define IE_CONFIG_MESSAGE_ROOM 1800

ie_status ie_config_new(ie_config **out) {
    if (!out) return ie_error_set(IE_ERR_INVALID_ARG, "ie_config_new: out must not be NULL");
    ie_config *cfg = calloc(1, sizeof *cfg);
    if (!cfg) return ie_error_set(IE_ERR_NOMEM, "config: out of memory");
    ie_status st = ie_config_layer_init(&cfg->files);
    if (st != IE_OK) {
        free(cfg);
        return st;
    }
    *out = cfg;
    return IE_OK;
}

static void clear_result(ie_config *cfg) {
    ie_config_layer_clear(&cfg->result);
    free(cfg->text);
    free(cfg->text_pretty);
    free(cfg->problems);
    cfg->text = cfg->text_pretty = cfg->problems = NULL;
    cfg->resolved = false;
}

void ie_config_free(ie_config *cfg) {
    if (!cfg) return;
    clear_result(cfg);
    ie_config_layer_clear(&cfg->files);
    for (int i = 0; i < cfg->n_overrides; i++) {
        cJSON_Delete(cfg->overrides[i].patch);
        free(cfg->overrides[i].source);
    }
    free(cfg->overrides);
    for (int i = 0; i < cfg->n_search_dirs; i++) free(cfg->search_dirs[i]);
    free(cfg->search_dirs);
    free(cfg);
}

ie_status ie_config_add_search_dir(ie_config *cfg, const char *dir) {
    if (!cfg || !dir) return ie_error_set(IE_ERR_INVALID_ARG, "ie_config_add_search_dir: NULL argument");
    char **dirs = realloc(cfg->search_dirs, (size_t)(cfg->n_search_dirs + 1) * sizeof *dirs);
    if (!dirs) return ie_error_set(IE_ERR_NOMEM, "config: out of memory");
    cfg->search_dirs = dirs;
    if (!(dirs[cfg->n_search_dirs] = strdup(dir))) return ie_error_set(IE_ERR_NOMEM, "config: out of memory");
    cfg->n_search_dirs++;
    return IE_OK;
}

static ie_status merge_loaded(ie_config *cfg, ie_status st, ie_config_layer *layer) {
    if (st == IE_OK) st = ie_config_merge(&cfg->files, layer);
    ie_config_layer_clear(layer);
    cfg->resolved = false;
    return st;
}

ie_status ie_config_add_file(ie_config *cfg, const char *path) {
    if (!cfg || !path) return ie_error_set(IE_ERR_INVALID_ARG, "ie_config_add_file: NULL argument");
    ie_config_layer layer = {0};
    return merge_loaded(cfg, ie_config_load_file(cfg, path, &layer), &layer);
}

ie_status ie_config_add_text(ie_config *cfg, const char *json_text, const char *name) {
    if (!cfg || !json_text) return ie_error_set(IE_ERR_INVALID_ARG, "ie_config_add_text: NULL argument");
    ie_config_layer layer = {0};
    return merge_loaded(cfg, ie_config_load_text(cfg, json_text, name ? name : "(text)", &layer), &layer);
}

/* ---------------------------------------------------------------- resolve */

static int by_key(const void *a, const void *b) {
    return strcmp((*(cJSON *const *)a)->string, (*(cJSON *const *)b)->string);
}

/* Sorted keys make validation report in a stable order. */
static ie_status sort_keys(cJSON *node) {
    for (cJSON *c = node->child; c; c = c->next) IE_TRY(sort_keys(c));
    int n = cJSON_IsObject(node) ? cJSON_GetArraySize(node) : 0;
    if (n < 2) return IE_OK;
    cJSON **items = malloc((size_t)n * sizeof *items);
    if (!items) return ie_error_set(IE_ERR_NOMEM, "config: out of memory");
    int k = 0;
    for (cJSON *c = node->child; c; c = c->next) items[k++] = c;
    qsort(items, (size_t)n, sizeof *items, by_key);
    /* cJSON's list: next runs forward and ends in NULL, the head's prev is the tail. */
    for (int i = 0; i < n; i++) {
        items[i]->next = i + 1 < n ? items[i + 1] : NULL;
        items[i]->prev = i > 0 ? items[i - 1] : items[n - 1];
    }
    node->child = items[0];
    free(items);
    return IE_OK;
}

typedef struct problem_list {
    ie_strbuf text;
    int count;
    const cJSON *prov;
} problem_list;

static void problem_start(problem_list *pl, const char *path) {
    const char *src = ie_config_prov_lookup(pl->prov, path);
    ie_sb_printf(&pl->text, "  %s: %s: ", src ? src : "default", path);
    pl->count++;
}

static ie_status validate(const cJSON *node, const char *prefix, problem_list *pl) {
    for (const cJSON *c = node->child; c; c = c->next) {
        char *path = ie_config_path_join(prefix, c->string);
        if (!path) return ie_error_set(IE_ERR_NOMEM, "config: out of memory");
        const ie_config_key *k = ie_config_schema_find(path);
        ie_strbuf why = {0};
        char near[256];
        ie_status st = IE_OK;
        if (strchr(c->string, '.')) {
            /* {"train.epochs": 3} would otherwise sit beside train.epochs, unread */
            problem_start(pl, path);
            ie_sb_append(&pl->text, "a key cannot contain '.'; nest objects instead ({\"a\": {\"b\": ...}})\n");
        } else if (k) {
            if (!ie_config_schema_check(k, c, &why)) {
                problem_start(pl, path);
                ie_sb_printf(&pl->text, "%s\n", why.data ? why.data : "invalid value");
            }
        } else if (ie_config_schema_is_section(path)) {
            if (cJSON_IsObject(c)) {
                st = validate(c, path, pl);
            } else {
                problem_start(pl, path);
                ie_sb_append(&pl->text, "is a section and must be an object ({ ... }), got ");
                ie_json_describe(&pl->text, c);
                ie_sb_append(&pl->text, "\n");
            }
        } else {
            problem_start(pl, path);
            if (ie_config_schema_suggest(path, near, sizeof near))
                ie_sb_printf(&pl->text, "unknown key; did you mean %s?\n", near);
            else
                ie_sb_append(&pl->text, "unknown key (docs/config.md lists the keys)\n");
        }
        ie_sb_free(&why);
        free(path);
        IE_TRY(st);
    }
    return IE_OK;
}

/* Missing keys get their defaults; a key under a section that is not an
 * object (already reported) is skipped. */
static ie_status fill_defaults(ie_config_layer *r) {
    for (int i = 0; i < ie_config_schema_count(); i++) {
        const ie_config_key *k = ie_config_schema_at(i);
        cJSON *node = r->tree;
        const char *p = k->path;
        for (const char *dot; node && (dot = strchr(p, '.')); p = dot + 1) {
            char *name = strndup(p, (size_t)(dot - p));
            if (!name) return ie_error_set(IE_ERR_NOMEM, "config: out of memory");
            cJSON *next = cJSON_GetObjectItemCaseSensitive(node, name);
            if (!next) next = cJSON_AddObjectToObject(node, name);
            free(name);
            node = cJSON_IsObject(next) ? next : NULL;
        }
        if (!node || cJSON_GetObjectItemCaseSensitive(node, p)) continue;
        cJSON *def = cJSON_Parse(k->def);
        if (!def) return ie_error_set(IE_ERR_INTERNAL, "config schema: default of %s is not JSON", k->path);
        cJSON_AddItemToObject(node, p, def);
        IE_TRY(ie_config_prov_set(r->prov, k->path, "default"));
    }
    return IE_OK;
}

/* The whole list when it fits the message buffer, else whole lines up to the
 * room and a count of the rest. */
static ie_status report(const problem_list *pl) {
    const char *text = pl->text.data ? pl->text.data : "";
    size_t cut = strlen(text);
    int shown = pl->count;
    if (cut > IE_CONFIG_MESSAGE_ROOM) {
        shown = 0;
        cut = 0;
        for (const char *nl = text; (nl = strchr(nl, '\n')) && (size_t)(nl - text) < IE_CONFIG_MESSAGE_ROOM; nl++) {
            cut = (size_t)(nl - text) + 1;
            shown++;
        }
    }
    const char *plural = pl->count == 1 ? "" : "s";
    if (shown == pl->count)
        return ie_error_set(IE_ERR_CONFIG, "config has %d problem%s:\n%.*s", pl->count, plural, (int)cut, text);
    return ie_error_set(IE_ERR_CONFIG,
                        "config has %d problem%s:\n%.*s  ... and %d more (ie_config_problems lists all)\n",
                        pl->count, plural, (int)cut, text, pl->count - shown);
}

static ie_status build(ie_config *cfg, problem_list *pl) {
    ie_config_layer *r = &cfg->result;
    IE_TRY(ie_config_layer_init(r));
    IE_TRY(ie_config_merge(r, &cfg->files));
    for (int i = 0; i < cfg->n_overrides; i++) {
        ie_config_layer o = {cfg->overrides[i].patch, cJSON_CreateObject()};
        ie_status st = o.prov && cJSON_AddStringToObject(o.prov, "", cfg->overrides[i].source)
                           ? ie_config_merge(r, &o)
                           : ie_error_set(IE_ERR_NOMEM, "config: out of memory");
        cJSON_Delete(o.prov);
        IE_TRY(st);
    }
    IE_TRY(sort_keys(r->tree));
    pl->prov = r->prov;
    IE_TRY(validate(r->tree, "", pl));
    IE_TRY(fill_defaults(r));
    IE_TRY(sort_keys(r->tree));
    pl->count += ie_config_schema_cross_check(r, &pl->text);
    if (pl->text.failed) return ie_error_set(IE_ERR_NOMEM, "config: out of memory");
    return IE_OK;
}

ie_status ie_config_resolve(ie_config *cfg) {
    if (!cfg) return ie_error_set(IE_ERR_INVALID_ARG, "ie_config_resolve: cfg must not be NULL");
    clear_result(cfg);
    problem_list pl = {0};
    ie_status st = build(cfg, &pl);
    if (st == IE_OK && pl.count) {
        st = report(&pl);
        cfg->problems = ie_sb_take(&pl.text);
    }
    if (st == IE_OK) {
        ie_strbuf compact = {0}, pretty = {0};
        ie_json_write(&compact, cfg->result.tree, -1);
        ie_json_write(&pretty, cfg->result.tree, 0);
        ie_sb_append(&pretty, "\n");
        cfg->text = ie_sb_take(&compact);
        cfg->text_pretty = ie_sb_take(&pretty);
        st = cfg->text && cfg->text_pretty ? IE_OK : ie_error_set(IE_ERR_NOMEM, "config: out of memory");
    }
    ie_sb_free(&pl.text);
    if (st != IE_OK) {
        char *problems = cfg->problems;
        cfg->problems = NULL;
        clear_result(cfg);
        cfg->problems = problems;
        return st;
    }
    cfg->resolved = true;
    return IE_OK;
}

const char *ie_config_problems(const ie_config *cfg) { return cfg && cfg->problems ? cfg->problems : ""; }

/* ---------------------------------------------------------------- reading */

static ie_status need_resolved(const ie_config *cfg, const char *fn) {
    if (!cfg) return ie_error_set(IE_ERR_INVALID_ARG, "%s: cfg must not be NULL", fn);
    if (!cfg->resolved)
        return ie_error_set(IE_ERR_STATE, "%s: the config is not resolved (call ie_config_resolve first)", fn);
    return IE_OK;
}

const char *ie_config_text(const ie_config *cfg) { return cfg && cfg->resolved ? cfg->text : NULL; }

const char *ie_config_text_pretty(const ie_config *cfg) { return cfg && cfg->resolved ? cfg->text_pretty : NULL; }

const struct cJSON *ie_config_root(const ie_config *cfg) { return cfg && cfg->resolved ? cfg->result.tree : NULL; }

ie_status ie_config_sha256(const ie_config *cfg, char hex[65]) {
    IE_TRY(need_resolved(cfg, "ie_config_sha256"));
    if (!hex) return ie_error_set(IE_ERR_INVALID_ARG, "ie_config_sha256: hex must not be NULL");
    uint8_t digest[IE_SHA256_DIGEST_SIZE];
    ie_sha256_buffer(cfg->text, strlen(cfg->text), digest);
    ie_sha256_hex(digest, hex);
    return IE_OK;
}

bool ie_config_has(const ie_config *cfg, const char *path) {
    return cfg && cfg->resolved && path && ie_config_find(cfg->result.tree, path) != NULL;
}

const char *ie_config_source(const ie_config *cfg, const char *path) {
    if (!ie_config_has(cfg, path)) return NULL;
    const char *s = ie_config_prov_lookup(cfg->result.prov, path);
    return s ? s : "default";
}

static ie_status lookup(const ie_config *cfg, const char *path, const char *fn, const cJSON **out) {
    IE_TRY(need_resolved(cfg, fn));
    if (!path) return ie_error_set(IE_ERR_INVALID_ARG, "%s: path must not be NULL", fn);
    *out = ie_config_find(cfg->result.tree, path);
    if (!*out) return ie_error_set(IE_ERR_CONFIG, "config has no key \"%s\"", path);
    return IE_OK;
}

static ie_status wrong_type(const char *path, const cJSON *v, const char *want) {
    ie_strbuf sb = {0};
    ie_json_describe(&sb, v);
    ie_status st = ie_error_set(IE_ERR_CONFIG, "config key %s is %s, not %s", path, sb.data ? sb.data : "?", want);
    ie_sb_free(&sb);
    return st;
}

static bool is_int(const cJSON *v) {
    return cJSON_IsNumber(v) && v->valuedouble == floor(v->valuedouble) && fabs(v->valuedouble) <= 9007199254740992.0;
}

ie_status ie_config_get_int(const ie_config *cfg, const char *path, int64_t *out) {
    const cJSON *v;
    IE_TRY(lookup(cfg, path, "ie_config_get_int", &v));
    if (!is_int(v)) return wrong_type(path, v, "an int");
    if (out) *out = (int64_t)v->valuedouble;
    return IE_OK;
}

ie_status ie_config_get_int32(const ie_config *cfg, const char *path, int *out) {
    int64_t v = 0;
    IE_TRY(ie_config_get_int(cfg, path, &v));
    if (v < INT_MIN || v > INT_MAX)
        return ie_error_set(IE_ERR_CONFIG, "config: %s is %lld, beyond %d..%d; give a smaller value", path,
                            (long long)v, INT_MIN, INT_MAX);
    if (out) *out = (int)v;
    return IE_OK;
}

ie_status ie_config_get_number(const ie_config *cfg, const char *path, double *out) {
    const cJSON *v;
    IE_TRY(lookup(cfg, path, "ie_config_get_number", &v));
    if (!cJSON_IsNumber(v)) return wrong_type(path, v, "a number");
    if (out) *out = v->valuedouble;
    return IE_OK;
}

ie_status ie_config_get_bool(const ie_config *cfg, const char *path, bool *out) {
    const cJSON *v;
    IE_TRY(lookup(cfg, path, "ie_config_get_bool", &v));
    if (!cJSON_IsBool(v)) return wrong_type(path, v, "true or false");
    if (out) *out = cJSON_IsTrue(v);
    return IE_OK;
}

ie_status ie_config_get_string(const ie_config *cfg, const char *path, const char **out) {
    const cJSON *v;
    IE_TRY(lookup(cfg, path, "ie_config_get_string", &v));
    if (!cJSON_IsString(v)) return wrong_type(path, v, "a string");
    if (out) *out = v->valuestring;
    return IE_OK;
}

ie_status ie_config_get_array_length(const ie_config *cfg, const char *path, int *count) {
    const cJSON *v;
    IE_TRY(lookup(cfg, path, "ie_config_get_array_length", &v));
    if (!cJSON_IsArray(v)) return wrong_type(path, v, "an array");
    if (count) *count = cJSON_GetArraySize(v);
    return IE_OK;
}

typedef enum { ELEM_INT, ELEM_NUMBER, ELEM_STRING } elem_kind;

static ie_status get_array(const ie_config *cfg, const char *path, elem_kind kind, void *out, int capacity,
                           int *count, const char *fn) {
    static const char *want[] = {"an array of ints", "an array of numbers", "an array of strings"};
    const cJSON *v;
    IE_TRY(lookup(cfg, path, fn, &v));
    if (!cJSON_IsArray(v)) return wrong_type(path, v, want[kind]);
    int n = cJSON_GetArraySize(v), i = 0;
    for (const cJSON *e = v->child; e; e = e->next) {
        bool ok = kind == ELEM_INT ? is_int(e) : kind == ELEM_NUMBER ? cJSON_IsNumber(e) : cJSON_IsString(e);
        if (!ok) return wrong_type(path, v, want[kind]);
    }
    if (n > capacity)
        return ie_error_set(IE_ERR_CONFIG, "config key %s has %d elements, more than the %d expected here", path, n,
                            capacity);
    if (!out && n > 0) return ie_error_set(IE_ERR_INVALID_ARG, "%s: out must not be NULL", fn);
    for (const cJSON *e = v->child; e; e = e->next, i++) {
        if (kind == ELEM_INT) ((int64_t *)out)[i] = (int64_t)e->valuedouble;
        else if (kind == ELEM_NUMBER) ((double *)out)[i] = e->valuedouble;
        else ((const char **)out)[i] = e->valuestring;
    }
    if (count) *count = n;
    return IE_OK;
}

ie_status ie_config_get_int_array(const ie_config *cfg, const char *path, int64_t *out, int capacity, int *count) {
    return get_array(cfg, path, ELEM_INT, out, capacity, count, "ie_config_get_int_array");
}

ie_status ie_config_get_number_array(const ie_config *cfg, const char *path, double *out, int capacity,
                                     int *count) {
    return get_array(cfg, path, ELEM_NUMBER, out, capacity, count, "ie_config_get_number_array");
}

ie_status ie_config_get_string_array(const ie_config *cfg, const char *path, const char **out, int capacity,
                                     int *count) {
    return get_array(cfg, path, ELEM_STRING, out, capacity, count, "ie_config_get_string_array");
}

ie_status ie_config_get_json(const ie_config *cfg, const char *path, char **out) {
    const cJSON *v;
    if (!out) return ie_error_set(IE_ERR_INVALID_ARG, "ie_config_get_json: out must not be NULL");
    IE_TRY(lookup(cfg, path, "ie_config_get_json", &v));
    ie_strbuf sb = {0};
    ie_json_write(&sb, v, -1);
    *out = ie_sb_take(&sb);
    return *out ? IE_OK : ie_error_set(IE_ERR_NOMEM, "config: out of memory");
}

void ie_config_string_free(char *s) { free(s); }
