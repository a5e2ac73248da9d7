/* core/experiment - an experiment's checks before its folder exists. */
#include "core/experiment/child_check.h"
#include "core/train/trainer.h"

ie_status ie_child_check(const ie_config *cfg, const ie_task_table *tasks, const char *const *assignments,
                         int n_assignments, const char *prefix, int threads, char *staged, size_t size) {
    staged[0] = '\0';
    ie_config *child = NULL;
    ie_status st = ie_config_new(&child);
    if (st == IE_OK) st = ie_config_add_text(child, ie_config_text(cfg), "resolved config");
    for (int i = 0; st == IE_OK && i < n_assignments; i++) st = ie_config_set(child, assignments[i], "experiment");
    if (st == IE_OK && ie_config_resolve(child) != IE_OK)
        st = ie_error_set(IE_ERR_CONFIG, "the first child run's config has problems:\n%s", ie_config_problems(child));
    ie_train_request req = {.config = child, .threads_override = threads, .tasks = tasks, .check_only = true,
                            .name_prefix = prefix};
    if (st == IE_OK) st = ie_train(&req, staged, size);
    ie_config_free(child);
    return st;
}
