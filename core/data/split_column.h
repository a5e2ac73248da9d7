/* core/data - a split written in the dataset itself: a column whose value
 * for each subject is train, val or test (case does not matter; "validation"
 * is val), as datasets with an official test set come (Fashion-MNIST).
 * Every row of a subject must carry the same value; an empty or other value
 * is an error naming the subject, line and value. */
#ifndef IE_CORE_DATA_SPLIT_COLUMN_H
#define IE_CORE_DATA_SPLIT_COLUMN_H

#include "core/data/split.h"

ie_status ie_split_by_column(const ie_dataset *ds, const char *column, ie_split *out);

#endif
