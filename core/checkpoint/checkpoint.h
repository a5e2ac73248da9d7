/* core/checkpoint - training checkpoints in a run folder.
 *
 * A checkpoint of epoch E (1-based count of completed epochs) is three files
 * in <run>/checkpoints/:
 *   epoch_EEEE.safetensors            model parameters and buffers, by name
 *   epoch_EEEE.optimizer.safetensors  optimiser state (optim.h names)
 *   epoch_EEEE.json                   trainer state: epoch, step, lr, seed,
 *                                     config hash, log rows, file names
 * then last.json, a copy of the newest trainer state, is replaced.  Every
 * file is written to a temporary name, fsynced and renamed, and last.json is
 * written only after the files it names exist, so a crash at any point leaves
 * the previous checkpoint intact and usable. */
#ifndef IE_CORE_CHECKPOINT_CHECKPOINT_H
#define IE_CORE_CHECKPOINT_CHECKPOINT_H

#include <stdint.h>

#include "innereye/optim.h"
#include "innereye/params.h"

typedef struct ie_trainer_state {
    int epoch;             /* epochs completed */
    int64_t global_step;   /* optimiser steps taken */
    double lr;             /* learning rate of the last epoch */
    uint64_t seed;
    int log_rows;          /* rows of train_log.csv that belong to this state */
    char config_sha256[65];
} ie_trainer_state;

/* Writes the checkpoint of state->epoch into <run_dir>/checkpoints/. */
ie_status ie_checkpoint_save(const char *run_dir, const ie_trainer_state *state, const ie_params *params,
                             const ie_optimizer *optimizer);

/* Reads <run_dir>/checkpoints/last.json and restores parameters, buffers
 * (every tensor by name and shape: anything missing or mis-shaped is an error
 * naming it) and optimiser state.  optimizer may be NULL (inference). */
ie_status ie_checkpoint_load_last(const char *run_dir, ie_trainer_state *state, ie_params *params,
                                  ie_optimizer *optimizer);

/* Resuming: ie_checkpoint_load_last, and when that checkpoint cannot be used
 * (last.json or a file it names missing, damaged, of another shape, or
 * holding NaN), the newest epoch_NNNN.json whose checkpoint can.  `note`
 * says which was used and why ("" when the last one was). */
ie_status ie_checkpoint_load_latest(const char *run_dir, ie_trainer_state *state, ie_params *params,
                                    ie_optimizer *optimizer, char *note, size_t note_size);

/* IE_ERR_NUMERIC naming source_name and the first f32 tensor that holds a
 * NaN or infinite value. */
ie_status ie_params_check_finite(const ie_params *params, const char *source_name);

/* Copies tensors of `source` into the same-named tensors of `params`; with
 * require_all every tensor of params must be present.  Every f32 tensor of
 * source must be finite (ie_params_check_finite). */
ie_status ie_params_copy_from(ie_params *params, const ie_params *source, const char *source_name,
                              int require_all);

#endif
