/* core/metrics - the per-subject predictions table of classification and
 * regression runs, and its CSV file.
 *
 * One row per subject and target (long format):
 *
 *     subject,target,label,prediction,split,epoch
 *     case_001,Pneumonia,1,0.83,test,20
 *
 * `target` names what is predicted: a label column (binary, multi-label,
 * regression) or a class (multi-class: one row per class, label 1 for the
 * true class and 0 otherwise, prediction the class probability).  For
 * classification `prediction` is a probability; for regression the value in
 * the label's units.  `split` and `epoch` say which part of the data the
 * subject is in and which epoch's model predicted; both columns may be
 * absent from a CSV given to `innereye eval` (split "all", epoch empty).
 *
 * Values are written with 9 significant digits (every float32 output
 * survives the trip); labels as given, and a NaN label (no label: `innereye
 * infer` on a CSV without label columns) as an empty field, which reading
 * refuses as it refuses any label that is not a number.  Reading checks every row: numbers
 * must be finite, and no (split, epoch, subject, target) may repeat; errors
 * name the file, line and column. */
#ifndef IE_CORE_METRICS_SCALAR_PREDICTIONS_H
#define IE_CORE_METRICS_SCALAR_PREDICTIONS_H

#include "innereye/status.h"

typedef struct ie_prediction_row {
    const char *subject, *target, *split, *epoch; /* epoch: "" when unknown */
    double label, prediction;
    int line;                                     /* CSV line, 0 for rows added in memory */
} ie_prediction_row;

typedef struct ie_predictions ie_predictions;

ie_status ie_predictions_new(ie_predictions **out);
void ie_predictions_free(ie_predictions *p);

/* Appends a row (strings are copied).  epoch < 0 stores "". */
ie_status ie_predictions_add(ie_predictions *p, const char *subject, const char *target, double label,
                             double prediction, const char *split, int epoch);

int ie_predictions_count(const ie_predictions *p);
const ie_prediction_row *ie_predictions_row(const ie_predictions *p, int i);

/* A prediction as the CSV holds it (9 significant digits): what `innereye
 * serve` answers is this text, so it equals infer's file digit for digit. */
#define IE_PREDICTION_TEXT_SIZE 40
void ie_prediction_text(double prediction, char text[IE_PREDICTION_TEXT_SIZE]);

/* Writes the table as CSV to `path` atomically. */
ie_status ie_predictions_write_csv(const ie_predictions *p, const char *path);
/* Reads a predictions CSV (columns subject, target, label, prediction
 * required; split, epoch optional; others ignored). */
ie_status ie_predictions_read_csv(const char *path, ie_predictions **out);

/* Name of the table's source for messages (the CSV path, or "predictions"). */
const char *ie_predictions_name(const ie_predictions *p);

#endif
