/* core/run - building and reading ensemble folders. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "core/plugin/model_settings.h"
#include "core/run/ensemble.h"
#include "core/util/file_util.h"
#include "core/util/path.h"
#include "core/util/sha256.h"
#include "innereye/config.h"

static char *read_all(const char *path) {
    char *text = NULL;
    return ie_read_file(path, &text, NULL) == IE_OK ? text : NULL;
}

/* Copies in pieces (weights can be large) into the ensemble's temporary
 * folder, which is renamed only when complete; fsync'd so that the renamed
 * folder never holds a file cut short by a crash. */
static ie_status copy_file(const char *from, const char *to) {
    FILE *in = fopen(from, "rb");
    if (!in) return ie_error_set(IE_ERR_IO, "%s: cannot read: %s", from, strerror(errno));
    FILE *out = fopen(to, "wb");
    if (!out) {
        fclose(in);
        return ie_error_set(IE_ERR_IO, "%s: cannot write: %s", to, strerror(errno));
    }
    char buf[1 << 16];
    size_t n;
    bool ok = true;
    int err = 0; /* the first failure's errno: later calls may change it */
    while (ok && (n = fread(buf, 1, sizeof buf, in)) > 0)
        if (fwrite(buf, 1, n, out) != n) ok = false, err = errno;
    bool read_ok = !ferror(in);
    fclose(in);
    if (!read_ok) {
        fclose(out);
        remove(to);
        return ie_error_set(IE_ERR_IO, "%s: reading failed while copying it to %s", from, to);
    }
    if (ok && fflush(out) != 0) ok = false, err = errno;
    if (ok && (err = ie_sync_fd(fileno(out))) != 0) ok = false;
    if (fclose(out) != 0 && ok) ok = false, err = errno;
    if (!ok) {
        remove(to);
        return ie_error_set(IE_ERR_IO, "%s: writing failed: %s; %s", to, strerror(err ? err : EIO),
                            err == ENOSPC ? "free some disk space" : "check the folder");
    }
    return IE_OK;
}

/* What members must agree on, as canonical JSON text. */
static ie_status compatibility_key(const ie_config *cfg, char *out, size_t size) {
    ie_model_settings m;
    char *classes = NULL, *channels = NULL;
    IE_TRY(ie_model_settings_read(cfg, &m));
    const char *model = m.name, *plugin = m.plugin;
    char *labels = NULL;
    IE_TRY(ie_config_get_json(cfg, "data.classes", &classes));
    ie_status st = ie_config_get_json(cfg, "data.image_channels", &channels);
    if (st == IE_OK) st = ie_config_get_json(cfg, "data.scalar.label_columns", &labels);
    if (st == IE_OK) snprintf(out, size, "model %s%s%s, classes %s, image channels %s", model, plugin[0] ? " from " : "", plugin, classes, channels);
    /* Classification and regression members must predict the same outputs. */
    if (st == IE_OK && strcmp(labels, "[]") != 0) {
        size_t n = strlen(out);
        snprintf(out + n, size - n, ", label columns %s", labels);
    }
    ie_config_string_free(classes);
    ie_config_string_free(channels);
    ie_config_string_free(labels);
    return st;
}

/* Removes what build_into wrote into a folder that never became an
 * ensemble (only the files it writes; the folder goes if that empties it). */
static void remove_partial(const char *dir, int count) {
    static const char *const files[] = {"weights.safetensors", "config.resolved.json", "data_statistics.json"};
    char path[4400];
    for (int i = 0; i < count; i++) {
        for (size_t f = 0; f < sizeof files / sizeof files[0]; f++) {
            if (ie_path_format(path, sizeof path, "%s/members/%d/%s", dir, i, files[f]) == IE_OK) remove(path);
        }
        if (ie_path_format(path, sizeof path, "%s/members/%d", dir, i) == IE_OK) rmdir(path);
    }
    if (ie_path_format(path, sizeof path, "%s/manifest.json", dir) == IE_OK) remove(path);
    if (ie_path_format(path, sizeof path, "%s/members", dir) == IE_OK) rmdir(path);
    rmdir(dir);
}

static ie_status build_into(const char *const *runs, int count, const char *out);

static ie_status create(const char *const *runs, int count, const char *out);

/* Built under a temporary name and renamed: an ensemble folder is either
 * complete or absent. */
ie_status ie_ensemble_create(const char *const *runs, int count, const char *out) {
    if (count < 2 || count > IE_ENSEMBLE_MAX_MEMBERS)
        return ie_error_set(IE_ERR_INVALID_ARG, "ensemble: needs 2 to %d runs, got %d", IE_ENSEMBLE_MAX_MEMBERS, count);
    return create(runs, count, out);
}

ie_status ie_ensemble_create_single(const char *run, const char *out) { return create(&run, 1, out); }

static ie_status create(const char *const *runs, int count, const char *out) {
    struct stat sb;
    if (stat(out, &sb) == 0)
        return ie_error_set(IE_ERR_IO, "%s: already exists; an ensemble folder is never overwritten", out);
    char partial[4096];
    IE_TRY(ie_path_format(partial, sizeof partial, "%s.partial.%ld", out, (long)getpid()));
    if (mkdir(partial, 0755) != 0) return ie_error_set(IE_ERR_IO, "%s: cannot create: %s", partial, strerror(errno));
    ie_status st = build_into(runs, count, partial);
    if (st == IE_OK && rename(partial, out) != 0)
        st = ie_error_set(IE_ERR_IO, "%s: cannot rename to %s: %s", partial, out, strerror(errno));
    if (st != IE_OK) remove_partial(partial, count);
    return st;
}

/* A run's final weights file and epoch, from its last checkpoint record. */
static ie_status final_weights(const char *run, char *path, size_t size, double *epoch) {
    char last[4200];
    IE_TRY(ie_path_format(last, sizeof last, "%s/checkpoints/last.json", run));
    char *text = read_all(last);
    if (!text) return ie_error_set(IE_ERR_IO, "%s: no checkpoint: is %s a finished run?", last, run);
    cJSON *rec = cJSON_Parse(text);
    free(text);
    cJSON *weights = cJSON_GetObjectItem(rec, "weights"), *e = cJSON_GetObjectItem(rec, "epoch");
    ie_status st = cJSON_IsString(weights) ? IE_OK : ie_error_set(IE_ERR_IO, "%s: no weights entry", last);
    if (st == IE_OK) st = ie_path_format(path, size, "%s/checkpoints/%s", run, weights->valuestring);
    if (epoch) *epoch = cJSON_IsNumber(e) ? e->valuedouble : 0;
    cJSON_Delete(rec);
    return st;
}

static ie_status build_into(const char *const *runs, int count, const char *out) {
    char path[4400], key0[2048] = "", key[2048];
    IE_TRY(ie_path_format(path, sizeof path, "%s/members", out));
    mkdir(path, 0755);
    cJSON *manifest = cJSON_CreateObject(), *members = cJSON_AddArrayToObject(manifest, "members");
    ie_status st = IE_OK;
    for (int i = 0; st == IE_OK && i < count; i++) {
        char config_path[4200], member[4300], dst[4400], hex[IE_SHA256_HEX_SIZE];
        ie_config *cfg = NULL;
        st = ie_path_format(config_path, sizeof config_path, "%s/config.resolved.json", runs[i]);
        if (st == IE_OK) st = ie_config_new(&cfg);
        if (st == IE_OK) st = ie_config_add_file(cfg, config_path);
        if (st == IE_OK) st = ie_config_resolve(cfg);
        if (st == IE_OK) st = compatibility_key(cfg, i ? key : key0, sizeof key);
        if (st == IE_OK && i && strcmp(key, key0) != 0)
            st = ie_error_set(IE_ERR_CONFIG, "ensemble: %s is not compatible with %s: %s vs %s", runs[i], runs[0], key, key0);
        char sha[IE_SHA256_HEX_SIZE] = "";
        if (st == IE_OK) st = ie_config_sha256(cfg, sha);
        char src[4200];
        double epoch = 0;
        if (st == IE_OK) st = final_weights(runs[i], src, sizeof src, &epoch);
        if (st == IE_OK) st = ie_path_format(member, sizeof member, "%s/members/%d", out, i);
        if (st == IE_OK && mkdir(member, 0755) != 0) st = ie_error_set(IE_ERR_IO, "%s: %s", member, strerror(errno));
        if (st == IE_OK) st = ie_path_format(dst, sizeof dst, "%s/weights.safetensors", member);
        if (st == IE_OK) st = copy_file(src, dst);
        if (st == IE_OK) st = ie_sha256_file_hex(dst, hex);
        if (st == IE_OK) st = ie_path_format(dst, sizeof dst, "%s/config.resolved.json", member);
        if (st == IE_OK) st = copy_file(config_path, dst);
        /* A classification / regression run's statistics travel with it. */
        char stats_src[4300], stats_hex[IE_SHA256_HEX_SIZE] = "";
        if (st == IE_OK) st = ie_path_format(stats_src, sizeof stats_src, "%s/data_statistics.json", runs[i]);
        struct stat sb;
        if (st == IE_OK && stat(stats_src, &sb) == 0) {
            st = ie_path_format(dst, sizeof dst, "%s/data_statistics.json", member);
            if (st == IE_OK) st = copy_file(stats_src, dst);
            if (st == IE_OK) st = ie_sha256_file_hex(dst, stats_hex);
        }
        if (st == IE_OK) {
            cJSON *m = cJSON_CreateObject();
            cJSON_AddStringToObject(m, "source_run", runs[i]);
            cJSON_AddStringToObject(m, "config_sha256", sha);
            cJSON_AddStringToObject(m, "weights", "weights.safetensors");
            cJSON_AddStringToObject(m, "weights_sha256", hex);
            cJSON_AddNumberToObject(m, "epoch", epoch);
            if (stats_hex[0]) {
                cJSON_AddStringToObject(m, "statistics", "data_statistics.json");
                cJSON_AddStringToObject(m, "statistics_sha256", stats_hex);
            }
            cJSON_AddItemToArray(members, m);
        }
        ie_config_free(cfg);
    }
    if (st == IE_OK) {
        cJSON_AddStringToObject(manifest, "kind", "innereye-ensemble");
        cJSON_AddStringToObject(manifest, "compatibility", key0);
        cJSON_AddStringToObject(manifest, "combine", "mean of posteriors (segmentation), probabilities "
                                                     "(classification) or values (regression)");
        char *text = cJSON_Print(manifest);
        st = ie_path_format(path, sizeof path, "%s/manifest.json", out);
        if (st == IE_OK) st = ie_write_file_atomic(path, text, strlen(text));
        free(text);
    }
    cJSON_Delete(manifest);
    return st;
}

bool ie_ensemble_is(const char *dir) {
    char path[4200];
    struct stat s;
    return ie_path_format(path, sizeof path, "%s/manifest.json", dir) == IE_OK && stat(path, &s) == 0;
}

/* dir's manifest.json, parsed; path receives its name for messages. */
static ie_status read_manifest(const char *dir, char path[4200], cJSON **out) {
    IE_TRY(ie_path_format(path, 4200, "%s/manifest.json", dir));
    char *text = read_all(path);
    *out = text ? cJSON_Parse(text) : NULL;
    free(text);
    return *out ? IE_OK : ie_error_set(IE_ERR_IO, "%s: cannot read the ensemble manifest", path);
}

ie_status ie_ensemble_members(const char *dir, ie_ensemble_paths **out, int *count) {
    *out = NULL;
    *count = 0;
    char path[4200];
    cJSON *m = NULL;
    IE_TRY(read_manifest(dir, path, &m));
    cJSON *members = cJSON_GetObjectItem(m, "members");
    int n = cJSON_GetArraySize(members);
    ie_status st = IE_OK;
    if (!cJSON_IsArray(members) || n < 1) st = ie_error_set(IE_ERR_IO, "%s: no members", path);
    else if (n > IE_ENSEMBLE_MAX_MEMBERS)
        st = ie_error_set(IE_ERR_UNSUPPORTED, "%s: %d members; innereye combines at most %d (build an ensemble of "
                          "fewer runs)", path, n, IE_ENSEMBLE_MAX_MEMBERS);
    ie_ensemble_paths *paths = st == IE_OK ? calloc((size_t)n, sizeof *paths) : NULL;
    if (st == IE_OK && !paths) st = ie_error_set(IE_ERR_NOMEM, "out of memory");
    for (int i = 0; st == IE_OK && i < n; i++) {
        char hex[IE_SHA256_HEX_SIZE];
        cJSON *want = cJSON_GetObjectItem(cJSON_GetArrayItem(members, i), "weights_sha256");
        st = ie_path_format(paths[i].config, sizeof paths[i].config, "%s/members/%d/config.resolved.json", dir, i);
        if (st == IE_OK)
            st = ie_path_format(paths[i].weights, sizeof paths[i].weights, "%s/members/%d/weights.safetensors", dir, i);
        if (st == IE_OK) st = ie_sha256_file_hex(paths[i].weights, hex);
        if (st == IE_OK && (!cJSON_IsString(want) || strcmp(hex, want->valuestring) != 0))
            st = ie_error_set(IE_ERR_IO, "%s: its SHA-256 does not match the manifest; the ensemble was modified",
                              paths[i].weights);
    }
    cJSON_Delete(m);
    if (st != IE_OK) {
        free(paths);
        return st;
    }
    *out = paths;
    *count = n;
    return IE_OK;
}

ie_status ie_ensemble_member_info(const char *dir, int i, ie_ensemble_member *out) {
    memset(out, 0, sizeof *out);
    out->epoch = -1;
    char path[4200];
    cJSON *m = NULL;
    IE_TRY(read_manifest(dir, path, &m));
    cJSON *member = cJSON_GetArrayItem(cJSON_GetObjectItem(m, "members"), i);
    ie_status st = cJSON_IsObject(member) ? IE_OK : ie_error_set(IE_ERR_IO, "%s: no member %d", path, i);
    cJSON *source = cJSON_GetObjectItem(member, "source_run"), *epoch = cJSON_GetObjectItem(member, "epoch");
    cJSON *stats_sha = cJSON_GetObjectItem(member, "statistics_sha256");
    if (st == IE_OK && cJSON_IsString(source))
        st = ie_path_format(out->source_run, sizeof out->source_run, "%s", source->valuestring);
    if (st == IE_OK && cJSON_IsNumber(epoch)) out->epoch = (int)epoch->valuedouble;
    if (st == IE_OK && cJSON_IsString(stats_sha)) {
        char hex[IE_SHA256_HEX_SIZE];
        st = ie_path_format(out->statistics, sizeof out->statistics, "%s/members/%d/data_statistics.json", dir, i);
        if (st == IE_OK) st = ie_sha256_file_hex(out->statistics, hex);
        if (st == IE_OK && strcmp(hex, stats_sha->valuestring) != 0)
            st = ie_error_set(IE_ERR_IO, "%s: its SHA-256 does not match the manifest; the ensemble was modified",
                              out->statistics);
    } else if (st == IE_OK && out->source_run[0]) {
        struct stat sb;
        if (ie_path_format(out->statistics, sizeof out->statistics, "%s/data_statistics.json", out->source_run) !=
                IE_OK ||
            stat(out->statistics, &sb) != 0)
            out->statistics[0] = '\0';
    }
    cJSON_Delete(m);
    return st;
}

bool ie_ensemble_matches(const char *dir, const char *const *runs, int count) {
    if (!ie_ensemble_is(dir)) return false;
    char path[4200];
    cJSON *m = NULL;
    if (read_manifest(dir, path, &m) != IE_OK) return false;
    cJSON *members = cJSON_GetObjectItem(m, "members");
    bool same = cJSON_GetArraySize(members) == count;
    for (int i = 0; same && i < count; i++) {
        char hex[IE_SHA256_HEX_SIZE];
        cJSON *want = cJSON_GetObjectItem(cJSON_GetArrayItem(members, i), "weights_sha256");
        char weights[4200];
        same = cJSON_IsString(want) && final_weights(runs[i], weights, sizeof weights, NULL) == IE_OK &&
               ie_sha256_file_hex(weights, hex) == IE_OK && !strcmp(hex, want->valuestring);
    }
    cJSON_Delete(m);
    return same;
}
