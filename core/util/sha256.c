/* core/util - SHA-256 (FIPS 180-4), written out so that hashes do not depend
 * on which crypto library a machine has. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/util/sha256.h"

static const uint32_t round_constants[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2};

static inline uint32_t rotr(uint32_t x, int n) { return (x >> n) | (x << (32 - n)); }

static void compress(uint32_t state[8], const uint8_t block[64]) {
    uint32_t w[64];
    for (int i = 0; i < 16; i++)
        w[i] = (uint32_t)block[4 * i] << 24 | (uint32_t)block[4 * i + 1] << 16 |
               (uint32_t)block[4 * i + 2] << 8 | (uint32_t)block[4 * i + 3];
    for (int i = 16; i < 64; i++) {
        uint32_t s0 = rotr(w[i - 15], 7) ^ rotr(w[i - 15], 18) ^ (w[i - 15] >> 3);
        uint32_t s1 = rotr(w[i - 2], 17) ^ rotr(w[i - 2], 19) ^ (w[i - 2] >> 10);
        w[i] = w[i - 16] + s0 + w[i - 7] + s1;
    }
    uint32_t a = state[0], b = state[1], c = state[2], d = state[3];
    uint32_t e = state[4], f = state[5], g = state[6], h = state[7];
    for (int i = 0; i < 64; i++) {
        uint32_t t1 = h + (rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)) + ((e & f) ^ (~e & g)) +
                      round_constants[i] + w[i];
        uint32_t t2 = (rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
        h = g;
        g = f;
        f = e;
        e = d + t1;
        d = c;
        c = b;
        b = a;
        a = t1 + t2;
    }
    state[0] += a; state[1] += b; state[2] += c; state[3] += d;
    state[4] += e; state[5] += f; state[6] += g; state[7] += h;
}

void ie_sha256_init(ie_sha256 *ctx) {
    static const uint32_t initial[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                                        0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
    memcpy(ctx->state, initial, sizeof initial);
    ctx->total = 0;
    ctx->fill = 0;
}

void ie_sha256_update(ie_sha256 *ctx, const void *data, size_t n) {
    const uint8_t *p = data;
    ctx->total += n;
    if (ctx->fill) {
        size_t take = 64 - ctx->fill < n ? 64 - ctx->fill : n;
        memcpy(ctx->block + ctx->fill, p, take);
        ctx->fill += take;
        p += take;
        n -= take;
        if (ctx->fill < 64) return;
        compress(ctx->state, ctx->block);
        ctx->fill = 0;
    }
    for (; n >= 64; p += 64, n -= 64) compress(ctx->state, p);
    memcpy(ctx->block, p, n);
    ctx->fill = n;
}

void ie_sha256_final(ie_sha256 *ctx, uint8_t digest[IE_SHA256_DIGEST_SIZE]) {
    uint64_t bits = ctx->total * 8;
    uint8_t pad[72] = {0x80};
    /* Pad to 56 mod 64, then the message length in bits, big-endian. */
    size_t npad = (ctx->fill < 56 ? 56 : 120) - ctx->fill;
    for (int i = 0; i < 8; i++) pad[npad + i] = (uint8_t)(bits >> (56 - 8 * i));
    ie_sha256_update(ctx, pad, npad + 8);
    for (int i = 0; i < 8; i++) {
        digest[4 * i] = (uint8_t)(ctx->state[i] >> 24);
        digest[4 * i + 1] = (uint8_t)(ctx->state[i] >> 16);
        digest[4 * i + 2] = (uint8_t)(ctx->state[i] >> 8);
        digest[4 * i + 3] = (uint8_t)ctx->state[i];
    }
}

void ie_sha256_buffer(const void *data, size_t n, uint8_t digest[IE_SHA256_DIGEST_SIZE]) {
    ie_sha256 ctx;
    ie_sha256_init(&ctx);
    ie_sha256_update(&ctx, data, n);
    ie_sha256_final(&ctx, digest);
}

void ie_sha256_of_members(const uint8_t (*members)[IE_SHA256_DIGEST_SIZE], int n,
                          uint8_t digest[IE_SHA256_DIGEST_SIZE]) {
    if (n == 1) memcpy(digest, members[0], IE_SHA256_DIGEST_SIZE);
    else ie_sha256_buffer(members, (size_t)n * IE_SHA256_DIGEST_SIZE, digest);
}

void ie_sha256_hex(const uint8_t digest[IE_SHA256_DIGEST_SIZE], char hex[IE_SHA256_HEX_SIZE]) {
    static const char digits[] = "0123456789abcdef";
    for (int i = 0; i < IE_SHA256_DIGEST_SIZE; i++) {
        hex[2 * i] = digits[digest[i] >> 4];
        hex[2 * i + 1] = digits[digest[i] & 15];
    }
    hex[64] = '\0';
}

static int not_hidden(const struct dirent *e) { return e->d_name[0] != '.'; }

/* A folder (a DICOM series) as the hash of its files' names and hashes in
 * name order: a renamed, added, removed or changed slice changes it. */
static ie_status sha256_folder(const char *path, uint8_t digest[IE_SHA256_DIGEST_SIZE]) {
    struct dirent **entries = NULL;
    int n = scandir(path, &entries, not_hidden, alphasort);
    if (n < 0) return ie_error_set(IE_ERR_IO, "sha256: cannot list the folder %s: %s", path, strerror(errno));
    ie_sha256 ctx;
    ie_sha256_init(&ctx);
    ie_status st = IE_OK;
    for (int i = 0; i < n; i++) {
        char file[4096];
        struct stat sb;
        uint8_t d[IE_SHA256_DIGEST_SIZE];
        if (st == IE_OK && snprintf(file, sizeof file, "%s/%s", path, entries[i]->d_name) < (int)sizeof file &&
            stat(file, &sb) == 0 && S_ISREG(sb.st_mode)) {
            st = ie_sha256_file(file, d);
            ie_sha256_update(&ctx, entries[i]->d_name, strlen(entries[i]->d_name) + 1);
            ie_sha256_update(&ctx, d, sizeof d);
        }
        free(entries[i]);
    }
    free(entries);
    if (st == IE_OK) ie_sha256_final(&ctx, digest);
    return st;
}

ie_status ie_sha256_file(const char *path, uint8_t digest[IE_SHA256_DIGEST_SIZE]) {
    if (!path || !digest) return ie_error_set(IE_ERR_INVALID_ARG, "sha256: path and digest must not be NULL");
    struct stat sb;
    if (stat(path, &sb) == 0 && S_ISDIR(sb.st_mode)) return sha256_folder(path, digest);
    FILE *f = fopen(path, "rb");
    if (!f) return ie_error_set(IE_ERR_IO, "sha256: cannot open %s: %s", path, strerror(errno));
    ie_sha256 ctx;
    ie_sha256_init(&ctx);
    uint8_t buf[1 << 16];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0) ie_sha256_update(&ctx, buf, n);
    int failed = ferror(f);
    fclose(f);
    if (failed) return ie_error_set(IE_ERR_IO, "sha256: error while reading %s", path);
    ie_sha256_final(&ctx, digest);
    return IE_OK;
}

ie_status ie_sha256_file_hex(const char *path, char hex[IE_SHA256_HEX_SIZE]) {
    uint8_t digest[IE_SHA256_DIGEST_SIZE];
    IE_TRY(ie_sha256_file(path, digest));
    ie_sha256_hex(digest, hex);
    return IE_OK;
}
