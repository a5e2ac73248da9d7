/* core/experiment - post-processing chosen by cross-validation (nnU-Net's
 * determine_postprocessing, our rule):
 *
 * After the folds ran, every fold's validation predictions (each fold
 * infers its own validation part, cv.choose_postprocessing) are scored
 * against their truth as they are ("none") and after each of two removals,
 * for every foreground class c on its own:
 *   largest  only the largest connected component of c is kept;
 *   small    components of c smaller than half of the smallest volume c has
 *            in the truth of any validation subject are removed (a piece
 *            that small cannot be the whole structure; a real structure cut
 *            into large pieces keeps them).
 * The score of an option is the mean Dice of c over every validation
 * subject of every fold, a subject where c is in neither map counting 1 (so
 * removing a spurious blob from a subject without c counts as the
 * improvement it is, and every option is averaged over the same subjects).
 * An option is kept only when its score is strictly higher than "none"'s;
 * between two options that both improve, the higher wins, a tie going to
 * "largest".  Removing voxels of c changes no other class's Dice, so each
 * class is decided alone.  The sums run in a fixed order (fold, then
 * subject): the decision is the same on every machine.
 *
 * Written: <cv>/postprocessing.csv (the decision table: per class the Dice
 * of each option, the threshold and the choice) and <cv>/ensemble/
 * postprocess.json (the config keys of the choice, which `innereye infer`
 * adds to the ensemble's config), before the ensemble predicts the test
 * set. */
#ifndef IE_CORE_EXPERIMENT_CV_POSTPROCESS_H
#define IE_CORE_EXPERIMENT_CV_POSTPROCESS_H

#include <stdbool.h>
#include <stdio.h>

#include "innereye/status.h"
#include "innereye/tensor.h"

typedef enum ie_pp_choice { IE_PP_NONE = 0, IE_PP_LARGEST, IE_PP_SMALL } ie_pp_choice;

const char *ie_pp_choice_name(ie_pp_choice choice); /* "none", "largest_component", "small_components" */

/* One validation subject: its prediction ([D, H, W] u8, as written), its
 * truth (any integer dtype, the same number of voxels) and the volume of
 * one voxel in mm^3. */
typedef struct ie_pp_subject {
    const ie_tensor *prediction, *truth;
    double voxel_mm3;
} ie_pp_subject;

/* The decision for one foreground class. */
typedef struct ie_pp_decision {
    double dice_none, dice_largest, dice_small; /* mean Dice of each option (NaN: no subjects) */
    double threshold_mm3;                       /* the small option's (0 when c is in no truth) */
    int subjects;
    ie_pp_choice choice;
} ie_pp_decision;

#define IE_PP_MAX_CLASSES 255 /* as post-processing (IE_POSTPROCESS_MAX_CLASSES) */

/* The decision made one subject at a time, so that no more than one
 * subject's volumes are held (a CT dataset's validation parts would not fit
 * in memory together): every truth first (the thresholds), then every
 * subject (the Dice sums), in the same order each time. */
typedef struct ie_pp_state {
    int n_classes, connectivity, subjects;
    double smallest_mm3[IE_PP_MAX_CLASSES]; /* smallest volume of each class in any truth */
    double sum[IE_PP_MAX_CLASSES][3];       /* Dice sums: none, largest, small */
    bool scoring;                           /* the second pass has begun */
} ie_pp_state;

/* connectivity: 6 or 26 (postprocess.connectivity). */
ie_status ie_pp_begin(ie_pp_state *state, int n_classes, int connectivity);
/* Pass 1, every subject's truth (any integer dtype). */
ie_status ie_pp_add_truth(ie_pp_state *state, const ie_tensor *truth, double voxel_mm3);
/* Pass 2, every subject; none may be added to pass 1 after this. */
ie_status ie_pp_add_subject(ie_pp_state *state, const ie_pp_subject *subject);
/* decisions[c] for classes 1 .. n_classes - 1 (decisions[0] is left alone). */
void ie_pp_end(const ie_pp_state *state, ie_pp_decision *decisions);

/* All of the above over subjects held in memory. */
ie_status ie_pp_decide(const ie_pp_subject *subjects, int n_subjects, int n_classes, int connectivity,
                       ie_pp_decision *decisions);

/* The cross-validation in <parent> with `folds` folds: reads each finished
 * fold's val_predictions/ and truth, decides, writes postprocessing.csv
 * and <ens>/postprocess.json, and prints the table to `out`.  A fold
 * without validation predictions is an error naming it and saying how to
 * get them. */
ie_status ie_cv_choose_postprocessing(const char *parent, int folds, const char *ens, FILE *out);

#endif
