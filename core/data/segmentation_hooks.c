/* core/data - default segmentation hooks: load, crop/flip, collate, whole-volume
 * padding (rules in segmentation_hooks.h). */
#include "core/data/segmentation_hooks.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/data/sample_util.h"
#include "innereye/image_io.h"

void ie_seg_config_init(ie_seg_config *cfg) {
    memset(cfg, 0, sizeof *cfg);
    cfg->path_column = "filePath";
    cfg->channel_column = "channel";
    cfg->flip_probability = 0.5f;
    ie_augment_config_init(&cfg->augment);
}

/* ---- windows: crop, pad and flip the last three dimensions ---- */

/* out[..., z, y, x] = t[..., z + off[0], y + off[1], x + off[2]] where that
 * lies inside t and 0 elsewhere, with out's spatial size `size`, then mirrored
 * along the axes where flip[a].  Any dtype; leading dimensions are kept. */
static ie_status window(const ie_tensor *t, const int64_t off[3], const int64_t size[3], const bool flip[3],
                        ie_tensor **out) {
    int nd = ie_tensor_ndim(t);
    const int64_t *shape = ie_tensor_shape(t);
    if (nd < 3) return ie_error_set(IE_ERR_SHAPE, "segmentation: a volume needs 3 spatial dimensions, got %d", nd);
    int64_t out_shape[IE_MAX_DIMS], lead = 1;
    for (int i = 0; i < nd; i++) out_shape[i] = shape[i];
    for (int i = 0; i < nd - 3; i++) lead *= shape[i];
    for (int a = 0; a < 3; a++) out_shape[nd - 3 + a] = size[a];
    IE_TRY(ie_tensor_zeros(ie_tensor_dtype(t), nd, out_shape, IE_CPU, out));
    const int64_t D = shape[nd - 3], H = shape[nd - 2], W = shape[nd - 1];
    size_t es = ie_dtype_size(ie_tensor_dtype(t));
    const char *src = ie_tensor_data(t);
    char *dst = ie_tensor_data(*out);
    /* x range of output positions that read inside the source */
    int64_t x0 = off[2] < 0 ? -off[2] : 0, x1 = W - off[2] < size[2] ? W - off[2] : size[2];
    for (int64_t l = 0; l < lead; l++)
        for (int64_t z = 0; z < size[0]; z++) {
            int64_t sz = (flip[0] ? size[0] - 1 - z : z) + off[0];
            if (sz < 0 || sz >= D) continue;
            for (int64_t y = 0; y < size[1]; y++) {
                int64_t sy = (flip[1] ? size[1] - 1 - y : y) + off[1];
                if (sy < 0 || sy >= H || x1 <= x0) continue;
                const char *srow = src + (size_t)(((l * D + sz) * H + sy) * W) * es;
                char *drow = dst + (size_t)(((l * size[0] + z) * size[1] + y) * size[2]) * es;
                if (!flip[2]) {
                    memcpy(drow + (size_t)x0 * es, srow + (size_t)(x0 + off[2]) * es, (size_t)(x1 - x0) * es);
                } else {
                    for (int64_t x = x0; x < x1; x++)
                        memcpy(drow + (size_t)(size[2] - 1 - x) * es, srow + (size_t)(x + off[2]) * es, es);
                }
            }
        }
    return IE_OK;
}

/* Replaces the sample's image and labels by their windows. */
static ie_status window_sample(ie_sample *s, const int64_t off[3], const int64_t size[3], const bool flip[3]) {
    ie_tensor *img = NULL, *lab = NULL;
    ie_status st = s->image ? window(s->image, off, size, flip, &img) : IE_OK;
    if (st == IE_OK && s->labels) st = window(s->labels, off, size, flip, &lab);
    if (st != IE_OK) {
        ie_tensor_release(img);
        return ie_error_wrap(st, "subject '%s'", s->subject ? s->subject : "?");
    }
    if (img) {
        ie_tensor_release(s->image);
        s->image = img;
    }
    if (lab) {
        ie_tensor_release(s->labels);
        s->labels = lab;
    }
    return IE_OK;
}

/* ---- loading ---- */

static int column_of(const ie_dataset_item *item, const char *name) {
    for (int c = 0; c < item->n_columns; c++)
        if (strcmp(item->columns[c], name) == 0) return c;
    return -1;
}

static const char *cell(const ie_dataset_item *item, int row, int col) {
    return item->values[(size_t)row * (size_t)item->n_columns + (size_t)col];
}

/* The row of `channel`: exactly one must exist. */
static ie_status find_channel(const ie_dataset_item *item, int cc, const char *channel, int *row) {
    *row = -1;
    for (int r = 0; r < item->n_rows; r++) {
        if (strcmp(cell(item, r, cc), channel) != 0) continue;
        if (*row >= 0)
            return ie_error_set(IE_ERR_CONFIG, "subject '%s' has two rows for channel '%s'", item->subject, channel);
        *row = r;
    }
    if (*row >= 0) return IE_OK;
    char have[512] = "";
    for (int r = 0; r < item->n_rows; r++) {
        size_t n = strlen(have);
        snprintf(have + n, sizeof have - n, "%s'%s'", r ? ", " : "", cell(item, r, cc));
    }
    return ie_error_set(IE_ERR_CONFIG, "subject '%s' has no row with channel '%s' (its channels: %s)", item->subject,
                        channel, have);
}

/* Replaces *t by its resampling to cfg->target_spacing (when set). */
static ie_status resample_channel(const ie_seg_config *cfg, const char *path, ie_tensor **t) {
    if (!(cfg->target_spacing[0] > 0)) return IE_OK;
    ie_image_geometry g;
    IE_TRY(ie_image_read_geometry(path, &g));
    ie_tensor *r = NULL;
    IE_TRY(ie_image_resample(*t, &g, cfg->target_spacing,
                             ie_tensor_dtype(*t) == IE_F32 ? IE_INTERP_LINEAR : IE_INTERP_NEAREST, &r, NULL));
    ie_tensor_release(*t);
    *t = r;
    return IE_OK;
}

static ie_status read_channel(const ie_seg_config *cfg, const ie_dataset_item *item, const ie_host *host, int pc,
                              int cc, const char *channel, ie_dtype dtype, ie_tensor **out) {
    int row = -1;
    IE_TRY(find_channel(item, cc, channel, &row));
    const char *file = cell(item, row, pc);
    if (!file[0])
        return ie_error_set(IE_ERR_CONFIG, "subject '%s': channel '%s' has an empty file path", item->subject, channel);
    char path[4096];
    ie_status st = ie_dataset_item_file(item, file, path, sizeof path);
    if (st != IE_OK) return ie_error_wrap(st, "subject '%s', channel '%s'", item->subject, channel);
    st = host->read_image(host, path, dtype, out);
    if (st != IE_OK) return ie_error_wrap(st, "subject '%s', channel '%s' (%s)", item->subject, channel, path);
    int nd = *out ? ie_tensor_ndim(*out) : -1;
    if (nd >= 0 && ie_tensor_device(*out) != IE_CPU) {
        const char *device = ie_device_name(ie_tensor_device(*out));
        ie_tensor_release(*out);
        *out = NULL;
        return ie_error_set(IE_ERR_DEVICE, "subject '%s', channel '%s' (%s): read_image returned a %s tensor; it must "
                            "return CPU tensors", item->subject, channel, path, device);
    }
    if (nd != 2 && nd != 3) {
        ie_tensor_release(*out);
        *out = NULL;
        return ie_error_set(IE_ERR_SHAPE, "subject '%s', channel '%s' (%s): read_image returned %d dimensions; "
                            "expected [D, H, W] or [H, W]", item->subject, channel, path, nd);
    }
    st = resample_channel(cfg, path, out);
    if (st != IE_OK) {
        ie_tensor_release(*out);
        *out = NULL;
        return ie_error_wrap(st, "subject '%s', channel '%s' (%s): resampling to data.target_spacing", item->subject,
                             channel, path);
    }
    return IE_OK;
}

static void spatial_of(const ie_tensor *t, int64_t s[3]) {
    int nd = ie_tensor_ndim(t);
    s[0] = nd == 3 ? ie_tensor_dim(t, 0) : 1;
    s[1] = ie_tensor_dim(t, -2);
    s[2] = ie_tensor_dim(t, -1);
}

/* Element i of an any-typed tensor's data, as a double. */
static inline double element(const void *p, ie_dtype dtype, int64_t i) {
    switch (dtype) {
    case IE_F32: return ((const float *)p)[i];
    case IE_I64: return (double)((const int64_t *)p)[i];
    case IE_I32: return ((const int32_t *)p)[i];
    case IE_U8: return ((const uint8_t *)p)[i];
    }
    return 0;
}

/* Copies one channel into dst as float and normalises it in place (no
 * second full-size buffer: CT volumes are large). */
static ie_status copy_channel(const ie_seg_config *cfg, int c, const ie_tensor *src, const char *subject, float *dst,
                              int64_t n) {
    const void *p = ie_tensor_data(src);
    ie_dtype dt = ie_tensor_dtype(src);
    if (dt == IE_F32) memcpy(dst, p, (size_t)n * sizeof *dst);
    else
        for (int64_t i = 0; i < n; i++) dst[i] = (float)element(p, dt, i);
    ie_seg_norm norm = cfg->norm ? cfg->norm[c] : IE_SEG_NORM_NONE;
    ie_status st = ie_normalize(norm, cfg->norm_params ? &cfg->norm_params[c] : NULL, dst, n, NULL);
    if (st != IE_OK) return ie_error_wrap(st, "subject '%s', channel '%s'", subject, cfg->image_channels[c]);
    return IE_OK;
}

/* Class of a label-map voxel, checked. */
static ie_status label_value(double v, int n_classes, const char *subject, const char *channel, int64_t at,
                             int64_t *out) {
    if (!(v >= 0) || v != floor(v) || (n_classes > 0 && v >= n_classes) || v > 1e15) {
        char range[32] = ">= 0";
        if (n_classes > 0) snprintf(range, sizeof range, "0..%d", n_classes - 1);
        return ie_error_set(IE_ERR_CONFIG, "subject '%s': label map '%s' holds %g at voxel %lld; labels must be whole "
                            "numbers %s", subject, channel, v, (long long)at, range);
    }
    *out = (int64_t)v;
    return IE_OK;
}

#define MAX_CHANNELS 64 /* image channels plus truth channels of one subject */

typedef struct loaded {
    int n; /* channels read */
    const char *names[MAX_CHANNELS];
    ie_tensor *t[MAX_CHANNELS];
} loaded;

static void loaded_free(loaded *l) {
    for (int i = 0; i < l->n; i++) ie_tensor_release(l->t[i]);
    l->n = 0;
}

static ie_status check_shapes(const loaded *l, const char *subject) {
    int64_t s0[3], s[3];
    spatial_of(l->t[0], s0);
    bool same = true;
    for (int i = 1; i < l->n; i++) {
        spatial_of(l->t[i], s);
        same = same && s[0] == s0[0] && s[1] == s0[1] && s[2] == s0[2];
    }
    if (same) return IE_OK;
    char list[1024] = "";
    for (int i = 0; i < l->n; i++) {
        spatial_of(l->t[i], s);
        size_t n = strlen(list);
        snprintf(list + n, sizeof list - n, "%s%s [%lld, %lld, %lld]", i ? ", " : "", l->names[i], (long long)s[0],
                 (long long)s[1], (long long)s[2]);
    }
    return ie_error_set(IE_ERR_SHAPE, "subject '%s': the channels' shapes (D, H, W) differ: %s; all images and masks of a "
                        "subject must have the same size (resample them first)", subject, list);
}

static ie_status build_labels(const ie_seg_config *cfg, const loaded *l, int first, const char *subject,
                              const int64_t s[3], ie_tensor **out) {
    int64_t n = s[0] * s[1] * s[2];
    IE_TRY(ie_tensor_zeros(IE_I64, 3, s, IE_CPU, out));
    int64_t *lab = ie_tensor_data(*out);
    if (cfg->truth == IE_SEG_TRUTH_LABEL_MAP) {
        const void *p = ie_tensor_data(l->t[first]);
        ie_dtype dt = ie_tensor_dtype(l->t[first]);
        for (int64_t i = 0; i < n; i++)
            IE_TRY(label_value(element(p, dt, i), cfg->n_classes, subject, cfg->label_channel, i, &lab[i]));
        return IE_OK;
    }
    for (int k = 0; first + k < l->n; k++) { /* later structures overwrite earlier ones */
        const void *p = ie_tensor_data(l->t[first + k]);
        ie_dtype dt = ie_tensor_dtype(l->t[first + k]);
        for (int64_t i = 0; i < n; i++)
            if (element(p, dt, i) != 0) lab[i] = k + 1;
    }
    return IE_OK;
}

static ie_status check_config(const ie_seg_config *cfg) {
    if (!cfg) return ie_error_set(IE_ERR_INVALID_ARG, "segmentation hooks: no config");
    if (cfg->n_image_channels < 1 || !cfg->image_channels)
        return ie_error_set(IE_ERR_CONFIG, "segmentation: no image channels are configured");
    int n_truth = cfg->truth == IE_SEG_TRUTH_LABEL_MAP ? 1 : cfg->truth == IE_SEG_TRUTH_MASKS ? cfg->n_mask_channels : 0;
    if (cfg->n_image_channels + n_truth > MAX_CHANNELS)
        return ie_error_set(IE_ERR_CONFIG, "segmentation: too many channels (%d)", cfg->n_image_channels + n_truth);
    if (cfg->truth == IE_SEG_TRUTH_LABEL_MAP && !cfg->label_channel)
        return ie_error_set(IE_ERR_CONFIG, "segmentation: a label map is configured but no label channel");
    if (cfg->truth == IE_SEG_TRUTH_MASKS && (cfg->n_mask_channels < 1 || !cfg->mask_channels))
        return ie_error_set(IE_ERR_CONFIG, "segmentation: masks are configured but no mask channels");
    return IE_OK;
}

static ie_status read_all(const ie_seg_config *cfg, const ie_dataset_item *item, const ie_host *host, loaded *l) {
    int pc = column_of(item, cfg->path_column ? cfg->path_column : "filePath");
    int cc = column_of(item, cfg->channel_column ? cfg->channel_column : "channel");
    if (pc < 0 || cc < 0)
        return ie_error_set(IE_ERR_CONFIG, "subject '%s': the dataset has no '%s' column", item->subject,
                            pc < 0 ? cfg->path_column : cfg->channel_column);
    for (int c = 0; c < cfg->n_image_channels; c++) {
        l->names[l->n] = cfg->image_channels[c];
        IE_TRY(read_channel(cfg, item, host, pc, cc, cfg->image_channels[c], IE_F32, &l->t[l->n]));
        l->n++;
    }
    int n_truth = cfg->truth == IE_SEG_TRUTH_LABEL_MAP ? 1 : cfg->truth == IE_SEG_TRUTH_MASKS ? cfg->n_mask_channels : 0;
    for (int k = 0; k < n_truth; k++) {
        const char *name = cfg->truth == IE_SEG_TRUTH_LABEL_MAP ? cfg->label_channel : cfg->mask_channels[k];
        l->names[l->n] = name;
        IE_TRY(read_channel(cfg, item, host, pc, cc, name, IE_I64, &l->t[l->n]));
        l->n++;
    }
    return check_shapes(l, item->subject);
}

ie_status ie_seg_load(const ie_seg_config *cfg, const ie_dataset_item *item, const ie_host *host, ie_sample *out) {
    IE_TRY(check_config(cfg));
    if (!item || !out) return ie_error_set(IE_ERR_INVALID_ARG, "segmentation load: NULL item or output");
    if (!host || !host->read_image)
        return ie_error_set(IE_ERR_INVALID_ARG, "segmentation load: the host offers no read_image");
    loaded *l = calloc(1, sizeof *l);
    if (!l) return ie_error_set(IE_ERR_NOMEM, "segmentation load: out of memory");
    ie_tensor *image = NULL, *labels = NULL;
    ie_status st = read_all(cfg, item, host, l);
    int64_t s[3] = {0, 0, 0};
    if (st == IE_OK) {
        spatial_of(l->t[0], s);
        int64_t shape[4] = {cfg->n_image_channels, s[0], s[1], s[2]}, n = s[0] * s[1] * s[2];
        st = ie_tensor_empty(IE_F32, 4, shape, IE_CPU, &image);
        for (int c = 0; c < cfg->n_image_channels && st == IE_OK; c++)
            st = copy_channel(cfg, c, l->t[c], item->subject, ie_tensor_data_f32(image) + c * n, n);
    }
    if (st == IE_OK && cfg->truth != IE_SEG_TRUTH_NONE)
        st = build_labels(cfg, l, cfg->n_image_channels, item->subject, s, &labels);
    loaded_free(l);
    free(l);
    if (st != IE_OK) {
        ie_tensor_release(image);
        ie_tensor_release(labels);
        return st;
    }
    out->struct_size = sizeof *out;
    out->subject = item->subject;
    out->image = image;
    out->labels = labels;
    out->features = NULL;
    return IE_OK;
}

/* ---- augmentation ---- */

/* Picks a voxel for class-balanced cropping; false when no weighted class is
 * present. */
static bool balanced_voxel(const ie_seg_config *cfg, const ie_tensor *labels, const ie_rng *rng, int64_t v[3]) {
    int nc = cfg->n_class_weights;
    if (!cfg->class_weights || nc <= 0 || !labels) return false;
    const int64_t *lab = ie_tensor_data(labels);
    int64_t n = ie_tensor_numel(labels);
    int64_t *count = calloc((size_t)nc, sizeof *count);
    if (!count) return false;
    for (int64_t i = 0; i < n; i++)
        if (lab[i] >= 0 && lab[i] < nc) count[lab[i]]++;
    double total = 0;
    for (int c = 0; c < nc; c++)
        if (count[c] > 0 && cfg->class_weights[c] > 0) total += cfg->class_weights[c];
    if (!(total > 0)) {
        free(count);
        return false;
    }
    double u = (double)ie_rng_uniform_at(rng, 96) * total, acc = 0;
    int chosen = -1;
    for (int c = 0; c < nc; c++) {
        if (count[c] <= 0 || !(cfg->class_weights[c] > 0)) continue;
        chosen = c; /* the last eligible class absorbs rounding */
        acc += cfg->class_weights[c];
        if (u < acc) break;
    }
    ie_rng pick = *rng;
    pick.next = 128;
    uint64_t r = ie_rng_below(&pick, (uint32_t)(count[chosen] > UINT32_MAX ? UINT32_MAX : count[chosen]));
    free(count);
    int64_t i = 0;
    for (; i < n; i++)
        if (lab[i] == chosen && r-- == 0) break;
    const int64_t H = ie_tensor_dim(labels, 1), W = ie_tensor_dim(labels, 2);
    v[0] = i / (H * W);
    v[1] = (i / W) % H;
    v[2] = i % W;
    return true;
}

ie_status ie_seg_augment(const ie_seg_config *cfg, ie_sample *s, const ie_rng *rng) {
    if (!cfg || !s || !rng) return ie_error_set(IE_ERR_INVALID_ARG, "segmentation augment: NULL argument");
    const char *subject = s->subject ? s->subject : "?";
    if (!s->image && !s->labels) return IE_OK;
    char a[64], b[64];
    if (s->image && ie_tensor_ndim(s->image) != 4)
        return ie_error_set(IE_ERR_SHAPE, "segmentation augment: subject '%s': image is %s, expected [C, D, H, W]",
                            subject, ie_tensor_describe(s->image, a, sizeof a));
    const ie_tensor *ref = s->labels ? s->labels : s->image;
    int64_t size[3];
    for (int k = 0; k < 3; k++) size[k] = ie_tensor_dim(ref, -3 + k);
    if (s->labels && (ie_tensor_ndim(s->labels) != 3 || ie_tensor_dtype(s->labels) != IE_I64 ||
                      (s->image && (ie_tensor_dim(s->image, 1) != size[0] || ie_tensor_dim(s->image, 2) != size[1] ||
                                    ie_tensor_dim(s->image, 3) != size[2]))))
        return ie_error_set(IE_ERR_SHAPE, "segmentation augment: subject '%s': labels %s do not fit image %s "
                            "(expected [D, H, W] i64)", subject, ie_tensor_describe(s->labels, a, sizeof a),
                            s->image ? ie_tensor_describe(s->image, b, sizeof b) : "(none)");
    int64_t crop[3], off[3], centre[3];
    bool balanced = balanced_voxel(cfg, s->labels, rng, centre);
    for (int k = 0; k < 3; k++) {
        crop[k] = cfg->crop[k] > 0 ? cfg->crop[k] : size[k];
        if (size[k] < crop[k]) {
            off[k] = -((crop[k] - size[k]) / 2);
        } else if (balanced) {
            off[k] = centre[k] - crop[k] / 2;
            if (off[k] < 0) off[k] = 0;
            if (off[k] > size[k] - crop[k]) off[k] = size[k] - crop[k];
        } else {
            ie_rng r = *rng;
            r.next = 16u * (uint32_t)k;
            off[k] = (int64_t)ie_rng_below(&r, (uint32_t)(size[k] - crop[k] + 1));
        }
    }
    bool flip[3];
    for (int k = 0; k < 3; k++) flip[k] = cfg->flip[k] && ie_rng_uniform_at(rng, 64 + (uint64_t)k) < cfg->flip_probability;
    ie_augment_draw draw;
    ie_augment_draw_for(&cfg->augment, rng, s->image ? (int)ie_tensor_dim(s->image, 0) : 0, &draw);
    if (!ie_augment_is_spatial(&draw)) {
        IE_TRY(window_sample(s, off, crop, flip));
    } else {
        ie_tensor *img = NULL, *lab = NULL;
        double *field = NULL;
        ie_status st = ie_augment_elastic_field(&cfg->augment, &draw, rng, crop, &field);
        if (st == IE_OK) st = ie_augment_warp(s->image, s->labels, off, crop, draw.matrix, field, &img, &lab);
        free(field);
        if (st != IE_OK) return ie_error_wrap(st, "subject '%s'", subject);
        ie_tensor_release(s->image);
        ie_tensor_release(s->labels);
        s->image = img;
        s->labels = lab;
        if (flip[0] || flip[1] || flip[2]) {
            int64_t zero[3] = {0, 0, 0};
            IE_TRY(window_sample(s, zero, crop, flip));
        }
    }
    ie_status st = ie_augment_intensity(&cfg->augment, &draw, s->image, rng);
    return st == IE_OK ? IE_OK : ie_error_wrap(st, "subject '%s'", subject);
}

/* ---- collate ---- */

static ie_status stack(const ie_sample *const *samples, int count, size_t field, const char *what, ie_tensor **out) {
    *out = NULL;
    const ie_tensor *first = *(ie_tensor *const *)((const char *)samples[0] + field);
    char a[64], b[64];
    for (int i = 1; i < count; i++) {
        const ie_tensor *t = *(ie_tensor *const *)((const char *)samples[i] + field);
        if ((t == NULL) != (first == NULL))
            return ie_error_set(IE_ERR_SHAPE, "collate: subject '%s' has %s%s but subject '%s' has %s%s",
                                samples[0]->subject, first ? "" : "no ", what, samples[i]->subject, t ? "" : "no ",
                                what);
        if (first && (!ie_tensor_same_shape(t, first) || ie_tensor_dtype(t) != ie_tensor_dtype(first)))
            return ie_error_set(IE_ERR_SHAPE, "collate: subject '%s' has %s %s but subject '%s' has %s %s; samples "
                                "of a batch must have equal shapes (configure a crop size)", samples[0]->subject, what,
                                ie_tensor_describe(first, a, sizeof a), samples[i]->subject, what,
                                ie_tensor_describe(t, b, sizeof b));
    }
    if (!first) return IE_OK;
    int nd = ie_tensor_ndim(first);
    if (nd + 1 > IE_MAX_DIMS)
        return ie_error_set(IE_ERR_SHAPE, "collate: subject '%s' has %s %s; stacking it needs more than %d dimensions",
                            samples[0]->subject, what, ie_tensor_describe(first, a, sizeof a), IE_MAX_DIMS);
    int64_t shape[IE_MAX_DIMS];
    shape[0] = count;
    for (int d = 0; d < nd; d++) shape[d + 1] = ie_tensor_dim(first, d);
    IE_TRY(ie_tensor_empty(ie_tensor_dtype(first), nd + 1, shape, IE_CPU, out));
    size_t bytes = (size_t)ie_tensor_numel(first) * ie_dtype_size(ie_tensor_dtype(first));
    char *dst = ie_tensor_data(*out);
    for (int i = 0; i < count; i++)
        memcpy(dst + (size_t)i * bytes, ie_tensor_data(*(ie_tensor *const *)((const char *)samples[i] + field)), bytes);
    return IE_OK;
}

ie_status ie_seg_collate(const ie_sample *const *samples, int count, ie_batch *out) {
    if (!samples || !out || count < 1) return ie_error_set(IE_ERR_INVALID_ARG, "collate: no samples");
    for (int i = 0; i < count; i++)
        if (!samples[i]) return ie_error_set(IE_ERR_INVALID_ARG, "collate: sample %d is NULL", i);
    ie_batch b = {.struct_size = sizeof b, .count = count};
    ie_status st = stack(samples, count, offsetof(ie_sample, image), "image", &b.image);
    if (st == IE_OK) st = stack(samples, count, offsetof(ie_sample, labels), "labels", &b.labels);
    if (st == IE_OK) st = stack(samples, count, offsetof(ie_sample, features), "features", &b.features);
    if (st != IE_OK) {
        ie_data_batch_release(&b);
        return st;
    }
    *out = b;
    return IE_OK;
}

/* ---- hooks ---- */

static ie_status hook_load(ie_model *ctx, const ie_dataset_item *item, const ie_host *host, ie_sample *out) {
    return ie_seg_load((const ie_seg_config *)ctx, item, host, out);
}
static ie_status hook_augment(ie_model *ctx, ie_sample *sample, const ie_rng *rng) {
    return ie_seg_augment((const ie_seg_config *)ctx, sample, rng);
}
static ie_status hook_collate(ie_model *ctx, const ie_sample *const *samples, int count, ie_batch *out) {
    (void)ctx;
    return ie_seg_collate(samples, count, out);
}

ie_data_hooks ie_seg_hooks(const ie_seg_config *cfg) {
    ie_data_hooks h = {
        .load_item = hook_load,
        .load_item_ctx = (void *)cfg,
        .augment = hook_augment,
        .augment_ctx = (void *)cfg,
        .collate = hook_collate,
        .collate_ctx = NULL,
        .augment_keeps_input = true,
    };
    return h;
}

/* ---- whole volumes ---- */

ie_status ie_seg_pad_to_multiple(ie_sample *s, const int64_t multiple[3], ie_seg_padding *pad) {
    if (!s || !multiple || !pad) return ie_error_set(IE_ERR_INVALID_ARG, "pad_to_multiple: NULL argument");
    const ie_tensor *ref = s->image ? s->image : s->labels;
    if (!ref) return ie_error_set(IE_ERR_INVALID_ARG, "pad_to_multiple: the sample has no image or labels");
    int64_t off[3];
    bool no_flip[3] = {false, false, false};
    for (int k = 0; k < 3; k++) {
        int64_t m = multiple[k] > 1 ? multiple[k] : 1, n = ie_tensor_dim(ref, -3 + k);
        pad->original[k] = n;
        pad->padded[k] = (n + m - 1) / m * m;
        pad->before[k] = (pad->padded[k] - n) / 2;
        off[k] = -pad->before[k];
    }
    return window_sample(s, off, pad->padded, no_flip);
}

ie_status ie_seg_load_whole(const ie_seg_config *cfg, const ie_dataset_item *item, const ie_host *host,
                            const int64_t multiple[3], ie_sample *out, ie_seg_padding *pad) {
    IE_TRY(ie_seg_load(cfg, item, host, out));
    ie_status st = ie_seg_pad_to_multiple(out, multiple, pad);
    if (st != IE_OK) ie_data_sample_release(out);
    return st;
}

ie_status ie_seg_to_original_grid(const ie_seg_config *cfg, const ie_image_geometry *original, ie_tensor **volume) {
    if (!cfg || !original || !volume || !*volume)
        return ie_error_set(IE_ERR_INVALID_ARG, "to_original_grid: NULL argument");
    if (!(cfg->target_spacing[0] > 0)) return IE_OK;
    ie_image_geometry loaded;
    IE_TRY(ie_image_resampled_geometry(original, cfg->target_spacing, &loaded));
    ie_tensor *back = NULL;
    IE_TRY(ie_image_resample_to(*volume, &loaded, original, IE_INTERP_NEAREST, &back));
    ie_tensor_release(*volume);
    *volume = back;
    return IE_OK;
}

ie_status ie_seg_unpad(const ie_tensor *t, const ie_seg_padding *pad, ie_tensor **out) {
    if (!t || !pad || !out) return ie_error_set(IE_ERR_INVALID_ARG, "unpad: NULL argument");
    *out = NULL;
    char a[64];
    if (ie_tensor_ndim(t) < 3 || ie_tensor_dim(t, -3) != pad->padded[0] || ie_tensor_dim(t, -2) != pad->padded[1] ||
        ie_tensor_dim(t, -1) != pad->padded[2])
        return ie_error_set(IE_ERR_SHAPE, "unpad: tensor %s does not end in the padded size [%lld, %lld, %lld] (D, H, W)",
                            ie_tensor_describe(t, a, sizeof a), (long long)pad->padded[0], (long long)pad->padded[1],
                            (long long)pad->padded[2]);
    bool no_flip[3] = {false, false, false};
    return window(t, pad->before, pad->original, no_flip, out);
}
