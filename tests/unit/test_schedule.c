/* Learning-rate schedules: lr per epoch against torch.optim.lr_scheduler driven
 * as InnerEye-DeepLearning drives it (warm-up, then the scheduler), the
 * behaviour past the end, and parameter validation. */
#include <stdint.h>

#include "innereye/optim.h"
#include "test_util.h"

#define EPOCHS 24

/* Mirrors SCHEDULES in tests/reference/gen_optim.py. */
typedef struct named_schedule {
    const char *name;
    ie_lr_schedule s;
} named_schedule;

static const named_schedule SCHEDULES[] = {
    {"constant", {.kind = IE_LR_CONSTANT, .base_lr = 1e-3, .max_epochs = EPOCHS}},
    {"polynomial", {.kind = IE_LR_POLYNOMIAL, .base_lr = 1e-3, .final_lr = 1e-5, .max_epochs = EPOCHS, .gamma = 0.9}},
    {"polynomial_warmup",
     {.kind = IE_LR_POLYNOMIAL, .base_lr = 2e-3, .final_lr = 1e-4, .max_epochs = EPOCHS, .gamma = 2.0,
      .warmup_epochs = 3}},
    {"cosine", {.kind = IE_LR_COSINE, .base_lr = 1e-3, .final_lr = 1e-6, .max_epochs = EPOCHS}},
    {"cosine_warmup", {.kind = IE_LR_COSINE, .base_lr = 1e-2, .final_lr = 0.0, .max_epochs = EPOCHS, .warmup_epochs = 5}},
    {"step", {.kind = IE_LR_STEP, .base_lr = 1e-3, .max_epochs = EPOCHS, .gamma = 0.5, .step_size = 4}},
    {"step_warmup",
     {.kind = IE_LR_STEP, .base_lr = 1e-3, .max_epochs = EPOCHS, .gamma = 0.1, .step_size = 7, .warmup_epochs = 2}},
    {"multistep",
     {.kind = IE_LR_MULTISTEP, .base_lr = 1e-3, .max_epochs = EPOCHS, .gamma = 0.3, .n_milestones = 4,
      .milestones = {3, 8, 9, 20}}},
    {"multistep_warmup",
     {.kind = IE_LR_MULTISTEP, .base_lr = 1e-3, .max_epochs = EPOCHS, .gamma = 0.5, .n_milestones = 2,
      .milestones = {5, 10}, .warmup_epochs = 4}},
    {"exponential", {.kind = IE_LR_EXPONENTIAL, .base_lr = 1e-3, .max_epochs = EPOCHS, .gamma = 0.9}},
    {"exponential_warmup",
     {.kind = IE_LR_EXPONENTIAL, .base_lr = 3e-3, .max_epochs = EPOCHS, .gamma = 0.95, .warmup_epochs = 1}},
};
#define N_SCHEDULES ((int)(sizeof SCHEDULES / sizeof SCHEDULES[0]))

/* torch steps the recursive forms (lr *= gamma, cosine's recurrence); our
 * closed forms agree to a few ulps of a double. */
static void test_against_torch(ie_params *fx) {
    for (int i = 0; i < N_SCHEDULES; i++) {
        const named_schedule *ns = &SCHEDULES[i];
        CHECK_OK(ie_lr_schedule_validate(&ns->s));
        ie_tensor *want = fixture_get(fx, ns->name);
        CHECK(want->dtype == IE_I64 && want->numel == EPOCHS, "%s: fixture shape", ns->name);
        const int64_t *bits = ie_tensor_data(want);
        double worst = 0;
        int at = 0;
        for (int e = 0; e < EPOCHS; e++) {
            double torch_lr;
            memcpy(&torch_lr, &bits[e], sizeof torch_lr);
            double got = ie_lr_schedule_at(&ns->s, e);
            double rel = fabs(got - torch_lr) / fabs(torch_lr);
            if (!(rel <= worst)) worst = rel, at = e;
        }
        double torch_lr;
        memcpy(&torch_lr, &bits[at], sizeof torch_lr);
        CHECK(worst <= 1e-12, "%s: epoch %d lr %.17g, torch %.17g (relative error %.3g)", ns->name, at,
              ie_lr_schedule_at(&ns->s, at), torch_lr, worst);
    }
}

static const ie_lr_schedule *find(const char *name) {
    for (int i = 0; i < N_SCHEDULES; i++)
        if (strcmp(SCHEDULES[i].name, name) == 0) return &SCHEDULES[i].s;
    return NULL;
}

/* The documented formulas at a few hand-computed points. */
static void test_formulas(void) {
    const ie_lr_schedule *w = find("cosine_warmup");
    CHECK(ie_lr_schedule_at(w, 0) == 1e-2 * (1.0 / 6.0), "warm-up epoch 0: %.17g", ie_lr_schedule_at(w, 0));
    CHECK(ie_lr_schedule_at(w, 4) == 1e-2 * (5.0 / 6.0), "warm-up epoch 4: %.17g", ie_lr_schedule_at(w, 4));
    CHECK(ie_lr_schedule_at(w, 5) == 1e-2, "the schedule starts at base_lr after warm-up: %.17g",
          ie_lr_schedule_at(w, 5));
    /* Halfway through the 19 post-warm-up epochs cosine is at the midpoint. */
    ie_lr_schedule c = *w;
    c.max_epochs = 25;
    CHECK(fabs(ie_lr_schedule_at(&c, 15) - 5e-3) < 1e-15, "cosine midpoint %.17g", ie_lr_schedule_at(&c, 15));
    const ie_lr_schedule *m = find("multistep");
    CHECK(ie_lr_schedule_at(m, 2) == 1e-3 && ie_lr_schedule_at(m, 3) == 1e-3 * 0.3, "multistep at milestone 3");
    CHECK(fabs(ie_lr_schedule_at(m, 9) - 1e-3 * 0.3 * 0.3 * 0.3) < 1e-18, "multistep after 3 milestones");
    const ie_lr_schedule *s = find("step");
    CHECK(ie_lr_schedule_at(s, 7) == 5e-4 && ie_lr_schedule_at(s, 8) == 2.5e-4, "step decays every 4 epochs");

    /* Past the end polynomial and cosine stay at final_lr; below 0 is epoch 0. */
    const ie_lr_schedule *p = find("polynomial");
    for (int e = EPOCHS; e < EPOCHS + 3; e++) {
        CHECK(fabs(ie_lr_schedule_at(p, e) - 1e-5) < 1e-18, "polynomial epoch %d: %.17g", e, ie_lr_schedule_at(p, e));
        CHECK(ie_lr_schedule_at(find("cosine"), e) == 1e-6, "cosine epoch %d", e);
    }
    CHECK(ie_lr_schedule_at(p, -3) == ie_lr_schedule_at(p, 0), "negative epochs count as 0");
    /* A pure function: asking out of order changes nothing (resume = lr(e)). */
    double later = ie_lr_schedule_at(s, 17), earlier = ie_lr_schedule_at(s, 3);
    CHECK(ie_lr_schedule_at(s, 17) == later && ie_lr_schedule_at(s, 3) == earlier, "not a pure function");

    ie_lr_kind k;
    CHECK_OK(ie_lr_kind_parse("Cosine", &k));
    CHECK(k == IE_LR_COSINE && strcmp(ie_lr_kind_name(k), "cosine") == 0, "cosine round trip");
    CHECK_FAILS(ie_lr_kind_parse("cyclic", &k), IE_ERR_CONFIG, "unknown schedule 'cyclic'");
}

static void test_validation(void) {
    ie_lr_schedule s = *find("step");
    s.gamma = -0.5;
    CHECK_FAILS(ie_lr_schedule_validate(&s), IE_ERR_CONFIG, "step: gamma (the factor per step) must be a finite number > 0, got -0.5");
    s = *find("step");
    s.step_size = 0;
    CHECK_FAILS(ie_lr_schedule_validate(&s), IE_ERR_CONFIG, "step_size must be >= 1 epoch, got 0");
    s = *find("multistep");
    s.milestones[2] = 8;
    CHECK_FAILS(ie_lr_schedule_validate(&s), IE_ERR_CONFIG, "strictly increasing, but milestone 2 is 8 after 8");
    s.n_milestones = 0;
    CHECK_FAILS(ie_lr_schedule_validate(&s), IE_ERR_CONFIG, "needs 1 to 32 milestones, got 0");
    s = *find("multistep");
    s.milestones[0] = -1;
    CHECK_FAILS(ie_lr_schedule_validate(&s), IE_ERR_CONFIG, "milestones must be >= 0, got -1");
    s = *find("polynomial");
    s.final_lr = 2e-3;
    CHECK_FAILS(ie_lr_schedule_validate(&s), IE_ERR_CONFIG, "final_lr must be in [0, base_lr = 0.001], got 0.002");
    s = *find("polynomial");
    s.gamma = 0;
    CHECK_FAILS(ie_lr_schedule_validate(&s), IE_ERR_CONFIG, "polynomial: gamma (the power) must be");
    s = *find("cosine_warmup");
    s.max_epochs = 5;
    CHECK_FAILS(ie_lr_schedule_validate(&s), IE_ERR_CONFIG, "max_epochs (5) must be larger than warmup_epochs (5)");
    s = *find("exponential");
    s.base_lr = 0;
    CHECK_FAILS(ie_lr_schedule_validate(&s), IE_ERR_CONFIG, "exponential: base_lr must be a finite number > 0, got 0");
    s = *find("exponential");
    s.warmup_epochs = -2;
    CHECK_FAILS(ie_lr_schedule_validate(&s), IE_ERR_CONFIG, "warmup_epochs must be >= 0, got -2");
    s.kind = (ie_lr_kind)42;
    CHECK_FAILS(ie_lr_schedule_validate(&s), IE_ERR_CONFIG, "unknown kind 42");
    CHECK_FAILS(ie_lr_schedule_validate(NULL), IE_ERR_INVALID_ARG, "schedule is NULL");
}

int main(void) {
    ie_params *fx = fixture_load("schedule.safetensors");
    test_against_torch(fx);
    test_formulas();
    test_validation();
    ie_params_free(fx);
    return test_summary();
}
