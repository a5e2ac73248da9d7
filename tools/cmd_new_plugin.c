/* tools - `innereye new-plugin NAME DIR`: a new plugin project in DIR, copied
 * from the SDK template (sdk/template, installed to share/innereye/template)
 * with the template's name, MyModel, replaced by NAME throughout. */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/util/file_util.h"
#include "tools/cmd_plugins.h"
#include "tools/commands.h"

#define TEMPLATE_NAME "MyModel"
#define NAME_MAX_LEN 63

/* The three spellings of the template's name and what each becomes:
 * MyModel (the plugin name), mymodel (C identifiers, file and target
 * names), MYMODEL (constants). */
typedef struct renaming {
    const char *from[3];
    char to[3][NAME_MAX_LEN + 1];
} renaming;

static bool valid_name(const char *name) {
    size_t n = strlen(name);
    if (n == 0 || n > NAME_MAX_LEN || !isalpha((unsigned char)name[0])) return false;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)name[i]) && name[i] != '_') return false;
    return true;
}

static void make_renaming(renaming *r, const char *name) {
    r->from[0] = TEMPLATE_NAME;
    r->from[1] = "mymodel";
    r->from[2] = "MYMODEL";
    size_t n = strlen(name);
    for (size_t i = 0; i <= n; i++) {
        r->to[0][i] = name[i];
        r->to[1][i] = (char)tolower((unsigned char)name[i]);
        r->to[2][i] = (char)toupper((unsigned char)name[i]);
    }
}

/* A new string: `text` with every spelling of the template name replaced
 * (two passes: the length, then the text). */
static char *renamed(const char *text, const renaming *r) {
    char *out = NULL;
    size_t len = 0;
    for (int pass = 0; pass < 2; pass++) {
        if (pass == 1 && !(out = malloc(len + 1))) return NULL;
        len = 0;
        for (const char *p = text; *p;) {
            int hit = -1;
            for (int k = 0; k < 3 && hit < 0; k++)
                if (!strncmp(p, r->from[k], strlen(r->from[k]))) hit = k;
            const char *piece = hit >= 0 ? r->to[hit] : p;
            size_t n = hit >= 0 ? strlen(piece) : 1;
            if (out) memcpy(out + len, piece, n);
            len += n;
            p += hit >= 0 ? strlen(r->from[hit]) : 1;
        }
    }
    out[len] = '\0';
    return out;
}

/* "a/b" into out; false when it does not fit. */
static bool join_path(char *out, size_t size, const char *a, const char *b) {
    int n = snprintf(out, size, "%s/%s", a, b);
    return n >= 0 && (size_t)n < size;
}

static bool is_file(const char *dir, const char *file) {
    char path[PATH_MAX];
    struct stat st;
    return join_path(path, sizeof path, dir, file) && stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* Installed: <prefix>/bin/innereye finds <prefix>/share/innereye/template.
 * Build tree: the source tree's sdk/template. */
static const char *find_template(char installed[PATH_MAX]) {
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    installed[0] = '\0';
    if (n > 0) {
        exe[n] = '\0';
        char *slash = strrchr(exe, '/');
        if (slash) *slash = '\0';
        if (join_path(installed, PATH_MAX, exe, IE_TEMPLATE_REL) && is_file(installed, "CMakeLists.txt"))
            return installed;
    }
    return is_file(IE_SOURCE_TEMPLATE_DIR, "CMakeLists.txt") ? IE_SOURCE_TEMPLATE_DIR : NULL;
}

static char *read_all(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    size_t cap = 4096, len = 0;
    char *buf = malloc(cap);
    size_t got;
    while (buf && (got = fread(buf + len, 1, cap - len - 1, f)) > 0) {
        len += got;
        if (len + 1 == cap) {
            char *grown = realloc(buf, cap *= 2);
            if (!grown) free(buf);
            buf = grown;
        }
    }
    if (buf && ferror(f)) {
        free(buf);
        buf = NULL;
    }
    fclose(f);
    if (buf) buf[len] = '\0';
    return buf;
}

/* Writes template_dir/file into dir, renamed; false (with a message
 * printed) on failure, leaving nothing of that file behind. */
static bool copy_renamed(const char *template_dir, const char *file, const char *dir, const renaming *r) {
    char src[PATH_MAX], dst[PATH_MAX];
    char *text = join_path(src, sizeof src, template_dir, file) ? read_all(src) : NULL;
    char *new_text = text ? renamed(text, r) : NULL;
    char *new_file = renamed(file, r);
    bool ok = new_text && new_file;
    if (!ok) fprintf(stderr, "innereye new-plugin: cannot read the template file %s: %s\n", src, strerror(errno));
    if (ok && !join_path(dst, sizeof dst, dir, new_file)) {
        fprintf(stderr, "innereye new-plugin: the path %s/%s is too long\n", dir, new_file);
        ok = false;
    }
    if (ok) {
        /* never overwrites, never leaves a half-written file */
        ok = ie_write_file_exclusive(dst, new_text, strlen(new_text)) == IE_OK;
        if (!ok) fprintf(stderr, "innereye new-plugin: %s\n", ie_error_message());
        else printf("  %s\n", dst);
    }
    free(text);
    free(new_text);
    free(new_file);
    return ok;
}

/* Removes what an interrupted copy wrote: the renamed files, then DIR. */
static void remove_copy(const char *dir, struct dirent **files, int count, const renaming *r) {
    char path[PATH_MAX];
    for (int i = 0; i < count; i++) {
        char *name = renamed(files[i]->d_name, r);
        if (name && join_path(path, sizeof path, dir, name)) unlink(path);
        free(name);
    }
    rmdir(dir);
}

/* scandir's filter takes no context argument. */
static const char *template_dir_for_filter;

/* The template is flat: its regular files, hidden ones left out. */
static int template_file(const struct dirent *e) {
    return e->d_name[0] != '.' && is_file(template_dir_for_filter, e->d_name);
}

static int usage_error(void) {
    ie_cli_usage("new-plugin", stderr);
    return 2;
}

int ie_cmd_new_plugin(int argc, char **argv) {
    if (argc != 2) return usage_error();
    const char *name = argv[0], *dir = argv[1];
    if (!valid_name(name)) {
        fprintf(stderr,
                "innereye new-plugin: '%s' cannot be a plugin name: use a letter, then letters, digits or '_' "
                "(at most %d), since it also names C functions and files\n",
                name, NAME_MAX_LEN);
        return 2;
    }
    char installed[PATH_MAX];
    const char *template_dir = find_template(installed);
    if (!template_dir) {
        fprintf(stderr, "innereye new-plugin: cannot find the plugin template; looked in %s and %s\n",
                installed[0] ? installed : "(no installed layout)", IE_SOURCE_TEMPLATE_DIR);
        return 1;
    }
    struct stat st;
    if (lstat(dir, &st) == 0) {
        fprintf(stderr, "innereye new-plugin: %s already exists; give a new folder (nothing was written)\n", dir);
        return 1;
    }
    struct dirent **files = NULL;
    template_dir_for_filter = template_dir;
    int n = scandir(template_dir, &files, template_file, alphasort);
    if (n <= 0) {
        fprintf(stderr, "innereye new-plugin: the template folder %s is empty or unreadable\n", template_dir);
        free(files);
        return 1;
    }
    /* The folders above DIR are made as needed (~/src on a fresh account);
     * DIR itself must be new (mkdir, not ie_make_dirs). */
    char parent[PATH_MAX];
    snprintf(parent, sizeof parent, "%s", dir);
    char *slash = strrchr(parent, '/');
    if (slash && slash != parent) *slash = '\0';
    bool parent_ok = !slash || slash == parent || ie_make_dirs(parent) == IE_OK;
    if (!parent_ok || mkdir(dir, 0777) != 0) {
        if (parent_ok) fprintf(stderr, "innereye new-plugin: cannot create %s: %s\n", dir, strerror(errno));
        else fprintf(stderr, "innereye new-plugin: %s\n", ie_error_message());
        for (int i = 0; i < n; i++) free(files[i]);
        free(files);
        return 1;
    }

    renaming r;
    make_renaming(&r, name);
    printf("creating plugin %s in %s from the template in %s:\n", name, dir, template_dir);
    int copied = 0;
    while (copied < n && copy_renamed(template_dir, files[copied]->d_name, dir, &r)) copied++;
    if (copied < n) remove_copy(dir, files, copied, &r);
    for (int i = 0; i < n; i++) free(files[i]);
    free(files);
    if (copied < n) return 1;
    /* Installed, the prefix to build against is known. */
    char prefix[PATH_MAX], relative[PATH_MAX];
    bool from_install = template_dir == installed &&
                        join_path(relative, sizeof relative, installed, IE_PREFIX_FROM_TEMPLATE) &&
                        realpath(relative, prefix);
    printf("build it against the installed SDK:\n"
           "  cmake -S %s -B %s/build -DCMAKE_PREFIX_PATH=%s\n"
           "  cmake --build %s/build\n"
           "  innereye plugins --plugin %s/build/lib%s.so\n",
           dir, dir, from_install ? prefix : "<InnerEye install prefix>", dir, dir, r.to[1]);
    return 0;
}
