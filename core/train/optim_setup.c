/* core/train - optimiser and schedule settings. */
#include <string.h>

#include "core/train/optim_setup.h"

ie_status ie_optim_setup_from_config(const ie_config *cfg, int epochs, ie_optimizer_opts *o, ie_lr_schedule *s) {
    const char *kind = "adam", *sched = "constant";
    IE_TRY(ie_config_get_string(cfg, "train.optimizer.kind", &kind));
    ie_optimizer_kind k;
    IE_TRY(ie_optimizer_kind_parse(kind, &k));
    *o = ie_optimizer_defaults(k);
    double betas[2];
    int n = 0;
    bool amsgrad = false, nesterov = false;
    IE_TRY(ie_config_get_number(cfg, "train.optimizer.lr", &o->lr));
    IE_TRY(ie_config_get_number(cfg, "train.optimizer.weight_decay", &o->weight_decay));
    IE_TRY(ie_config_get_number(cfg, "train.optimizer.eps", &o->eps));
    IE_TRY(ie_config_get_bool(cfg, "train.optimizer.amsgrad", &amsgrad));
    IE_TRY(ie_config_get_bool(cfg, "train.optimizer.nesterov", &nesterov));
    IE_TRY(ie_config_get_number_array(cfg, "train.optimizer.betas", betas, 2, &n));
    if (k == IE_OPTIM_SGD || k == IE_OPTIM_RMSPROP) IE_TRY(ie_config_get_number(cfg, "train.optimizer.momentum", &o->momentum));
    o->beta1 = betas[0];
    o->beta2 = betas[1];
    o->amsgrad = amsgrad;
    o->nesterov = nesterov;
    IE_TRY(ie_optimizer_opts_validate(o));

    memset(s, 0, sizeof *s);
    IE_TRY(ie_config_get_string(cfg, "train.schedule.kind", &sched));
    IE_TRY(ie_lr_kind_parse(sched, &s->kind));
    int64_t warmup = 0, step_size = 1, milestones[IE_LR_MAX_MILESTONES];
    IE_TRY(ie_config_get_int(cfg, "train.schedule.warmup_epochs", &warmup));
    IE_TRY(ie_config_get_int(cfg, "train.schedule.step_size", &step_size));
    IE_TRY(ie_config_get_number(cfg, "train.schedule.gamma", &s->gamma));
    IE_TRY(ie_config_get_number(cfg, "train.schedule.final_lr", &s->final_lr));
    IE_TRY(ie_config_get_int_array(cfg, "train.schedule.milestones", milestones, IE_LR_MAX_MILESTONES, &n));
    s->base_lr = o->lr;
    s->max_epochs = epochs;
    s->warmup_epochs = (int)warmup;
    s->step_size = (int)step_size;
    s->n_milestones = n;
    for (int i = 0; i < n; i++) s->milestones[i] = (int)milestones[i];
    ie_status st = ie_lr_schedule_validate(s);
    if (st != IE_OK) return ie_error_wrap(st, "train.schedule");
    return IE_OK;
}
