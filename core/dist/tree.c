/* core/dist - the fixed reduction tree and the share of each process
 * (the rules are in tree.h). */
#include "core/dist/tree.h"

#include <stdlib.h>
#include <string.h>

void ie_dist_share(int count, int ranks, int rank, int *lo, int *hi) {
    /* floor(count * r / ranks): contiguous, sizes differ by at most one. */
    *lo = (int)((long long)count * rank / ranks);
    *hi = (int)((long long)count * (rank + 1) / ranks);
}

int ie_dist_owner(int count, int ranks, int j) {
    int r = (int)((long long)j * ranks / count); /* a first guess, then the exact answer */
    int lo, hi;
    for (;;) {
        ie_dist_share(count, ranks, r, &lo, &hi);
        if (j < lo) r--;
        else if (j >= hi) r++;
        else return r;
    }
}

ie_tree_node ie_tree_root(int count) {
    ie_tree_node n = {0, 0};
    while ((1LL << n.level) < count) n.level++;
    return n;
}

void ie_tree_range(int count, ie_tree_node n, int *lo, int *hi) {
    long long first = (long long)n.index << n.level, last = first + (1LL << n.level);
    *lo = first < count ? (int)first : count;
    *hi = last < count ? (int)last : count;
}

ie_tree_node ie_tree_child(ie_tree_node n, int right) {
    return (ie_tree_node){n.level - 1, 2 * n.index + (right ? 1 : 0)};
}

ie_status ie_tree_value(int count, ie_tree_node n, size_t len, ie_tree_lookup_fn lookup, void *ctx, float *out) {
    const float *have = NULL;
    IE_TRY(lookup(ctx, n, &have));
    if (have) {
        memcpy(out, have, len * sizeof *out);
        return IE_OK;
    }
    if (n.level == 0) return ie_error_set(IE_ERR_INTERNAL, "reduction tree: leaf %d has no value", n.index);
    IE_TRY(ie_tree_value(count, ie_tree_child(n, 0), len, lookup, ctx, out));
    ie_tree_node right = ie_tree_child(n, 1);
    int lo, hi;
    ie_tree_range(count, right, &lo, &hi);
    if (lo >= hi) return IE_OK; /* past the last leaf: the node is its left child */
    float *r = malloc((len ? len : 1) * sizeof *r);
    if (!r) return ie_error_set(IE_ERR_NOMEM, "reduction tree: out of memory for %zu gradient values", len);
    ie_status st = ie_tree_value(count, right, len, lookup, ctx, r);
    /* Elementwise: each output is one addition, left + right, so the bytes do
     * not depend on how this loop is vectorised or split. */
    for (size_t i = 0; st == IE_OK && i < len; i++) out[i] = out[i] + r[i];
    free(r);
    return st;
}
