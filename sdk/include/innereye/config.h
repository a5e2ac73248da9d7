/* innereye/config.h - experiment configuration: JSON files, command-line
 * overrides, schema validation and the resolved config.
 *
 * How a config is built (docs/config.md is the user's reference):
 *
 *   1. Files.  ie_config_add_file loads a JSON object.  Its "extends" (a file
 *      name, or an array of names applied in order) is looked up relative to
 *      the extending file's folder, then in each search folder
 *      (ie_config_add_search_dir, typically the project's configs/).  Parents
 *      are merged first, the extending file on top, as an RFC 7396 merge patch:
 *      objects merge key by key, arrays and scalars replace, null deletes a key
 *      (so its default applies again).  Several files merge in the order added.
 *   2. Overrides.  ie_config_set ("train.epochs=3") or ie_config_parse_args
 *      (--set PATH=VALUE, --num_epochs=3, ...) queue overrides; they are applied
 *      after all files, in the order given.
 *   3. Resolve.  ie_config_resolve merges, checks every key against the schema
 *      (core/config/schema.c), fills defaults for missing keys and runs the
 *      cross-key checks.  All problems are reported together, each naming the
 *      file (or command-line flag) that set the key and its dotted path.
 *
 * After a successful resolve the config is read through typed getters by
 * dotted path, or as canonical JSON text (sorted keys, no white space, fixed
 * number spelling) whose SHA-256 identifies the experiment.  Plugins receive
 * that text (or a section of it, ie_config_get_json); they never see this
 * object.
 *
 * Strings returned as const char * belong to the config and live until the
 * next ie_config_resolve or ie_config_free.  Not thread-safe while being
 * built; concurrent reads of a resolved config are fine. */
#ifndef INNEREYE_CONFIG_H
#define INNEREYE_CONFIG_H

#include "innereye/api.h"

#include <stdbool.h>
#include <stdint.h>

#include "innereye/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ie_config ie_config;
struct cJSON; /* <cjson/cJSON.h>; only hosts that link cJSON themselves need it */

IE_API ie_status ie_config_new(ie_config **out);
IE_API void ie_config_free(ie_config *cfg);

/* A folder where "extends" names are looked up after the extending file's own
 * folder (in the order added). */
IE_API ie_status ie_config_add_search_dir(ie_config *cfg, const char *dir);

/* Loads a config file with its "extends" chain and merges it over the files
 * loaded before.  Fails at once (IE_ERR_IO / IE_ERR_CONFIG) for a missing
 * file, a JSON syntax error ("file:line:col"), an extends cycle or a
 * duplicate key. */
IE_API ie_status ie_config_add_file(ie_config *cfg, const char *path);

/* The same for JSON text; `name` stands for the file name in messages and
 * provenance, and relative "extends" are looked up in the search folders. */
IE_API ie_status ie_config_add_text(ie_config *cfg, const char *json_text, const char *name);

/* Queues the override "dotted.path=value".  The value is JSON when it parses
 * as JSON (numbers, true/false, null, arrays, objects, "quoted strings"),
 * otherwise a plain string; for keys the schema types as string or enum the
 * text is always taken as a string, and for bool keys True/False are accepted.
 * `source` names the override in messages (NULL: "--set PATH=VALUE"). */
IE_API ie_status ie_config_set(ie_config *cfg, const char *assignment, const char *source);

/* Consumes the config flags of a command line (the arguments after the
 * subcommand) and hands back the others, in order, for the command:
 *   --config FILE           ie_config_add_file (repeatable)
 *   --set PATH=VALUE        ie_config_set
 *   InnerEye's flags (--model, --num_epochs, --train/--no-train, --l_rate, ...)
 *   and --threads, --output-dir, --seed, mapped to their keys (the table is in
 *   docs/config.md).  Both --flag=value and --flag value are accepted; "--"
 *   ends option parsing (it and what follows are handed back).
 * rest_argv must have room for argc pointers; it receives pointers into argv.
 * A value flag without a value is an IE_ERR_INVALID_ARG naming the flag. */
IE_API ie_status ie_config_parse_args(ie_config *cfg, int argc, char **argv, int *rest_argc, char **rest_argv);

/* Merges files and overrides, validates against the schema and fills
 * defaults.  On failure returns IE_ERR_CONFIG; the status message lists the
 * problems one per line (cut short if very long: ie_config_problems has them
 * all).  May be called again after more files or overrides are added. */
IE_API ie_status ie_config_resolve(ie_config *cfg);

/* Every problem found by the last ie_config_resolve, one per line ("" if none). */
IE_API const char *ie_config_problems(const ie_config *cfg);

/* ---- the resolved config (each fails with IE_ERR_STATE before a successful resolve) */

/* Canonical JSON: keys sorted bytewise, no white space, integers without a
 * fraction or exponent, other numbers in the shortest %.17g spelling that
 * reads back exactly.  Stable across runs, machines and key order in files. */
IE_API const char *ie_config_text(const ie_config *cfg);
/* The same content indented for people (the run folder's config.json). */
IE_API const char *ie_config_text_pretty(const ie_config *cfg);
/* SHA-256 of ie_config_text, as 64 lower-case hex digits. */
IE_API ie_status ie_config_sha256(const ie_config *cfg, char hex[65]);
/* The resolved tree (owned by cfg; do not modify). */
IE_API const struct cJSON *ie_config_root(const ie_config *cfg);

/* Where the value at `path` came from: a file path, the override's flag
 * ("--num_epochs=3"), or "default".  NULL if there is no such key. */
IE_API const char *ie_config_source(const ie_config *cfg, const char *path);

IE_API bool ie_config_has(const ie_config *cfg, const char *path);
/* Typed reads by dotted path.  A missing key or a value of another type is an
 * IE_ERR_CONFIG naming the path.  An int is a number with no fraction. */
IE_API ie_status ie_config_get_int(const ie_config *cfg, const char *path, int64_t *out);
IE_API ie_status ie_config_get_number(const ie_config *cfg, const char *path, double *out);
IE_API ie_status ie_config_get_bool(const ie_config *cfg, const char *path, bool *out);
IE_API ie_status ie_config_get_string(const ie_config *cfg, const char *path, const char **out);
/* Arrays: *count receives the length; more than `capacity` elements is an error. */
IE_API ie_status ie_config_get_array_length(const ie_config *cfg, const char *path, int *count);
IE_API ie_status ie_config_get_int_array(const ie_config *cfg, const char *path, int64_t *out, int capacity,
                                  int *count);
IE_API ie_status ie_config_get_number_array(const ie_config *cfg, const char *path, double *out,
                                     int capacity, int *count);
IE_API ie_status ie_config_get_string_array(const ie_config *cfg, const char *path, const char **out,
                                     int capacity, int *count);
/* Canonical JSON text of any value or section ("model.params"; "" for the
 * whole config), for plugins.
 * Free it with ie_config_string_free. */
IE_API ie_status ie_config_get_json(const ie_config *cfg, const char *path, char **out);
IE_API void ie_config_string_free(char *s);

/* ---- documentation generated from the schema and the flag table */

/* The markdown table of every schema key (path, type, default, range, meaning)
 * and the table of command-line flags; docs/config.md embeds both and a test
 * checks that they match.  Free with ie_config_string_free. */
IE_API ie_status ie_config_schema_markdown(char **out);
IE_API ie_status ie_config_flags_markdown(char **out);

#ifdef __cplusplus
}
#endif
#endif
