/* core/data - splitting a dataset's subjects into train / val / test and
 * into cross-validation folds.
 *
 * A split holds, for each part, the dataset indices of its subjects in
 * ascending (dataset) order.  Every random choice is a permutation drawn with
 * the counter-based generator (stream IE_STREAM_SPLIT), so a split is a pure
 * function of (subjects, proportions or K, seed) and never of threads or time.
 *
 * Groups: with a group column (InnerEye's `groupID`, or a patient id for
 * several scans of one patient), the units that are permuted and counted are
 * groups, not subjects, so all subjects of a group land in the same part.  A
 * subject's group is its value in that column, which must be the same on all
 * its rows; an empty value makes the subject a group of its own. */
#ifndef IE_CORE_DATA_SPLIT_H
#define IE_CORE_DATA_SPLIT_H

#include <stdint.h>

#include "core/data/dataset.h"

typedef enum ie_split_part { IE_SPLIT_TRAIN = 0, IE_SPLIT_VAL = 1, IE_SPLIT_TEST = 2 } ie_split_part;
#define IE_SPLIT_PARTS 3

typedef struct ie_split {
    int *part[IE_SPLIT_PARTS];  /* dataset indices, ascending; NULL when empty */
    int count[IE_SPLIT_PARTS];
} ie_split;

/* "train", "val", "test". */
const char *ie_split_part_name(int part);
void ie_split_free(ie_split *split); /* frees the arrays and zeroes the split */

/* How many of n units each part gets for proportions p (>= 0, not all 0;
 * they need not sum to 1: they are normalised).  The rule:
 *   1. each part gets floor(n * p_i / sum p);
 *   2. the units left over (at most 2) go one each to the parts with the
 *      largest fractional remainders (ties: train, then val, then test);
 *   3. then, in the order train, val, test, every part with p_i > 0 that
 *      still has 0 units takes one from the part holding the most (ties: the
 *      earliest), as long as that part keeps at least one.
 * So counts always sum to n, a zero proportion always gets 0, and every
 * non-zero proportion gets at least 1 whenever n >= the number of non-zero
 * proportions.  Example: n = 10, (0.7, 0.15, 0.15) -> 7, 2, 1. */
ie_status ie_split_counts(int n, const double proportions[IE_SPLIT_PARTS], int counts[IE_SPLIT_PARTS]);

/* Random split of all subjects by proportions (train, val, test).  The units
 * (subjects, or groups when group_column is non-NULL) in order of first
 * appearance are permuted with ie_rng_make(seed, IE_STREAM_SPLIT, 0, 0); the
 * first counts[0] go to train, the next counts[1] to val, the rest to test. */
ie_status ie_split_by_proportions(const ie_dataset *ds, const double proportions[IE_SPLIT_PARTS],
                                  uint64_t seed, const char *group_column, ie_split *out);

/* Split by explicit subject lists (lists[p] holds counts[p] subject names;
 * a NULL list is empty).  A subject that is not in the dataset, or that is
 * listed twice (in one list or two), is an error naming it.  Subjects in no
 * list are left out of the split. */
ie_status ie_split_by_lists(const ie_dataset *ds, const char *const *const lists[IE_SPLIT_PARTS],
                            const int counts[IE_SPLIT_PARTS], ie_split *out);

/* Fold `fold` (0 <= fold < k) of k-fold cross-validation over the subjects
 * `items` (dataset indices, usually a split's train and val parts; their order
 * does not matter).  The units (subjects or groups) in ascending order of
 * their first subject are permuted with ie_rng_make(seed, IE_STREAM_SPLIT, 1,
 * 0) and cut into k consecutive runs, the first (units mod k) runs one unit
 * longer; run `fold` is the validation part and the others train.  The test
 * part is empty.  Over all folds the validation parts are disjoint and cover
 * every subject, for any seed.  Needs 2 <= k <= number of units. */
ie_status ie_split_kfold(const ie_dataset *ds, const int *items, int n, int k, int fold, uint64_t seed,
                         const char *group_column, ie_split *out);

/* Writes "subject,split" rows (dataset order) to a CSV file. */
ie_status ie_split_write_csv(const ie_dataset *ds, const ie_split *split, const char *path);
/* Reads such a file back.  Unknown subjects, subjects listed twice and split
 * names other than train/val/test are errors naming file:line.  Subjects not
 * in the file are left out. */
ie_status ie_split_read_csv(const ie_dataset *ds, const char *path, ie_split *out);

#endif
