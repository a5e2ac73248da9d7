/* core/dist - the fixed-tree reduction across processes (reduce.h). */
#include "core/dist/reduce.h"

#include <stdio.h>
#include <stdlib.h>

#include "core/dist/tree.h"

typedef struct reduce_ctx {
    ie_comm *comm;
    int count, rank, ranks, lo, hi;
    const float *leaves;
    size_t len;
    float *received; /* one node at a time: the recursion needs each right child once */
} reduce_ctx;

static int first_leaf(const reduce_ctx *r, ie_tree_node n) {
    int lo, hi;
    ie_tree_range(r->count, n, &lo, &hi);
    return lo;
}

/* Each node has one tag: MPI's tag bound is at least 32767, Open MPI's
 * 2^31 - 1, and messages between two ranks never mix steps (a rank starts
 * the next step only after the broadcast that ends this one). */
static int node_tag(ie_tree_node n) { return (n.level << 24) | (n.index & 0xFFFFFF); }

/* A leaf of this rank, a node received from the owner of its first leaf, or
 * NULL: compute it from the children. */
static ie_status lookup(void *ctx, ie_tree_node n, const float **value) {
    reduce_ctx *r = ctx;
    int first = first_leaf(r, n);
    *value = NULL;
    if (first >= r->lo && first < r->hi) {
        if (n.level == 0) *value = r->leaves + (size_t)(first - r->lo) * r->len;
        return IE_OK;
    }
    int from = ie_dist_owner(r->count, r->ranks, first);
    int lo, hi;
    ie_tree_range(r->count, n, &lo, &hi);
    char what[128];
    snprintf(what, sizeof what, "the gradient sum of micro-batches %d..%d of step %lld", lo, hi - 1,
             ie_comm_progress(r->comm) + 1);
    IE_TRY(ie_comm_recv(r->comm, from, node_tag(n), r->received, r->len * sizeof(float), what));
    *value = r->received;
    return IE_OK;
}

ie_status ie_dist_reduce(ie_comm *comm, int count, const float *leaves, size_t len, float *out) {
    reduce_ctx r = {.comm = comm, .count = count, .rank = ie_comm_rank(comm), .ranks = ie_comm_size(comm),
                    .leaves = leaves, .len = len};
    ie_dist_share(count, r.ranks, r.rank, &r.lo, &r.hi);
    ie_tree_node root = ie_tree_root(count);
    if (r.ranks == 1) return ie_tree_value(count, root, len, lookup, &r, out);
    r.received = malloc((len ? len : 1) * sizeof *r.received);
    float *sending = NULL;
    size_t n_sending = 0;
    ie_status st = r.received ? IE_OK : ie_error_set(IE_ERR_NOMEM, "out of memory for a gradient of %zu values", len);
    /* The nodes this rank sends: right children whose first leaf is ours
     * while their parent's first leaf is another rank's.  They never nest,
     * and the owner of micro-batch 0 has none. */
    for (int level = 0; st == IE_OK && level < root.level; level++) {
        for (int index = 1; st == IE_OK && ((long long)index << level) < count; index += 2) {
            ie_tree_node n = {level, index}, parent = {level + 1, index / 2};
            int first = first_leaf(&r, n);
            if (first < r.lo || first >= r.hi || first_leaf(&r, parent) >= r.lo) continue;
            float *grown = realloc(sending, (n_sending + 1) * (len ? len : 1) * sizeof *grown);
            if (!grown) {
                st = ie_error_set(IE_ERR_NOMEM, "out of memory for a gradient of %zu values", len);
                break;
            }
            sending = grown;
            float *value = sending + n_sending * len;
            st = ie_tree_value(count, n, len, lookup, &r, value);
            n_sending++;
        }
    }
    /* Sent once every value is built: realloc above may move the buffer, and
     * MPI reads it until the flush. */
    size_t k = 0;
    for (int level = 0; st == IE_OK && level < root.level; level++)
        for (int index = 1; st == IE_OK && ((long long)index << level) < count; index += 2) {
            ie_tree_node n = {level, index}, parent = {level + 1, index / 2};
            int first = first_leaf(&r, n);
            if (first < r.lo || first >= r.hi || first_leaf(&r, parent) >= r.lo) continue;
            int to = ie_dist_owner(count, r.ranks, first_leaf(&r, parent));
            st = ie_comm_send(comm, to, node_tag(n), sending + k++ * len, len * sizeof(float));
        }
    int root_owner = ie_dist_owner(count, r.ranks, 0);
    if (st == IE_OK && r.rank == root_owner) st = ie_tree_value(count, root, len, lookup, &r, out);
    if (st == IE_OK) st = ie_comm_flush(comm);
    char what[96];
    snprintf(what, sizeof what, "the summed gradient of step %lld", ie_comm_progress(comm) + 1);
    if (st == IE_OK) st = ie_comm_bcast(comm, root_owner, out, len * sizeof(float), what);
    free(sending);
    free(r.received);
    return st;
}
