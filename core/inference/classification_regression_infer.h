/* core/inference - classification and regression models applied to new
 * data: the mapping from network outputs to predictions (one definition,
 * used by the trainer on its held-out splits and by `innereye infer`), a
 * trained run or ensemble member opened for inference with its own saved
 * statistics and weights, and the whole `innereye infer` job on a dataset
 * CSV (docs/classification.md, "Predicting new data").
 *
 * Files of a job, in DIR (which must not exist; the files are written in a
 * hidden sibling folder renamed to DIR when complete):
 *   predictions.csv   subject,target,label,prediction,split,epoch as a run's
 *                     (split "infer"; label empty when the CSV has no label
 *                     columns; epoch: the checkpoint's, empty for ensembles)
 *   metrics.csv       (and confusion_matrix.csv for multi-class) from
 *                     predictions.csv as written, only when the CSV has the
 *                     labels: what `innereye eval --task` computes from it
 *   inference.json    the run or ensemble, each member's config, weights and
 *                     statistics with their SHA-256, the plugin, the dataset
 *                     and its SHA-256
 * An ensemble's prediction is the mean of its members' probabilities
 * (classification) or values (regression); each member prepares the data
 * with its own statistics. */
#ifndef IE_CORE_INFERENCE_SCALAR_INFER_H
#define IE_CORE_INFERENCE_SCALAR_INFER_H

#include <stdbool.h>

#include "core/data/classification_regression_hooks.h"
#include "core/data/loader_settings.h"
#include "core/plugin/loader.h"
#include "core/util/sha256.h"
#include "innereye/config.h"

/* ---- outputs -> predictions ---- */

/* The model's output must be [batch, outputs]; the message says what it is. */
ie_status ie_scalar_outputs_check(const ie_scalar_data *d, const ie_tensor *output, int batch_count);
/* Network outputs [N, K] -> predictions in the labels' terms [N, K] f32: the
 * plugin's postprocess when it has one; else probabilities (sigmoid for
 * binary and multi-label, softmax for multi-class) or, for regression, the
 * values mapped back from standardised units (ie_scalar_data_target_scale). */
ie_status ie_scalar_outputs_map(const ie_loaded_plugin *plugin, ie_model *model, const ie_scalar_data *d,
                                ie_tensor *output, ie_tensor **out);

/* ---- one trained model ---- */

typedef struct ie_scalar_model {
    ie_config *cfg;           /* the run's config.resolved.json */
    ie_loaded_plugin *plugin;
    ie_model *model;
    ie_scalar_data *data;     /* the dataset prepared with the run's statistics */
    ie_host host;
    ie_loader_settings loader; /* train.batch_size, data.workers, data.prefetch (data.cache_mb unused) */
    int epoch;                /* -1: unknown */
    uint64_t seed;
    char run_dir[4200];       /* where the host's run folder points ("" for none) */
    char config_path[4200], weights[4200], statistics[4200];
    char config_sha256[65], weights_sha256[65], statistics_sha256[65];
    uint8_t weights_digest[IE_SHA256_DIGEST_SIZE]; /* weights_sha256 as bytes */
    char *statistics_text;    /* the statistics file as read at open */
} ie_scalar_model;

/* Opens a classification or regression model for inference on ds: the
 * config (resolved, as the run saved it), the statistics
 * (data_statistics.json) that prepare ds, and the weights (a safetensors
 * file with every parameter and buffer of the model).  epoch is recorded
 * (-1: unknown).  With require_labels, ds must have the label columns.
 * ds may be NULL: the model is opened for ie_scalar_model_predict_dataset
 * only.  Each file is read here and never again. */
ie_status ie_scalar_model_open(const char *config_path, const char *statistics_path, const char *weights_path,
                               int epoch, const char *run_dir, const ie_dataset *ds, bool require_labels,
                               ie_scalar_model *out);
void ie_scalar_model_close(ie_scalar_model *m);

/* Predicts every subject of the dataset, in dataset order, with no
 * augmentation, autograd off and the model in evaluation mode: *out is
 * [subjects x outputs] (malloc'd, free()), the predictions of
 * ie_scalar_outputs_map.  Same results for any thread or worker count. */
ie_status ie_scalar_model_predict(ie_scalar_model *m, float **out);
/* The same for another dataset, prepared with the statistics read at open
 * (every check of scalar_statistics.h; the label columns are optional)
 * into *data, which the caller frees (ie_scalar_data_free) and which gives
 * the labels and output names.  The model is not changed: the same ds
 * gives the same predictions before and after any other. */
ie_status ie_scalar_model_predict_dataset(ie_scalar_model *m, const ie_dataset *ds, ie_scalar_data **data,
                                          float **out);

/* ---- a run or ensemble opened once, for many datasets ---- */

/* Every member open (innereye infer opens one for its dataset; innereye
 * serve one for all its requests). */
typedef struct ie_scalar_member {
    ie_scalar_model model;
    char source[4200]; /* the run it came from */
} ie_scalar_member;

typedef struct ie_scalar_session {
    int n_members;
    ie_scalar_member *members;
    char weights_sha256[IE_SHA256_HEX_SIZE]; /* ie_sha256_of_members of the members' weights */
} ie_scalar_session;

/* Opens a run (its last checkpoint, or checkpoint: a file, or a name in
 * RUN/checkpoints) or every member of an ensemble folder (checkpoint must
 * be NULL); the members must predict the same outputs. */
ie_status ie_scalar_session_open(const char *run, const char *checkpoint, ie_scalar_session *s);
/* Predicts ds: *mean [subjects x outputs] (malloc'd) is the mean of the
 * members' predictions (ie_scalar_model_predict_dataset) in double, *data
 * member 0's data for ds (labels, output names; ie_scalar_data_free).
 * Nothing of the session changes, so requests may come in any order. */
ie_status ie_scalar_session_predict(ie_scalar_session *s, const ie_dataset *ds, ie_scalar_data **data,
                                    double **mean);
void ie_scalar_session_close(ie_scalar_session *s);

/* ---- `innereye infer` on a classification or regression run ---- */

typedef struct ie_scalar_infer_request {
    const char *run;        /* a run folder or an ensemble folder */
    const char *checkpoint; /* NULL: the run's last checkpoint; a file, or a name in RUN/checkpoints */
    const char *dataset;    /* the dataset CSV */
    const char *out;        /* must not exist */
} ie_scalar_infer_request;

/* The whole job; prints one line per step.  Nothing is written to r->out
 * unless everything succeeds. */
ie_status ie_scalar_infer(const ie_scalar_infer_request *r);

#endif
