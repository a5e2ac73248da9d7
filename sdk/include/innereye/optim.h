/* innereye/optim.h - optimisers and learning-rate schedules.
 *
 * Optimisers follow PyTorch 1.13's torch.optim update rules exactly (the
 * single-tensor, foreach=False code path): same state, same float32 operation
 * order, same handling of parameters without a gradient.  Their state can be
 * exported as named tensors and imported again, so a resumed run continues
 * bit-identically.
 *
 * Learning-rate schedules are pure functions lr(epoch): nothing to save, and
 * resuming at epoch e is just asking for lr(e).  They reproduce InnerEye-
 * DeepLearning's schedules (torch.optim.lr_scheduler with its linear warm-up). */
#ifndef INNEREYE_OPTIM_H
#define INNEREYE_OPTIM_H

#include "innereye/api.h"

#include <stdbool.h>
#include <stdint.h>

#include "innereye/params.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------------------------------------------------------- optimisers */

typedef enum ie_optimizer_kind {
    IE_OPTIM_SGD = 0,     /* torch.optim.SGD */
    IE_OPTIM_ADAM = 1,    /* torch.optim.Adam (weight decay is L2 added to the gradient) */
    IE_OPTIM_ADAMW = 2,   /* torch.optim.AdamW (decoupled weight decay) */
    IE_OPTIM_RMSPROP = 3  /* torch.optim.RMSprop */
} ie_optimizer_kind;

/* Hyperparameters; each kind reads only its own fields, as in torch.  Start
 * from ie_optimizer_defaults(kind) and change what you need. */
typedef struct ie_optimizer_opts {
    ie_optimizer_kind kind;
    double lr;           /* >= 0 */
    double weight_decay; /* >= 0; AdamW: decoupled (param *= 1 - lr*wd), others: L2 */
    double momentum;     /* SGD, RMSprop; >= 0 */
    double dampening;    /* SGD */
    bool nesterov;       /* SGD: needs momentum > 0 and dampening 0 */
    double beta1, beta2; /* Adam, AdamW: each in [0, 1) */
    double eps;          /* Adam, AdamW, RMSprop; >= 0 */
    bool amsgrad;        /* Adam, AdamW */
    double alpha;        /* RMSprop smoothing constant; >= 0 */
    bool centered;       /* RMSprop */
} ie_optimizer_opts;

typedef struct ie_optimizer ie_optimizer;

/* PyTorch's defaults for `kind` (SGD has no default lr in torch; 0.01 here). */
IE_API ie_optimizer_opts ie_optimizer_defaults(ie_optimizer_kind kind);
/* "sgd", "adam", "adamw", "rmsprop" (NULL for an unknown kind). */
IE_API const char *ie_optimizer_kind_name(ie_optimizer_kind kind);
/* Accepts the names above, case-insensitively. */
IE_API ie_status ie_optimizer_kind_parse(const char *name, ie_optimizer_kind *out);

/* Checks every field torch checks (and that they are finite); the message
 * names the field, its value and the allowed range. */
IE_API ie_status ie_optimizer_opts_validate(const ie_optimizer_opts *opts);

/* An optimiser over the IE_PARAM entries of `params` (buffers are ignored).
 * The optimiser retains the tensors and copies their names; `params` may be
 * freed afterwards.  Parameters must be float32. */
IE_API ie_status ie_optimizer_new(const ie_optimizer_opts *opts, const ie_params *params,
                           ie_optimizer **out);
IE_API void ie_optimizer_free(ie_optimizer *opt); /* NULL is allowed */

/* One update of every parameter that has a gradient; parameters whose grad is
 * NULL are skipped and their state (including the step count that drives
 * Adam's bias correction) does not advance, as in torch.  All gradients are
 * checked before any parameter changes, so a failed step changes nothing. */
IE_API ie_status ie_optimizer_step(ie_optimizer *opt);
/* Drops every parameter's gradient (torch's zero_grad(set_to_none=True)). */
IE_API void ie_optimizer_zero_grad(ie_optimizer *opt);

/* The rate used by the next step (a schedule sets it once per epoch). */
IE_API ie_status ie_optimizer_set_lr(ie_optimizer *opt, double lr);
IE_API double ie_optimizer_get_lr(const ie_optimizer *opt);
IE_API const ie_optimizer_opts *ie_optimizer_get_opts(const ie_optimizer *opt);
/* Number of trained parameters and calls of ie_optimizer_step so far. */
IE_API int ie_optimizer_param_count(const ie_optimizer *opt);
IE_API int64_t ie_optimizer_steps(const ie_optimizer *opt);

/* The optimiser's state as a new list of tensors (copies, kind IE_BUFFER),
 * named after PyTorch's state entries:
 *     "<param>.step"             int64 scalar: steps this parameter took
 *     "<param>.momentum_buffer"  SGD with momentum, RMSprop with momentum
 *     "<param>.exp_avg"          Adam, AdamW
 *     "<param>.exp_avg_sq"       Adam, AdamW
 *     "<param>.max_exp_avg_sq"   Adam, AdamW with amsgrad
 *     "<param>.square_avg"       RMSprop
 *     "<param>.grad_avg"         RMSprop, centered
 * plus "optimizer.steps" (int64 scalar, ie_optimizer_steps).  A parameter
 * that never had a gradient has no entries, as in torch. */
IE_API ie_status ie_optimizer_state_save(const ie_optimizer *opt, ie_params **out);
/* Replaces the optimiser's state with `state` (as written by
 * ie_optimizer_state_save of an optimiser of the same kind and options).
 * Refuses entries that do not belong to this optimiser, missing or mis-shaped
 * buffers, and step counts below 1; on failure the state is unchanged. */
IE_API ie_status ie_optimizer_state_load(ie_optimizer *opt, const ie_params *state);

/* ------------------------------------------------------ learning-rate schedules */

typedef enum ie_lr_kind {
    IE_LR_CONSTANT = 0,
    IE_LR_POLYNOMIAL = 1,  /* (base - final) * (1 - t/T)^gamma + final */
    IE_LR_COSINE = 2,      /* final + (base - final) * (1 + cos(pi t/T)) / 2 */
    IE_LR_STEP = 3,        /* base * gamma^floor(t / step_size) */
    IE_LR_MULTISTEP = 4,   /* base * gamma^(number of milestones <= t) */
    IE_LR_EXPONENTIAL = 5  /* base * gamma^t */
} ie_lr_kind;

#define IE_LR_MAX_MILESTONES 32

/* Epochs count from 0.  With warm-up over W epochs (InnerEye's LinearWarmUp):
 *     lr(e) = base_lr * (e + 1) / (W + 1)            for e < W
 *     lr(e) = schedule(t = e - W), T = max_epochs - W for e >= W
 * so warm-up reaches base_lr at epoch W, where the schedule starts. */
typedef struct ie_lr_schedule {
    ie_lr_kind kind;
    double base_lr;       /* > 0 */
    double final_lr;      /* polynomial, cosine: lr reached at max_epochs (0 <= final <= base) */
    int max_epochs;       /* polynomial, cosine: training length including warm-up */
    double gamma;         /* polynomial: power (> 0); step, multistep, exponential: factor (> 0) */
    int step_size;        /* step: epochs between decays (>= 1) */
    int n_milestones;     /* multistep: 1..IE_LR_MAX_MILESTONES */
    int milestones[IE_LR_MAX_MILESTONES]; /* multistep: strictly increasing, >= 0 */
    int warmup_epochs;    /* W >= 0; 0: no warm-up */
} ie_lr_schedule;

/* "constant", "polynomial", "cosine", "step", "multistep", "exponential". */
IE_API const char *ie_lr_kind_name(ie_lr_kind kind);
IE_API ie_status ie_lr_kind_parse(const char *name, ie_lr_kind *out);

/* Checks the fields `kind` uses; the message names the field and value. */
IE_API ie_status ie_lr_schedule_validate(const ie_lr_schedule *schedule);

/* lr at `epoch` (a validated schedule).  Epochs below 0 count as 0; past
 * max_epochs, polynomial and cosine stay at final_lr. */
IE_API double ie_lr_schedule_at(const ie_lr_schedule *schedule, int epoch);

#ifdef __cplusplus
}
#endif
#endif
