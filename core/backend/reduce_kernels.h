/* core/backend - reductions, softmax, and the dense and shape kernels (linear
 * layer GEMM blocks, concat copies, dropout masks) that reduce along or copy
 * across one axis of a tensor. */
#ifndef IE_CORE_BACKEND_REDUCE_KERNELS_H
#define IE_CORE_BACKEND_REDUCE_KERNELS_H

#include "core/backend/backend.h"
#include "innereye/rng.h"

/* A batch of matrix products (the matmul op and both of its gradients):
 * out[p] = op_a(a[p]) * op_b(b[p]) for p in [0, batch), out[p] [m, n].
 * a[p] is [m, k], or [k, m] read transposed when trans_a; b[p] is [k, n], or
 * [n, k] read transposed when trans_b.  Matrices are contiguous and follow
 * each other in memory. */
typedef struct ie_matmul_shape {
    int64_t batch, m, k, n;
    bool trans_a, trans_b;
} ie_matmul_shape;

/* Scaled-dot-product attention over `batch` independent (batch x head)
 * items: q [batch, nq, d], k and v [batch, nk, d], out [batch, nq, d],
 * out_i = sum_j softmax_j(scale q_i . k_j) v_j, over j <= i when causal
 * (top-left aligned, as torch's is_causal).  lse [batch, nq] keeps each row's
 * log-sum-exp so that backward recomputes the probabilities as forward saw
 * them (to the rounding of the saved float). */
typedef struct ie_attention_shape {
    int64_t batch, nq, nk, d;
    float scale;
    bool causal;
} ie_attention_shape;

struct ie_reduce_kernels {
    /* out[0] = scale * sum(x), accumulated in double over fixed chunks. */
    ie_status (*sum)(ie_device_ctx *ctx, const ie_tensor *x, float scale, ie_tensor *out);
    /* out = broadcast of scale * g[0] to out's shape (backward of sum/mean). */
    ie_status (*fill_from_scalar)(ie_device_ctx *ctx, const ie_tensor *g, float scale,
                                  ie_tensor *out);

    /* Softmax (log_softmax when `log`) of x viewed as [outer, dim, inner],
     * over the middle axis. */
    ie_status (*softmax)(ie_device_ctx *ctx, const ie_tensor *x, int64_t outer, int64_t dim,
                         int64_t inner, bool log, ie_tensor *out);
    /* grad_in from the forward output y and grad_out, same view. */
    ie_status (*softmax_backward)(ie_device_ctx *ctx, const ie_tensor *y, const ie_tensor *grad_out,
                                  int64_t outer, int64_t dim, int64_t inner, bool log,
                                  ie_tensor *grad_in);

    /* For r in [0, rows): copies row_bytes bytes from src at byte
     * src_offset + r * src_stride to dst at dst_offset + r * dst_stride
     * (concat and its backward; any element type). */
    ie_status (*copy_rows)(ie_device_ctx *ctx, const ie_tensor *src, int64_t src_offset,
                           int64_t src_stride, ie_tensor *dst, int64_t dst_offset,
                           int64_t dst_stride, int64_t rows, int64_t row_bytes);

    /* out[i] = uniform_at(rng, i) < p ? 0 : x[i] * scale.  The same call on
     * the output gradient is dropout's backward. */
    ie_status (*dropout)(ie_device_ctx *ctx, const ie_tensor *x, float p, float scale,
                         const ie_rng *rng, ie_tensor *out);

    /* out[N, out] = x[N, in] * w[out, in]^T (+ b[out]); b may be NULL. */
    ie_status (*linear)(ie_device_ctx *ctx, const ie_tensor *x, const ie_tensor *w,
                        const ie_tensor *b, ie_tensor *out);
    /* gx[N, in] = g[N, out] * w[out, in] */
    ie_status (*linear_grad_input)(ie_device_ctx *ctx, const ie_tensor *g, const ie_tensor *w,
                                   ie_tensor *gx);
    /* gw[out, in] = g[N, out]^T * x[N, in] */
    ie_status (*linear_grad_weight)(ie_device_ctx *ctx, const ie_tensor *g, const ie_tensor *x,
                                    ie_tensor *gw);
    /* See ie_matmul_shape.  Each output is a sum of k products; on the CPU in
     * the canonical order (+0, then k ascending, one fma each). */
    ie_status (*matmul)(ie_device_ctx *ctx, const ie_tensor *a, const ie_tensor *b, ie_matmul_shape sh,
                        ie_tensor *out);
    /* out = x with its dimensions reordered: out dimension d is x dimension
     * perm[d] (out's shape is x's permuted).  A copy, exact. */
    ie_status (*permute)(ie_device_ctx *ctx, const ie_tensor *x, const int *perm, ie_tensor *out);
    /* out[i, :] = table[idx[i], :] for table [rows, dim], idx (int64) [n],
     * out [n, dim]; indices are validated by the op. */
    ie_status (*embedding)(ie_device_ctx *ctx, const ie_tensor *table, const ie_tensor *idx, ie_tensor *out);
    /* gtable[r, :] = sum over i with idx[i] == r of g[i, :] in ascending i
     * (+0 where no index hits r): a fixed order, so no races and the same
     * bits whatever the thread count.  gtable is fully written. */
    ie_status (*embedding_backward)(ie_device_ctx *ctx, const ie_tensor *idx, const ie_tensor *g,
                                    ie_tensor *gtable);
    /* Fused attention, memory-bounded: one pass over the keys per query row
     * with an online softmax (running max and sum), never an nq x nk matrix. */
    ie_status (*attention_forward)(ie_device_ctx *ctx, const ie_tensor *q, const ie_tensor *k, const ie_tensor *v,
                                   ie_attention_shape sh, ie_tensor *out, ie_tensor *lse);
    /* gq, gk, gv from the forward's out and lse and the output gradient g,
     * recomputing the probabilities block by block (none may be NULL). */
    ie_status (*attention_backward)(ie_device_ctx *ctx, const ie_tensor *q, const ie_tensor *k, const ie_tensor *v,
                                    const ie_tensor *out, const ie_tensor *lse, const ie_tensor *g,
                                    ie_attention_shape sh, ie_tensor *gq, ie_tensor *gk, ie_tensor *gv);
    /* gb[out] = sum over N of g[N, out] */
    ie_status (*linear_grad_bias)(ie_device_ctx *ctx, const ie_tensor *g, ie_tensor *gb);
};

#endif
