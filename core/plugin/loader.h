/* core/plugin - loading model plugins: dlopen, the ABI checks, the host's
 * full-size copy of the table, finding plugins by path or name, and calling
 * a plugin's functions so that its failures read as the plugin's own words.
 *
 * Host-side only: plugins never see these declarations (they see
 * innereye/plugin.h). */
#ifndef IE_CORE_PLUGIN_LOADER_H
#define IE_CORE_PLUGIN_LOADER_H

#include <stddef.h>

#include "innereye/plugin.h"

/* Size of the ABI 1.0 table: the smallest struct_size a 1.x plugin may
 * report.  Fields appended by later minors start at or after it. */
#define IE_PLUGIN_SIZE_1_0 offsetof(ie_plugin, validate_config)

/* A plugin the host has opened and accepted. */
typedef struct ie_loaded_plugin {
    /* The plugin's table copied into this host's full-size layout; fields
     * beyond the plugin's struct_size are zero (optional functions NULL).
     * table.struct_size, abi_major and abi_minor keep the plugin's values.
     * Its strings and functions live in the shared object: valid until
     * ie_plugin_unload. */
    ie_plugin table;
    char *path;       /* as given to ie_plugin_load (owned) */
    char sha256[65];  /* of the shared object's bytes, lower-case hex */
    void *handle;     /* dlopen handle */
} ie_loaded_plugin;

/* Opens the shared object at `path` (RTLD_NOW | RTLD_LOCAL), calls its entry
 * symbol and checks the table.  A refusal is IE_ERR_PLUGIN with a message
 * naming the file and what is wrong (and both ABI versions where those are
 * the problem); nothing of the plugin stays loaded then. */
ie_status ie_plugin_load(const char *path, ie_loaded_plugin **out);
void ie_plugin_unload(ie_loaded_plugin *plugin); /* NULL is allowed */

/* True when `spec` names a file rather than a plugin: it contains '/' or
 * ends in ".so". */
bool ie_plugin_spec_is_path(const char *spec);

/* Loads a plugin by explicit path, or by name: first among the built-in
 * models, then on INNEREYE_PLUGIN_PATH.  A name that is not found gives a
 * message listing the names found and the folders searched. */
ie_status ie_plugin_find(const char *spec, ie_loaded_plugin **out);

/* The built-in models folder, <dir of libinnereye.so>/innereye/models. */
ie_status ie_plugin_builtin_dir(char *buf, size_t size);

/* Where a scanned plugin file was found. */
typedef enum ie_plugin_origin {
    IE_PLUGIN_ORIGIN_BUILTIN = 0,
    IE_PLUGIN_ORIGIN_SEARCH_PATH = 1 /* INNEREYE_PLUGIN_PATH */
} ie_plugin_origin;

const char *ie_plugin_origin_name(ie_plugin_origin origin);

/* One shared object met while scanning: either loaded (`*plugin` non-NULL)
 * or refused (status and message say why).  A visitor may keep a loaded
 * plugin by taking it (setting *plugin to NULL); the scanner unloads what is
 * left.  Returning true stops the scan. */
typedef bool (*ie_plugin_visit_fn)(void *ctx, const char *path, ie_plugin_origin origin,
                                   ie_loaded_plugin **plugin, ie_status status, const char *message);
/* Called once per folder searched, before its files (exists: the folder
 * could be opened). */
typedef void (*ie_plugin_folder_fn)(void *ctx, const char *dir, ie_plugin_origin origin, bool exists);

/* Visits every *.so in the built-in models folder, then in each folder of
 * INNEREYE_PLUGIN_PATH, in name order within a folder.  folder may be NULL.
 * Fails only when the built-in folder cannot be located. */
ie_status ie_plugin_scan(ie_plugin_folder_fn folder, ie_plugin_visit_fn visit, void *ctx);

/* ---- calling a plugin ----
 * These call the table's function and make sure a failure carries a message
 * that names the plugin and keeps the plugin's own words; they also refuse
 * results that break the contract (OK with a NULL output). */
/* create(), then the model's parameters() moved to host->device (plugin.h,
 * "Devices"); a model that cannot move is destroyed and refused. */
ie_status ie_plugin_create(const ie_loaded_plugin *plugin, const char *config_json, const ie_host *host,
                           ie_model **out);
ie_status ie_plugin_forward(const ie_loaded_plugin *plugin, ie_model *model, const ie_batch *batch,
                            bool training, ie_tensor **out);
/* A training forward with deep supervision's auxiliary outputs (ABI 1.4
 * forward_deep): aux gets up to IE_PLUGIN_MAX_AUX new references, their
 * count in *n_aux.  A plugin without forward_deep is refused with a message
 * that names it and train.deep_supervision. */
ie_status ie_plugin_forward_deep(const ie_loaded_plugin *plugin, ie_model *model, const ie_batch *batch,
                                 ie_tensor **out, ie_tensor *aux[IE_PLUGIN_MAX_AUX], int *n_aux);
/* Runs validate_config when the plugin has one (IE_OK when it has none). */
ie_status ie_plugin_validate_config(const ie_loaded_plugin *plugin, const char *config_json);

#endif
