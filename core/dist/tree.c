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

void ie_tree_add_floats(void *left, const void *right, size_t bytes) {
    float *l = left;
    const float *r = right;
    /* Elementwise: each output is one addition, left + right, so the bytes do
     * not depend on how this loop is vectorised or split. */
    for (size_t i = 0; i < bytes / sizeof(float); i++) l[i] = l[i] + r[i];
}

ie_status ie_tree_value_of(const ie_tree_sum *sum, int count, ie_tree_node n, ie_tree_lookup_bytes_fn lookup,
                           void *ctx, void *out) {
    const void *have = NULL;
    IE_TRY(lookup(ctx, n, &have));
    if (have) {
        memcpy(out, have, sum->bytes);
        return IE_OK;
    }
    if (n.level == 0) return ie_error_set(IE_ERR_INTERNAL, "reduction tree: leaf %d has no value", n.index);
    IE_TRY(ie_tree_value_of(sum, count, ie_tree_child(n, 0), lookup, ctx, out));
    ie_tree_node right = ie_tree_child(n, 1);
    int lo, hi;
    ie_tree_range(count, right, &lo, &hi);
    if (lo >= hi) return IE_OK; /* past the last leaf: the node is its left child */
    void *r = malloc(sum->bytes ? sum->bytes : 1);
    if (!r) return ie_error_set(IE_ERR_NOMEM, "reduction tree: out of memory for a value of %zu bytes", sum->bytes);
    ie_status st = ie_tree_value_of(sum, count, right, lookup, ctx, r);
    if (st == IE_OK) sum->combine(out, r, sum->bytes);
    free(r);
    return st;
}

typedef struct float_lookup {
    ie_tree_lookup_fn lookup;
    void *ctx;
} float_lookup;

static ie_status lookup_floats(void *ctx, ie_tree_node n, const void **value) {
    const float_lookup *f = ctx;
    const float *v = NULL;
    ie_status st = f->lookup(f->ctx, n, &v);
    *value = v;
    return st;
}

ie_status ie_tree_value(int count, ie_tree_node n, size_t len, ie_tree_lookup_fn lookup, void *ctx, float *out) {
    ie_tree_sum sum = {len * sizeof(float), ie_tree_add_floats};
    float_lookup f = {lookup, ctx};
    return ie_tree_value_of(&sum, count, n, lookup_floats, &f, out);
}
