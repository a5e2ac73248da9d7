/* core/inference - whole-volume inference of a segmentation model for one
 * subject at a time: the settings (infer.*, postprocess.*), loading a
 * subject as training did, sliding windows (sliding_window.h), InnerEye's
 * post-processing (postprocess.h) and the files written per subject.
 * Used by `innereye infer` and by the trainer on the test split;
 * docs/inference.md is the user's guide. */
#ifndef IE_CORE_INFERENCE_INFER_H
#define IE_CORE_INFERENCE_INFER_H

#include <stdbool.h>

#include "core/data/loader.h"
#include "core/inference/postprocess.h"
#include "core/inference/sliding_window.h"
#include "core/plugin/loader.h"
#include "innereye/config.h"
#include "innereye/image_io.h"

typedef struct ie_infer_settings {
    ie_window_opts window;
    ie_postprocess_opts post;
    int n_classes;                                          /* data.classes, background first */
    const char *class_names[IE_POSTPROCESS_MAX_CLASSES];    /* borrowed from the config */
    const char *mask_channel;                               /* data.mask_channel; "" none */
    bool write_posteriors;                                  /* infer.write_posteriors */
    bool posteriors_float;                                  /* infer.posterior_dtype "float32" */
    /* data.target_spacing (mm along x, y, z; 0: none): the loader resamples
     * every image to it, so the network's posteriors are on that grid and
     * are resampled back to the input's (linearly) before post-processing. */
    double target_spacing[3];
    /* infer.format: the segmentation also as DICOM, referencing the input
     * series (core/dicom); colours of data.class_colours, index 0 unused. */
    enum { IE_INFER_NIFTI, IE_INFER_RTSTRUCT, IE_INFER_DICOM_SEG } format;
    uint8_t colours[IE_POSTPROCESS_MAX_CLASSES][3];
} ie_infer_settings;

/* Reads and checks infer.*, postprocess.*, data.test_crop_size /
 * data.crop_size, data.pad_multiple, data.classes and data.mask_channel.
 * Class names in rules are looked up in data.classes; a problem names the
 * key, the value and what would be accepted.  cfg must outlive out. */
ie_status ie_infer_settings_from_config(const ie_config *cfg, ie_infer_settings *out);

/* ---- the network ---- */

/* A loaded plugin's model as an ie_window_fn (ctx = ie_infer_net *):
 * forward in evaluation mode, then the plugin's postprocess when it has one,
 * else the softmax over classes. */
typedef struct ie_infer_net {
    const ie_loaded_plugin *plugin;
    ie_model *model;
    /* Where the model's parameters live (train.device); windows are moved
     * there for forward and the posteriors brought back to the CPU. */
    ie_device device;
    /* An ensemble: the posteriors of these further members are averaged with
     * this one's, window by window (blending is linear, so this equals
     * averaging each member's blended posteriors). */
    int n_others;
    const struct ie_infer_net *others;
} ie_infer_net;
ie_status ie_infer_net_window(void *ctx, ie_tensor *windows, ie_tensor **posteriors);

/* ---- one subject ---- */

typedef struct ie_infer_subject {
    const char *subject;         /* borrowed from the item */
    ie_sample sample;            /* image [C, D, H, W] normalised; labels when the loader gave them */
    ie_tensor *mask;             /* [D, H, W] i64 (a label map: 0 outside) or NULL */
    ie_image_geometry geometry;  /* of the first image channel's file */
    char source[4096];           /* that file (or DICOM folder), for DICOM outputs */
    ie_tensor *posteriors;       /* [K, D, H, W] f32, after masking and smoothing */
    ie_tensor *segmentation;     /* [D, H, W] u8, after every post-processing step */
} ie_infer_subject;
void ie_infer_subject_clear(ie_infer_subject *s);

/* Checks, before any work, that each of the item's `channels` names a file
 * whose header reads and that a 3-D model (a window more than one slice
 * deep) is not given a 2-D image.  Errors name the subject and the file. */
ie_status ie_infer_check_item(const ie_infer_settings *settings, const char *const *channels, int n_channels,
                              const ie_dataset_item *item);

/* Loads the item with `load` (the hook training used, so the normalisation
 * is the same), reads the geometry of `first_channel`'s file and the mask
 * (settings->mask_channel), runs the sliding window and the post-processing.
 * With a target spacing the posteriors come back to the file's grid
 * (linear interpolation of each class, as nnU-Net does) before the mask,
 * the post-processing (with the file's spacing) and the argmax, so
 * `posteriors` and `segmentation` are always on the input's grid; the
 * sample keeps the loader's (resampled) grid.  Errors name the subject. */
ie_status ie_infer_item(const ie_infer_settings *settings, ie_load_item_fn load, void *load_ctx,
                        const char *first_channel, const ie_dataset_item *item, const ie_host *host,
                        const ie_infer_net *net, ie_infer_subject *out);

/* ---- files ----
 * <out_dir>/<subject>/segmentation.nii.gz      labels, uint8
 * <out_dir>/<subject>/posterior_<class>.nii.gz one per class (infer.write_posteriors):
 *     uint8 floor(clip(p * 255, 0, 255)) as InnerEye's store_posteriors_as_nifti,
 *     or float32 (infer.posterior_dtype)
 * all with the geometry of the subject's first image channel.  The files are
 * written into <out_dir>/.<subject>.partial and the folder is renamed into
 * place when all are complete; an existing non-empty <out_dir>/<subject> is
 * never touched. */

/* Fails (IE_ERR_IO) when <out_dir>/<subject> exists and is not an empty
 * folder, or when the subject's name cannot be a folder name. */
ie_status ie_infer_outputs_check(const char *out_dir, const char *subject);
/* infer.format rtstruct / dicom-seg: <dir>/rtstruct.dcm or
 * <dir>/segmentation.dcm, referencing the input series (s->source must be a
 * DICOM series folder); nothing for nifti. */
ie_status ie_infer_write_dicom(const char *dir, const ie_infer_settings *settings, const ie_infer_subject *s);
ie_status ie_infer_write(const char *out_dir, const ie_infer_settings *settings, const ie_infer_subject *s);

#endif
