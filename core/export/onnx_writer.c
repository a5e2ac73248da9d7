/* core/export - ONNX message encoding (onnx_writer.h). */
#include <string.h>

#include "core/export/onnx_writer.h"

_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "raw_data is written in host order; must be little-endian");

/* AttributeProto: name 1, f 2, i 3, s 4, ints 8, type 20 */
enum { ATTR_FLOAT = 1, ATTR_INT = 2, ATTR_STRING = 3, ATTR_INTS = 7 };

static void attr(ie_pb *attrs, ie_pb *a) { ie_pb_message(attrs, 5, a); }

void ie_onnx_attr_int(ie_pb *attrs, const char *name, int64_t v) {
    ie_pb a = {0};
    ie_pb_string(&a, 1, name);
    ie_pb_varint(&a, 3, (uint64_t)v);
    ie_pb_varint(&a, 20, ATTR_INT);
    attr(attrs, &a);
}

void ie_onnx_attr_float(ie_pb *attrs, const char *name, float v) {
    ie_pb a = {0};
    ie_pb_string(&a, 1, name);
    ie_pb_float(&a, 2, v);
    ie_pb_varint(&a, 20, ATTR_FLOAT);
    attr(attrs, &a);
}

void ie_onnx_attr_ints(ie_pb *attrs, const char *name, const int64_t *v, int n) {
    ie_pb a = {0};
    ie_pb_string(&a, 1, name);
    for (int i = 0; i < n; i++) ie_pb_varint(&a, 8, (uint64_t)v[i]);
    ie_pb_varint(&a, 20, ATTR_INTS);
    attr(attrs, &a);
}

void ie_onnx_attr_string(ie_pb *attrs, const char *name, const char *v) {
    ie_pb a = {0};
    ie_pb_string(&a, 1, name);
    ie_pb_string(&a, 4, v);
    ie_pb_varint(&a, 20, ATTR_STRING);
    attr(attrs, &a);
}

/* NodeProto: input 1, output 2, name 3, op_type 4, attribute 5 */
void ie_onnx_node(ie_pb *g, const char *op_type, const char *name, const char *const *inputs, int n_inputs,
                  const char *output, ie_pb *attrs) {
    ie_pb n = {0};
    for (int i = 0; i < n_inputs; i++) ie_pb_string(&n, 1, inputs[i]);
    ie_pb_string(&n, 2, output);
    ie_pb_string(&n, 3, name);
    ie_pb_string(&n, 4, op_type);
    if (attrs) ie_pb_append(&n, attrs); /* complete field-5 entries */
    ie_pb_message(g, 1, &n);
}

/* TensorProto: dims 1, data_type 2, name 8, raw_data 9 */
static void initializer(ie_pb *g, const char *name, int type, int ndim, const int64_t *dims, const void *data,
                        size_t bytes) {
    ie_pb t = {0};
    for (int i = 0; i < ndim; i++) ie_pb_varint(&t, 1, (uint64_t)dims[i]);
    ie_pb_varint(&t, 2, (uint64_t)type);
    ie_pb_string(&t, 8, name);
    ie_pb_bytes(&t, 9, data, bytes);
    ie_pb_message(g, 5, &t);
}

static size_t count(int ndim, const int64_t *dims) {
    size_t n = 1;
    for (int i = 0; i < ndim; i++) n *= (size_t)dims[i];
    return n;
}

void ie_onnx_initializer_f32(ie_pb *g, const char *name, int ndim, const int64_t *dims, const float *data) {
    initializer(g, name, IE_ONNX_FLOAT, ndim, dims, data, count(ndim, dims) * sizeof(float));
}

void ie_onnx_initializer_i64(ie_pb *g, const char *name, int ndim, const int64_t *dims, const int64_t *data) {
    initializer(g, name, IE_ONNX_INT64, ndim, dims, data, count(ndim, dims) * sizeof(int64_t));
}

/* ValueInfoProto: name 1, type 2; TypeProto: tensor_type 1; Tensor: elem_type 1,
 * shape 2; TensorShapeProto: dim 1; Dimension: dim_value 1 */
void ie_onnx_value_info(ie_pb *g, int field, const char *name, int ndim, const int64_t *dims) {
    ie_pb shape = {0}, tensor = {0}, type = {0}, vi = {0};
    for (int i = 0; i < ndim; i++) {
        ie_pb d = {0};
        ie_pb_varint(&d, 1, (uint64_t)dims[i]);
        ie_pb_message(&shape, 1, &d);
    }
    ie_pb_varint(&tensor, 1, IE_ONNX_FLOAT);
    ie_pb_message(&tensor, 2, &shape);
    ie_pb_message(&type, 1, &tensor);
    ie_pb_string(&vi, 1, name);
    ie_pb_message(&vi, 2, &type);
    ie_pb_message(g, field, &vi);
}
