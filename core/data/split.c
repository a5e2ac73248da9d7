/* core/data - train/val/test splits and k-fold partitions (rules in split.h). */
#include "core/data/split.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/util/file_util.h"
#include "core/util/csv.h"
#include "core/util/strmap.h"
#include "innereye/rng.h"

/* The rng's "epoch" word tells the two uses of the split stream apart. */
enum { PURPOSE_PROPORTIONS = 0, PURPOSE_KFOLD = 1 };

static const char *const part_names[IE_SPLIT_PARTS] = {"train", "val", "test"};

const char *ie_split_part_name(int part) {
    return (part >= 0 && part < IE_SPLIT_PARTS) ? part_names[part] : "unknown";
}

void ie_split_free(ie_split *split) {
    if (!split) return;
    for (int p = 0; p < IE_SPLIT_PARTS; p++) free(split->part[p]);
    memset(split, 0, sizeof *split);
}

ie_status ie_split_counts(int n, const double proportions[IE_SPLIT_PARTS], int counts[IE_SPLIT_PARTS]) {
    if (n < 0 || !proportions || !counts)
        return ie_error_set(IE_ERR_INVALID_ARG, "split: invalid arguments (n = %d)", n);
    double sum = 0;
    for (int p = 0; p < IE_SPLIT_PARTS; p++) {
        if (!isfinite(proportions[p]) || proportions[p] < 0)
            return ie_error_set(IE_ERR_CONFIG, "split: the %s proportion is %g; proportions must be >= 0",
                                part_names[p], proportions[p]);
        sum += proportions[p];
    }
    if (!(sum > 0))
        return ie_error_set(IE_ERR_CONFIG, "split: the train, val and test proportions are all 0");
    double frac[IE_SPLIT_PARTS];
    int given = 0;
    for (int p = 0; p < IE_SPLIT_PARTS; p++) {
        double exact = (double)n * proportions[p] / sum;
        /* The small slack keeps 10 * 0.7 / 1.0 from flooring to 6. */
        counts[p] = (int)floor(exact + 1e-9);
        if (counts[p] > n) counts[p] = n;
        frac[p] = exact - counts[p];
        given += counts[p];
    }
    while (given < n) {
        int best = -1;
        for (int p = 0; p < IE_SPLIT_PARTS; p++)
            if (proportions[p] > 0 && (best < 0 || frac[p] > frac[best])) best = p;
        counts[best]++;
        frac[best] = -1;
        given++;
    }
    while (given > n) { /* only reachable through the slack above */
        int best = 0;
        for (int p = 1; p < IE_SPLIT_PARTS; p++)
            if (counts[p] > counts[best]) best = p;
        counts[best]--;
        given--;
    }
    for (int p = 0; p < IE_SPLIT_PARTS; p++) {
        if (proportions[p] <= 0 || counts[p] > 0) continue;
        int donor = -1;
        for (int q = 0; q < IE_SPLIT_PARTS; q++)
            if (counts[q] >= 2 && (donor < 0 || counts[q] > counts[donor])) donor = q;
        if (donor < 0) break;
        counts[donor]--;
        counts[p]++;
    }
    return IE_OK;
}

/* ---- units: subjects, or groups of subjects ---- */

typedef struct units {
    int n;             /* number of units */
    int *first;        /* n + 1 offsets into members */
    int *members;      /* subject indices, unit by unit, ascending within a unit */
} units;

static void units_free(units *u) {
    free(u->first);
    free(u->members);
    memset(u, 0, sizeof *u);
}

static int cmp_int(const void *a, const void *b) {
    int x = *(const int *)a, y = *(const int *)b;
    return (x > y) - (x < y);
}

/* The subject's value in column gc, checked to agree over its rows. */
static ie_status group_value(const ie_dataset *ds, int s, int gc, const char **out) {
    const ie_dataset_item *it = ie_dataset_item_at(ds, s);
    const char *v = it->values[gc];
    for (int r = 1; r < it->n_rows; r++) {
        const char *w = it->values[(size_t)r * (size_t)it->n_columns + (size_t)gc];
        if (strcmp(v, w) != 0)
            return ie_error_set(IE_ERR_CONFIG,
                                "%s:%d: subject '%s' has %s '%s' here but '%s' on line %d; all rows of a "
                                "subject must name the same group",
                                ie_dataset_path(ds), ie_dataset_line(ds, s, r), it->subject, it->columns[gc], w,
                                v, ie_dataset_line(ds, s, 0));
    }
    *out = v;
    return IE_OK;
}

/* Groups the sorted subjects `items` into units (by group_column when given),
 * units in order of their first subject. */
static ie_status make_units(const ie_dataset *ds, const int *items, int n, const char *group_column, units *u) {
    memset(u, 0, sizeof *u);
    int gc = -1;
    if (group_column && group_column[0]) {
        gc = ie_dataset_column(ds, group_column);
        if (gc < 0)
            return ie_error_set(IE_ERR_CONFIG, "split: %s has no group column '%s'", ie_dataset_path(ds),
                                group_column);
    }
    int *unit_of = malloc((size_t)(n ? n : 1) * sizeof *unit_of);
    int *size = calloc((size_t)n + 1, sizeof *size);
    u->first = calloc((size_t)n + 2, sizeof *u->first);
    u->members = malloc((size_t)(n ? n : 1) * sizeof *u->members);
    ie_strmap groups = {0};
    ie_status st = (unit_of && size && u->first && u->members)
                       ? ie_strmap_init(&groups, (size_t)n)
                       : ie_error_set(IE_ERR_NOMEM, "split: out of memory for %d subjects", n);
    for (int i = 0; i < n && st == IE_OK; i++) {
        const char *g = NULL;
        if (gc >= 0) st = group_value(ds, items[i], gc, &g);
        if (st != IE_OK) break;
        int existing = -1;
        if (g && g[0]) st = ie_strmap_put(&groups, g, u->n, &existing);
        unit_of[i] = existing >= 0 ? existing : u->n++;
        size[unit_of[i]]++;
    }
    if (st == IE_OK) {
        for (int k = 0; k < u->n; k++) u->first[k + 1] = u->first[k] + size[k];
        memset(size, 0, (size_t)(n + 1) * sizeof *size);
        for (int i = 0; i < n; i++) u->members[u->first[unit_of[i]] + size[unit_of[i]]++] = items[i];
    }
    ie_strmap_free(&groups);
    free(unit_of);
    free(size);
    if (st != IE_OK) units_free(u);
    return st;
}

/* Fisher-Yates over n positions, a pure function of (seed, purpose, n). */
static void permute(int *perm, int n, uint64_t seed, uint32_t purpose) {
    ie_rng rng = ie_rng_make(seed, IE_STREAM_SPLIT, purpose, 0);
    for (int i = 0; i < n; i++) perm[i] = i;
    for (int i = n - 1; i > 0; i--) {
        int j = (int)ie_rng_below(&rng, (uint32_t)i + 1);
        int t = perm[i];
        perm[i] = perm[j];
        perm[j] = t;
    }
}

/* Fills split part p with the members of units order[from .. to). */
static ie_status take_units(const units *u, const int *order, int from, int to, ie_split *out, int p) {
    int count = 0;
    for (int k = from; k < to; k++) count += u->first[order[k] + 1] - u->first[order[k]];
    out->count[p] = count;
    if (!count) return IE_OK;
    out->part[p] = malloc((size_t)count * sizeof(int));
    if (!out->part[p]) return ie_error_set(IE_ERR_NOMEM, "split: out of memory for %d subjects", count);
    int at = 0;
    for (int k = from; k < to; k++)
        for (int m = u->first[order[k]]; m < u->first[order[k] + 1]; m++) out->part[p][at++] = u->members[m];
    qsort(out->part[p], (size_t)count, sizeof(int), cmp_int);
    return IE_OK;
}

ie_status ie_split_by_proportions(const ie_dataset *ds, const double proportions[IE_SPLIT_PARTS],
                                  uint64_t seed, const char *group_column, ie_split *out) {
    if (!ds || !proportions || !out) return ie_error_set(IE_ERR_INVALID_ARG, "split: NULL argument");
    memset(out, 0, sizeof *out);
    int n = ie_dataset_count(ds);
    int *all = malloc((size_t)n * sizeof *all);
    if (!all) return ie_error_set(IE_ERR_NOMEM, "split: out of memory");
    for (int i = 0; i < n; i++) all[i] = i;
    units u;
    ie_status st = make_units(ds, all, n, group_column, &u);
    free(all);
    if (st != IE_OK) return st;
    int counts[IE_SPLIT_PARTS];
    int *order = malloc((size_t)(u.n ? u.n : 1) * sizeof *order);
    st = order ? ie_split_counts(u.n, proportions, counts) : ie_error_set(IE_ERR_NOMEM, "split: out of memory");
    if (st == IE_OK) {
        permute(order, u.n, seed, PURPOSE_PROPORTIONS);
        int from = 0;
        for (int p = 0; p < IE_SPLIT_PARTS && st == IE_OK; p++) {
            st = take_units(&u, order, from, from + counts[p], out, p);
            from += counts[p];
        }
    }
    free(order);
    units_free(&u);
    if (st != IE_OK) ie_split_free(out);
    return st;
}

ie_status ie_split_kfold(const ie_dataset *ds, const int *items, int n, int k, int fold, uint64_t seed,
                         const char *group_column, ie_split *out) {
    if (!ds || (!items && n) || n < 0 || !out) return ie_error_set(IE_ERR_INVALID_ARG, "kfold: invalid arguments");
    memset(out, 0, sizeof *out);
    if (k < 2) return ie_error_set(IE_ERR_CONFIG, "kfold: %d folds requested; cross-validation needs at least 2", k);
    if (fold < 0 || fold >= k)
        return ie_error_set(IE_ERR_CONFIG, "kfold: fold %d requested; folds are numbered 0 to %d", fold, k - 1);
    int *sorted = malloc((size_t)(n ? n : 1) * sizeof *sorted);
    if (!sorted) return ie_error_set(IE_ERR_NOMEM, "kfold: out of memory");
    memcpy(sorted, items, (size_t)n * sizeof *sorted);
    qsort(sorted, (size_t)n, sizeof *sorted, cmp_int);
    ie_status st = IE_OK;
    for (int i = 0; i < n && st == IE_OK; i++) {
        if (sorted[i] < 0 || sorted[i] >= ie_dataset_count(ds))
            st = ie_error_set(IE_ERR_INVALID_ARG, "kfold: item %d is not in %s (%d subjects)", sorted[i],
                              ie_dataset_path(ds), ie_dataset_count(ds));
        else if (i > 0 && sorted[i] == sorted[i - 1])
            st = ie_error_set(IE_ERR_INVALID_ARG, "kfold: subject '%s' is listed twice",
                              ie_dataset_item_at(ds, sorted[i])->subject);
    }
    units u = {0};
    if (st == IE_OK) st = make_units(ds, sorted, n, group_column, &u);
    free(sorted);
    if (st != IE_OK) return st;
    int *order = NULL;
    if (u.n < k)
        st = ie_error_set(IE_ERR_CONFIG, "kfold: %d folds need at least %d %s, there are %d", k, k,
                          group_column && group_column[0] ? "groups" : "subjects", u.n);
    else if (!(order = malloc((size_t)u.n * sizeof *order)))
        st = ie_error_set(IE_ERR_NOMEM, "kfold: out of memory");
    if (st == IE_OK) {
        permute(order, u.n, seed, PURPOSE_KFOLD);
        int base = u.n / k, extra = u.n % k;
        int from = fold * base + (fold < extra ? fold : extra);
        int to = from + base + (fold < extra ? 1 : 0);
        /* Train is every unit outside [from, to): move the fold to the end. */
        int *rest = malloc((size_t)u.n * sizeof *rest);
        if (!rest) {
            st = ie_error_set(IE_ERR_NOMEM, "kfold: out of memory");
        } else {
            int m = 0;
            for (int i = 0; i < u.n; i++)
                if (i < from || i >= to) rest[m++] = order[i];
            for (int i = from; i < to; i++) rest[m++] = order[i];
            st = take_units(&u, rest, 0, u.n - (to - from), out, IE_SPLIT_TRAIN);
            if (st == IE_OK) st = take_units(&u, rest, u.n - (to - from), u.n, out, IE_SPLIT_VAL);
            free(rest);
        }
    }
    free(order);
    units_free(&u);
    if (st != IE_OK) ie_split_free(out);
    return st;
}

/* ---- explicit lists ---- */

static ie_status list_error(const ie_dataset *ds, int p, const char *const *list, int count) {
    char names[1024] = "";
    int unknown = 0;
    for (int i = 0; i < count; i++) {
        if (list[i] && ie_dataset_find(ds, list[i]) >= 0) continue;
        size_t len = strlen(names);
        if (unknown < 10) snprintf(names + len, sizeof names - len, "%s'%s'", unknown ? ", " : "", list[i] ? list[i] : "(null)");
        unknown++;
    }
    return ie_error_set(IE_ERR_CONFIG, "split: the %s list names %d subject%s that %s not in %s: %s%s", part_names[p],
                        unknown, unknown == 1 ? "" : "s", unknown == 1 ? "is" : "are", ie_dataset_path(ds), names,
                        unknown > 10 ? ", ..." : "");
}

ie_status ie_split_by_lists(const ie_dataset *ds, const char *const *const lists[IE_SPLIT_PARTS],
                            const int counts[IE_SPLIT_PARTS], ie_split *out) {
    if (!ds || !lists || !counts || !out) return ie_error_set(IE_ERR_INVALID_ARG, "split: NULL argument");
    memset(out, 0, sizeof *out);
    int n = ie_dataset_count(ds);
    int *owner = malloc((size_t)n * sizeof *owner);
    if (!owner) return ie_error_set(IE_ERR_NOMEM, "split: out of memory");
    for (int i = 0; i < n; i++) owner[i] = -1;
    ie_status st = IE_OK;
    for (int p = 0; p < IE_SPLIT_PARTS && st == IE_OK; p++) {
        int c = lists[p] ? counts[p] : 0;
        if (c < 0) {
            st = ie_error_set(IE_ERR_INVALID_ARG, "split: the %s list has %d entries", part_names[p], c);
            break;
        }
        for (int i = 0; i < c; i++) {
            int s = lists[p][i] ? ie_dataset_find(ds, lists[p][i]) : -1;
            if (s < 0) {
                st = list_error(ds, p, lists[p], c);
                break;
            }
            if (owner[s] >= 0) {
                if (owner[s] == p)
                    st = ie_error_set(IE_ERR_CONFIG, "split: subject '%s' is listed twice in the %s list",
                                      lists[p][i], part_names[p]);
                else
                    st = ie_error_set(IE_ERR_CONFIG, "split: subject '%s' is listed in both the %s and the %s list",
                                      lists[p][i], part_names[owner[s]], part_names[p]);
                break;
            }
            owner[s] = p;
            out->count[p]++;
        }
    }
    for (int p = 0; p < IE_SPLIT_PARTS && st == IE_OK; p++) {
        if (!out->count[p]) continue;
        out->part[p] = malloc((size_t)out->count[p] * sizeof(int));
        if (!out->part[p]) st = ie_error_set(IE_ERR_NOMEM, "split: out of memory");
        int at = 0;
        for (int s = 0; s < n && st == IE_OK; s++)
            if (owner[s] == p) out->part[p][at++] = s;
    }
    free(owner);
    if (st != IE_OK) ie_split_free(out);
    return st;
}

/* ---- the split file ---- */

ie_status ie_split_write_csv(const ie_dataset *ds, const ie_split *split, const char *path) {
    if (!ds || !split || !path) return ie_error_set(IE_ERR_INVALID_ARG, "split_write_csv: NULL argument");
    int n = ie_dataset_count(ds);
    signed char *owner = malloc((size_t)n);
    if (!owner) return ie_error_set(IE_ERR_NOMEM, "split_write_csv: out of memory");
    memset(owner, -1, (size_t)n);
    for (int p = 0; p < IE_SPLIT_PARTS; p++)
        for (int i = 0; i < split->count[p]; i++) {
            int s = split->part[p][i];
            if (s < 0 || s >= n || owner[s] >= 0) {
                free(owner);
                return ie_error_set(IE_ERR_INVALID_ARG, "split_write_csv: item %d of the %s part is %s", s,
                                    part_names[p], (s < 0 || s >= n) ? "not in the dataset" : "in two parts");
            }
            owner[s] = (signed char)p;
        }
    /* Built in memory and written atomically: a full disk leaves no
     * truncated split.csv behind. */
    char *text = NULL;
    size_t size = 0;
    FILE *f = open_memstream(&text, &size);
    if (!f) {
        free(owner);
        return ie_error_set(IE_ERR_NOMEM, "%s: out of memory", path);
    }
    fputs("subject,split\n", f);
    for (int s = 0; s < n; s++) {
        if (owner[s] < 0) continue;
        ie_csv_write_field(f, ie_dataset_item_at(ds, s)->subject);
        fprintf(f, ",%s\n", part_names[(int)owner[s]]);
    }
    free(owner);
    return ie_write_stream_atomic(f, &text, &size, path);
}

static int part_of_name(const char *name) {
    for (int p = 0; p < IE_SPLIT_PARTS; p++)
        if (strcmp(name, part_names[p]) == 0) return p;
    return -1;
}

static ie_status read_rows(const ie_dataset *ds, const ie_csv *csv, int *owner, int *line_of, ie_split *out) {
    int sc = ie_csv_column(csv, "subject"), pc = ie_csv_column(csv, "split");
    if (sc < 0 || pc < 0)
        return ie_error_set(IE_ERR_IO, "%s:%d: a split file needs the columns 'subject' and 'split'", csv->name,
                            csv->header_line);
    for (int r = 0; r < csv->n_rows; r++) {
        const char *subject = ie_csv_cell(csv, r, sc), *name = ie_csv_cell(csv, r, pc);
        int s = ie_dataset_find(ds, subject), p = part_of_name(name);
        if (s < 0)
            return ie_error_set(IE_ERR_CONFIG, "%s:%d: subject '%s' is not in the dataset %s", csv->name,
                                csv->lines[r], subject, ie_dataset_path(ds));
        if (p < 0)
            return ie_error_set(IE_ERR_CONFIG, "%s:%d: split '%s' for subject '%s'; use train, val or test",
                                csv->name, csv->lines[r], name, subject);
        if (owner[s] >= 0)
            return ie_error_set(IE_ERR_CONFIG, "%s:%d: subject '%s' is listed again (first on line %d)", csv->name,
                                csv->lines[r], subject, line_of[s]);
        owner[s] = p;
        line_of[s] = csv->lines[r];
        out->count[p]++;
    }
    return IE_OK;
}

ie_status ie_split_read_csv(const ie_dataset *ds, const char *path, ie_split *out) {
    if (!ds || !path || !out) return ie_error_set(IE_ERR_INVALID_ARG, "split_read_csv: NULL argument");
    memset(out, 0, sizeof *out);
    ie_csv *csv = NULL;
    IE_TRY(ie_csv_read(path, &csv));
    int n = ie_dataset_count(ds);
    int *owner = malloc((size_t)n * sizeof *owner), *line_of = malloc((size_t)n * sizeof *line_of);
    ie_status st = (owner && line_of) ? IE_OK : ie_error_set(IE_ERR_NOMEM, "split_read_csv: out of memory");
    for (int i = 0; i < n && st == IE_OK; i++) owner[i] = -1;
    if (st == IE_OK) st = read_rows(ds, csv, owner, line_of, out);
    for (int p = 0; p < IE_SPLIT_PARTS && st == IE_OK; p++) {
        if (!out->count[p]) continue;
        out->part[p] = malloc((size_t)out->count[p] * sizeof(int));
        if (!out->part[p]) {
            st = ie_error_set(IE_ERR_NOMEM, "split_read_csv: out of memory");
            break;
        }
        int at = 0;
        for (int s = 0; s < n; s++)
            if (owner[s] == p) out->part[p][at++] = s;
    }
    free(owner);
    free(line_of);
    ie_csv_free(csv);
    if (st != IE_OK) ie_split_free(out);
    return st;
}
