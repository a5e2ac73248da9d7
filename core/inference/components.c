/* core/inference - connected-component labelling (rules in components.h). */
#include "core/inference/components.h"

/* Root of voxel i with path halving.  Links always point to smaller indices. */
static int32_t find_root(int32_t *parent, int32_t i) {
    while (parent[i] != i) {
        parent[i] = parent[parent[i]];
        i = parent[i];
    }
    return i;
}

static void join(int32_t *parent, int32_t a, int32_t b) {
    a = find_root(parent, a);
    b = find_root(parent, b);
    if (a < b) parent[b] = a;
    else if (b < a) parent[a] = b;
}

ie_status ie_components_label(const uint8_t *map, const int64_t size[3], int connectivity, int32_t *labels,
                              int32_t *count) {
    if (!map || !size || !labels || !count) return ie_error_set(IE_ERR_INVALID_ARG, "components: NULL argument");
    if (connectivity != 6 && connectivity != 26)
        return ie_error_set(IE_ERR_INVALID_ARG, "components: connectivity %d; use 6 (faces) or 26 (faces, edges and "
                            "corners)", connectivity);
    const int64_t D = size[0], H = size[1], W = size[2];
    if (D < 1 || H < 1 || W < 1 || D * H * W >= INT32_MAX)
        return ie_error_set(IE_ERR_SHAPE, "components: a volume of %lldx%lldx%lld voxels (D, H, W) is not supported (at most "
                            "2^31 - 1 voxels)", (long long)D, (long long)H, (long long)W);
    /* The neighbours that come earlier in raster order: half of the
     * neighbourhood, so each pair is looked at once. */
    int offsets[13][3], n_off = 0;
    for (int dz = -1; dz <= 0; dz++)
        for (int dy = -1; dy <= 1; dy++)
            for (int dx = -1; dx <= 1; dx++) {
                if (dz == 0 && (dy > 0 || (dy == 0 && dx >= 0))) continue;
                if (connectivity == 6 && (dz != 0) + (dy != 0) + (dx != 0) != 1) continue;
                offsets[n_off][0] = dz, offsets[n_off][1] = dy, offsets[n_off][2] = dx, n_off++;
            }
    /* Pass 1: links. */
    for (int64_t z = 0, i = 0; z < D; z++)
        for (int64_t y = 0; y < H; y++)
            for (int64_t x = 0; x < W; x++, i++) {
                uint8_t v = map[i];
                if (!v) continue;
                labels[i] = (int32_t)i;
                for (int k = 0; k < n_off; k++) {
                    int64_t nz = z + offsets[k][0], ny = y + offsets[k][1], nx = x + offsets[k][2];
                    if (nz < 0 || ny < 0 || ny >= H || nx < 0 || nx >= W) continue;
                    int64_t j = (nz * H + ny) * W + nx;
                    if (map[j] == v) join(labels, (int32_t)i, (int32_t)j);
                }
            }
    /* Pass 2: numbers.  A voxel's link points to a smaller index in the same
     * component, which this pass has already turned into -(number). */
    int32_t n = 0;
    for (int64_t i = 0, V = D * H * W; i < V; i++) {
        int32_t p = labels[i];
        if (!map[i]) {
            labels[i] = 0;
        } else if (p == (int32_t)i) {
            labels[i] = -(++n);
        } else {
            labels[i] = labels[p];
        }
    }
    for (int64_t i = 0, V = D * H * W; i < V; i++) labels[i] = -labels[i];
    *count = n;
    return IE_OK;
}
