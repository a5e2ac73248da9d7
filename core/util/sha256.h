/* core/util/sha256.h - SHA-256 (FIPS 180-4) of buffers, streams and files.
 *
 * Used for the resolved-config hash and for the provenance record (plugin and
 * data file hashes).  Internal to libinnereye and its tools, but exported, so
 * the host program and tests can call it. */
#ifndef IE_CORE_UTIL_SHA256_H
#define IE_CORE_UTIL_SHA256_H

#include <stddef.h>
#include <stdint.h>

#include "innereye/status.h"

#define IE_SHA256_DIGEST_SIZE 32
#define IE_SHA256_HEX_SIZE 65 /* 64 hex digits and the terminating NUL */

typedef struct ie_sha256 {
    uint32_t state[8];
    uint64_t total; /* bytes hashed so far */
    uint8_t block[64];
    size_t fill; /* bytes waiting in block */
} ie_sha256;

void ie_sha256_init(ie_sha256 *ctx);
void ie_sha256_update(ie_sha256 *ctx, const void *data, size_t n);
/* Writes the digest; ctx must be initialised again before reuse. */
void ie_sha256_final(ie_sha256 *ctx, uint8_t digest[IE_SHA256_DIGEST_SIZE]);

void ie_sha256_buffer(const void *data, size_t n, uint8_t digest[IE_SHA256_DIGEST_SIZE]);
/* Lower-case hex, NUL-terminated. */
void ie_sha256_hex(const uint8_t digest[IE_SHA256_DIGEST_SIZE], char hex[IE_SHA256_HEX_SIZE]);
/* The digest that names a set of weights: one model's is its weights file's
 * digest (what sha256sum prints); an ensemble's is the SHA-256 of its members'
 * digests, concatenated in member order.  n >= 1. */
void ie_sha256_of_members(const uint8_t (*members)[IE_SHA256_DIGEST_SIZE], int n,
                          uint8_t digest[IE_SHA256_DIGEST_SIZE]);
/* Streams the file (any size); IE_ERR_IO naming the file when it cannot be read.
 * A folder (a DICOM series) hashes its regular, not hidden files: the SHA-256
 * of each name (with its NUL) and that file's digest, in name order. */
ie_status ie_sha256_file(const char *path, uint8_t digest[IE_SHA256_DIGEST_SIZE]);
/* The same as lower-case hex text (plugins, data files in run.json). */
ie_status ie_sha256_file_hex(const char *path, char hex[IE_SHA256_HEX_SIZE]);

#endif
