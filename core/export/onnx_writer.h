/* core/export - writing ONNX messages (onnx.proto, IR version 8, opset 17).
 *
 * Only the fields the exporter uses: ModelProto (ir_version, opset_import,
 * producer, graph, metadata_props), GraphProto (node, name, initializer,
 * input, output), NodeProto (input, output, name, op_type, attribute),
 * AttributeProto (float, int, ints, string), TensorProto (dims, data_type,
 * name, raw_data) and ValueInfoProto with a tensor type and fixed shape.
 * Field numbers are onnx.proto's; raw_data is little-endian, which is this
 * machine's order (x86-64, checked at compile time). */
#ifndef IE_CORE_EXPORT_ONNX_WRITER_H
#define IE_CORE_EXPORT_ONNX_WRITER_H

#include "core/export/pb.h"

#define IE_ONNX_OPSET 17
#define IE_ONNX_IR_VERSION 8

enum { IE_ONNX_FLOAT = 1, IE_ONNX_INT64 = 7 };

/* Attributes of one node, encoded as NodeProto field 5 entries. */
void ie_onnx_attr_int(ie_pb *attrs, const char *name, int64_t v);
void ie_onnx_attr_float(ie_pb *attrs, const char *name, float v);
void ie_onnx_attr_ints(ie_pb *attrs, const char *name, const int64_t *v, int n);
void ie_onnx_attr_string(ie_pb *attrs, const char *name, const char *v);

/* Appends a NodeProto to the graph body g (inputs may be "" for an omitted
 * optional input); attrs (may be NULL) is consumed. */
void ie_onnx_node(ie_pb *g, const char *op_type, const char *name, const char *const *inputs, int n_inputs,
                  const char *output, ie_pb *attrs);
/* Appends an initializer (TensorProto) to the graph body. */
void ie_onnx_initializer_f32(ie_pb *g, const char *name, int ndim, const int64_t *dims, const float *data);
void ie_onnx_initializer_i64(ie_pb *g, const char *name, int ndim, const int64_t *dims, const int64_t *data);
/* Appends a graph input (field 11) or output (field 12) of float type. */
void ie_onnx_value_info(ie_pb *g, int field, const char *name, int ndim, const int64_t *dims);

#endif
