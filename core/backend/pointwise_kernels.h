/* core/backend - elementwise kernels: arithmetic with channel broadcasting,
 * activations, and the per-channel sums their backward passes need. */
#ifndef IE_CORE_BACKEND_POINTWISE_KERNELS_H
#define IE_CORE_BACKEND_POINTWISE_KERNELS_H

#include "core/backend/backend.h"

typedef enum ie_binary_op { IE_BINARY_ADD, IE_BINARY_SUB, IE_BINARY_MUL } ie_binary_op;

/* How b lines up with a: a is viewed as [outer, channels, inner]. */
typedef enum ie_broadcast_kind {
    IE_BROADCAST_NONE,    /* b has a's numel */
    IE_BROADCAST_SCALAR,  /* b has one element */
    IE_BROADCAST_CHANNEL  /* b has `channels` elements */
} ie_broadcast_kind;

typedef struct ie_broadcast {
    ie_broadcast_kind kind;
    int64_t outer, channels, inner;
} ie_broadcast;

typedef enum ie_unary_op {
    IE_UNARY_RELU,
    IE_UNARY_LEAKY_RELU, /* param: negative slope */
    IE_UNARY_SIGMOID,
    IE_UNARY_TANH,
    IE_UNARY_AFFINE,     /* y = param * x + param2 */
    IE_UNARY_GELU,       /* y = x * Phi(x) = 0.5 x (1 + erf(x / sqrt 2)) */
    IE_UNARY_GELU_TANH,  /* y = 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))) */
    IE_UNARY_SILU        /* y = x * sigmoid(x) */
} ie_unary_op;

struct ie_pointwise_kernels {
    /* out = a (op) broadcast(b); out has a's shape. */
    ie_status (*binary)(ie_device_ctx *ctx, ie_binary_op op, const ie_tensor *a, const ie_tensor *b,
                        ie_broadcast bc, ie_tensor *out);
    ie_status (*unary)(ie_device_ctx *ctx, ie_unary_op op, const ie_tensor *x, float param,
                       float param2, ie_tensor *out);
    /* grad_in from grad_out and, per op, the input x (leaky ReLU, GELU in
     * both forms, SiLU: their derivative is not a function of y) or the
     * output y (ReLU, sigmoid, tanh); `saved` is whichever the op saved. */
    ie_status (*unary_backward)(ie_device_ctx *ctx, ie_unary_op op, const ie_tensor *saved,
                                const ie_tensor *grad_out, float param, ie_tensor *grad_in);
    /* out[c] = sum over outer and inner of x viewed as [outer, channels, inner]
     * (channels = 1 sums everything), in a fixed order. */
    ie_status (*channel_sum)(ie_device_ctx *ctx, const ie_tensor *x, int64_t outer,
                             int64_t channels, int64_t inner, ie_tensor *out);
};

#endif
