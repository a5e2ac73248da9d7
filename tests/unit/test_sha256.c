/* SHA-256 against the FIPS 180-2 / NIST known-answer vectors, streaming in
 * odd-sized pieces, and file hashing. */
#include <sys/stat.h>
#include <unistd.h>

#include "core/util/sha256.h"
#include "test_util.h"

static void check_hex(const char *what, const uint8_t digest[32], const char *want) {
    char hex[IE_SHA256_HEX_SIZE];
    ie_sha256_hex(digest, hex);
    CHECK(strcmp(hex, want) == 0, "%s: got %s, want %s", what, hex, want);
}

static void check_buffer(const char *what, const char *msg, const char *want) {
    uint8_t d[32];
    ie_sha256_buffer(msg, strlen(msg), d);
    check_hex(what, d, want);
}

int main(void) {
    check_buffer("empty", "", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    check_buffer("abc", "abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    check_buffer("448 bits", "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
                 "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
    check_buffer("896 bits",
                 "abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrs"
                 "mnopqrstnopqrstu",
                 "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1");
    /* Lengths around the padding boundary (55, 56, 64 bytes), from Python's hashlib. */
    char buf[65];
    memset(buf, 'a', 64);
    buf[55] = '\0';
    check_buffer("55 x a", buf, "9f4390f8d30c2dd92ec9f095b65e2b9ae9b0a925a5258e241c9f1e910f734318");
    memset(buf, 'a', 64);
    buf[56] = '\0';
    check_buffer("56 x a", buf, "b35439a4ac6f0948b6d6f9e3c6af0f5f590ce20f1bde7090ef7970686ec6738a");
    memset(buf, 'a', 64);
    buf[64] = '\0';
    check_buffer("64 x a", buf, "ffe054fe7ae0cb6dc65c3af9b61d5209f439851db43d0ba5997337df154668eb");

    /* One million 'a', fed in pieces of 1, 7, 63, 64, 65 ... bytes. */
    static char million[1000000];
    memset(million, 'a', sizeof million);
    const char *want_million = "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0";
    uint8_t d[32];
    ie_sha256_buffer(million, sizeof million, d);
    check_hex("million a", d, want_million);
    ie_sha256 ctx;
    ie_sha256_init(&ctx);
    static const size_t pieces[] = {1, 7, 63, 64, 65, 127, 1000, 4096};
    size_t done = 0;
    for (int i = 0; done < sizeof million; i++) {
        size_t n = pieces[i % 8];
        if (n > sizeof million - done) n = sizeof million - done;
        ie_sha256_update(&ctx, million + done, n);
        done += n;
    }
    ie_sha256_final(&ctx, d);
    check_hex("million a, streamed", d, want_million);

    /* A file hashes like its bytes. */
    char path[] = "/tmp/ie_sha256_XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0, "mkstemp failed");
    if (fd >= 0) {
        CHECK(write(fd, million, sizeof million) == (ssize_t)sizeof million, "write failed");
        close(fd);
        CHECK_OK(ie_sha256_file(path, d));
        check_hex("file", d, want_million);
        unlink(path);
    }
    CHECK_FAILS(ie_sha256_file("/nonexistent/ie_sha256", d), IE_ERR_IO, "/nonexistent/ie_sha256");

    /* A folder (a DICOM series): SHA-256 over each file's name, its NUL and
     * its digest, in name order; hidden files and sub-folders are left out.
     * Here: "a" holds "abc", "b" holds "" (digests from FIPS 180-4 above). */
    char dir[] = "/tmp/ie_sha256_dir_XXXXXX";
    CHECK(mkdtemp(dir) != NULL, "mkdtemp failed");
    char file[64];
    const char *names[] = {"b", "a", ".hidden"}, *bodies[] = {"", "abc", "ignored"};
    for (int i = 0; i < 3; i++) {
        snprintf(file, sizeof file, "%s/%s", dir, names[i]);
        FILE *f = fopen(file, "w");
        CHECK(f && fputs(bodies[i], f) >= 0 && fclose(f) == 0, "writing %s", file);
    }
    snprintf(file, sizeof file, "%s/sub", dir);
    CHECK(mkdir(file, 0755) == 0, "mkdir");
    uint8_t expect[32], part[32];
    ie_sha256_init(&ctx);
    ie_sha256_buffer("abc", 3, part);
    ie_sha256_update(&ctx, "a", 2);
    ie_sha256_update(&ctx, part, 32);
    ie_sha256_buffer("", 0, part);
    ie_sha256_update(&ctx, "b", 2);
    ie_sha256_update(&ctx, part, 32);
    ie_sha256_final(&ctx, expect);
    CHECK_OK(ie_sha256_file(dir, d));
    CHECK(memcmp(d, expect, 32) == 0, "a folder hashes its files' names and digests in name order");
    rmdir(file);
    for (int i = 0; i < 3; i++) {
        snprintf(file, sizeof file, "%s/%s", dir, names[i]);
        unlink(file);
    }
    rmdir(dir);
    return test_summary();
}
