/* core/export - bundle files (bundle.h). */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/export/bundle.h"
#include "core/export/pb.h"
#include "core/util/file_util.h"
#include "core/util/path.h"
#include "core/util/sha256.h"

#define MAGIC "IEBUNDLE"
#define VERSION 1
#define MAX_FILES 4096
#define MAX_PATH_LEN 1024

typedef struct file_list {
    char (*paths)[MAX_PATH_LEN];
    int n, cap;
} file_list;

static int by_path(const void *a, const void *b) { return strcmp(a, b); }

/* Relative paths of the regular files under root/rel, sorted at the end. */
static ie_status list_files(const char *root, const char *rel, file_list *out) {
    char dir[4200];
    IE_TRY(ie_path_format(dir, sizeof dir, "%s%s%s", root, rel[0] ? "/" : "", rel));
    DIR *d = opendir(dir);
    if (!d) return ie_error_set(IE_ERR_IO, "bundle: cannot read folder %s", dir);
    struct dirent *e;
    ie_status st = IE_OK;
    while (st == IE_OK && (e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        char sub[MAX_PATH_LEN], full[4200 + MAX_PATH_LEN];
        st = ie_path_format(sub, sizeof sub, "%s%s%s", rel, rel[0] ? "/" : "", e->d_name);
        if (st == IE_OK) st = ie_path_join(full, sizeof full, root, sub);
        if (st != IE_OK) break;
        struct stat sb;
        if (stat(full, &sb) != 0) continue;
        if (S_ISDIR(sb.st_mode)) {
            st = list_files(root, sub, out);
        } else if (S_ISREG(sb.st_mode)) {
            if (out->n == out->cap) {
                int cap = out->cap ? 2 * out->cap : 16;
                void *p = realloc(out->paths, (size_t)cap * sizeof *out->paths);
                if (!p || cap > MAX_FILES) {
                    st = ie_error_set(IE_ERR_NOMEM, "bundle: too many files under %s", root);
                    break;
                }
                out->paths = p;
                out->cap = cap;
            }
            snprintf(out->paths[out->n++], MAX_PATH_LEN, "%s", sub);
        }
    }
    closedir(d);
    return st;
}

static void put_u32(ie_pb *b, uint32_t v) {
    uint8_t x[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};
    ie_pb_raw(b, x, 4);
}

static void put_u64(ie_pb *b, uint64_t v) {
    put_u32(b, (uint32_t)v);
    put_u32(b, (uint32_t)(v >> 32));
}

ie_status ie_bundle_pack(const char *dir, const char *path) {
    file_list files = {0};
    ie_status st = list_files(dir, "", &files);
    if (st == IE_OK && files.n == 0) st = ie_error_set(IE_ERR_IO, "bundle: %s has no files", dir);
    if (st == IE_OK) qsort(files.paths, (size_t)files.n, sizeof *files.paths, by_path);
    char **contents = calloc((size_t)files.n + 1, sizeof *contents);
    size_t *sizes = calloc((size_t)files.n + 1, sizeof *sizes);
    if (!contents || !sizes) st = ie_error_set(IE_ERR_NOMEM, "bundle: out of memory");
    for (int i = 0; st == IE_OK && i < files.n; i++) {
        char full[4200 + MAX_PATH_LEN];
        st = ie_path_join(full, sizeof full, dir, files.paths[i]);
        if (st == IE_OK) st = ie_read_file(full, &contents[i], &sizes[i]);
    }
    ie_pb b = {0};
    if (st == IE_OK) {
        ie_pb_raw(&b, MAGIC, 8);
        put_u32(&b, VERSION);
        put_u32(&b, (uint32_t)files.n);
        for (int i = 0; i < files.n; i++) {
            uint8_t digest[IE_SHA256_DIGEST_SIZE];
            ie_sha256 ctx;
            ie_sha256_init(&ctx);
            ie_sha256_update(&ctx, contents[i], sizes[i]);
            ie_sha256_final(&ctx, digest);
            put_u32(&b, (uint32_t)strlen(files.paths[i]));
            ie_pb_raw(&b, files.paths[i], strlen(files.paths[i]));
            put_u64(&b, sizes[i]);
            ie_pb_raw(&b, digest, sizeof digest);
        }
        for (int i = 0; i < files.n; i++) ie_pb_raw(&b, contents[i], sizes[i]);
        if (!ie_pb_ok(&b)) st = ie_error_set(IE_ERR_NOMEM, "bundle: out of memory");
    }
    if (st == IE_OK) {
        uint8_t digest[IE_SHA256_DIGEST_SIZE];
        ie_sha256 ctx;
        ie_sha256_init(&ctx);
        ie_sha256_update(&ctx, b.data, b.len);
        ie_sha256_final(&ctx, digest);
        ie_pb_raw(&b, digest, sizeof digest);
        st = ie_pb_ok(&b) ? ie_write_file_atomic(path, (const char *)b.data, b.len)
                          : ie_error_set(IE_ERR_NOMEM, "bundle: out of memory");
    }
    ie_pb_free(&b);
    for (int i = 0; contents && i < files.n; i++) free(contents[i]);
    free(contents);
    free(sizes);
    free(files.paths);
    return st;
}

/* ---- reading ---- */

typedef struct reader {
    const uint8_t *data;
    size_t len, at;
} reader;

static bool take(reader *r, size_t n, const uint8_t **p) {
    if (r->len - r->at < n) return false;
    *p = r->data + r->at;
    r->at += n;
    return true;
}

static bool get_u32(reader *r, uint32_t *v) {
    const uint8_t *p;
    if (!take(r, 4, &p)) return false;
    *v = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
    return true;
}

static bool get_u64(reader *r, uint64_t *v) {
    uint32_t lo, hi;
    if (!get_u32(r, &lo) || !get_u32(r, &hi)) return false;
    *v = (uint64_t)hi << 32 | lo;
    return true;
}

static bool safe_path(const char *p) {
    if (!p[0] || p[0] == '/') return false;
    for (const char *s = p; *s; s++)
        if (s[0] == '.' && s[1] == '.' && (s == p || s[-1] == '/') && (s[2] == '/' || s[2] == '\0')) return false;
    return true;
}

/* mkdir -p for the folders of a relative path under dir. */
static ie_status make_parents(const char *dir, const char *rel) {
    char path[4200 + MAX_PATH_LEN];
    IE_TRY(ie_path_join(path, sizeof path, dir, rel));
    char *slash = strrchr(path, '/');
    if (!slash) return IE_OK;
    *slash = '\0';
    return ie_make_dirs(path);
}

ie_status ie_bundle_unpack(const char *path, const char *dir) {
    char *text = NULL;
    size_t len = 0;
    IE_TRY(ie_read_file(path, &text, &len));
    reader r = {(const uint8_t *)text, len, 0};
    const uint8_t *magic = NULL;
    uint32_t version = 0, count = 0;
    ie_status st = IE_OK;
    if (!take(&r, 8, &magic) || memcmp(magic, MAGIC, 8) != 0)
        st = ie_error_set(IE_ERR_IO, "%s is not an InnerEye bundle (it does not start with \"" MAGIC "\"); make "
                          "one with innereye export --format bundle", path);
    else if (len < 8 + 8 + IE_SHA256_DIGEST_SIZE)
        st = ie_error_set(IE_ERR_IO, "bundle %s is damaged: truncated (%zu bytes)", path, len);
    if (st == IE_OK) { /* the whole file first: any damage, then say where */
        uint8_t whole[IE_SHA256_DIGEST_SIZE];
        ie_sha256 ctx;
        ie_sha256_init(&ctx);
        ie_sha256_update(&ctx, text, len - IE_SHA256_DIGEST_SIZE);
        ie_sha256_final(&ctx, whole);
        bool whole_ok = memcmp(whole, text + len - IE_SHA256_DIGEST_SIZE, sizeof whole) == 0;
        r.len = len - IE_SHA256_DIGEST_SIZE;
        if (!get_u32(&r, &version) || !get_u32(&r, &count))
            st = ie_error_set(IE_ERR_IO, "bundle %s is damaged: truncated header", path);
        else if (version != VERSION)
            st = ie_error_set(IE_ERR_IO, "bundle %s has format version %u; this InnerEye reads version %d (export it "
                              "again with this version)", path, version, VERSION);
        else if (count == 0 || count > MAX_FILES)
            st = ie_error_set(IE_ERR_IO, "bundle %s is damaged: its header lists %u files", path, count);
        char (*names)[MAX_PATH_LEN] = st == IE_OK ? calloc(count, sizeof *names) : NULL;
        uint64_t *sizes = st == IE_OK ? calloc(count, sizeof *sizes) : NULL;
        const uint8_t **digests = st == IE_OK ? calloc(count, sizeof *digests) : NULL;
        if (st == IE_OK && (!names || !sizes || !digests)) st = ie_error_set(IE_ERR_NOMEM, "out of memory");
        for (uint32_t i = 0; st == IE_OK && i < count; i++) {
            uint32_t n = 0;
            const uint8_t *p = NULL;
            if (!get_u32(&r, &n) || n == 0 || n >= MAX_PATH_LEN || !take(&r, n, &p) || !get_u64(&r, &sizes[i]) ||
                !take(&r, IE_SHA256_DIGEST_SIZE, &digests[i])) {
                st = ie_error_set(IE_ERR_IO, "bundle %s is damaged: the entry of file %u of %u in its header is "
                                  "%s", path, i + 1, count, whole_ok ? "invalid" : "unreadable (truncated or changed)");
                break;
            }
            memcpy(names[i], p, n);
            names[i][n] = '\0';
            if (!safe_path(names[i]) || strlen(names[i]) != n)
                st = ie_error_set(IE_ERR_IO, "bundle %s is damaged or unsafe: file %u has the path \"%s\"", path,
                                  i + 1, names[i]);
        }
        for (uint32_t i = 0; st == IE_OK && i < count; i++) {
            const uint8_t *p = NULL;
            if (!take(&r, sizes[i], &p)) {
                st = ie_error_set(IE_ERR_IO, "bundle %s is damaged: truncated in %s (%llu bytes expected)", path,
                                  names[i], (unsigned long long)sizes[i]);
                break;
            }
            uint8_t d[IE_SHA256_DIGEST_SIZE];
            ie_sha256 c;
            ie_sha256_init(&c);
            ie_sha256_update(&c, p, sizes[i]);
            ie_sha256_final(&c, d);
            if (memcmp(d, digests[i], sizeof d) != 0)
                st = ie_error_set(IE_ERR_IO, "bundle %s is damaged: the contents of %s do not match their SHA-256",
                                  path, names[i]);
        }
        if (st == IE_OK && r.at != r.len)
            st = ie_error_set(IE_ERR_IO, "bundle %s is damaged: %zu unexpected bytes after its files", path,
                              r.len - r.at);
        if (st == IE_OK && !whole_ok)
            st = ie_error_set(IE_ERR_IO, "bundle %s is damaged: its final SHA-256 does not match", path);
        /* all checked: now write; the contents start after the header */
        size_t data_at = 8 + 8;
        for (uint32_t i = 0; i < count && st == IE_OK; i++) data_at += 4 + strlen(names[i]) + 8 + IE_SHA256_DIGEST_SIZE;
        for (uint32_t i = 0; st == IE_OK && i < count; i++) {
            char full[4200 + MAX_PATH_LEN];
            st = ie_path_join(full, sizeof full, dir, names[i]);
            if (st == IE_OK) st = make_parents(dir, names[i]);
            FILE *f = st == IE_OK ? fopen(full, "wb") : NULL;
            if (st == IE_OK && !f) st = ie_error_set(IE_ERR_IO, "cannot write %s", full);
            if (f) {
                if (fwrite(text + data_at, 1, sizes[i], f) != sizes[i])
                    st = ie_error_set(IE_ERR_IO, "cannot write %s", full);
                if (fclose(f) != 0 && st == IE_OK) st = ie_error_set(IE_ERR_IO, "cannot write %s", full);
            }
            data_at += sizes[i];
        }
        free(names);
        free(sizes);
        free(digests);
    }
    free(text);
    return st;
}

ie_status ie_bundle_temp_dir(char *out, size_t size) {
    const char *tmp = getenv("TMPDIR");
    IE_TRY(ie_path_format(out, size, "%s/innereye-bundle-XXXXXX", tmp && tmp[0] ? tmp : "/tmp"));
    if (!mkdtemp(out)) return ie_error_set(IE_ERR_IO, "cannot make a temporary folder %s", out);
    return IE_OK;
}
