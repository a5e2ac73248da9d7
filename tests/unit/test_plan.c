/* The dataset fingerprint and the plan (core/plan, docs/planning.md):
 * numpy's percentiles, orientation codes, nnU-Net's target spacing and
 * pooling rules on numbers worked out by hand; then, end to end, generated
 * CT volumes of 0.7 x 0.7 x 5 mm (anisotropic spacing, CT normalisation,
 * anisotropic pooling), the same fingerprint and plan bytes on 1 and 3
 * threads, a 16 GB GPU plan against an 8 GB CPU plan, and the real
 * ct_spleen case (skipped without ../shared/data). */
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "test_util.h"
#include "core/plan/fingerprint.h"
#include "core/plan/plan.h"
#include "core/plan/plan_rules.h"
#include "innereye/image_io.h"

static char tmpdir[] = "/tmp/ie_test_plan_XXXXXX";

static void rules(void) {
    /* numpy.percentile([1, 2, 3, 4, 10], q): 1.02, 3, 9.88 */
    const double v[5] = {1, 2, 3, 4, 10};
    CHECK(fabs(ie_fp_percentile_sorted(v, 5, 0.5) - 1.02) < 1e-12, "p0.5 %g", ie_fp_percentile_sorted(v, 5, 0.5));
    CHECK(ie_fp_percentile_sorted(v, 5, 50) == 3, "median");
    CHECK(fabs(ie_fp_percentile_sorted(v, 5, 99.5) - 9.88) < 1e-12, "p99.5 %g", ie_fp_percentile_sorted(v, 5, 99.5));
    char code[4];
    const double identity[9] = {1, 0, 0, 0, 1, 0, 0, 0, 1}, ras[9] = {-1, 0, 0, 0, -1, 0, 0, 0, 1};
    const double swapped[9] = {0, 0, 1, 0.9, 0.1, 0, 0, -1, 0};
    ie_fp_orientation(identity, code);
    CHECK(!strcmp(code, "LPS"), "identity is %s", code);
    ie_fp_orientation(ras, code);
    CHECK(!strcmp(code, "RAS"), "flipped x, y is %s", code);
    ie_fp_orientation(swapped, code);
    CHECK(!strcmp(code, "PIL"), "permuted axes give %s (columns point to P, I, L)", code);

    /* Ten cases of 0.7 x 0.7 mm and z spacings 3, 4, then eight of 5 mm,
     * 512 x 512 x 40: anisotropic in spacing and in voxels, so z takes the
     * 10th percentile, 3 + 0.9 * (4 - 3) = 3.9. */
    double sp[30], sz[30], target[3];
    for (int i = 0; i < 10; i++) {
        sp[3 * i] = sp[3 * i + 1] = 0.7;
        sp[3 * i + 2] = i == 0 ? 3 : i == 1 ? 4 : 5;
        sz[3 * i] = sz[3 * i + 1] = 512;
        sz[3 * i + 2] = 40;
    }
    bool aniso;
    int axis;
    ie_plan_target_spacing(sp, sz, 10, target, &aniso, &axis);
    CHECK(aniso && axis == 2, "anisotropic along z expected (got %d, axis %d)", aniso, axis);
    CHECK(target[0] == 0.7 && target[1] == 0.7 && fabs(target[2] - 3.9) < 1e-12, "target %g x %g x %g", target[0],
          target[1], target[2]);
    /* Thick slices but many of them (z size 400 > 512 / 3): not nnU-Net's
     * anisotropic case, the median stays. */
    for (int i = 0; i < 10; i++) sz[3 * i + 2] = 400;
    ie_plan_target_spacing(sp, sz, 10, target, &aniso, &axis);
    CHECK(!aniso && target[2] == 5, "many slices: median 5 expected, got %g (aniso %d)", target[2], aniso);

    /* Pooling for (D, H, W) spacing (5, 0.7, 0.7), patch 20 x 160 x 160:
     * H, W halve at levels 1-2 (1.4, 2.8 mm), D joins at 3 (5 < 2 x 2.8)
     * and 4, then stops at 5 voxels; H, W pool a fifth time. */
    ie_plan_net net = {.features = 16, .patch = {20, 160, 160}, .in_channels = 1, .classes = 2};
    const double dhw[3] = {5, 0.7, 0.7};
    ie_plan_topology(dhw, IE_PLAN_MAX_DEPTH, &net);
    CHECK(net.depth == 5 && net.pool[0] == 2 && net.pool[1] == 5 && net.pool[2] == 5,
          "depth %d pool [%d, %d, %d], want 5 [2, 5, 5]", net.depth, net.pool[0], net.pool[1], net.pool[2]);
    CHECK(net.patch[0] == 20 && net.patch[1] == 160, "patch %dx%dx%d", net.patch[0], net.patch[1], net.patch[2]);
    /* Our UNet pools D at the deepest two levels: 20, 20, 20, 20, 10, 5 slices. */
    CHECK(ie_plan_level_voxels(&net, 3) == 20 * 20 * 20 && ie_plan_level_voxels(&net, 5) == 5 * 5 * 5,
          "level voxels %lld, %lld", (long long)ie_plan_level_voxels(&net, 3), (long long)ie_plan_level_voxels(&net, 5));
    CHECK(ie_plan_memory_bytes(&net, 3) > ie_plan_memory_bytes(&net, 2), "memory must grow with the batch");
    /* Isotropic 1 mm, 36 x 50 x 35 -> 3 levels everywhere (36 -> 18 -> 9 -> 5; 5 cannot halve). */
    ie_plan_net iso = {.features = 16, .patch = {36, 50, 35}, .in_channels = 1, .classes = 3};
    const double one[3] = {1, 1, 1};
    ie_plan_topology(one, IE_PLAN_MAX_DEPTH, &iso);
    CHECK(iso.depth == 3 && iso.pool[0] == 3 && iso.pool[1] == 3 && iso.pool[2] == 3 && iso.patch[0] == 40 &&
              iso.patch[1] == 56 && iso.patch[2] == 40,
          "isotropic: depth %d pool [%d %d %d] patch %dx%dx%d", iso.depth, iso.pool[0], iso.pool[1], iso.pool[2],
          iso.patch[0], iso.patch[1], iso.patch[2]);
    /* The crop the hippocampus plan shrank to, 40 x 56 x 32: D and H as
     * above, W 32 -> 16 -> 8 -> 4, and no axis of 5, 7, 4 has the 8 voxels
     * a fourth halving needs (nnU-Net's bottleneck of at least 4), so depth
     * 3, not the 4 of configs/hippocampus.json (whose 32 x 48 x 32 crop ends
     * at 2 x 3 x 2 voxels). */
    ie_plan_net crop = {.features = 16, .patch = {40, 56, 32}, .in_channels = 1, .classes = 3};
    ie_plan_topology(one, IE_PLAN_MAX_DEPTH, &crop);
    CHECK(crop.depth == 3 && crop.pool[2] == 3 && crop.patch[2] == 32, "40x56x32: depth %d pool W %d", crop.depth,
          crop.pool[2]);
    ie_plan_net hand = {.features = 16, .patch = {32, 48, 32}, .in_channels = 1, .classes = 3};
    ie_plan_topology(one, IE_PLAN_MAX_DEPTH, &hand);
    CHECK(hand.depth == 3, "32x48x32: depth %d, want 3 (4 x 6 x 4 at the bottom)", hand.depth);
    /* The finest spacing is taken among the axes long enough to pool: a
     * 6-voxel D of 0.5 mm cannot pool, so H and W (1 mm) are within 2x of
     * the finest poolable spacing and halve: 64 -> 32 -> 16 -> 8 -> 4. With
     * the finest of all axes (0.5 mm) nothing would pool. */
    ie_plan_net thin = {.features = 16, .patch = {6, 64, 64}, .in_channels = 1, .classes = 2};
    const double fine_d[3] = {0.5, 1, 1};
    ie_plan_topology(fine_d, IE_PLAN_MAX_DEPTH, &thin);
    CHECK(thin.depth == 4 && thin.pool[0] == 0 && thin.pool[1] == 4 && thin.pool[2] == 4,
          "6x64x64 at 0.5x1x1 mm: depth %d pool [%d %d %d], want 4 [0 4 4]", thin.depth, thin.pool[0], thin.pool[1],
          thin.pool[2]);
    /* A lone poolable axis halves only while it has at least 12 voxels
     * (3 x the minimum edge): W 40 -> 20 -> 10, then 10 < 12 stops it (the
     * plain 8-voxel rule would halve it to 5). */
    ie_plan_net lone = {.features = 16, .patch = {4, 4, 40}, .in_channels = 1, .classes = 2};
    ie_plan_topology(one, IE_PLAN_MAX_DEPTH, &lone);
    CHECK(lone.depth == 2 && lone.pool[2] == 2 && lone.patch[2] == 40, "4x4x40: depth %d pool W %d, want 2 2",
          lone.depth, lone.pool[2]);
    /* The depth cap: 512^3 at 1 mm would pool 7 times (nnU-Net has no cap);
     * ours stops at IE_PLAN_MAX_DEPTH. */
    ie_plan_net big = {.features = 16, .patch = {512, 512, 512}, .in_channels = 1, .classes = 2};
    ie_plan_topology(one, IE_PLAN_MAX_DEPTH, &big);
    CHECK(big.depth == IE_PLAN_MAX_DEPTH, "512^3: depth %d", big.depth);
}

/* Writes case i: a CT-like volume (air -1000, a box of soft tissue ~40 HU
 * with a ramp, an organ 60-140 HU as label 1), x y z = 96 x 96 x 12 at
 * 0.7 x 0.7 x z_spacing mm. */
static void write_case(FILE *csv, int i, double z_spacing) {
    int64_t shape[3] = {12, 96, 96};
    ie_tensor *img = NULL, *lab = NULL;
    CHECK_OK(ie_tensor_zeros(IE_F32, 3, shape, IE_CPU, &img));
    CHECK_OK(ie_tensor_zeros(IE_U8, 3, shape, IE_CPU, &lab));
    float *x = ie_tensor_data(img);
    uint8_t *y = ie_tensor_data(lab);
    for (int d = 0; d < 12; d++)
        for (int h = 0; h < 96; h++)
            for (int w = 0; w < 96; w++) {
                int64_t k = ((int64_t)d * 96 + h) * 96 + w;
                bool body = h > 10 && h < 86 && w > 10 && w < 86;
                bool organ = d >= 3 && d < 9 && h >= 30 + i && h < 60 + i && w >= 30 && w < 62;
                x[k] = body ? 40.0f + (float)((h + w + d) % 17) : -1000.0f;
                if (organ) x[k] = 60.0f + (float)((h * 7 + w * 3 + d * 11 + i) % 81);
                y[k] = organ;
            }
    ie_image_geometry g;
    CHECK_OK(ie_image_geometry_from_shape(3, shape, &g));
    g.spacing[0] = g.spacing[1] = 0.7;
    g.spacing[2] = z_spacing;
    char ip[512], lp[512];
    snprintf(ip, sizeof ip, "%s/ct_%d.nii.gz", tmpdir, i);
    snprintf(lp, sizeof lp, "%s/seg_%d.nii.gz", tmpdir, i);
    CHECK_OK(ie_image_write(ip, img, &g));
    CHECK_OK(ie_image_write(lp, lab, &g));
    fprintf(csv, "case%d,ct_%d.nii.gz,ct\ncase%d,seg_%d.nii.gz,label\n", i, i, i, i);
    ie_tensor_release(img);
    ie_tensor_release(lab);
}

static char *fingerprint(const char *csv, int threads) {
    ie_threads_set(threads);
    ie_fp_options o = {.dataset_csv = csv, .label_channel = "label"};
    char *json = NULL;
    CHECK_OK(ie_fingerprint_run(&o, &json));
    return json;
}

static char *plan_for(const char *fp_json, double memory_mb, bool gpu, double minutes) {
    char path[512];
    snprintf(path, sizeof path, "%s/fingerprint.json", tmpdir);
    FILE *f = fopen(path, "w");
    fputs(fp_json, f);
    fclose(f);
    ie_plan_options o = {.fingerprint = path, .memory_mb = memory_mb, .time_budget_min = minutes, .gpu = gpu};
    char *json = NULL;
    CHECK_OK(ie_plan_make(&o, &json));
    return json;
}

static char *plan(const char *fp_json, double memory_mb, bool gpu) { return plan_for(fp_json, memory_mb, gpu, 30); }

static double num(const cJSON *root, const char *a, const char *b, int index) {
    const cJSON *o = cJSON_GetObjectItem(cJSON_GetObjectItem(root, a), b);
    if (index >= 0) o = cJSON_GetArrayItem(o, index);
    CHECK(cJSON_IsNumber(o), "%s.%s[%d] is not a number", a, b, index);
    return o ? o->valuedouble : NAN;
}

static const char *str(const cJSON *root, const char *a, const char *b) {
    const cJSON *o = cJSON_GetObjectItem(cJSON_GetObjectItem(root, a), b);
    return cJSON_IsString(o) ? o->valuestring : "";
}

static const cJSON *at(const cJSON *root, const char *a, const char *b, const char *c) {
    return cJSON_GetObjectItem(cJSON_GetObjectItem(cJSON_GetObjectItem(root, a), b), c);
}

/* The training recipe: nnU-Net's augmentations at its ranges and
 * probabilities, and its SGD + Nesterov with the poly schedule to 0 exactly
 * when the plan reaches nnU-Net's 1000 epochs (Adam otherwise). */
static void check_recipe(const cJSON *p, const char *what) {
    static const struct {
        const char *key;
        double lo, hi;
    } ranges[] = {{"noise_std", 0, 0.1},         {"blur_sigma", 0.5, 1},       {"brightness_range", 0.75, 1.25},
                  {"contrast_range", 0.75, 1.25}, {"lowres_zoom", 0.5, 1},      {"gamma_range", 0.7, 1.5},
                  {"scale_range", 0.7, 1.4},      {"elastic_alpha", 0, 900},     {"elastic_sigma", 9, 13}};
    for (size_t i = 0; i < sizeof ranges / sizeof ranges[0]; i++) {
        const cJSON *r = at(p, "data", "augment", ranges[i].key);
        CHECK(cJSON_GetArraySize(r) == 2 && cJSON_GetArrayItem(r, 0)->valuedouble == ranges[i].lo &&
                  cJSON_GetArrayItem(r, 1)->valuedouble == ranges[i].hi,
              "%s: data.augment.%s must be [%g, %g]", what, ranges[i].key, ranges[i].lo, ranges[i].hi);
    }
    /* Probabilities: nnU-Net's times epochs / 1000 (all of them at 1000 epochs;
     * written to 6 decimals). */
    const double epochs = num(p, "train", "epochs", -1), strength = epochs >= 1000 ? 1 : epochs / 1000;
    static const struct {
        const char *key;
        double p;
    } probs[] = {{"rotate_probability", 0.2},     {"scale_probability", 0.2},         {"noise_probability", 0.1},
                 {"blur_probability", 0.2},       {"blur_channel_probability", 0.5},  {"brightness_probability", 0.15},
                 {"contrast_probability", 0.15},  {"lowres_probability", 0.25},       {"lowres_channel_probability", 0.5},
                 {"gamma_invert_probability", 0.1}, {"gamma_probability", 0.3},     {"elastic_probability", 0}};
    for (size_t i = 0; i < sizeof probs / sizeof probs[0]; i++) {
        const cJSON *v = at(p, "data", "augment", probs[i].key);
        const bool conditional = strstr(probs[i].key, "channel") != NULL; /* per channel, once a transform runs */
        const double want = conditional ? probs[i].p : probs[i].p * strength;
        CHECK(cJSON_IsNumber(v) && fabs(v->valuedouble - want) <= 6e-7, "%s: data.augment.%s must be %g (%g epochs)",
              what, probs[i].key, want, epochs);
    }
    CHECK(cJSON_IsTrue(cJSON_GetObjectItem(cJSON_GetObjectItem(p, "train"), "deep_supervision")),
          "%s: train.deep_supervision must be on (nnU-Net's)", what);
    const bool full = epochs == 1000;
    const char *kind = cJSON_GetStringValue(at(p, "train", "optimizer", "kind"));
    if (full)
        CHECK(kind && !strcmp(kind, "sgd") && at(p, "train", "optimizer", "lr")->valuedouble == 0.01 &&
                  at(p, "train", "optimizer", "momentum")->valuedouble == 0.99 &&
                  cJSON_IsTrue(at(p, "train", "optimizer", "nesterov")) &&
                  at(p, "train", "optimizer", "weight_decay")->valuedouble == 3e-5 &&
                  at(p, "train", "schedule", "final_lr")->valuedouble == 0,
              "%s: 1000 epochs must get nnU-Net's SGD 1e-2, Nesterov momentum 0.99, weight decay 3e-5, poly to 0",
              what);
    else
        CHECK(kind && !strcmp(kind, "adam") && at(p, "train", "optimizer", "eps") &&
                  at(p, "train", "optimizer", "eps")->valuedouble == 1e-4 &&
                  cJSON_GetArraySize(at(p, "train", "optimizer", "betas")) == 2,
              "%s: %g epochs must get Adam with eps 1e-4 and betas written out (not inherited from "
              "configs/unet3d.json), got %s", what, num(p, "train", "epochs", -1), kind ? kind : "(none)");
    const char *sched = cJSON_GetStringValue(at(p, "train", "schedule", "kind"));
    CHECK(sched && !strcmp(sched, "polynomial") && at(p, "train", "schedule", "gamma")->valuedouble == 0.9,
          "%s: the poly schedule (exponent 0.9)", what);
}

static void anisotropic_ct(void) {
    char csv_path[512];
    snprintf(csv_path, sizeof csv_path, "%s/dataset.csv", tmpdir);
    FILE *csv = fopen(csv_path, "w");
    fprintf(csv, "subject,filePath,channel\n");
    /* z spacings 5, 5, 5, 4, 3 mm: median 5, 10th percentile 3.4. */
    const double z[5] = {5, 5, 5, 4, 3};
    for (int i = 0; i < 5; i++) write_case(csv, i, z[i]);
    fclose(csv);
    char *one = fingerprint(csv_path, 1), *three = fingerprint(csv_path, 3);
    CHECK(one && three && !strcmp(one, three), "fingerprint differs between 1 and 3 threads");
    cJSON *fp = cJSON_Parse(one);
    const cJSON *checks = cJSON_GetObjectItem(fp, "checks"), *first = cJSON_GetArrayItem(checks, 0);
    CHECK(!strcmp(cJSON_GetObjectItem(first, "check")->valuestring, "anisotropy") &&
              cJSON_IsTrue(cJSON_GetObjectItem(first, "flagged")),
          "the anisotropy check must flag 0.7 x 0.7 x 5 mm");
    const cJSON *ch = cJSON_GetArrayItem(cJSON_GetObjectItem(fp, "channels"), 0);
    CHECK(!strcmp(cJSON_GetObjectItem(ch, "modality")->valuestring, "CT"), "channel 'ct' must be CT");
    /* Foreground intensities are 60..140: percentiles inside that range. */
    const cJSON *inten = cJSON_GetArrayItem(cJSON_GetObjectItem(cJSON_GetObjectItem(fp, "summary"), "intensity"), 0);
    double lo = cJSON_GetObjectItem(inten, "p00_5")->valuedouble, hi = cJSON_GetObjectItem(inten, "p99_5")->valuedouble;
    double mean = cJSON_GetObjectItem(inten, "mean")->valuedouble, sd = cJSON_GetObjectItem(inten, "std")->valuedouble;
    CHECK(lo >= 60 && lo < 62 && hi > 138 && hi <= 140, "foreground percentiles %g, %g", lo, hi);
    const cJSON *case0 = cJSON_GetArrayItem(cJSON_GetObjectItem(fp, "cases"), 0);
    CHECK(cJSON_GetArrayItem(cJSON_GetObjectItem(case0, "class_voxels"), 1)->valuedouble == 6 * 30 * 32 &&
              cJSON_GetArrayItem(cJSON_GetObjectItem(case0, "components"), 1)->valuedouble == 1,
          "case 0: one organ of 6 x 30 x 32 voxels");

    char *cpu1 = plan(one, 8000, false), *cpu3 = plan(three, 8000, false), *gpu = plan(one, 16000, true);
    CHECK(cpu1 && cpu3 && !strcmp(cpu1, cpu3), "plans from the 1- and 3-thread fingerprints differ");
    cJSON *pc = cJSON_Parse(cpu1), *pg = cJSON_Parse(gpu);
    CHECK(fabs(num(pc, "data", "target_spacing", 0) - 0.7) < 1e-6 && fabs(num(pc, "data", "target_spacing", 2) - 3.4) < 1e-6,
          "target spacing %g x %g x %g, want 0.7 x 0.7 x 3.4", num(pc, "data", "target_spacing", 0),
          num(pc, "data", "target_spacing", 1), num(pc, "data", "target_spacing", 2));
    CHECK(!strcmp(str(pc, "data", "normalization"), "CtWindow"), "CT must be windowed, got %s",
          str(pc, "data", "normalization"));
    CHECK(fabs(num(pc, "data", "window_level", -1) - (lo + hi) / 2) < 1e-9 &&
              fabs(num(pc, "data", "window_width", -1) - (hi - lo)) < 1e-9,
          "window must be the foreground's 0.5-99.5 percentiles");
    CHECK(fabs(num(pc, "data", "output_range", 0) - (lo - mean) / sd) < 1e-9, "output_range must z-score");
    const cJSON *params = cJSON_GetObjectItem(cJSON_GetObjectItem(pc, "model"), "params");
    const cJSON *pool = cJSON_GetObjectItem(params, "pool_axes");
    int pd = cJSON_GetArrayItem(pool, 0)->valueint, ph = cJSON_GetArrayItem(pool, 1)->valueint;
    CHECK(pd < ph, "thick slices: D must pool fewer times than H (pool_axes [%d, %d, ...])", pd, ph);
    CHECK(ph == cJSON_GetObjectItem(params, "depth")->valueint, "H pools at every level");
    CHECK(num(pc, "data", "crop_size", 0) <= 16, "D patch %g: 12 slices at 5 mm are about 18 at 3.4 mm",
          num(pc, "data", "crop_size", 0));
    /* Rotation only in-plane for thick slices. */
    const cJSON *rot = cJSON_GetObjectItem(cJSON_GetObjectItem(cJSON_GetObjectItem(pc, "data"), "augment"),
                                           "rotate_degrees");
    CHECK(cJSON_GetArrayItem(rot, 0)->valuedouble == 180 && cJSON_GetArrayItem(rot, 1)->valuedouble == 0 &&
              cJSON_GetArrayItem(rot, 2)->valuedouble == 0,
          "thick slices: any in-plane angle, no rotation across them (nnU-Net's dummy 2D augmentation)");
    /* Elastic deformation (written out, off) in plane only for thick slices. */
    const cJSON *el = cJSON_GetObjectItem(cJSON_GetObjectItem(cJSON_GetObjectItem(pc, "data"), "augment"),
                                          "elastic_axes");
    CHECK(cJSON_GetArraySize(el) == 2 && cJSON_GetArrayItem(el, 0)->valueint == 1 &&
              cJSON_GetArrayItem(el, 1)->valueint == 2,
          "thick slices: elastic deformation in plane only (elastic_axes [1, 2])");
    /* The recipe: the 30-minute GPU plan reaches 1000 epochs (SGD), a
     * 2-minute CPU plan does not (Adam). */
    char *quick = plan_for(one, 8000, false, 2);
    cJSON *pq = cJSON_Parse(quick);
    CHECK(num(pg, "train", "epochs", -1) == 1000 && num(pq, "train", "epochs", -1) < 1000,
          "epochs: GPU 30 min %g (want 1000), CPU 2 min %g (want fewer)", num(pg, "train", "epochs", -1),
          num(pq, "train", "epochs", -1));
    /* The epoch count fills the training share (85%) of the budget: the
     * estimate fits, one more epoch would not (unless capped at 1000). */
    const cJSON *pin = cJSON_GetObjectItem(cJSON_GetObjectItem(pc, "plan"), "inputs");
    double est = cJSON_GetObjectItem(pin, "estimated_train_minutes")->valuedouble, ep = num(pc, "train", "epochs", -1);
    CHECK(est <= 0.85 * 30 + 1e-9 && (ep == 1000 || est / ep * (ep + 1) > 0.85 * 30),
          "CPU plan: %g epochs estimated at %g min must fill 85%% of 30 min", ep, est);
    CHECK(cJSON_GetObjectItem(pin, "gflops")->valuedouble == IE_PLAN_CPU_GFLOPS &&
              !strcmp(cJSON_GetObjectItem(pin, "gflops_from")->valuestring, "default"),
          "CPU plan: the default throughput, said so");
    check_recipe(pg, "GPU plan");
    check_recipe(pq, "2-minute CPU plan");
    check_recipe(pc, "CPU plan");
    cJSON_Delete(pq);
    free(quick);
    /* GPU 16 GB vs CPU 8 GB: the GPU plan is wider (32 features against
     * 16), its patch at least as large, its batch at least as large. */
    const cJSON *gparams = cJSON_GetObjectItem(cJSON_GetObjectItem(pg, "model"), "params");
    CHECK(cJSON_GetObjectItem(gparams, "features")->valueint == 32 &&
              cJSON_GetObjectItem(params, "features")->valueint == 16,
          "features: GPU 32, CPU 16");
    double cv = 1, gv = 1;
    for (int a = 0; a < 3; a++) {
        cv *= num(pc, "data", "crop_size", a);
        gv *= num(pg, "data", "crop_size", a);
    }
    CHECK(gv >= cv, "GPU patch %g voxels < CPU patch %g", gv, cv);
    CHECK(num(pg, "train", "batch_size", -1) >= num(pc, "train", "batch_size", -1), "GPU batch smaller than CPU's");
    CHECK(cJSON_IsString(cJSON_GetObjectItem(cJSON_GetObjectItem(cJSON_GetObjectItem(pc, "plan"), "why"),
                                              "data.target_spacing")),
          "plan.why explains the spacing");
    /* A small budget shrinks the patch; none that fits is refused. */
    char path[512];
    snprintf(path, sizeof path, "%s/fingerprint.json", tmpdir);
    ie_plan_options tiny = {.fingerprint = path, .memory_mb = 64, .time_budget_min = 30};
    char *none = NULL;
    CHECK_FAILS(ie_plan_make(&tiny, &none), IE_ERR_CONFIG, "give more memory");
    cJSON_Delete(fp);
    cJSON_Delete(pc);
    cJSON_Delete(pg);
    free(one);
    free(three);
    free(cpu1);
    free(cpu3);
    free(gpu);
}

/* Case i of the class-layout dataset: 16^3 voxels at 1 mm, class 1 a 4^3
 * box at z 4-7, y 2-5; class 2 a 4^3 box at y 9-12 (after class 1 along y
 * in every case), z 8-11 except case 11's at z 0-3 (after along z in 11 of
 * 12), and along x on alternate sides (6 and 6). */
static void write_layout_case(FILE *csv, int i) {
    int64_t shape[3] = {16, 16, 16};
    ie_tensor *img = NULL, *lab = NULL;
    CHECK_OK(ie_tensor_zeros(IE_F32, 3, shape, IE_CPU, &img));
    CHECK_OK(ie_tensor_zeros(IE_U8, 3, shape, IE_CPU, &lab));
    float *x = ie_tensor_data(img);
    uint8_t *y = ie_tensor_data(lab);
    int w1 = i % 2 ? 9 : 2, w2 = i % 2 ? 2 : 9, d2 = i == 11 ? 0 : 8;
    for (int d = 0; d < 16; d++)
        for (int h = 0; h < 16; h++)
            for (int w = 0; w < 16; w++) {
                int64_t k = ((int64_t)d * 16 + h) * 16 + w;
                bool one = d >= 4 && d < 8 && h >= 2 && h < 6 && w >= w1 && w < w1 + 4;
                bool two = d >= d2 && d < d2 + 4 && h >= 9 && h < 13 && w >= w2 && w < w2 + 4;
                y[k] = one ? 1 : two ? 2 : 0;
                x[k] = 100.0f + 10.0f * y[k] + (float)((d + h + w + i) % 5);
            }
    ie_image_geometry g;
    CHECK_OK(ie_image_geometry_from_shape(3, shape, &g));
    char ip[512], lp[512];
    snprintf(ip, sizeof ip, "%s/layout_img_%d.nii.gz", tmpdir, i);
    snprintf(lp, sizeof lp, "%s/layout_seg_%d.nii.gz", tmpdir, i);
    CHECK_OK(ie_image_write(ip, img, &g));
    CHECK_OK(ie_image_write(lp, lab, &g));
    fprintf(csv, "case%d,layout_img_%d.nii.gz,image\ncase%d,layout_seg_%d.nii.gz,label\n", i, i, i, i);
    ie_tensor_release(img);
    ie_tensor_release(lab);
}

/* An axis list of a plan (section.key, e.g. data.flip_axes), as a string like "0 2". */
static void axes_of(const char *plan_json, const char *section, const char *key, char *out, size_t cap) {
    cJSON *p = cJSON_Parse(plan_json);
    const cJSON *f = cJSON_GetObjectItem(cJSON_GetObjectItem(p, section), key);
    out[0] = '\0';
    for (int k = 0; k < cJSON_GetArraySize(f); k++)
        snprintf(out + strlen(out), cap - strlen(out), "%s%d", k ? " " : "", cJSON_GetArrayItem(f, k)->valueint);
    cJSON_Delete(p);
}

/* Mirroring (docs/planning.md, data.flip_axes): no mirroring along an axis
 * where two foreground classes keep their order in at least 95% of at least
 * 10 cases holding both; the fingerprint's centroids and counts are checked
 * against the boxes written above. */
static void class_layout(void) {
    char all[512], nine[512];
    snprintf(all, sizeof all, "%s/layout.csv", tmpdir);
    snprintf(nine, sizeof nine, "%s/layout9.csv", tmpdir);
    FILE *a = fopen(all, "w"), *b = fopen(nine, "w");
    fprintf(a, "subject,filePath,channel\n");
    fprintf(b, "subject,filePath,channel\n");
    for (int i = 0; i < 12; i++) {
        write_layout_case(a, i);
        if (i < 9) fprintf(b, "case%d,layout_img_%d.nii.gz,image\ncase%d,layout_seg_%d.nii.gz,label\n", i, i, i, i);
    }
    fclose(a);
    fclose(b);
    char *fp = fingerprint(all, 2);
    cJSON *f = cJSON_Parse(fp);
    /* Case 0: class 1 spans x 2-5, y 2-5, z 4-7: centroid 3.5, 3.5, 5.5. */
    const cJSON *c0 = cJSON_GetArrayItem(
        cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(f, "cases"), 0), "class_centroids_xyz"), 1);
    CHECK(cJSON_GetArraySize(c0) == 3 && cJSON_GetArrayItem(c0, 0)->valuedouble == 3.5 &&
              cJSON_GetArrayItem(c0, 1)->valuedouble == 3.5 && cJSON_GetArrayItem(c0, 2)->valuedouble == 5.5,
          "case 0, class 1: centroid (3.5, 3.5, 5.5) expected");
    const cJSON *order = cJSON_GetObjectItem(cJSON_GetObjectItem(f, "summary"), "class_order");
    const cJSON *pair = cJSON_GetArrayItem(order, 0);
    const cJSON *after = cJSON_GetObjectItem(pair, "b_after_a_xyz"), *before = cJSON_GetObjectItem(pair, "b_before_a_xyz");
    CHECK(cJSON_GetArraySize(order) == 1 && cJSON_GetObjectItem(pair, "cases")->valueint == 12 &&
              cJSON_GetArrayItem(after, 0)->valueint == 6 && cJSON_GetArrayItem(after, 1)->valueint == 12 &&
              cJSON_GetArrayItem(after, 2)->valueint == 11 && cJSON_GetArrayItem(before, 0)->valueint == 6 &&
              cJSON_GetArrayItem(before, 1)->valueint == 0 && cJSON_GetArrayItem(before, 2)->valueint == 1,
          "class_order: 12 cases, after x/y/z 6/12/11, before 6/0/1");
    char *p = plan(fp, 8000, false), flips[32];
    axes_of(p, "data", "flip_axes", flips, sizeof flips);
    CHECK(!strcmp(flips, "0 2"), "12 cases, classes ordered along y: flip_axes [%s], want [0 2] (D, W)", flips);
    /* Test-time mirroring along the same axes (nnU-Net), not along H. */
    char tta[32];
    axes_of(p, "infer", "mirror_axes", tta, sizeof tta);
    CHECK(!strcmp(tta, "0 2"), "infer.mirror_axes [%s], want data.flip_axes' [0 2]", tta);
    cJSON *pj = cJSON_Parse(p);
    const char *why = cJSON_GetStringValue(at(pj, "plan", "why", "data.flip_axes"));
    CHECK(why && strstr(why, "Not mirrored along H (y): 'class_2' after 'class_1' in 12 of the 12 cases"),
          "plan.why must name the axis and the counts: %s", why ? why : "(none)");
    cJSON_Delete(pj);
    free(p);
    /* z: 11 of 12 (92%) is below 95%: mirrored. 9 cases are too few to say
     * anything: every axis mirrored. */
    char *fp9 = fingerprint(nine, 1), *p9 = plan(fp9, 8000, false);
    axes_of(p9, "data", "flip_axes", flips, sizeof flips);
    CHECK(!strcmp(flips, "0 1 2"), "9 cases holding both classes: flip_axes [%s], want every axis", flips);
    /* A fingerprint without class_order (an older one): every axis, said so. */
    cJSON_DeleteItemFromObject(cJSON_GetObjectItem(f, "summary"), "class_order");
    char *old = cJSON_PrintUnformatted(f), *p_old = plan(old, 8000, false);
    axes_of(p_old, "data", "flip_axes", flips, sizeof flips);
    pj = cJSON_Parse(p_old);
    why = cJSON_GetStringValue(at(pj, "plan", "why", "data.flip_axes"));
    CHECK(!strcmp(flips, "0 1 2") && why && strstr(why, "no summary.class_order"),
          "a fingerprint without class_order: every axis, and the why says so (%s)", flips);
    cJSON_Delete(pj);
    cJSON_Delete(f);
    free(fp);
    free(fp9);
    free(p9);
    free(old);
    free(p_old);
}

static int ct_spleen(void) {
    const char *img = IE_SHARED_DATA_DIR "/ct_spleen/image.nii.gz";
    if (access(img, R_OK) != 0) return 0;
    char csv_path[512];
    snprintf(csv_path, sizeof csv_path, "%s/spleen.csv", tmpdir);
    FILE *csv = fopen(csv_path, "w");
    fprintf(csv, "subject,filePath,channel\nspleen_2,%s,ct\nspleen_2,%s/ct_spleen/label.nii.gz,label\n", img,
            IE_SHARED_DATA_DIR);
    fclose(csv);
    char *fp = fingerprint(csv_path, 2), *p = plan(fp, 8000, false);
    cJSON *pc = cJSON_Parse(p);
    /* 164 x 166 x 26 at 0.795 x 0.795 x 5 mm: one case, so its spacing. */
    CHECK(fabs(num(pc, "data", "target_spacing", 0) - 0.795) < 0.01 && num(pc, "data", "target_spacing", 2) == 5,
          "spleen target spacing %g x %g x %g", num(pc, "data", "target_spacing", 0),
          num(pc, "data", "target_spacing", 1), num(pc, "data", "target_spacing", 2));
    CHECK(!strcmp(str(pc, "data", "normalization"), "CtWindow"), "spleen: CtWindow expected");
    const cJSON *pool = cJSON_GetObjectItem(cJSON_GetObjectItem(cJSON_GetObjectItem(pc, "model"), "params"), "pool_axes");
    CHECK(cJSON_GetArrayItem(pool, 0)->valueint < cJSON_GetArrayItem(pool, 1)->valueint,
          "spleen: 5 mm slices pool fewer times along D");
    /* Spleen HU lie around 50-200; the window must sit there, not on air. */
    double level = num(pc, "data", "window_level", -1);
    CHECK(level > 0 && level < 300, "spleen window level %g HU", level);
    cJSON_Delete(pc);
    free(fp);
    free(p);
    return 1;
}

int main(void) {
    if (!mkdtemp(tmpdir)) return 1;
    rules();
    anisotropic_ct();
    class_layout();
    if (!ct_spleen()) printf("ct_spleen skipped: no ../shared/data\n");
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf %s", tmpdir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", tmpdir);
    return test_summary();
}
