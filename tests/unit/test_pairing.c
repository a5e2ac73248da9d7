/* Pairing image and label folders into dataset.csv (core/data/pairing.h):
 * subjects by file name across endings, unpaired files on both sides,
 * max_subjects, paths relative to the CSV's folder, exclusive writes, and the
 * refusals. */
#include <limits.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/data/dataset.h"
#include "core/data/pairing.h"
#include "test_util.h"

static char tmpdir[] = "/tmp/ie_test_pairing_XXXXXX";

static void touch(const char *rel) {
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/%s", tmpdir, rel);
    FILE *f = fopen(path, "w");
    if (!f || fclose(f) != 0) {
        fprintf(stderr, "cannot create %s\n", path);
        exit(1);
    }
}

static char *slurp(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    static char buf[8192];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

int main(void) {
    if (!mkdtemp(tmpdir)) return 1;
    char path[PATH_MAX], images[PATH_MAX], labels[PATH_MAX];
    snprintf(images, sizeof images, "%s/data/images", tmpdir);
    snprintf(labels, sizeof labels, "%s/data/labels", tmpdir);
    snprintf(path, sizeof path, "%s/data", tmpdir);
    mkdir(path, 0755), mkdir(images, 0755), mkdir(labels, 0755);
    touch("data/images/case_002.nii.gz");
    touch("data/images/case_001.nii.gz");
    touch("data/images/case 3,x.nrrd"); /* a name CSV must quote */
    touch("data/images/case_004.mha");  /* no label */
    touch("data/images/notes.txt");     /* not an image */
    touch("data/images/.hidden.nii");
    touch("data/labels/case_001.nii");  /* another ending pairs too */
    touch("data/labels/case_002.nii.gz");
    touch("data/labels/case 3,x.nii.gz");
    touch("data/labels/case_009.nii.gz"); /* no image */

    ie_pairing p;
    CHECK_OK(ie_pairing_find(images, labels, 0, &p));
    CHECK(p.n_pairs == 3, "3 pairs, got %d", p.n_pairs);
    CHECK(p.n_pairs == 3 && !strcmp(p.subjects[0], "case 3,x") && !strcmp(p.subjects[1], "case_001") &&
              !strcmp(p.subjects[2], "case_002"),
          "subjects in byte order");
    CHECK(p.n_pairs == 3 && strstr(p.labels[1], "/data/labels/case_001.nii") && p.images[1][0] == '/',
          "absolute paths, the label's own ending: %s", p.n_pairs ? p.labels[1] : "");
    char text[512];
    ie_pairing_describe_unpaired(&p, 5, text, sizeof text);
    CHECK(!strcmp(text, "1 image without a label (case_004.mha); 1 label without an image (case_009.nii.gz)"),
          "unpaired: %s", text);

    /* written next to the data: relative paths, quoted where needed */
    snprintf(path, sizeof path, "%s/data/dataset.csv", tmpdir);
    CHECK_OK(ie_pairing_write_csv(&p, "ct", "structures", path));
    const char *want = "subject,filePath,channel\n"
                       "\"case 3,x\",\"images/case 3,x.nrrd\",ct\n\"case 3,x\",\"labels/case 3,x.nii.gz\",structures\n"
                       "case_001,images/case_001.nii.gz,ct\ncase_001,labels/case_001.nii,structures\n"
                       "case_002,images/case_002.nii.gz,ct\ncase_002,labels/case_002.nii.gz,structures\n";
    const char *got = slurp(path);
    CHECK(got && !strcmp(got, want), "dataset.csv:\n%s", got ? got : "(missing)");
    ie_dataset *ds = NULL;
    CHECK_OK(ie_dataset_load(path, NULL, &ds));
    CHECK(ie_dataset_count(ds) == 3 && !strcmp(ie_dataset_item_at(ds, 0)->subject, "case 3,x"),
          "the CSV reads back as 3 subjects");
    ie_dataset_free(ds);
    /* never overwritten */
    CHECK_FAILS(ie_pairing_write_csv(&p, "ct", "structures", path), IE_ERR_IO, "already exists; it is never overwritten");
    got = slurp(path);
    CHECK(got && !strcmp(got, want), "the existing file is unchanged");
    /* in a folder above the data: relative with the folders in between */
    snprintf(path, sizeof path, "%s/above.csv", tmpdir);
    CHECK_OK(ie_pairing_write_csv(&p, "image", "label", path));
    got = slurp(path);
    CHECK(got && strstr(got, "\ncase_001,data/images/case_001.nii.gz,image\n"), "above the data:\n%s", got ? got : "");
    /* beside it: absolute paths */
    snprintf(path, sizeof path, "%s/other", tmpdir);
    mkdir(path, 0755);
    snprintf(path, sizeof path, "%s/other/elsewhere.csv", tmpdir);
    CHECK_OK(ie_pairing_write_csv(&p, "image", "label", path));
    got = slurp(path);
    CHECK(got && strstr(got, "\ncase_001,/") && strstr(got, "/data/images/case_001.nii.gz,image\n"),
          "outside the data folder the paths are absolute:\n%s", got ? got : "");
    CHECK_FAILS(ie_pairing_write_csv(&p, "same", "same", "/tmp/never.csv"), IE_ERR_INVALID_ARG,
                "two different non-empty names");
    snprintf(path, sizeof path, "%s/no/such/folder/dataset.csv", tmpdir);
    CHECK_FAILS(ie_pairing_write_csv(&p, "image", "label", path), IE_ERR_IO, "does not exist; create it first");
    ie_pairing_free(&p);

    /* max_subjects keeps the first N pairs */
    CHECK_OK(ie_pairing_find(images, labels, 2, &p));
    CHECK(p.n_pairs == 2 && !strcmp(p.subjects[1], "case_001"), "max_subjects 2");
    ie_pairing_free(&p);

    /* refusals */
    touch("data/labels/case_002.nii");
    CHECK_FAILS(ie_pairing_find(images, labels, 0, &p), IE_ERR_IO,
                "holds two files of subject 'case_002': case_002.nii and case_002.nii.gz");
    snprintf(path, sizeof path, "%s/data/labels/case_002.nii", tmpdir);
    unlink(path);
    snprintf(path, sizeof path, "%s/nothing", tmpdir);
    CHECK_FAILS(ie_pairing_find(path, labels, 0, &p), IE_ERR_IO, "images folder");
    mkdir(path, 0755);
    CHECK_FAILS(ie_pairing_find(path, labels, 0, &p), IE_ERR_IO, "labels are paired by file name");
    CHECK(ie_pairing_is_image_name("a.nii.gz") && ie_pairing_is_image_name("b.mhd") &&
              !ie_pairing_is_image_name("c.img") && !ie_pairing_is_image_name(".nii"),
          "image names");

    char cmd[PATH_MAX + 16];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", tmpdir);
    return test_summary();
}
