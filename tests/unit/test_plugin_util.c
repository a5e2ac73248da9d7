/* The helpers of plugin.h: task names, clearing samples and batches (the
 * tensors' references are dropped, no byte past the struct's own
 * struct_size is written, struct_size is kept) and dataset item lookup. */
#include "innereye/plugin.h"
#include "test_util.h"

static ie_tensor *tensor_with_refs(int refs) {
    const int64_t shape[1] = {3};
    ie_tensor *t = NULL;
    CHECK_OK(ie_tensor_zeros(IE_F32, 1, shape, IE_CPU, &t));
    for (int i = 1; i < refs; i++) ie_tensor_retain(t);
    return t;
}

static void test_task_names(void) {
    CHECK(!strcmp(ie_task_kind_name(IE_TASK_SEGMENTATION), "segmentation"), "segmentation");
    CHECK(!strcmp(ie_task_kind_name(IE_TASK_CLASSIFICATION), "classification"), "classification");
    CHECK(!strcmp(ie_task_kind_name(IE_TASK_REGRESSION), "regression"), "regression");
    CHECK(!strcmp(ie_task_kind_name(IE_TASK_OTHER), "other"), "other");
    CHECK(!strcmp(ie_task_kind_name((ie_task_kind)42), "unknown"), "out of range");
}

static void test_sample_clear(void) {
    /* The sample as the last field of a bigger struct: what follows must
     * survive, as it would for a caller compiled with a smaller ie_sample. */
    struct {
        ie_sample sample;
        uint64_t after;
    } s = {.after = 0x5a5a5a5a5a5a5a5aull};
    ie_tensor *image = tensor_with_refs(2), *labels = tensor_with_refs(2);
    s.sample = (ie_sample){.struct_size = sizeof(ie_sample), .subject = "s1", .image = image, .labels = labels};
    ie_sample_clear(&s.sample);
    CHECK(atomic_load(&image->refcount) == 1 && atomic_load(&labels->refcount) == 1,
          "clear drops one reference of each tensor (refs %d %d)", atomic_load(&image->refcount),
          atomic_load(&labels->refcount));
    CHECK(!s.sample.subject && !s.sample.image && !s.sample.labels && !s.sample.features, "fields zeroed");
    CHECK(s.sample.struct_size == sizeof(ie_sample), "struct_size kept (%zu)", s.sample.struct_size);
    CHECK(s.after == 0x5a5a5a5a5a5a5a5aull, "nothing past the sample written");

    /* A caller that forgot struct_size still gets its (1.0) fields cleared. */
    s.sample = (ie_sample){.struct_size = 0, .features = image};
    ie_sample_clear(&s.sample);
    CHECK(!s.sample.features && s.sample.struct_size == 0, "1.0 fields cleared without struct_size");
    CHECK(s.after == 0x5a5a5a5a5a5a5a5aull, "nothing past the sample written");
    ie_tensor_release(labels);
    ie_sample_clear(NULL);
}

static void test_batch_clear(void) {
    ie_tensor *image = tensor_with_refs(2), *features = tensor_with_refs(2);
    const char *subjects[2] = {"a", "b"};
    ie_batch b = {.struct_size = sizeof b, .count = 2, .subjects = subjects, .image = image, .features = features};
    ie_batch_clear(&b);
    CHECK(atomic_load(&image->refcount) == 1 && atomic_load(&features->refcount) == 1, "references dropped");
    CHECK(!b.count && !b.subjects && !b.image && !b.labels && !b.features && b.struct_size == sizeof b,
          "fields zeroed, struct_size kept");
    CHECK(!strcmp(subjects[0], "a"), "the subjects array is the collator's, left alone");
    ie_tensor_release(image);
    ie_tensor_release(features);
    ie_batch_clear(NULL);
}

static void test_dataset_item(void) {
    const char *columns[3] = {"subject", "filePath", "channel"};
    const char *values[6] = {"7", "7/ct.nii.gz", "ct", "7", "7/mask.nii.gz", "mask"};
    ie_dataset_item item = {.struct_size = sizeof item, .subject = "7", .root = "/data", .n_rows = 2,
                            .n_columns = 3, .columns = columns, .values = values};
    const char *v = ie_dataset_item_value(&item, 1, "filePath");
    CHECK(v && !strcmp(v, "7/mask.nii.gz"), "row 1 filePath: %s", v ? v : "NULL");
    v = ie_dataset_item_value(&item, 0, "channel");
    CHECK(v && !strcmp(v, "ct"), "row 0 channel: %s", v ? v : "NULL");
    CHECK(!ie_dataset_item_value(&item, 2, "channel") && !ie_dataset_item_value(&item, -1, "channel"),
          "rows out of range");
    CHECK(!ie_dataset_item_value(&item, 0, "Channel") && !ie_dataset_item_value(&item, 0, NULL),
          "unknown column (names are case-sensitive)");
    CHECK(!ie_dataset_item_value(NULL, 0, "channel"), "no item");
}

int main(void) {
    test_task_names();
    test_sample_clear();
    test_batch_clear();
    test_dataset_item();
    return test_summary();
}
