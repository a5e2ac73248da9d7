/* tests - core/inference post-processing against scipy.ndimage and numpy
 * restatements of InnerEye's image_util (tests/reference/gen_postprocess.py):
 * connected components (6 and 26), largest components with InnerEye's
 * thresholds, Gaussian smoothing, summed probability and slice exclusion
 * rules, the whole chain with a mask; plus the mask rule, minimum component
 * sizes, determinism over thread counts and argument checks. */
#include "core/inference/components.h"
#include "core/inference/postprocess.h"
#include "test_util.h"

static ie_tensor *clone_of(ie_params *fx, const char *key) {
    ie_tensor *t = NULL;
    CHECK_OK(ie_tensor_clone(fixture_get(fx, key), &t));
    return t;
}

static int64_t count_diff_u8(const ie_tensor *a, const ie_tensor *b) {
    int64_t n = 0;
    const uint8_t *x = ie_tensor_data(a), *y = ie_tensor_data(b);
    for (int64_t i = 0; i < ie_tensor_numel(a); i++) n += x[i] != y[i];
    return n;
}

static void test_components(ie_params *fx) {
    const ie_tensor *blobs = fixture_get(fx, "blobs");
    int64_t size[3] = {ie_tensor_dim(blobs, 0), ie_tensor_dim(blobs, 1), ie_tensor_dim(blobs, 2)};
    int64_t V = ie_tensor_numel(blobs);
    int32_t *labels = malloc((size_t)V * sizeof *labels);
    int32_t counts[2] = {0, 0};
    for (int k = 0; k < 2; k++) {
        int conn = k ? 26 : 6;
        char key[64];
        snprintf(key, sizeof key, "blobs_labels%d", conn);
        const int32_t *want = ie_tensor_data(fixture_get(fx, key));
        snprintf(key, sizeof key, "blobs_count%d", conn);
        int32_t want_n = ((const int32_t *)ie_tensor_data(fixture_get(fx, key)))[0];
        CHECK_OK(ie_components_label(ie_tensor_data(blobs), size, conn, labels, &counts[k]));
        CHECK(counts[k] == want_n, "%d-connectivity: %d components, scipy finds %d", conn, counts[k], want_n);
        /* The same numbering as scipy.ndimage.label (raster order of first voxels). */
        int64_t diff = 0;
        for (int64_t i = 0; i < V; i++) diff += labels[i] != want[i];
        CHECK(diff == 0, "%d-connectivity: %lld voxels labelled differently from scipy", conn, (long long)diff);
    }
    CHECK(counts[0] > counts[1] && counts[1] > 5, "the fixture should separate the connectivities (%d vs %d)",
          counts[0], counts[1]);
    /* Different values never join, even when touching. */
    uint8_t two[4] = {1, 2, 2, 1};
    int32_t l2[4], n2 = 0;
    int64_t line[3] = {1, 1, 4};
    CHECK_OK(ie_components_label(two, line, 26, l2, &n2));
    CHECK(n2 == 3 && l2[0] == 1 && l2[1] == 2 && l2[2] == 2 && l2[3] == 3, "multi-value line: %d components", n2);
    CHECK_FAILS(ie_components_label(two, line, 8, l2, &n2), IE_ERR_INVALID_ARG, "use 6");
    free(labels);
}

static void test_largest_components(ie_params *fx) {
    for (int conn = 6; conn <= 26; conn += 20) {
        ie_tensor *seg = clone_of(fx, "lcc_input");
        ie_postprocess_opts o;
        ie_postprocess_opts_init(&o);
        o.connectivity = conn;
        o.largest_component[1] = true;
        CHECK_OK(ie_segmentation_filter_components(seg, &o, 1.0));
        /* Classes 2 and 3 need other fractions: run them one by one. */
        ie_postprocess_opts o2 = o;
        memset(o2.largest_component, 0, sizeof o2.largest_component);
        o2.largest_component[2] = true;
        o2.largest_component_fraction = 0.2;
        CHECK_OK(ie_segmentation_filter_components(seg, &o2, 1.0));
        o2.largest_component[2] = false;
        o2.largest_component[3] = true;
        o2.largest_component_fraction = 0.5; /* InnerEye: 0.5 keeps only the largest */
        CHECK_OK(ie_segmentation_filter_components(seg, &o2, 1.0));
        char key[64];
        snprintf(key, sizeof key, "lcc_expected%d", conn);
        int64_t diff = count_diff_u8(seg, fixture_get(fx, key));
        CHECK(diff == 0, "largest components (%d-connectivity): %lld voxels differ from InnerEye's rule", conn,
              (long long)diff);
        ie_tensor_release(seg);
    }
}

static void test_min_size(void) {
    /* Class 1: components of 1, 2 and 4 voxels; class 2: one of 3 voxels. */
    uint8_t v[16] = {1, 0, 1, 1, 0, 2, 2, 2, 0, 1, 1, 1, 1, 0, 0, 0};
    int64_t shape[3] = {1, 1, 16};
    ie_tensor *seg = NULL;
    CHECK_OK(ie_tensor_from_data(IE_U8, 3, shape, v, &seg));
    ie_postprocess_opts o;
    ie_postprocess_opts_init(&o);
    o.min_component_voxels = 3;
    CHECK_OK(ie_segmentation_filter_components(seg, &o, 1.0));
    const uint8_t want[16] = {0, 0, 0, 0, 0, 2, 2, 2, 0, 1, 1, 1, 1, 0, 0, 0};
    CHECK(memcmp(ie_tensor_data(seg), want, 16) == 0, "min_component_voxels 3 keeps components of >= 3 voxels");
    ie_tensor_release(seg);
    CHECK_OK(ie_tensor_from_data(IE_U8, 3, shape, v, &seg));
    o.min_component_voxels = 0;
    o.min_component_mm3 = 7.5; /* 2.5 mm^3 voxels: 3 voxels are 7.5 mm^3 */
    CHECK_OK(ie_segmentation_filter_components(seg, &o, 2.5));
    CHECK(memcmp(ie_tensor_data(seg), want, 16) == 0, "min_component_mm3 7.5 with 2.5 mm^3 voxels");
    ie_tensor_release(seg);
}

static void test_smoothing(ie_params *fx) {
    const char *cases[2] = {"a", "b"};
    for (int c = 0; c < 2; c++) {
        char key[64];
        ie_tensor *p = clone_of(fx, "smooth_input");
        snprintf(key, sizeof key, "smooth_sigma_%s", cases[c]);
        const float *s = ie_tensor_data(fixture_get(fx, key));
        double sigma[3] = {s[0], s[1], s[2]};
        CHECK_OK(ie_posteriors_smooth(p, sigma));
        snprintf(key, sizeof key, "smooth_expected_%s", cases[c]);
        char what[64];
        snprintf(what, sizeof what, "gaussian_filter sigma %g %g %g", sigma[0], sigma[1], sigma[2]);
        check_close(what, p, fixture_get(fx, key), 1e-6, 1e-7);
        ie_tensor_release(p);
    }
    /* The same bytes on 1 and 3 threads. */
    ie_tensor *a = clone_of(fx, "smooth_input"), *b = clone_of(fx, "smooth_input");
    double sigma[3] = {2.5, 1.2, 0.7};
    ie_threads_set(1);
    CHECK_OK(ie_posteriors_smooth(a, sigma));
    ie_threads_set(3);
    CHECK_OK(ie_posteriors_smooth(b, sigma));
    CHECK(memcmp(ie_tensor_data(a), ie_tensor_data(b), (size_t)ie_tensor_numel(a) * 4) == 0,
          "smoothing differs between 1 and 3 threads");
    double bad[3] = {1, -1, 1};
    CHECK_FAILS(ie_posteriors_smooth(a, bad), IE_ERR_INVALID_ARG, "sigma -1");
    ie_tensor_release(a);
    ie_tensor_release(b);
}

static void test_rules(ie_params *fx) {
    const ie_tensor *post = fixture_get(fx, "rules_post");
    ie_tensor *seg = NULL;
    CHECK_OK(ie_posteriors_argmax(post, &seg));
    ie_summed_rule summed[2] = {{.first = 1, .second = 2, .external = 0}, {.first = 3, .second = 1, .external = 2}};
    CHECK_OK(ie_segmentation_summed_rules(seg, post, summed, 2));
    CHECK(count_diff_u8(seg, fixture_get(fx, "summed_expected")) == 0, "summed probability rules differ from "
          "InnerEye's apply_summed_probability_rules");
    ie_tensor_release(seg);
    CHECK_OK(ie_posteriors_argmax(post, &seg));
    ie_slice_rule slice[2] = {{.higher = 1, .lower = 2, .higher_dominates = true},
                              {.higher = 3, .lower = 1, .higher_dominates = false}};
    CHECK_OK(ie_segmentation_slice_rules(seg, slice, 2));
    CHECK(count_diff_u8(seg, fixture_get(fx, "slice_expected")) == 0, "slice exclusion rules differ from InnerEye's "
          "apply_slice_exclusion_rules");
    ie_summed_rule bad = {.first = 1, .second = 7, .external = 0};
    CHECK_FAILS(ie_segmentation_summed_rules(seg, post, &bad, 1), IE_ERR_INVALID_ARG, "4 classes");
    ie_tensor_release(seg);
}

static void test_chain(ie_params *fx) {
    ie_tensor *post = clone_of(fx, "chain_post"), *seg = NULL;
    ie_postprocess_opts o;
    ie_postprocess_opts_init(&o);
    double spacing[3] = {2.0, 0.8, 1.1};
    o.smoothing_mm[0] = 3.0, o.smoothing_mm[1] = 1.0, o.smoothing_mm[2] = 1.5;
    o.n_summed = 1;
    o.summed[0] = (ie_summed_rule){.first = 1, .second = 2, .external = 0};
    o.n_slice = 1;
    o.slice[0] = (ie_slice_rule){.higher = 1, .lower = 2, .higher_dominates = true};
    /* Class 1 only its largest component; class 2 components with >= 30%: two
     * passes, as the fraction is shared by the listed classes. */
    o.largest_component[1] = true;
    ie_postprocess_opts o2 = o;
    o2.n_summed = 0, o2.n_slice = 0;
    o2.smoothing_mm[0] = o2.smoothing_mm[1] = o2.smoothing_mm[2] = 0;
    memset(o2.largest_component, 0, sizeof o2.largest_component);
    o2.largest_component[2] = true;
    o2.largest_component_fraction = 0.3;
    /* The chain without its slice rule, then class 2's components, then the
     * slice rule: the same order as the reference. */
    o.n_slice = 0;
    CHECK_OK(ie_postprocess(&o, post, fixture_get(fx, "chain_mask"), spacing, &seg));
    check_close("masked, smoothed posteriors", post, fixture_get(fx, "chain_expected_post"), 1e-5, 1e-7);
    CHECK_OK(ie_segmentation_filter_components(seg, &o2, 1.0));
    CHECK_OK(ie_segmentation_slice_rules(seg, o.slice, 1));
    int64_t diff = count_diff_u8(seg, fixture_get(fx, "chain_expected_seg"));
    CHECK(diff == 0, "post-processing chain: %lld voxels differ from InnerEye's pipeline", (long long)diff);
    ie_tensor_release(seg);
    ie_tensor_release(post);
}

static void test_mask_and_argmax(void) {
    /* 3 classes, 4 voxels; the mask excludes voxels 1 and 3. */
    float p[12] = {0.2f, 0.1f, 0.5f, 0.3f, 0.5f, 0.6f, 0.25f, 0.3f, 0.3f, 0.3f, 0.25f, 0.4f};
    int64_t ps[4] = {3, 1, 2, 2}, ms[3] = {1, 2, 2};
    int64_t m[4] = {1, 0, 7, 0};
    ie_tensor *post = NULL, *mask = NULL, *seg = NULL;
    CHECK_OK(ie_tensor_from_data(IE_F32, 4, ps, p, &post));
    CHECK_OK(ie_tensor_from_data(IE_I64, 3, ms, m, &mask));
    ie_postprocess_opts o;
    ie_postprocess_opts_init(&o);
    CHECK_OK(ie_postprocess(&o, post, mask, NULL, &seg));
    const float *q = ie_f32(post);
    CHECK(q[1] == 1 && q[5] == 0 && q[9] == 0 && q[3] == 1 && q[7] == 0 && q[11] == 0,
          "outside the mask the background posterior is 1, the others 0");
    CHECK(q[0] == 0.2f && q[4] == 0.5f && q[8] == 0.3f, "inside the mask posteriors are unchanged");
    const uint8_t *s = ie_tensor_data(seg);
    /* voxel 2: 0.5 vs 0.25 vs 0.25 -> 0; voxel 0: class 1. */
    CHECK(s[0] == 1 && s[1] == 0 && s[2] == 0 && s[3] == 0, "argmax %d %d %d %d", s[0], s[1], s[2], s[3]);
    ie_tensor_release(seg);
    /* Ties: the first maximum wins (np.argmax). */
    float tie[4] = {0.5f, 0.25f, 0.5f, 0.25f};
    int64_t ts[4] = {2, 1, 1, 2};
    ie_tensor *tp = NULL;
    CHECK_OK(ie_tensor_from_data(IE_F32, 4, ts, tie, &tp));
    CHECK_OK(ie_posteriors_argmax(tp, &seg));
    CHECK(((uint8_t *)ie_tensor_data(seg))[0] == 0, "a tie goes to the lower class");
    ie_tensor_release(seg);
    int64_t bad_shape[3] = {1, 2, 3};
    ie_tensor *bad = NULL;
    CHECK_OK(ie_tensor_zeros(IE_U8, 3, bad_shape, IE_CPU, &bad));
    CHECK_FAILS(ie_posteriors_apply_mask(post, bad), IE_ERR_SHAPE, "the mask must have the image's size");
    CHECK_FAILS(ie_postprocess(&o, bad, NULL, NULL, &seg), IE_ERR_SHAPE, "expected [K, D, H, W] f32");
    double zero_spacing[3] = {1, 0, 1};
    CHECK_FAILS(ie_postprocess(&o, post, NULL, zero_spacing, &seg), IE_ERR_INVALID_ARG, "spacing 0 mm");
    ie_tensor_release(bad);
    ie_tensor_release(tp);
    ie_tensor_release(post);
    ie_tensor_release(mask);
}

int main(void) {
    ie_params *fx = fixture_load("postprocess.safetensors");
    test_components(fx);
    test_largest_components(fx);
    test_min_size();
    test_smoothing(fx);
    test_rules(fx);
    test_chain(fx);
    test_mask_and_argmax();
    ie_params_free(fx);
    return test_summary();
}
