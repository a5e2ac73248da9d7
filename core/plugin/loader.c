/* core/plugin - the plugin loader: opens a shared object, checks its table
 * against this host's ABI, keeps a full-size copy, finds plugins by name. */
#define _GNU_SOURCE /* dladdr */
#include "core/plugin/loader.h"
#include "core/util/library_dir.h"

#include <dirent.h>
#include <dlfcn.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/plugin/guard.h"
#include "core/util/path.h"
#include "core/util/sha256.h"

/* ---- loading ---- */

static ie_status refuse(const char *path, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static ie_status refuse(const char *path, const char *fmt, ...) {
    char what[1536];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    return ie_error_set(IE_ERR_PLUGIN, "%s: %s", path, what);
}

/* The checks run on the plugin's own table before anything is copied: only
 * the three leading fields are read until the size is known to be enough. */
static ie_status check_table(const char *path, const ie_plugin *t) {
    if (t->abi_major != IE_PLUGIN_ABI_MAJOR)
        return refuse(path, "built for plugin ABI %u.%u, this host speaks %d.%d; rebuild the plugin against this SDK",
                      t->abi_major, t->abi_minor, IE_PLUGIN_ABI_MAJOR, IE_PLUGIN_ABI_MINOR);
    if (t->abi_minor > IE_PLUGIN_ABI_MINOR)
        return refuse(path,
                      "built for plugin ABI %u.%u, newer than this host's %d.%d; update InnerEye or rebuild the "
                      "plugin against this SDK",
                      t->abi_major, t->abi_minor, IE_PLUGIN_ABI_MAJOR, IE_PLUGIN_ABI_MINOR);
    if (t->struct_size < IE_PLUGIN_SIZE_1_0)
        return refuse(path,
                      "its plugin table is %u bytes, smaller than the %zu bytes of ABI 1.0 (plugin says ABI %u.%u, "
                      "this host speaks %d.%d); set struct_size = sizeof(ie_plugin) and rebuild against this SDK",
                      t->struct_size, (size_t)IE_PLUGIN_SIZE_1_0, t->abi_major, t->abi_minor, IE_PLUGIN_ABI_MAJOR,
                      IE_PLUGIN_ABI_MINOR);
    return IE_OK;
}

/* Checks that read the host's copy, so every field is within bounds. */
static ie_status check_fields(const char *path, const ie_plugin *t) {
    if (!t->name || !t->name[0]) return refuse(path, "the plugin table has no name; set .name");
    if ((int)t->task < IE_TASK_SEGMENTATION || (int)t->task > IE_TASK_OTHER)
        return refuse(path, "plugin %s has task %d, which is not an ie_task_kind (0..%d)", t->name, (int)t->task,
                      IE_TASK_OTHER);
    const char *missing = !t->create       ? "create"
                          : !t->destroy    ? "destroy"
                          : !t->parameters ? "parameters"
                          : !t->forward    ? "forward"
                                           : NULL;
    if (missing)
        return refuse(path, "plugin %s has no %s function, which every plugin must provide; set .%s", t->name,
                      missing, missing);
    return IE_OK;
}

static ie_status read_table(const char *path, void *handle, ie_plugin *copy) {
    dlerror();
    void *sym = dlsym(handle, IE_PLUGIN_ENTRY_SYMBOL);
    if (!sym)
        return refuse(path,
                      "no symbol %s: not an InnerEye plugin, or the entry point is hidden (define it with "
                      "IE_PLUGIN_EXPORT)",
                      IE_PLUGIN_ENTRY_SYMBOL);
    ie_plugin_entry_fn entry;
    memcpy(&entry, &sym, sizeof entry); /* ISO C has no object-to-function pointer cast */
    const ie_plugin *t = entry();
    if (!t) return refuse(path, "%s() returned NULL instead of its plugin table", IE_PLUGIN_ENTRY_SYMBOL);
    IE_TRY(check_table(path, t));
    /* Never read past what the plugin provided; newer fields stay zero. */
    memset(copy, 0, sizeof *copy);
    memcpy(copy, t, t->struct_size < sizeof *copy ? t->struct_size : sizeof *copy);
    IE_TRY(check_fields(path, copy));
    if (!copy->version) copy->version = "";
    if (!copy->description) copy->description = "";
    return IE_OK;
}

ie_status ie_plugin_load(const char *path, ie_loaded_plugin **out) {
    if (!out) return ie_error_set(IE_ERR_INVALID_ARG, "ie_plugin_load: out is NULL");
    *out = NULL;
    if (!path || !path[0]) return ie_error_set(IE_ERR_INVALID_ARG, "ie_plugin_load: no plugin path given");

    /* dlopen searches the system library path for a name without '/': a
     * plugin named on the command line means the file here. */
    char local[PATH_MAX];
    const char *open_path = path;
    if (!strchr(path, '/')) {
        IE_TRY(ie_path_format(local, sizeof local, "./%s", path));
        open_path = local;
    }
    void *handle = dlopen(open_path, RTLD_NOW | RTLD_LOCAL);
    if (!handle) return refuse(path, "cannot load the plugin: %s", dlerror());

    ie_loaded_plugin *p = calloc(1, sizeof *p);
    if (!p) {
        dlclose(handle);
        return ie_error_set(IE_ERR_NOMEM, "%s: out of memory loading the plugin", path);
    }
    p->handle = handle;
    char resolved[PATH_MAX];
    ie_status st = read_table(path, handle, &p->table);
    if (st == IE_OK) st = ie_sha256_file_hex(open_path, p->sha256);
    if (st == IE_OK) {
        p->path = strdup(realpath(open_path, resolved) ? resolved : path);
        if (!p->path) st = ie_error_set(IE_ERR_NOMEM, "%s: out of memory loading the plugin", path);
    }
    if (st != IE_OK) {
        ie_plugin_unload(p);
        return st;
    }
    *out = p;
    return IE_OK;
}

void ie_plugin_unload(ie_loaded_plugin *plugin) {
    if (!plugin) return;
    if (plugin->handle) dlclose(plugin->handle);
    free(plugin->path);
    free(plugin);
}

bool ie_plugin_spec_is_path(const char *spec) {
    if (!spec) return false;
    size_t n = strlen(spec);
    return strchr(spec, '/') || (n >= 3 && !strcmp(spec + n - 3, ".so"));
}

/* ---- finding ---- */

ie_status ie_plugin_builtin_dir(char *buf, size_t size) {
    char lib[PATH_MAX];
    ie_status st = ie_library_dir(lib, sizeof lib);
    if (st != IE_OK) return st;
    if ((size_t)snprintf(buf, size, "%s/innereye/models", lib) >= size)
        return ie_error_set(IE_ERR_INTERNAL, "built-in models folder path is longer than %zu bytes", size);
    return IE_OK;
}

const char *ie_plugin_origin_name(ie_plugin_origin origin) {
    switch (origin) {
    case IE_PLUGIN_ORIGIN_BUILTIN: return "built-in";
    case IE_PLUGIN_ORIGIN_SEARCH_PATH: return "INNEREYE_PLUGIN_PATH";
    }
    return "unknown";
}

static int is_shared_object(const struct dirent *e) {
    size_t n = strlen(e->d_name);
    return e->d_name[0] != '.' && n > 3 && !strcmp(e->d_name + n - 3, ".so");
}

/* Visits a folder's *.so files in name order (readdir order is arbitrary,
 * and which of two same-named plugins wins must not be). */
static bool scan_dir(const char *dir, ie_plugin_origin origin, ie_plugin_folder_fn folder, ie_plugin_visit_fn visit,
                     void *ctx) {
    struct dirent **entries = NULL;
    int n = scandir(dir, &entries, is_shared_object, alphasort);
    if (folder) folder(ctx, dir, origin, n >= 0);
    bool stop = false;
    for (int i = 0; i < n; i++) {
        if (!stop) {
            char path[PATH_MAX];
            ie_loaded_plugin *p = NULL;
            ie_error_clear();
            ie_status st = ie_path_join(path, sizeof path, dir, entries[i]->d_name);
            if (st == IE_OK) st = ie_plugin_load(path, &p);
            stop = visit(ctx, path, origin, &p, st, ie_error_message());
            ie_plugin_unload(p);
        }
        free(entries[i]);
    }
    free(entries);
    return stop;
}

ie_status ie_plugin_scan(ie_plugin_folder_fn folder, ie_plugin_visit_fn visit, void *ctx) {
    char builtin[PATH_MAX];
    IE_TRY(ie_plugin_builtin_dir(builtin, sizeof builtin));
    if (scan_dir(builtin, IE_PLUGIN_ORIGIN_BUILTIN, folder, visit, ctx)) return IE_OK;
    const char *env = getenv("INNEREYE_PLUGIN_PATH");
    if (!env) return IE_OK;
    char *paths = strdup(env);
    if (!paths) return ie_error_set(IE_ERR_NOMEM, "out of memory reading INNEREYE_PLUGIN_PATH");
    char *save = NULL;
    for (char *dir = strtok_r(paths, ":", &save); dir; dir = strtok_r(NULL, ":", &save))
        if (scan_dir(dir, IE_PLUGIN_ORIGIN_SEARCH_PATH, folder, visit, ctx)) break;
    free(paths);
    return IE_OK;
}

/* Growing text for the "not found" message. */
typedef struct text {
    char buf[1400];
    size_t len;
} text;

static void text_add(text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void text_add(text *t, const char *fmt, ...) {
    if (t->len >= sizeof t->buf - 1) return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(t->buf + t->len, sizeof t->buf - t->len, fmt, ap);
    va_end(ap);
    t->len = n < 0 ? t->len : t->len + (size_t)n;
    if (t->len >= sizeof t->buf) t->len = sizeof t->buf - 1;
}

/* Whether `item` is one of the ", "-separated items of t. */
static bool text_has_item(const text *t, const char *item) {
    size_t n = strlen(item);
    for (const char *p = t->buf; (p = strstr(p, item)) != NULL; p++)
        if ((p == t->buf || (p >= t->buf + 2 && p[-2] == ',' && p[-1] == ' ')) && (p[n] == ',' || p[n] == '\0'))
            return true;
    return false;
}

typedef struct find_ctx {
    const char *name;
    ie_loaded_plugin *found;
    text names, folders, broken;
} find_ctx;

static void find_folder(void *ctx, const char *dir, ie_plugin_origin origin, bool exists) {
    find_ctx *f = ctx;
    text_add(&f->folders, "%s%s (%s%s)", f->folders.len ? ", " : "", dir, ie_plugin_origin_name(origin),
             exists ? "" : ", missing");
}

static bool find_visit(void *ctx, const char *path, ie_plugin_origin origin, ie_loaded_plugin **plugin,
                       ie_status status, const char *message) {
    (void)origin;
    (void)message; /* `innereye plugins` shows it; here the file name is enough */
    find_ctx *f = ctx;
    if (status != IE_OK) {
        const char *slash = strrchr(path, '/');
        text_add(&f->broken, "%s%s", f->broken.len ? ", " : "", slash ? slash + 1 : path);
        return false;
    }
    if (!strcmp((*plugin)->table.name, f->name)) {
        f->found = *plugin;
        *plugin = NULL;
        return true;
    }
    if (!text_has_item(&f->names, (*plugin)->table.name))
        text_add(&f->names, "%s%s", f->names.len ? ", " : "", (*plugin)->table.name);
    return false;
}

ie_status ie_plugin_find(const char *spec, ie_loaded_plugin **out) {
    if (!out) return ie_error_set(IE_ERR_INVALID_ARG, "ie_plugin_find: out is NULL");
    *out = NULL;
    if (!spec || !spec[0]) return ie_error_set(IE_ERR_INVALID_ARG, "no plugin named: give a name or a path to a .so");
    if (ie_plugin_spec_is_path(spec)) return ie_plugin_load(spec, out);

    find_ctx *f = calloc(1, sizeof *f);
    if (!f) return ie_error_set(IE_ERR_NOMEM, "out of memory looking for plugin %s", spec);
    f->name = spec;
    ie_status st = ie_plugin_scan(find_folder, find_visit, f);
    if (st == IE_OK && f->found) {
        *out = f->found;
    } else if (st == IE_OK) {
        st = ie_error_set(IE_ERR_PLUGIN,
                          "no plugin named '%s'. Found: %s. Looked in: %s%s%s%s. Give a path to the .so, or add its "
                          "folder to INNEREYE_PLUGIN_PATH",
                          spec, f->names.len ? f->names.buf : "none", f->folders.buf,
                          getenv("INNEREYE_PLUGIN_PATH") ? "" : " (INNEREYE_PLUGIN_PATH is not set)",
                          f->broken.len ? ". Could not load (`innereye plugins` says why): " : "", f->broken.buf);
    }
    free(f);
    return st;
}

/* ---- calling ---- */

/* The plugin's own message stays; the host only says whose it is. */
static ie_status plugin_failed(const ie_loaded_plugin *p, const char *fn, ie_status st) {
    if ((int)st < IE_ERR_INVALID_ARG || (int)st > IE_ERR_INTERNAL) {
        char said[1024]; /* a copy: the message buffer is also the destination */
        snprintf(said, sizeof said, "%s", ie_error_message());
        return ie_error_set(IE_ERR_PLUGIN, "plugin %s (%s): %s returned unknown status %d%s%s", p->table.name,
                            p->path, fn, (int)st, said[0] ? ": " : "", said);
    }
    if (!ie_error_message()[0])
        return ie_error_set(st, "plugin %s (%s): %s failed (%s) without a message", p->table.name, p->path, fn,
                            ie_status_name(st));
    return ie_error_wrap(st, "plugin %s: %s failed", p->table.name, fn);
}

ie_status ie_plugin_create(const ie_loaded_plugin *p, const char *config_json, const ie_host *host, ie_model **out) {
    if (!p || !out) return ie_error_set(IE_ERR_INVALID_ARG, "ie_plugin_create: plugin or out is NULL");
    *out = NULL;
    ie_model *model = NULL;
    ie_error_clear();
    ie_status st = IE_GUARDED(p, "create", p->table.create(config_json ? config_json : "{}", host, &model));
    if (st != IE_OK) return plugin_failed(p, "create", st);
    if (!model)
        return ie_error_set(IE_ERR_PLUGIN, "plugin %s (%s): create returned OK but no model", p->table.name, p->path);
    /* The model runs where the host said (plugin.h, "Devices"): its tensors
     * move once, here, whatever ABI the plugin was built for.  Nothing moves
     * on the CPU. */
    ie_params *params = host ? p->table.parameters(model) : NULL;
    if (params) {
        st = ie_params_to(params, host->device);
        if (st != IE_OK) {
            p->table.destroy(model);
            return ie_error_wrap(st, "plugin %s (%s): moving the model to %s", p->table.name, p->path,
                                 ie_device_name(host->device));
        }
    }
    *out = model;
    return IE_OK;
}

ie_status ie_plugin_forward(const ie_loaded_plugin *p, ie_model *model, const ie_batch *batch, bool training,
                            ie_tensor **out) {
    if (!p || !model || !batch || !out)
        return ie_error_set(IE_ERR_INVALID_ARG, "ie_plugin_forward: plugin, model, batch or out is NULL");
    *out = NULL;
    ie_tensor *y = NULL;
    ie_error_clear();
    ie_status st =
        IE_GUARDED(p, training ? "forward (training)" : "forward", p->table.forward(model, batch, training, &y));
    if (st != IE_OK) return plugin_failed(p, "forward", st);
    if (!y)
        return ie_error_set(IE_ERR_PLUGIN, "plugin %s (%s): forward returned OK but no output", p->table.name,
                            p->path);
    *out = y;
    return IE_OK;
}

ie_status ie_plugin_forward_deep(const ie_loaded_plugin *p, ie_model *model, const ie_batch *batch, ie_tensor **out,
                                 ie_tensor *aux[IE_PLUGIN_MAX_AUX], int *n_aux) {
    if (!p || !model || !batch || !out || !aux || !n_aux)
        return ie_error_set(IE_ERR_INVALID_ARG, "ie_plugin_forward_deep: NULL argument");
    *out = NULL;
    *n_aux = 0;
    if (!p->table.forward_deep)
        return ie_error_set(IE_ERR_CONFIG,
                            "train.deep_supervision is true, but plugin %s (%s, ABI %u.%u) has no forward_deep "
                            "(plugin ABI 1.4) and so no auxiliary outputs; set train.deep_supervision to false",
                            p->table.name, p->path, p->table.abi_major, p->table.abi_minor);
    ie_tensor *y = NULL, *a[IE_PLUGIN_MAX_AUX] = {0};
    int n = 0;
    ie_error_clear();
    ie_status st = IE_GUARDED(p, "forward_deep", p->table.forward_deep(model, batch, &y, a, IE_PLUGIN_MAX_AUX, &n));
    if (st == IE_OK && (!y || n < 0 || n > IE_PLUGIN_MAX_AUX)) {
        st = ie_error_set(IE_ERR_PLUGIN, "plugin %s (%s): forward_deep returned OK but %s", p->table.name, p->path,
                          !y ? "no output" : "an auxiliary output count outside 0..max_aux");
        n = n < 0 ? 0 : n > IE_PLUGIN_MAX_AUX ? IE_PLUGIN_MAX_AUX : n;
    }
    for (int i = 0; st == IE_OK && i < n; i++)
        if (!a[i]) st = ie_error_set(IE_ERR_PLUGIN, "plugin %s (%s): forward_deep's auxiliary output %d is NULL",
                                     p->table.name, p->path, i);
    if (st != IE_OK) {
        ie_tensor_release(y);
        for (int i = 0; i < n; i++) ie_tensor_release(a[i]);
        return st == IE_ERR_PLUGIN ? st : plugin_failed(p, "forward_deep", st);
    }
    *out = y;
    for (int i = 0; i < n; i++) aux[i] = a[i];
    *n_aux = n;
    return IE_OK;
}

ie_status ie_plugin_validate_config(const ie_loaded_plugin *p, const char *config_json) {
    if (!p) return ie_error_set(IE_ERR_INVALID_ARG, "ie_plugin_validate_config: plugin is NULL");
    if (!p->table.validate_config) return IE_OK;
    ie_error_clear();
    ie_status st = IE_GUARDED(p, "validate_config", p->table.validate_config(config_json ? config_json : "{}"));
    return st == IE_OK ? IE_OK : plugin_failed(p, "validate_config", st);
}
