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

typedef struct ie_onnx_export_spec {
    int n_members;                      /* 1, or an ensemble's members (posteriors averaged in-graph) */
    const ie_export_member *members;
    int64_t image_shape[5];             /* the input "image": [1, C, D, H, W] */
    int64_t features;                   /* > 0: a second input "features" [1, F] (classification) */
    int n_meta;                         /* metadata_props, key/value strings */
    const char *const *meta_keys;
    const char *const *meta_values;
} ie_onnx_export_spec;

/* Traces every member, builds the graph (inputs "image" [and "features"],
 * output "posteriors" for segmentation, "predictions" otherwise) and writes
 * the model to `path` atomically.  Errors name the model and the op. */
ie_status ie_export_onnx(const ie_onnx_export_spec *spec, const char *path);

/* A classification run's model with its statistics and last weights, as
 * `innereye infer` opens it (core/export/scalar_model.c); close with
 * ie_scalar_model_close. */
ie_status ie_export_scalar_open(const char *run, ie_scalar_model *m);

#endif
