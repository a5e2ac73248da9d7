/* Optimisers: every update rule against torch.optim (foreach=False) over five
 * steps (nnU-Net's SGD + Nesterov under its poly schedule among them), the exported state against torch's optimizer.state, bit-identical
 * resume from saved state, thread-count independence and misuse. */
#include <stdint.h>
#include <unistd.h>

#include "innereye/optim.h"
#include "innereye/threads.h"
#include "test_util.h"

#define STEPS 5
static const char *const PARAM_NAMES[] = {"w", "b", "k", "late", "frozen"};
#define N_PARAMS 5

/* Mirrors CONFIGS in tests/reference/gen_optim.py. */
typedef struct config {
    const char *name;
    double lrs[STEPS];
    ie_optimizer_opts opts;
} config;

static config make(const char *name, ie_optimizer_kind kind, const double lrs[STEPS]) {
    config c = {.name = name, .opts = ie_optimizer_defaults(kind)};
    for (int s = 0; s < STEPS; s++) c.lrs[s] = lrs[s];
    c.opts.lr = lrs[0];
    return c;
}

/* nnUNetTrainer's PolyLRScheduler: 1e-2 (1 - epoch / epochs)^0.9. */
static ie_lr_schedule nnunet_poly(void) {
    return (ie_lr_schedule){.kind = IE_LR_POLYNOMIAL, .base_lr = 1e-2, .final_lr = 0, .max_epochs = STEPS, .gamma = 0.9};
}

static int make_configs(config *c) {
    static const double k05[STEPS] = {0.05, 0.05, 0.05, 0.05, 0.05};
    static const double k1e2[STEPS] = {1e-2, 1e-2, 1e-2, 1e-2, 1e-2};
    static const double damp[STEPS] = {0.1, 0.1, 0.05, 0.05, 0.02};
    static const double adamw[STEPS] = {1e-2, 1e-2, 5e-3, 5e-3, 2e-3};
    int n = 0;
    c[n++] = make("sgd_plain", IE_OPTIM_SGD, k05);
    c[n] = make("sgd_nesterov", IE_OPTIM_SGD, k05);
    c[n].opts.momentum = 0.9, c[n].opts.nesterov = true, c[n++].opts.weight_decay = 1e-2;
    c[n] = make("sgd_dampening", IE_OPTIM_SGD, damp);
    c[n].opts.momentum = 0.8, c[n].opts.dampening = 0.3, c[n++].opts.weight_decay = 1e-3;
    c[n] = make("adam", IE_OPTIM_ADAM, k1e2);
    c[n].opts.beta1 = 0.9, c[n].opts.beta2 = 0.999, c[n].opts.eps = 1e-8, c[n++].opts.weight_decay = 1e-3;
    c[n] = make("adamw", IE_OPTIM_ADAMW, adamw);
    c[n].opts.beta1 = 0.9, c[n].opts.beta2 = 0.99, c[n].opts.eps = 1e-8, c[n++].opts.weight_decay = 0.1;
    c[n] = make("adam_amsgrad", IE_OPTIM_ADAM, k1e2);
    c[n].opts.beta1 = 0.8, c[n].opts.beta2 = 0.9, c[n].opts.eps = 1e-6, c[n++].opts.amsgrad = true;
    c[n] = make("adamw_amsgrad", IE_OPTIM_ADAMW, k1e2);
    c[n].opts.beta1 = 0.8, c[n].opts.beta2 = 0.9, c[n].opts.eps = 1e-6, c[n].opts.weight_decay = 0.05;
    c[n++].opts.amsgrad = true;
    c[n++] = make("rmsprop", IE_OPTIM_RMSPROP, k1e2);
    c[n] = make("rmsprop_centered", IE_OPTIM_RMSPROP, k1e2);
    c[n].opts.alpha = 0.9, c[n].opts.eps = 1e-6, c[n].opts.momentum = 0.5, c[n].opts.centered = true;
    c[n++].opts.weight_decay = 1e-3;
    /* nnU-Net's recipe: the learning rates come from our polynomial schedule
     * (exponent 0.9 to 0 over STEPS epochs); test_nnunet_poly_lrs checks them
     * against the LambdaLR that drove torch. */
    const ie_lr_schedule poly = nnunet_poly();
    double lrs[STEPS];
    for (int e = 0; e < STEPS; e++) lrs[e] = ie_lr_schedule_at(&poly, e);
    c[n] = make("sgd_nesterov_poly", IE_OPTIM_SGD, lrs);
    c[n].opts.momentum = 0.99, c[n].opts.nesterov = true, c[n++].opts.weight_decay = 3e-5;
    return n;
}

/* The learning rates the nnU-Net case used: ours against torch's LambdaLR
 * with nnU-Net's lambda (1 - e / E)^0.9, both in double; they may differ in
 * the order of a multiplication, a few ulps (rtol 1e-14). */
static void test_nnunet_poly_lrs(ie_params *fx) {
    const ie_lr_schedule poly = nnunet_poly();
    CHECK_OK(ie_lr_schedule_validate(&poly));
    const ie_tensor *bits = fixture_get(fx, "sgd_nesterov_poly.lrs");
    CHECK(ie_tensor_numel(bits) == STEPS, "poly learning rates: %d in the fixture", STEPS);
    for (int e = 0; e < STEPS && e < ie_tensor_numel(bits); e++) {
        double torch_lr;
        memcpy(&torch_lr, (const int64_t *)ie_tensor_data((ie_tensor *)bits) + e, sizeof torch_lr);
        double ours = ie_lr_schedule_at(&poly, e);
        CHECK(fabs(ours - torch_lr) <= 1e-14 * torch_lr, "poly lr at epoch %d: %.17g, torch %.17g", e, ours,
              torch_lr);
    }
}

/* Fresh parameters with the fixture's initial values. */
static ie_params *make_params(ie_params *fx) {
    ie_params *p = NULL;
    CHECK_OK(ie_params_new(&p));
    char key[64];
    for (int i = 0; i < N_PARAMS; i++) {
        snprintf(key, sizeof key, "init.%s", PARAM_NAMES[i]);
        ie_tensor *t = fixture_leaf(fx, key, true);
        CHECK_OK(ie_params_add(p, PARAM_NAMES[i], t, IE_PARAM));
        ie_tensor_release(t);
    }
    return p;
}

/* Installs step s's gradients (NULL where the fixture has none). */
static void set_grads(ie_params *fx, ie_params *p, int s) {
    char key[64];
    for (int i = 0; i < N_PARAMS; i++) {
        ie_tensor *t = ie_params_find(p, PARAM_NAMES[i]);
        ie_tensor_zero_grad(t);
        snprintf(key, sizeof key, "grad.%d.%s", s, PARAM_NAMES[i]);
        ie_tensor *g = ie_params_find(fx, key);
        if (g) CHECK_OK(ie_tensor_clone(g, &t->grad));
    }
}

static void run_steps(ie_params *fx, const config *c, ie_optimizer *opt, ie_params *p, int from, int to) {
    for (int s = from; s <= to; s++) {
        CHECK_OK(ie_optimizer_set_lr(opt, c->lrs[s - 1]));
        set_grads(fx, p, s);
        CHECK_OK(ie_optimizer_step(opt));
    }
}

static int64_t values_compared, values_identical;

/* Values of order one after a few float32 ops.  The kernels follow torch's
 * operation order and fusions, so on x86-64 they are in fact bit-identical;
 * the tolerance leaves room for other compilers and libms. */
static void compare(const char *what, const ie_tensor *got, const ie_tensor *want) {
    if (check_close(what, got, want, 1e-6, 1e-7))
        for (int64_t i = 0; i < got->numel; i++, values_compared++)
            values_identical += memcmp(ie_f32(got) + i, ie_f32(want) + i, sizeof(float)) == 0;
}

static void test_against_torch(ie_params *fx, const config *c) {
    ie_params *p = make_params(fx);
    ie_optimizer *opt = NULL;
    CHECK_OK(ie_optimizer_new(&c->opts, p, &opt));
    char key[128], what[160];
    for (int s = 1; s <= STEPS; s++) {
        run_steps(fx, c, opt, p, s, s);
        for (int i = 0; i < N_PARAMS; i++) {
            snprintf(key, sizeof key, "%s.%d.%s", c->name, s, PARAM_NAMES[i]);
            snprintf(what, sizeof what, "%s after step %d", key, s);
            compare(what, ie_params_find(p, PARAM_NAMES[i]), fixture_get(fx, key));
        }
    }
    /* A parameter that never had a gradient is untouched and has no state. */
    ie_tensor *frozen = ie_params_find(p, "frozen");
    CHECK(memcmp(ie_f32(frozen), ie_f32(fixture_get(fx, "init.frozen")), 4 * sizeof(float)) == 0,
          "%s: frozen parameter changed", c->name);

    /* Exported state: every entry torch keeps, with torch's values. */
    ie_params *state = NULL;
    CHECK_OK(ie_optimizer_state_save(opt, &state));
    snprintf(key, sizeof key, "%s.state.", c->name);
    size_t prefix = strlen(key);
    int torch_entries = 0;
    for (int i = 0; i < ie_params_count(fx); i++) {
        const char *name = ie_params_name(fx, i);
        if (strncmp(name, key, prefix) != 0) continue;
        torch_entries++;
        ie_tensor *mine = ie_params_find(state, name + prefix), *want = ie_params_tensor(fx, i);
        CHECK(mine != NULL, "%s: state has no '%s'", c->name, name + prefix);
        if (!mine) continue;
        if (want->dtype == IE_I64)
            CHECK(mine->dtype == IE_I64 && *(int64_t *)ie_tensor_data(mine) == *(int64_t *)ie_tensor_data(want),
                  "%s: '%s' differs from torch", c->name, name);
        else
            compare(name, mine, want);
    }
    /* Ours adds "<p>.step" where torch keeps no step (SGD) and "optimizer.steps". */
    int extra = c->opts.kind == IE_OPTIM_SGD ? 4 : 0;
    CHECK(ie_params_count(state) == torch_entries + extra + 1, "%s: %d state entries, torch has %d (+%d)",
          c->name, ie_params_count(state), torch_entries, extra + 1);
    CHECK(ie_params_find(state, "frozen.step") == NULL, "%s: frozen parameter has state", c->name);
    CHECK(*(int64_t *)ie_tensor_data(ie_params_find(state, "late.step")) == 3, "%s: late.step should be 3",
          c->name);
    CHECK(ie_optimizer_steps(opt) == STEPS, "%s: %lld steps counted", c->name, (long long)ie_optimizer_steps(opt));
    ie_params_free(state);
    ie_optimizer_free(opt);
    ie_params_free(p);
}

static bool same_bytes(const ie_tensor *a, const ie_tensor *b) {
    return a->numel == b->numel && memcmp(ie_f32(a), ie_f32(b), (size_t)a->numel * sizeof(float)) == 0;
}

/* Steps 1-3, state through a safetensors file into a new optimiser over new
 * parameter tensors, steps 4-5: the same bytes as five uninterrupted steps. */
static void test_resume(ie_params *fx, const config *c) {
    ie_params *whole = make_params(fx), *first = make_params(fx);
    ie_optimizer *a = NULL, *b = NULL;
    CHECK_OK(ie_optimizer_new(&c->opts, whole, &a));
    run_steps(fx, c, a, whole, 1, STEPS);

    CHECK_OK(ie_optimizer_new(&c->opts, first, &b));
    run_steps(fx, c, b, first, 1, 3);
    ie_params *state = NULL, *loaded = NULL;
    CHECK_OK(ie_optimizer_state_save(b, &state));
    char path[256];
    snprintf(path, sizeof path, "/tmp/ie_test_optim_%d_%s.safetensors", (int)getpid(), c->name);
    CHECK_OK(ie_safetensors_write(path, state));
    CHECK_OK(ie_safetensors_read(path, &loaded));
    remove(path);

    ie_params *second = make_params(fx);
    for (int i = 0; i < N_PARAMS; i++)
        CHECK_OK(ie_tensor_copy_data(ie_params_find(second, PARAM_NAMES[i]), ie_params_find(first, PARAM_NAMES[i])));
    ie_optimizer *resumed = NULL;
    CHECK_OK(ie_optimizer_new(&c->opts, second, &resumed));
    CHECK_OK(ie_optimizer_state_load(resumed, loaded));
    CHECK(ie_optimizer_steps(resumed) == 3, "%s: resumed step count %lld", c->name,
          (long long)ie_optimizer_steps(resumed));
    run_steps(fx, c, resumed, second, 4, STEPS);
    for (int i = 0; i < N_PARAMS; i++)
        CHECK(same_bytes(ie_params_find(second, PARAM_NAMES[i]), ie_params_find(whole, PARAM_NAMES[i])),
              "%s: resumed '%s' differs from the uninterrupted run", c->name, PARAM_NAMES[i]);
    ie_params *sa = NULL, *sr = NULL;
    CHECK_OK(ie_optimizer_state_save(a, &sa));
    CHECK_OK(ie_optimizer_state_save(resumed, &sr));
    CHECK(ie_params_count(sa) == ie_params_count(sr), "%s: state sizes differ after resume", c->name);
    for (int i = 0; i < ie_params_count(sa); i++) {
        ie_tensor *x = ie_params_tensor(sa, i), *y = ie_params_find(sr, ie_params_name(sa, i));
        CHECK(y && x->dtype == y->dtype && x->numel == y->numel &&
                  memcmp(ie_tensor_data(x), ie_tensor_data(y), (size_t)x->numel * ie_dtype_size(x->dtype)) == 0,
              "%s: state '%s' differs after resume", c->name, ie_params_name(sa, i));
    }
    ie_params_free(sa);
    ie_params_free(sr);
    ie_params_free(state);
    ie_params_free(loaded);
    ie_optimizer_free(a);
    ie_optimizer_free(b);
    ie_optimizer_free(resumed);
    ie_params_free(whole);
    ie_params_free(first);
    ie_params_free(second);
}

/* A parameter spanning many chunks updates identically on 1 and 3 threads. */
static void test_thread_independence(const config *c) {
    const int64_t shape[2] = {97, 1031};
    ie_tensor *result[2] = {NULL, NULL};
    for (int run = 0; run < 2; run++) {
        ie_threads_set(run == 0 ? 1 : 3);
        ie_params *p = NULL;
        CHECK_OK(ie_params_new(&p));
        ie_tensor *w = test_random(2, shape, 7, -1, 1, true);
        CHECK_OK(ie_params_add(p, "w", w, IE_PARAM));
        ie_optimizer *opt = NULL;
        CHECK_OK(ie_optimizer_new(&c->opts, p, &opt));
        for (int s = 0; s < 3; s++) {
            ie_tensor_zero_grad(w);
            w->grad = test_random(2, shape, 100 + (uint32_t)s, -1, 1, false);
            CHECK_OK(ie_optimizer_step(opt));
        }
        result[run] = ie_tensor_retain(w);
        ie_tensor_release(w);
        ie_optimizer_free(opt);
        ie_params_free(p);
    }
    CHECK(same_bytes(result[0], result[1]), "%s: 1 and 3 threads give different parameters", c->name);
    ie_tensor_release(result[0]);
    ie_tensor_release(result[1]);
    ie_threads_set(0);
}

static void test_options(void) {
    ie_optimizer_opts o = ie_optimizer_defaults(IE_OPTIM_ADAMW);
    CHECK(o.lr == 1e-3 && o.weight_decay == 1e-2 && o.beta1 == 0.9 && o.beta2 == 0.999 && o.eps == 1e-8,
          "AdamW defaults differ from torch");
    o = ie_optimizer_defaults(IE_OPTIM_RMSPROP);
    CHECK(o.lr == 1e-2 && o.alpha == 0.99 && o.eps == 1e-8 && o.momentum == 0 && !o.centered,
          "RMSprop defaults differ from torch");
    CHECK_OK(ie_optimizer_opts_validate(&o));
    o.alpha = -0.1;
    CHECK_FAILS(ie_optimizer_opts_validate(&o), IE_ERR_CONFIG, "alpha must be a finite number >= 0, got -0.1");
    o = ie_optimizer_defaults(IE_OPTIM_ADAM);
    o.beta2 = 1.0;
    CHECK_FAILS(ie_optimizer_opts_validate(&o), IE_ERR_CONFIG, "adam: beta2 must be in [0, 1), got 1");
    o = ie_optimizer_defaults(IE_OPTIM_ADAM);
    o.lr = NAN;
    CHECK_FAILS(ie_optimizer_opts_validate(&o), IE_ERR_CONFIG, "lr must be a finite number >= 0, got nan");
    o = ie_optimizer_defaults(IE_OPTIM_SGD);
    o.lr = -1;
    CHECK_FAILS(ie_optimizer_opts_validate(&o), IE_ERR_CONFIG, "sgd: lr must be a finite number >= 0, got -1");
    o = ie_optimizer_defaults(IE_OPTIM_SGD);
    o.nesterov = true;
    CHECK_FAILS(ie_optimizer_opts_validate(&o), IE_ERR_CONFIG, "Nesterov momentum needs momentum > 0");
    o.momentum = 0.9, o.dampening = 0.1;
    CHECK_FAILS(ie_optimizer_opts_validate(&o), IE_ERR_CONFIG, "dampening 0, got momentum 0.9 and dampening 0.1");
    o.kind = (ie_optimizer_kind)9;
    CHECK_FAILS(ie_optimizer_opts_validate(&o), IE_ERR_CONFIG, "unknown kind 9");
    ie_optimizer_kind k;
    CHECK_OK(ie_optimizer_kind_parse("AdamW", &k));
    CHECK(k == IE_OPTIM_ADAMW, "AdamW parses to %d", (int)k);
    CHECK_FAILS(ie_optimizer_kind_parse("adagrad", &k), IE_ERR_CONFIG, "unknown optimiser 'adagrad'");
}

static void test_misuse(ie_params *fx) {
    ie_params *p = make_params(fx), *empty = NULL;
    ie_optimizer *opt = NULL;
    ie_optimizer_opts sgd = ie_optimizer_defaults(IE_OPTIM_SGD), adam = ie_optimizer_defaults(IE_OPTIM_ADAM);
    sgd.momentum = 0.9;

    /* Construction. */
    CHECK_OK(ie_params_new(&empty));
    ie_tensor *buffer = fixture_leaf(fx, "init.b", false);
    CHECK_OK(ie_params_add(empty, "running_mean", buffer, IE_BUFFER));
    CHECK_FAILS(ie_optimizer_new(&adam, empty, &opt), IE_ERR_INVALID_ARG, "no trainable parameters");
    CHECK(opt == NULL, "a failed constructor must leave *out NULL");
    CHECK_FAILS(ie_optimizer_new(&adam, NULL, &opt), IE_ERR_INVALID_ARG, "params is NULL");
    const int64_t three[1] = {3};
    ie_tensor *labels = NULL;
    CHECK_OK(ie_tensor_zeros(IE_I64, 1, three, IE_CPU, &labels));
    CHECK_OK(ie_params_add(empty, "labels", labels, IE_PARAM));
    CHECK_FAILS(ie_optimizer_new(&adam, empty, &opt), IE_ERR_DTYPE, "parameter 'labels' is [3] i64");

    /* A buffer in the list is not trained. */
    CHECK_OK(ie_params_add(p, "buf", buffer, IE_BUFFER));
    CHECK_OK(ie_optimizer_new(&sgd, p, &opt));
    CHECK(ie_optimizer_param_count(opt) == N_PARAMS, "buffers must not be trained (%d params)",
          ie_optimizer_param_count(opt));
    CHECK(ie_optimizer_get_lr(opt) == 0.01, "lr %g", ie_optimizer_get_lr(opt));
    CHECK_FAILS(ie_optimizer_set_lr(opt, -0.5), IE_ERR_INVALID_ARG, "lr must be a finite number >= 0, got -0.5");
    CHECK_OK(ie_optimizer_set_lr(opt, 0.25));
    CHECK(ie_optimizer_get_lr(opt) == 0.25, "set_lr did not stick");

    /* A wrong gradient fails the whole step before anything moves. */
    set_grads(fx, p, 1);
    ie_tensor *b = ie_params_find(p, "b"), *k = ie_params_find(p, "k"), *w = ie_params_find(p, "w");
    ie_tensor *w_before = NULL;
    CHECK_OK(ie_tensor_clone(w, &w_before));
    ie_tensor_zero_grad(k);
    k->grad = fixture_leaf(fx, "init.b", false);
    CHECK_FAILS(ie_optimizer_step(opt), IE_ERR_SHAPE, "the gradient of 'k' is [3] f32 but the parameter is [2, 2, 3, 3] f32");
    CHECK(same_bytes(w, w_before), "a failed step changed 'w'");
    CHECK(ie_optimizer_steps(opt) == 0, "a failed step was counted");
    ie_optimizer_zero_grad(opt);
    CHECK(ie_tensor_grad(w) == NULL && ie_tensor_grad(b) == NULL && ie_tensor_grad(k) == NULL,
          "zero_grad must drop the gradients");
    CHECK_OK(ie_optimizer_step(opt)); /* no gradients: nothing moves */
    CHECK(same_bytes(w, w_before), "a step without gradients changed 'w'");

    /* State from another optimiser, a missing or mis-shaped buffer. */
    set_grads(fx, p, 1);
    CHECK_OK(ie_optimizer_step(opt));
    ie_params *state = NULL;
    CHECK_OK(ie_optimizer_state_save(opt, &state));
    ie_optimizer *other = NULL;
    CHECK_OK(ie_optimizer_new(&adam, p, &other));
    CHECK_FAILS(ie_optimizer_state_load(other, state), IE_ERR_INVALID_ARG,
                "entry 'w.momentum_buffer' does not belong to this adam optimiser");
    ie_optimizer_free(other);
    ie_optimizer_opts plain = ie_optimizer_defaults(IE_OPTIM_SGD);
    CHECK_OK(ie_optimizer_new(&plain, p, &other));
    CHECK_FAILS(ie_optimizer_state_load(other, state), IE_ERR_INVALID_ARG, "does not belong to this sgd");
    ie_optimizer_free(other);

    ie_params *bad = NULL;
    CHECK_OK(ie_params_new(&bad));
    ie_tensor *one = NULL;
    int64_t v = 2;
    CHECK_OK(ie_tensor_from_data(IE_I64, 0, NULL, &v, &one));
    CHECK_OK(ie_params_add(bad, "w.step", one, IE_BUFFER));
    CHECK_FAILS(ie_optimizer_state_load(opt, bad), IE_ERR_INVALID_ARG, "'w.momentum_buffer' is missing");
    ie_tensor *wrong = fixture_leaf(fx, "init.b", false);
    CHECK_OK(ie_params_add(bad, "w.momentum_buffer", wrong, IE_BUFFER));
    CHECK_FAILS(ie_optimizer_state_load(opt, bad), IE_ERR_SHAPE,
                "'w.momentum_buffer' is [3] f32 but the parameter is [5, 7] f32");
    ie_params_free(bad);
    CHECK_OK(ie_params_new(&bad));
    CHECK_OK(ie_params_add(bad, "b.momentum_buffer", wrong, IE_BUFFER));
    CHECK_FAILS(ie_optimizer_state_load(opt, bad), IE_ERR_INVALID_ARG, "'b.step' is missing");
    ie_params_free(bad);
    CHECK_OK(ie_params_new(&bad));
    v = -1;
    ie_tensor_release(one);
    CHECK_OK(ie_tensor_from_data(IE_I64, 0, NULL, &v, &one));
    CHECK_OK(ie_params_add(bad, "b.step", one, IE_BUFFER));
    CHECK_OK(ie_params_add(bad, "b.momentum_buffer", wrong, IE_BUFFER));
    CHECK_FAILS(ie_optimizer_state_load(opt, bad), IE_ERR_INVALID_ARG, "'b.step' is -1, must be >= 1");
    /* The failed loads left the state alone. */
    ie_params *after = NULL;
    CHECK_OK(ie_optimizer_state_save(opt, &after));
    CHECK(ie_params_count(after) == ie_params_count(state), "failed loads changed the state");
    for (int i = 0; i < ie_params_count(after) && i < ie_params_count(state); i++) {
        ie_tensor *x = ie_params_tensor(after, i), *y = ie_params_find(state, ie_params_name(after, i));
        CHECK(y && memcmp(ie_tensor_data(x), ie_tensor_data(y), (size_t)x->numel * ie_dtype_size(x->dtype)) == 0,
              "failed loads changed '%s'", ie_params_name(after, i));
    }

    ie_tensor *handles[] = {buffer, labels, w_before, one, wrong};
    for (size_t i = 0; i < sizeof handles / sizeof handles[0]; i++) ie_tensor_release(handles[i]);
    ie_params_free(after);
    ie_params_free(bad);
    ie_params_free(state);
    ie_optimizer_free(opt);
    ie_params_free(p);
    ie_params_free(empty);
}

int main(void) {
    ie_params *fx = fixture_load("optim.safetensors");
    config configs[16];
    int n = make_configs(configs);
    for (int i = 0; i < n; i++) {
        test_against_torch(fx, &configs[i]);
        test_resume(fx, &configs[i]);
        test_thread_independence(&configs[i]);
    }
    printf("%lld of %lld values bit-identical to torch\n", (long long)values_identical,
           (long long)values_compared);
    test_nnunet_poly_lrs(fx);
    test_options();
    test_misuse(fx);
    ie_params_free(fx);
    return test_summary();
}
