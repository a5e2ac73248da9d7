/* core/optim - optimisers: PyTorch 1.13's SGD, Adam, AdamW and RMSprop.
 *
 * Owns the per-parameter state (step count and moment buffers, created on a
 * parameter's first step as torch does), the scalar arithmetic of each step
 * (in double, rounded once to float32 where torch rounds), and the export and
 * import of that state for checkpoints.  The per-element work is in the optim
 * kernel family (core/backend/optim_kernels.h). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/ops/op_util.h"
#include "core/backend/optim_kernels.h"
#include "innereye/optim.h"

#define MAX_BUFFERS 3
#define GLOBAL_STEPS_NAME "optimizer.steps"

typedef struct slot {
    char *name;
    ie_tensor *param;
    int64_t step;                 /* steps taken with a gradient; 0: no state yet */
    ie_tensor *buf[MAX_BUFFERS];  /* meaning per kind: see buffer_names() */
} slot;

struct ie_optimizer {
    ie_optimizer_opts opts;
    slot *slots;
    int count;
    int64_t steps;
};

/* ------------------------------------------------------------ options */

static const char *const KIND_NAMES[] = {"sgd", "adam", "adamw", "rmsprop"};
#define KIND_COUNT ((int)(sizeof KIND_NAMES / sizeof KIND_NAMES[0]))

const char *ie_optimizer_kind_name(ie_optimizer_kind kind) {
    return (int)kind >= 0 && (int)kind < KIND_COUNT ? KIND_NAMES[kind] : NULL;
}

ie_status ie_optimizer_kind_parse(const char *name, ie_optimizer_kind *out) {
    if (!name || !out) return ie_error_set(IE_ERR_INVALID_ARG, "optimizer: kind name or out is NULL");
    for (int k = 0; k < KIND_COUNT; k++)
        if (strcasecmp(name, KIND_NAMES[k]) == 0) {
            *out = (ie_optimizer_kind)k;
            return IE_OK;
        }
    return ie_error_set(IE_ERR_CONFIG, "optimizer: unknown optimiser '%s'; choose sgd, adam, adamw or rmsprop",
                        name);
}

ie_optimizer_opts ie_optimizer_defaults(ie_optimizer_kind kind) {
    ie_optimizer_opts o = {.kind = kind, .beta1 = 0.9, .beta2 = 0.999, .eps = 1e-8, .alpha = 0.99};
    switch (kind) {
    case IE_OPTIM_SGD: o.lr = 0.01; break;
    case IE_OPTIM_ADAM: o.lr = 1e-3; break;
    case IE_OPTIM_ADAMW: o.lr = 1e-3; o.weight_decay = 1e-2; break;
    case IE_OPTIM_RMSPROP: o.lr = 1e-2; break;
    }
    return o;
}

static ie_status check_at_least(const char *kind, const char *field, double v, double lo) {
    if (!isfinite(v) || v < lo)
        return ie_error_set(IE_ERR_CONFIG, "optimizer %s: %s must be a finite number >= %g, got %g", kind,
                            field, lo, v);
    return IE_OK;
}

static ie_status check_beta(const char *kind, const char *field, double v) {
    if (!isfinite(v) || v < 0.0 || v >= 1.0)
        return ie_error_set(IE_ERR_CONFIG, "optimizer %s: %s must be in [0, 1), got %g", kind, field, v);
    return IE_OK;
}

ie_status ie_optimizer_opts_validate(const ie_optimizer_opts *o) {
    if (!o) return ie_error_set(IE_ERR_INVALID_ARG, "optimizer: options are NULL");
    const char *kind = ie_optimizer_kind_name(o->kind);
    if (!kind) return ie_error_set(IE_ERR_CONFIG, "optimizer: unknown kind %d", (int)o->kind);
    IE_TRY(check_at_least(kind, "lr", o->lr, 0.0));
    IE_TRY(check_at_least(kind, "weight_decay", o->weight_decay, 0.0));
    switch (o->kind) {
    case IE_OPTIM_SGD:
        IE_TRY(check_at_least(kind, "momentum", o->momentum, 0.0));
        if (!isfinite(o->dampening))
            return ie_error_set(IE_ERR_CONFIG, "optimizer sgd: dampening must be finite, got %g", o->dampening);
        if (o->nesterov && (o->momentum <= 0.0 || o->dampening != 0.0))
            return ie_error_set(IE_ERR_CONFIG,
                                "optimizer sgd: Nesterov momentum needs momentum > 0 and dampening 0, got "
                                "momentum %g and dampening %g",
                                o->momentum, o->dampening);
        break;
    case IE_OPTIM_ADAM:
    case IE_OPTIM_ADAMW:
        IE_TRY(check_at_least(kind, "eps", o->eps, 0.0));
        IE_TRY(check_beta(kind, "beta1", o->beta1));
        IE_TRY(check_beta(kind, "beta2", o->beta2));
        break;
    case IE_OPTIM_RMSPROP:
        IE_TRY(check_at_least(kind, "eps", o->eps, 0.0));
        IE_TRY(check_at_least(kind, "momentum", o->momentum, 0.0));
        IE_TRY(check_at_least(kind, "alpha", o->alpha, 0.0));
        break;
    }
    return IE_OK;
}

/* The state buffers of this configuration, by slot index (NULL: unused),
 * named as in torch's optimizer.state. */
static void buffer_names(const ie_optimizer_opts *o, const char *names[MAX_BUFFERS]) {
    for (int k = 0; k < MAX_BUFFERS; k++) names[k] = NULL;
    switch (o->kind) {
    case IE_OPTIM_SGD:
        if (o->momentum != 0.0) names[0] = "momentum_buffer";
        break;
    case IE_OPTIM_ADAM:
    case IE_OPTIM_ADAMW:
        names[0] = "exp_avg";
        names[1] = "exp_avg_sq";
        if (o->amsgrad) names[2] = "max_exp_avg_sq";
        break;
    case IE_OPTIM_RMSPROP:
        names[0] = "square_avg";
        if (o->centered) names[1] = "grad_avg";
        if (o->momentum > 0.0) names[2] = "momentum_buffer";
        break;
    }
}

/* ------------------------------------------------------------ lifetime */

ie_status ie_optimizer_new(const ie_optimizer_opts *opts, const ie_params *params, ie_optimizer **out) {
    if (!out) return ie_error_set(IE_ERR_INVALID_ARG, "optimizer_new: out is NULL");
    *out = NULL;
    if (!params) return ie_error_set(IE_ERR_INVALID_ARG, "optimizer_new: params is NULL");
    IE_TRY(ie_optimizer_opts_validate(opts));
    int n = 0;
    for (int i = 0; i < ie_params_count(params); i++) {
        if (ie_params_kind(params, i) != IE_PARAM) continue;
        const ie_tensor *t = ie_params_tensor(params, i);
        char d[96];
        if (t->dtype != IE_F32)
            return ie_error_set(IE_ERR_DTYPE, "optimizer_new: parameter '%s' is %s; only f32 parameters can be trained",
                                ie_params_name(params, i), IE_DESCRIBE(t, d));
        for (int j = 0; j < i; j++)
            if (ie_params_kind(params, j) == IE_PARAM && ie_params_tensor(params, j) == t)
                return ie_error_set(IE_ERR_INVALID_ARG,
                                    "optimizer_new: '%s' and '%s' are the same tensor; it would be updated twice",
                                    ie_params_name(params, j), ie_params_name(params, i));
        n++;
    }
    if (n == 0)
        return ie_error_set(IE_ERR_INVALID_ARG,
                            "optimizer_new: the list has no trainable parameters (only buffers or nothing)");
    ie_optimizer *o = calloc(1, sizeof *o);
    slot *slots = calloc((size_t)n, sizeof *slots);
    if (!o || !slots) {
        free(o);
        free(slots);
        return ie_error_set(IE_ERR_NOMEM, "optimizer_new: out of memory");
    }
    o->opts = *opts;
    o->slots = slots;
    for (int i = 0; i < ie_params_count(params); i++) {
        if (ie_params_kind(params, i) != IE_PARAM) continue;
        slot *s = &o->slots[o->count];
        s->name = strdup(ie_params_name(params, i));
        if (!s->name) {
            ie_optimizer_free(o);
            return ie_error_set(IE_ERR_NOMEM, "optimizer_new: out of memory");
        }
        s->param = ie_tensor_retain(ie_params_tensor(params, i));
        o->count++;
    }
    *out = o;
    return IE_OK;
}

static void slot_clear_state(slot *s) {
    for (int k = 0; k < MAX_BUFFERS; k++) {
        ie_tensor_release(s->buf[k]);
        s->buf[k] = NULL;
    }
    s->step = 0;
}

void ie_optimizer_free(ie_optimizer *o) {
    if (!o) return;
    for (int i = 0; i < o->count; i++) {
        slot_clear_state(&o->slots[i]);
        ie_tensor_release(o->slots[i].param);
        free(o->slots[i].name);
    }
    free(o->slots);
    free(o);
}

/* ------------------------------------------------------------ stepping */

ie_status ie_optimizer_set_lr(ie_optimizer *o, double lr) {
    if (!o) return ie_error_set(IE_ERR_INVALID_ARG, "optimizer_set_lr: optimizer is NULL");
    if (!isfinite(lr) || lr < 0.0)
        return ie_error_set(IE_ERR_INVALID_ARG, "optimizer_set_lr: lr must be a finite number >= 0, got %g", lr);
    o->opts.lr = lr;
    return IE_OK;
}

double ie_optimizer_get_lr(const ie_optimizer *o) { return o ? o->opts.lr : NAN; }
const ie_optimizer_opts *ie_optimizer_get_opts(const ie_optimizer *o) { return o ? &o->opts : NULL; }
int ie_optimizer_param_count(const ie_optimizer *o) { return o ? o->count : 0; }
int64_t ie_optimizer_steps(const ie_optimizer *o) { return o ? o->steps : 0; }

void ie_optimizer_zero_grad(ie_optimizer *o) {
    for (int i = 0; o && i < o->count; i++) ie_tensor_zero_grad(o->slots[i].param);
}

static ie_status check_grad(const slot *s) {
    const ie_tensor *g = s->param->grad;
    char a[96], b[96];
    if (g->dtype != IE_F32 || !ie_tensor_same_shape(g, s->param))
        return ie_error_set(IE_ERR_SHAPE, "optimizer_step: the gradient of '%s' is %s but the parameter is %s",
                            s->name, IE_DESCRIBE(g, a), IE_DESCRIBE(s->param, b));
    if (g->device != s->param->device)
        return ie_error_set(IE_ERR_DEVICE, "optimizer_step: the gradient of '%s' is on %s, the parameter on %s",
                            s->name, ie_device_name(g->device), ie_device_name(s->param->device));
    return IE_OK;
}

/* Zeroed buffers for a parameter's first step (torch's lazy state init). */
static ie_status ensure_state(const ie_optimizer *o, slot *s) {
    const char *names[MAX_BUFFERS];
    buffer_names(&o->opts, names);
    for (int k = 0; k < MAX_BUFFERS; k++) {
        if (!names[k] || s->buf[k]) continue;
        ie_status st = ie_tensor_zeros(IE_F32, s->param->ndim, s->param->shape, s->param->device, &s->buf[k]);
        if (st != IE_OK) return ie_error_wrap(st, "optimizer_step: state '%s.%s'", s->name, names[k]);
    }
    return IE_OK;
}

static ie_status step_sgd(ie_device_ctx *ctx, const ie_optimizer_opts *o, slot *s) {
    ie_sgd_scalars sc = {
        .neg_lr = (float)(-o->lr),
        .weight_decay = (float)o->weight_decay,
        .momentum = (float)o->momentum,
        .one_minus_dampening = (float)(1.0 - o->dampening),
        .use_weight_decay = o->weight_decay != 0.0,
        .use_momentum = o->momentum != 0.0,
        .nesterov = o->nesterov,
        .first_step = s->step == 1, /* torch: the buffer starts as a copy of d_p */
    };
    return ctx->backend->optim->sgd(ctx, &sc, s->param, s->param->grad, s->buf[0]);
}

static ie_status step_adam(ie_device_ctx *ctx, const ie_optimizer_opts *o, slot *s) {
    double step = (double)s->step;
    double bias_correction1 = 1.0 - pow(o->beta1, step);
    double bias_correction2 = 1.0 - pow(o->beta2, step);
    double step_size = o->lr / bias_correction1;
    bool decoupled = o->kind == IE_OPTIM_ADAMW;
    ie_adam_scalars sc = {
        .beta1 = (float)o->beta1,
        .one_minus_beta1 = (float)(1.0 - o->beta1),
        .beta2 = (float)o->beta2,
        .one_minus_beta2 = (float)(1.0 - o->beta2),
        .weight_decay = (float)o->weight_decay,
        .decay = (float)(1.0 - o->lr * o->weight_decay),
        .neg_step_size = (float)(-step_size),
        .bias_correction2_sqrt = (float)sqrt(bias_correction2),
        .eps = (float)o->eps,
        .use_weight_decay = !decoupled && o->weight_decay != 0.0,
        .decoupled = decoupled,
        .amsgrad = o->amsgrad,
    };
    return ctx->backend->optim->adam(ctx, &sc, s->param, s->param->grad, s->buf[0], s->buf[1], s->buf[2]);
}

static ie_status step_rmsprop(ie_device_ctx *ctx, const ie_optimizer_opts *o, slot *s) {
    ie_rmsprop_scalars sc = {
        .alpha = (float)o->alpha,
        .one_minus_alpha = (float)(1.0 - o->alpha),
        .eps = (float)o->eps,
        .weight_decay = (float)o->weight_decay,
        .momentum = (float)o->momentum,
        .neg_lr = (float)(-o->lr),
        .use_weight_decay = o->weight_decay != 0.0,
        .use_momentum = o->momentum > 0.0,
        .centered = o->centered,
    };
    return ctx->backend->optim->rmsprop(ctx, &sc, s->param, s->param->grad, s->buf[0], s->buf[1], s->buf[2]);
}

/* The kernel that updates parameters for this kind of optimiser. */
static ie_kernel_op optim_kernel(ie_optimizer_kind kind) {
    switch (kind) {
    case IE_OPTIM_SGD: return IE_KERNEL_OPTIM_SGD;
    case IE_OPTIM_ADAM:
    case IE_OPTIM_ADAMW: return IE_KERNEL_OPTIM_ADAM;
    case IE_OPTIM_RMSPROP: return IE_KERNEL_OPTIM_RMSPROP;
    }
    return IE_KERNEL_OPTIM_SGD;
}

ie_status ie_optimizer_step(ie_optimizer *o) {
    if (!o) return ie_error_set(IE_ERR_INVALID_ARG, "optimizer_step: optimizer is NULL");
    /* Everything that can fail happens before the first parameter moves. */
    for (int i = 0; i < o->count; i++) {
        slot *s = &o->slots[i];
        if (!s->param->grad) continue;
        IE_TRY(check_grad(s));
        ie_device_ctx *ctx;
        IE_TRY(ie_kernel_ctx("optimizer_step", s->param, optim_kernel(o->opts.kind), &ctx));
        IE_TRY(ensure_state(o, s));
    }
    for (int i = 0; i < o->count; i++) {
        slot *s = &o->slots[i];
        if (!s->param->grad) continue;
        ie_device_ctx *ctx;
        IE_TRY(ie_device_ctx_for("optimizer_step", s->param, &ctx));
        s->step++;
        ie_status st = IE_OK;
        switch (o->opts.kind) {
        case IE_OPTIM_SGD: st = step_sgd(ctx, &o->opts, s); break;
        case IE_OPTIM_ADAM:
        case IE_OPTIM_ADAMW: st = step_adam(ctx, &o->opts, s); break;
        case IE_OPTIM_RMSPROP: st = step_rmsprop(ctx, &o->opts, s); break;
        }
        /* Only a device failure gets here (the CPU kernels cannot fail): the
         * parameters before this one have moved, so the run must stop and
         * resume from its last checkpoint. */
        if (st != IE_OK)
            return ie_error_wrap(st, "optimizer_step: parameter '%s' (the step is incomplete; resume from the last "
                                     "checkpoint)",
                                 s->name);
    }
    o->steps++;
    return IE_OK;
}

/* ------------------------------------------------------------ state export / import */

static ie_status add_entry(ie_params *list, const char *param, const char *what, ie_tensor *t) {
    char name[1024];
    int len = snprintf(name, sizeof name, "%s.%s", param, what);
    ie_status st = IE_OK;
    if (len < 0 || (size_t)len >= sizeof name)
        st = ie_error_set(IE_ERR_INVALID_ARG, "optimizer_state_save: name '%s.%s' is too long", param, what);
    else
        st = ie_params_add(list, name, t, IE_BUFFER);
    ie_tensor_release(t); /* the list holds its own reference */
    return st;
}

static ie_status int64_scalar(int64_t value, ie_tensor **out) {
    return ie_tensor_from_data(IE_I64, 0, NULL, &value, out);
}

static ie_status save_slot(const ie_optimizer *o, const slot *s, ie_params *list) {
    const char *names[MAX_BUFFERS];
    buffer_names(&o->opts, names);
    ie_tensor *t = NULL;
    IE_TRY(int64_scalar(s->step, &t));
    IE_TRY(add_entry(list, s->name, "step", t));
    for (int k = 0; k < MAX_BUFFERS; k++) {
        if (!names[k]) continue;
        IE_TRY(ie_tensor_clone(s->buf[k], &t));
        IE_TRY(add_entry(list, s->name, names[k], t));
    }
    return IE_OK;
}

ie_status ie_optimizer_state_save(const ie_optimizer *o, ie_params **out) {
    if (!out) return ie_error_set(IE_ERR_INVALID_ARG, "optimizer_state_save: out is NULL");
    *out = NULL;
    if (!o) return ie_error_set(IE_ERR_INVALID_ARG, "optimizer_state_save: optimizer is NULL");
    ie_params *list = NULL;
    IE_TRY(ie_params_new(&list));
    ie_status st = IE_OK;
    for (int i = 0; i < o->count && st == IE_OK; i++)
        if (o->slots[i].step > 0) st = save_slot(o, &o->slots[i], list);
    ie_tensor *steps = NULL;
    if (st == IE_OK) st = int64_scalar(o->steps, &steps);
    if (st == IE_OK) {
        st = ie_params_add(list, GLOBAL_STEPS_NAME, steps, IE_BUFFER);
        ie_tensor_release(steps);
    }
    if (st != IE_OK) {
        ie_params_free(list);
        return st;
    }
    *out = list;
    return IE_OK;
}

/* "<param>.<what>" == name? */
static bool names_entry(const char *name, const char *param, const char *what) {
    size_t n = strlen(param);
    return strncmp(name, param, n) == 0 && name[n] == '.' && strcmp(name + n + 1, what) == 0;
}

/* Does `name` belong to this optimiser's state? */
static bool known_entry(const ie_optimizer *o, const char *names[MAX_BUFFERS], const char *name) {
    if (strcmp(name, GLOBAL_STEPS_NAME) == 0) return true;
    for (int i = 0; i < o->count; i++) {
        if (names_entry(name, o->slots[i].name, "step")) return true;
        for (int k = 0; k < MAX_BUFFERS; k++)
            if (names[k] && names_entry(name, o->slots[i].name, names[k])) return true;
    }
    return false;
}

static ie_tensor *find_entry(const ie_params *state, const char *param, const char *what) {
    for (int i = 0; i < ie_params_count(state); i++)
        if (names_entry(ie_params_name(state, i), param, what)) return ie_params_tensor(state, i);
    return NULL;
}

static ie_status read_count(const char *name, const ie_tensor *t, int64_t min, int64_t *out) {
    char d[96];
    if (t->dtype != IE_I64 || t->numel != 1 || t->device != IE_CPU)
        return ie_error_set(IE_ERR_DTYPE, "optimizer_state_load: '%s' must be one i64 on the CPU, got %s", name,
                            IE_DESCRIBE(t, d));
    int64_t v = *(const int64_t *)ie_tensor_data(t);
    if (v < min)
        return ie_error_set(IE_ERR_INVALID_ARG, "optimizer_state_load: '%s' is %lld, must be >= %lld", name,
                            (long long)v, (long long)min);
    *out = v;
    return IE_OK;
}

/* New state for one slot in `step` and `buf` (owned by the caller). */
static ie_status load_slot(const ie_optimizer *o, const slot *s, const char *names[MAX_BUFFERS],
                           const ie_params *state, int64_t *step, ie_tensor *buf[MAX_BUFFERS]) {
    char a[96], b[96];
    const ie_tensor *st = find_entry(state, s->name, "step");
    *step = 0;
    if (!st) {
        for (int k = 0; k < MAX_BUFFERS; k++)
            if (names[k] && find_entry(state, s->name, names[k]))
                return ie_error_set(IE_ERR_INVALID_ARG,
                                    "optimizer_state_load: '%s.%s' is present but '%s.step' is missing", s->name,
                                    names[k], s->name);
        return IE_OK; /* never stepped: no state, as in torch */
    }
    char label[1100];
    snprintf(label, sizeof label, "%s.step", s->name);
    IE_TRY(read_count(label, st, 1, step));
    for (int k = 0; k < MAX_BUFFERS; k++) {
        if (!names[k]) continue;
        const ie_tensor *t = find_entry(state, s->name, names[k]);
        if (!t)
            return ie_error_set(IE_ERR_INVALID_ARG,
                                "optimizer_state_load: '%s.%s' is missing (a %s optimiser with these options keeps "
                                "it); was the state saved with other options?",
                                s->name, names[k], ie_optimizer_kind_name(o->opts.kind));
        if (t->dtype != IE_F32 || !ie_tensor_same_shape(t, s->param))
            return ie_error_set(IE_ERR_SHAPE, "optimizer_state_load: '%s.%s' is %s but the parameter is %s",
                                s->name, names[k], IE_DESCRIBE(t, a), IE_DESCRIBE(s->param, b));
        IE_TRY(ie_tensor_empty(IE_F32, s->param->ndim, s->param->shape, s->param->device, &buf[k]));
        ie_status cs = ie_tensor_copy_data(buf[k], t);
        if (cs != IE_OK) return ie_error_wrap(cs, "optimizer_state_load: '%s.%s'", s->name, names[k]);
    }
    return IE_OK;
}

ie_status ie_optimizer_state_load(ie_optimizer *o, const ie_params *state) {
    if (!o || !state) return ie_error_set(IE_ERR_INVALID_ARG, "optimizer_state_load: NULL argument");
    const char *names[MAX_BUFFERS];
    buffer_names(&o->opts, names);
    for (int i = 0; i < ie_params_count(state); i++)
        if (!known_entry(o, names, ie_params_name(state, i)))
            return ie_error_set(IE_ERR_INVALID_ARG,
                                "optimizer_state_load: entry '%s' does not belong to this %s optimiser's state; "
                                "was it saved by another optimiser, other options or another model?",
                                ie_params_name(state, i), ie_optimizer_kind_name(o->opts.kind));
    int64_t *steps = calloc((size_t)o->count, sizeof *steps);
    ie_tensor *(*bufs)[MAX_BUFFERS] = calloc((size_t)o->count, sizeof *bufs);
    ie_status st = steps && bufs ? IE_OK : ie_error_set(IE_ERR_NOMEM, "optimizer_state_load: out of memory");
    int64_t global = 0, most = 0;
    for (int i = 0; i < o->count && st == IE_OK; i++) {
        st = load_slot(o, &o->slots[i], names, state, &steps[i], bufs[i]);
        if (st == IE_OK && steps[i] > most) most = steps[i];
    }
    const ie_tensor *g = ie_params_find(state, GLOBAL_STEPS_NAME);
    if (st == IE_OK) {
        if (g)
            st = read_count(GLOBAL_STEPS_NAME, g, most, &global);
        else
            global = most;
    }
    for (int i = 0; i < o->count && bufs; i++) {
        slot *s = &o->slots[i];
        if (st == IE_OK) { /* commit: swap the new state in */
            slot_clear_state(s);
            s->step = steps[i];
            for (int k = 0; k < MAX_BUFFERS; k++) s->buf[k] = bufs[i][k];
        } else {
            for (int k = 0; k < MAX_BUFFERS; k++) ie_tensor_release(bufs[i][k]);
        }
    }
    if (st == IE_OK) o->steps = global;
    free(steps);
    free(bufs);
    return st;
}
