/* core/optim - learning-rate schedules as pure functions of the epoch.
 *
 * Reproduces InnerEye-DeepLearning's SchedulerWithWarmUp: a linear warm-up
 * lr * (e + 1) / (W + 1) for the first W epochs, then torch's scheduler
 * (LambdaLR polynomial, CosineAnnealingLR, StepLR, MultiStepLR, ExponentialLR)
 * started afresh at epoch W over the remaining max_epochs - W epochs.  We use
 * the closed forms, so lr(e) needs no history and resume is lr(start_epoch). */
#include <math.h>
#include <strings.h>

#include "innereye/optim.h"

static const char *const KIND_NAMES[] = {"constant", "polynomial", "cosine", "step", "multistep", "exponential"};
#define KIND_COUNT ((int)(sizeof KIND_NAMES / sizeof KIND_NAMES[0]))

const char *ie_lr_kind_name(ie_lr_kind kind) {
    return (int)kind >= 0 && (int)kind < KIND_COUNT ? KIND_NAMES[kind] : NULL;
}

ie_status ie_lr_kind_parse(const char *name, ie_lr_kind *out) {
    if (!name || !out) return ie_error_set(IE_ERR_INVALID_ARG, "lr_schedule: kind name or out is NULL");
    for (int k = 0; k < KIND_COUNT; k++)
        if (strcasecmp(name, KIND_NAMES[k]) == 0) {
            *out = (ie_lr_kind)k;
            return IE_OK;
        }
    return ie_error_set(IE_ERR_CONFIG,
                        "lr_schedule: unknown schedule '%s'; choose constant, polynomial, cosine, step, "
                        "multistep or exponential",
                        name);
}

static ie_status check_gamma(const char *kind, double gamma, const char *meaning) {
    if (!isfinite(gamma) || gamma <= 0.0)
        return ie_error_set(IE_ERR_CONFIG, "lr_schedule %s: gamma (%s) must be a finite number > 0, got %g", kind,
                            meaning, gamma);
    return IE_OK;
}

/* Polynomial and cosine decay to final_lr over the epochs after warm-up. */
static ie_status check_decay_to_final(const char *kind, const ie_lr_schedule *s) {
    if (!isfinite(s->final_lr) || s->final_lr < 0.0 || s->final_lr > s->base_lr)
        return ie_error_set(IE_ERR_CONFIG, "lr_schedule %s: final_lr must be in [0, base_lr = %g], got %g", kind,
                            s->base_lr, s->final_lr);
    if (s->max_epochs <= s->warmup_epochs)
        return ie_error_set(IE_ERR_CONFIG,
                            "lr_schedule %s: max_epochs (%d) must be larger than warmup_epochs (%d): the "
                            "schedule needs at least one epoch after the warm-up",
                            kind, s->max_epochs, s->warmup_epochs);
    return IE_OK;
}

static ie_status check_milestones(const ie_lr_schedule *s) {
    if (s->n_milestones < 1 || s->n_milestones > IE_LR_MAX_MILESTONES)
        return ie_error_set(IE_ERR_CONFIG, "lr_schedule multistep: needs 1 to %d milestones, got %d",
                            IE_LR_MAX_MILESTONES, s->n_milestones);
    if (s->milestones[0] < 0)
        return ie_error_set(IE_ERR_CONFIG, "lr_schedule multistep: milestones must be >= 0, got %d first",
                            s->milestones[0]);
    for (int i = 1; i < s->n_milestones; i++)
        if (s->milestones[i] <= s->milestones[i - 1])
            return ie_error_set(IE_ERR_CONFIG,
                                "lr_schedule multistep: milestones must be strictly increasing, but milestone "
                                "%d is %d after %d",
                                i, s->milestones[i], s->milestones[i - 1]);
    return IE_OK;
}

ie_status ie_lr_schedule_validate(const ie_lr_schedule *s) {
    if (!s) return ie_error_set(IE_ERR_INVALID_ARG, "lr_schedule: schedule is NULL");
    const char *kind = ie_lr_kind_name(s->kind);
    if (!kind) return ie_error_set(IE_ERR_CONFIG, "lr_schedule: unknown kind %d", (int)s->kind);
    if (!isfinite(s->base_lr) || s->base_lr <= 0.0)
        return ie_error_set(IE_ERR_CONFIG, "lr_schedule %s: base_lr must be a finite number > 0, got %g", kind,
                            s->base_lr);
    if (s->warmup_epochs < 0)
        return ie_error_set(IE_ERR_CONFIG, "lr_schedule %s: warmup_epochs must be >= 0, got %d", kind,
                            s->warmup_epochs);
    switch (s->kind) {
    case IE_LR_CONSTANT: return IE_OK;
    case IE_LR_POLYNOMIAL:
        IE_TRY(check_gamma(kind, s->gamma, "the power"));
        return check_decay_to_final(kind, s);
    case IE_LR_COSINE: return check_decay_to_final(kind, s);
    case IE_LR_STEP:
        if (s->step_size < 1)
            return ie_error_set(IE_ERR_CONFIG, "lr_schedule step: step_size must be >= 1 epoch, got %d",
                                s->step_size);
        return check_gamma(kind, s->gamma, "the factor per step");
    case IE_LR_MULTISTEP:
        IE_TRY(check_milestones(s));
        return check_gamma(kind, s->gamma, "the factor per milestone");
    case IE_LR_EXPONENTIAL: return check_gamma(kind, s->gamma, "the factor per epoch");
    }
    return IE_OK;
}

/* Milestones <= t (Python's bisect_right, as torch's MultiStepLR). */
static int milestones_passed(const ie_lr_schedule *s, int t) {
    int n = 0;
    while (n < s->n_milestones && s->milestones[n] <= t) n++;
    return n;
}

double ie_lr_schedule_at(const ie_lr_schedule *s, int epoch) {
    const double pi = 3.14159265358979323846;
    int e = epoch < 0 ? 0 : epoch;
    int w = s->warmup_epochs;
    double base = s->base_lr;
    if (e < w) return base * ((double)(e + 1) / (double)(w + 1));
    int t = e - w, span = s->max_epochs - w;
    switch (s->kind) {
    case IE_LR_CONSTANT: return base;
    case IE_LR_POLYNOMIAL: {
        /* InnerEye's lambda, multiplied by base as LambdaLR does. */
        double x = s->final_lr / base;
        double frac = t >= span ? 0.0 : 1.0 - (double)t / (double)span;
        return base * ((1.0 - x) * pow(frac, s->gamma) + x);
    }
    case IE_LR_COSINE:
        if (t >= span) return s->final_lr;
        return s->final_lr + (base - s->final_lr) * (1.0 + cos(pi * (double)t / (double)span)) / 2.0;
    case IE_LR_STEP: return base * pow(s->gamma, (double)(t / s->step_size));
    case IE_LR_MULTISTEP: return base * pow(s->gamma, (double)milestones_passed(s, t));
    case IE_LR_EXPONENTIAL: return base * pow(s->gamma, (double)t);
    }
    return base;
}
