/* core/train - config-selected losses. */
#include <string.h>

#include "core/train/default_loss.h"
#include "innereye/loss.h"
#include "innereye/ops.h"

static const struct {
    const char *name;
    ie_loss_kind kind;
} loss_kinds[] = {{"CrossEntropy", IE_LOSS_CROSS_ENTROPY}, {"SoftDice", IE_LOSS_SOFT_DICE}, {"Focal", IE_LOSS_FOCAL},
                  {"Mixture", IE_LOSS_MIXTURE}, {"BCE", IE_LOSS_BCE}, {"MSE", IE_LOSS_MSE}, {"L1", IE_LOSS_L1}};

static ie_status loss_kind_parse(const char *key, const char *name, ie_loss_kind *out) {
    for (size_t i = 0; i < sizeof loss_kinds / sizeof loss_kinds[0]; i++)
        if (!strcmp(name, loss_kinds[i].name)) {
            *out = loss_kinds[i].kind;
            return IE_OK;
        }
    return ie_error_set(IE_ERR_CONFIG, "%s: unknown loss \"%s\"", key, name);
}

ie_status ie_loss_spec_from_config(const ie_config *cfg, ie_loss_spec *out) {
    memset(out, 0, sizeof *out);
    const char *name = "CrossEntropy";
    IE_TRY(ie_config_get_string(cfg, "train.loss.name", &name));
    /* Auto is cross-entropy for segmentation; a classification or regression
     * task replaces it by the loss of its targets (core/task/classification_regression.c). */
    out->name = name;
    out->automatic = !strcmp(name, "Auto");
    IE_TRY(loss_kind_parse("train.loss.name", out->automatic ? "CrossEntropy" : name, &out->kind));
    const char *parts[2];
    double weights[2];
    int count = 0;
    IE_TRY(ie_config_get_string_array(cfg, "train.loss.mixture", parts, 2, &count));
    IE_TRY(ie_config_get_number_array(cfg, "train.loss.mixture_weights", weights, 2, &count));
    for (int i = 0; i < 2; i++) {
        IE_TRY(loss_kind_parse("train.loss.mixture", parts[i], &out->parts[i]));
        if (out->parts[i] != IE_LOSS_CROSS_ENTROPY && out->parts[i] != IE_LOSS_SOFT_DICE &&
            out->parts[i] != IE_LOSS_FOCAL)
            return ie_error_set(IE_ERR_CONFIG, "train.loss.mixture: \"%s\" cannot be part of a Mixture; use "
                                               "CrossEntropy, SoftDice or Focal",
                                parts[i]);
        out->weights[i] = (float)weights[i];
    }
    double gamma = 2.0;
    IE_TRY(ie_config_get_number(cfg, "train.loss.focal_gamma", &gamma));
    out->focal_gamma = (float)gamma;
    double smoothing = 0;
    IE_TRY(ie_config_get_number(cfg, "train.loss.label_smoothing", &smoothing));
    out->label_smoothing = (float)smoothing;
    int n = 0;
    IE_TRY(ie_config_get_array_length(cfg, "train.loss.class_weights", &n));
    if (n > 0) {
        double w[256];
        if (n > 256) return ie_error_set(IE_ERR_CONFIG, "train.loss.class_weights: at most 256 classes");
        IE_TRY(ie_config_get_number_array(cfg, "train.loss.class_weights", w, 256, &n));
        int64_t shape[1] = {n};
        IE_TRY(ie_tensor_empty(IE_F32, 1, shape, IE_CPU, &out->class_weights));
        for (int i = 0; i < n; i++) ie_tensor_data_f32(out->class_weights)[i] = (float)w[i];
    }
    return IE_OK;
}

void ie_loss_spec_clear(ie_loss_spec *spec) {
    ie_tensor_release(spec->class_weights);
    spec->class_weights = NULL;
}

/* BCE with logits; label smoothing moves the targets towards 1/2. */
static ie_status bce(const ie_loss_spec *s, ie_tensor *output, ie_tensor *targets, ie_tensor **out) {
    if (s->label_smoothing == 0.0f || !targets) return ie_bce_with_logits(output, targets, s->class_weights, out);
    ie_tensor *scaled = NULL, *smoothed = NULL;
    ie_status st = ie_mul_scalar(targets, 1.0f - s->label_smoothing, &scaled);
    if (st == IE_OK) st = ie_add_scalar(scaled, 0.5f * s->label_smoothing, &smoothed);
    if (st == IE_OK) st = ie_bce_with_logits(output, smoothed, s->class_weights, out);
    ie_tensor_release(scaled);
    ie_tensor_release(smoothed);
    return st;
}

/* ---- logits smaller than the labels ----
 * A network with unpadded convolutions (InnerEye's Basic) returns logits for
 * the centre of its training crop only.  As InnerEye does, the loss then
 * compares them with the centre of the labels: floor((label - logit) / 2)
 * voxels are dropped before along each axis.  Any other mismatch is left to
 * the loss, which reports it. */
static bool centre_of_labels(const ie_tensor *output, const ie_tensor *labels, int64_t off[3]) {
    if (ie_tensor_ndim(output) != 5 || ie_tensor_ndim(labels) != 4 || ie_tensor_dtype(labels) != IE_I64)
        return false;
    bool smaller = false;
    for (int a = 0; a < 3; a++) {
        int64_t lab = ie_tensor_dim(labels, 1 + a), out = ie_tensor_dim(output, 2 + a);
        if (out > lab) return false;
        smaller = smaller || out < lab;
        off[a] = (lab - out) / 2;
    }
    return smaller && ie_tensor_dim(output, 0) == ie_tensor_dim(labels, 0);
}

static ie_status crop_labels(const ie_tensor *output, const ie_tensor *labels, const int64_t off[3], ie_tensor **out) {
    const int64_t *in = ie_tensor_shape(labels);
    int64_t shape[4] = {in[0], ie_tensor_dim(output, 2), ie_tensor_dim(output, 3), ie_tensor_dim(output, 4)};
    IE_TRY(ie_tensor_empty(IE_I64, 4, shape, IE_CPU, out));
    const int64_t *src = ie_tensor_data(labels);
    int64_t *dst = ie_tensor_data(*out);
    for (int64_t n = 0; n < shape[0]; n++)
        for (int64_t i = 0; i < shape[1]; i++)
            for (int64_t j = 0; j < shape[2]; j++) {
                memcpy(dst, src + ((n * in[1] + i + off[0]) * in[2] + j + off[1]) * in[3] + off[2],
                       (size_t)shape[3] * sizeof *dst);
                dst += shape[3];
            }
    return IE_OK;
}

static ie_status loss_of(const ie_loss_spec *s, ie_tensor *output, const ie_batch *batch, ie_tensor **out);

ie_status ie_loss_compute(const ie_loss_spec *s, ie_tensor *output, const ie_batch *batch, ie_tensor **out) {
    int64_t off[3];
    if (!batch->labels || !centre_of_labels(output, batch->labels, off)) return loss_of(s, output, batch, out);
    ie_batch centre = *batch;
    IE_TRY(crop_labels(output, batch->labels, off, &centre.labels));
    ie_status st = loss_of(s, output, &centre, out);
    ie_tensor_release(centre.labels);
    return st;
}

static ie_status loss_of(const ie_loss_spec *s, ie_tensor *output, const ie_batch *batch, ie_tensor **out) {
    if (s->class_weights && ie_tensor_numel(s->class_weights) != ie_tensor_dim(output, 1))
        return ie_error_set(IE_ERR_CONFIG, "train.loss.class_weights has %lld entries, the model outputs %lld classes",
                            (long long)ie_tensor_numel(s->class_weights), (long long)ie_tensor_dim(output, 1));
    switch (s->kind) {
    case IE_LOSS_CROSS_ENTROPY:
        return ie_cross_entropy(output, batch->labels, s->class_weights, s->label_smoothing, out);
    case IE_LOSS_SOFT_DICE: return ie_soft_dice_loss(output, batch->labels, s->class_weights, out);
    case IE_LOSS_FOCAL: return ie_focal_loss(output, batch->labels, s->focal_gamma, s->class_weights, out);
    case IE_LOSS_MIXTURE: {
        ie_tensor *part[2] = {NULL, NULL}, *scaled[2] = {NULL, NULL};
        ie_status st = IE_OK;
        for (int i = 0; st == IE_OK && i < 2; i++) {
            ie_loss_spec one = *s;
            one.kind = s->parts[i];
            st = ie_loss_compute(&one, output, batch, &part[i]);
            if (st == IE_OK) st = ie_mul_scalar(part[i], s->weights[i], &scaled[i]);
        }
        if (st == IE_OK) st = ie_add(scaled[0], scaled[1], out);
        for (int i = 0; i < 2; i++) {
            ie_tensor_release(part[i]);
            ie_tensor_release(scaled[i]);
        }
        return st;
    }
    case IE_LOSS_BCE: return bce(s, output, batch->labels, out);
    case IE_LOSS_MSE: return ie_mse_loss(output, batch->labels, out);
    case IE_LOSS_L1: return ie_l1_loss(output, batch->labels, out);
    }
    return ie_error_set(IE_ERR_INTERNAL, "loss: unknown kind %d", (int)s->kind);
}
