/* core/inference - inference and post-processing settings from a resolved
 * config (keys in core/config/schema.c, documented in docs/inference.md). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/data/data_settings.h"
#include "core/data/geometry_settings.h"
#include "core/dicom/colours.h"
#include "core/inference/infer.h"

static int class_index(const ie_infer_settings *s, const char *name, size_t len) {
    for (int c = 0; c < s->n_classes; c++)
        if (strlen(s->class_names[c]) == len && strncmp(s->class_names[c], name, len) == 0) return c;
    return -1;
}

static void class_list(const ie_infer_settings *s, char *buf, size_t size) {
    buf[0] = '\0';
    for (int c = 0; c < s->n_classes; c++) {
        size_t n = strlen(buf);
        snprintf(buf + n, size - n, "%s%s", c ? ", " : "", s->class_names[c]);
    }
}

/* Splits "a,b,c" into exactly n class names (or, for the last field when
 * `last_is_bool`, true/false). */
static ie_status parse_rule(const ie_infer_settings *s, const char *key, int index, const char *text, int n,
                            bool last_is_bool, const char *form, int *out) {
    char classes[2048];
    const char *p = text;
    for (int f = 0; f < n; f++) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        while (len && *p == ' ') p++, len--;
        while (len && p[len - 1] == ' ') len--;
        if ((f < n - 1) != (comma != NULL))
            return ie_error_set(IE_ERR_CONFIG, "%s[%d] is \"%s\"; it must have the form \"%s\"", key, index, text,
                                form);
        if (last_is_bool && f == n - 1) {
            if (len == 4 && !strncmp(p, "true", 4)) out[f] = 1;
            else if (len == 5 && !strncmp(p, "false", 5)) out[f] = 0;
            else
                return ie_error_set(IE_ERR_CONFIG, "%s[%d] is \"%s\"; its last field must be true or false (form "
                                    "\"%s\")", key, index, text, form);
        } else if ((out[f] = class_index(s, p, len)) < 0) {
            class_list(s, classes, sizeof classes);
            return ie_error_set(IE_ERR_CONFIG, "%s[%d] is \"%s\": \"%.*s\" is not one of data.classes (%s)", key,
                                index, text, (int)len, p, classes);
        }
        p = comma ? comma + 1 : p + len;
    }
    return IE_OK;
}

static ie_status read_rules(const ie_config *cfg, ie_infer_settings *s) {
    const char *rules[IE_POSTPROCESS_MAX_RULES];
    int n = 0, f[3];
    const char *key = "postprocess.summed_probability_rules";
    IE_TRY(ie_config_get_string_array(cfg, key, rules, IE_POSTPROCESS_MAX_RULES, &n));
    for (int i = 0; i < n; i++) {
        IE_TRY(parse_rule(s, key, i, rules[i], 3, false, "first,second,external", f));
        s->post.summed[i] = (ie_summed_rule){.first = f[0], .second = f[1], .external = f[2]};
    }
    s->post.n_summed = n;
    key = "postprocess.slice_exclusion_rules";
    IE_TRY(ie_config_get_string_array(cfg, key, rules, IE_POSTPROCESS_MAX_RULES, &n));
    for (int i = 0; i < n; i++) {
        IE_TRY(parse_rule(s, key, i, rules[i], 3, true, "higher,lower,higher_dominates", f));
        s->post.slice[i] = (ie_slice_rule){.higher = f[0], .lower = f[1], .higher_dominates = f[2] != 0};
    }
    s->post.n_slice = n;
    const char *names[IE_POSTPROCESS_MAX_CLASSES];
    key = "postprocess.largest_component";
    IE_TRY(ie_config_get_string_array(cfg, key, names, IE_POSTPROCESS_MAX_CLASSES, &n));
    for (int i = 0; i < n; i++) {
        int c = class_index(s, names[i], strlen(names[i]));
        char classes[2048];
        class_list(s, classes, sizeof classes);
        if (c < 0)
            return ie_error_set(IE_ERR_CONFIG, "%s[%d] is \"%s\", which is not one of data.classes (%s)", key, i,
                                names[i], classes);
        if (c == 0)
            return ie_error_set(IE_ERR_CONFIG, "%s[%d] is \"%s\", the background (the first of data.classes); list "
                                "foreground classes only", key, i, names[i]);
        s->post.largest_component[c] = true;
    }
    key = "postprocess.class_min_component_mm3";
    IE_TRY(ie_config_get_string_array(cfg, key, names, IE_POSTPROCESS_MAX_CLASSES, &n));
    for (int i = 0; i < n; i++) {
        const char *comma = strchr(names[i], ',');
        int c = comma ? class_index(s, names[i], (size_t)(comma - names[i])) : -1;
        char *end = NULL;
        double mm3 = comma ? strtod(comma + 1, &end) : NAN;
        char classes[2048];
        class_list(s, classes, sizeof classes);
        if (c <= 0 || !end || *end || !(mm3 >= 0) || isinf(mm3))
            return ie_error_set(IE_ERR_CONFIG, "%s[%d] is \"%s\"; write \"class,mm3\" with a foreground class of "
                                "data.classes (%s) and a volume >= 0 in cubic millimetres", key, i, names[i],
                                classes);
        s->post.class_min_component_mm3[c] = mm3;
    }
    return IE_OK;
}

static ie_status read_window(const ie_config *cfg, const ie_geometry_settings *g, ie_infer_settings *s) {
    ie_window_opts *w = &s->window;
    int64_t v[3];
    int n = g->n_test_crop_size;
    const int64_t *window = n ? g->test_crop_size : g->crop_size;
    if (n == 0) n = g->n_crop_size;
    if (n != 3) return ie_error_set(IE_ERR_CONFIG, "data.crop_size must list 3 sizes (D, H, W)");
    /* A window one voxel thick (a 2-D model's [1, H, W] crops) is never
     * padded along that axis: pad_multiple is for the axes the network pools. */
    for (int a = 0; a < 3; a++)
        w->window[a] = window[a], w->multiple[a] = window[a] == 1 ? 1 : g->pad_multiple;
    IE_TRY(ie_config_get_number(cfg, "infer.overlap", &w->overlap));
    IE_TRY(ie_config_get_int_array(cfg, "infer.stride", v, 3, &n));
    for (int a = 0; a < 3 && n == 3; a++) w->stride[a] = v[a];
    int64_t batch = 1;
    IE_TRY(ie_config_get_int(cfg, "infer.batch_size", &batch));
    w->batch_size = (int)batch;
    const char *blend = "gaussian";
    IE_TRY(ie_config_get_string(cfg, "infer.blend", &blend));
    w->blend = strcmp(blend, "uniform") == 0 ? IE_BLEND_UNIFORM : IE_BLEND_GAUSSIAN;
    IE_TRY(ie_config_get_number(cfg, "infer.sigma_scale", &w->sigma_scale));
    IE_TRY(ie_config_get_int_array(cfg, "infer.mirror_axes", v, 3, &n));
    for (int i = 0; i < n; i++) w->mirror[v[i]] = true;
    return IE_OK;
}

ie_status ie_infer_settings_from_config(const ie_config *cfg, ie_infer_settings *s) {
    if (!cfg || !s) return ie_error_set(IE_ERR_INVALID_ARG, "inference settings: NULL argument");
    memset(s, 0, sizeof *s);
    ie_window_opts_init(&s->window);
    ie_postprocess_opts_init(&s->post);
    ie_data_settings data;
    IE_TRY(ie_data_settings_read(cfg, &data));
    int n = data.n_classes;
    if (n < 2 || n > IE_POSTPROCESS_MAX_CLASSES)
        return ie_error_set(IE_ERR_CONFIG, "data.classes must name the segmentation classes, background first (2 to "
                            "%d names); it lists %d", IE_POSTPROCESS_MAX_CLASSES, n);
    memcpy(s->class_names, data.classes, (size_t)n * sizeof *s->class_names);
    s->n_classes = n;
    IE_TRY(ie_config_get_string(cfg, "data.mask_channel", &s->mask_channel));
    ie_geometry_settings geometry;
    IE_TRY(ie_geometry_settings_read(cfg, &geometry));
    IE_TRY(read_window(cfg, &geometry, s));
    double mm[3];
    IE_TRY(ie_config_get_number_array(cfg, "postprocess.smoothing_mm", mm, 3, &n));
    for (int a = 0; a < 3 && n == 3; a++) s->post.smoothing_mm[a] = mm[a];
    int64_t conn = 6, min_voxels = 0;
    IE_TRY(ie_config_get_int(cfg, "postprocess.connectivity", &conn));
    if (conn != 6 && conn != 26)
        return ie_error_set(IE_ERR_CONFIG, "postprocess.connectivity is %lld; use 6 (voxels sharing a face) or 26 "
                            "(a face, an edge or a corner)", (long long)conn);
    s->post.connectivity = (int)conn;
    IE_TRY(ie_config_get_number(cfg, "postprocess.largest_component_fraction", &s->post.largest_component_fraction));
    IE_TRY(ie_config_get_int(cfg, "postprocess.min_component_voxels", &min_voxels));
    s->post.min_component_voxels = min_voxels;
    IE_TRY(ie_config_get_number(cfg, "postprocess.min_component_mm3", &s->post.min_component_mm3));
    IE_TRY(read_rules(cfg, s));
    memcpy(s->target_spacing, geometry.target_spacing, sizeof s->target_spacing);
    IE_TRY(ie_config_get_bool(cfg, "infer.write_posteriors", &s->write_posteriors));
    const char *dtype = "uint8";
    IE_TRY(ie_config_get_string(cfg, "infer.posterior_dtype", &dtype));
    s->posteriors_float = strcmp(dtype, "float32") == 0;
    const char *format = "nifti";
    IE_TRY(ie_config_get_string(cfg, "infer.format", &format));
    s->format = !strcmp(format, "rtstruct") ? IE_INFER_RTSTRUCT
                : !strcmp(format, "dicom-seg") ? IE_INFER_DICOM_SEG : IE_INFER_NIFTI;
    IE_TRY(ie_class_colours_from_config(cfg, s->n_classes, s->colours));
    /* A stride larger than the window leaves gaps: refuse it now rather than
     * at the first subject. */
    for (int a = 0; a < 3; a++) {
        int64_t m = s->window.multiple[a] > 1 ? s->window.multiple[a] : 1;
        int64_t w = (s->window.window[a] + m - 1) / m * m;
        if (s->window.stride[a] > w)
            return ie_error_set(IE_ERR_CONFIG, "infer.stride[%d] is %lld, larger than the window (%lld along that "
                                "axis): voxels would get no prediction; use at most the window size", a,
                                (long long)s->window.stride[a], (long long)w);
    }
    return IE_OK;
}
