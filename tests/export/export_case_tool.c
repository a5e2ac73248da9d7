/* tests/export - the C side of the ONNX Runtime comparison
 * (tests/export/test_export_onnx.sh):
 *
 *   export_case_tool window RUN_DIR IMAGE D,H,W
 *       prints the window `innereye infer` uses on IMAGE when asked for D,H,W
 *       (along an axis where the image is smaller, its size rounded up to
 *       data.pad_multiple): export the model with that window.
 *   export_case_tool prepare RUN_DIR IMAGE WINDOW_D,H,W INPUT.bin
 *       the image loaded and normalised exactly as `innereye infer` loads it
 *       (the run's config, the host's segmentation loader), zero-padded to
 *       the window as the sliding window pads a volume smaller than its
 *       window (floor(extra / 2) before): [1, C, D, H, W] float32, raw.
 *   export_case_tool compare RUN_DIR IMAGE WINDOW_D,H,W OUTPUT.bin SUBJECT_DIR TOLERANCE
 *       OUTPUT.bin: the posteriors [1, K, D, H, W] that ONNX Runtime or PyTorch gave for INPUT.bin;
 *       crops them back to the image and compares each class with
 *       SUBJECT_DIR/posterior_<class>.nii.gz (infer.posterior_dtype float32).
 *       Prints the largest difference; exit 1 above TOLERANCE.
 *   export_case_tool scalar-prepare RUN_DIR DATASET_CSV SUBJECT INPUT.bin
 *       a classification run's input for SUBJECT of the CSV, prepared with
 *       the run's statistics as `innereye infer` prepares it: [1, C, D, H, W]
 *       float32, raw (images only: the test models have no features).
 * The window must cover the image (one window, so the sliding window's
 * blending reduces to p * w / w), or be one slice deep (a 2-D model: the
 * input then has every slice, which ort_run.js feeds one at a time).  Exit 2: bad arguments or files. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/data/dataset.h"
#include "core/data/classification_regression_hooks.h"
#include "core/data/classification_regression_statistics.h"
#include "core/export/export.h"
#include "core/inference/infer.h"
#include "core/plugin/host.h"
#include "core/train/data_setup.h"
#include "innereye/image_io.h"

typedef struct loaded {
    ie_config *cfg;
    ie_infer_settings settings;
    ie_seg_setup seg;
    ie_sample sample;
    int64_t window[3], before[3], size[3];
    bool allow_larger; /* `window`: the requested window may be smaller than the image */
} loaded;

static int die(const char *what) {
    fprintf(stderr, "export_case_tool: %s\n", what);
    return 2;
}

static ie_status load(const char *run, const char *image, const char *window, loaded *l) {
    char path[4200];
    snprintf(path, sizeof path, "%s/config.resolved.json", run);
    IE_TRY(ie_config_new(&l->cfg));
    IE_TRY(ie_config_add_file(l->cfg, path));
    IE_TRY(ie_config_resolve(l->cfg));
    IE_TRY(ie_infer_settings_from_config(l->cfg, &l->settings));
    IE_TRY(ie_seg_setup_from_config(l->cfg, l->settings.n_classes, &l->seg));
    l->seg.seg.truth = IE_SEG_TRUTH_NONE;
    if (sscanf(window, "%lld,%lld,%lld", (long long *)&l->window[0], (long long *)&l->window[1],
               (long long *)&l->window[2]) != 3)
        return ie_error_set(IE_ERR_INVALID_ARG, "window must be D,H,W, got %s", window);
    char csv[8400];
    int n = snprintf(csv, sizeof csv, "subject,filePath,channel\ncase,%s,%s\n", image, l->seg.image_channels[0]);
    ie_dataset *ds = NULL;
    IE_TRY(ie_dataset_parse(csv, (size_t)n, "case", ".", "subject", &ds));
    ie_data_hooks hooks = ie_seg_hooks(&l->seg.seg);
    ie_host host = ie_host_default(0, "");
    l->sample.struct_size = sizeof l->sample;
    ie_status st = hooks.load_item(hooks.load_item_ctx, ie_dataset_item_at(ds, 0), &host, &l->sample);
    ie_dataset_free(ds);
    IE_TRY(st);
    for (int a = 0; a < 3; a++) {
        l->size[a] = ie_tensor_dim(l->sample.image, 1 + a);
        /* a 2-D model's window is one slice deep: slices go through one by one */
        if (l->allow_larger) continue;
        if (l->window[a] == 1) l->window[a] = l->size[a];
        if (l->size[a] > l->window[a]) return ie_error_set(IE_ERR_SHAPE, "the window does not cover the image");
        l->before[a] = (l->window[a] - l->size[a]) / 2;
    }
    return IE_OK;
}

static int prepare(loaded *l, const char *out_path) {
    int64_t c = ie_tensor_dim(l->sample.image, 0), *w = l->window, *s = l->size, *b = l->before;
    size_t total = (size_t)(c * w[0] * w[1] * w[2]);
    float *buf = calloc(total, sizeof *buf);
    if (!buf) return die("out of memory");
    const float *src = ie_tensor_data_f32(l->sample.image);
    for (int64_t ch = 0; ch < c; ch++)
        for (int64_t i = 0; i < s[0]; i++)
            for (int64_t j = 0; j < s[1]; j++)
                memcpy(buf + (((ch * w[0] + i + b[0]) * w[1] + j + b[1]) * w[2] + b[2]),
                       src + ((ch * s[0] + i) * s[1] + j) * s[2], (size_t)s[2] * sizeof *buf);
    FILE *f = fopen(out_path, "wb");
    bool ok = f && fwrite(buf, sizeof *buf, total, f) == total;
    if (f && fclose(f) != 0) ok = false;
    free(buf);
    if (!ok) return die("cannot write the input file");
    printf("image %lldx%lldx%lld, window %lldx%lldx%lld\n", (long long)s[0], (long long)s[1], (long long)s[2],
           (long long)w[0], (long long)w[1], (long long)w[2]);
    return 0;
}

static int compare(loaded *l, const char *ort_path, const char *subject_dir, double tolerance) {
    int k = l->settings.n_classes;
    int64_t *w = l->window, *s = l->size, *b = l->before, plane = w[0] * w[1] * w[2];
    size_t total = (size_t)(k * plane);
    float *ort = malloc(total * sizeof *ort);
    FILE *f = fopen(ort_path, "rb");
    bool ok = ort && f && fread(ort, sizeof *ort, total, f) == total && fgetc(f) == EOF;
    if (f) fclose(f);
    if (!ok) {
        free(ort);
        return die("cannot read ONNX Runtime's output, or it is not [1, classes, window] float32");
    }
    double worst = 0.0;
    for (int cl = 0; cl < k; cl++) {
        char path[4400], name[256];
        snprintf(name, sizeof name, "%s", l->settings.class_names[cl]);
        for (char *p = name; *p; p++)
            if (*p == '/') *p = '_';
        snprintf(path, sizeof path, "%s/posterior_%s.nii.gz", subject_dir, name);
        ie_tensor *post = NULL;
        if (ie_image_read(path, IE_F32, &post, NULL) != IE_OK) {
            free(ort);
            return die(ie_error_message());
        }
        const float *p = ie_tensor_data_f32(post);
        for (int64_t i = 0; i < s[0]; i++)
            for (int64_t j = 0; j < s[1]; j++)
                for (int64_t m = 0; m < s[2]; m++) {
                    double a = ort[cl * plane + ((i + b[0]) * w[1] + j + b[1]) * w[2] + m + b[2]];
                    double d = fabs(a - p[(i * s[1] + j) * s[2] + m]);
                    if (!(d <= worst)) worst = d; /* NaN counts as the worst */
                }
        ie_tensor_release(post);
    }
    free(ort);
    printf("largest |reference - innereye infer| over %d classes: %.3g (tolerance %.3g)\n", k, worst, tolerance);
    return worst <= tolerance ? 0 : 1;
}

static int scalar_prepare(const char *run, const char *csv, const char *subject, const char *out_path) {
    ie_scalar_model m;
    ie_dataset *ds = NULL;
    char config[4200], stats[4200];
    snprintf(config, sizeof config, "%s/config.resolved.json", run);
    snprintf(stats, sizeof stats, "%s/" IE_SCALAR_STATISTICS_FILE, run);
    if (ie_dataset_load(csv, "subject", &ds) != IE_OK) return die(ie_error_message());
    /* the weights do not matter here: the dummy export model's are used */
    if (ie_export_scalar_open(run, &m) != IE_OK) return die(ie_error_message());
    ie_scalar_data *data = NULL;
    if (ie_scalar_data_from_statistics(stats, ds, false, &data) != IE_OK) return die(ie_error_message());
    const ie_dataset_item *item = NULL;
    for (int i = 0; i < ie_dataset_count(ds); i++)
        if (!strcmp(ie_dataset_item_at(ds, i)->subject, subject)) item = ie_dataset_item_at(ds, i);
    if (!item) return die("no such subject in the CSV");
    ie_sample sample = {.struct_size = sizeof sample};
    if (ie_scalar_load(data, item, &m.host, &sample) != IE_OK) return die(ie_error_message());
    size_t n = (size_t)ie_tensor_numel(sample.image);
    FILE *f = fopen(out_path, "wb");
    bool ok = f && fwrite(ie_tensor_data_f32(sample.image), sizeof(float), n, f) == n;
    if (f && fclose(f) != 0) ok = false;
    ie_sample_clear(&sample);
    ie_scalar_data_free(data);
    ie_scalar_model_close(&m);
    ie_dataset_free(ds);
    (void)config;
    return ok ? 0 : die("cannot write the input file");
}

/* The sliding window's rule (docs/inference.md, "Window size"). */
static int window(loaded *l) {
    for (int a = 0; a < 3; a++) {
        int64_t w = l->window[a], m = l->settings.window.multiple[a] > 1 ? l->settings.window.multiple[a] : 1;
        if (w > 1 && l->size[a] < w) w = (l->size[a] + m - 1) / m * m;
        printf(a ? ",%lld" : "%lld", (long long)w);
    }
    printf("\n");
    return 0;
}

int main(int argc, char **argv) {
    bool is_window = argc == 5 && !strcmp(argv[1], "window");
    bool is_prepare = argc == 6 && !strcmp(argv[1], "prepare");
    bool is_compare = argc == 8 && !strcmp(argv[1], "compare");
    if (argc == 6 && !strcmp(argv[1], "scalar-prepare")) return scalar_prepare(argv[2], argv[3], argv[4], argv[5]);
    if (!is_window && !is_prepare && !is_compare) return die("usage: see tests/export/export_case_tool.c");
    loaded l = {0};
    if (is_window) l.allow_larger = true;
    if (load(argv[2], argv[3], argv[4], &l) != IE_OK) return die(ie_error_message());
    int rc = is_window ? window(&l) : is_prepare ? prepare(&l, argv[5]) : compare(&l, argv[5], argv[6], atof(argv[7]));
    ie_sample_clear(&l.sample);
    ie_config_free(l.cfg);
    return rc;
}
