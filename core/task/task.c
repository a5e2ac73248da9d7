/* core/task - choosing the entry of the task table (task.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/data/scalar_settings.h"
#include "core/plugin/model_settings.h"
#include "core/run/ensemble.h"
#include "core/task/task.h"
#include "core/util/path.h"

const ie_task *const ie_tasks[] = {&ie_task_segmentation, &ie_task_classification, &ie_task_regression, NULL};

const ie_task *ie_task_for_kind(ie_task_kind kind) {
    switch (kind) {
    case IE_TASK_CLASSIFICATION: return &ie_task_classification;
    case IE_TASK_REGRESSION: return &ie_task_regression;
    case IE_TASK_SEGMENTATION:
    case IE_TASK_OTHER: break;
    }
    return &ie_task_segmentation;
}

const ie_task *ie_task_for_run(ie_task_kind kind, const ie_config *cfg) {
    const ie_task *entry = ie_task_for_kind(kind);
    if (entry != &ie_task_classification && entry != &ie_task_regression) return entry;
    ie_scalar_settings *scalar = cfg ? malloc(sizeof *scalar) : NULL;
    if (!scalar || ie_scalar_settings_read(cfg, scalar) != IE_OK) {
        ie_error_clear(); /* an unresolved config (or no memory): the plugin's kind */
        free(scalar);
        return entry;
    }
    const char *target = scalar->target; /* borrowed from the config, not from *scalar */
    free(scalar);
    if (!strcmp(target, "regression")) return &ie_task_regression;
    if (!strcmp(target, "binary") || !strcmp(target, "multiclass")) return &ie_task_classification;
    return entry;
}

const ie_task_table ie_all_tasks = {ie_tasks, ie_task_for_run};

const ie_task *ie_task_by_name(const char *name) {
    for (int t = 0; name && ie_tasks[t]; t++)
        if (!strcmp(ie_tasks[t]->name, name)) return ie_tasks[t];
    return NULL;
}

ie_status ie_task_of_run(const char *run_dir, const ie_task **task) {
    *task = NULL;
    char path[4200];
    struct stat sb;
    bool ensemble = ie_ensemble_is(run_dir);
    IE_TRY(ie_path_format(path, sizeof path,
                          ensemble ? "%s/members/0/config.resolved.json" : "%s/config.resolved.json", run_dir));
    if (stat(path, &sb) != 0) return IE_OK;
    ie_config *cfg = NULL;
    ie_loaded_plugin *plugin = NULL;
    ie_model_settings model;
    ie_status st = ie_config_new(&cfg);
    if (st == IE_OK) st = ie_config_add_file(cfg, path);
    if (st == IE_OK) st = ie_config_resolve(cfg);
    if (st == IE_OK) st = ie_model_settings_read(cfg, &model);
    if (st == IE_OK) st = ie_plugin_find(ie_model_settings_plugin_spec(&model), &plugin);
    if (st == IE_OK) *task = ie_task_for_run(plugin->table.task, cfg);
    ie_plugin_unload(plugin);
    ie_config_free(cfg);
    return st;
}

ie_status ie_task_report_results(const char *run_dir, ie_report_results_fn *results) {
    *results = NULL;
    const ie_task *task = NULL;
    IE_TRY(ie_task_of_run(run_dir, &task));
    if (task) *results = task->report_results;
    return IE_OK;
}
