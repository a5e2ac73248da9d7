/* core/export - from traced forward passes to an ONNX graph.
 *
 * A model is traced (core/autograd/trace.h): its forward pass runs once on
 * an input of the inference shape with tracing on, so every op records a
 * node with a description.  ie_onnx_add_trace walks the nodes that produced
 * `output` back to the graph inputs and the model's parameters, and writes
 * one or a few ONNX nodes per op, in creation order (a topological order).
 * Parameters become initializers under their state_dict names (prefixed for
 * ensemble members).  A leaf that is neither a graph input nor a parameter
 * (data computed outside SDK ops) and an op without an ONNX form are
 * refused, naming the op and the model. */
#ifndef IE_CORE_EXPORT_ONNX_GRAPH_H
#define IE_CORE_EXPORT_ONNX_GRAPH_H

#include "core/export/pb.h"
#include "innereye/params.h"
#include "innereye/tensor.h"

/* Longest ONNX value or initializer name, with its NUL. */
#define IE_ONNX_NAME 256
/* In the names handed to ie_onnx_emit_op: the op's inputs from 0, its
 * description's extra operands from IE_ONNX_EXTRA0. */
#define IE_ONNX_EXTRA0 32
#define IE_ONNX_MAX_OPERANDS (IE_ONNX_EXTRA0 + 4)

typedef struct ie_onnx_builder {
    ie_pb graph;      /* GraphProto body so far: nodes and initializers */
    int next_id;      /* for names of helper values */
    /* tensors already written as initializers, with their names */
    const ie_tensor **written;
    char (*written_names)[IE_ONNX_NAME];
    int n_written, cap_written;
} ie_onnx_builder;

void ie_onnx_builder_free(ie_onnx_builder *b);

/* Adds the graph that computed `output`; its ONNX value name is written to
 * out_name.  inputs/input_names: the graph inputs the trace started from.
 * params: the model's named tensors (initializers, named prefix + name). */
ie_status ie_onnx_add_trace(ie_onnx_builder *b, const char *model, ie_tensor *output, ie_tensor *const *inputs,
                            const char *const *input_names, int n_inputs, const ie_params *params,
                            const char *prefix, char out_name[IE_ONNX_NAME]);

/* A fresh value name ("_h<N>") for helper nodes. */
void ie_onnx_fresh(ie_onnx_builder *b, char name[IE_ONNX_NAME]);
/* An int64 vector constant initializer with a fresh name. */
void ie_onnx_const_i64(ie_onnx_builder *b, int n, const int64_t *data, char name[IE_ONNX_NAME]);
/* A float constant initializer with a fresh name (written to name). */
void ie_onnx_const_f32(ie_onnx_builder *b, int ndim, const int64_t *dims, const float *data, char name[IE_ONNX_NAME]);

/* Finishes the graph (an Identity from `result` to the graph output
 * `output`, the inputs' and output's types) and writes the ModelProto
 * (opset 17, metadata_props) to `path` atomically.  b's graph is consumed. */
ie_status ie_onnx_save(ie_onnx_builder *b, const char *graph_name, int n_inputs, const char *const *input_names,
                       const int *input_ndims, const int64_t *const *input_shapes, const char *result,
                       const char *output, int out_ndim, const int64_t *out_shape, int n_meta,
                       const char *const *meta_keys, const char *const *meta_values, const char *path);

/* One traced node as ONNX node(s) writing `out` (core/export/onnx_ops.c).
 * names: the ONNX names of node->inputs ("" for NULL); ndim/shape: the
 * node's output shape. */
struct ie_node;
ie_status ie_onnx_emit_op(ie_onnx_builder *b, const char *model, const struct ie_node *node,
                          char names[][IE_ONNX_NAME], int ndim, const int64_t *shape, const char *out);

#endif
