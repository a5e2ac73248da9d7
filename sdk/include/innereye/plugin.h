/* innereye/plugin.h - the model plugin ABI.
 *
 * A model plugin is a shared object exporting one symbol, ie_plugin_entry,
 * that returns a pointer to a static const ie_plugin table.  The host checks
 * struct_size, abi_major (must equal the host's) and abi_minor (must not be
 * newer than the host's) before it calls anything else.
 *
 * Versioning promise: within one major version, fields are only ever appended
 * to the end of ie_plugin, ie_host, ie_sample and ie_batch; each starts with
 * its struct_size so either side can tell which fields the other knows.  A
 * plugin built against an older minor keeps loading.
 *
 * History: 1.0 the table up to postprocess; 1.1 appends validate_config; 1.2
 * appends nothing to the structs but the SDK calls a plugin may use grow:
 * moving tensors between devices (ie_tensor_to, ie_tensor_copy_data across
 * devices, ie_tensor_read_item, ie_params_to) and asking about devices
 * (ie_device_available, ie_device_check).  A plugin that calls them declares
 * 1.2.  1.3 likewise adds ops for transformer-style networks (ie_matmul,
 * ie_layer_norm, ie_gelu, ie_silu, ie_embedding, ie_permute,
 * ie_transpose, ie_attention) and nothing to the structs.  1.4 adds
 * ie_batch_norm_relu_consume (batch norm + ReLU written over its input when
 * no gradient is recorded) and appends forward_deep (deep supervision's
 * auxiliary outputs, optional).  1.5 adds ie_add_consume (a sum written over
 * an operand nothing else holds) and nothing to the structs.
 *
 * Devices: the host creates the model with host->device naming where it will
 * run, and after create() moves every tensor parameters() returns there
 * (ie_params_to).  A tensor forward uses that is not in parameters() must be
 * made on, or moved to, host->device by the plugin (ie_tensor_to).
 *
 * Ownership: tensors a function hands out through an `out` argument are new
 * references that the receiver releases with ie_tensor_release (the memory
 * always belongs to libinnereye, so neither side frees what the other
 * allocated).  Strings and tables passed in are borrowed for the call.
 * Errors: return a status and set the message with ie_error_set(); never call
 * exit() or abort(), never let a C++ exception escape. */
#ifndef INNEREYE_PLUGIN_H
#define INNEREYE_PLUGIN_H

#include "innereye/api.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "innereye/optim.h"
#include "innereye/params.h"
#include "innereye/rng.h"
#include "innereye/tensor.h"

#ifdef __cplusplus
extern "C" {
#endif

#define IE_PLUGIN_ABI_MAJOR 1
#define IE_PLUGIN_ABI_MINOR 5
#define IE_PLUGIN_ENTRY_SYMBOL "ie_plugin_entry"

#if defined(__GNUC__)
#define IE_PLUGIN_EXPORT __attribute__((visibility("default")))
#else
#define IE_PLUGIN_EXPORT
#endif

typedef enum ie_task_kind {
    IE_TASK_SEGMENTATION = 0,
    IE_TASK_CLASSIFICATION = 1,
    IE_TASK_REGRESSION = 2,
    IE_TASK_OTHER = 3
} ie_task_kind;

IE_API const char *ie_task_kind_name(ie_task_kind task);

/* The plugin's model: whatever the plugin wants behind the pointer. */
typedef struct ie_model ie_model;

typedef enum ie_log_level { IE_LOG_DEBUG = 0, IE_LOG_INFO = 1, IE_LOG_WARNING = 2, IE_LOG_ERROR = 3 } ie_log_level;

/* What the host offers a plugin. */
typedef struct ie_host {
    size_t struct_size;
    int abi_major, abi_minor;
    uint64_t seed;        /* the run's seed */
    int threads;          /* compute threads */
    ie_device device;     /* where the model's tensors live */
    const char *run_dir;  /* the run folder ("" outside a run) */
    void *host_data;      /* host-private, passed back to the callbacks */
    void (*log)(const struct ie_host *host, ie_log_level level, const char *message);
    /* Reads an image file (any format the host reads) as a CPU tensor
     * [D, H, W] (f32 for IE_F32, integer labels otherwise). */
    ie_status (*read_image)(const struct ie_host *host, const char *path, ie_dtype dtype, ie_tensor **out);
} ie_host;

/* One subject of the dataset: every CSV row of that subject (segmentation
 * datasets have one row per channel), columns by name. */
typedef struct ie_dataset_item {
    size_t struct_size;
    const char *subject;
    const char *root;              /* folder that relative file paths start from */
    int n_rows, n_columns;
    const char *const *columns;    /* n_columns names */
    const char *const *values;     /* n_rows x n_columns, row-major */
} ie_dataset_item;

/* One training example.  Tensors are owned by the sample (see
 * ie_sample_clear). */
typedef struct ie_sample {
    size_t struct_size;
    const char *subject;  /* borrowed from the dataset */
    ie_tensor *image;     /* [C, D, H, W] f32 (2D images: D = 1), or NULL */
    ie_tensor *labels;    /* segmentation: [D, H, W] i64 class map;
                             classification/regression: [K] f32 */
    ie_tensor *features;  /* [F] f32 non-image features, or NULL */
} ie_sample;

/* Samples stacked along a new first dimension. */
typedef struct ie_batch {
    size_t struct_size;
    int count;
    const char *const *subjects;
    ie_tensor *image;     /* [N, C, D, H, W] or NULL */
    ie_tensor *labels;    /* [N, D, H, W] i64, or [N, K] f32 */
    ie_tensor *features;  /* [N, F] or NULL */
} ie_batch;

/* Where a plugin's own metrics go (subject may be NULL for batch-level
 * values; structure may be NULL when a metric has none). */
typedef struct ie_metric_sink {
    void *ctx;
    void (*add)(void *ctx, const char *subject, const char *structure, const char *metric, double value);
} ie_metric_sink;

typedef struct ie_plugin {
    uint32_t struct_size; /* sizeof(ie_plugin) as the plugin was compiled */
    uint16_t abi_major;   /* IE_PLUGIN_ABI_MAJOR */
    uint16_t abi_minor;   /* IE_PLUGIN_ABI_MINOR */
    const char *name;     /* as users select it: "--model NAME" */
    const char *version;
    const char *description;
    ie_task_kind task;

    /* ---- required ---- */
    /* config_json: the whole resolved config; the plugin reads its own
     * section (model.params) and refuses bad values with a message. */
    ie_status (*create)(const char *config_json, const ie_host *host, ie_model **out);
    void (*destroy)(ie_model *model);
    /* Named parameters and buffers (borrowed; alive until destroy). */
    ie_params *(*parameters)(ie_model *model);
    /* batch -> network output (segmentation: logits [N, classes, D, H, W];
     * classification/regression: [N, K]). */
    ie_status (*forward)(ie_model *model, const ie_batch *batch, bool training, ie_tensor **out);

    /* ---- optional: NULL selects the host's default ---- */
    /* Default: the loss named in the config (train.loss). */
    ie_status (*loss)(ie_model *model, ie_tensor *output, const ie_batch *batch, ie_tensor **out);
    /* Default: the task's standard metrics. */
    ie_status (*metrics)(ie_model *model, ie_tensor *output, const ie_batch *batch, const ie_metric_sink *sink);
    /* Default: the task's standard loader (images listed in the item). */
    ie_status (*load_item)(ie_model *model, const ie_dataset_item *item, const ie_host *host, ie_sample *out);
    /* Default: the augmentations named in the config.  rng is keyed by
     * (seed, augmentation stream, epoch, item): use only it. */
    ie_status (*augment)(ie_model *model, ie_sample *sample, const ie_rng *rng);
    /* Default: stack the samples. */
    ie_status (*collate)(ie_model *model, const ie_sample *const *samples, int count, ie_batch *out);
    /* Default: the optimiser and schedule of the config; a plugin may adjust
     * both before training starts. */
    ie_status (*configure_optimizer)(ie_model *model, ie_optimizer_opts *opts, ie_lr_schedule *schedule);
    ie_status (*on_epoch_end)(ie_model *model, int epoch, const ie_host *host);
    /* Default: identity.  Maps the network output to what inference writes
     * (for example posteriors). */
    ie_status (*postprocess)(ie_model *model, ie_tensor *output, ie_tensor **out);

    /* ---- ABI 1.1 ---- */
    /* Optional: checks the plugin's part of the resolved config before any
     * work starts (so a typo fails in a second, not after loading data).
     * Default: create() reports problems. */
    ie_status (*validate_config)(const char *config_json);

    /* ---- ABI 1.4 ---- */
    /* Optional: deep supervision (config train.deep_supervision, as nnU-Net).
     * A training forward that returns, besides the output forward would,
     * auxiliary outputs of the same kind at coarser sizes, finest first:
     * aux[i] [N, classes, D_i, H_i, W_i] (new references), each spatial size
     * the labels' divided by a power of two per axis, at most max_aux of
     * them, their count in *n_aux.  The host compares aux[i] with the labels
     * downsampled to its size (nearest) and weights the losses of the output
     * and aux[0], aux[1], ... by 1, 1/2, 1/4, ... normalised to sum 1.
     * Validation, inference and export call forward only.  A plugin creates
     * the layers behind aux only when the config it is created with sets
     * train.deep_supervision, so that runs without it keep their parameters.
     * NULL (and every plugin of an older minor): none; the host refuses
     * train.deep_supervision for such a plugin. */
    ie_status (*forward_deep)(ie_model *model, const ie_batch *batch, ie_tensor **out, ie_tensor **aux, int max_aux,
                              int *n_aux);
} ie_plugin;

/* The most auxiliary outputs a host asks forward_deep for. */
#define IE_PLUGIN_MAX_AUX 8

typedef const ie_plugin *(*ie_plugin_entry_fn)(void);

/* Releases the sample's tensors and zeroes it, keeping struct_size so it can
 * be filled again.  ie_batch_clear does the same for a batch; its subjects
 * array belongs to whoever collated the batch and is not freed. */
IE_API void ie_sample_clear(ie_sample *sample);
IE_API void ie_batch_clear(ie_batch *batch);

/* Value of `column` in row `row` of the item, or NULL. */
IE_API const char *ie_dataset_item_value(const ie_dataset_item *item, int row, const char *column);

#ifdef __cplusplus
}
#endif
#endif
