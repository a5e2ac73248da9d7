/* tools - `innereye dataset` subcommands that make the datasets of the
 * classification and regression examples (docs/classification.md) from
 * public sources; rows of the subcommand table in cmd_dataset.c.  What they
 * write is a dataset CSV like any other: nothing here depends on the task
 * that will train on it (docs/tasks.md, "Dataset creation").
 *
 *   innereye dataset fashion-mnist --out DIR [--source DIR] [--train N] [--val N] [--test N]
 *     Debian's dataset-fashion-mnist (idx files) as PNG images plus a
 *     dataset.csv (subject,filePath,label,class_name,split) in DIR.  The
 *     first N of the 60 000 training images are used (all by default), the
 *     last --val of them (default 5000) marked val; the first --test of the
 *     10 000 test images (all by default) marked test.  DIR is built under a
 *     temporary name and renamed when complete, so it is never half-written;
 *     an existing DIR is refused.
 *
 *   innereye dataset hippocampus-volume --images DIR --labels DIR --out DIR
 *     For every label map in --labels with an image of the same name in
 *     --images: the volume in mL of all non-zero voxels (voxel count x voxel
 *     volume from the header's spacing / 1000) and of each label value, into
 *     DIR/dataset.csv (subject,filePath,volume_ml,label1_ml,label2_ml,...).
 *     Image paths are absolute. */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "core/util/file_util.h"
#include "core/util/path.h"
#include "core/util/progress.h"
#include "core/util/csv.h"
#include "innereye/image_io.h"
#include "tools/cmd_dataset.h"
#include "core/io/png_write.h"

#define FASHION_MNIST_DIR "/usr/share/datasets/fashion-mnist"

static const char *const fashion_classes[10] = {"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                                                "Sandal",      "Shirt",   "Sneaker",  "Bag",   "Ankle boot"};

static void usage(FILE *out) {
    fprintf(out, "usage: innereye dataset fashion-mnist --out DIR [--source DIR] [--train N] [--val N] [--test N]\n"
                 "       innereye dataset hippocampus-volume --images DIR --labels DIR --out DIR\n");
}

/* ---- idx files (gzip-compressed, big-endian header) ---- */

typedef struct idx {
    int count, rows, cols; /* labels: rows = cols = 1 */
    uint8_t *data;
} idx;

static ie_status read_idx(const char *path, int want_dims, idx *out) {
    memset(out, 0, sizeof *out);
    gzFile f = gzopen(path, "rb");
    if (!f)
        return ie_error_set(IE_ERR_IO, "%s: cannot open: %s; install the Debian package dataset-fashion-mnist "
                                       "(apt-get install dataset-fashion-mnist) or give --source",
                            path, strerror(errno));
    uint8_t head[16];
    int header = 4 + 4 * want_dims;
    ie_status st = IE_OK;
    if (gzread(f, head, (unsigned)header) != header || head[0] || head[1] || head[2] != 8 || head[3] != want_dims)
        st = ie_error_set(IE_ERR_IO, "%s: not an idx file of %d-D unsigned bytes (bad header)", path, want_dims);
    int dims[3] = {1, 1, 1};
    for (int i = 0; st == IE_OK && i < want_dims; i++)
        dims[i] = (int)((uint32_t)head[4 + 4 * i] << 24 | (uint32_t)head[5 + 4 * i] << 16 |
                        (uint32_t)head[6 + 4 * i] << 8 | head[7 + 4 * i]);
    size_t n = (size_t)dims[0] * dims[1] * dims[2];
    if (st == IE_OK && (dims[0] <= 0 || dims[0] > 1000000 || dims[1] > 4096 || dims[2] > 4096))
        st = ie_error_set(IE_ERR_IO, "%s: implausible sizes %d x %d x %d (images x rows x columns)", path, dims[0], dims[1], dims[2]);
    if (st == IE_OK && !(out->data = malloc(n))) st = ie_error_set(IE_ERR_NOMEM, "%s: out of memory", path);
    if (st == IE_OK && gzread(f, out->data, (unsigned)n) != (int)n)
        st = ie_error_set(IE_ERR_IO, "%s: truncated (expected %zu bytes of data)", path, n);
    gzclose(f);
    if (st != IE_OK) {
        free(out->data);
        out->data = NULL;
        return st;
    }
    out->count = dims[0], out->rows = dims[1], out->cols = dims[2];
    return IE_OK;
}

static int parse_count(const char *flag, const char *v, int *out) {
    char *end = NULL;
    long n = v ? strtol(v, &end, 10) : -1;
    if (!v || *end || n < 0 || n > 1000000) {
        fprintf(stderr, "innereye dataset: %s needs a count >= 0, got '%s'\n", flag, v ? v : "");
        return 0;
    }
    *out = (int)n;
    return 1;
}

static ie_status write_part(const char *root, const char *part, const idx *images, const idx *labels, int n,
                            int val_from, FILE *csv) {
    char dir[PATH_MAX + 16], path[PATH_MAX + 64];
    IE_TRY(ie_path_join(dir, sizeof dir, root, part));
    if (mkdir(dir, 0755) != 0) return ie_error_set(IE_ERR_IO, "%s: cannot create: %s", dir, strerror(errno));
    size_t pixels = (size_t)images->rows * images->cols;
    char what[64];
    snprintf(what, sizeof what, "dataset fashion-mnist %s", part);
    ie_progress bar;
    ie_progress_begin(&bar, what, "images", n, 10);
    for (int i = 0; i < n; i++) {
        ie_status written = ie_path_format(path, sizeof path, "%s/%05d.png", dir, i);
        if (written == IE_OK)
            written = ie_png_write_gray8(path, images->data + (size_t)i * pixels, images->cols, images->rows);
        ie_progress_tick(&bar);
        if (written != IE_OK) {
            ie_progress_end(&bar);
            return written;
        }
        int label = labels->data[i];
        if (label > 9) {
            ie_progress_end(&bar);
            return ie_error_set(IE_ERR_IO, "%s label %d is %d; Fashion-MNIST has classes 0..9", part, i, label);
        }
        fprintf(csv, "%s_%05d,%s/%05d.png,%d,", part, i, part, i, label);
        ie_csv_write_field(csv, fashion_classes[label]);
        fprintf(csv, ",%s\n", i >= val_from ? "val" : part);
    }
    ie_progress_end(&bar);
    return IE_OK;
}

int ie_cmd_dataset_fashion_mnist(int argc, char **argv) {
    const char *out = NULL, *source = FASHION_MNIST_DIR;
    int n_train = 60000, n_val = 5000, n_test = 10000;
    for (int i = 0; i < argc; i++) {
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(argv[i], "--out") && v) out = argv[++i];
        else if (!strcmp(argv[i], "--source") && v) source = argv[++i];
        else if (!strcmp(argv[i], "--train")) { if (!parse_count("--train", v, &n_train)) return 2; i++; }
        else if (!strcmp(argv[i], "--val")) { if (!parse_count("--val", v, &n_val)) return 2; i++; }
        else if (!strcmp(argv[i], "--test")) { if (!parse_count("--test", v, &n_test)) return 2; i++; }
        else {
            fprintf(stderr, "innereye dataset fashion-mnist: unknown option '%s'\n", argv[i]);
            usage(stderr);
            return 2;
        }
    }
    if (!out) {
        fprintf(stderr, "innereye dataset fashion-mnist: --out DIR is required\n");
        usage(stderr);
        return 2;
    }
    struct stat sb;
    if (stat(out, &sb) == 0) {
        fprintf(stderr, "innereye dataset: %s already exists; remove it or choose another --out (nothing was "
                        "written)\n", out);
        return 1;
    }
    idx tr_img = {0}, tr_lab = {0}, te_img = {0}, te_lab = {0};
    char path[PATH_MAX + 64];
    ie_status st = ie_path_format(path, sizeof path, "%s/train-images-idx3-ubyte.gz", source);
    if (st == IE_OK) st = read_idx(path, 3, &tr_img);
    if (st == IE_OK) st = ie_path_format(path, sizeof path, "%s/train-labels-idx1-ubyte.gz", source);
    if (st == IE_OK) st = read_idx(path, 1, &tr_lab);
    if (st == IE_OK) st = ie_path_format(path, sizeof path, "%s/t10k-images-idx3-ubyte.gz", source);
    if (st == IE_OK) st = read_idx(path, 3, &te_img);
    if (st == IE_OK) st = ie_path_format(path, sizeof path, "%s/t10k-labels-idx1-ubyte.gz", source);
    if (st == IE_OK) st = read_idx(path, 1, &te_lab);
    if (st == IE_OK && (tr_img.count != tr_lab.count || te_img.count != te_lab.count))
        st = ie_error_set(IE_ERR_IO, "%s: image and label files disagree on the number of items", source);
    if (st == IE_OK && (n_train > tr_img.count || n_test > te_img.count || n_val > n_train))
        st = ie_error_set(IE_ERR_INVALID_ARG, "asked for %d train (%d of them val) and %d test images; there are "
                                              "%d and %d",
                          n_train, n_val, n_test, tr_img.count, te_img.count);
    char tmp[PATH_MAX] = "";
    if (st == IE_OK) st = ie_path_format(tmp, sizeof tmp, "%s.tmp-%ld", out, (long)getpid());
    if (st == IE_OK) { /* the folders above out (datasets/ on a fresh clone) */
        char parent[PATH_MAX];
        memcpy(parent, tmp, sizeof parent); /* out fits: it is the start of tmp */
        parent[strlen(out)] = '\0';
        char *slash = strrchr(parent, '/');
        if (slash && slash != parent) *slash = '\0', st = ie_make_dirs(parent);
    }
    if (st == IE_OK && mkdir(tmp, 0755) != 0)
        st = ie_error_set(IE_ERR_IO, "%s: cannot create: %s", tmp, strerror(errno));
    char *text = NULL;
    size_t size = 0;
    FILE *csv = st == IE_OK ? open_memstream(&text, &size) : NULL;
    if (st == IE_OK && !csv) st = ie_error_set(IE_ERR_NOMEM, "out of memory");
    if (st == IE_OK) {
        fprintf(csv, "subject,filePath,label,class_name,split\n");
        st = write_part(tmp, "train", &tr_img, &tr_lab, n_train, n_train - n_val, csv);
        if (st == IE_OK) st = write_part(tmp, "test", &te_img, &te_lab, n_test, n_test, csv);
    }
    if (csv) fclose(csv);
    if (st == IE_OK) st = ie_path_format(path, sizeof path, "%s/dataset.csv", tmp);
    if (st == IE_OK) st = ie_write_file_atomic(path, text, size);
    if (st == IE_OK) {
        sync();
        if (rename(tmp, out) != 0) st = ie_error_set(IE_ERR_IO, "cannot rename %s to %s: %s", tmp, out, strerror(errno));
    }
    free(text);
    free(tr_img.data), free(tr_lab.data), free(te_img.data), free(te_lab.data);
    if (st != IE_OK) {
        fprintf(stderr, "innereye dataset: %s\n", ie_error_message());
        if (tmp[0]) ie_remove_tree(tmp); /* "" when the path did not fit: nothing was made */
        return 1;
    }
    printf("wrote %d training (%d of them val) and %d test images of Fashion-MNIST to %s; dataset: %s/dataset.csv\n",
           n_train, n_val, n_test, out, out);
    return 0;
}

/* ---- hippocampus volumes ---- */

static int by_name(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static bool is_volume_name(const char *name) {
    size_t n = strlen(name);
    return name[0] != '.' && ((n > 7 && !strcmp(name + n - 7, ".nii.gz")) || (n > 4 && !strcmp(name + n - 4, ".nii")) ||
                              (n > 5 && !strcmp(name + n - 5, ".nrrd")) || (n > 4 && !strcmp(name + n - 4, ".mha")));
}

#define MAX_LABEL 16

typedef struct volume_row {
    char subject[256];
    char image[2 * PATH_MAX];
    double ml[MAX_LABEL + 1]; /* [0]: all non-zero labels; [k]: label k */
} volume_row;

static ie_status measure(const char *label, volume_row *row, int *max_label) {
    ie_tensor *t = NULL;
    ie_image_geometry g;
    IE_TRY(ie_image_read(label, IE_I64, &t, &g));
    int64_t counts[MAX_LABEL + 1] = {0};
    const int64_t *v = ie_tensor_data(t);
    ie_status st = IE_OK;
    for (int64_t i = 0; i < ie_tensor_numel(t); i++) {
        if (v[i] < 0 || v[i] > MAX_LABEL) {
            st = ie_error_set(IE_ERR_IO, "%s: voxel %lld has label %lld; expected 0..%d", label, (long long)i,
                              (long long)v[i], MAX_LABEL);
            break;
        }
        counts[v[i]]++;
        if (v[i] > *max_label) *max_label = (int)v[i];
    }
    ie_tensor_release(t);
    IE_TRY(st);
    double voxel_ml = g.spacing[0] * g.spacing[1] * (g.ndim == 3 ? g.spacing[2] : 1.0) / 1000.0;
    row->ml[0] = 0;
    for (int k = 1; k <= MAX_LABEL; k++) {
        row->ml[k] = (double)counts[k] * voxel_ml;
        row->ml[0] += row->ml[k];
    }
    return IE_OK;
}

int ie_cmd_dataset_hippocampus_volume(int argc, char **argv) {
    const char *images = NULL, *labels = NULL, *out = NULL;
    for (int i = 0; i < argc; i++) {
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(argv[i], "--images") && v) images = argv[++i];
        else if (!strcmp(argv[i], "--labels") && v) labels = argv[++i];
        else if (!strcmp(argv[i], "--out") && v) out = argv[++i];
        else {
            fprintf(stderr, "innereye dataset hippocampus-volume: unknown option '%s'\n", argv[i]);
            usage(stderr);
            return 2;
        }
    }
    if (!images || !labels || !out) {
        fprintf(stderr, "innereye dataset hippocampus-volume: --images, --labels and --out are required\n");
        usage(stderr);
        return 2;
    }
    char images_abs[PATH_MAX], labels_abs[PATH_MAX];
    if (!realpath(images, images_abs) || !realpath(labels, labels_abs)) {
        fprintf(stderr, "innereye dataset: %s: %s\n", realpath(images, images_abs) ? labels : images, strerror(errno));
        return 1;
    }
    DIR *d = opendir(labels_abs);
    if (!d) {
        fprintf(stderr, "innereye dataset: %s: %s\n", labels, strerror(errno));
        return 1;
    }
    char **names = NULL;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (!is_volume_name(e->d_name)) continue;
        char **grown = realloc(names, (size_t)(n + 1) * sizeof *names);
        if (!grown) break;
        names = grown;
        names[n++] = strdup(e->d_name);
    }
    closedir(d);
    qsort(names, (size_t)n, sizeof *names, by_name);
    volume_row *rows = calloc((size_t)(n ? n : 1), sizeof *rows);
    ie_status st = rows ? IE_OK : ie_error_set(IE_ERR_NOMEM, "out of memory");
    int max_label = 0, written = 0, skipped = 0;
    ie_progress bar;
    ie_progress_begin(&bar, "dataset hippocampus-volume", "subjects", n, 10);
    for (int i = 0; st == IE_OK && i < n; i++, ie_progress_tick(&bar)) {
        volume_row *r = &rows[written];
        char label[2 * PATH_MAX];
        st = ie_path_join(r->image, sizeof r->image, images_abs, names[i]);
        if (st == IE_OK) st = ie_path_join(label, sizeof label, labels_abs, names[i]);
        if (st != IE_OK) break;
        struct stat sb;
        if (stat(r->image, &sb) != 0) {
            skipped++;
            continue;
        }
        st = ie_path_format(r->subject, sizeof r->subject, "%s", names[i]);
        if (st != IE_OK) break;
        char *dot = strstr(r->subject, ".nii");
        if (!dot) dot = strrchr(r->subject, '.');
        if (dot) *dot = '\0';
        st = measure(label, r, &max_label);
        written += st == IE_OK;
    }
    ie_progress_end(&bar);
    if (st == IE_OK && written == 0)
        st = ie_error_set(IE_ERR_IO, "%s: no label map has an image of the same name in %s", labels, images);
    char *text = NULL;
    size_t size = 0;
    FILE *csv = st == IE_OK ? open_memstream(&text, &size) : NULL;
    if (st == IE_OK && !csv) st = ie_error_set(IE_ERR_NOMEM, "out of memory");
    if (st == IE_OK) {
        fprintf(csv, "subject,filePath,volume_ml");
        for (int k = 1; k <= max_label; k++) fprintf(csv, ",label%d_ml", k);
        fputc('\n', csv);
        for (int i = 0; i < written; i++) {
            ie_csv_write_field(csv, rows[i].subject);
            fputc(',', csv);
            ie_csv_write_field(csv, rows[i].image);
            for (int k = 0; k <= max_label; k++) fprintf(csv, ",%.6f", rows[i].ml[k]);
            fputc('\n', csv);
        }
        fclose(csv);
    }
    if (st == IE_OK) st = ie_make_dirs(out); /* datasets/hippocampus_volume on a fresh clone */
    char path[PATH_MAX + 16];
    if (st == IE_OK) st = ie_path_format(path, sizeof path, "%s/dataset.csv", out);
    if (st == IE_OK) st = ie_write_file_atomic(path, text, size);
    for (int i = 0; i < n; i++) free(names[i]);
    free(names);
    free(rows);
    free(text);
    if (st != IE_OK) {
        fprintf(stderr, "innereye dataset: %s\n", ie_error_message());
        return 1;
    }
    printf("wrote %s: %d subjects with their hippocampus volume in mL", path, written);
    if (skipped) printf(" (%d label maps without an image left out)", skipped);
    printf("\n");
    return 0;
}
