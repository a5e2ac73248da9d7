/* core/plan - a training config from a fingerprint (see plan.h; every rule
 * is stated where it is applied and again in docs/planning.md). */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "core/plan/plan.h"
#include "core/plan/plan_rules.h"
#include "core/util/file_util.h"

/* Rules in numbers (docs/planning.md explains each). */
#define CPU_FEATURES 16         /* configs/hippocampus.json's width: a quarter of the compute of 32 */
#define GPU_FEATURES 32         /* nnU-Net's */
#define MIN_BATCH 2             /* nnU-Net's: batch norm needs more than one sample */
#define MAX_BATCH_FRACTION 0.05 /* nnU-Net: one batch sees at most 5% of the dataset's voxels */
#define MIN_STEPS 1000          /* a patch shrinks until this many steps fit the time budget */
#define MAX_EPOCHS 1000         /* nnU-Net's */
#define TRAIN_SHARE 0.85        /* of the time budget; the rest: data check, test inference, metrics */
#define VALIDATION_SHARE 0.10   /* validation passes may take this share of training time */
#define FOREGROUND_SHARE (1.0 / 3.0) /* nnU-Net's oversample_foreground_percent */
#define ORDER_KEPT_SHARE 0.95   /* classes this often in one order along an axis: no mirroring along it */
#define ORDER_MIN_CASES 10      /* fewer cases holding both classes say nothing about their order */
#define SPLIT_TRAIN 0.7
#define SPLIT_VAL 0.15
#define SPLIT_TEST 0.15

typedef struct fingerprint {
    int n_cases, n_channels, n_classes;
    double *spacing, *size; /* n x 3, x y z */
    const char *csv;
    const char *channel[16], *modality[16];
    double p005[16], p995[16], mean[16], std[16];
    const char *label_channel;
    /* Per axis (x, y, z) the pair of foreground classes most often in one
     * order along it (summary.class_order): labels a, b, cases holding both,
     * and how many of those have b after a / before a. */
    bool has_order;
    int order_a[3], order_b[3], order_cases[3], order_after[3], order_before[3];
} fingerprint;

static ie_status field_error(const char *path, const char *field, const char *what) {
    return ie_error_set(IE_ERR_CONFIG, "%s: %s %s; make it with innereye dataset fingerprint", path, field, what);
}

static const cJSON *get(const cJSON *o, const char *key) { return cJSON_GetObjectItemCaseSensitive(o, key); }

static bool triple(const cJSON *a, double *out) {
    if (!cJSON_IsArray(a) || cJSON_GetArraySize(a) != 3) return false;
    for (int k = 0; k < 3; k++) {
        const cJSON *v = cJSON_GetArrayItem(a, k);
        if (!cJSON_IsNumber(v) || !(v->valuedouble > 0)) return false;
        out[k] = v->valuedouble;
    }
    return true;
}

static ie_status read_fingerprint(const char *path, const cJSON *root, fingerprint *fp) {
    const cJSON *fmt = get(root, "format"), *cases = get(root, "cases"), *chs = get(root, "channels");
    const cJSON *sum = get(root, "summary");
    if (!cJSON_IsString(fmt) || strcmp(fmt->valuestring, "innereye-fingerprint-1"))
        return field_error(path, "format", "is not \"innereye-fingerprint-1\"");
    if (!cJSON_IsArray(cases) || cJSON_GetArraySize(cases) < 1) return field_error(path, "cases", "is missing or empty");
    if (!cJSON_IsArray(chs) || cJSON_GetArraySize(chs) < 1 || cJSON_GetArraySize(chs) > 16)
        return field_error(path, "channels", "must list 1 to 16 channels");
    const cJSON *inten = get(sum, "intensity"), *classes = get(sum, "classes"), *csv = get(root, "dataset_csv");
    if (!cJSON_IsArray(inten) || cJSON_GetArraySize(inten) != cJSON_GetArraySize(chs))
        return field_error(path, "summary.intensity", "must have one entry per channel");
    if (!cJSON_IsNumber(classes) || classes->valuedouble < 2 || classes->valuedouble > IE_PLAN_MAX_CLASSES)
        return field_error(path, "summary.classes", "must be a number of classes 2..64");
    if (!cJSON_IsString(csv)) return field_error(path, "dataset_csv", "is missing");
    fp->csv = csv->valuestring;
    fp->n_classes = (int)classes->valuedouble;
    fp->n_channels = cJSON_GetArraySize(chs);
    const cJSON *lab = get(root, "label_channel");
    fp->label_channel = cJSON_IsString(lab) ? lab->valuestring : "label";
    for (int c = 0; c < fp->n_channels; c++) {
        const cJSON *ch = cJSON_GetArrayItem(chs, c), *st = cJSON_GetArrayItem(inten, c);
        const cJSON *name = get(ch, "name"), *mod = get(ch, "modality");
        if (!cJSON_IsString(name) || !cJSON_IsString(mod) || (strcmp(mod->valuestring, "CT") && strcmp(mod->valuestring, "MR")))
            return field_error(path, "channels[]", "needs a name and a modality CT or MR");
        fp->channel[c] = name->valuestring;
        fp->modality[c] = mod->valuestring;
        const char *keys[4] = {"p00_5", "p99_5", "mean", "std"};
        double *dst[4] = {&fp->p005[c], &fp->p995[c], &fp->mean[c], &fp->std[c]};
        for (int k = 0; k < 4; k++) {
            const cJSON *v = get(st, keys[k]);
            if (!cJSON_IsNumber(v) && !strcmp(fp->modality[c], "CT"))
                return field_error(path, "summary.intensity[].p00_5/p99_5/mean/std", "are missing (no foreground?)");
            *dst[k] = cJSON_IsNumber(v) ? v->valuedouble : 0;
        }
    }
    const cJSON *order = get(sum, "class_order");
    fp->has_order = cJSON_IsArray(order);
    for (int i = 0; fp->has_order && i < cJSON_GetArraySize(order); i++) {
        const cJSON *e = cJSON_GetArrayItem(order, i), *pair = get(e, "classes"), *both = get(e, "cases");
        const cJSON *after = get(e, "b_after_a_xyz"), *before = get(e, "b_before_a_xyz");
        if (cJSON_GetArraySize(pair) != 2 || !cJSON_IsNumber(both) || cJSON_GetArraySize(after) != 3 ||
            cJSON_GetArraySize(before) != 3)
            return field_error(path, "summary.class_order[]", "needs classes [a, b], cases and b_after_a_xyz/b_before_a_xyz");
        int n_both = both->valueint, a = cJSON_GetArrayItem(pair, 0)->valueint, b = cJSON_GetArrayItem(pair, 1)->valueint;
        if (a < 1 || b <= a || b >= fp->n_classes)
            return field_error(path, "summary.class_order[].classes", "must be foreground labels a < b below summary.classes");
        for (int x = 0; n_both >= ORDER_MIN_CASES && x < 3; x++) {
            int na = cJSON_GetArrayItem(after, x)->valueint, nb = cJSON_GetArrayItem(before, x)->valueint;
            int kept = na > nb ? na : nb, best = fp->order_after[x] > fp->order_before[x] ? fp->order_after[x]
                                                                                         : fp->order_before[x];
            if (fp->order_cases[x] && (double)kept / n_both <= (double)best / fp->order_cases[x]) continue;
            fp->order_a[x] = a;
            fp->order_b[x] = b;
            fp->order_cases[x] = n_both;
            fp->order_after[x] = na;
            fp->order_before[x] = nb;
        }
    }
    fp->n_cases = cJSON_GetArraySize(cases);
    fp->spacing = malloc((size_t)fp->n_cases * 3 * sizeof *fp->spacing);
    fp->size = malloc((size_t)fp->n_cases * 3 * sizeof *fp->size);
    if (!fp->spacing || !fp->size) return ie_error_set(IE_ERR_NOMEM, "plan: out of memory");
    for (int i = 0; i < fp->n_cases; i++) {
        const cJSON *c = cJSON_GetArrayItem(cases, i);
        if (!triple(get(c, "spacing_xyz"), fp->spacing + 3 * i) || !triple(get(c, "size_xyz"), fp->size + 3 * i)) {
            char field[64];
            snprintf(field, sizeof field, "cases[%d].spacing_xyz/size_xyz", i);
            return field_error(path, field, "must be three positive numbers");
        }
    }
    return IE_OK;
}

/* The "why" sentences: printf into plan.why.<key>. */
static void why(cJSON *w, const char *key, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void why(cJSON *w, const char *key, const char *fmt, ...) {
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    cJSON_AddStringToObject(w, key, buf);
}

static cJSON *ints(const int *v, int n) { return cJSON_CreateIntArray(v, n); }

/* Picks the patch: starts at the median resampled shape (at most the
 * device's largest patch), then, as nnU-Net, repeatedly takes 2^pool
 * voxels off the axis whose patch is largest relative to the median shape
 * until batch 2 fits the memory and MIN_STEPS steps fit the time, or the
 * patch cannot shrink further.  Returns how the patch was limited. */
static const char *choose_patch(ie_plan_net *net, const double spacing_dhw[3], const double median_dhw[3],
                                double memory_bytes, double step_seconds_budget, double gflops, int max_voxels) {
    for (int a = 0; a < 3; a++) net->patch[a] = (int)fmax(1, round(median_dhw[a]));
    /* Cap the starting volume: scale the axes in proportion to mm. */
    double vox = (double)net->patch[0] * net->patch[1] * net->patch[2];
    if (vox > max_voxels) {
        double s = cbrt(max_voxels / vox);
        for (int a = 0; a < 3; a++) net->patch[a] = (int)fmax(IE_PLAN_MIN_FEATURE_MAP, floor(net->patch[a] * s));
    }
    const char *limit = "the median shape";
    for (int iter = 0; iter < 1000; iter++) {
        ie_plan_topology(spacing_dhw, IE_PLAN_MAX_DEPTH, net);
        bool mem_ok = ie_plan_memory_bytes(net, MIN_BATCH) <= memory_bytes;
        bool time_ok = ie_plan_train_flops(net, MIN_BATCH) / (gflops * 1e9) <= step_seconds_budget;
        if (mem_ok && time_ok) return limit;
        limit = mem_ok ? "the time budget" : "the memory budget";
        int worst = -1;
        double worst_ratio = 0;
        for (int a = 0; a < 3; a++) {
            int step = 1 << net->pool[a];
            if (net->patch[a] - step < IE_PLAN_MIN_FEATURE_MAP) continue;
            double r = net->patch[a] / median_dhw[a];
            if (r > worst_ratio) {
                worst_ratio = r;
                worst = a;
            }
        }
        if (worst < 0) return "nothing: the smallest patch still exceeds the budget";
        /* nnU-Net's step: the multiple the axis must keep after the cut, not
         * before it (a shorter axis may pool less, and subtracting the old
         * multiple would skip valid sizes, e.g. 224 between 256 and 192). */
        ie_plan_net cut = *net;
        cut.patch[worst] -= 1 << net->pool[worst];
        ie_plan_topology(spacing_dhw, IE_PLAN_MAX_DEPTH, &cut);
        net->patch[worst] -= 1 << cut.pool[worst];
    }
    return limit;
}

/* p * strength to 6 decimals, so the plan shows 0.009, not 0.009000000000000001. */
static double scaled(double p, double strength) { return round(p * strength * 1e6) / 1e6; }

/* nnU-Net's training transforms (nnUNetTrainer.get_training_transforms) at
 * its ranges, each probability written out so that the plan shows the whole
 * recipe.  The probabilities are nnU-Net's times `strength` (see
 * augmentation_strength). */
static void add_augmentations(cJSON *aug, bool aniso, double strength) {
    /* nnU-Net v2's rotation_for_DA: 30 degrees about each axis, or, for thick
     * slices (its "dummy 2D" augmentation), any in-plane angle; its scaling
     * 0.7-1.4 (roughly symmetric about 1, so its direction convention does
     * not matter). */
    double rot[3] = {aniso ? 180 : 30, aniso ? 0 : 30, aniso ? 0 : 30}, scale[2] = {0.7, 1.4}, gamma[2] = {0.7, 1.5};
    double noise[2] = {0, 0.1}, blur[2] = {0.5, 1}, factor[2] = {0.75, 1.25}, zoom[2] = {0.5, 1};
    cJSON_AddItemToObject(aug, "rotate_degrees", cJSON_CreateDoubleArray(rot, 3));
    cJSON_AddNumberToObject(aug, "rotate_probability", scaled(0.2, strength));
    cJSON_AddItemToObject(aug, "scale_range", cJSON_CreateDoubleArray(scale, 2));
    cJSON_AddNumberToObject(aug, "scale_probability", scaled(0.2, strength));
    cJSON_AddItemToObject(aug, "noise_std", cJSON_CreateDoubleArray(noise, 2));
    cJSON_AddNumberToObject(aug, "noise_probability", scaled(0.1, strength));
    cJSON_AddItemToObject(aug, "blur_sigma", cJSON_CreateDoubleArray(blur, 2));
    cJSON_AddNumberToObject(aug, "blur_probability", scaled(0.2, strength));
    cJSON_AddNumberToObject(aug, "blur_channel_probability", 0.5);
    cJSON_AddItemToObject(aug, "brightness_range", cJSON_CreateDoubleArray(factor, 2));
    cJSON_AddNumberToObject(aug, "brightness_probability", scaled(0.15, strength));
    cJSON_AddItemToObject(aug, "contrast_range", cJSON_CreateDoubleArray(factor, 2));
    cJSON_AddNumberToObject(aug, "contrast_probability", scaled(0.15, strength));
    cJSON_AddItemToObject(aug, "lowres_zoom", cJSON_CreateDoubleArray(zoom, 2));
    cJSON_AddNumberToObject(aug, "lowres_probability", scaled(0.25, strength));
    cJSON_AddNumberToObject(aug, "lowres_channel_probability", 0.5);
    cJSON_AddItemToObject(aug, "gamma_range", cJSON_CreateDoubleArray(gamma, 2));
    cJSON_AddNumberToObject(aug, "gamma_invert_probability", scaled(0.1, strength));
    cJSON_AddNumberToObject(aug, "gamma_probability", scaled(0.3, strength));
    cJSON_AddBoolToObject(aug, "gamma_retain_stats", true);
    /* batchgenerators' elastic deformation at nnU-Net v1's ranges, off as in
     * nnU-Net's default trainers (v1's nnUNetTrainerV2 sets do_elastic False,
     * v2's p_elastic_deform is 0); thick slices deform in plane only, as v1's
     * dummy 2D augmentation. */
    double alpha[2] = {0, 900}, sigma[2] = {9, 13};
    int axes[3] = {0, 1, 2};
    cJSON_AddItemToObject(aug, "elastic_alpha", cJSON_CreateDoubleArray(alpha, 2));
    cJSON_AddItemToObject(aug, "elastic_sigma", cJSON_CreateDoubleArray(sigma, 2));
    cJSON_AddNumberToObject(aug, "elastic_probability", 0);
    cJSON_AddItemToObject(aug, "elastic_axes", ints(aniso ? axes + 1 : axes, aniso ? 2 : 3));
}

/* How much of nnU-Net's augmentation a plan of `epochs` epochs gets: its
 * probabilities times epochs / 1000, all of them at nnU-Net's 1000 epochs.
 * Augmentation is regularisation: it pays when a run is long enough to
 * overfit (nnU-Net: 1000 epochs of 250 steps) and slows a short one, which
 * underfits instead.  Measured on the hippocampus (docs/results.md): 45
 * epochs at nnU-Net's probabilities ended at training loss 0.081 against
 * validation loss 0.087 (no overfitting to regularise) and a held-out Dice
 * below the unaugmented hand-tuned config's. */
static double augmentation_strength(int epochs) { return epochs >= MAX_EPOCHS ? 1.0 : (double)epochs / MAX_EPOCHS; }

/* Mirroring: nnU-Net mirrors along every axis.  Where two foreground
 * classes lie in the same order along an axis in at least 95% of the cases
 * holding both (the hippocampus: posterior before anterior along y and after
 * it along z in all 200 cases), a crop mirrored along it shows a layout hardly any real
 * case has, and the network must then tell the classes apart by appearance
 * alone: a 1-epoch run learned the posterior class at Dice 0.005 with
 * mirroring along y and z and 0.705 without (docs/results.md), so those axes
 * are not mirrored.  flip_axes counts D, H, W = z, y, x. */
static void add_mirroring(const fingerprint *fp, const char *const *names, cJSON *data, cJSON *infer, cJSON *w) {
    int flips[3], n_flips = 0;
    char kept[512] = "", held[512] = "";
    for (int axis = 0; axis < 3; axis++) {
        int x = 2 - axis, n = fp->order_cases[x];
        int after = fp->order_after[x], before = fp->order_before[x], same = after > before ? after : before;
        const char *label = (const char *[]){"D (z)", "H (y)", "W (x)"}[axis];
        bool keep_order = n && same >= ORDER_KEPT_SHARE * n;
        if (!keep_order) flips[n_flips++] = axis;
        char *dst = keep_order ? held : kept;
        size_t len = strlen(dst);
        if (n)
            snprintf(dst + len, 512 - len, "%s%s: '%s' %s '%s' in %d of the %d cases holding both", len ? "; " : "",
                     label, names[fp->order_b[x]], after >= before ? "after" : "before", names[fp->order_a[x]], same, n);
        else
            snprintf(dst + len, 512 - len, "%s%s", len ? "; " : "", label);
    }
    cJSON_AddItemToObject(data, "flip_axes", ints(flips, n_flips));
    /* nnU-Net predicts every test case also mirrored along the axes it
     * trained mirrored along and averages the posteriors: the network has
     * learned those views equally, so their mean is less noisy than either,
     * at 2^n times the inference cost (small beside training).  On the
     * hippocampus it changed nothing measurable (held-out Dice 0.8979 /
     * 0.8887 with it, 0.8980 / 0.8887 without; docs/results.md): kept as
     * nnU-Net's default. */
    cJSON_AddItemToObject(infer, "mirror_axes", ints(flips, n_flips));
    why(w, "infer.mirror_axes",
        "Test-time mirroring along the axes mirrored in training (data.flip_axes), as nnU-Net: each held-out case "
        "is also predicted mirrored and the %d posteriors averaged; %d times the inference time (well under a "
        "second per hippocampus case on 2 cores), within the budget's share for test inference.",
        1 << n_flips, 1 << n_flips);
    if (!fp->has_order)
        why(w, "data.flip_axes",
            "Mirroring along every axis, as nnU-Net: this fingerprint has no summary.class_order (made by an older "
            "version), so the classes' layout is unknown; make the fingerprint again to have it checked.");
    else if (n_flips == 3)
        why(w, "data.flip_axes",
            "Mirroring along every axis, as nnU-Net: no two foreground classes keep one order along an axis in "
            "%.0f%% of at least %d cases holding both (%s).",
            100 * ORDER_KEPT_SHARE, ORDER_MIN_CASES, kept);
    else
        why(w, "data.flip_axes",
            "Not mirrored along %s. The classes keep one order there in at least %.0f%% of the cases holding both, "
            "so a crop mirrored there would show a layout (almost) no real case has and teach the network to "
            "ignore where a structure lies (nnU-Net mirrors along every axis). Mirrored along: %s.",
            held, 100 * ORDER_KEPT_SHARE, n_flips ? kept : "none");
}

/* nnU-Net's optimiser when the budget allows its 1000 epochs; else Adam. */
static void add_optimizer(cJSON *train, cJSON *w, int epochs) {
    cJSON *opt = cJSON_AddObjectToObject(train, "optimizer"), *sched = cJSON_AddObjectToObject(train, "schedule");
    cJSON_AddStringToObject(sched, "kind", "polynomial");
    cJSON_AddNumberToObject(sched, "gamma", 0.9);
    if (epochs >= MAX_EPOCHS) {
        cJSON_AddStringToObject(opt, "kind", "sgd");
        cJSON_AddNumberToObject(opt, "lr", 0.01);
        cJSON_AddNumberToObject(opt, "momentum", 0.99);
        cJSON_AddBoolToObject(opt, "nesterov", true);
        cJSON_AddNumberToObject(opt, "weight_decay", 3e-5);
        cJSON_AddNumberToObject(sched, "final_lr", 0);
        why(w, "train.optimizer",
            "nnU-Net's: SGD at 1e-2 with Nesterov momentum 0.99 and weight decay 3e-5, since the budget allows its "
            "%d epochs.", MAX_EPOCHS);
        why(w, "train.schedule", "nnU-Net's poly schedule: 1e-2 (1 - epoch / epochs)^0.9, reaching 0 at the end.");
        return;
    }
    /* Every Adam constant written out: the plan extends configs/unet3d.json
     * and must not inherit a choice it does not state.  eps is InnerEye's
     * 1e-4 (what plans inherited before 2026-12-08), not PyTorch's 1e-8:
     * measured on the hippocampus plan (58 epochs, docs/results.md), 1e-8
     * ended at held-out Dice 0.895 / 0.884 and 1e-4 at 0.898 / 0.889; a
     * larger eps damps the steps of weights whose gradients are tiny. */
    cJSON_AddStringToObject(opt, "kind", "adam");
    cJSON_AddNumberToObject(opt, "lr", 0.003);
    cJSON_AddItemToObject(opt, "betas", cJSON_CreateDoubleArray((const double[]){0.9, 0.999}, 2));
    cJSON_AddNumberToObject(opt, "eps", 1e-4);
    cJSON_AddBoolToObject(opt, "amsgrad", false);
    cJSON_AddNumberToObject(opt, "weight_decay", 0);
    cJSON_AddNumberToObject(sched, "final_lr", 0.0001);
    why(w, "train.optimizer",
        "Adam at 3e-3 (configs/hippocampus.json's tuned rate), betas 0.9, 0.999 and eps 1e-4 (InnerEye's; "
        "measured better than PyTorch's 1e-8 on the hippocampus): "
        "nnU-Net's SGD at 1e-2 with Nesterov momentum 0.99 is planned only when the budget allows its %d epochs "
        "(here %d); Adam converges in the tens of epochs a smaller budget allows.", MAX_EPOCHS, epochs);
    why(w, "train.schedule", "Polynomial decay with exponent 0.9 (nnU-Net's poly schedule) to 1e-4 at the last epoch.");
}

ie_status ie_plan_make(const ie_plan_options *o, char **json_out) {
    *json_out = NULL;
    char *text = NULL;
    IE_TRY(ie_read_file(o->fingerprint, &text, NULL));
    cJSON *root = cJSON_Parse(text);
    free(text);
    if (!root)
        return ie_error_set(IE_ERR_CONFIG, "%s: not valid JSON; make it with innereye dataset fingerprint",
                            o->fingerprint);
    fingerprint fp = {0};
    ie_status st = read_fingerprint(o->fingerprint, root, &fp);
    cJSON *plan = NULL;
    if (st != IE_OK) goto done;

    plan = cJSON_CreateObject();
    const char *extends = o->extends ? o->extends : "unet3d.json";
    cJSON_AddStringToObject(plan, "extends", extends);
    cJSON *model = cJSON_AddObjectToObject(plan, "model"), *params = cJSON_AddObjectToObject(model, "params");
    cJSON *data = cJSON_AddObjectToObject(plan, "data"), *train = cJSON_AddObjectToObject(plan, "train");
    cJSON *infer = cJSON_AddObjectToObject(plan, "infer");
    cJSON *meta = cJSON_AddObjectToObject(plan, "plan"), *w = cJSON_AddObjectToObject(meta, "why");

    /* ---- data ---- */
    cJSON_AddStringToObject(data, "dataset_csv", fp.csv);
    cJSON_AddStringToObject(data, "images_dir", "");
    cJSON_AddStringToObject(data, "labels_dir", "");
    cJSON_AddBoolToObject(data, "fallback_synthetic", false);
    why(w, "data.dataset_csv", "The dataset the fingerprint measured (%d cases).", fp.n_cases);
    cJSON_AddItemToObject(data, "image_channels", cJSON_CreateStringArray(fp.channel, fp.n_channels));
    cJSON_AddStringToObject(data, "label_channel", fp.label_channel);
    const char *names[IE_PLAN_MAX_CLASSES];
    char generic[IE_PLAN_MAX_CLASSES][16];
    for (int k = 0; k < fp.n_classes; k++) {
        snprintf(generic[k], sizeof generic[k], k ? "class_%d" : "background", k);
        names[k] = k < o->n_classes ? o->classes[k] : generic[k];
    }
    if (o->n_classes || !o->extends) {
        if (o->n_classes && o->n_classes != fp.n_classes) {
            st = ie_error_set(IE_ERR_CONFIG, "%s: the label maps hold %d classes (0..%d) but --classes names %d",
                              o->fingerprint, fp.n_classes, fp.n_classes - 1, o->n_classes);
            goto done;
        }
        cJSON_AddItemToObject(data, "classes", cJSON_CreateStringArray(names, fp.n_classes));
        why(w, "data.classes", "The label maps hold the values 0..%d.", fp.n_classes - 1);
    }

    double target[3];
    bool aniso = false;
    int aniso_axis = 0;
    ie_plan_target_spacing(fp.spacing, fp.size, fp.n_cases, target, &aniso, &aniso_axis);
    cJSON_AddItemToObject(data, "target_spacing", cJSON_CreateDoubleArray(target, 3));
    if (aniso)
        why(w, "data.target_spacing",
            "The median spacing per axis, except along %c: the data is anisotropic (that axis's median spacing is "
            "more than 3 times the others' and it has less than a third of their voxels), so as nnU-Net it takes "
            "the 10th percentile of the cases' spacings there (%g mm) and most cases keep their slices.",
            "xyz"[aniso_axis], target[aniso_axis]);
    else
        why(w, "data.target_spacing",
            "The median spacing of the cases along each axis (nnU-Net's rule; no axis is more than 3 times "
            "coarser than another).");

    /* Normalisation: all CT -> clip to the foreground 0.5/99.5 percentiles
     * and z-score with the foreground mean/std.  CtWindow maps the window
     * [lo, hi] linearly onto output_range and clamps; with output_range =
     * [(lo - mean)/std, (hi - mean)/std] that map is exactly x -> (x - mean)/std
     * on the clipped values. */
    int n_ct = 0;
    for (int c = 0; c < fp.n_channels; c++) n_ct += !strcmp(fp.modality[c], "CT");
    if (n_ct == fp.n_channels && fp.n_channels == 1) {
        double lo = fp.p005[0], hi = fp.p995[0], sd = fp.std[0] > 1e-8 ? fp.std[0] : 1e-8;
        cJSON_AddStringToObject(data, "normalization", "CtWindow");
        cJSON_AddNumberToObject(data, "window_level", (lo + hi) / 2);
        cJSON_AddNumberToObject(data, "window_width", hi - lo > 0 ? hi - lo : 1);
        double range[2] = {(lo - fp.mean[0]) / sd, (hi - fp.mean[0]) / sd};
        cJSON_AddItemToObject(data, "output_range", cJSON_CreateDoubleArray(range, 2));
        why(w, "data.normalization",
            "CT (nnU-Net's CTNormalization): intensities clipped to the foreground's 0.5 and 99.5 percentiles "
            "[%g, %g] and z-scored with the foreground mean %g and std %g, the same for every case. CtWindow "
            "with this level, width and output_range is exactly that map.",
            lo, hi, fp.mean[0], fp.std[0]);
    } else {
        cJSON_AddStringToObject(data, "normalization", "SimpleNorm");
        why(w, "data.normalization", "%s: each case z-scored with its own mean and std (nnU-Net's ZScoreNormalization).",
            n_ct ? "Mixed CT and MR channels: one method applies to all channels, and per-case z-score is the one "
                   "that suits both"
                 : "MR (no absolute intensity scale)");
    }

    /* ---- network, patch, batch ---- */
    double median_dhw[3];
    {
        double *r = malloc((size_t)fp.n_cases * 3 * sizeof *r);
        if (!r) {
            st = ie_error_set(IE_ERR_NOMEM, "plan: out of memory");
            goto done;
        }
        for (int i = 0; i < fp.n_cases; i++)
            for (int a = 0; a < 3; a++) r[i * 3 + a] = fp.size[i * 3 + a] * fp.spacing[i * 3 + a] / target[a];
        double med_xyz[3];
        for (int a = 0; a < 3; a++) med_xyz[a] = ie_plan_column_percentile(r, fp.n_cases, a, 50);
        free(r);
        for (int a = 0; a < 3; a++) median_dhw[a] = med_xyz[2 - a];
    }
    const double spacing_dhw[3] = {target[2], target[1], target[0]};
    double gflops = o->gflops > 0 ? o->gflops : o->gpu ? IE_PLAN_GPU_GFLOPS : IE_PLAN_CPU_GFLOPS;
    double budget_s = o->time_budget_min * 60 * TRAIN_SHARE;
    int n_train = (int)fmax(1, round(fp.n_cases * SPLIT_TRAIN)), n_val = (int)round(fp.n_cases * SPLIT_VAL);
    ie_plan_net net = {.features = o->gpu ? GPU_FEATURES : CPU_FEATURES, .in_channels = fp.n_channels,
                       .classes = fp.n_classes};
    double memory_bytes = o->memory_mb * 1048576.0;
    /* nnU-Net starts from 128^3 (GPU); a CPU starts from 64^3, an eighth. */
    int max_voxels = o->gpu ? 128 * 128 * 128 : 64 * 64 * 64;
    const char *limit = choose_patch(&net, spacing_dhw, median_dhw, memory_bytes, budget_s / MIN_STEPS, gflops,
                                     max_voxels);
    if (!strncmp(limit, "nothing", 7)) {
        st = ie_error_set(IE_ERR_CONFIG,
                          "%s: no patch of at least %d voxels per axis fits %g MB and %g minutes on the %s; give "
                          "more memory (--memory) or time (--time-budget)",
                          o->fingerprint, 2 * IE_PLAN_MIN_FEATURE_MAP, o->memory_mb, o->time_budget_min,
                          o->gpu ? "GPU" : "CPU");
        goto done;
    }
    cJSON_AddNumberToObject(params, "features", net.features);
    cJSON_AddNumberToObject(params, "depth", net.depth);
    cJSON_AddItemToObject(params, "pool_axes", ints(net.pool, 3));
    why(w, "model.params.features", "%d channels at the top level: %s.", net.features,
        o->gpu ? "nnU-Net's width" : "on a CPU a quarter of the compute of nnU-Net's 32, as configs/hippocampus.json");
    why(w, "model.params.depth",
        "Pooling stops when no axis can be halved any more: an axis halves while its spacing is less than twice "
        "the finest one and its size stays at least %d voxels (nnU-Net's rule); %d levels.",
        IE_PLAN_MIN_FEATURE_MAP, net.depth);
    why(w, "model.params.pool_axes",
        "How many levels halve D, H, W: [%d, %d, %d]%s.", net.pool[0], net.pool[1], net.pool[2],
        net.pool[0] != net.depth || net.pool[1] != net.depth || net.pool[2] != net.depth
            ? "; an axis pooled fewer times is coarse or short and is pooled only at the deepest levels, after "
              "the finer axes have caught up with its spacing (anisotropic pooling)"
            : "; every axis at every level");
    cJSON_AddItemToObject(data, "crop_size", ints(net.patch, 3));
    cJSON_AddNumberToObject(data, "pad_multiple", 1 << net.depth);
    why(w, "data.crop_size",
        "Patch (D, H, W) of %d x %d x %d voxels: the median case after resampling is %.0f x %.0f x %.0f; the "
        "patch starts there (at most %d voxels) and, as nnU-Net, loses 2^pool voxels along its relatively "
        "largest axis until batch %d fits %g MB and %d steps fit the time budget; limited by %s. Each axis is a "
        "multiple of 2^pool.",
        net.patch[0], net.patch[1], net.patch[2], median_dhw[0], median_dhw[1], median_dhw[2], max_voxels,
        MIN_BATCH, o->memory_mb, MIN_STEPS, limit);
    why(w, "data.pad_multiple", "2^depth: whole volumes are padded so that every level's size is whole.");

    /* Batch: as large as memory allows on a GPU (nnU-Net), capped so that a
     * batch sees at most 5% of the dataset's voxels; 2 on a CPU, where a
     * larger batch costs time per step in proportion and buys nothing. */
    double dataset_voxels = 0;
    for (int i = 0; i < fp.n_cases; i++)
        dataset_voxels += fp.size[i * 3] * fp.size[i * 3 + 1] * fp.size[i * 3 + 2] *
                          (fp.spacing[i * 3] * fp.spacing[i * 3 + 1] * fp.spacing[i * 3 + 2]) /
                          (target[0] * target[1] * target[2]);
    double patch_voxels = (double)net.patch[0] * net.patch[1] * net.patch[2];
    int batch = MIN_BATCH;
    if (o->gpu) {
        int cap = (int)fmax(MIN_BATCH, floor(MAX_BATCH_FRACTION * dataset_voxels / patch_voxels));
        while (batch < cap && ie_plan_memory_bytes(&net, batch + 1) <= memory_bytes) batch++;
    }
    cJSON_AddNumberToObject(train, "batch_size", batch);
    why(w, "train.batch_size", "%s; the model estimates %.0f MB for this batch (budget %g MB).",
        o->gpu ? "As many patches as fit the memory, at least 2 and at most 5% of the dataset's voxels (nnU-Net)"
               : "2 (nnU-Net's minimum): on a CPU time per step grows with the batch, so a larger one buys nothing",
        ie_plan_memory_bytes(&net, batch) / 1048576.0, o->memory_mb);

    /* Sampling: a third of the crops centred on foreground, shared by the
     * foreground classes (nnU-Net's oversample_foreground_percent 0.33). */
    double weights[IE_PLAN_MAX_CLASSES];
    weights[0] = 1 - FOREGROUND_SHARE;
    for (int k = 1; k < fp.n_classes; k++) weights[k] = FOREGROUND_SHARE / (fp.n_classes - 1);
    cJSON_AddItemToObject(data, "crop_class_weights", cJSON_CreateDoubleArray(weights, fp.n_classes));
    why(w, "data.crop_class_weights",
        "Class-balanced sampling: a third of the crops are centred on a foreground voxel, the classes sharing it "
        "equally, the rest anywhere (nnU-Net's foreground oversampling of 33%%).");
    add_mirroring(&fp, names, data, infer, w);
    cJSON *augment = cJSON_AddObjectToObject(data, "augment"); /* filled once the epochs are known */

    /* ---- time: steps, epochs, validation ---- */
    double step_s = ie_plan_train_flops(&net, batch) / (gflops * 1e9);
    /* A validation pass runs the network over every validation case, padded to 2^depth. */
    double mean_case_voxels = dataset_voxels / fp.n_cases;
    double val_s = n_val * mean_case_voxels * ie_plan_forward_flops_per_voxel(&net) / (gflops * 1e9);
    int steps_per_epoch = (n_train + batch - 1) / batch;
    double epoch_s = steps_per_epoch * step_s;
    int validate_every = (int)fmax(1, ceil(val_s / (VALIDATION_SHARE * epoch_s)));
    int epochs = (int)floor(budget_s / (epoch_s + val_s / validate_every));
    epochs = epochs < 1 ? 1 : epochs > MAX_EPOCHS ? MAX_EPOCHS : epochs;
    cJSON_AddNumberToObject(train, "epochs", epochs);
    cJSON_AddNumberToObject(train, "validate_every", validate_every);
    cJSON_AddNumberToObject(train, "checkpoint_every", epochs >= 10 ? epochs / 10 : 1);
    why(w, "train.epochs",
        "%d epochs of %d steps fill %.0f%% of the %g-minute budget (the rest: data check, test inference, "
        "metrics): a step is estimated at %.3g GFLOP (3 forward passes), %.3g s at %g GFLOP/s%s; at most %d "
        "epochs (nnU-Net's).",
        epochs, steps_per_epoch, TRAIN_SHARE * 100, o->time_budget_min, ie_plan_train_flops(&net, batch) / 1e9,
        step_s, gflops,
        o->gflops_measured ? " (--gflops measure: measured on this machine)"
        : o->gflops > 0    ? " (--gflops)"
        : o->gpu           ? " (the GPU default, an assumption)"
                           : " (the CPU default: 2 quiet AVX-512 cores; give --gflops or --gflops measure for another "
                             "machine)",
        MAX_EPOCHS);
    why(w, "train.validate_every", "Validation passes (%.3g s each, estimated) take at most %.0f%% of training time.",
        val_s, VALIDATION_SHARE * 100);
    why(w, "train.checkpoint_every", "About ten checkpoints per run.");
    add_optimizer(train, w, epochs);
    double strength = augmentation_strength(epochs);
    add_augmentations(augment, aniso, strength);
    why(w, "data.augment",
        "nnU-Net's training transforms at its ranges, each with nnU-Net's probability times %g (epochs / %d: "
        "augmentation regularises a run long enough to overfit, as nnU-Net's %d epochs; a shorter one underfits "
        "and only learns more slowly with it): rotation %s (p 0.2), zoom 0.7-1.4 (p 0.2), Gaussian noise of std up "
        "to 0.1 (p 0.1), Gaussian blur of sigma 0.5-1 voxel (p 0.2, each channel 0.5), brightness x 0.75-1.25 "
        "(p 0.15), contrast x 0.75-1.25 (p 0.15), simulated low resolution at 0.5-1 of the size (p 0.25, each "
        "channel 0.5), gamma 0.7-1.5 of the inverted (p 0.1) and of the plain intensities (p 0.3); mirroring as "
        "data.flip_axes says. Elastic deformation is written out at nnU-Net v1's alpha 0-900 and sigma 9-13 "
        "voxels%s but off (p 0) as in nnU-Net's default trainers; set data.augment.elastic_probability to 0.2 "
        "for v1's.",
        strength, MAX_EPOCHS, MAX_EPOCHS,
        aniso ? "by any angle about D only (in-plane: slices too thick to rotate across)"
              : "up to 30 degrees about each axis",
        aniso ? ", in plane only (thick slices)" : "");
    cJSON *loss = cJSON_AddObjectToObject(train, "loss");
    cJSON_AddStringToObject(loss, "name", "Mixture");
    why(w, "train.loss", "Cross-entropy + soft Dice (nnU-Net's DC_and_CE_loss).");
    cJSON_AddBoolToObject(train, "deep_supervision", true);
    why(w, "train.deep_supervision",
        "nnU-Net's deep supervision: the loss also compares 1x1x1 heads on the decoder's levels 1..depth-2 (%s) with "
        "the labels downsampled to their size, weights 1, 1/2, 1/4, ... normalised; training only (the heads' "
        "cost, below 1%% of a step, is not in the time and memory models).",
        net.depth >= 3 ? "here levels 1 to depth - 2" : "none at this depth, so the loss is the plain one");
    cJSON *split = cJSON_AddObjectToObject(data, "split");
    cJSON_AddNumberToObject(split, "train", SPLIT_TRAIN);
    cJSON_AddNumberToObject(split, "val", SPLIT_VAL);
    cJSON_AddNumberToObject(split, "test", SPLIT_TEST);
    why(w, "data.split", "70/15/15: the time estimates assume %d training and %d validation cases.", n_train, n_val);

    cJSON *in = cJSON_AddObjectToObject(meta, "inputs");
    cJSON_AddStringToObject(in, "fingerprint", o->fingerprint);
    cJSON_AddNumberToObject(in, "memory_mb", o->memory_mb);
    cJSON_AddNumberToObject(in, "time_budget_min", o->time_budget_min);
    cJSON_AddStringToObject(in, "device", o->gpu ? "gpu" : "cpu");
    cJSON_AddNumberToObject(in, "gflops", gflops);
    cJSON_AddStringToObject(in, "gflops_from", o->gflops_measured ? "measured" : o->gflops > 0 ? "--gflops" : "default");
    cJSON_AddNumberToObject(in, "estimated_memory_mb", ie_plan_memory_bytes(&net, batch) / 1048576.0);
    cJSON_AddNumberToObject(in, "estimated_train_minutes", epochs * (epoch_s + val_s / validate_every) / 60);

    text = cJSON_Print(plan);
    if (!text) {
        st = ie_error_set(IE_ERR_NOMEM, "plan: out of memory for the JSON");
        goto done;
    }
    size_t len = strlen(text);
    *json_out = realloc(text, len + 2);
    if (!*json_out) {
        free(text);
        st = ie_error_set(IE_ERR_NOMEM, "plan: out of memory");
        goto done;
    }
    memcpy(*json_out + len, "\n", 2);
done:
    cJSON_Delete(plan);
    cJSON_Delete(root);
    free(fp.spacing);
    free(fp.size);
    return st;
}
