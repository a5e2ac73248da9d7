/* tools - a segmentation model loaded for inference, shared by `innereye
 * infer` (tools/cmd_infer.c) and `innereye serve` (tools/cmd_serve.c), so
 * both load the same weights the same way and write the same bytes: the
 * resolved config, the plugin and its model (an ensemble's further members
 * too), the inference settings and the segmentation data setup.  The caller
 * fills cfg (the run's config.resolved.json plus --set overrides) and then
 * calls ie_infer_session_prepare and ie_infer_session_load. */
#ifndef IE_TOOLS_INFER_SESSION_H
#define IE_TOOLS_INFER_SESSION_H

#include <stdbool.h>
#include <stddef.h>

#include "core/data/dataset.h"
#include "core/run/ensemble.h"
#include "core/inference/infer.h"
#include "core/plugin/host.h"
#include "core/train/data_setup.h"
#include "core/util/sha256.h"

/* Everything a loaded model holds, freed in one place. */
typedef struct ie_infer_session {
    ie_config *cfg;
    ie_loaded_plugin *plugin;
    ie_model *model;
    /* Ensemble members after the first (--run on an ensemble folder). */
    int n_others;
    ie_infer_net others[IE_ENSEMBLE_MAX_MEMBERS];
    ie_loaded_plugin *other_plugins[IE_ENSEMBLE_MAX_MEMBERS];
    ie_config *other_cfgs[IE_ENSEMBLE_MAX_MEMBERS];
    ie_dataset *ds; /* innereye infer's subjects (its --dataset, or its --image files) */
    ie_infer_settings settings; /* the config's; never changed by a subject */
    ie_seg_setup seg;
    ie_host host;
    /* train.device of cfg: where every member's parameters live and the
     * inference runs (ie_infer_session_load moves them). */
    ie_device device;
    char run_dir[4200]; /* the host borrows it */
    /* The SHA-256 of the weights file (what sha256sum prints); for an
     * ensemble, the SHA-256 of its members' digests (32 bytes each) one
     * after the other, in member order. */
    char weights_sha256[IE_SHA256_HEX_SIZE];
} ie_infer_session;

/* Where the weights come from: a run folder (its last checkpoint), an
 * ensemble folder (run names it; its members' weights), or a checkpoint
 * file with the config in cfg. */
typedef struct ie_infer_source {
    const char *run, *checkpoint;
    /* What the user named, for messages: the --bundle FILE that run was
     * unpacked from (a temporary folder nobody asked about); NULL: run. */
    const char *label;
    bool ensemble;
    bool allow_plugin_change; /* --allow-plugin-change */
} ie_infer_source;

/* After cfg is filled: resolves it (problems listed in the message, IE_ERR_CONFIG),
 * applies the thread count, reads the inference settings and the data
 * setup (labels are not needed).  Starts the plugin guard ("inference"). */
ie_status ie_infer_session_prepare(ie_infer_session *s, int threads_override);

/* Creates the model(s), loads the weights and moves them to train.device
 * (train.precision set there; the error names what is missing: module,
 * driver, device); `what` says which ("UNet3D 0.1, epoch 3 of RUN",
 * "ensemble of 5 members ..."). */
ie_status ie_infer_session_load(ie_infer_session *s, const ie_infer_source *src, char *what, size_t what_size);

/* One subject of the given image files (one per data.image_channels entry,
 * in that order; mask may be NULL) as a dataset in *ds (the caller frees
 * it), and the settings to infer it with in *settings: s->settings, with
 * the mask's channel "mask" when a mask is given and the config names no
 * data.mask_channel (infer --mask).  The session is not changed, so one
 * subject's inputs never reach the next (innereye serve answers many).  A
 * wrong file count is IE_ERR_CONFIG naming the channels. */
ie_status ie_infer_session_subject(const ie_infer_session *s, const char *const *images, int n_images,
                                   const char *mask, const char *subject, ie_infer_settings *settings,
                                   ie_dataset **ds);

/* Infers item (settings: s->settings or a copy with another format) and
 * writes its files into out_dir/<subject>/ (ie_infer_write).  The caller
 * clears *subject (ie_infer_subject_clear), also after an error. */
ie_status ie_infer_session_segment(ie_infer_session *s, const ie_infer_settings *settings,
                                   const ie_dataset_item *item, const char *out_dir, ie_infer_subject *subject);

void ie_infer_session_free(ie_infer_session *s);

#endif
