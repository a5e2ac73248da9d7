/* Philox-4x32-10 against Random123's known-answer vectors, and the
 * pure-function property of every draw. */
#include "test_util.h"
#include "innereye/rng.h"

static void kat(uint32_t c0, uint32_t c1, uint32_t c2, uint32_t c3, uint32_t k0, uint32_t k1,
                const uint32_t want[4]) {
    uint32_t counter[4] = {c0, c1, c2, c3}, out[4];
    ie_philox4x32((uint64_t)k1 << 32 | k0, counter, out);
    for (int i = 0; i < 4; i++)
        CHECK(out[i] == want[i], "philox word %d: got %08x want %08x", i, out[i], want[i]);
}

int main(void) {
    kat(0, 0, 0, 0, 0, 0, (const uint32_t[]){0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8});
    kat(0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff,
        (const uint32_t[]){0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd});
    kat(0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344, 0xa4093822, 0x299f31d0,
        (const uint32_t[]){0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1});

    /* Draws are pure functions of their coordinates. */
    ie_rng a = ie_rng_make(42, IE_STREAM_AUGMENT, 3, 17), b = a;
    for (int i = 0; i < 10; i++) CHECK(ie_rng_u32(&a) == ie_rng_u32_at(&b, (uint64_t)i), "sequential draw %d", i);
    ie_rng other_item = ie_rng_make(42, IE_STREAM_AUGMENT, 3, 18), other_epoch = ie_rng_make(42, IE_STREAM_AUGMENT, 4, 17),
           other_stream = ie_rng_make(42, IE_STREAM_SHUFFLE, 3, 17), other_seed = ie_rng_make(43, IE_STREAM_AUGMENT, 3, 17);
    CHECK(ie_rng_u32_at(&b, 0) != ie_rng_u32_at(&other_item, 0), "item changes the sequence");
    CHECK(ie_rng_u32_at(&b, 0) != ie_rng_u32_at(&other_epoch, 0), "epoch changes the sequence");
    CHECK(ie_rng_u32_at(&b, 0) != ie_rng_u32_at(&other_stream, 0), "stream changes the sequence");
    CHECK(ie_rng_u32_at(&b, 0) != ie_rng_u32_at(&other_seed, 0), "seed changes the sequence");

    /* Uniform moments and range; normal moments; below() range and balance. */
    const int n = 200000;
    double s = 0, s2 = 0, ns = 0, ns2 = 0;
    int counts[7] = {0};
    float lo = 1, hi = 0;
    ie_rng r = ie_rng_make(7, IE_STREAM_USER, 0, 0);
    for (int i = 0; i < n; i++) {
        float u = ie_rng_uniform(&r);
        lo = u < lo ? u : lo;
        hi = u > hi ? u : hi;
        s += u;
        s2 += (double)u * u;
        float z = ie_rng_normal(&r);
        ns += z;
        ns2 += (double)z * z;
        counts[ie_rng_below(&r, 7)]++;
    }
    CHECK(lo >= 0.0f && hi < 1.0f, "uniform range [%g, %g]", lo, hi);
    CHECK(fabs(s / n - 0.5) < 0.005, "uniform mean %g", s / n);
    CHECK(fabs(s2 / n - s / n * s / n - 1.0 / 12) < 0.002, "uniform variance");
    CHECK(fabs(ns / n) < 0.01, "normal mean %g", ns / n);
    CHECK(fabs(ns2 / n - 1.0) < 0.02, "normal variance %g", ns2 / n);
    for (int k = 0; k < 7; k++) CHECK(abs(counts[k] - n / 7) < n / 70, "below(7) bucket %d has %d", k, counts[k]);
    return test_summary();
}
