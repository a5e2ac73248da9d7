/* core/train - resuming a run safely (resume.h). */
#include "core/train/resume.h"

#include <dirent.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/util/path.h"
#include "core/util/strmap.h"
#include "core/util/sha256.h"

bool ie_resume_key_allowed(const char *key) {
    /* Each is documented to leave weights and metrics byte for byte as they
     * are (docs/guide.md, Reproducibility). */
    static const char *const allowed[] = {"run.threads", "data.workers", "data.prefetch", "data.cache_mb",
                                          "dist.timeout_s", "dist.bucket_mb", "dist.overlap"};
    for (size_t i = 0; i < sizeof allowed / sizeof allowed[0]; i++)
        if (!strcmp(key, allowed[i])) return true;
    return false;
}

/* Why data file `full` (of the dataset CSV `csv`) could not be hashed, in
 * words: a missing folder is named (the usual case: the images folder was
 * moved or deleted since the run started), then a missing file; anything
 * else keeps the reader's message. */
static ie_status unreadable(const char *full, const char *csv) {
    char folder[4200];
    IE_TRY(ie_path_format(folder, sizeof folder, "%s", full));
    char *slash = strrchr(folder, '/');
    if (slash && slash != folder) *slash = '\0';
    else snprintf(folder, sizeof folder, ".");
    struct stat sb;
    if (stat(folder, &sb) != 0 || !S_ISDIR(sb.st_mode))
        return ie_error_set(IE_ERR_IO, "the folder %s, which holds the run's data file %s (listed in %s), does not "
                            "exist: it was moved, renamed or deleted since the run started. Put the folder back "
                            "there, or start a new run", folder, full, csv);
    if (stat(full, &sb) != 0)
        return ie_error_set(IE_ERR_IO, "the run's data file %s (listed in %s) does not exist: it was moved, renamed "
                            "or deleted since the run started. Put it back, or start a new run", full, csv);
    return ie_error_wrap(IE_ERR_IO, "the run's data file %s (listed in %s) cannot be read", full, csv);
}

ie_status ie_data_hash_files(const ie_dataset *ds, const char *const *columns, int n_columns, cJSON *files) {
    ie_strmap seen; /* cJSON's lookup is linear: 70 000 images would take minutes */
    IE_TRY(ie_strmap_init(&seen, 1024));
    ie_status st = IE_OK;
    for (int i = 0; st == IE_OK && i < ie_dataset_count(ds); i++) {
        const ie_dataset_item *item = ie_dataset_item_at(ds, i);
        for (int r = 0; st == IE_OK && r < item->n_rows; r++)
            for (int c = 0; st == IE_OK && c < n_columns; c++) {
                const char *p = ie_dataset_item_value(item, r, columns[c]);
                if (!p || !p[0] || ie_strmap_get(&seen, p) >= 0) continue;
                char full[4200], hex[65];
                st = ie_dataset_item_file(item, p, full, sizeof full);
                if (st == IE_OK && ie_sha256_file_hex(full, hex) != IE_OK) st = unreadable(full, ie_dataset_path(ds));
                if (st == IE_OK) st = ie_strmap_put(&seen, p, 0, NULL);
                if (st == IE_OK && !cJSON_AddStringToObject(files, p, hex))
                    st = ie_error_set(IE_ERR_NOMEM, "run.json: out of memory");
            }
    }
    ie_strmap_free(&seen);
    return st;
}

static ie_status changed(const char *what, const char *path, const char *was, const char *now) {
    return ie_error_set(IE_ERR_STATE, "%s %s changed since the run started (SHA-256 %.12s... then, %.12s... now); a "
                        "resumed run must continue on the data it started with: put the original back, or start a "
                        "new run", what, path, was, now);
}

ie_status ie_resume_check_data(const cJSON *record, const ie_dataset *ds, const char *const *columns, int n_columns,
                               const char *run_dir) {
    const cJSON *data = cJSON_GetObjectItemCaseSensitive(record, "data");
    const char *csv_sha = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(data, "dataset_csv_sha256"));
    const char *split_sha = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(data, "split_csv_sha256"));
    const cJSON *files = cJSON_GetObjectItemCaseSensitive(data, "files_sha256");
    char hex[65], path[4200];
    if (csv_sha) {
        IE_TRY(ie_sha256_file_hex(ie_dataset_path(ds), hex));
        if (strcmp(hex, csv_sha) != 0) return changed("the dataset CSV", ie_dataset_path(ds), csv_sha, hex);
    }
    if (split_sha) {
        IE_TRY(ie_path_format(path, sizeof path, "%s/split.csv", run_dir));
        IE_TRY(ie_sha256_file_hex(path, hex));
        if (strcmp(hex, split_sha) != 0)
            return ie_error_set(IE_ERR_STATE, "%s changed since the run started (SHA-256 %.12s... then, %.12s... "
                                "now): moving subjects between train, val and test would mix test subjects into "
                                "training. Put the original split.csv back, or start a new run (data.split.* set "
                                "the split)", path, split_sha, hex);
    }
    if (!cJSON_IsObject(files)) return IE_OK;
    cJSON *now = cJSON_CreateObject();
    if (!now) return ie_error_set(IE_ERR_NOMEM, "out of memory");
    ie_status st = ie_data_hash_files(ds, columns, n_columns, now);
    for (const cJSON *f = files->child; st == IE_OK && f; f = f->next) {
        const char *was = cJSON_GetStringValue(f);
        const char *is = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(now, f->string));
        if (!is)
            st = ie_error_set(IE_ERR_STATE, "data file %s is no longer in %s, which the run started with; put the "
                              "original dataset back, or start a new run", f->string, ie_dataset_path(ds));
        else if (was && strcmp(was, is) != 0)
            st = changed("data file", f->string, was, is);
    }
    cJSON_Delete(now);
    return st;
}

/* ie_write_file_atomic and the safetensors writer: "<name>.tmp.<pid>"; the
 * image and metrics writers: ".<stem>.tmp-<pid>-<n><ext>"; the dataset.csv
 * of a pairing: "dataset.csv.tmp-<pid>".  No file a run keeps has either. */
static bool is_temporary(const char *name) {
    return strstr(name, ".tmp.") != NULL || strstr(name, ".tmp-") != NULL;
}

int ie_resume_remove_temporaries(const char *run_dir) {
    static const char *const folders[] = {"", "/checkpoints", "/predictions"};
    int removed = 0;
    for (size_t k = 0; k < sizeof folders / sizeof folders[0]; k++) {
        char dir[4300], path[4600];
        if (ie_path_format(dir, sizeof dir, "%s%s", run_dir, folders[k]) != IE_OK) continue; /* none can exist */
        DIR *d = opendir(dir);
        if (!d) continue;
        for (struct dirent *e; (e = readdir(d));) {
            if (!is_temporary(e->d_name)) continue;
            if (ie_path_join(path, sizeof path, dir, e->d_name) == IE_OK && unlink(path) == 0) removed++;
        }
        closedir(d);
    }
    return removed;
}
