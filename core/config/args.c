/* core/config - overrides: "--set path=value", InnerEye's command-line flags
 * mapped to config keys, and the flag table of docs/config.md. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "core/config/config_impl.h"

/* InnerEye-DeepLearning's runner flags keep their names, so that its users'
 * command lines keep working; ours follow. */
static const ie_config_flag config_flags[] = {
    {"config", IE_FLAG_CONFIG, NULL, "Load a config file with its extends chain; repeatable, later files win."},
    {"set", IE_FLAG_SET, NULL, "Override one key: `--set train.optimizer.lr=0.01`."},
    {"model", IE_FLAG_VALUE, "model.name", "InnerEye flag: the model to train."},
    {"num_epochs", IE_FLAG_VALUE, "train.epochs", "InnerEye flag."},
    {"random_seed", IE_FLAG_VALUE, "seed", "InnerEye flag."},
    {"train", IE_FLAG_BOOL, "run.train", "InnerEye flag; `--no-train` runs inference only."},
    {"number_of_cross_validation_splits", IE_FLAG_VALUE, "cv.splits", "InnerEye flag."},
    {"cross_validation_split_index", IE_FLAG_VALUE, "cv.split_index", "InnerEye flag."},
    {"inference_on_test_set", IE_FLAG_BOOL, "run.infer_test", "InnerEye flag."},
    {"inference_on_val_set", IE_FLAG_BOOL, "run.infer_val", "InnerEye flag."},
    {"l_rate", IE_FLAG_VALUE, "train.optimizer.lr", "InnerEye flag."},
    {"batch_size", IE_FLAG_VALUE, "train.batch_size", "InnerEye flag (`train_batch_size`)."},
    {"num_dataload_workers", IE_FLAG_VALUE, "data.workers", "InnerEye flag."},
    {"output_to", IE_FLAG_VALUE, "output.dir", "InnerEye flag."},
    {"threads", IE_FLAG_VALUE, "run.threads", "Compute threads (0: every core)."},
    {"output-dir", IE_FLAG_VALUE, "output.dir", "Same as `--output_to`."},
    {"seed", IE_FLAG_VALUE, "seed", "Same as `--random_seed`."},
};

#define N_FLAGS ((int)(sizeof config_flags / sizeof config_flags[0]))

int ie_config_flag_count(void) { return N_FLAGS; }

const ie_config_flag *ie_config_flag_at(int i) { return i >= 0 && i < N_FLAGS ? &config_flags[i] : NULL; }

static const ie_config_flag *flag_find(const char *name, size_t len) {
    for (int i = 0; i < N_FLAGS; i++)
        if (strlen(config_flags[i].name) == len && strncmp(config_flags[i].name, name, len) == 0)
            return &config_flags[i];
    return NULL;
}

/* ---------------------------------------------------------------- overrides */

static ie_status check_path(const char *path, const char *source) {
    bool empty_part = *path == '\0' || *path == '.' || path[strlen(path) - 1] == '.' || strstr(path, "..");
    if (empty_part)
        return ie_error_set(IE_ERR_INVALID_ARG, "%s: \"%s\" is not a key path (write it like train.epochs)",
                            source, path);
    return IE_OK;
}

static bool parse_bool_word(const char *s, bool *out) {
    if (!strcasecmp(s, "true") || !strcasecmp(s, "yes") || !strcmp(s, "1")) return (*out = true), true;
    if (!strcasecmp(s, "false") || !strcasecmp(s, "no") || !strcmp(s, "0")) return (*out = false), true;
    return false;
}

/* JSON when the text parses as JSON, else the text as a string.  Keys the
 * schema types as strings always take the text (--model=123 names a model
 * "123"), and bool keys accept InnerEye's True/False. */
static cJSON *override_value(const char *path, const char *text) {
    const ie_config_key *k = ie_config_schema_find(path);
    bool want_string = k && (k->type == IE_CFG_STRING || k->type == IE_CFG_ENUM);
    if (k && k->type == IE_CFG_BOOL) {
        bool b;
        if (parse_bool_word(text, &b)) return cJSON_CreateBool(b);
    }
    if (!want_string || text[0] == '"') {
        cJSON *v = cJSON_ParseWithOpts(text, NULL, 1);
        if (v && (!want_string || cJSON_IsString(v))) return v;
        cJSON_Delete(v);
    }
    return cJSON_CreateString(text);
}

/* {"a": {"b": value}} for "a.b"; takes value. */
static cJSON *patch_for(const char *path, cJSON *value) {
    cJSON *root = cJSON_CreateObject(), *node = root;
    const char *p = path;
    while (node) {
        const char *dot = strchr(p, '.');
        size_t n = dot ? (size_t)(dot - p) : strlen(p);
        char *key = strndup(p, n);
        cJSON *child = dot ? cJSON_CreateObject() : value;
        if (!key || !child || !cJSON_AddItemToObject(node, key, child)) {
            free(key);
            if (dot) cJSON_Delete(child);
            cJSON_Delete(value); /* not attached yet */
            cJSON_Delete(root);
            return NULL;
        }
        free(key);
        if (!dot) return root;
        node = child;
        p = dot + 1;
    }
    cJSON_Delete(value);
    return NULL;
}

static ie_status add_override(ie_config *cfg, const char *path, const char *text, const char *source) {
    IE_TRY(check_path(path, source));
    if (cfg->n_overrides == cfg->cap_overrides) {
        int cap = cfg->cap_overrides ? 2 * cfg->cap_overrides : 8;
        ie_config_override *o = realloc(cfg->overrides, (size_t)cap * sizeof *o);
        if (!o) return ie_error_set(IE_ERR_NOMEM, "config: out of memory");
        cfg->overrides = o;
        cfg->cap_overrides = cap;
    }
    cJSON *value = override_value(path, text);
    cJSON *patch = value ? patch_for(path, value) : NULL;
    char *src = strdup(source);
    if (!patch || !src) {
        cJSON_Delete(patch);
        free(src);
        return ie_error_set(IE_ERR_NOMEM, "config: out of memory");
    }
    cfg->overrides[cfg->n_overrides++] = (ie_config_override){patch, src};
    cfg->resolved = false;
    return IE_OK;
}

ie_status ie_config_set(ie_config *cfg, const char *assignment, const char *source) {
    if (!cfg || !assignment)
        return ie_error_set(IE_ERR_INVALID_ARG, "ie_config_set: cfg and assignment must not be NULL");
    const char *eq = strchr(assignment, '=');
    ie_strbuf name = {0};
    if (!source) ie_sb_printf(&name, "--set %s", assignment);
    const char *src = source ? source : name.data ? name.data : "--set";
    ie_status st;
    if (!eq) {
        st = ie_error_set(IE_ERR_INVALID_ARG, "%s: expected PATH=VALUE (for example train.epochs=3)", src);
    } else {
        char *path = strndup(assignment, (size_t)(eq - assignment));
        st = path ? add_override(cfg, path, eq + 1, src) : ie_error_set(IE_ERR_NOMEM, "config: out of memory");
        free(path);
    }
    ie_sb_free(&name);
    return st;
}

/* ---------------------------------------------------------------- command line */

static bool is_file(const char *path) {
    struct stat sb;
    return stat(path, &sb) == 0 && S_ISREG(sb.st_mode);
}

/* --config NAME: the file as given (from the current folder), else, as
 * `extends` finds a parent, in the search folders (the installed configs):
 * `--config hello_world.json` and `--config configs/hello_world.json` work
 * from any folder. */
static ie_status add_config_flag(ie_config *cfg, const char *value) {
    if (is_file(value) || value[0] == '/') return ie_config_add_file(cfg, value);
    const char *base = strncmp(value, "configs/", 8) == 0 ? value + 8 : value;
    ie_strbuf tried = {0};
    for (int i = 0; i < cfg->n_search_dirs; i++) {
        ie_strbuf cand = {0};
        ie_sb_printf(&cand, "%s/%s", cfg->search_dirs[i], base);
        if (!cand.failed && is_file(cand.data)) {
            ie_status st = ie_config_add_file(cfg, cand.data);
            ie_sb_free(&cand);
            ie_sb_free(&tried);
            return st;
        }
        ie_sb_printf(&tried, ", %s", cand.data ? cand.data : "?");
        ie_sb_free(&cand);
    }
    /* Not there either: the loader's own message, and where else we looked. */
    ie_status st = ie_config_add_file(cfg, value);
    if (st != IE_OK && tried.data) {
        char message[2048];
        snprintf(message, sizeof message, "%s", ie_error_message());
        st = ie_error_set(st, "%s (looked in the installed configs too:%s)", message, tried.data + 1);
    }
    ie_sb_free(&tried);
    return st;
}

static ie_status apply_flag(ie_config *cfg, const ie_config_flag *f, const char *value) {
    ie_strbuf src = {0};
    ie_status st;
    switch (f->kind) {
    case IE_FLAG_CONFIG: st = add_config_flag(cfg, value); break;
    case IE_FLAG_SET:
        ie_sb_printf(&src, "--set %s", value);
        st = src.failed ? ie_error_set(IE_ERR_NOMEM, "config: out of memory") : ie_config_set(cfg, value, src.data);
        break;
    default:
        ie_sb_printf(&src, "--%s=%s", f->name, value);
        st = src.failed ? ie_error_set(IE_ERR_NOMEM, "config: out of memory")
                        : add_override(cfg, f->path, value, src.data);
        break;
    }
    ie_sb_free(&src);
    return st;
}

ie_status ie_config_parse_args(ie_config *cfg, int argc, char **argv, int *rest_argc, char **rest_argv) {
    if (!cfg || (argc > 0 && !argv) || !rest_argc || (argc > 0 && !rest_argv))
        return ie_error_set(IE_ERR_INVALID_ARG, "ie_config_parse_args: NULL argument");
    int n_rest = 0;
    *rest_argc = 0;
    for (int i = 0; i < argc; i++) {
        const char *arg = argv[i];
        if (strcmp(arg, "--") == 0) {
            while (i < argc) rest_argv[n_rest++] = argv[i++];
            break;
        }
        if (strncmp(arg, "--", 2) != 0) {
            rest_argv[n_rest++] = argv[i];
            continue;
        }
        const char *name = arg + 2, *eq = strchr(name, '=');
        size_t len = eq ? (size_t)(eq - name) : strlen(name);
        const ie_config_flag *f = flag_find(name, len);
        bool negated = false;
        if (!f && len > 3 && strncmp(name, "no-", 3) == 0) {
            f = flag_find(name + 3, len - 3);
            negated = f && f->kind == IE_FLAG_BOOL;
            if (!negated) f = NULL;
        }
        if (!f) {
            rest_argv[n_rest++] = argv[i];
            continue;
        }
        const char *value = eq ? eq + 1 : NULL;
        if (f->kind == IE_FLAG_BOOL) {
            bool b = !negated;
            if (negated && value)
                return ie_error_set(IE_ERR_INVALID_ARG, "--no-%s takes no value (write --%s=%s instead)", f->name,
                                    f->name, value);
            if (value && !parse_bool_word(value, &b))
                return ie_error_set(IE_ERR_INVALID_ARG, "--%s expects true or false, got \"%s\"", f->name, value);
            /* "--train False" as InnerEye's argparse allows; any other next word is not ours */
            if (!value && !negated && i + 1 < argc &&
                (!strcasecmp(argv[i + 1], "true") || !strcasecmp(argv[i + 1], "false")))
                b = !strcasecmp(argv[++i], "true");
            IE_TRY(apply_flag(cfg, f, b ? "true" : "false"));
            continue;
        }
        if (!value) {
            if (i + 1 >= argc || strncmp(argv[i + 1], "--", 2) == 0)
                return ie_error_set(IE_ERR_INVALID_ARG, "--%s needs a value (--%s=VALUE or --%s VALUE)", f->name,
                                    f->name, f->name);
            value = argv[++i];
        }
        IE_TRY(apply_flag(cfg, f, value));
    }
    *rest_argc = n_rest;
    return IE_OK;
}

ie_status ie_config_flags_markdown(char **out) {
    if (!out) return ie_error_set(IE_ERR_INVALID_ARG, "ie_config_flags_markdown: out must not be NULL");
    ie_strbuf sb = {0};
    ie_sb_append(&sb, "| flag | sets | notes |\n|---|---|---|\n");
    for (int i = 0; i < N_FLAGS; i++) {
        const ie_config_flag *f = &config_flags[i];
        switch (f->kind) {
        case IE_FLAG_CONFIG: ie_sb_printf(&sb, "| `--%s FILE` | (files) |", f->name); break;
        case IE_FLAG_SET: ie_sb_printf(&sb, "| `--%s PATH=VALUE` | any key |", f->name); break;
        case IE_FLAG_BOOL:
            ie_sb_printf(&sb, "| `--%s`, `--no-%s`, `--%s=true\\|false` | `%s` |", f->name, f->name, f->name,
                         f->path);
            break;
        case IE_FLAG_VALUE: ie_sb_printf(&sb, "| `--%s VALUE` | `%s` |", f->name, f->path); break;
        }
        ie_sb_printf(&sb, " %s |\n", f->doc);
    }
    *out = ie_sb_take(&sb);
    return *out ? IE_OK : ie_error_set(IE_ERR_NOMEM, "config: out of memory");
}
