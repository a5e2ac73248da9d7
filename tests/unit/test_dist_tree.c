/* The fixed reduction tree of data-parallel training (core/dist/tree.h):
 * each process's share, the tree's shape spelled out for small counts, the
 * same bytes whichever nodes arrive precomputed (as from other processes),
 * and the sum against a double-precision reference within the rounding bound
 * of a depth-K tree. */
#include "test_util.h"
#include "core/dist/tree.h"
#include "innereye/rng.h"

#define LEN 7 /* values per leaf */

typedef struct leaves_ctx {
    const float *leaves; /* count * LEN */
    int count;
    /* Nodes that "arrive from another process": every node lying wholly in
     * the share of a rank other than `rank` (computed beforehand from the
     * leaves), as core/dist/reduce.c receives them. */
    int ranks, rank;
    float *precomputed;
} leaves_ctx;

static ie_status from_leaves(void *ctx, ie_tree_node n, const float **value) {
    leaves_ctx *c = ctx;
    *value = n.level == 0 ? c->leaves + (size_t)n.index * LEN : NULL;
    return IE_OK;
}

static ie_status with_received(void *ctx, ie_tree_node n, const float **value) {
    leaves_ctx *c = ctx;
    int lo, hi, first, end;
    ie_tree_range(c->count, n, &lo, &hi);
    int owner = ie_dist_owner(c->count, c->ranks, lo);
    ie_dist_share(c->count, c->ranks, owner, &first, &end);
    *value = NULL;
    if (owner != c->rank && hi <= end) {
        leaves_ctx plain = *c;
        IE_TRY(ie_tree_value(c->count, n, LEN, from_leaves, &plain, c->precomputed));
        *value = c->precomputed;
    } else if (n.level == 0) {
        *value = c->leaves + (size_t)n.index * LEN;
    }
    return IE_OK;
}

static void check_shares(void) {
    for (int count = 0; count <= 40; count++)
        for (int ranks = 1; ranks <= 9; ranks++) {
            int next = 0;
            for (int r = 0; r < ranks; r++) {
                int lo, hi;
                ie_dist_share(count, ranks, r, &lo, &hi);
                CHECK(lo == next && hi >= lo, "count %d ranks %d: rank %d has [%d, %d), expected to start at %d",
                      count, ranks, r, lo, hi, next);
                CHECK(hi - lo <= count / ranks + 1 && hi - lo >= count / ranks, "count %d ranks %d: rank %d has %d",
                      count, ranks, r, hi - lo);
                for (int j = lo; j < hi; j++)
                    CHECK(ie_dist_owner(count, ranks, j) == r, "owner of %d (count %d, ranks %d)", j, count, ranks);
                next = hi;
            }
            CHECK(next == count, "count %d ranks %d: shares end at %d", count, ranks, next);
        }
}

/* Leaves of one value each: the tree's association spelled out. */
static void check_shape(void) {
    float x[5] = {1.0f, 1e-8f, 3e-8f, -1.0f, 7e-9f};
    float want3 = (x[0] + x[1]) + x[2], want5 = ((x[0] + x[1]) + (x[2] + x[3])) + x[4];
    float got = 0;
    float leaves[5 * LEN] = {0};
    for (int i = 0; i < 5; i++) leaves[i * LEN] = x[i];
    leaves_ctx c3 = {.leaves = leaves, .count = 3}, c5 = {.leaves = leaves, .count = 5};
    float out[LEN];
    CHECK_OK(ie_tree_value(3, ie_tree_root(3), LEN, from_leaves, &c3, out));
    got = out[0];
    CHECK(memcmp(&got, &want3, sizeof got) == 0, "3 leaves: %.9g, want (x0 + x1) + x2 = %.9g", got, want3);
    CHECK_OK(ie_tree_value(5, ie_tree_root(5), LEN, from_leaves, &c5, out));
    got = out[0];
    CHECK(memcmp(&got, &want5, sizeof got) == 0, "5 leaves: %.9g, want ((x0 + x1) + (x2 + x3)) + x4 = %.9g", got,
          want5);
    CHECK(ie_tree_root(1).level == 0 && ie_tree_root(5).level == 3 && ie_tree_root(8).level == 3, "root levels");
}

static void check_sums(void) {
    ie_rng rng = ie_rng_make(17, IE_STREAM_USER, 0, 0);
    for (int count = 1; count <= 33; count++) {
        float *leaves = malloc((size_t)count * LEN * sizeof *leaves), *pre = malloc(LEN * sizeof *pre);
        for (int i = 0; i < count * LEN; i++) leaves[i] = (ie_rng_uniform(&rng) - 0.5f) * (float)(1 << (i % 9));
        leaves_ctx base = {.leaves = leaves, .count = count};
        float ref[LEN], out[LEN];
        CHECK_OK(ie_tree_value(count, ie_tree_root(count), LEN, from_leaves, &base, ref));
        /* Rounding: each leaf passes through at most K = depth additions, so
         * |tree - exact| <= gamma_K * sum |x| with gamma_K = K u / (1 - K u),
         * u = 2^-24 (Higham, Accuracy and Stability, 2nd ed., 4.2). */
        int depth = ie_tree_root(count).level;
        double u = ldexp(1.0, -24), gamma = depth * u / (1 - depth * u);
        for (int e = 0; e < LEN; e++) {
            double exact = 0, abs_sum = 0;
            for (int i = 0; i < count; i++) exact += leaves[i * LEN + e], abs_sum += fabs(leaves[i * LEN + e]);
            CHECK(fabs(ref[e] - exact) <= gamma * abs_sum, "count %d value %d: tree %.9g, exact %.17g, bound %.3g",
                  count, e, ref[e], exact, gamma * abs_sum);
        }
        /* The same bytes whoever computes which node. */
        for (int ranks = 1; ranks <= 6; ranks++)
            for (int rank = 0; rank < ranks; rank++) {
                leaves_ctx c = {.leaves = leaves, .count = count, .ranks = ranks, .rank = rank, .precomputed = pre};
                CHECK_OK(ie_tree_value(count, ie_tree_root(count), LEN, with_received, &c, out));
                CHECK(memcmp(out, ref, sizeof out) == 0, "count %d: rank %d of %d computes other bytes", count, rank,
                      ranks);
            }
        free(leaves);
        free(pre);
    }
}

int main(void) {
    check_shares();
    check_shape();
    check_sums();
    return test_summary();
}
