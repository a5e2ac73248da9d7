/* core/dist - data-parallel training: the fixed reduction tree, the share of
 * micro-batches each process computes, the exchange of partial sums between
 * processes (MPI, loaded as a module) and the step's gradient vectors.
 *
 * Why the result never depends on the number of processes P.  A global batch
 * is cut into M micro-batches (train.micro_batch_size samples each, the last
 * possibly shorter), numbered 0..M-1 in the loader's order.  Each
 * micro-batch's gradient (a "leaf") is computed by one forward and backward on
 * its own, so its bytes depend only on the micro-batch, never on who computes
 * it.  The global gradient is the sum of the leaves in ONE fixed binary tree
 * over the indices 0..M-1: node (level k, index i) covers the leaves
 * [i*2^k, min((i+1)*2^k, M)) and is left child + right child (or the left
 * child alone when the right one is empty); the root is (K, 0) with 2^K >= M.
 * Float addition is not associative, so the tree fixes the association; it
 * depends on M only.  Process r computes the contiguous leaves [lo, hi)
 * (ie_dist_share) and the nodes that lie wholly inside them; a node spanning
 * two processes is computed by the process that owns its leftmost leaf from
 * its children, the right one received from its owner.  Whoever computes a
 * node, it is the same additions of the same bytes in the same order, so the
 * root is bit-identical for P = 1, 2, 3, ... and for any MPI (MPI moves
 * bytes here; it never adds).  docs/distributed.md has the whole argument. */
#ifndef IE_CORE_DIST_TREE_H
#define IE_CORE_DIST_TREE_H

#include <stddef.h>

#include "innereye/status.h"

typedef struct ie_tree_node {
    int level; /* k: the node covers up to 2^k leaves */
    int index; /* i: its first leaf is i * 2^k */
} ie_tree_node;

/* The micro-batches [*lo, *hi) of `count` that process `rank` of `ranks`
 * computes: contiguous, in rank order, sizes differing by at most one (a
 * process gets none when count < ranks). */
void ie_dist_share(int count, int ranks, int rank, int *lo, int *hi);
/* The process that computes micro-batch j. */
int ie_dist_owner(int count, int ranks, int j);

/* The root of the tree over `count` (>= 1) leaves. */
ie_tree_node ie_tree_root(int count);
/* The leaves [*lo, *hi) node n covers (empty when it lies past count). */
void ie_tree_range(int count, ie_tree_node n, int *lo, int *hi);
ie_tree_node ie_tree_child(ie_tree_node n, int right);

/* Where a node's value comes from when it is not computed from its
 * children: a leaf (level 0) or a node received from another process.  Sets
 * *value to NULL when the value must be computed from the children; fails
 * when it cannot be had (a process that never sent it). */
typedef ie_status (*ie_tree_lookup_fn)(void *ctx, ie_tree_node n, const float **value);

/* out[0..len) = the value of node n: lookup(n) when it has one, else
 * value(left) + value(right) elementwise (the left child alone when the right
 * one is empty), recursively. */
ie_status ie_tree_value(int count, ie_tree_node n, size_t len, ie_tree_lookup_fn lookup, void *ctx, float *out);

/* The same tree over values of any kind: `bytes` per value, combined by
 * combine(left, right), which must be a pure function of the two values'
 * bytes (gradients add floats; synchronised batch norm merges per-channel
 * counts, means and squared deviations, core/dist/sync_norm.c). */
typedef struct ie_tree_sum {
    size_t bytes;
    void (*combine)(void *left, const void *right, size_t bytes); /* left = left (+) right */
} ie_tree_sum;
typedef ie_status (*ie_tree_lookup_bytes_fn)(void *ctx, ie_tree_node n, const void **value);
ie_status ie_tree_value_of(const ie_tree_sum *sum, int count, ie_tree_node n, ie_tree_lookup_bytes_fn lookup,
                           void *ctx, void *out);
/* Elementwise float addition: the gradients' combine. */
void ie_tree_add_floats(void *left, const void *right, size_t bytes);

#endif
