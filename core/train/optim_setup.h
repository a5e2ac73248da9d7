/* core/train - optimiser options and learning-rate schedule from the config
 * (train.optimizer.*, train.schedule.*); the schedule runs over `epochs`
 * (train.epochs, from ie_train_settings). */
#ifndef IE_CORE_TRAIN_OPTIM_SETUP_H
#define IE_CORE_TRAIN_OPTIM_SETUP_H

#include "innereye/config.h"
#include "innereye/optim.h"

ie_status ie_optim_setup_from_config(const ie_config *cfg, int epochs, ie_optimizer_opts *opts,
                                     ie_lr_schedule *schedule);

#endif
