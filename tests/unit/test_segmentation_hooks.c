/* The host's default segmentation hooks: loading channels through
 * host->read_image (a tiny raw format written here), normalisation, label
 * maps and masks, crops, padding, flips, class-balanced crops, collate and
 * whole-volume padding; and the hooks inside the loader. */
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/data/segmentation_hooks.h"
#include "test_util.h"

static char tmpdir[] = "/tmp/ie_test_seghooks_XXXXXX";
static char files[128][PATH_MAX];
static int n_files;

/* Raw volume: "IERAW" D H W as int64 then D*H*W float32. */
static void write_raw(const char *rel, int64_t d, int64_t h, int64_t w, const float *data) {
    char *path = files[n_files++];
    snprintf(path, PATH_MAX, "%s/%s", tmpdir, rel);
    FILE *f = fopen(path, "wb");
    int64_t dims[3] = {d, h, w};
    if (!f || fwrite("IERAW", 1, 5, f) != 5 || fwrite(dims, sizeof dims, 1, f) != 1 ||
        fwrite(data, sizeof(float), (size_t)(d * h * w), f) != (size_t)(d * h * w) || fclose(f) != 0) {
        fprintf(stderr, "cannot write %s\n", path);
        exit(1);
    }
}

static int reads; /* read_image calls */
static int masks_as_u8;

static ie_status raw_read(const ie_host *host, const char *path, ie_dtype dtype, ie_tensor **out) {
    (void)host;
    reads++;
    FILE *f = fopen(path, "rb");
    if (!f) return ie_error_set(IE_ERR_IO, "no such file: %s", path);
    char magic[5];
    int64_t dims[3];
    if (fread(magic, 1, 5, f) != 5 || memcmp(magic, "IERAW", 5) != 0 || fread(dims, sizeof dims, 1, f) != 1) {
        fclose(f);
        return ie_error_set(IE_ERR_IO, "%s is not a raw volume", path);
    }
    int64_t n = dims[0] * dims[1] * dims[2];
    float *v = malloc((size_t)n * sizeof *v);
    size_t got = fread(v, sizeof *v, (size_t)n, f);
    fclose(f);
    if (got != (size_t)n) {
        free(v);
        return ie_error_set(IE_ERR_IO, "%s is truncated", path);
    }
    ie_dtype as = dtype == IE_F32 ? IE_F32 : masks_as_u8 ? IE_U8 : IE_I64;
    ie_status st = dims[0] == 1 ? ie_tensor_empty(as, 2, dims + 1, IE_CPU, out) /* 2D: [H, W] */
                                : ie_tensor_empty(as, 3, dims, IE_CPU, out);
    if (st == IE_OK) {
        void *p = ie_tensor_data(*out);
        for (int64_t i = 0; i < n; i++) {
            if (as == IE_F32) ((float *)p)[i] = v[i];
            else if (as == IE_U8) ((uint8_t *)p)[i] = (uint8_t)v[i];
            else ((int64_t *)p)[i] = (int64_t)v[i];
        }
    }
    free(v);
    return st;
}

static ie_host host = {.struct_size = sizeof(ie_host), .read_image = raw_read};

static float *volume(int64_t n, float (*f)(int64_t i)) {
    float *v = malloc((size_t)n * sizeof *v);
    for (int64_t i = 0; i < n; i++) v[i] = f(i);
    return v;
}
static float f_ct(int64_t i) { return (float)((i * 37) % 101) * 3.5f - 100.0f; }
static float f_mr(int64_t i) { return (float)(i % 7) + 0.25f; }
static float f_seg(int64_t i) { return (float)(i % 3); }
static float f_liver(int64_t i) { return (float)(i % 4 == 1 || i % 4 == 2); }
static float f_tumour(int64_t i) { return (float)(i % 4 == 2 || i % 4 == 3); }
static float f_const(int64_t i) { (void)i; return 5.0f; }
static float f_index(int64_t i) { return (float)i; }
static float f_bad_seg(int64_t i) { return i == 17 ? 3.0f : 1.0f; }

static ie_dataset *dataset(const char *text) {
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/dataset.csv", tmpdir);
    FILE *f = fopen(path, "w");
    fputs(text, f);
    fclose(f);
    ie_dataset *ds = NULL;
    if (ie_dataset_load(path, NULL, &ds) != IE_OK) {
        fprintf(stderr, "dataset: %s\n", ie_error_message());
        exit(1);
    }
    remove(path);
    return ds;
}

static void make_files(void) {
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s/img", tmpdir);
    mkdir(dir, 0700);
    const int64_t D = 4, H = 5, W = 6, n = D * H * W;
    float *v;
    write_raw("img/ct.raw", D, H, W, v = volume(n, f_ct)), free(v);
    write_raw("img/mr.raw", D, H, W, v = volume(n, f_mr)), free(v);
    write_raw("img/seg.raw", D, H, W, v = volume(n, f_seg)), free(v);
    write_raw("img/liver.raw", D, H, W, v = volume(n, f_liver)), free(v);
    write_raw("img/tumour.raw", D, H, W, v = volume(n, f_tumour)), free(v);
    write_raw("img/const.raw", D, H, W, v = volume(n, f_const)), free(v);
    write_raw("img/bad_seg.raw", D, H, W, v = volume(n, f_bad_seg)), free(v);
    write_raw("img/small.raw", D, H, W - 1, v = volume(n, f_ct)), free(v);
    write_raw("img/index.raw", 6, 7, 8, v = volume(6 * 7 * 8, f_index)), free(v);
    write_raw("img/whole.raw", 5, 9, 16, v = volume(5 * 9 * 16, f_ct)), free(v);
    write_raw("img/whole_seg.raw", 5, 9, 16, v = volume(5 * 9 * 16, f_seg)), free(v);
    write_raw("img/flat.raw", 1, 5, 6, v = volume(30, f_mr)), free(v);
}

static const char *const image_channels[] = {"ct", "mr"};
static const ie_seg_norm norms[] = {IE_SEG_NORM_SIMPLE, IE_SEG_NORM_NONE};

static void test_load(void) {
    char text[2048];
    snprintf(text, sizeof text,
             "subject,filePath,channel\n"
             "p1,img/ct.raw,ct\n"
             "p1,%s/img/mr.raw,mr\n" /* an absolute path */
             "p1,img/seg.raw,seg\n"
             "p1,img/liver.raw,liver\n"
             "p1,img/tumour.raw,tumour\n"
             "p2,img/small.raw,ct\n"
             "p2,img/mr.raw,mr\n"
             "p2,img/seg.raw,seg\n"
             "p3,img/ct.raw,ct\n"
             "p3,img/mr.raw,mr\n"
             "p3,img/bad_seg.raw,seg\n"
             "p4,img/const.raw,ct\n"
             "p4,img/missing.raw,mr\n"
             "p5,img/ct.raw,ct\n",
             tmpdir);
    ie_dataset *ds = dataset(text);
    ie_seg_config cfg;
    ie_seg_config_init(&cfg);
    cfg.n_image_channels = 2;
    cfg.image_channels = image_channels;
    cfg.norm = norms;
    cfg.truth = IE_SEG_TRUTH_LABEL_MAP;
    cfg.label_channel = "seg";
    cfg.n_classes = 3;
    ie_sample s = {0};
    CHECK_OK(ie_seg_load(&cfg, ie_dataset_item_at(ds, 0), &host, &s));
    char buf[64];
    CHECK(strcmp(ie_tensor_describe(s.image, buf, sizeof buf), "[2, 4, 5, 6] f32") == 0, "image %s", buf);
    CHECK(strcmp(ie_tensor_describe(s.labels, buf, sizeof buf), "[4, 5, 6] i64") == 0, "labels %s", buf);
    CHECK(strcmp(s.subject, "p1") == 0, "subject");
    /* channel 0: z-score against a double-precision reference */
    const int n = 120;
    double mean = 0, var = 0;
    for (int i = 0; i < n; i++) mean += f_ct(i);
    mean /= n;
    for (int i = 0; i < n; i++) var += (f_ct(i) - mean) * (f_ct(i) - mean);
    double sd = sqrt(var / n);
    const float *img = ie_tensor_data_f32(s.image);
    const int64_t *lab = ie_tensor_data(s.labels);
    int bad_ct = 0, bad_mr = 0, bad_lab = 0;
    double got_mean = 0;
    for (int i = 0; i < n; i++) {
        if (fabs(img[i] - (f_ct(i) - mean) / sd) > 1e-5) bad_ct++;
        if (img[n + i] != f_mr(i)) bad_mr++;
        if (lab[i] != i % 3) bad_lab++;
        got_mean += img[i];
    }
    CHECK(bad_ct == 0 && fabs(got_mean / n) < 1e-5, "SimpleNorm z-scores the ct channel (%d off)", bad_ct);
    CHECK(bad_mr == 0, "None keeps the mr channel (%d off)", bad_mr);
    CHECK(bad_lab == 0, "label map read as classes");
    ie_tensor_release(s.image);
    ie_tensor_release(s.labels);
    memset(&s, 0, sizeof s);

    /* masks: structure k + 1 = mask k, the later one wins where they overlap */
    cfg.truth = IE_SEG_TRUTH_MASKS;
    cfg.n_mask_channels = 2;
    cfg.mask_channels = (const char *const[]){"liver", "tumour"};
    for (masks_as_u8 = 0; masks_as_u8 < 2; masks_as_u8++) {
        CHECK_OK(ie_seg_load(&cfg, ie_dataset_item_at(ds, 0), &host, &s));
        lab = ie_tensor_data(s.labels);
        int bad = 0;
        for (int i = 0; i < n; i++) {
            int want = i % 4 == 0 ? 0 : i % 4 == 1 ? 1 : 2; /* i%4==2: both masks -> tumour */
            if (lab[i] != want) bad++;
        }
        CHECK(bad == 0 && lab[2] == 2 && lab[1] == 1 && lab[3] == 2 && lab[0] == 0,
              "masks (%s): %d voxels wrong", masks_as_u8 ? "u8" : "i64", bad);
        ie_tensor_release(s.image);
        ie_tensor_release(s.labels);
        memset(&s, 0, sizeof s);
    }
    masks_as_u8 = 0;

    /* errors */
    cfg.truth = IE_SEG_TRUTH_LABEL_MAP;
    CHECK_FAILS(ie_seg_load(&cfg, ie_dataset_item_at(ds, 1), &host, &s), IE_ERR_SHAPE,
                "subject 'p2': the channels' shapes (D, H, W) differ: ct [4, 5, 5], mr [4, 5, 6], seg [4, 5, 6]");
    CHECK(s.image == NULL && s.labels == NULL, "nothing handed out on failure");
    CHECK_FAILS(ie_seg_load(&cfg, ie_dataset_item_at(ds, 2), &host, &s), IE_ERR_CONFIG,
                "subject 'p3': label map 'seg' holds 3 at voxel 17; labels must be whole numbers 0..2");
    CHECK_FAILS(ie_seg_load(&cfg, ie_dataset_item_at(ds, 3), &host, &s), IE_ERR_IO, "subject 'p4', channel 'mr'");
    CHECK(strstr(ie_error_message(), "img/missing.raw") != NULL, "read error names the path: %s", ie_error_message());
    CHECK_FAILS(ie_seg_load(&cfg, ie_dataset_item_at(ds, 4), &host, &s), IE_ERR_CONFIG,
                "subject 'p5' has no row with channel 'mr' (its channels: 'ct')");
    /* CtWindow (InnerEye's defaults: level 50, width 600, output [-1, 1]) */
    const ie_seg_norm ct_window[] = {IE_SEG_NORM_CT_WINDOW, IE_SEG_NORM_NONE};
    cfg.norm = ct_window;
    CHECK_OK(ie_seg_load(&cfg, ie_dataset_item_at(ds, 0), &host, &s));
    bool windowed = true;
    for (int i = 0; i < n; i++)
        windowed = windowed && fabsf(ie_tensor_data_f32(s.image)[i] - (f_ct(i) - 50.0f) / 300.0f) < 1e-6f;
    CHECK(windowed, "CtWindow maps [-250, 350] onto [-1, 1]");
    ie_sample_clear(&s);
    cfg.norm = norms;
    ie_host no_reader = {.struct_size = sizeof(ie_host)};
    CHECK_FAILS(ie_seg_load(&cfg, ie_dataset_item_at(ds, 0), &no_reader, &s), IE_ERR_INVALID_ARG, "read_image");

    /* a constant image: the std floor keeps the result finite (all zero) */
    cfg.truth = IE_SEG_TRUTH_NONE;
    cfg.n_image_channels = 1;
    CHECK_OK(ie_seg_load(&cfg, ie_dataset_item_at(ds, 3), &host, &s));
    int nonzero = 0;
    for (int i = 0; i < n; i++) nonzero += ie_tensor_data_f32(s.image)[i] != 0.0f;
    CHECK(nonzero == 0 && s.labels == NULL, "constant image normalises to 0, no labels without truth");
    ie_tensor_release(s.image);
    memset(&s, 0, sizeof s);
    /* ... but has no MRI window: the error names subject and channel */
    const ie_seg_norm mri_window[] = {IE_SEG_NORM_MRI_WINDOW};
    cfg.norm = mri_window;
    CHECK_FAILS(ie_seg_load(&cfg, ie_dataset_item_at(ds, 3), &host, &s), IE_ERR_NUMERIC,
                "subject 'p4', channel 'ct': MriWindow: no voxel lies above Otsu's threshold");
    CHECK(s.image == NULL, "nothing handed out on failure");
    cfg.norm = norms;
    ie_dataset_free(ds);

    /* a 2D image [H, W] is [1, H, W] */
    ds = dataset("subject,filePath,channel\nq,img/flat.raw,mr\n");
    cfg.image_channels = (const char *const[]){"mr"};
    cfg.norm = NULL;
    CHECK_OK(ie_seg_load(&cfg, ie_dataset_item_at(ds, 0), &host, &s));
    CHECK(strcmp(ie_tensor_describe(s.image, buf, sizeof buf), "[1, 1, 5, 6] f32") == 0, "2D image: %s", buf);
    ie_tensor_release(s.image);
    ie_dataset_free(ds);
}

/* A [1, 6, 7, 8] image and labels whose values are their linear index. */
static ie_sample index_sample(int64_t d, int64_t h, int64_t w) {
    ie_sample s = {.struct_size = sizeof s, .subject = "idx"};
    const int64_t ishape[4] = {1, d, h, w};
    ie_tensor_empty(IE_F32, 4, ishape, IE_CPU, &s.image);
    ie_tensor_empty(IE_I64, 3, ishape + 1, IE_CPU, &s.labels);
    for (int64_t i = 0; i < d * h * w; i++) {
        ie_tensor_data_f32(s.image)[i] = (float)i;
        ((int64_t *)ie_tensor_data(s.labels))[i] = i;
    }
    return s;
}

static void release(ie_sample *s) {
    ie_tensor_release(s->image);
    ie_tensor_release(s->labels);
    s->image = s->labels = NULL;
}

static void test_crop(void) {
    ie_seg_config cfg;
    ie_seg_config_init(&cfg);
    cfg.crop[0] = 4;
    cfg.crop[1] = 5;
    cfg.crop[2] = 3;
    int hist_z[3] = {0}, hist_y[3] = {0}, hist_x[6] = {0}, bad = 0;
    ie_sample original = index_sample(6, 7, 8);
    for (uint32_t item = 0; item < 300; item++) {
        ie_sample s = original;
        ie_tensor_retain(s.image);
        ie_tensor_retain(s.labels);
        ie_rng rng = ie_rng_make(5, IE_STREAM_AUGMENT, 0, item);
        CHECK_OK(ie_seg_augment(&cfg, &s, &rng));
        const float *p = ie_tensor_data_f32(s.image);
        const int64_t *l = ie_tensor_data(s.labels);
        int64_t first = (int64_t)p[0], oz = first / 56, oy = (first / 8) % 7, ox = first % 8;
        if (oz > 2 || oy > 2 || ox > 5) bad++;
        else hist_z[oz]++, hist_y[oy]++, hist_x[ox]++;
        for (int64_t z = 0; z < 4; z++)
            for (int64_t y = 0; y < 5; y++)
                for (int64_t x = 0; x < 3; x++) {
                    int64_t o = (z * 5 + y) * 3 + x, want = ((z + oz) * 7 + y + oy) * 8 + x + ox;
                    if (p[o] != (float)want || l[o] != want) bad++;
                }
        if (ie_tensor_dim(s.image, 1) != 4 || ie_tensor_dim(s.labels, 2) != 3) bad++;
        release(&s);
    }
    CHECK(bad == 0, "%d crops are not the sub-block at their offset inside the image", bad);
    int missing = 0;
    for (int k = 0; k < 3; k++) missing += hist_z[k] < 50 || hist_y[k] < 50;
    for (int k = 0; k < 6; k++) missing += hist_x[k] < 20;
    CHECK(missing == 0, "every valid crop position is drawn (z %d %d %d, x %d .. %d)", hist_z[0], hist_z[1], hist_z[2],
          hist_x[0], hist_x[5]);
    /* the input tensors were not modified */
    int touched = 0;
    for (int64_t i = 0; i < 6 * 7 * 8; i++) touched += ie_tensor_data_f32(original.image)[i] != (float)i;
    CHECK(touched == 0, "augment never writes into its input");

    /* padding where the image is smaller than the crop: before = floor((crop - size) / 2) */
    cfg.crop[0] = 9; /* 6 -> 9: 1 before, 2 after */
    cfg.crop[1] = 7; /* equal: no choice */
    cfg.crop[2] = 11; /* 8 -> 11: 1 before, 2 after */
    ie_sample s = original;
    ie_tensor_retain(s.image);
    ie_tensor_retain(s.labels);
    ie_rng rng = ie_rng_make(5, IE_STREAM_AUGMENT, 0, 0);
    CHECK_OK(ie_seg_augment(&cfg, &s, &rng));
    const float *p = ie_tensor_data_f32(s.image);
    const int64_t *l = ie_tensor_data(s.labels);
    int wrong = 0;
    for (int64_t z = 0; z < 9; z++)
        for (int64_t y = 0; y < 7; y++)
            for (int64_t x = 0; x < 11; x++) {
                int64_t o = (z * 7 + y) * 11 + x, sz = z - 1, sx = x - 1;
                bool inside = sz >= 0 && sz < 6 && sx >= 0 && sx < 8;
                float want = inside ? (float)((sz * 7 + y) * 8 + sx) : 0.0f;
                if (p[o] != want || l[o] != (int64_t)want) wrong++;
            }
    CHECK(wrong == 0, "padded crop: %d voxels wrong", wrong);
    release(&s);

    /* a crop of 0 keeps the axis; the labels must match the image */
    ie_seg_config_init(&cfg);
    s = original;
    ie_tensor_retain(s.image);
    ie_tensor_zeros(IE_I64, 3, (int64_t[]){6, 7, 9}, IE_CPU, &s.labels);
    CHECK_FAILS(ie_seg_augment(&cfg, &s, &rng), IE_ERR_SHAPE, "subject 'idx': labels [6, 7, 9] i64 do not fit image");
    release(&s);
    release(&original);
}

static void test_flip(void) {
    ie_seg_config cfg;
    ie_seg_config_init(&cfg);
    cfg.flip[2] = true;
    cfg.flip_probability = 1.0f;
    ie_sample original = index_sample(2, 3, 4);
    ie_sample s = original;
    ie_tensor_retain(s.image);
    ie_tensor_retain(s.labels);
    ie_rng rng = ie_rng_make(1, IE_STREAM_AUGMENT, 0, 0);
    CHECK_OK(ie_seg_augment(&cfg, &s, &rng));
    const float *p = ie_tensor_data_f32(s.image);
    /* voxel (0, 0, 0) = 0 moves to (0, 0, 3); (1, 2, 1) = 21 moves to (1, 2, 2) */
    CHECK(p[3] == 0.0f && p[0] == 3.0f && p[(1 * 3 + 2) * 4 + 2] == 21.0f, "W flip moves known voxels: %g %g %g", p[3],
          p[0], p[22]);
    CHECK(((int64_t *)ie_tensor_data(s.labels))[3] == 0 && ((int64_t *)ie_tensor_data(s.labels))[0] == 3,
          "labels flip with the image");
    release(&s);

    cfg.flip[0] = cfg.flip[1] = true;
    s = original;
    ie_tensor_retain(s.image);
    ie_tensor_retain(s.labels);
    CHECK_OK(ie_seg_augment(&cfg, &s, &rng));
    p = ie_tensor_data_f32(s.image);
    CHECK(p[0] == 23.0f && p[23] == 0.0f && p[(0 * 3 + 1) * 4 + 1] == (float)((1 * 3 + 1) * 4 + 2),
          "flips along all axes reverse the volume: %g %g", p[0], p[23]);
    release(&s);

    /* probability 0.5: both outcomes, each a pure function of the rng */
    cfg.flip[0] = cfg.flip[1] = false;
    cfg.flip_probability = 0.5f;
    int flipped = 0, again_same = 1;
    for (uint32_t item = 0; item < 100; item++) {
        float first[2];
        for (int rep = 0; rep < 2; rep++) {
            s = original;
            ie_tensor_retain(s.image);
            ie_tensor_retain(s.labels);
            rng = ie_rng_make(9, IE_STREAM_AUGMENT, 3, item);
            CHECK_OK(ie_seg_augment(&cfg, &s, &rng));
            first[rep] = ie_tensor_data_f32(s.image)[0];
            release(&s);
        }
        flipped += first[0] == 3.0f;
        again_same &= first[0] == first[1];
        bool expect = ie_rng_uniform_at(&rng, 64 + 2) < 0.5f;
        CHECK(expect == (first[0] == 3.0f), "item %u: flip decided by uniform_at(rng, 66)", item);
    }
    CHECK(flipped > 30 && flipped < 70 && again_same, "p = 0.5 flips %d of 100, reproducibly", flipped);
    release(&original);
}

static void test_class_balanced(void) {
    ie_sample original = index_sample(6, 7, 8);
    int64_t *l = ie_tensor_data(original.labels);
    memset(l, 0, sizeof(int64_t) * 6 * 7 * 8);
    const int64_t target = (5 * 7 + 6) * 8 + 7; /* the far corner */
    l[target] = 2;
    l[(1 * 7 + 1) * 8 + 1] = 1;
    ie_seg_config cfg;
    ie_seg_config_init(&cfg);
    cfg.crop[0] = cfg.crop[1] = cfg.crop[2] = 3;
    cfg.class_weights = (const float[]){0, 0, 1};
    cfg.n_class_weights = 3;
    int contains = 0, contains_one = 0;
    for (uint32_t item = 0; item < 60; item++) {
        ie_sample s = original;
        ie_tensor_retain(s.image);
        ie_tensor_retain(s.labels);
        ie_rng rng = ie_rng_make(2, IE_STREAM_AUGMENT, 0, item);
        CHECK_OK(ie_seg_augment(&cfg, &s, &rng));
        for (int i = 0; i < 27; i++) contains += ((int64_t *)ie_tensor_data(s.labels))[i] == 2;
        release(&s);
    }
    CHECK(contains == 60, "weight only on class 2: every crop holds its voxel (%d of 60)", contains);
    cfg.class_weights = (const float[]){0, 1, 1};
    contains = 0;
    for (uint32_t item = 0; item < 60; item++) {
        ie_sample s = original;
        ie_tensor_retain(s.image);
        ie_tensor_retain(s.labels);
        ie_rng rng = ie_rng_make(2, IE_STREAM_AUGMENT, 0, item);
        CHECK_OK(ie_seg_augment(&cfg, &s, &rng));
        for (int i = 0; i < 27; i++) {
            contains += ((int64_t *)ie_tensor_data(s.labels))[i] == 2;
            contains_one += ((int64_t *)ie_tensor_data(s.labels))[i] == 1;
        }
        release(&s);
    }
    CHECK(contains + contains_one == 60 && contains > 15 && contains_one > 15,
          "equal weights on classes 1 and 2: each chosen about half the time (%d, %d)", contains, contains_one);
    release(&original);
}

static void test_collate(void) {
    ie_sample a = index_sample(2, 3, 4), b = index_sample(2, 3, 4), c = index_sample(2, 3, 5);
    a.subject = "a";
    b.subject = "b";
    c.subject = "c";
    ie_tensor_data_f32(b.image)[0] = -7.0f;
    ie_batch batch;
    CHECK_OK(ie_seg_collate((const ie_sample *const[]){&a, &b}, 2, &batch));
    char buf[64];
    CHECK(strcmp(ie_tensor_describe(batch.image, buf, sizeof buf), "[2, 1, 2, 3, 4] f32") == 0, "image %s", buf);
    CHECK(strcmp(ie_tensor_describe(batch.labels, buf, sizeof buf), "[2, 2, 3, 4] i64") == 0, "labels %s", buf);
    CHECK(ie_tensor_data_f32(batch.image)[24] == -7.0f && ie_tensor_data_f32(batch.image)[25] == 1.0f &&
              ((int64_t *)ie_tensor_data(batch.labels))[47] == 23,
          "stacked in order");
    CHECK(batch.count == 2 && batch.subjects == NULL && batch.features == NULL, "count set, subjects left to the loader");
    ie_tensor_release(batch.image);
    ie_tensor_release(batch.labels);
    CHECK_FAILS(ie_seg_collate((const ie_sample *const[]){&a, &b, &c}, 3, &batch), IE_ERR_SHAPE,
                "subject 'a' has image [1, 2, 3, 4] f32 but subject 'c' has image [1, 2, 3, 5] f32");
    ie_tensor *keep = b.labels;
    b.labels = NULL;
    CHECK_FAILS(ie_seg_collate((const ie_sample *const[]){&a, &b}, 2, &batch), IE_ERR_SHAPE,
                "subject 'a' has labels but subject 'b' has no labels");
    b.labels = keep;
    CHECK_FAILS(ie_seg_collate((const ie_sample *const[]){&a}, 0, &batch), IE_ERR_INVALID_ARG, "no samples");
    release(&a);
    release(&b);
    release(&c);
}

static void test_whole_volume(void) {
    ie_dataset *ds = dataset("subject,filePath,channel\nw,img/whole.raw,ct\nw,img/whole_seg.raw,seg\n");
    ie_seg_config cfg;
    ie_seg_config_init(&cfg);
    cfg.n_image_channels = 1;
    cfg.image_channels = (const char *const[]){"ct"};
    cfg.truth = IE_SEG_TRUTH_LABEL_MAP;
    cfg.label_channel = "seg";
    ie_sample raw = {0}, s = {0};
    ie_seg_padding pad;
    CHECK_OK(ie_seg_load(&cfg, ie_dataset_item_at(ds, 0), &host, &raw));
    CHECK_OK(ie_seg_load_whole(&cfg, ie_dataset_item_at(ds, 0), &host, (int64_t[]){8, 8, 8}, &s, &pad));
    char buf[64];
    CHECK(strcmp(ie_tensor_describe(s.image, buf, sizeof buf), "[1, 8, 16, 16] f32") == 0, "padded image %s", buf);
    CHECK(pad.original[0] == 5 && pad.original[1] == 9 && pad.original[2] == 16 && pad.before[0] == 1 &&
              pad.before[1] == 3 && pad.before[2] == 0 && pad.padded[1] == 16,
          "padding record: before %lld %lld %lld", (long long)pad.before[0], (long long)pad.before[1],
          (long long)pad.before[2]);
    CHECK(ie_tensor_data_f32(s.image)[0] == 0.0f &&
              ie_tensor_data_f32(s.image)[(1 * 16 + 3) * 16] == ie_tensor_data_f32(raw.image)[0],
          "original voxel 0 sits at (1, 3, 0)");
    ie_tensor *back = NULL, *lab_back = NULL;
    CHECK_OK(ie_seg_unpad(s.image, &pad, &back));
    CHECK_OK(ie_seg_unpad(s.labels, &pad, &lab_back));
    CHECK(ie_tensor_same_shape(back, raw.image) &&
              memcmp(ie_tensor_data(back), ie_tensor_data(raw.image), 5 * 9 * 16 * sizeof(float)) == 0,
          "unpad gives back the original image");
    CHECK(ie_tensor_same_shape(lab_back, raw.labels) &&
              memcmp(ie_tensor_data(lab_back), ie_tensor_data(raw.labels), 5 * 9 * 16 * sizeof(int64_t)) == 0,
          "unpad gives back the original labels");
    ie_tensor_release(back);
    ie_tensor_release(lab_back);
    /* predictions [N, K, D, H, W] */
    ie_tensor *pred = NULL;
    CHECK_OK(ie_tensor_zeros(IE_F32, 5, (int64_t[]){1, 3, 8, 16, 16}, IE_CPU, &pred));
    CHECK_OK(ie_seg_unpad(pred, &pad, &back));
    CHECK(strcmp(ie_tensor_describe(back, buf, sizeof buf), "[1, 3, 5, 9, 16] f32") == 0, "unpadded logits %s", buf);
    ie_tensor_release(back);
    ie_tensor_release(pred);
    CHECK_FAILS(ie_seg_unpad(raw.image, &pad, &back), IE_ERR_SHAPE, "does not end in the padded size [8, 16, 16]");
    release(&raw);
    release(&s);
    ie_dataset_free(ds);
}

static void batch_release(ie_batch *b) {
    ie_tensor_release(b->image);
    ie_tensor_release(b->labels);
    memset(b, 0, sizeof *b);
}

/* The default hooks inside the loader: same bytes for 0 and 2 workers and
 * with the cache (augment_keeps_input skips clones). */
static void test_in_loader(void) {
    char text[4096];
    size_t len = (size_t)snprintf(text, sizeof text, "subject,filePath,channel\n");
    for (int i = 0; i < 7; i++)
        len += (size_t)snprintf(text + len, sizeof text - len, "s%d,img/%s.raw,ct\ns%d,img/seg.raw,seg\n", i,
                                i % 2 ? "ct" : "mr", i);
    ie_dataset *ds = dataset(text);
    ie_seg_config cfg;
    ie_seg_config_init(&cfg);
    cfg.n_image_channels = 1;
    cfg.image_channels = (const char *const[]){"ct"};
    cfg.norm = (const ie_seg_norm[]){IE_SEG_NORM_SIMPLE};
    cfg.truth = IE_SEG_TRUTH_LABEL_MAP;
    cfg.label_channel = "seg";
    cfg.crop[0] = 3;
    cfg.crop[1] = 6; /* larger than 5: padded */
    cfg.crop[2] = 4;
    cfg.flip[1] = cfg.flip[2] = true;
    char *ref = NULL;
    size_t ref_len = 0;
    for (int run = 0; run < 3; run++) {
        ie_loader_opts o = {.dataset = ds, .batch_size = 3, .shuffle = true, .seed = 77, .host = &host};
        o.hooks = ie_seg_hooks(&cfg);
        o.workers = run == 0 ? 0 : 2;
        o.cache_bytes = run == 2 ? (1 << 20) : 0;
        ie_loader *l = NULL;
        CHECK_OK(ie_loader_create(&o, &l));
        char *bytes = malloc(1 << 16);
        size_t n = 0;
        int before = reads;
        for (int e = 0; e < 3; e++) {
            CHECK_OK(ie_loader_begin_epoch(l, e));
            ie_batch b;
            bool got;
            while (ie_loader_next(l, &b, &got) == IE_OK && got) {
                char buf[64];
                CHECK(ie_tensor_dim(b.image, 0) == b.count && ie_tensor_dim(b.image, 2) == 3 &&
                          ie_tensor_dim(b.image, 3) == 6 && ie_tensor_dim(b.image, 4) == 4,
                      "batch image %s", ie_tensor_describe(b.image, buf, sizeof buf));
                size_t ib = (size_t)ie_tensor_numel(b.image) * 4, lb = (size_t)ie_tensor_numel(b.labels) * 8;
                memcpy(bytes + n, ie_tensor_data(b.image), ib);
                memcpy(bytes + n + ib, ie_tensor_data(b.labels), lb);
                n += ib + lb;
                batch_release(&b);
            }
        }
        if (run == 2) CHECK(reads - before == 14, "with the cache only epoch 0 reads files (%d reads)", reads - before);
        if (run == 0) {
            ref = bytes;
            ref_len = n;
        } else {
            CHECK(n == ref_len && memcmp(bytes, ref, n) == 0, "run %d: batches differ from the 0-worker run", run);
            free(bytes);
        }
        ie_loader_free(l);
    }
    free(ref);
    ie_dataset_free(ds);
}

int main(void) {
    if (!mkdtemp(tmpdir)) {
        perror("mkdtemp");
        return 1;
    }
    make_files();
    test_load();
    test_crop();
    test_flip();
    test_class_balanced();
    test_collate();
    test_whole_volume();
    test_in_loader();
    for (int i = 0; i < n_files; i++) remove(files[i]);
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s/img", tmpdir);
    rmdir(dir);
    rmdir(tmpdir);
    return test_summary();
}
