/* innereye/ops.h - differentiable tensor operations.
 *
 * Every op validates its arguments (NULL, dtype, device, shapes) and returns a
 * status with a message naming the op and the shapes involved; on success it
 * writes a new tensor to *out that the caller releases.  When gradients are
 * enabled and an input requires them, the op records its backward (see
 * autograd.h).  Layouts follow PyTorch: activations N,C,D,H,W (3D) or N,C,H,W
 * (2D); conv weights Cout,Cin,kD,kH,kW; transposed-conv weights Cin,Cout,k...
 * Optional tensor arguments (bias, weights) may be NULL. */
#ifndef INNEREYE_OPS_H
#define INNEREYE_OPS_H

#include "innereye/api.h"

#include "innereye/op_modes.h"
#include "innereye/rng.h"
#include "innereye/tensor.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- convolution ----
 * Fields left 0 take the default: stride 1, padding 0, dilation 1,
 * output_padding 0.  2D ops read the first two entries. */
typedef struct ie_conv_opts {
    int stride[3];
    int padding[3];
    int dilation[3];
    int output_padding[3]; /* transposed convolution only */
} ie_conv_opts;

IE_API ie_status ie_conv3d(ie_tensor *x, ie_tensor *weight, ie_tensor *bias,
                    ie_conv_opts opts, ie_tensor **out);
IE_API ie_status ie_conv2d(ie_tensor *x, ie_tensor *weight, ie_tensor *bias,
                    ie_conv_opts opts, ie_tensor **out);
IE_API ie_status ie_conv_transpose3d(ie_tensor *x, ie_tensor *weight, ie_tensor *bias,
                              ie_conv_opts opts, ie_tensor **out);
IE_API ie_status ie_conv_transpose2d(ie_tensor *x, ie_tensor *weight, ie_tensor *bias,
                              ie_conv_opts opts, ie_tensor **out);

/* ---- normalisation ----
 * Batch norm as torch.nn.functional.batch_norm: in training mode it normalises
 * with the batch statistics and updates running_mean / running_var in place
 * (running = (1-momentum)*running + momentum*stat, the variance unbiased) and
 * adds 1 to num_batches_tracked (int64 scalar) when given; in eval mode it uses
 * the running statistics. */
IE_API ie_status ie_batch_norm(ie_tensor *x, ie_tensor *weight, ie_tensor *bias,
                        ie_tensor *running_mean, ie_tensor *running_var,
                        ie_tensor *num_batches_tracked, bool training,
                        float momentum, float eps, ie_tensor **out);
/* relu(ie_batch_norm(...)), the same bytes, with less memory in training:
 * neither the normalised values nor the ReLU output are kept for backward
 * (both are recomputed from x there), so a conv-BN-ReLU block keeps one
 * activation instead of three. */
IE_API ie_status ie_batch_norm_relu(ie_tensor *x, ie_tensor *weight, ie_tensor *bias,
                             ie_tensor *running_mean, ie_tensor *running_var,
                             ie_tensor *num_batches_tracked, bool training,
                             float momentum, float eps, ie_tensor **out);
/* ie_batch_norm_relu that consumes x: the caller's reference to x passes to
 * the call (do not use or release x afterwards, whatever the status).  When
 * no gradient is recorded and nothing else holds x (no other reference, view
 * or saved copy), the result is written over x's memory and returned as *out,
 * so inference needs one activation less; otherwise it is ie_batch_norm_relu
 * followed by releasing x.  The same bytes either way.  Since plugin ABI 1.4. */
IE_API ie_status ie_batch_norm_relu_consume(ie_tensor *x, ie_tensor *weight, ie_tensor *bias,
                                     ie_tensor *running_mean, ie_tensor *running_var,
                                     ie_tensor *num_batches_tracked, bool training,
                                     float momentum, float eps, ie_tensor **out);
/* Instance norm without running statistics (torch default), optional affine. */
IE_API ie_status ie_instance_norm(ie_tensor *x, ie_tensor *weight, ie_tensor *bias,
                           float eps, ie_tensor **out);
IE_API ie_status ie_group_norm(ie_tensor *x, int groups, ie_tensor *weight,
                        ie_tensor *bias, float eps, ie_tensor **out);
/* torch.nn.functional.layer_norm over the last `dims` dimensions of x (any
 * rank); weight and bias (each may be NULL) have the shape of those
 * dimensions.  Statistics in double.  Since plugin ABI 1.3. */
IE_API ie_status ie_layer_norm(ie_tensor *x, int dims, ie_tensor *weight,
                        ie_tensor *bias, float eps, ie_tensor **out);

/* ---- activations ---- */
IE_API ie_status ie_relu(ie_tensor *x, ie_tensor **out);
IE_API ie_status ie_leaky_relu(ie_tensor *x, float negative_slope, ie_tensor **out);
IE_API ie_status ie_sigmoid(ie_tensor *x, ie_tensor **out);
IE_API ie_status ie_tanh(ie_tensor *x, ie_tensor **out);
/* GELU, x * Phi(x): exact (erf) form, or with tanh_approx the tanh form of
 * torch's approximate="tanh".  Since plugin ABI 1.3. */
IE_API ie_status ie_gelu(ie_tensor *x, bool tanh_approx, ie_tensor **out);
/* SiLU (swish), x * sigmoid(x).  Since plugin ABI 1.3. */
IE_API ie_status ie_silu(ie_tensor *x, ie_tensor **out);

/* ---- arithmetic ----
 * b has a's shape, or one element, or one value per channel (shape [C] or
 * [1,C,1,...]) broadcast over dimension 1 of a. */
IE_API ie_status ie_add(ie_tensor *a, ie_tensor *b, ie_tensor **out);
/* ie_add that consumes b: the caller's reference to b passes to the call (do
 * not use or release b afterwards, whatever the status; a stays the
 * caller's).  When b has a's shape, is not a's memory, nothing else holds it
 * (no other reference, view or saved copy) and it is not a leaf that
 * autograd would keep, the sum is written over b's memory and returned as
 * *out, so a residual sum needs no new activation; otherwise it is ie_add
 * followed by releasing b.  The same bytes and gradients either way.  Since
 * plugin ABI 1.5. */
IE_API ie_status ie_add_consume(ie_tensor *a, ie_tensor *b, ie_tensor **out);
IE_API ie_status ie_sub(ie_tensor *a, ie_tensor *b, ie_tensor **out);
IE_API ie_status ie_mul(ie_tensor *a, ie_tensor *b, ie_tensor **out);
IE_API ie_status ie_add_scalar(ie_tensor *x, float value, ie_tensor **out);
IE_API ie_status ie_mul_scalar(ie_tensor *x, float value, ie_tensor **out);

/* ---- shape ---- */
IE_API ie_status ie_concat(ie_tensor *const *xs, int count, int dim, ie_tensor **out);
/* Shares storage with x; one entry of shape may be -1 (inferred). */
IE_API ie_status ie_reshape(ie_tensor *x, int ndim, const int64_t *shape, ie_tensor **out);
/* Keeps dimension 0, flattens the rest: [N, ...] -> [N, prod(...)]. */
IE_API ie_status ie_flatten(ie_tensor *x, ie_tensor **out);
/* A window of a float [N, C, D, H, W] volume: out[n, c, i, j, k] =
 * x[n, c, clamp(offset[0] + i), clamp(offset[1] + j), clamp(offset[2] + k)]
 * with out's spatial size `size`: a crop (offsets inside x), an edge padding
 * (negative offsets, numpy's "edge" mode) or both.  Like torch.tensor(x[...]),
 * the result takes no gradient (it is a constant to autograd); exporters see
 * it as a crop or an edge pad. */
IE_API ie_status ie_window(ie_tensor *x, const int64_t offset[3], const int64_t size[3], ie_tensor **out);

/* ---- pooling and resampling ----
 * stride 0 means stride = kernel; padding is implicit -inf (max) or zeros
 * counted in the average (avg, count_include_pad=True as torch's default). */
IE_API ie_status ie_max_pool3d(ie_tensor *x, const int kernel[3], const int stride[3],
                        const int padding[3], ie_tensor **out);
IE_API ie_status ie_max_pool2d(ie_tensor *x, const int kernel[2], const int stride[2],
                        const int padding[2], ie_tensor **out);
IE_API ie_status ie_avg_pool3d(ie_tensor *x, const int kernel[3], const int stride[3],
                        const int padding[3], ie_tensor **out);
IE_API ie_status ie_avg_pool2d(ie_tensor *x, const int kernel[2], const int stride[2],
                        const int padding[2], ie_tensor **out);
/* [N, C, ...spatial] -> [N, C] */
IE_API ie_status ie_global_avg_pool(ie_tensor *x, ie_tensor **out);

/* Resizes the spatial dimensions (2 or 3 of them) of x to `size`, as
 * torch.nn.functional.interpolate with mode "nearest" or
 * "bilinear"/"trilinear" (align_corners as given); ie_upsample_mode is
 * declared in innereye/op_modes.h. */
IE_API ie_status ie_upsample(ie_tensor *x, const int64_t *size, ie_upsample_mode mode,
                      bool align_corners, ie_tensor **out);

/* ---- dense ---- */
/* x [N, in], weight [out, in], bias [out] -> [N, out] */
IE_API ie_status ie_linear(ie_tensor *x, ie_tensor *weight, ie_tensor *bias, ie_tensor **out);
/* a [..., m, k] * b [..., k, n] -> [..., m, n], as torch.matmul where the
 * leading dimensions of a and b are equal (batched products), or b is 2-D
 * (one matrix shared by every batch item of a).  Each output is summed in a
 * fixed order, the same on every CPU and thread count.  Since plugin ABI 1.3. */
IE_API ie_status ie_matmul(ie_tensor *a, ie_tensor *b, ie_tensor **out);
/* table [rows, dim], idx int64 [...] -> [..., dim]: out[i] = table[idx[i]]
 * (token or positional embeddings).  The table's gradient sums repeated
 * indices in a fixed order.  Since plugin ABI 1.3. */
IE_API ie_status ie_embedding(ie_tensor *table, ie_tensor *idx, ie_tensor **out);
/* Dimensions reordered: out dimension d is x dimension perm[d] (negative
 * values count from the end), as torch.permute.  A contiguous copy, never a
 * view (every tensor here is contiguous); ie_reshape is the no-copy
 * reshaping.  Since plugin ABI 1.3. */
IE_API ie_status ie_permute(ie_tensor *x, const int *perm, ie_tensor **out);
/* ie_permute swapping dim0 and dim1.  Since plugin ABI 1.3. */
IE_API ie_status ie_transpose(ie_tensor *x, int dim0, int dim1, ie_tensor **out);
/* Scaled-dot-product attention, softmax(q k^T / sqrt(d)) v, q [..., Lq, d],
 * k and v [..., Lk, d] with equal leading dimensions (batch, heads);
 * causal masks key j > query i (torch's is_causal).  Fused and
 * memory-bounded: no Lq x Lk matrix is ever stored, forward or backward.
 * Since plugin ABI 1.3. */
IE_API ie_status ie_attention(ie_tensor *q, ie_tensor *k, ie_tensor *v, bool causal, ie_tensor **out);
/* Inverted dropout: in training zeroes each element with probability p (draws
 * from rng, element i uses counter i) and scales the rest by 1/(1-p); outside
 * training returns x unchanged (a new reference). */
IE_API ie_status ie_dropout(ie_tensor *x, float p, bool training, const ie_rng *rng,
                     ie_tensor **out);

/* ---- softmax and reductions ---- */
IE_API ie_status ie_softmax(ie_tensor *x, int dim, ie_tensor **out);
IE_API ie_status ie_log_softmax(ie_tensor *x, int dim, ie_tensor **out);
IE_API ie_status ie_sum(ie_tensor *x, ie_tensor **out);  /* -> scalar */
IE_API ie_status ie_mean(ie_tensor *x, ie_tensor **out); /* -> scalar */

#ifdef __cplusplus
}
#endif
#endif
