/* core/config/config_impl.h - what the files of core/config share: the config
 * object, the schema table's row type, a growable string buffer, the canonical
 * JSON printer and the merge with provenance. */
#ifndef IE_CORE_CONFIG_IMPL_H
#define IE_CORE_CONFIG_IMPL_H

#include <stdbool.h>
#include <stddef.h>

#include <cjson/cJSON.h>

#include "innereye/config.h"

/* ---- growable string (every append checks for out-of-memory once, at the end) */

typedef struct ie_strbuf {
    char *data;
    size_t len, cap;
    bool failed; /* an allocation failed: data holds what fitted */
} ie_strbuf;

void ie_sb_append(ie_strbuf *sb, const char *s);
void ie_sb_appendn(ie_strbuf *sb, const char *s, size_t n);
void ie_sb_printf(ie_strbuf *sb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Hands over the text (never NULL unless out of memory) and empties sb. */
char *ie_sb_take(ie_strbuf *sb);
void ie_sb_free(ie_strbuf *sb);

/* "a.b" + "c" -> "a.b.c"; "" + "c" -> "c".  malloc'd, NULL when out of memory. */
char *ie_config_path_join(const char *prefix, const char *key);

/* ---- canonical JSON (core/config/canonical.c) */

/* Appends `node` in canonical form; indent < 0 is the compact hashable form,
 * indent >= 0 the pretty form starting at that depth. */
void ie_json_write(ie_strbuf *sb, const cJSON *node, int indent);
/* The canonical spelling of one number (at most 31 characters). */
void ie_json_number(double x, char out[32]);
/* A short description of a value for messages: its canonical text, cut at
 * about 60 characters. */
void ie_json_describe(ie_strbuf *sb, const cJSON *node);

/* Offset of the first syntax error in JSON text and what was expected there
 * (core/config/json_syntax.c); (size_t)-1 when the checker finds none. */
size_t ie_json_syntax_error(const char *text, const char **why);

/* ---- provenance and merge (core/config/load.c)
 *
 * A layer is a JSON object plus its provenance: an object mapping dotted
 * paths to the source that set them ("configs/a.json", "--num_epochs=3",
 * "default").  Every node a merge creates gets an entry; a value's source is
 * the entry of its longest recorded path prefix ("" covers everything). */
typedef struct ie_config_layer {
    cJSON *tree;
    cJSON *prov;
} ie_config_layer;

ie_status ie_config_layer_init(ie_config_layer *layer);
void ie_config_layer_clear(ie_config_layer *layer);
/* RFC 7396 merge of src over dst, carrying src's provenance along. */
ie_status ie_config_merge(ie_config_layer *dst, const ie_config_layer *src);
const char *ie_config_prov_lookup(const cJSON *prov, const char *path);
/* Records that `path` (and everything under it) was set by `source`. */
ie_status ie_config_prov_set(cJSON *prov, const char *path, const char *source);

/* Loads `path` with its extends chain into a fresh layer. */
ie_status ie_config_load_file(const ie_config *cfg, const char *path, ie_config_layer *out);
ie_status ie_config_load_text(const ie_config *cfg, const char *text, const char *name,
                              ie_config_layer *out);

/* ---- the object */

typedef struct ie_config_override {
    cJSON *patch; /* {"train": {"epochs": 3}} */
    char *source; /* "--set train.epochs=3" */
} ie_config_override;

struct ie_config {
    char **search_dirs;
    int n_search_dirs;
    ie_config_layer files; /* every file merged, in the order added */
    ie_config_override *overrides;
    int n_overrides, cap_overrides;

    /* Filled by a successful ie_config_resolve. */
    bool resolved;
    ie_config_layer result;
    char *text, *text_pretty;
    char *problems;
};

/* Descends a dotted path through objects; NULL when any step is missing. */
cJSON *ie_config_find(const cJSON *root, const char *path);

/* ---- schema (core/config/schema.c) */

typedef enum ie_config_type {
    IE_CFG_INT,
    IE_CFG_NUMBER,
    IE_CFG_BOOL,
    IE_CFG_STRING,
    IE_CFG_ENUM,
    IE_CFG_INT_ARRAY,
    IE_CFG_NUMBER_ARRAY,
    IE_CFG_STRING_ARRAY,
    IE_CFG_OBJECT /* free-form section, checked by whoever reads it (a plugin) */
} ie_config_type;

enum {
    IE_CFG_MIN_EXCLUSIVE = 1u << 0, /* value > min rather than >= min */
    IE_CFG_MAX_EXCLUSIVE = 1u << 1, /* value < max rather than <= max */
    IE_CFG_EMPTY_OK = 1u << 2       /* a fixed-length array may also be [] */
};

typedef struct ie_config_key {
    const char *path;        /* dotted JSON path */
    ie_config_type type;
    const char *def;         /* default, as JSON text */
    double min, max;         /* numbers, ints and array elements */
    unsigned flags;
    int length;              /* arrays: required number of elements, 0 = any */
    const char *choices;     /* enums: "a|b|c" */
    const char *range_doc;   /* replaces the generated range text in the docs */
    const char *doc;         /* one line for the reference table */
} ie_config_key;

int ie_config_schema_count(void);
const ie_config_key *ie_config_schema_at(int i);
const ie_config_key *ie_config_schema_find(const char *path);
/* True when `path` is a section: a proper prefix of some key's path. */
bool ie_config_schema_is_section(const char *path);
/* Checks one value; on failure appends "must be ..., got ..." to why. */
bool ie_config_schema_check(const ie_config_key *key, const cJSON *value, ie_strbuf *why);
/* Writes the nearest known key or section to an unknown path into out;
 * false when nothing is near enough to suggest. */
bool ie_config_schema_suggest(const char *path, char *out, size_t cap);
/* Cross-key rules (split fractions sum to 1, ...); one problem per line into
 * problems, each prefixed by the sources of the keys involved. */
int ie_config_schema_cross_check(const ie_config_layer *resolved, ie_strbuf *problems);

/* Edit distance, for suggestions (also used by the flag parser). */
int ie_config_levenshtein(const char *a, const char *b);

/* Flags the argument parser knows, for the docs and for suggestions. */
typedef enum ie_config_flag_kind {
    IE_FLAG_VALUE,  /* --flag VALUE or --flag=VALUE */
    IE_FLAG_BOOL,   /* --flag, --no-flag, --flag=true|false */
    IE_FLAG_CONFIG, /* --config FILE */
    IE_FLAG_SET     /* --set PATH=VALUE */
} ie_config_flag_kind;

typedef struct ie_config_flag {
    const char *name; /* without the dashes */
    ie_config_flag_kind kind;
    const char *path; /* the key it sets (VALUE, BOOL) */
    const char *doc;
} ie_config_flag;

int ie_config_flag_count(void);
const ie_config_flag *ie_config_flag_at(int i);

#endif
