/* core/data - what a classification or regression run learnt from its
 * training split about the inputs, saved with the run so that new data can
 * be prepared exactly as training prepared its own.
 *
 * <run>/data_statistics.json (written atomically when the run sets up its
 * data, again on resume, with the same content):
 *
 *   format, version        "innereye-scalar-statistics", 1
 *   target                 "binary", "multiclass" or "regression"
 *   outputs                the network's outputs (label columns, or classes)
 *   label_columns, classes, image_columns
 *   image_size             data.scalar.image_size ([] : images as read)
 *   image_shape            [C, D, H, W] of the model's image input ([]: none)
 *   normalization          "None" or "SimpleNorm" (per image)
 *   numerical              [{column, mean, std}]: the training split's mean
 *                          and population standard deviation
 *   categorical            [{column, values}]: the training split's sorted
 *                          vocabulary (the one-hot order)
 *   standardize_targets    and, when on (regression), targets: [{output,
 *                          mean, std}]: prediction * std + mean is the value
 *                          in the label's units (std 1 for a constant label)
 *   impute_missing         missing numbers -> the mean, missing or unseen
 *                          categories -> all-zero one-hot
 *   features               the feature names, in the network's order
 *   training_subjects      how many subjects the statistics come from
 *
 * Every double is printed with %.17g, so reading the file gives back the
 * exact doubles training used and the same float features. */
#ifndef IE_CORE_DATA_SCALAR_STATISTICS_H
#define IE_CORE_DATA_SCALAR_STATISTICS_H

#include <stdbool.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "core/data/classification_regression_hooks.h"

#define IE_SCALAR_STATISTICS_FILE "data_statistics.json"

/* Writes d's statistics to path (temporary file + rename).  image_shape is
 * the model's image input [C, D, H, W] (C = 0: no image). */
ie_status ie_scalar_statistics_write(const ie_scalar_data *d, const int64_t image_shape[4], int n_train,
                                     const char *path);

/* Data for any dataset CSV, prepared with the statistics of stats_path
 * instead of a training split's.  With require_labels the label columns
 * must be in the CSV; without, the CSV may lack them all (then the data
 * has no labels: ie_scalar_data_has_labels).  Every other check of
 * ie_scalar_data_prepare applies (missing image, malformed number, missing
 * value, unseen category: all listed with subject, CSV line and column),
 * with imputation when the statistics say impute_missing.  ds must outlive
 * the data; the strings of its config belong to the data. */
ie_status ie_scalar_data_from_statistics(const char *stats_path, const ie_dataset *ds, bool require_labels,
                                         ie_scalar_data **out);
/* The same from the file's text, read before (messages name stats_path);
 * ds NULL gives data for no subjects, which only describes the model's
 * inputs and outputs (feature and output counts, names, image shape). */
ie_status ie_scalar_data_from_statistics_text(const char *text, const char *stats_path, const ie_dataset *ds,
                                              bool require_labels, ie_scalar_data **out);

/* The model's image input [C, D, H, W] as recorded in the statistics
 * (zeros: no image, or data prepared from a training split). */
void ie_scalar_data_image_shape(const ie_scalar_data *d, int64_t shape[4]);

/* Sets model.params.inputs ({image_shape, features, outputs, target}) in
 * params: what a plugin's create() receives about its inputs, in training
 * and in inference alike. */
ie_status ie_scalar_describe_inputs(const ie_scalar_data *d, const int64_t image_shape[4], cJSON *params);

#endif
