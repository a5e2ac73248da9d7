/* core/random - Philox-4x32-10 (Salmon et al., "Parallel random numbers: as
 * easy as 1, 2, 3", SC'11).  A counter-based generator: output block k is a
 * keyed bijection of k, so any draw can be computed directly from its
 * coordinates (seed, stream, epoch, item, index) with no shared state.
 *
 * Counter layout: word 0 = block index (low 32 bits), word 1 = item,
 * word 2 = epoch, word 3 = stream.  Key = the 64-bit seed. */
#include <math.h>

#include "innereye/rng.h"

#define PHILOX_M0 0xD2511F53u
#define PHILOX_M1 0xCD9E8D57u
#define PHILOX_W0 0x9E3779B9u
#define PHILOX_W1 0xBB67AE85u

void ie_philox4x32(uint64_t seed, const uint32_t counter[4], uint32_t out[4]) {
    uint32_t c0 = counter[0], c1 = counter[1], c2 = counter[2], c3 = counter[3];
    uint32_t k0 = (uint32_t)seed, k1 = (uint32_t)(seed >> 32);
    for (int round = 0; round < 10; round++) {
        uint64_t p0 = (uint64_t)PHILOX_M0 * c0;
        uint64_t p1 = (uint64_t)PHILOX_M1 * c2;
        uint32_t n0 = (uint32_t)(p1 >> 32) ^ c1 ^ k0;
        uint32_t n1 = (uint32_t)p1;
        uint32_t n2 = (uint32_t)(p0 >> 32) ^ c3 ^ k1;
        uint32_t n3 = (uint32_t)p0;
        c0 = n0; c1 = n1; c2 = n2; c3 = n3;
        k0 += PHILOX_W0;
        k1 += PHILOX_W1;
    }
    out[0] = c0; out[1] = c1; out[2] = c2; out[3] = c3;
}

ie_rng ie_rng_make(uint64_t seed, uint32_t stream, uint32_t epoch, uint32_t item) {
    ie_rng r = {seed, stream, epoch, item, 0};
    return r;
}

uint32_t ie_rng_u32_at(const ie_rng *rng, uint64_t index) {
    /* Index bits above the block's 2 low bits go to word 0; more than 2^34
     * draws per (stream, epoch, item) fold their high bits into the item word
     * so they stay distinct from the next item's low draws in practice. */
    uint64_t block = index >> 2;
    uint32_t counter[4] = {(uint32_t)block, rng->item ^ (uint32_t)(block >> 32) * 0x9E3779B9u,
                           rng->epoch, rng->stream};
    uint32_t out[4];
    ie_philox4x32(rng->seed, counter, out);
    return out[index & 3];
}

float ie_rng_uniform_at(const ie_rng *rng, uint64_t index) {
    return (float)(ie_rng_u32_at(rng, index) >> 8) * (1.0f / 16777216.0f);
}

float ie_rng_normal_at(const ie_rng *rng, uint64_t index) {
    /* u1 in (0, 1] keeps the logarithm finite. */
    double u1 = ((double)(ie_rng_u32_at(rng, 2 * index) >> 8) + 1.0) / 16777216.0;
    double u2 = (double)(ie_rng_u32_at(rng, 2 * index + 1) >> 8) / 16777216.0;
    return (float)(sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2));
}

uint32_t ie_rng_u32(ie_rng *rng) { return ie_rng_u32_at(rng, rng->next++); }
float ie_rng_uniform(ie_rng *rng) { return ie_rng_uniform_at(rng, rng->next++); }
float ie_rng_normal(ie_rng *rng) {
    /* Normals use their own index space (two u32 per draw). */
    float v = ie_rng_normal_at(rng, ((uint64_t)1 << 40) + rng->next);
    rng->next++;
    return v;
}

uint32_t ie_rng_below(ie_rng *rng, uint32_t n) {
    if (n <= 1) return 0;
    /* Lemire's rejection: unbiased and nearly always one draw. */
    uint64_t m = (uint64_t)ie_rng_u32(rng) * n;
    uint32_t low = (uint32_t)m;
    if (low < n) {
        uint32_t threshold = (uint32_t)(-n) % n;
        while (low < threshold) {
            m = (uint64_t)ie_rng_u32(rng) * n;
            low = (uint32_t)m;
        }
    }
    return (uint32_t)(m >> 32);
}

void ie_rng_fill_uniform(const ie_rng *rng, uint64_t offset, float *out, int64_t n, float lo,
                         float hi) {
    float scale = hi - lo;
    for (int64_t i = 0; i < n; i++) out[i] = lo + scale * ie_rng_uniform_at(rng, offset + (uint64_t)i);
}
