/* innereye/rng.h - counter-based random numbers (Philox-4x32-10).
 *
 * There is no global generator.  Every draw is a pure function of
 * (seed, stream, epoch, item, index): the same numbers come out whatever the
 * thread count, worker count or order of evaluation.  Streams separate uses
 * (initialisation, shuffling, augmentation, dropout, ...). */
#ifndef INNEREYE_RNG_H
#define INNEREYE_RNG_H

#include "innereye/api.h"

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Well-known streams; plugins may use any value >= IE_STREAM_USER. */
enum {
    IE_STREAM_INIT = 1,
    IE_STREAM_SHUFFLE = 2,
    IE_STREAM_AUGMENT = 3,
    IE_STREAM_DROPOUT = 4,
    IE_STREAM_SAMPLING = 5,
    IE_STREAM_SPLIT = 6,
    IE_STREAM_USER = 1000
};

typedef struct ie_rng {
    uint64_t seed;
    uint32_t stream;
    uint32_t epoch;
    uint32_t item;
    uint32_t next; /* index of the next sequential draw */
} ie_rng;

IE_API ie_rng ie_rng_make(uint64_t seed, uint32_t stream, uint32_t epoch, uint32_t item);

/* The raw generator: four 32-bit words for block `block` of this key. */
IE_API void ie_philox4x32(uint64_t seed, const uint32_t counter[4], uint32_t out[4]);

/* Element `index` of the rng's sequence, without advancing it. */
IE_API uint32_t ie_rng_u32_at(const ie_rng *rng, uint64_t index);
/* Uniform in [0, 1) with 24 random bits. */
IE_API float ie_rng_uniform_at(const ie_rng *rng, uint64_t index);
/* Standard normal (Box-Muller over indices 2*index and 2*index+1). */
IE_API float ie_rng_normal_at(const ie_rng *rng, uint64_t index);

/* Sequential draws: each advances rng->next. */
IE_API uint32_t ie_rng_u32(ie_rng *rng);
IE_API float ie_rng_uniform(ie_rng *rng);
IE_API float ie_rng_normal(ie_rng *rng);
/* Uniform integer in [0, n) without modulo bias. */
IE_API uint32_t ie_rng_below(ie_rng *rng, uint32_t n);

/* out[i] = lo + (hi - lo) * uniform_at(offset + i). */
IE_API void ie_rng_fill_uniform(const ie_rng *rng, uint64_t offset, float *out,
                         int64_t n, float lo, float hi);

#ifdef __cplusplus
}
#endif
#endif
