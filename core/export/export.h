/* core/export - a trained model as a file other tools run: ONNX
 * (onnx_export.c), docs/export.md.
 *
 * The graph is not written by hand per network: each member's forward pass
 * (plus what inference applies to its output: the softmax or the plugin's
 * postprocess) is traced through the engine's op records
 * (core/autograd/trace.h) on an input of the inference shape, and the trace
 * becomes the ONNX graph.  So every plugin built from SDK ops exports,
 * built-in or third-party; an op with no ONNX form is refused by name. */
#ifndef IE_CORE_EXPORT_EXPORT_H
#define IE_CORE_EXPORT_EXPORT_H

#include "core/inference/classification_regression_infer.h"
#include "core/plugin/loader.h"

struct ie_scalar_data;

typedef struct ie_export_member {
    const ie_loaded_plugin *plugin;
    ie_model *model;
    /* Classification: the run's data (its statistics), which says how the
     * outputs become predictions (ie_scalar_outputs_map); NULL otherwise. */
    const struct ie_scalar_data *scalar;
} ie_export_member;

/* What inference computes from the inputs, traced for one member (its ops
 * become the graph).  The caller picks it by the run's task
 * (core/task/task.h), so export knows no kind of model. */
typedef ie_status (*ie_export_trace_fn)(const ie_export_member *m, ie_tensor *image, ie_tensor *features,
                                        ie_tensor **out);
/* A segmentation net's class probabilities over one inference window
 * (image [1, C, D, H, W]; features unused), as sliding-window inference
 * computes them (ie_infer_net_window). */
ie_status ie_export_trace_window(const ie_export_member *m, ie_tensor *image, ie_tensor *features, ie_tensor **out);
/* A classification or regression model's predictions from a batch of one:
 * its forward, then the mapping inference applies (sigmoid, softmax, or the
 * plugin's postprocess; ie_scalar_outputs_map).  Regression's rescaling is
 * plain C, so such a model is refused by the tracer, naming it. */
ie_status ie_export_trace_predictions(const ie_export_member *m, ie_tensor *image, ie_tensor *features,
                                      ie_tensor **out);

typedef struct ie_onnx_export_spec {
    int n_members;                      /* 1, or an ensemble's members (outputs averaged in-graph) */
    const ie_export_member *members;
    ie_export_trace_fn trace;           /* ie_export_trace_window or ie_export_trace_predictions */
    const char *output;                 /* the graph's output: "posteriors", "predictions" */
    int64_t image_shape[5];             /* the input "image": [1, C, D, H, W] */
    int64_t features;                   /* > 0: a second input "features" [1, F] (classification) */
    int n_meta;                         /* metadata_props, key/value strings */
    const char *const *meta_keys;
    const char *const *meta_values;
} ie_onnx_export_spec;

/* Traces every member (spec->trace), builds the graph (inputs "image" [and
 * "features"], output spec->output) and writes the model to `path`
 * atomically.  Errors name the model and the op. */
ie_status ie_export_onnx(const ie_onnx_export_spec *spec, const char *path);

/* A classification run's model with its statistics and last weights, as
 * `innereye infer` opens it (core/export/classification_regression_model.c); close with
 * ie_scalar_model_close. */
ie_status ie_export_scalar_open(const char *run, ie_scalar_model *m);

#endif
