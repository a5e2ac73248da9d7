/* tests - the config-selected losses (train.loss): each name computes the
 * engine's loss of that name, and Mixture is the weighted sum of its two
 * parts; bad names and parts are refused naming the key. */
#include "test_util.h"

#include "core/train/default_loss.h"
#include "innereye/loss.h"

static ie_loss_spec spec_from(const char *json) {
    ie_config *cfg = NULL;
    ie_loss_spec spec;
    CHECK_OK(ie_config_new(&cfg));
    CHECK_OK(ie_config_add_text(cfg, json, "test"));
    CHECK_OK(ie_config_resolve(cfg));
    CHECK_OK(ie_loss_spec_from_config(cfg, &spec));
    ie_config_free(cfg);
    return spec;
}

static ie_status spec_error(const char *json) {
    ie_config *cfg = NULL;
    ie_loss_spec spec;
    CHECK_OK(ie_config_new(&cfg));
    CHECK_OK(ie_config_add_text(cfg, json, "test"));
    ie_status st = ie_config_resolve(cfg);
    if (st == IE_OK) st = ie_loss_spec_from_config(cfg, &spec);
    ie_config_free(cfg);
    return st;
}

int main(void) {
    const int64_t ls[5] = {2, 3, 4, 4, 4}, ys[4] = {2, 4, 4, 4};
    ie_tensor *logits = test_random(5, ls, 1, -2, 2, false), *labels = NULL;
    CHECK_OK(ie_tensor_empty(IE_I64, 4, ys, IE_CPU, &labels));
    ie_rng rng = ie_rng_make(2, IE_STREAM_USER, 0, 0);
    for (int64_t i = 0; i < ie_tensor_numel(labels); i++) ((int64_t *)ie_tensor_data(labels))[i] = ie_rng_below(&rng, 3);
    ie_batch batch = {.struct_size = sizeof batch, .count = 2, .labels = labels};
    ie_tensor *ce = NULL, *dice = NULL, *focal = NULL, *got = NULL;
    CHECK_OK(ie_cross_entropy(logits, labels, NULL, 0.0f, &ce));
    CHECK_OK(ie_soft_dice_loss(logits, labels, NULL, &dice));
    CHECK_OK(ie_focal_loss(logits, labels, 2.0f, NULL, &focal));

    ie_loss_spec s = spec_from("{\"train\": {\"loss\": {\"name\": \"CrossEntropy\"}}}");
    CHECK_OK(ie_loss_compute(&s, logits, &batch, &got));
    CHECK(ie_tensor_item(got) == ie_tensor_item(ce), "CrossEntropy is the engine's cross-entropy");
    ie_tensor_release(got);
    ie_loss_spec_clear(&s);

    s = spec_from("{\"train\": {\"loss\": {\"name\": \"Mixture\"}}}");
    CHECK_OK(ie_loss_compute(&s, logits, &batch, &got));
    CHECK(fabsf(ie_tensor_item(got) - (ie_tensor_item(ce) + ie_tensor_item(dice))) < 1e-6f,
          "the default Mixture is cross-entropy + soft Dice: %g vs %g", ie_tensor_item(got),
          ie_tensor_item(ce) + ie_tensor_item(dice));
    ie_tensor_release(got);
    ie_loss_spec_clear(&s);

    s = spec_from("{\"train\": {\"loss\": {\"name\": \"Mixture\", \"mixture\": [\"Focal\", \"SoftDice\"],"
                  " \"mixture_weights\": [0.25, 3]}}}");
    CHECK_OK(ie_loss_compute(&s, logits, &batch, &got));
    float want = 0.25f * ie_tensor_item(focal) + 3.0f * ie_tensor_item(dice);
    CHECK(fabsf(ie_tensor_item(got) - want) < 1e-6f, "0.25 Focal + 3 SoftDice: %g vs %g", ie_tensor_item(got), want);
    ie_tensor_release(got);
    ie_loss_spec_clear(&s);

    CHECK_FAILS(spec_error("{\"train\": {\"loss\": {\"name\": \"Mixture\", \"mixture\": [\"MSE\", \"SoftDice\"]}}}"),
                IE_ERR_CONFIG, "cannot be part of a Mixture");
    CHECK(spec_error("{\"train\": {\"loss\": {\"mixture_weights\": [1]}}}") == IE_ERR_CONFIG,
          "mixture_weights needs two numbers");

    ie_tensor *all[] = {logits, labels, ce, dice, focal};
    for (size_t i = 0; i < 5; i++) ie_tensor_release(all[i]);
    return test_summary();
}
