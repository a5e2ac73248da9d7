/* core/export - traced nodes to ONNX nodes (onnx_graph.h).
 *
 * Shapes: a node does not keep its output, so the output's shape is taken
 * from any tensor handle that points at the node (a consumer's input, or the
 * traced output itself); every recorded node is reached through one. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/autograd/trace.h"
#include "core/export/onnx_graph.h"
#include "core/export/onnx_writer.h"

#define MAX_OP_INPUTS IE_ONNX_EXTRA0 /* concat of more is refused (no model comes close) */

typedef struct tnode {
    ie_node *node;
    int ndim;
    int64_t shape[IE_MAX_DIMS];
} tnode;

typedef struct walk {
    tnode *v;
    int n, cap;
} walk;

static tnode *find(walk *w, const ie_node *node) {
    for (int i = 0; i < w->n; i++)
        if (w->v[i].node == node) return &w->v[i];
    return NULL;
}

/* Every node that `t` depends on, each once. */
static ie_status collect(walk *w, const ie_tensor *t) {
    if (!t || !t->node) return IE_OK;
    tnode *seen = find(w, t->node);
    if (seen) return IE_OK;
    if (w->n == w->cap) {
        int cap = w->cap ? 2 * w->cap : 64;
        tnode *v = realloc(w->v, (size_t)cap * sizeof *v);
        if (!v) return ie_error_set(IE_ERR_NOMEM, "export: out of memory walking the traced graph");
        w->v = v;
        w->cap = cap;
    }
    tnode *n = &w->v[w->n++];
    memset(n, 0, sizeof *n);
    n->node = t->node;
    n->ndim = t->ndim;
    memcpy(n->shape, t->shape, sizeof n->shape);
    ie_node *node = t->node;
    for (int i = 0; i < node->n_inputs; i++) IE_TRY(collect(w, node->inputs[i]));
    return IE_OK;
}

static int by_seq(const void *a, const void *b) {
    uint64_t x = ((const tnode *)a)->node->seq, y = ((const tnode *)b)->node->seq;
    return x < y ? -1 : x > y;
}

void ie_onnx_builder_free(ie_onnx_builder *b) {
    ie_pb_free(&b->graph);
    free(b->written);
    free(b->written_names);
    memset(b, 0, sizeof *b);
}

void ie_onnx_fresh(ie_onnx_builder *b, char name[IE_ONNX_NAME]) { snprintf(name, IE_ONNX_NAME, "_h%d", b->next_id++); }

void ie_onnx_const_f32(ie_onnx_builder *b, int ndim, const int64_t *dims, const float *data, char name[IE_ONNX_NAME]) {
    ie_onnx_fresh(b, name);
    ie_onnx_initializer_f32(&b->graph, name, ndim, dims, data);
}

void ie_onnx_const_i64(ie_onnx_builder *b, int n, const int64_t *data, char name[IE_ONNX_NAME]) {
    ie_onnx_fresh(b, name);
    const int64_t dims[1] = {n};
    ie_onnx_initializer_i64(&b->graph, name, 1, dims, data);
}

static void value_name(const ie_tensor *t, char name[IE_ONNX_NAME]) { snprintf(name, IE_ONNX_NAME, "t%llu", (unsigned long long)t->node->seq); }

/* The ONNX name of an op's input: a traced value, a graph input, or a
 * parameter (written as an initializer the first time it is met). */
static ie_status operand(ie_onnx_builder *b, const char *model, const char *op, int index, const ie_tensor *t,
                         ie_tensor *const *inputs, const char *const *input_names, int n_inputs,
                         const ie_params *params, const char *prefix, char name[IE_ONNX_NAME]) {
    name[0] = '\0';
    if (!t) return IE_OK;
    if (t->node) {
        value_name(t, name);
        return IE_OK;
    }
    for (int i = 0; i < n_inputs; i++)
        if (inputs[i] == t) {
            snprintf(name, IE_ONNX_NAME, "%s", input_names[i]);
            return IE_OK;
        }
    for (int i = 0; i < b->n_written; i++)
        if (b->written[i] == t) {
            snprintf(name, IE_ONNX_NAME, "%s", b->written_names[i]);
            return IE_OK;
        }
    int count = params ? ie_params_count(params) : 0;
    for (int i = 0; i < count; i++) {
        if (ie_params_tensor(params, i) != t) continue;
        /* int64 buffers are index tables (an embedding's positions) */
        if (t->dtype != IE_F32 && t->dtype != IE_I64)
            return ie_error_set(IE_ERR_UNSUPPORTED, "export: model %s: op '%s' takes the %s tensor '%s', which is "
                                "neither float32 nor int64; only those parameters can be exported", model, op,
                                ie_dtype_name(t->dtype), ie_params_name(params, i));
        if (b->n_written == b->cap_written) {
            int cap = b->cap_written ? 2 * b->cap_written : 64;
            const ie_tensor **w = realloc(b->written, (size_t)cap * sizeof *w);
            if (w) b->written = w;
            char(*wn)[IE_ONNX_NAME] = realloc(b->written_names, (size_t)cap * sizeof *wn);
            if (wn) b->written_names = wn;
            if (!w || !wn) return ie_error_set(IE_ERR_NOMEM, "export: out of memory");
            b->cap_written = cap;
        }
        snprintf(b->written_names[b->n_written], IE_ONNX_NAME, "%s%s", prefix, ie_params_name(params, i));
        b->written[b->n_written] = t;
        if (t->dtype == IE_I64)
            ie_onnx_initializer_i64(&b->graph, b->written_names[b->n_written], t->ndim, t->shape, ie_tensor_data(t));
        else
            ie_onnx_initializer_f32(&b->graph, b->written_names[b->n_written], t->ndim, t->shape,
                                    ie_tensor_data_f32(t));
        snprintf(name, IE_ONNX_NAME, "%.63s", b->written_names[b->n_written]);
        b->n_written++;
        return IE_OK;
    }
    char d[96];
    return ie_error_set(IE_ERR_UNSUPPORTED, "export: model %s: input %d of op '%s' (%s) is neither the model's "
                        "input nor one of its parameters: it was computed outside the SDK's ops, so the graph "
                        "cannot be traced; build the forward pass from SDK ops", model, index, op,
                        ie_tensor_describe(t, d, sizeof d));
}


ie_status ie_onnx_add_trace(ie_onnx_builder *b, const char *model, ie_tensor *output, ie_tensor *const *inputs,
                            const char *const *input_names, int n_inputs, const ie_params *params,
                            const char *prefix, char out_name[IE_ONNX_NAME]) {
    if (!output->node) {
        for (int i = 0; i < n_inputs; i++)
            if (inputs[i] == output)
                return ie_error_set(IE_ERR_UNSUPPORTED, "export: model %s returns its input unchanged", model);
        return ie_error_set(IE_ERR_UNSUPPORTED, "export: model %s: its output was computed outside the SDK's ops "
                            "(no op recorded it), so the graph cannot be traced", model);
    }
    walk w = {0};
    ie_status st = collect(&w, output);
    if (st == IE_OK) qsort(w.v, (size_t)w.n, sizeof *w.v, by_seq);
    for (int k = 0; st == IE_OK && k < w.n; k++) {
        ie_node *node = w.v[k].node;
        char names[IE_ONNX_MAX_OPERANDS][IE_ONNX_NAME];
        if (node->n_inputs > MAX_OP_INPUTS) {
            st = ie_error_set(IE_ERR_UNSUPPORTED, "export: model %s: op '%s' has %d inputs, more than %d", model,
                              node->op, node->n_inputs, MAX_OP_INPUTS);
            break;
        }
        for (int i = 0; st == IE_OK && i < node->n_inputs; i++)
            st = operand(b, model, node->op, i, node->inputs[i], inputs, input_names, n_inputs, params, prefix,
                         names[i]);
        const ie_op_desc *desc = ie_node_desc(node);
        for (int i = 0; st == IE_OK && desc && i < desc->n_extra; i++)
            st = operand(b, model, node->op, node->n_inputs + i, desc->extra[i], inputs, input_names, n_inputs,
                         params, prefix, names[IE_ONNX_EXTRA0 + i]);
        if (st != IE_OK) break;
        char out[IE_ONNX_NAME];
        snprintf(out, sizeof out, "t%llu", (unsigned long long)node->seq);
        st = ie_onnx_emit_op(b, model, node, names, w.v[k].ndim, w.v[k].shape, out);
    }
    free(w.v);
    if (st == IE_OK) value_name(output, out_name);
    if (st == IE_OK && !ie_pb_ok(&b->graph)) st = ie_error_set(IE_ERR_NOMEM, "export: out of memory writing the graph");
    return st;
}
