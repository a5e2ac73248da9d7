/* core/export - ONNX models from traced members (export.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/autograd/trace.h"
#include "core/util/file_util.h"
#include "core/export/export.h"
#include "core/export/onnx_graph.h"
#include "core/export/onnx_writer.h"
#include "core/inference/infer.h"
#include "core/inference/classification_regression_infer.h"
#include "core/plugin/guard.h"
#include "innereye/ops.h"

ie_status ie_export_trace_window(const ie_export_member *m, ie_tensor *image, ie_tensor *features, ie_tensor **out) {
    (void)features;
    ie_infer_net net = {.plugin = m->plugin, .model = m->model};
    return ie_infer_net_window(&net, image, out);
}

ie_status ie_export_trace_predictions(const ie_export_member *m, ie_tensor *image, ie_tensor *features,
                                      ie_tensor **out) {
    ie_batch batch = {.struct_size = sizeof batch, .count = 1, .image = image, .features = features};
    ie_tensor *raw = NULL;
    ie_status st = ie_plugin_forward(m->plugin, m->model, &batch, false, &raw);
    if (st == IE_OK) st = ie_scalar_outputs_map(m->plugin, m->model, m->scalar, raw, out);
    ie_tensor_release(raw);
    return st;
}

/* One member's traced output (spec->trace, with the op records on). */
static ie_status trace_member(const ie_onnx_export_spec *spec, const ie_export_member *m, ie_tensor *image,
                              ie_tensor *features, ie_tensor **out) {
    bool was_tracing = ie_trace_set(true);
    ie_status st = spec->trace(m, image, features, out);
    ie_trace_set(was_tracing);
    return st;
}

/* Deterministic dummy input: the graph does not depend on the values. */
static ie_status dummy(int ndim, const int64_t *shape, ie_tensor **out) {
    IE_TRY(ie_tensor_empty(IE_F32, ndim, shape, IE_CPU, out));
    float *p = ie_tensor_data_f32(*out);
    for (int64_t i = 0; i < ie_tensor_numel(*out); i++) p[i] = (float)((i * 7919) % 1000) / 1000.0f;
    return IE_OK;
}

static ie_status build_graph(const ie_onnx_export_spec *spec, ie_onnx_builder *b, int64_t *out_shape,
                             int *out_ndim, char out_name[IE_ONNX_NAME]) {
    ie_tensor *image = NULL, *features = NULL;
    ie_status st = IE_OK;
    if (spec->image_shape[0] > 0) st = dummy(5, spec->image_shape, &image); /* 0: features only */
    if (spec->features > 0) {
        const int64_t fs[2] = {1, spec->features};
        st = dummy(2, fs, &features);
    }
    ie_tensor *inputs[2] = {image, features};
    const char *input_names[2] = {"image", "features"};
    int n_inputs = 2;
    if (!image) inputs[0] = features, input_names[0] = "features", n_inputs = 1;
    else if (!features) n_inputs = 1;
    char sum[IE_ONNX_NAME] = "";
    for (int k = 0; st == IE_OK && k < spec->n_members; k++) {
        const ie_export_member *m = &spec->members[k];
        ie_params *params = NULL;
        ie_tensor *out = NULL;
        ie_guard_enter(m->plugin, "parameters");
        params = m->plugin->table.parameters(m->model);
        ie_guard_leave();
        char prefix[32] = "", name[IE_ONNX_NAME];
        if (spec->n_members > 1) snprintf(prefix, sizeof prefix, "member%d.", k);
        st = trace_member(spec, m, image, features, &out);
        if (st == IE_OK)
            st = ie_onnx_add_trace(b, m->plugin->table.name, out, inputs, input_names, n_inputs, params, prefix,
                                   name);
        if (st == IE_OK && k == 0) {
            *out_ndim = ie_tensor_ndim(out);
            memcpy(out_shape, ie_tensor_shape(out), (size_t)*out_ndim * sizeof *out_shape);
            snprintf(sum, sizeof sum, "%s", name);
        } else if (st == IE_OK) { /* members summed in order, as inference does */
            char next[IE_ONNX_NAME];
            ie_onnx_fresh(b, next);
            const char *in[2] = {sum, name};
            ie_onnx_node(&b->graph, "Add", next, in, 2, next, NULL);
            snprintf(sum, sizeof sum, "%s", next);
        }
        ie_tensor_release(out); /* frees this member's traced graph */
    }
    if (st == IE_OK && spec->n_members > 1) {
        float scale = 1.0f / (float)spec->n_members;
        char c[IE_ONNX_NAME], mean[IE_ONNX_NAME];
        ie_onnx_const_f32(b, 0, NULL, &scale, c);
        ie_onnx_fresh(b, mean);
        const char *in[2] = {sum, c};
        ie_onnx_node(&b->graph, "Mul", mean, in, 2, mean, NULL);
        snprintf(sum, sizeof sum, "%s", mean);
    }
    snprintf(out_name, IE_ONNX_NAME, "%s", sum);
    ie_tensor_release(image);
    ie_tensor_release(features);
    return st;
}

ie_status ie_onnx_save(ie_onnx_builder *b, const char *graph_name, int n_inputs, const char *const *input_names,
                       const int *input_ndims, const int64_t *const *input_shapes, const char *result,
                       const char *output, int out_ndim, const int64_t *out_shape, int n_meta,
                       const char *const *meta_keys, const char *const *meta_values, const char *path) {
    const char *in[1] = {result};
    ie_onnx_node(&b->graph, "Identity", "output", in, 1, output, NULL);
    for (int i = 0; i < n_inputs; i++) ie_onnx_value_info(&b->graph, 11, input_names[i], input_ndims[i], input_shapes[i]);
    ie_onnx_value_info(&b->graph, 12, output, out_ndim, out_shape);
    ie_pb_string(&b->graph, 2, graph_name); /* GraphProto.name */
    ie_pb model = {0};
    ie_pb_varint(&model, 1, IE_ONNX_IR_VERSION);
    ie_pb_string(&model, 2, "InnerEye-C");
    ie_pb_string(&model, 3, IE_VERSION_STRING);
    ie_pb_varint(&model, 5, 1);
    ie_pb_message(&model, 7, &b->graph);
    ie_pb opset = {0};
    ie_pb_string(&opset, 1, "");
    ie_pb_varint(&opset, 2, IE_ONNX_OPSET);
    ie_pb_message(&model, 8, &opset);
    for (int i = 0; i < n_meta; i++) {
        ie_pb kv = {0};
        ie_pb_string(&kv, 1, meta_keys[i]);
        ie_pb_string(&kv, 2, meta_values[i]);
        ie_pb_message(&model, 14, &kv);
    }
    ie_status st = ie_pb_ok(&model) ? ie_write_file_atomic(path, (const char *)model.data, model.len)
                                    : ie_error_set(IE_ERR_NOMEM, "export: out of memory writing %s", path);
    ie_pb_free(&model);
    return st;
}

ie_status ie_export_onnx(const ie_onnx_export_spec *spec, const char *path) {
    if (spec->n_members < 1) return ie_error_set(IE_ERR_INVALID_ARG, "export: no model to export");
    if (!spec->trace || !spec->output)
        return ie_error_set(IE_ERR_INVALID_ARG, "export: the spec names no trace function or output");
    ie_onnx_builder b = {0};
    int64_t out_shape[IE_MAX_DIMS];
    int out_ndim = 0;
    char result[IE_ONNX_NAME];
    ie_status st = build_graph(spec, &b, out_shape, &out_ndim, result);
    const int64_t fs[2] = {1, spec->features};
    const char *names[2];
    const int64_t *shapes[2];
    int ndims[2], n = 0;
    if (spec->image_shape[0] > 0) names[n] = "image", shapes[n] = spec->image_shape, ndims[n++] = 5;
    if (spec->features > 0) names[n] = "features", shapes[n] = fs, ndims[n++] = 2;
    if (st == IE_OK)
        st = ie_onnx_save(&b, spec->members[0].plugin->table.name, n, names, ndims, shapes, result,
                          spec->output, out_ndim, out_shape, spec->n_meta,
                          spec->meta_keys, spec->meta_values, path);
    ie_onnx_builder_free(&b);
    return st;
}
