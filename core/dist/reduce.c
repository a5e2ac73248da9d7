/* core/dist - the fixed-tree reduction across processes (reduce.h). */
#include "core/dist/reduce.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct reduce_ctx {
    ie_comm *comm;
    const ie_dist_reduce_opts *o;
    int count, rank, ranks, lo, hi;
    const char *leaves;
    void *received; /* one node at a time: the recursion needs each right child once */
} reduce_ctx;

static int first_leaf(const reduce_ctx *r, ie_tree_node n) {
    int lo, hi;
    ie_tree_range(r->count, n, &lo, &hi);
    return lo;
}

/* Each node has one tag per stream: MPI's tag bound is at least 32767, Open
 * MPI's 2^31 - 1 (bits 24..28 hold the level, bit 29 the stream).  Messages
 * between two ranks never mix reductions: MPI keeps the order of messages
 * with one tag between two ranks, and every rank receives them in the order
 * the reductions happen. */
static int node_tag(int stream, ie_tree_node n) { return (stream << 29) | (n.level << 24) | (n.index & 0xFFFFFF); }
/* The root's point-to-point copies (owners_only): level 31 is no node's. */
static int root_tag(int stream) { return (stream << 29) | (31 << 24); }

/* A leaf of this rank, a node received from the owner of its first leaf, or
 * NULL: compute it from the children. */
static ie_status lookup(void *ctx, ie_tree_node n, const void **value) {
    reduce_ctx *r = ctx;
    int first = first_leaf(r, n);
    *value = NULL;
    if (first >= r->lo && first < r->hi) {
        size_t stride = r->o->stride ? r->o->stride : r->o->sum->bytes;
        int held = r->o->held ? r->o->held[first - r->lo] : 0;
        if (n.level == held) *value = r->leaves + (size_t)(first - r->lo) * stride;
        /* Below the held node: its value is gone into that node, and the
         * recursion, which asks for a node before its children, never gets
         * there. */
        if (n.level < held)
            return ie_error_set(IE_ERR_INTERNAL, "reduction tree: node (%d, %d) was asked for after it was combined "
                                "into level %d", n.level, n.index, held);
        return IE_OK;
    }
    int from = ie_dist_owner(r->count, r->ranks, first);
    int lo, hi;
    ie_tree_range(r->count, n, &lo, &hi);
    char what[160];
    snprintf(what, sizeof what, "%s of micro-batches %d..%d of step %lld", r->o->noun, lo, hi - 1,
             ie_comm_progress(r->comm) + 1);
    IE_TRY(ie_comm_recv(r->comm, from, node_tag(r->o->stream, n), r->received, r->o->sum->bytes, what));
    *value = r->received;
    return IE_OK;
}

/* The nodes this rank sends: right children whose first leaf is ours while
 * their parent's first leaf is another rank's.  They never nest, and the
 * owner of micro-batch 0 has none.  With local_sends_done, those that lie
 * wholly inside our leaves went already. */
static bool sends(const reduce_ctx *r, ie_tree_node n) {
    ie_tree_node parent = {n.level + 1, n.index / 2};
    int first, end;
    ie_tree_range(r->count, n, &first, &end);
    if (r->o->local_sends_done && end <= r->hi) return false;
    return first >= r->lo && first < r->hi && first_leaf(r, parent) < r->lo;
}

/* The root from the owner of micro-batch 0: a broadcast to all, or
 * (owners_only) a copy to each rank holding micro-batches. */
static ie_status share_root(reduce_ctx *r, int root_owner, void *out) {
    size_t bytes = r->o->sum->bytes;
    char what[128];
    snprintf(what, sizeof what, "%s of step %lld", r->o->noun, ie_comm_progress(r->comm) + 1);
    if (!r->o->owners_only) return ie_comm_bcast(r->comm, root_owner, out, bytes, what);
    if (r->rank != root_owner) return ie_comm_recv(r->comm, root_owner, root_tag(r->o->stream), out, bytes, what);
    ie_status st = IE_OK;
    for (int to = 0; st == IE_OK && to < r->ranks; to++) {
        int lo, hi;
        ie_dist_share(r->count, r->ranks, to, &lo, &hi);
        if (to != root_owner && lo < hi) st = ie_comm_send(r->comm, to, root_tag(r->o->stream), out, bytes);
    }
    return st == IE_OK ? ie_comm_flush(r->comm) : st;
}

ie_status ie_dist_send_node(ie_comm *comm, int count, int stream, ie_tree_node n, const void *value, size_t bytes) {
    int first, end;
    ie_tree_range(count, (ie_tree_node){n.level + 1, n.index / 2}, &first, &end);
    return ie_comm_send(comm, ie_dist_owner(count, ie_comm_size(comm), first), node_tag(stream, n), value, bytes);
}

ie_status ie_dist_reduce_values(ie_comm *comm, int count, const void *leaves, const ie_dist_reduce_opts *o,
                                void *out) {
    reduce_ctx r = {.comm = comm, .o = o, .count = count, .rank = ie_comm_rank(comm), .ranks = ie_comm_size(comm),
                    .leaves = leaves};
    size_t bytes = o->sum->bytes;
    ie_dist_share(count, r.ranks, r.rank, &r.lo, &r.hi);
    ie_tree_node root = ie_tree_root(count);
    if (r.ranks == 1) return ie_tree_value_of(o->sum, count, root, lookup, &r, out);
    r.received = malloc(bytes ? bytes : 1);
    char *sending = NULL;
    size_t n_sending = 0;
    ie_status st = r.received ? IE_OK : ie_error_set(IE_ERR_NOMEM, "out of memory for %s (%zu bytes)", o->noun, bytes);
    for (int level = 0; st == IE_OK && level < root.level; level++) {
        for (int index = 1; st == IE_OK && ((long long)index << level) < count; index += 2) {
            ie_tree_node n = {level, index};
            if (!sends(&r, n)) continue;
            char *grown = realloc(sending, (n_sending + 1) * (bytes ? bytes : 1));
            if (!grown) {
                st = ie_error_set(IE_ERR_NOMEM, "out of memory for %s (%zu bytes)", o->noun, bytes);
                break;
            }
            sending = grown;
            st = ie_tree_value_of(o->sum, count, n, lookup, &r, sending + n_sending * bytes);
            n_sending++;
        }
    }
    /* Sent once every value is built: realloc above may move the buffer, and
     * MPI reads it until the flush. */
    size_t k = 0;
    for (int level = 0; st == IE_OK && level < root.level; level++)
        for (int index = 1; st == IE_OK && ((long long)index << level) < count; index += 2) {
            ie_tree_node n = {level, index}, parent = {level + 1, index / 2};
            if (!sends(&r, n)) continue;
            int to = ie_dist_owner(count, r.ranks, first_leaf(&r, parent));
            st = ie_comm_send(comm, to, node_tag(o->stream, n), sending + k++ * bytes, bytes);
        }
    int root_owner = ie_dist_owner(count, r.ranks, 0);
    if (st == IE_OK && r.rank == root_owner) st = ie_tree_value_of(o->sum, count, root, lookup, &r, out);
    if (st == IE_OK && !o->keep_sent) st = ie_comm_flush(comm);
    if (st == IE_OK) st = share_root(&r, root_owner, out);
    if (st == IE_OK && o->keep_sent) *o->keep_sent = sending;
    else free(sending);
    free(r.received);
    return st;
}

ie_status ie_dist_reduce(ie_comm *comm, int count, const float *leaves, size_t len, float *out) {
    ie_tree_sum sum = {len * sizeof(float), ie_tree_add_floats};
    ie_dist_reduce_opts o = {.sum = &sum, .stream = 0, .owners_only = false, .noun = "the gradient sum"};
    return ie_dist_reduce_values(comm, count, leaves, &o, out);
}
