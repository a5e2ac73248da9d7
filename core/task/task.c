/* core/task - choosing the entry of the task table (task.h). */
#include "core/task/task.h"

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

