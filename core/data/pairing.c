/* core/data - pairing image and label folders into a dataset CSV. */
#include "core/data/pairing.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/util/csv.h"
#include "core/util/file_util.h"
#include "core/util/path.h"

static const char *const image_endings[] = {".nii.gz", ".nii", ".hdr", ".nrrd", ".nhdr", ".mha", ".mhd"};

/* Length of the subject part of an image name, or 0 when it is no image. */
static size_t stem_length(const char *name) {
    size_t n = strlen(name);
    if (name[0] == '.') return 0;
    for (size_t i = 0; i < sizeof image_endings / sizeof image_endings[0]; i++) {
        size_t e = strlen(image_endings[i]);
        if (n > e && strcmp(name + n - e, image_endings[i]) == 0) return n - e;
    }
    return 0;
}

bool ie_pairing_is_image_name(const char *name) { return stem_length(name) > 0; }

typedef struct entry {
    char *name;
    char *stem;
} entry;

static int by_stem(const void *a, const void *b) {
    const entry *x = a, *y = b;
    int c = strcmp(x->stem, y->stem);
    return c ? c : strcmp(x->name, y->name);
}

static void entries_free(entry *e, int n) {
    for (int i = 0; i < n; i++) {
        free(e[i].name);
        free(e[i].stem);
    }
    free(e);
}

/* Image files of dir sorted by subject; two files of one subject are an error. */
static ie_status list_folder(const char *dir, const char *what, entry **out, int *count) {
    *out = NULL;
    *count = 0;
    DIR *d = opendir(dir);
    if (!d) return ie_error_set(IE_ERR_IO, "%s folder %s: %s", what, dir, strerror(errno));
    int n = 0, cap = 64;
    entry *e = malloc((size_t)cap * sizeof *e);
    struct dirent *de;
    bool nomem = !e;
    while (!nomem && (de = readdir(d))) {
        size_t stem = stem_length(de->d_name);
        if (!stem) continue;
        if (n == cap) {
            entry *grown = realloc(e, (size_t)(cap *= 2) * sizeof *e);
            if (!grown) {
                nomem = true;
                break;
            }
            e = grown;
        }
        e[n].name = strdup(de->d_name);
        e[n].stem = strndup(de->d_name, stem);
        n++;
        if (!e[n - 1].name || !e[n - 1].stem) nomem = true;
    }
    closedir(d);
    if (nomem) {
        entries_free(e, n);
        return ie_error_set(IE_ERR_NOMEM, "%s: out of memory listing the folder", dir);
    }
    qsort(e, (size_t)n, sizeof *e, by_stem);
    for (int i = 1; i < n; i++)
        if (strcmp(e[i].stem, e[i - 1].stem) == 0) {
            ie_status st = ie_error_set(IE_ERR_IO, "%s folder %s holds two files of subject '%s': %s and %s; "
                                        "remove one", what, dir, e[i].stem, e[i - 1].name, e[i].name);
            entries_free(e, n);
            return st;
        }
    *out = e;
    *count = n;
    return IE_OK;
}

void ie_pairing_free(ie_pairing *p) {
    if (!p) return;
    for (int i = 0; i < p->n_pairs; i++) {
        free(p->subjects[i]);
        free(p->images[i]);
        free(p->labels[i]);
    }
    for (int i = 0; i < p->n_unpaired_images; i++) free(p->unpaired_images[i]);
    for (int i = 0; i < p->n_unpaired_labels; i++) free(p->unpaired_labels[i]);
    free(p->subjects);
    free(p->images);
    free(p->labels);
    free(p->unpaired_images);
    free(p->unpaired_labels);
    memset(p, 0, sizeof *p);
}

static char *join(const char *dir, const char *name) {
    size_t n = strlen(dir) + strlen(name) + 2;
    char *s = malloc(n);
    if (s) snprintf(s, n, "%s/%s", dir, name);
    return s;
}

/* Walks both sorted lists at once. */
static ie_status merge(const char *images, const entry *im, int ni, const char *labels, const entry *lb, int nl,
                       int max_subjects, ie_pairing *p) {
    size_t most = (size_t)(ni > nl ? ni : nl) + 1;
    p->subjects = calloc(most, sizeof(char *));
    p->images = calloc(most, sizeof(char *));
    p->labels = calloc(most, sizeof(char *));
    p->unpaired_images = calloc(most, sizeof(char *));
    p->unpaired_labels = calloc(most, sizeof(char *));
    if (!p->subjects || !p->images || !p->labels || !p->unpaired_images || !p->unpaired_labels)
        return ie_error_set(IE_ERR_NOMEM, "pairing: out of memory");
    int i = 0, j = 0;
    while (i < ni || j < nl) {
        int c = i == ni ? 1 : j == nl ? -1 : strcmp(im[i].stem, lb[j].stem);
        bool full = max_subjects > 0 && p->n_pairs >= max_subjects;
        if (c < 0) {
            if (!full && !(p->unpaired_images[p->n_unpaired_images++] = strdup(im[i].name))) goto nomem;
            i++;
        } else if (c > 0) {
            if (!full && !(p->unpaired_labels[p->n_unpaired_labels++] = strdup(lb[j].name))) goto nomem;
            j++;
        } else {
            if (!full) {
                int k = p->n_pairs++;
                p->subjects[k] = strdup(im[i].stem);
                p->images[k] = join(images, im[i].name);
                p->labels[k] = join(labels, lb[j].name);
                if (!p->subjects[k] || !p->images[k] || !p->labels[k]) goto nomem;
            }
            i++;
            j++;
        }
    }
    return IE_OK;
nomem:
    return ie_error_set(IE_ERR_NOMEM, "pairing: out of memory");
}

ie_status ie_pairing_find(const char *images_dir, const char *labels_dir, int max_subjects, ie_pairing *out) {
    if (!images_dir || !labels_dir || !out) return ie_error_set(IE_ERR_INVALID_ARG, "pairing: NULL argument");
    memset(out, 0, sizeof *out);
    char images[PATH_MAX], labels[PATH_MAX];
    if (!realpath(images_dir, images))
        return ie_error_set(IE_ERR_IO, "images folder %s: %s (relative paths start at the current folder)",
                            images_dir, strerror(errno));
    if (!realpath(labels_dir, labels))
        return ie_error_set(IE_ERR_IO, "labels folder %s: %s (relative paths start at the current folder)",
                            labels_dir, strerror(errno));
    entry *im = NULL, *lb = NULL;
    int ni = 0, nl = 0;
    ie_status st = list_folder(images, "images", &im, &ni);
    if (st == IE_OK) st = list_folder(labels, "labels", &lb, &nl);
    if (st == IE_OK) st = merge(images, im, ni, labels, lb, nl, max_subjects, out);
    if (st == IE_OK && out->n_pairs == 0)
        st = ie_error_set(IE_ERR_IO, "no image in %s (%d image files) has a label of the same name in %s (%d image "
                          "files); labels are paired by file name, e.g. images/case_001.nii.gz with "
                          "labels/case_001.nii.gz", images, ni, labels, nl);
    entries_free(im, ni);
    entries_free(lb, nl);
    if (st != IE_OK) ie_pairing_free(out);
    return st;
}

/* path relative to `folder` (both absolute) when it lies inside it. */
static const char *relative(const char *path, const char *folder) {
    if (!folder) return path;
    size_t n = strlen(folder);
    if (n == 1 && folder[0] == '/') return path + 1;
    if (strncmp(path, folder, n) == 0 && path[n] == '/') return path + n + 1;
    return path;
}

ie_status ie_pairing_csv(const ie_pairing *p, const char *image_channel, const char *label_channel,
                         const char *relative_to, char **text, size_t *length) {
    if (!p || !image_channel || !label_channel || !text || !length)
        return ie_error_set(IE_ERR_INVALID_ARG, "pairing csv: NULL argument");
    if (!image_channel[0] || !label_channel[0] || strcmp(image_channel, label_channel) == 0)
        return ie_error_set(IE_ERR_INVALID_ARG, "the image and label channels must be two different non-empty "
                            "names, got '%s' and '%s'", image_channel, label_channel);
    char folder[PATH_MAX];
    if (relative_to && !realpath(relative_to, folder))
        return ie_error_set(IE_ERR_IO, "%s: %s", relative_to, strerror(errno));
    *text = NULL;
    *length = 0;
    FILE *f = open_memstream(text, length);
    if (!f) return ie_error_set(IE_ERR_NOMEM, "pairing csv: out of memory");
    fputs("subject,filePath,channel\n", f);
    for (int i = 0; i < p->n_pairs; i++) {
        const char *files[2] = {p->images[i], p->labels[i]}, *channels[2] = {image_channel, label_channel};
        for (int k = 0; k < 2; k++) {
            ie_csv_write_field(f, p->subjects[i]);
            fputc(',', f);
            ie_csv_write_field(f, relative(files[k], relative_to ? folder : NULL));
            fputc(',', f);
            ie_csv_write_field(f, channels[k]);
            fputc('\n', f);
        }
    }
    if (fclose(f) != 0 || !*text) {
        free(*text);
        *text = NULL;
        return ie_error_set(IE_ERR_NOMEM, "pairing csv: out of memory");
    }
    return IE_OK;
}

ie_status ie_pairing_write_csv(const ie_pairing *p, const char *image_channel, const char *label_channel,
                               const char *path) {
    if (!path) return ie_error_set(IE_ERR_INVALID_ARG, "pairing: no output path");
    const char *slash = strrchr(path, '/');
    char folder[PATH_MAX];
    if (!slash) snprintf(folder, sizeof folder, ".");
    else IE_TRY(ie_path_format(folder, sizeof folder, "%.*s", slash == path ? 1 : (int)(slash - path), path));
    struct stat sb;
    if (stat(folder, &sb) != 0 || !S_ISDIR(sb.st_mode))
        return ie_error_set(IE_ERR_IO, "%s: the folder %s does not exist; create it first", path, folder);
    char *text = NULL;
    size_t length = 0;
    IE_TRY(ie_pairing_csv(p, image_channel, label_channel, folder, &text, &length));
    ie_status st = ie_write_file_exclusive(path, text, length);
    free(text);
    return st;
}

static void list_names(char *buf, size_t size, size_t *used, char *const *names, int n, int show) {
    for (int i = 0; i < n && i < show; i++)
        *used += (size_t)snprintf(buf + *used, *used < size ? size - *used : 0, "%s%s", i ? ", " : "", names[i]);
    if (n > show) *used += (size_t)snprintf(buf + *used, *used < size ? size - *used : 0, ", ... %d more", n - show);
}

void ie_pairing_describe_unpaired(const ie_pairing *p, int show, char *buf, size_t size) {
    if (!size) return;
    buf[0] = '\0';
    size_t used = 0;
    if (p->n_unpaired_images) {
        used += (size_t)snprintf(buf, size, "%d image%s without a label (", p->n_unpaired_images,
                                 p->n_unpaired_images == 1 ? "" : "s");
        list_names(buf, size, &used, p->unpaired_images, p->n_unpaired_images, show);
        used += (size_t)snprintf(buf + used, used < size ? size - used : 0, ")");
    }
    if (p->n_unpaired_labels) {
        used += (size_t)snprintf(buf + used, used < size ? size - used : 0, "%s%d label%s without an image (",
                                 used ? "; " : "", p->n_unpaired_labels, p->n_unpaired_labels == 1 ? "" : "s");
        list_names(buf, size, &used, p->unpaired_labels, p->n_unpaired_labels, show);
        snprintf(buf + used, used < size ? size - used : 0, ")");
    }
}
