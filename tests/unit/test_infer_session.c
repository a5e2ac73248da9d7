/* tests - tools/infer_session.c: one subject's inputs never change the
 * loaded session.  `innereye serve` answers every request with one
 * session, so a mask sent with one request (infer --mask: the channel
 * "mask" when the config names none) must be that request's alone: the
 * session's settings stay the config's, and each subject gets its own
 * settings and dataset. */
#include "tools/infer_session.h"
#include "test_util.h"

/* The channel of row `row` of the subject's only item. */
static const char *channel_of(const ie_dataset *ds, int row) {
    const ie_dataset_item *item = ie_dataset_item_at(ds, 0);
    int c = ie_dataset_column(ds, "channel");
    return item && c >= 0 && row < item->n_rows ? item->values[row * item->n_columns + c] : "?";
}

int main(void) {
    ie_infer_session s = {0};
    s.seg.seg.n_image_channels = 2;
    s.seg.image_channels[0] = "ct";
    s.seg.image_channels[1] = "mr";
    s.settings.mask_channel = ""; /* the config names no mask channel */
    s.settings.n_classes = 3;
    const char *images[2] = {"p1_ct.nii.gz", "p1_mr.nii.gz"};
    ie_infer_settings settings;
    ie_dataset *ds = NULL;

    /* With a mask: the subject's settings name "mask", the session's do not. */
    CHECK_OK(ie_infer_session_subject(&s, images, 2, "p1_body.nii.gz", "p1", &settings, &ds));
    CHECK(!strcmp(settings.mask_channel, "mask"), "the subject's mask channel is \"mask\": %s",
          settings.mask_channel);
    CHECK(s.settings.mask_channel[0] == '\0', "the session's mask channel is still the config's (none): \"%s\"",
          s.settings.mask_channel);
    CHECK(settings.n_classes == 3, "the rest of the settings are the session's");
    CHECK(ie_dataset_count(ds) == 1 && ie_dataset_item_at(ds, 0)->n_rows == 3, "one subject of three files");
    CHECK(!strcmp(channel_of(ds, 0), "ct") && !strcmp(channel_of(ds, 1), "mr") && !strcmp(channel_of(ds, 2), "mask"),
          "the rows are ct, mr and mask: %s, %s, %s", channel_of(ds, 0), channel_of(ds, 1), channel_of(ds, 2));
    ie_dataset_free(ds);

    /* The next subject, without a mask, is inferred as the config says. */
    CHECK_OK(ie_infer_session_subject(&s, images, 2, NULL, "p2", &settings, &ds));
    CHECK(settings.mask_channel[0] == '\0', "no mask: no mask channel, whatever came before (\"%s\")",
          settings.mask_channel);
    CHECK(ie_dataset_item_at(ds, 0)->n_rows == 2, "two files, no mask row");
    ie_dataset_free(ds);

    /* A config that names the mask channel keeps that name. */
    s.settings.mask_channel = "roi";
    CHECK_OK(ie_infer_session_subject(&s, images, 2, "p3_roi.nii.gz", "p3", &settings, &ds));
    CHECK(!strcmp(settings.mask_channel, "roi") && !strcmp(channel_of(ds, 2), "roi"),
          "the mask row is data.mask_channel's: %s", channel_of(ds, 2));
    CHECK(!strcmp(s.settings.mask_channel, "roi"), "the session's setting unchanged");
    ie_dataset_free(ds);

    /* A wrong count names the channels, and gives no dataset. */
    CHECK_FAILS(ie_infer_session_subject(&s, images, 1, NULL, "p4", &settings, &ds), IE_ERR_CONFIG,
                "the model takes 2 image channels (data.image_channels: ct, mr), but 1 --image file was given");
    CHECK(ds == NULL, "no dataset after a refusal");
    return test_summary();
}
