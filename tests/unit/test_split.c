/* Splits: the rounding rule, determinism, groups, explicit lists, k-fold
 * partitions and the split file. */
#include <limits.h>
#include <stdlib.h>
#include <unistd.h>

#include "core/data/split.h"
#include "test_util.h"

static char tmpdir[] = "/tmp/ie_test_split_XXXXXX";

/* n subjects "s0".."s{n-1}", two rows each; group g{i / group_size}. */
static ie_dataset *make_dataset(int n, int group_size) {
    size_t cap = 64 + (size_t)n * 80, len = 0;
    char *text = malloc(cap);
    len += (size_t)snprintf(text + len, cap - len, "subject,filePath,channel,groupID\n");
    for (int i = 0; i < n; i++)
        for (int ch = 0; ch < 2; ch++)
            len += (size_t)snprintf(text + len, cap - len, "s%d,f%d_%d.nii,c%d,g%d\n", i, i, ch, ch,
                                    group_size ? i / group_size : i);
    ie_dataset *ds = NULL;
    if (ie_dataset_parse(text, len, "split.csv", NULL, NULL, &ds) != IE_OK) {
        fprintf(stderr, "dataset: %s\n", ie_error_message());
        exit(1);
    }
    free(text);
    return ds;
}

/* Every subject of 0..n-1 is in exactly one part; parts ascending. */
static int check_partition(const ie_split *s, int n, const char *what) {
    int *seen = calloc((size_t)n, sizeof *seen), ok = 1;
    for (int p = 0; p < IE_SPLIT_PARTS; p++)
        for (int i = 0; i < s->count[p]; i++) {
            int x = s->part[p][i];
            if (x < 0 || x >= n || seen[x]++) ok = 0;
            if (i > 0 && s->part[p][i - 1] >= x) ok = 0;
        }
    for (int i = 0; i < n; i++)
        if (seen[i] != 1) ok = 0;
    free(seen);
    CHECK(ok, "%s: parts are not an ascending partition of %d subjects", what, n);
    return ok;
}

static bool same_split(const ie_split *a, const ie_split *b) {
    for (int p = 0; p < IE_SPLIT_PARTS; p++) {
        if (a->count[p] != b->count[p]) return false;
        if (a->count[p] && memcmp(a->part[p], b->part[p], (size_t)a->count[p] * sizeof(int)) != 0) return false;
    }
    return true;
}

static void test_counts(void) {
    int c[3];
    CHECK_OK(ie_split_counts(10, (double[]){0.7, 0.15, 0.15}, c));
    CHECK(c[0] == 7 && c[1] == 2 && c[2] == 1, "10 x (0.7, 0.15, 0.15) -> %d %d %d", c[0], c[1], c[2]);
    CHECK_OK(ie_split_counts(3, (double[]){0.8, 0.1, 0.1}, c));
    CHECK(c[0] == 1 && c[1] == 1 && c[2] == 1, "3 x (0.8, 0.1, 0.1) -> %d %d %d", c[0], c[1], c[2]);
    CHECK_OK(ie_split_counts(2, (double[]){0.8, 0.1, 0.1}, c));
    CHECK(c[0] == 1 && c[1] == 1 && c[2] == 0, "2 x (0.8, 0.1, 0.1) -> %d %d %d", c[0], c[1], c[2]);
    CHECK_OK(ie_split_counts(10, (double[]){0.7, 0.2, 0.1}, c));
    CHECK(c[0] == 7 && c[1] == 2 && c[2] == 1, "0.7/0.2/0.1 floating point -> %d %d %d", c[0], c[1], c[2]);
    CHECK_OK(ie_split_counts(5, (double[]){3, 1, 0}, c));
    CHECK(c[0] == 4 && c[1] == 1 && c[2] == 0, "un-normalised (3, 1, 0) of 5 -> %d %d %d", c[0], c[1], c[2]);
    CHECK_OK(ie_split_counts(0, (double[]){0.5, 0.5, 0}, c));
    CHECK(c[0] == 0 && c[1] == 0 && c[2] == 0, "n = 0");
    CHECK_FAILS(ie_split_counts(5, (double[]){0, 0, 0}, c), IE_ERR_CONFIG, "all 0");
    CHECK_FAILS(ie_split_counts(5, (double[]){0.5, -0.1, 0}, c), IE_ERR_CONFIG, "val proportion is -0.1");

    /* The promise over many proportions and sizes. */
    int bad = 0;
    for (int n = 0; n <= 60; n++)
        for (int t = 0; t < 200; t++) {
            uint32_t h = (uint32_t)(n * 1000 + t) * 2654435761u;
            double p[3] = {(double)(h & 15), (double)((h >> 4) & 7), (double)((h >> 7) & 3)};
            if (t % 3 == 0) p[1] = 0;
            if (p[0] + p[1] + p[2] == 0) p[0] = 1;
            if (ie_split_counts(n, p, c) != IE_OK) {
                bad++;
                continue;
            }
            int nonzero = (p[0] > 0) + (p[1] > 0) + (p[2] > 0);
            if (c[0] + c[1] + c[2] != n) bad++;
            for (int k = 0; k < 3; k++) {
                if (p[k] == 0 && c[k] != 0) bad++;
                if (p[k] > 0 && n >= nonzero && c[k] < 1) bad++;
                if (c[k] < 0) bad++;
            }
        }
    CHECK(bad == 0, "%d violations of the rounding promise", bad);
}

static void test_proportions(void) {
    ie_dataset *ds = make_dataset(50, 0);
    const double p[3] = {0.6, 0.2, 0.2};
    ie_split a, b, c;
    CHECK_OK(ie_split_by_proportions(ds, p, 42, NULL, &a));
    CHECK(a.count[0] == 30 && a.count[1] == 10 && a.count[2] == 10, "sizes %d %d %d", a.count[0], a.count[1],
          a.count[2]);
    check_partition(&a, 50, "proportions");
    CHECK_OK(ie_split_by_proportions(ds, p, 42, NULL, &b));
    CHECK(same_split(&a, &b), "same seed, same split");
    CHECK_OK(ie_split_by_proportions(ds, p, 43, NULL, &c));
    CHECK(!same_split(&a, &c), "another seed, another split");
    /* not just the first subjects in train */
    CHECK(a.part[0][29] != 29, "the split is shuffled");
    ie_split_free(&a);
    ie_split_free(&b);
    ie_split_free(&c);
    CHECK(a.part[0] == NULL && a.count[0] == 0, "free zeroes");
    ie_dataset_free(ds);
}

static void test_groups(void) {
    ie_dataset *ds = make_dataset(30, 3); /* 10 groups of 3 */
    ie_split s;
    CHECK_OK(ie_split_by_proportions(ds, (double[]){0.7, 0.2, 0.1}, 7, "groupID", &s));
    check_partition(&s, 30, "grouped");
    CHECK(s.count[0] == 21 && s.count[1] == 6 && s.count[2] == 3, "group counts 7/2/1 -> subjects %d %d %d",
          s.count[0], s.count[1], s.count[2]);
    int part_of[30];
    for (int p = 0; p < 3; p++)
        for (int i = 0; i < s.count[p]; i++) part_of[s.part[p][i]] = p;
    int broken = 0;
    for (int i = 0; i < 30; i++)
        if (part_of[i] != part_of[i / 3 * 3]) broken++;
    CHECK(broken == 0, "%d subjects separated from their group", broken);
    ie_split_free(&s);
    CHECK_FAILS(ie_split_by_proportions(ds, (double[]){1, 0, 0}, 7, "nosuch", &s), IE_ERR_CONFIG, "'nosuch'");
    ie_dataset_free(ds);

    /* a subject whose rows disagree on the group */
    const char bad[] = "subject,groupID\na,g1\nb,g2\na,g3\n";
    ie_dataset *d2 = NULL;
    CHECK_OK(ie_dataset_parse(bad, sizeof bad - 1, "groups.csv", NULL, NULL, &d2));
    CHECK_FAILS(ie_split_by_proportions(d2, (double[]){1, 1, 0}, 1, "groupID", &s), IE_ERR_CONFIG,
                "groups.csv:4: subject 'a' has groupID 'g3' here but 'g1' on line 2");
    ie_dataset_free(d2);

    /* empty group values: each such subject is its own group */
    const char empty[] = "subject,groupID\na,\nb,\nc,x\nd,x\n";
    CHECK_OK(ie_dataset_parse(empty, sizeof empty - 1, "groups.csv", NULL, NULL, &d2));
    CHECK_OK(ie_split_kfold(d2, (int[]){0, 1, 2, 3}, 4, 3, 0, 5, "groupID", &s));
    ie_split_free(&s);
    CHECK_FAILS(ie_split_kfold(d2, (int[]){0, 1, 2, 3}, 4, 4, 0, 5, "groupID", &s), IE_ERR_CONFIG,
                "4 folds need at least 4 groups, there are 3");
    ie_dataset_free(d2);
}

static void test_lists(void) {
    ie_dataset *ds = make_dataset(6, 0);
    const char *train[] = {"s3", "s0", "s1"}, *val[] = {"s5"}, *test[] = {"s2"};
    ie_split s;
    CHECK_OK(ie_split_by_lists(ds, (const char *const *const[]){train, val, test}, (int[]){3, 1, 1}, &s));
    CHECK(s.count[0] == 3 && s.part[0][0] == 0 && s.part[0][1] == 1 && s.part[0][2] == 3, "train ascending");
    CHECK(s.count[1] == 1 && s.part[1][0] == 5 && s.count[2] == 1 && s.part[2][0] == 2, "val and test");
    ie_split_free(&s);
    CHECK_OK(ie_split_by_lists(ds, (const char *const *const[]){train, NULL, NULL}, (int[]){3, 5, 5}, &s));
    CHECK(s.count[0] == 3 && s.count[1] == 0 && s.count[2] == 0, "NULL lists are empty; s4 is left out");
    ie_split_free(&s);
    const char *unknown[] = {"s1", "ghost", "s2", "phantom"};
    CHECK_FAILS(ie_split_by_lists(ds, (const char *const *const[]){unknown, NULL, NULL}, (int[]){4, 0, 0}, &s),
                IE_ERR_CONFIG, "the train list names 2 subjects that are not in split.csv: 'ghost', 'phantom'");
    const char *again[] = {"s1"};
    CHECK_FAILS(ie_split_by_lists(ds, (const char *const *const[]){train, again, NULL}, (int[]){3, 1, 0}, &s),
                IE_ERR_CONFIG, "subject 's1' is listed in both the train and the val list");
    const char *twice[] = {"s4", "s4"};
    CHECK_FAILS(ie_split_by_lists(ds, (const char *const *const[]){NULL, NULL, twice}, (int[]){0, 0, 2}, &s),
                IE_ERR_CONFIG, "'s4' is listed twice in the test list");
    ie_dataset_free(ds);
}

static void test_kfold(void) {
    ie_dataset *ds = make_dataset(30, 0);
    /* non-test subjects: all but 3, given in scrambled order */
    int items[27], n = 0;
    for (int i = 0; i < 30; i++)
        if (i != 4 && i != 17 && i != 25) items[n++] = i;
    for (int i = 0; i < n; i++) { /* reverse: order must not matter */
        int j = n - 1 - i;
        if (i < j) {
            int t = items[i];
            items[i] = items[j];
            items[j] = t;
        }
    }
    const int k = 5;
    int val_of[30];
    for (int i = 0; i < 30; i++) val_of[i] = -1;
    int sizes[5];
    for (int f = 0; f < k; f++) {
        ie_split s, again;
        CHECK_OK(ie_split_kfold(ds, items, n, k, f, 99, NULL, &s));
        CHECK(s.count[2] == 0, "kfold has no test part");
        CHECK(s.count[0] + s.count[1] == n, "fold %d covers all %d subjects", f, n);
        sizes[f] = s.count[1];
        for (int i = 0; i < s.count[1]; i++) {
            int x = s.part[1][i];
            CHECK(val_of[x] == -1, "subject %d in the validation part of folds %d and %d", x, val_of[x], f);
            val_of[x] = f;
        }
        for (int i = 0; i < s.count[0]; i++) CHECK(val_of[s.part[0][i]] != f, "train and val overlap in fold %d", f);
        CHECK_OK(ie_split_kfold(ds, items, n, k, f, 99, NULL, &again));
        CHECK(same_split(&s, &again), "fold %d reproducible", f);
        ie_split_free(&again);
        ie_split_free(&s);
    }
    CHECK(sizes[0] == 6 && sizes[1] == 6 && sizes[2] == 5 && sizes[3] == 5 && sizes[4] == 5,
          "fold sizes 6 6 5 5 5: %d %d %d %d %d", sizes[0], sizes[1], sizes[2], sizes[3], sizes[4]);
    int covered = 0;
    for (int i = 0; i < 30; i++) covered += val_of[i] >= 0;
    CHECK(covered == 27 && val_of[4] < 0 && val_of[17] < 0 && val_of[25] < 0, "validation parts cover the items only");
    ie_split a, b;
    CHECK_OK(ie_split_kfold(ds, items, n, k, 0, 99, NULL, &a));
    CHECK_OK(ie_split_kfold(ds, items, n, k, 0, 100, NULL, &b));
    CHECK(!same_split(&a, &b), "another seed gives other folds");
    ie_split_free(&a);
    ie_split_free(&b);
    CHECK_FAILS(ie_split_kfold(ds, items, n, 1, 0, 1, NULL, &a), IE_ERR_CONFIG, "at least 2");
    CHECK_FAILS(ie_split_kfold(ds, items, n, 5, 5, 1, NULL, &a), IE_ERR_CONFIG, "folds are numbered 0 to 4");
    CHECK_FAILS(ie_split_kfold(ds, items, n, 28, 0, 1, NULL, &a), IE_ERR_CONFIG, "28 folds need at least 28 subjects");
    CHECK_FAILS(ie_split_kfold(ds, (int[]){1, 30}, 2, 2, 0, 1, NULL, &a), IE_ERR_INVALID_ARG, "item 30");
    CHECK_FAILS(ie_split_kfold(ds, (int[]){1, 2, 1}, 3, 2, 0, 1, NULL, &a), IE_ERR_INVALID_ARG, "'s1' is listed twice");
    ie_dataset_free(ds);

    /* grouped folds keep groups together */
    ie_dataset *g = make_dataset(24, 4); /* 6 groups of 4 */
    int all[24];
    for (int i = 0; i < 24; i++) all[i] = i;
    int fold_of[24];
    for (int f = 0; f < 3; f++) {
        ie_split s;
        CHECK_OK(ie_split_kfold(g, all, 24, 3, f, 3, "groupID", &s));
        CHECK(s.count[1] == 8, "grouped fold %d has 2 groups (8 subjects), got %d", f, s.count[1]);
        for (int i = 0; i < s.count[1]; i++) fold_of[s.part[1][i]] = f;
        ie_split_free(&s);
    }
    int broken = 0;
    for (int i = 0; i < 24; i++)
        if (fold_of[i] != fold_of[i / 4 * 4]) broken++;
    CHECK(broken == 0, "%d subjects in a different fold from their group", broken);
    ie_dataset_free(g);
}

static void test_file(void) {
    ie_dataset *ds = make_dataset(12, 0);
    ie_split s, back;
    CHECK_OK(ie_split_by_proportions(ds, (double[]){0.5, 0.25, 0.25}, 11, NULL, &s));
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/split.csv", tmpdir);
    CHECK_OK(ie_split_write_csv(ds, &s, path));
    CHECK_OK(ie_split_read_csv(ds, path, &back));
    CHECK(same_split(&s, &back), "written split reads back identically");
    ie_split_free(&s);
    ie_split_free(&back);

    /* quoting of awkward subject names survives the round trip */
    const char odd[] = "subject,x\n\"a,b\",1\n\"say \"\"x\"\"\",2\n c ,3\n";
    ie_dataset *d2 = NULL;
    CHECK_OK(ie_dataset_parse(odd, sizeof odd - 1, "odd.csv", NULL, NULL, &d2));
    CHECK_OK(ie_split_by_proportions(d2, (double[]){1, 1, 1}, 1, NULL, &s));
    CHECK_OK(ie_split_write_csv(d2, &s, path));
    CHECK_OK(ie_split_read_csv(d2, path, &back));
    CHECK(same_split(&s, &back) && back.count[0] + back.count[1] + back.count[2] == 3, "odd names round trip");
    ie_split_free(&s);
    ie_split_free(&back);
    ie_dataset_free(d2);

    FILE *f = fopen(path, "w");
    fputs("subject,split\ns1,train\ns2,val\n\ns99,test\n", f);
    fclose(f);
    CHECK_FAILS(ie_split_read_csv(ds, path, &back), IE_ERR_CONFIG, ":5: subject 's99' is not in the dataset");
    f = fopen(path, "w");
    fputs("subject,split\ns1,train\ns2,validation\n", f);
    fclose(f);
    CHECK_FAILS(ie_split_read_csv(ds, path, &back), IE_ERR_CONFIG, ":3: split 'validation' for subject 's2'");
    f = fopen(path, "w");
    fputs("subject,split\ns1,train\ns2,val\ns1,test\n", f);
    fclose(f);
    CHECK_FAILS(ie_split_read_csv(ds, path, &back), IE_ERR_CONFIG, ":4: subject 's1' is listed again (first on line 2)");
    f = fopen(path, "w");
    fputs("subject,part\ns1,train\n", f);
    fclose(f);
    CHECK_FAILS(ie_split_read_csv(ds, path, &back), IE_ERR_IO, "needs the columns 'subject' and 'split'");
    remove(path);
    CHECK_FAILS(ie_split_read_csv(ds, path, &back), IE_ERR_IO, "split.csv");
    ie_dataset_free(ds);
}

int main(void) {
    if (!mkdtemp(tmpdir)) {
        perror("mkdtemp");
        return 1;
    }
    test_counts();
    test_proportions();
    test_groups();
    test_lists();
    test_kfold();
    test_file();
    rmdir(tmpdir);
    return test_summary();
}
