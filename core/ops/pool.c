/* core/ops - max, average and global average pooling (2D and 3D).
 *
 * 2D pooling runs as 3D pooling with a depth of 1.  Window geometry follows
 * PyTorch with ceil_mode=False: out = (in + 2*padding - kernel) / stride + 1,
 * and padding may be at most half the kernel. */
#include <stdio.h>

#include "core/backend/pool_kernels.h"
#include "core/ops/op_util.h"
#include "core/autograd/trace.h"

static const char *ints_text(const int *v, int n, char *buf, size_t size) {
    if (n == 2)
        snprintf(buf, size, "[%d, %d]", v[0], v[1]);
    else
        snprintf(buf, size, "[%d, %d, %d]", v[0], v[1], v[2]);
    return buf;
}

/* Validates the arguments and fills the 3D geometry (depth 1 for 2D). */
static ie_status pool_geometry(const char *op, const ie_tensor *x, int dims, const int *kernel,
                               const int *stride, const int *padding, ie_pool_geom *g) {
    char d[96], kb[48], pb[48];
    IE_TRY(ie_check_f32(op, "input", x, -1));
    if (x->ndim != dims + 2)
        return ie_error_set(IE_ERR_SHAPE, "%s: input must be %s, got %s", op,
                            dims == 3 ? "[N, C, D, H, W]" : "[N, C, H, W]", IE_DESCRIBE(x, d));
    if (!kernel) return ie_error_set(IE_ERR_INVALID_ARG, "%s: kernel is NULL", op);
    int k[3] = {1, 1, 1}, s[3] = {1, 1, 1}, p[3] = {0, 0, 0};
    int off = 3 - dims;
    for (int i = 0; i < dims; i++) {
        k[off + i] = kernel[i];
        s[off + i] = stride && stride[i] ? stride[i] : kernel[i];
        p[off + i] = padding ? padding[i] : 0;
    }
    for (int i = 0; i < dims; i++) {
        if (kernel[i] < 1 || (stride && stride[i] < 0) || (padding && padding[i] < 0))
            return ie_error_set(IE_ERR_INVALID_ARG,
                                "%s: kernel %s must be >= 1, stride and padding >= 0 (stride 0 means "
                                "the kernel size)",
                                op, ints_text(kernel, dims, kb, sizeof kb));
        if (2 * p[off + i] > k[off + i])
            return ie_error_set(IE_ERR_INVALID_ARG, "%s: padding %s must be at most half of kernel %s", op,
                                ints_text(p + off, dims, pb, sizeof pb),
                                ints_text(kernel, dims, kb, sizeof kb));
    }
    g->planes = x->shape[0] * x->shape[1];
    for (int a = 0; a < 3; a++) {
        g->in[a] = a < off ? 1 : x->shape[2 + a - off];
        g->kernel[a] = k[a];
        g->stride[a] = s[a];
        g->padding[a] = p[a];
        if (g->in[a] + 2 * p[a] < k[a])
            return ie_error_set(IE_ERR_SHAPE, "%s: kernel %s is larger than input %s padded by %s", op,
                                ints_text(kernel, dims, kb, sizeof kb), IE_DESCRIBE(x, d),
                                ints_text(p + off, dims, pb, sizeof pb));
        g->out[a] = (g->in[a] + 2 * p[a] - k[a]) / s[a] + 1;
    }
    if (g->planes == 0)
        return ie_error_set(IE_ERR_SHAPE, "%s: input %s has no elements", op, IE_DESCRIBE(x, d));
    /* Max pooling stores argmax positions inside a plane as int32. */
    if (g->in[0] * g->in[1] * g->in[2] > INT32_MAX)
        return ie_error_set(IE_ERR_UNSUPPORTED, "%s: input %s has more than 2^31 elements per channel",
                            op, IE_DESCRIBE(x, d));
    return IE_OK;
}

static void geom_to_ints(ie_node *node, const ie_pool_geom *g) {
    node->ints[0] = g->planes;
    for (int a = 0; a < 3; a++) {
        node->ints[1 + a] = g->in[a];
        node->ints[4 + a] = g->out[a];
        node->ints[7 + a] = g->kernel[a];
        node->ints[10 + a] = g->stride[a];
        node->ints[13 + a] = g->padding[a];
    }
}

static ie_pool_geom geom_from_ints(const ie_node *node) {
    ie_pool_geom g = {.planes = node->ints[0]};
    for (int a = 0; a < 3; a++) {
        g.in[a] = node->ints[1 + a];
        g.out[a] = node->ints[4 + a];
        g.kernel[a] = (int)node->ints[7 + a];
        g.stride[a] = (int)node->ints[10 + a];
        g.padding[a] = (int)node->ints[13 + a];
    }
    return g;
}

/* Gradient of the pooled input; max pooling reads the saved argmax indices. */
static ie_status pool_backward(ie_node *node, ie_tensor *g, bool max) {
    ie_tensor *x = node->inputs[0], *dx = NULL;
    ie_pool_geom geom = geom_from_ints(node);
    ie_device_ctx *ctx;
    IE_TRY(ie_kernel_ctx(node->op, g, max ? IE_KERNEL_POOL_MAX_BACKWARD : IE_KERNEL_POOL_AVG_BACKWARD, &ctx));
    IE_TRY(ie_tensor_empty(IE_F32, x->ndim, x->shape, x->device, &dx));
    ie_status st = max ? ctx->backend->pool->max_backward(ctx, g, node->saved[0], &geom, dx)
                       : ctx->backend->pool->avg_backward(ctx, g, &geom, dx);
    if (st == IE_OK) st = ie_autograd_accumulate(x, dx);
    ie_tensor_release(dx);
    return st;
}

static ie_status max_pool_backward(ie_node *node, ie_tensor *g) { return pool_backward(node, g, true); }
static ie_status avg_pool_backward(ie_node *node, ie_tensor *g) { return pool_backward(node, g, false); }

static ie_status pool(const char *op, bool max, int dims, ie_tensor *x, const int *kernel, const int *stride,
                      const int *padding, ie_tensor **out) {
    IE_TRY(ie_check_out(op, out));
    ie_pool_geom g;
    IE_TRY(pool_geometry(op, x, dims, kernel, stride, padding, &g));
    ie_device_ctx *ctx;
    IE_TRY(ie_kernel_ctx(op, x, max ? IE_KERNEL_POOL_MAX_FORWARD : IE_KERNEL_POOL_AVG_FORWARD, &ctx));
    int64_t shape[5] = {x->shape[0], x->shape[1], g.out[0], g.out[1], g.out[2]};
    if (dims == 2) shape[2] = g.out[1], shape[3] = g.out[2];
    bool grad = ie_autograd_needed(&x, 1);
    ie_tensor *y = NULL, *indices = NULL;
    ie_status st = ie_tensor_empty_f32(dims + 2, shape, x->device, &y);
    if (st == IE_OK && max && grad) st = ie_tensor_empty(IE_I32, dims + 2, shape, x->device, &indices);
    if (st == IE_OK)
        st = max ? ctx->backend->pool->max_forward(ctx, x, &g, y, indices) : ctx->backend->pool->avg_forward(ctx, x, &g, y);
    if (st == IE_OK && grad) {
        ie_node *node;
        st = ie_autograd_record(y, op, max ? max_pool_backward : avg_pool_backward, &x, 1, &node);
        if (st == IE_OK) st = ie_node_save(node, 0, indices);
        if (st == IE_OK) st = ie_node_drop_input_data(node);
        if (st == IE_OK) geom_to_ints(node, &g);
        if (st == IE_OK) { /* for a trace: the call's arguments, defaults filled in */
            int64_t d[10] = {dims};
            for (int i = 0; i < dims; i++) {
                d[1 + i] = kernel[i];
                d[1 + dims + i] = stride && stride[i] ? stride[i] : kernel[i];
                d[1 + 2 * dims + i] = padding ? padding[i] : 0;
            }
            st = ie_trace_describe(node, max ? "max_pool" : "avg_pool", d, 1 + 3 * dims, NULL, 0, NULL, 0);
        }
    }
    ie_tensor_release(indices);
    if (st != IE_OK) {
        ie_tensor_release(y);
        return st;
    }
    *out = y;
    return IE_OK;
}

ie_status ie_max_pool3d(ie_tensor *x, const int kernel[3], const int stride[3], const int padding[3],
                        ie_tensor **out) {
    return pool("max_pool3d", true, 3, x, kernel, stride, padding, out);
}
ie_status ie_max_pool2d(ie_tensor *x, const int kernel[2], const int stride[2], const int padding[2],
                        ie_tensor **out) {
    return pool("max_pool2d", true, 2, x, kernel, stride, padding, out);
}
ie_status ie_avg_pool3d(ie_tensor *x, const int kernel[3], const int stride[3], const int padding[3],
                        ie_tensor **out) {
    return pool("avg_pool3d", false, 3, x, kernel, stride, padding, out);
}
ie_status ie_avg_pool2d(ie_tensor *x, const int kernel[2], const int stride[2], const int padding[2],
                        ie_tensor **out) {
    return pool("avg_pool2d", false, 2, x, kernel, stride, padding, out);
}

/* ---------------- global average pooling ---------------- */

static ie_status global_avg_pool_backward(ie_node *node, ie_tensor *g) {
    ie_tensor *x = node->inputs[0], *dx = NULL;
    ie_device_ctx *ctx;
    IE_TRY(ie_kernel_ctx(node->op, g, IE_KERNEL_POOL_GLOBAL_AVG_BACKWARD, &ctx));
    IE_TRY(ie_tensor_empty(IE_F32, x->ndim, x->shape, x->device, &dx));
    ie_status st = ctx->backend->pool->global_avg_backward(ctx, g, node->ints[0], node->ints[1], dx);
    if (st == IE_OK) st = ie_autograd_accumulate(x, dx);
    ie_tensor_release(dx);
    return st;
}

ie_status ie_global_avg_pool(ie_tensor *x, ie_tensor **out) {
    const char *op = "global_avg_pool";
    char d[96];
    IE_TRY(ie_check_out(op, out));
    IE_TRY(ie_check_f32(op, "input", x, -1));
    if (x->ndim < 3)
        return ie_error_set(IE_ERR_SHAPE, "%s: input must be [N, C, ...] with 1 to 3 spatial dimensions, got %s",
                            op, IE_DESCRIBE(x, d));
    if (x->numel == 0)
        return ie_error_set(IE_ERR_SHAPE, "%s: input %s has no elements", op, IE_DESCRIBE(x, d));
    ie_device_ctx *ctx;
    IE_TRY(ie_kernel_ctx(op, x, IE_KERNEL_POOL_GLOBAL_AVG_FORWARD, &ctx));
    int64_t planes = x->shape[0] * x->shape[1], spatial = x->numel / planes;
    IE_TRY(ie_tensor_empty_f32(2, x->shape, x->device, out));
    ie_status st = ctx->backend->pool->global_avg_forward(ctx, x, planes, spatial, *out);
    if (st == IE_OK && ie_autograd_needed(&x, 1)) {
        ie_node *node;
        st = ie_autograd_record(*out, op, global_avg_pool_backward, &x, 1, &node);
        if (st == IE_OK) st = ie_node_drop_input_data(node);
        if (st == IE_OK) st = ie_trace_describe(node, op, NULL, 0, NULL, 0, NULL, 0);
        if (st == IE_OK) {
            node->ints[0] = planes;
            node->ints[1] = spatial;
        }
    }
    if (st != IE_OK) {
        ie_tensor_release(*out);
        *out = NULL;
    }
    return st;
}
