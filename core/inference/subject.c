/* core/inference - one subject: load as training did, sliding window,
 * post-processing (see infer.h). */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "core/plugin/guard.h"
#include "core/data/sample_util.h"
#include "core/inference/infer.h"
#include "core/util/path.h"
#include "innereye/ops.h"

static ie_status member_window(const ie_infer_net *net, ie_tensor *windows, ie_tensor **posteriors);

ie_status ie_infer_net_window(void *ctx, ie_tensor *windows, ie_tensor **posteriors) {
    const ie_infer_net *net = ctx;
    IE_TRY(member_window(net, windows, posteriors));
    if (net->n_others == 0) return IE_OK;
    /* Ensemble: the mean of every member's posteriors, summed in member order. */
    float *sum = ie_tensor_data_f32(*posteriors);
    int64_t n = ie_tensor_numel(*posteriors);
    for (int m = 0; m < net->n_others; m++) {
        ie_tensor *other = NULL;
        ie_status st = member_window(&net->others[m], windows, &other);
        if (st == IE_OK && ie_tensor_numel(other) != n)
            st = ie_error_set(IE_ERR_SHAPE, "ensemble member %d returned posteriors of another shape than member 0",
                              m + 1);
        if (st != IE_OK) {
            ie_tensor_release(other);
            ie_tensor_release(*posteriors);
            *posteriors = NULL;
            return st;
        }
        const float *o = ie_tensor_data_f32(other);
        for (int64_t i = 0; i < n; i++) sum[i] += o[i];
        ie_tensor_release(other);
    }
    float scale = 1.0f / (float)(net->n_others + 1);
    for (int64_t i = 0; i < n; i++) sum[i] *= scale;
    return IE_OK;
}

static ie_status member_window(const ie_infer_net *net, ie_tensor *windows, ie_tensor **posteriors) {
    ie_tensor *on_device = NULL;
    IE_TRY(ie_tensor_to(windows, net->device, &on_device));
    ie_batch batch = {.struct_size = sizeof batch, .count = (int)ie_tensor_dim(windows, 0), .image = on_device};
    ie_tensor *logits = NULL;
    ie_status st = ie_plugin_forward(net->plugin, net->model, &batch, false, &logits);
    ie_tensor_release(on_device);
    IE_TRY(st);
    if (net->plugin->table.postprocess) {
        st = IE_GUARDED(net->plugin, "postprocess", net->plugin->table.postprocess(net->model, logits, posteriors));
        if (st == IE_OK && !*posteriors)
            st = ie_error_set(IE_ERR_PLUGIN, "plugin %s (%s): postprocess returned OK but no output",
                              net->plugin->table.name, net->plugin->path);
        else if (st != IE_OK)
            ie_error_wrap(st, "plugin %s (%s): postprocess", net->plugin->table.name, net->plugin->path);
    } else {
        char d[96];
        st = ie_tensor_ndim(logits) == 5 ? ie_softmax(logits, 1, posteriors)
                                         : ie_error_set(IE_ERR_SHAPE, "plugin %s: forward returned %s; a segmentation "
                                                        "model must return logits [N, classes, D, H, W]",
                                                        net->plugin->table.name,
                                                        ie_tensor_describe(logits, d, sizeof d));
    }
    ie_tensor_release(logits);
    if (st == IE_OK && net->device != IE_CPU) {
        /* Blending and post-processing run on the CPU. */
        ie_tensor *host = NULL;
        st = ie_tensor_to(*posteriors, IE_CPU, &host);
        ie_tensor_release(*posteriors);
        *posteriors = host;
    }
    return st;
}

void ie_infer_subject_clear(ie_infer_subject *s) {
    if (!s) return;
    ie_data_sample_release(&s->sample);
    ie_tensor_release(s->mask);
    ie_tensor_release(s->posteriors);
    ie_tensor_release(s->segmentation);
    memset(s, 0, sizeof *s);
}

/* The file of `channel` in the item, relative paths starting at its root. */
static ie_status channel_path(const ie_dataset_item *item, const char *channel, char *buf, size_t size) {
    for (int r = 0; r < item->n_rows; r++) {
        const char *c = ie_dataset_item_value(item, r, "channel"), *file = ie_dataset_item_value(item, r, "filePath");
        if (!c || strcmp(c, channel) != 0) continue;
        if (!file || !file[0])
            return ie_error_set(IE_ERR_CONFIG, "subject '%s': channel '%s' has no file (column filePath)",
                                item->subject, channel);
        ie_status st = ie_dataset_item_file(item, file, buf, size);
        return st == IE_OK ? IE_OK : ie_error_wrap(st, "subject '%s', channel '%s'", item->subject, channel);
    }
    return ie_error_set(IE_ERR_CONFIG, "subject '%s' has no row with channel '%s'", item->subject, channel);
}

ie_status ie_infer_check_item(const ie_infer_settings *s, const char *const *channels, int n_channels,
                              const ie_dataset_item *item) {
    for (int c = 0; c < n_channels; c++) {
        char path[4096];
        ie_image_geometry g;
        IE_TRY(channel_path(item, channels[c], path, sizeof path));
        ie_status st = ie_image_read_geometry(path, &g);
        if (st != IE_OK) return ie_error_wrap(st, "subject '%s', channel '%s'", item->subject, channels[c]);
        /* DICOM outputs reference the input's slices, so the input must be
         * a series: refused here, before any work, not after inference. */
        struct stat sb;
        if (c == 0 && s->format != IE_INFER_NIFTI && (stat(path, &sb) != 0 || !S_ISDIR(sb.st_mode)))
            return ie_error_set(IE_ERR_UNSUPPORTED, "subject '%s', channel '%s': %s is not a DICOM series folder; "
                                "infer.format %s references the source series' slices (Frame of Reference, SOP "
                                "Instance UIDs), so the first image channel must be a folder of DICOM slices "
                                "(or use infer.format nifti)", item->subject, channels[c], path,
                                s->format == IE_INFER_RTSTRUCT ? "rtstruct" : "dicom-seg");
        if ((g.ndim == 2 || g.size[2] == 1) && s->window.window[0] > 1)
            return ie_error_set(IE_ERR_SHAPE, "subject '%s', channel '%s': %s: a %s (%lldx%lld%s, x, y), but the model works "
                                "on 3-D crops (window %lldx%lldx%lld, D x H x W): give 3-D volumes, or use a 2-D model",
                                item->subject, channels[c], path, g.ndim == 2 ? "2-D image" : "3-D image of one slice",
                                (long long)g.size[0], (long long)g.size[1], g.ndim == 2 ? "" : "x1",
                                (long long)s->window.window[0], (long long)s->window.window[1],
                                (long long)s->window.window[2]);
    }
    return IE_OK;
}

static bool same_size(const ie_tensor *t, const int64_t size[3]) {
    return ie_tensor_dim(t, -3) == size[0] && ie_tensor_dim(t, -2) == size[1] && ie_tensor_dim(t, -1) == size[2];
}

/* The mask is a label map (0 outside, a positive whole number inside): read
 * as integers, so a mask of 1.5s (resampled linearly, or not a mask at all)
 * is refused instead of counting as "inside", and on the image's grid. */
static ie_status load_mask(const ie_infer_settings *s, const ie_dataset_item *item, const ie_host *host,
                           const int64_t size[3], const ie_image_geometry *grid, ie_tensor **out) {
    char path[4096], a[96], why[256];
    IE_TRY(channel_path(item, s->mask_channel, path, sizeof path));
    ie_tensor *m = NULL;
    ie_image_geometry g;
    ie_status st = host->read_image(host, path, IE_I64, &m);
    if (st == IE_OK && ie_image_read_geometry(path, &g) == IE_OK &&
        !ie_image_geometry_equal(&g, grid, IE_GEOMETRY_TOLERANCE, why, sizeof why) && same_size(m, size))
        st = ie_error_set(IE_ERR_SHAPE, "the mask is not on the image's grid: %s; resample it onto the image "
                          "(nearest neighbour)", why);
    for (int64_t i = 0, n = st == IE_OK ? ie_tensor_numel(m) : 0; i < n; i++)
        if (((const int64_t *)ie_tensor_data(m))[i] < 0) {
            st = ie_error_set(IE_ERR_IO, "voxel %lld holds %lld; a mask holds 0 (outside) and positive whole numbers "
                              "(inside)", (long long)i, (long long)((const int64_t *)ie_tensor_data(m))[i]);
            break;
        }
    if (st != IE_OK) {
        ie_tensor_release(m);
        return ie_error_wrap(st, "mask channel '%s' (%s)", s->mask_channel, path); /* the caller names the subject */
    }
    if (ie_tensor_ndim(m) == 2) { /* a 2-D image is one slice */
        int64_t shape[3] = {1, ie_tensor_dim(m, 0), ie_tensor_dim(m, 1)};
        ie_tensor *r = NULL;
        st = ie_reshape(m, 3, shape, &r);
        ie_tensor_release(m);
        m = r;
        if (st != IE_OK) return st;
    }
    if (ie_tensor_ndim(m) != 3 || !same_size(m, size)) {
        st = ie_error_set(IE_ERR_SHAPE, "the mask (channel '%s', %s) is %s but the image is [%lld, %lld, %lld] (D, H, W); the "
                          "mask must have the image's size", s->mask_channel, path,
                          ie_tensor_describe(m, a, sizeof a), (long long)size[0], (long long)size[1],
                          (long long)size[2]);
        ie_tensor_release(m);
        return st;
    }
    *out = m;
    return IE_OK;
}

/* Posteriors [K, D', H', W'] on the loader's grid (the file's resampled to
 * the target spacing) back onto the file's grid [K, D, H, W], each class by
 * linear interpolation: the classes still sum to 1 at every voxel. */
static ie_status posteriors_to_file_grid(const ie_infer_settings *s, const ie_image_geometry *file,
                                         ie_tensor **posteriors) {
    ie_image_geometry loaded;
    IE_TRY(ie_image_resampled_geometry(file, s->target_spacing, &loaded));
    int64_t from[3], to[3];
    const int nd = ie_image_geometry_shape(&loaded, from);
    ie_image_geometry_shape(file, to);
    const int64_t K = ie_tensor_dim(*posteriors, 0);
    const int64_t V = ie_tensor_numel(*posteriors) / K;
    const int64_t n_from = nd == 2 ? from[0] * from[1] : from[0] * from[1] * from[2];
    const int64_t n_to = nd == 2 ? to[0] * to[1] : to[0] * to[1] * to[2];
    if (V != n_from)
        return ie_error_set(IE_ERR_SHAPE, "the posteriors have %lld voxels per class, the resampled grid %lld: was the "
                            "image resampled to data.target_spacing by the model's loader?", (long long)V,
                            (long long)n_from);
    int64_t shape4[4] = {K, nd == 2 ? 1 : to[0], nd == 2 ? to[0] : to[1], nd == 2 ? to[1] : to[2]};
    ie_tensor *back = NULL;
    IE_TRY(ie_tensor_empty(IE_F32, 4, shape4, IE_CPU, &back));
    ie_status st = IE_OK;
    for (int64_t k = 0; st == IE_OK && k < K; k++) {
        ie_tensor *one = NULL, *moved = NULL;
        st = ie_tensor_from_data(IE_F32, nd, from, ie_tensor_data_f32(*posteriors) + k * V, &one);
        if (st == IE_OK) st = ie_image_resample_to(one, &loaded, file, IE_INTERP_LINEAR, &moved);
        if (st == IE_OK)
            memcpy(ie_tensor_data_f32(back) + k * n_to, ie_tensor_data_f32(moved), (size_t)n_to * sizeof(float));
        ie_tensor_release(one);
        ie_tensor_release(moved);
    }
    if (st != IE_OK) {
        ie_tensor_release(back);
        return ie_error_wrap(st, "moving the posteriors back to the image's grid");
    }
    ie_tensor_release(*posteriors);
    *posteriors = back;
    return IE_OK;
}

ie_status ie_infer_item(const ie_infer_settings *s, ie_load_item_fn load, void *load_ctx, const char *first_channel,
                        const ie_dataset_item *item, const ie_host *host, const ie_infer_net *net,
                        ie_infer_subject *out) {
    if (!s || !load || !first_channel || !item || !host || !net || !out)
        return ie_error_set(IE_ERR_INVALID_ARG, "infer: NULL argument");
    memset(out, 0, sizeof *out);
    out->subject = item->subject;
    out->sample.struct_size = sizeof out->sample;
    char path[4096], a[96];
    ie_status st = load(load_ctx, item, host, &out->sample);
    if (st == IE_OK && (!out->sample.image || ie_tensor_ndim(out->sample.image) != 4))
        st = ie_error_set(IE_ERR_SHAPE, "the loaded image is %s; expected [C, D, H, W]",
                          out->sample.image ? ie_tensor_describe(out->sample.image, a, sizeof a) : "missing");
    int64_t size[3] = {0, 0, 0};
    if (st == IE_OK)
        for (int k = 0; k < 3; k++) size[k] = ie_tensor_dim(out->sample.image, k + 1);
    if (st == IE_OK) st = channel_path(item, first_channel, path, sizeof path);
    if (st == IE_OK) st = ie_image_read_geometry(path, &out->geometry);
    if (st == IE_OK) memcpy(out->source, path, sizeof out->source); /* the same size: nothing is cut */
    if (st == IE_OK)
        st = ie_sliding_window(out->sample.image, s->n_classes, &s->window, ie_infer_net_window, (void *)net,
                               &out->posteriors);
    if (st == IE_OK && s->target_spacing[0] > 0) st = posteriors_to_file_grid(s, &out->geometry, &out->posteriors);
    if (st == IE_OK) /* the grid the mask and the outputs live on: the file's */
        for (int k = 0; k < 3; k++) size[k] = ie_tensor_dim(out->posteriors, k + 1);
    if (st == IE_OK && s->mask_channel && s->mask_channel[0])
        st = load_mask(s, item, host, size, &out->geometry, &out->mask);
    double spacing[3] = {out->geometry.spacing[2], out->geometry.spacing[1], out->geometry.spacing[0]};
    if (st == IE_OK) st = ie_postprocess(&s->post, out->posteriors, out->mask, spacing, &out->segmentation);
    if (st != IE_OK) {
        ie_error_wrap(st, "subject '%s'", item->subject);
        ie_infer_subject_clear(out);
        out->subject = item->subject;
    }
    return st;
}
