/* core/checkpoint - checkpoint files of a training run. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "core/checkpoint/checkpoint.h"
#include "core/checkpoint/safetensors.h"
#include "core/tensor/tensor_impl.h"
#include "core/util/file_util.h"
#include "core/util/path.h"

static void sync_dir(const char *dir) {
    int fd = open(dir, O_RDONLY | O_DIRECTORY);
    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
}

static ie_status ensure_dir(const char *dir) {
    if (mkdir(dir, 0755) != 0 && errno != EEXIST)
        return ie_error_set(IE_ERR_IO, "%s: cannot create the folder: %s", dir, strerror(errno));
    return IE_OK;
}

static char *state_json(const ie_trainer_state *s, const char *weights, const char *optimizer) {
    cJSON *j = cJSON_CreateObject();
    cJSON_AddNumberToObject(j, "epoch", s->epoch);
    cJSON_AddNumberToObject(j, "global_step", (double)s->global_step);
    cJSON_AddNumberToObject(j, "lr", s->lr);
    char seed[32];
    snprintf(seed, sizeof seed, "%llu", (unsigned long long)s->seed); /* exact beyond 2^53 */
    cJSON_AddStringToObject(j, "seed", seed);
    cJSON_AddNumberToObject(j, "log_rows", s->log_rows);
    cJSON_AddStringToObject(j, "config_sha256", s->config_sha256);
    cJSON_AddStringToObject(j, "weights", weights);
    cJSON_AddStringToObject(j, "optimizer", optimizer);
    char *text = cJSON_Print(j);
    cJSON_Delete(j);
    return text;
}

ie_status ie_checkpoint_save(const char *run_dir, const ie_trainer_state *state, const ie_params *params,
                             const ie_optimizer *optimizer) {
    char dir[3000], path[4096], weights[64], opt_name[64], state_name[64];
    if (strlen(run_dir) > IE_RUN_DIR_MAX)
        return ie_error_set(IE_ERR_IO, "checkpoint: the run folder's path is longer than %d bytes: %s", IE_RUN_DIR_MAX,
                            run_dir);
    IE_TRY(ie_path_format(dir, sizeof dir, "%s/checkpoints", run_dir));
    IE_TRY(ensure_dir(dir));
    snprintf(weights, sizeof weights, "epoch_%04d.safetensors", state->epoch);
    snprintf(opt_name, sizeof opt_name, "epoch_%04d.optimizer.safetensors", state->epoch);
    snprintf(state_name, sizeof state_name, "epoch_%04d.json", state->epoch);
    IE_TRY(ie_path_join(path, sizeof path, dir, weights));
    IE_TRY(ie_safetensors_write(path, params));
    if (optimizer) {
        IE_TRY(ie_path_join(path, sizeof path, dir, opt_name));
        ie_params *opt_state = NULL;
        IE_TRY(ie_optimizer_state_save(optimizer, &opt_state));
        ie_status st = ie_safetensors_write(path, opt_state);
        ie_params_free(opt_state);
        IE_TRY(st);
    }
    char *text = state_json(state, weights, optimizer ? opt_name : "");
    if (!text) return ie_error_set(IE_ERR_NOMEM, "checkpoint: out of memory");
    ie_status st = ie_path_join(path, sizeof path, dir, state_name);
    if (st == IE_OK) st = ie_write_file_atomic(path, text, strlen(text));
    sync_dir(dir);
    if (st == IE_OK) st = ie_path_join(path, sizeof path, dir, "last.json");
    if (st == IE_OK) {
        st = ie_write_file_atomic(path, text, strlen(text));
        sync_dir(dir);
    }
    free(text);
    return st;
}

ie_status ie_params_check_finite(const ie_params *params, const char *source_name) {
    for (int i = 0; i < ie_params_count(params); i++) {
        const ie_tensor *t = ie_params_tensor(params, i);
        if (ie_tensor_dtype(t) != IE_F32) continue;
        const float *v = ie_tensor_data_f32(t);
        int64_t n = ie_tensor_numel(t), bad = 0;
        for (int64_t k = 0; k < n; k++) bad += !isfinite(v[k]);
        if (bad)
            return ie_error_set(IE_ERR_NUMERIC, "%s: tensor '%s' holds %lld NaN or infinite value%s (of %lld); these "
                                "weights are unusable (did the training diverge?): use an earlier checkpoint",
                                source_name, ie_params_name(params, i), (long long)bad, bad == 1 ? "" : "s",
                                (long long)n);
    }
    return IE_OK;
}

ie_status ie_params_copy_from(ie_params *params, const ie_params *source, const char *source_name,
                              int require_all) {
    char a[96], b[96];
    /* NaN weights would give all-zero outputs without a word. */
    IE_TRY(ie_params_check_finite(source, source_name));
    for (int i = 0; i < ie_params_count(params); i++) {
        const char *name = ie_params_name(params, i);
        ie_tensor *dst = ie_params_tensor(params, i), *src = ie_params_find(source, name);
        if (!src) {
            if (!require_all) continue;
            return ie_error_set(IE_ERR_IO, "%s: has no tensor '%s' that the model needs; was it written by "
                                           "another model or configuration?",
                                source_name, name);
        }
        if (!ie_tensor_same_shape(dst, src) || ie_tensor_dtype(dst) != ie_tensor_dtype(src))
            return ie_error_set(IE_ERR_IO, "%s: tensor '%s' is %s, the model's is %s", source_name, name,
                                ie_tensor_describe(src, a, sizeof a), ie_tensor_describe(dst, b, sizeof b));
        IE_TRY(ie_tensor_copy_data(dst, src));
    }
    return IE_OK;
}


/* Restores the checkpoint whose trainer state is the JSON file `path`. */
static ie_status load_state_file(const char *run_dir, const char *path, ie_trainer_state *state, ie_params *params,
                                 ie_optimizer *optimizer) {
    char *text = NULL;
    IE_TRY(ie_read_file(path, &text, NULL));
    cJSON *j = cJSON_Parse(text);
    free(text);
    cJSON *epoch = cJSON_GetObjectItem(j, "epoch"), *step = cJSON_GetObjectItem(j, "global_step"),
          *lr = cJSON_GetObjectItem(j, "lr"), *seed = cJSON_GetObjectItem(j, "seed"),
          *rows = cJSON_GetObjectItem(j, "log_rows"), *hash = cJSON_GetObjectItem(j, "config_sha256"),
          *weights = cJSON_GetObjectItem(j, "weights"), *opt = cJSON_GetObjectItem(j, "optimizer");
    if (!cJSON_IsNumber(epoch) || !cJSON_IsNumber(step) || !cJSON_IsNumber(lr) || !cJSON_IsString(seed) ||
        !cJSON_IsNumber(rows) || !cJSON_IsString(hash) || !cJSON_IsString(weights) || !cJSON_IsString(opt) ||
        strchr(weights->valuestring, '/') || strchr(opt->valuestring, '/')) {
        cJSON_Delete(j);
        return ie_error_set(IE_ERR_IO, "%s: not a valid checkpoint record (missing or mistyped fields)", path);
    }
    memset(state, 0, sizeof *state);
    state->epoch = epoch->valueint;
    state->global_step = (int64_t)step->valuedouble;
    state->lr = lr->valuedouble;
    state->seed = strtoull(seed->valuestring, NULL, 10);
    state->log_rows = rows->valueint;
    snprintf(state->config_sha256, sizeof state->config_sha256, "%s", hash->valuestring);
    char weights_path[8192], opt_path[8192];
    ie_status fits =
        ie_path_format(weights_path, sizeof weights_path, "%s/checkpoints/%s", run_dir, weights->valuestring);
    if (fits == IE_OK) fits = ie_path_format(opt_path, sizeof opt_path, "%s/checkpoints/%s", run_dir, opt->valuestring);
    bool has_opt = opt->valuestring[0] != '\0';
    cJSON_Delete(j);
    IE_TRY(fits);

    ie_params *saved = NULL;
    IE_TRY(ie_safetensors_read(weights_path, &saved));
    ie_status st = ie_params_copy_from(params, saved, weights_path, 1);
    ie_params_free(saved);
    IE_TRY(st);
    if (optimizer && has_opt) {
        ie_params *opt_state = NULL;
        IE_TRY(ie_safetensors_read(opt_path, &opt_state));
        st = ie_params_check_finite(opt_state, opt_path);
        if (st == IE_OK) st = ie_optimizer_state_load(optimizer, opt_state);
        ie_params_free(opt_state);
        if (st != IE_OK) return ie_error_wrap(st, "%s", opt_path);
    }
    return IE_OK;
}

ie_status ie_checkpoint_load_last(const char *run_dir, ie_trainer_state *state, ie_params *params,
                                  ie_optimizer *optimizer) {
    char path[4096];
    if (strlen(run_dir) > IE_RUN_DIR_MAX)
        return ie_error_set(IE_ERR_IO, "checkpoint: the run folder's path is longer than %d bytes: %s", IE_RUN_DIR_MAX,
                            run_dir);
    IE_TRY(ie_path_format(path, sizeof path, "%s/checkpoints/last.json", run_dir));
    struct stat sb;
    if (stat(path, &sb) != 0)
        return ie_error_set(IE_ERR_IO, "%s has no checkpoint to resume from (%s: %s; was it stopped before its first "
                            "checkpoint?)", run_dir, path, strerror(errno));
    return load_state_file(run_dir, path, state, params, optimizer);
}

static int by_name_descending(const struct dirent **a, const struct dirent **b) {
    return strcmp((*b)->d_name, (*a)->d_name);
}

/* epoch_NNNN.json, not epoch_NNNN.optimizer... */
static int is_state_file(const struct dirent *e) {
    size_t n = strlen(e->d_name);
    return !strncmp(e->d_name, "epoch_", 6) && n == 15 && !strcmp(e->d_name + 10, ".json");
}

ie_status ie_checkpoint_load_latest(const char *run_dir, ie_trainer_state *state, ie_params *params,
                                    ie_optimizer *optimizer, char *note, size_t note_size) {
    note[0] = '\0';
    ie_status st = ie_checkpoint_load_last(run_dir, state, params, optimizer);
    if (st == IE_OK) return IE_OK;
    char why[1024], dir[4200];
    snprintf(why, sizeof why, "%s", ie_error_message());
    if (ie_path_format(dir, sizeof dir, "%s/checkpoints", run_dir) != IE_OK) return ie_error_set(st, "%s", why);
    struct dirent **entries = NULL;
    int n = scandir(dir, &entries, is_state_file, by_name_descending);
    if (n < 0) return ie_error_set(st, "%s", why);
    int used = -1;
    for (int i = 0; i < n; i++) {
        char path[4600];
        if (used < 0 && ie_path_join(path, sizeof path, dir, entries[i]->d_name) == IE_OK &&
            load_state_file(run_dir, path, state, params, optimizer) == IE_OK) used = i;
        free(entries[i]);
    }
    free(entries);
    if (used < 0)
        return ie_error_set(st, "%s has no usable checkpoint (the last one: %s; every epoch_NNNN.json in %s failed "
                            "too): start the run again", run_dir, why, dir);
    snprintf(note, note_size, "the last checkpoint cannot be used (%s); continuing from the newest one that can: "
             "epoch %d (the epochs after it are trained again)", why, state->epoch);
    return IE_OK;
}
