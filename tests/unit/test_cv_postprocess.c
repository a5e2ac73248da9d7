/* tests - the post-processing a cross-validation chooses
 * (core/experiment/cv_postprocess.h) on constructed predictions whose answer
 * is known by hand: one row of a [1, 4, 16] volume per class.
 *   class 1: a spurious one-voxel blob beside the structure (subject A) and
 *            one in a subject without the structure (B): both removals fix A,
 *            only small-component removal fixes B (the largest component of
 *            a lone blob is the blob) -> small_components;
 *   class 2: the structure predicted in two pieces (6 and 3 voxels): both
 *            removals cut a real piece and lower Dice -> none;
 *   class 3: a structure of two real components (6 and 6) plus a blob:
 *            keeping the largest loses a real half, small removal only the
 *            blob -> small_components;
 *   class 4: a blob both removals fix equally -> the tie goes to
 *            largest_component.
 * Every Dice value below is worked out by hand in the comments. */
#include <math.h>
#include <string.h>

#include "core/experiment/cv_postprocess.h"
#include "test_util.h"

#define H 4
#define W 16

/* Sets row (class c) of map m at columns [from, to]. */
static void fill(uint8_t *m, int c, int from, int to) {
    for (int x = from; x <= to; x++) m[(c - 1) * W + x] = (uint8_t)c;
}

static ie_tensor *volume(const uint8_t *m) {
    int64_t shape[3] = {1, H, W};
    ie_tensor *t = NULL;
    CHECK_OK(ie_tensor_empty(IE_U8, 3, shape, IE_CPU, &t));
    memcpy(ie_tensor_data(t), m, H * W);
    return t;
}

static bool near(double got, double want) { return fabs(got - want) <= 1e-12; }

int main(void) {
    uint8_t truth_a[H * W] = {0}, pred_a[H * W] = {0}, truth_b[H * W] = {0}, pred_b[H * W] = {0};
    fill(truth_a, 1, 0, 7), fill(pred_a, 1, 0, 7), fill(pred_a, 1, 12, 12);
    fill(truth_a, 2, 0, 9), fill(pred_a, 2, 0, 5), fill(pred_a, 2, 7, 9);
    fill(truth_a, 3, 0, 5), fill(truth_a, 3, 8, 13), fill(pred_a, 3, 0, 5), fill(pred_a, 3, 8, 13),
        fill(pred_a, 3, 15, 15);
    fill(truth_a, 4, 0, 3), fill(pred_a, 4, 0, 3), fill(pred_a, 4, 10, 10);
    fill(pred_b, 1, 12, 12); /* B: no structure at all, one blob of class 1 */
    const double voxel_mm3 = 1.5;
    ie_pp_subject s[2] = {{volume(pred_a), volume(truth_a), voxel_mm3}, {volume(pred_b), volume(truth_b), voxel_mm3}};
    ie_pp_decision d[5];
    CHECK_OK(ie_pp_decide(s, 2, 5, 6, d));

    /* class 1, A: none 2*8/(9+8) = 16/17, either removal 1; B: none 0 (blob
     * against nothing), largest 0 (the blob is the largest), small 1 (both
     * empty).  Threshold: half of 8 voxels of 1.5 mm3 = 6 mm3. */
    CHECK(near(d[1].dice_none, (16.0 / 17 + 0) / 2) && near(d[1].dice_largest, 0.5) && near(d[1].dice_small, 1),
          "class 1: none %.17g largest %.17g small %.17g", d[1].dice_none, d[1].dice_largest, d[1].dice_small);
    CHECK(near(d[1].threshold_mm3, 6), "class 1: threshold %g mm3, want 6", d[1].threshold_mm3);
    CHECK(d[1].choice == IE_PP_SMALL, "class 1: chose %s, want small_components", ie_pp_choice_name(d[1].choice));
    /* class 2, A: none 2*9/(9+10) = 18/19; largest keeps 6: 12/16; small
     * (threshold half of 10 voxels = 7.5 mm3, the 3-voxel piece is 4.5 mm3)
     * also leaves 6: 12/16.  B: both empty, 1 for all. */
    CHECK(near(d[2].dice_none, (18.0 / 19 + 1) / 2) && near(d[2].dice_largest, (12.0 / 16 + 1) / 2) &&
              near(d[2].dice_small, (12.0 / 16 + 1) / 2),
          "class 2: none %.17g largest %.17g small %.17g", d[2].dice_none, d[2].dice_largest, d[2].dice_small);
    CHECK(d[2].choice == IE_PP_NONE, "class 2: chose %s, want none (removal hurts)", ie_pp_choice_name(d[2].choice));
    /* class 3, A: none 2*12/(13+12) = 24/25; largest keeps one half (the
     * earlier of two equal components): 2*6/(6+12) = 12/18; small
     * (threshold half of 12 voxels = 9 mm3: each half is 9 mm3, kept)
     * removes the blob: 1. */
    CHECK(near(d[3].dice_none, (24.0 / 25 + 1) / 2) && near(d[3].dice_largest, (12.0 / 18 + 1) / 2) &&
              near(d[3].dice_small, 1),
          "class 3: none %.17g largest %.17g small %.17g", d[3].dice_none, d[3].dice_largest, d[3].dice_small);
    CHECK(d[3].choice == IE_PP_SMALL, "class 3: chose %s, want small_components", ie_pp_choice_name(d[3].choice));
    /* class 4, A: none 2*4/(5+4) = 8/9; both removals 1: a tie. */
    CHECK(near(d[4].dice_none, (8.0 / 9 + 1) / 2) && d[4].dice_largest == 1 && d[4].dice_small == 1,
          "class 4: none %.17g largest %.17g small %.17g", d[4].dice_none, d[4].dice_largest, d[4].dice_small);
    CHECK(d[4].choice == IE_PP_LARGEST, "class 4: chose %s, want largest_component (a tie)",
          ie_pp_choice_name(d[4].choice));
    for (int c = 1; c < 5; c++) CHECK(d[c].subjects == 2, "class %d: %d subjects", c, d[c].subjects);

    /* The predictions themselves are left as they were. */
    CHECK(!memcmp(ie_tensor_data(s[0].prediction), pred_a, H * W), "the decision changed a prediction");
    /* Mismatched sizes are refused, naming the subject. */
    int64_t small_shape[3] = {1, 1, 4};
    ie_tensor *tiny = NULL;
    CHECK_OK(ie_tensor_zeros(IE_U8, 3, small_shape, IE_CPU, &tiny));
    ie_pp_subject bad = {s[0].prediction, tiny, 1};
    CHECK_FAILS(ie_pp_decide(&bad, 1, 5, 6, d), IE_ERR_SHAPE, "validation subject 0");
    ie_tensor_release(tiny);
    for (int i = 0; i < 2; i++) {
        ie_tensor_release((ie_tensor *)s[i].prediction);
        ie_tensor_release((ie_tensor *)s[i].truth);
    }
    return test_summary();
}
