/* core/data - private: the layout of ie_scalar_data and the two steps that
 * build one, shared by classification_regression_hooks.c (statistics from a training split) and
 * classification_regression_statistics.c (statistics read back from a run's
 * data_statistics.json).  Not for use outside core/data. */
#ifndef IE_CORE_DATA_SCALAR_DATA_IMPL_H
#define IE_CORE_DATA_SCALAR_DATA_IMPL_H

#include "core/data/classification_regression_hooks.h"

typedef struct ie_scalar_categorical {
    int column;
    int n;
    char **values; /* sorted, owned */
} ie_scalar_categorical;

struct ie_scalar_data {
    ie_scalar_config cfg;
    const ie_dataset *ds;
    int n_items, K, F;
    bool has_labels;      /* false: the dataset has no label columns (inference only) */
    double *labels;       /* n_items x K as in the CSV (multi-class: one-hot) */
    int64_t *classes;     /* multi-class: n_items */
    float *features;      /* n_items x F, standardised / one-hot */
    double *num_mean, *num_sd;        /* n_numerical: the training split's statistics */
    double *label_mean, *label_scale; /* K: standardised regression targets (0 and 1 otherwise) */
    char **feature_names; /* F */
    int *label_col, *image_col, *num_col;
    ie_scalar_categorical *cat;
    int64_t image_shape[4]; /* as recorded in the statistics; zeros when prepared from a split */
    /* Storage the borrowed strings of cfg point into, when d owns them. */
    void *owned;
    void (*owned_free)(void *owned);
    /* Problems found while building, reported at once. */
    char problem_text[8192];
    size_t problem_len;
    int problem_count;
};

typedef enum ie_scalar_labels {
    IE_SCALAR_LABELS_REQUIRED = 0, /* every label column must be in the CSV */
    IE_SCALAR_LABELS_OPTIONAL = 1  /* all label columns, or none (then no labels) */
} ie_scalar_labels;

/* Checks the config, allocates d and finds the columns of ds (a missing
 * column is an error naming it and listing the CSV's columns; ds NULL:
 * data for no subjects, which describes the inputs and outputs).  The caller
 * then fills num_mean / num_sd, cat[].values and label_mean / label_scale. */
ie_status ie_scalar_data_begin(const ie_scalar_config *cfg, const ie_dataset *ds, ie_scalar_labels labels,
                               ie_scalar_data **out);
/* Checks every subject (rows, labels, images, numbers, categories) and
 * builds the features from the statistics in d; is_train marks the
 * training items for messages (NULL: the dataset is not the training one).
 * All problems are reported at once, naming subject, CSV line and column. */
ie_status ie_scalar_data_finish(ie_scalar_data *d, const bool *is_train);

__attribute__((format(printf, 2, 3))) void ie_scalar_data_problem(ie_scalar_data *d, const char *fmt, ...);

#endif
