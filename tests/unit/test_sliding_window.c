/* tests - sliding-window inference (core/inference/sliding_window.c):
 *   - window positions: nnU-Net's step rule (with numpy's round-half-even),
 *     fixed strides, windows rounded to the network's multiple, padding;
 *   - blending: nnU-Net's Gaussian importance map; with windows that each
 *     predict a constant, the result equals the weighted mean computed here
 *     by brute force over every window (uniform and Gaussian weights);
 *   - a window covering the volume gives exactly the single whole-volume
 *     forward of a UNet3D (padded, then cut back);
 *   - an identity network (output = input posteriors) reproduces its input
 *     through overlapping windows, strides, batches and mirroring;
 *   - mirroring makes the prediction of a symmetric volume symmetric, and
 *     equals the average of the plain and the flipped passes;
 *   - bit-identical results on 1 and 3 threads;
 *   - errors name the window; peak memory is the accumulators plus one
 *     batch, not the number of windows. */
#include "core/inference/sliding_window.h"
#include "models/unet3d/unet3d_net.h"
#include "test_util.h"

static ie_tensor *random_volume(int64_t c, int64_t d, int64_t h, int64_t w, uint32_t item) {
    int64_t shape[4] = {c, d, h, w};
    ie_tensor *t = NULL;
    CHECK_OK(ie_tensor_empty(IE_F32, 4, shape, IE_CPU, &t));
    ie_rng rng = ie_rng_make(7, IE_STREAM_SAMPLING, 0, item);
    for (int64_t i = 0; i < ie_tensor_numel(t); i++) ie_f32(t)[i] = (float)ie_rng_normal(&rng);
    return t;
}

/* ------------------------------------------------------------- plans */

static void check_steps(const char *what, const ie_window_plan *p, int axis, const int64_t *want, int n) {
    bool ok = p->n_steps[axis] == n;
    for (int i = 0; ok && i < n; i++) ok = p->steps[axis][i] == want[i];
    CHECK(ok, "%s: %d steps along axis %d (first %lld, last %lld), want %d", what, p->n_steps[axis], axis,
          (long long)p->steps[axis][0], (long long)p->steps[axis][p->n_steps[axis] - 1], n);
}

static void test_plans(void) {
    ie_window_opts o;
    ie_window_opts_init(&o);
    ie_window_plan p;
    /* nnU-Net: size 100, window 32, overlap 0.5: 6 steps of 13.6 rounded. */
    int64_t size[3] = {100, 8, 6};
    o.window[0] = 32, o.window[1] = 3, o.window[2] = 32;
    CHECK_OK(ie_window_plan_make(size, &o, &p));
    check_steps("overlap 0.5", &p, 0, (int64_t[]){0, 14, 27, 41, 54, 68}, 6);
    /* size 8, window 3: steps of 1.25 -> 0, 1, 2 (2.5 rounds to even), 4, 5 */
    check_steps("round half to even", &p, 1, (int64_t[]){0, 1, 2, 4, 5}, 5);
    /* smaller than the window: one window of the volume's size (InnerEye's
     * restrict_crop_size_to_image) */
    check_steps("one window", &p, 2, (int64_t[]){0}, 1);
    CHECK(p.window[2] == 6 && p.padded[2] == 6 && p.before[2] == 0, "window %lld, padding %lld before",
          (long long)p.window[2], (long long)p.before[2]);
    CHECK(p.count == 30, "30 windows, got %lld", (long long)p.count);
    ie_window_plan_free(&p);
    /* fixed stride; windows rounded up to the multiple (30 -> 32); a volume
     * smaller than the window shrinks it to its own size rounded up. */
    o.window[0] = 30, o.window[1] = 30, o.window[2] = 30;
    o.multiple[0] = o.multiple[1] = o.multiple[2] = 16;
    o.stride[0] = 30;
    int64_t size2[3] = {100, 20, 40};
    CHECK_OK(ie_window_plan_make(size2, &o, &p));
    CHECK(p.window[0] == 32 && p.window[1] == 32 && p.window[2] == 32, "windows rounded to multiples of 16");
    check_steps("stride 30", &p, 0, (int64_t[]){0, 30, 60, 68}, 4);
    CHECK(p.padded[1] == 32 && p.before[1] == 6, "padded to 32 with 6 before");
    ie_window_plan_free(&p);
    int64_t size3[3] = {10, 20, 40};
    CHECK_OK(ie_window_plan_make(size3, &o, &p));
    CHECK(p.window[0] == 16 && p.padded[0] == 16 && p.before[0] == 3, "window shrunk to 16 along D");
    ie_window_plan_free(&p);
    /* A 1-voxel window (2-D model) visits each slice once, whatever the overlap. */
    ie_window_opts flat;
    ie_window_opts_init(&flat);
    flat.window[0] = 1;
    int64_t size4[3] = {5, 32, 32};
    CHECK_OK(ie_window_plan_make(size4, &flat, &p));
    check_steps("1-voxel window", &p, 0, (int64_t[]){0, 1, 2, 3, 4}, 5);
    ie_window_plan_free(&p);
    o.stride[0] = 40;
    CHECK_FAILS(ie_window_plan_make(size2, &o, &p), IE_ERR_INVALID_ARG, "larger than the window");
    o.stride[0] = 0;
    o.overlap = 1.0;
    CHECK_FAILS(ie_window_plan_make(size2, &o, &p), IE_ERR_INVALID_ARG, "overlap 1 is outside [0, 1)");
}

static void test_weights(void) {
    int64_t w[3] = {8, 5, 12};
    ie_tensor *g = NULL, *u = NULL;
    CHECK_OK(ie_window_weights(w, IE_BLEND_GAUSSIAN, 0.125, &g));
    CHECK_OK(ie_window_weights(w, IE_BLEND_UNIFORM, 0.125, &u));
    double worst = 0, max = 0;
    for (int64_t z = 0, i = 0; z < w[0]; z++)
        for (int64_t y = 0; y < w[1]; y++)
            for (int64_t x = 0; x < w[2]; x++, i++) {
                int64_t pos[3] = {z, y, x};
                double want = 1;
                for (int a = 0; a < 3; a++) {
                    double c = (double)(w[a] / 2), s = w[a] / 8.0, d = (double)pos[a] - c;
                    want *= exp(-d * d / (2 * s * s));
                }
                double e = fabs(ie_f32(g)[i] - want) / want;
                worst = e > worst ? e : worst;
                max = ie_f32(g)[i] > max ? ie_f32(g)[i] : max;
                CHECK(ie_f32(u)[i] == 1.0f, "uniform weight %g", ie_f32(u)[i]);
            }
    CHECK(worst < 1e-6, "Gaussian weights differ from nnU-Net's by %g (relative)", worst);
    CHECK(max == 1.0 && ie_f32(g)[(4 * 5 + 2) * 12 + 6] == 1.0f, "the centre (w // 2) weighs 1");
    ie_tensor_release(g);
    ie_tensor_release(u);
}

/* ------------------------------------------------- brute-force blending */

/* Window j predicts class 0 with a_j everywhere and class 1 with 1 - a_j. */
typedef struct constant_net {
    int64_t next; /* index of the next window */
} constant_net;

static double window_value(int64_t j) { return 0.05 + 0.9 * (double)((j * 7919) % 101) / 100.0; }

static ie_status constant_fn(void *ctx, ie_tensor *windows, ie_tensor **out) {
    constant_net *c = ctx;
    int64_t n = ie_tensor_dim(windows, 0), shape[5] = {n, 2, ie_tensor_dim(windows, 2), ie_tensor_dim(windows, 3),
                                                       ie_tensor_dim(windows, 4)};
    int64_t wv = shape[2] * shape[3] * shape[4];
    IE_TRY(ie_tensor_empty(IE_F32, 5, shape, IE_CPU, out));
    for (int64_t j = 0; j < n; j++, c->next++)
        for (int64_t i = 0; i < wv; i++) {
            float a = (float)window_value(c->next);
            ie_f32(*out)[(j * 2) * wv + i] = a;
            ie_f32(*out)[(j * 2 + 1) * wv + i] = 1.0f - a;
        }
    return IE_OK;
}

static void test_blending(void) {
    ie_tensor *image = random_volume(1, 20, 45, 37, 1);
    const int64_t *S = ie_tensor_shape(image) + 1;
    for (int blend = 0; blend < 2; blend++)
        for (int mode = 0; mode < 2; mode++) {
            ie_window_opts o;
            ie_window_opts_init(&o);
            o.window[0] = 24, o.window[1] = 16, o.window[2] = 16;
            o.multiple[0] = o.multiple[1] = o.multiple[2] = 8;
            o.blend = blend ? IE_BLEND_UNIFORM : IE_BLEND_GAUSSIAN;
            o.batch_size = 3;
            if (mode) o.stride[1] = 5, o.stride[2] = 11;
            constant_net net = {0};
            ie_tensor *post = NULL, *weights = NULL;
            CHECK_OK(ie_sliding_window(image, 2, &o, constant_fn, &net, &post));
            ie_window_plan p;
            CHECK_OK(ie_window_plan_make(S, &o, &p));
            CHECK(net.next == p.count, "%lld windows went through the network, the plan has %lld",
                  (long long)net.next, (long long)p.count);
            CHECK_OK(ie_window_weights(p.window, o.blend, o.sigma_scale, &weights));
            int64_t V = S[0] * S[1] * S[2];
            double *num = calloc((size_t)V, sizeof *num), *den = calloc((size_t)V, sizeof *den);
            for (int64_t j = 0; j < p.count; j++) {
                int64_t idx[3] = {j / (p.n_steps[1] * p.n_steps[2]), (j / p.n_steps[2]) % p.n_steps[1],
                                  j % p.n_steps[2]};
                int64_t st[3];
                for (int a = 0; a < 3; a++) st[a] = p.steps[a][idx[a]] - p.before[a];
                for (int64_t z = 0; z < p.window[0]; z++)
                    for (int64_t y = 0; y < p.window[1]; y++)
                        for (int64_t x = 0; x < p.window[2]; x++) {
                            int64_t oz = st[0] + z, oy = st[1] + y, ox = st[2] + x;
                            if (oz < 0 || oz >= S[0] || oy < 0 || oy >= S[1] || ox < 0 || ox >= S[2]) continue;
                            double wt = ie_f32(weights)[(z * p.window[1] + y) * p.window[2] + x];
                            int64_t v = (oz * S[1] + oy) * S[2] + ox;
                            num[v] += wt * (double)(float)window_value(j);
                            den[v] += wt;
                        }
            }
            double worst = 0, sum_err = 0;
            int64_t uncovered = 0;
            for (int64_t v = 0; v < V; v++) {
                uncovered += den[v] == 0;
                double want = num[v] / den[v], got = ie_f32(post)[v];
                double e = fabs(got - want);
                worst = e > worst ? e : worst;
                double s = fabs((double)ie_f32(post)[v] + ie_f32(post)[V + v] - 1.0);
                sum_err = s > sum_err ? s : sum_err;
            }
            CHECK(uncovered == 0, "%lld voxels are covered by no window", (long long)uncovered);
            CHECK(worst < 2e-6, "%s blending, %s: the weighted mean differs from brute force by %g",
                  blend ? "uniform" : "Gaussian", mode ? "strides" : "overlap", worst);
            CHECK(sum_err < 2e-6, "posteriors sum to 1 within %g", sum_err);
            free(num);
            free(den);
            ie_window_plan_free(&p);
            ie_tensor_release(weights);
            ie_tensor_release(post);
        }
    ie_tensor_release(image);
}

/* ------------------------------------------------------- a real network */

static ie_status unet_fn(void *ctx, ie_tensor *windows, ie_tensor **out) {
    ie_tensor *logits = NULL;
    IE_TRY(ie_unet3d_forward(ctx, windows, false, &logits));
    ie_status st = ie_softmax(logits, 1, out);
    ie_tensor_release(logits);
    return st;
}

/* Softmax of the UNet on the whole volume, zero-padded by `before` to `padded`
 * and cut back. */
static ie_tensor *whole_forward(ie_unet3d *net, const ie_tensor *image, const int64_t padded[3],
                                const int64_t before[3]) {
    const int64_t *S = ie_tensor_shape(image) + 1;
    int64_t shape[5] = {1, 1, padded[0], padded[1], padded[2]};
    ie_tensor *x = NULL, *post = NULL, *out = NULL;
    CHECK_OK(ie_tensor_zeros(IE_F32, 5, shape, IE_CPU, &x));
    for (int64_t z = 0; z < S[0]; z++)
        for (int64_t y = 0; y < S[1]; y++)
            memcpy(ie_f32(x) + ((z + before[0]) * padded[1] + y + before[1]) * padded[2] + before[2],
                   ie_f32(image) + (z * S[1] + y) * S[2], (size_t)S[2] * 4);
    bool was = ie_grad_set_enabled(false);
    CHECK_OK(unet_fn(net, x, &post));
    ie_grad_set_enabled(was);
    int64_t oshape[4] = {3, S[0], S[1], S[2]};
    CHECK_OK(ie_tensor_empty(IE_F32, 4, oshape, IE_CPU, &out));
    for (int64_t k = 0; k < 3; k++)
        for (int64_t z = 0; z < S[0]; z++)
            for (int64_t y = 0; y < S[1]; y++)
                memcpy(ie_f32(out) + ((k * S[0] + z) * S[1] + y) * S[2],
                       ie_f32(post) + ((k * padded[0] + z + before[0]) * padded[1] + y + before[1]) * padded[2] +
                           before[2],
                       (size_t)S[2] * 4);
    ie_tensor_release(x);
    ie_tensor_release(post);
    return out;
}

static void test_whole_volume(ie_unet3d *net) {
    ie_window_opts o;
    ie_window_opts_init(&o);
    o.multiple[0] = o.multiple[1] = o.multiple[2] = 4;
    /* The window is the volume. */
    ie_tensor *image = random_volume(1, 12, 20, 16, 2), *post = NULL;
    o.window[0] = 12, o.window[1] = 20, o.window[2] = 16;
    o.blend = IE_BLEND_UNIFORM;
    CHECK_OK(ie_sliding_window(image, 3, &o, unet_fn, net, &post));
    ie_tensor *want = whole_forward(net, image, (int64_t[]){12, 20, 16}, (int64_t[]){0, 0, 0});
    CHECK(memcmp(ie_tensor_data(post), ie_tensor_data(want), (size_t)ie_tensor_numel(want) * 4) == 0,
          "one uniform window covering the volume must equal the whole-volume forward bit for bit");
    ie_tensor_release(post);
    o.blend = IE_BLEND_GAUSSIAN;
    CHECK_OK(ie_sliding_window(image, 3, &o, unet_fn, net, &post));
    check_close("one Gaussian window = whole-volume forward", post, want, 1e-6, 1e-7);
    ie_tensor_release(post);
    ie_tensor_release(want);
    ie_tensor_release(image);
    /* A volume smaller than the window: padded to the multiple, as the
     * trainer's whole-volume validation pads. */
    image = random_volume(1, 10, 18, 15, 3);
    o.window[0] = o.window[1] = o.window[2] = 32;
    o.blend = IE_BLEND_UNIFORM;
    CHECK_OK(ie_sliding_window(image, 3, &o, unet_fn, net, &post));
    want = whole_forward(net, image, (int64_t[]){12, 20, 16}, (int64_t[]){1, 1, 0});
    CHECK(memcmp(ie_tensor_data(post), ie_tensor_data(want), (size_t)ie_tensor_numel(want) * 4) == 0,
          "a padded single window must equal the padded whole-volume forward bit for bit");
    ie_tensor_release(post);
    ie_tensor_release(want);
    ie_tensor_release(image);
}

static void test_threads(ie_unet3d *net) {
    ie_tensor *image = random_volume(1, 24, 40, 36, 4), *a = NULL, *b = NULL;
    ie_window_opts o;
    ie_window_opts_init(&o);
    o.window[0] = o.window[1] = o.window[2] = 16;
    o.multiple[0] = o.multiple[1] = o.multiple[2] = 4;
    o.mirror[0] = true;
    o.batch_size = 4;
    ie_threads_set(1);
    CHECK_OK(ie_sliding_window(image, 3, &o, unet_fn, net, &a));
    ie_threads_set(3);
    CHECK_OK(ie_sliding_window(image, 3, &o, unet_fn, net, &b));
    CHECK(memcmp(ie_tensor_data(a), ie_tensor_data(b), (size_t)ie_tensor_numel(a) * 4) == 0,
          "posteriors differ between 1 and 3 threads");
    ie_threads_set(2);
    ie_tensor_release(a);
    ie_tensor_release(b);
    ie_tensor_release(image);
}

/* ------------------------------------------------- identity, mirroring */

static ie_status identity_fn(void *ctx, ie_tensor *windows, ie_tensor **out) {
    (void)ctx;
    *out = ie_tensor_retain(windows);
    return IE_OK;
}

static void test_identity(void) {
    ie_tensor *image = random_volume(3, 37, 29, 41, 5);
    int64_t V = 37 * 29 * 41;
    float *p = ie_f32(image);
    for (int64_t i = 0; i < V; i++) { /* a posterior per voxel */
        double e[3], s = 0;
        for (int k = 0; k < 3; k++) s += e[k] = exp(p[k * V + i]);
        for (int k = 0; k < 3; k++) p[k * V + i] = (float)(e[k] / s);
    }
    for (int c = 0; c < 6; c++) {
        ie_window_opts o;
        ie_window_opts_init(&o);
        o.window[0] = o.window[1] = o.window[2] = 16;
        o.blend = c % 2 ? IE_BLEND_UNIFORM : IE_BLEND_GAUSSIAN;
        if (c >= 2) o.stride[0] = 5, o.stride[1] = 7, o.stride[2] = 16, o.batch_size = 1;
        if (c >= 4) o.mirror[0] = o.mirror[1] = o.mirror[2] = true, o.batch_size = 5;
        ie_tensor *post = NULL;
        CHECK_OK(ie_sliding_window(image, 3, &o, identity_fn, NULL, &post));
        char what[96];
        snprintf(what, sizeof what, "identity network, case %d (%s blending)", c, c % 2 ? "uniform" : "Gaussian");
        check_close(what, post, image, 1e-6, 1e-7);
        ie_tensor_release(post);
    }
    ie_tensor_release(image);
}

/* Not flip-equivariant: the foreground logit grows along W within the window. */
static ie_status ramp_fn(void *ctx, ie_tensor *windows, ie_tensor **out) {
    (void)ctx;
    const int64_t *s = ie_tensor_shape(windows);
    int64_t shape[5] = {s[0], 2, s[2], s[3], s[4]}, wv = s[2] * s[3] * s[4];
    IE_TRY(ie_tensor_empty(IE_F32, 5, shape, IE_CPU, out));
    for (int64_t n = 0; n < s[0]; n++)
        for (int64_t i = 0; i < wv; i++) {
            float logit = ie_f32(windows)[n * wv + i] + 0.2f * (float)(i % s[4]) + 0.1f * (float)(i / s[4] % s[3]);
            float p1 = 1.0f / (1.0f + expf(-logit));
            ie_f32(*out)[(n * 2 + 1) * wv + i] = p1;
            ie_f32(*out)[(n * 2) * wv + i] = 1.0f - p1;
        }
    return IE_OK;
}

static void test_mirroring(void) {
    int64_t D = 6, H = 8, W = 10, V = D * H * W;
    ie_tensor *image = random_volume(1, D, H, W, 6);
    float *x = ie_f32(image);
    for (int64_t z = 0; z < D; z++) /* symmetric along H and W */
        for (int64_t y = 0; y < H; y++)
            for (int64_t i = 0; i < W; i++) {
                int64_t ys = y < H / 2 ? y : H - 1 - y, is = i < W / 2 ? i : W - 1 - i;
                x[(z * H + y) * W + i] = x[(z * H + ys) * W + is];
            }
    ie_window_opts o;
    ie_window_opts_init(&o);
    o.window[0] = D, o.window[1] = H, o.window[2] = W;
    o.blend = IE_BLEND_UNIFORM; /* (g p) / g is p only up to rounding, which would hide exact symmetry */
    ie_tensor *plain = NULL, *mirrored = NULL, *both = NULL;
    CHECK_OK(ie_sliding_window(image, 2, &o, ramp_fn, NULL, &plain));
    o.mirror[2] = true;
    CHECK_OK(ie_sliding_window(image, 2, &o, ramp_fn, NULL, &mirrored));
    o.mirror[1] = true;
    CHECK_OK(ie_sliding_window(image, 2, &o, ramp_fn, NULL, &both));
    const float *a = ie_f32(plain), *m = ie_f32(mirrored), *b = ie_f32(both);
    int64_t asym_plain = 0, asym_mirrored = 0, not_mean = 0;
    double worst = 0, worst_sym = 0;
    for (int64_t k = 0; k < 2; k++)
        for (int64_t z = 0; z < D; z++)
            for (int64_t y = 0; y < H; y++)
                for (int64_t i = 0; i < W; i++) {
                    int64_t v = ((k * D + z) * H + y) * W + i, fy = ((k * D + z) * H + H - 1 - y) * W + i,
                            fw = ((k * D + z) * H + y) * W + W - 1 - i,
                            fb = ((k * D + z) * H + H - 1 - y) * W + W - 1 - i;
                    asym_plain += a[v] != a[fw];
                    /* Two passes: (a + b) / 2 is the same either way round. */
                    asym_mirrored += m[v] != m[fw];
                    not_mean += m[v] != (a[v] + a[fw]) / 2;
                    /* Four passes: the same numbers summed in another order. */
                    double want = ((double)a[v] + a[fy] + a[fw] + a[fb]) / 4;
                    worst = fabs(b[v] - want) > worst ? fabs(b[v] - want) : worst;
                    worst_sym = fabs(b[v] - b[fy]) > worst_sym ? fabs(b[v] - b[fy]) : worst_sym;
                    worst_sym = fabs(b[v] - b[fw]) > worst_sym ? fabs(b[v] - b[fw]) : worst_sym;
                }
    CHECK(asym_plain > V / 2, "the ramp network should break the symmetry (%lld asymmetric voxels)",
          (long long)asym_plain);
    CHECK(asym_mirrored == 0, "mirroring along W leaves %lld asymmetric voxels", (long long)asym_mirrored);
    CHECK(not_mean == 0, "mirroring along W: %lld voxels differ from the mean of the plain and flipped passes",
          (long long)not_mean);
    CHECK(worst < 1e-6, "mirroring along H and W differs from the mean of the 4 flipped passes by %g", worst);
    CHECK(worst_sym < 2.5e-7, "mirroring along H and W is asymmetric by %g (beyond 2 ulps)", worst_sym);
    ie_tensor_release(both);
    ie_tensor_release(plain);
    ie_tensor_release(mirrored);
    ie_tensor_release(image);
}

/* ------------------------------------------------------------ errors */

static ie_status wrong_classes_fn(void *ctx, ie_tensor *windows, ie_tensor **out) {
    (void)ctx;
    const int64_t *s = ie_tensor_shape(windows);
    int64_t shape[5] = {s[0], 2, s[2], s[3], s[4]};
    return ie_tensor_zeros(IE_F32, 5, shape, IE_CPU, out);
}

static ie_status failing_fn(void *ctx, ie_tensor *windows, ie_tensor **out) {
    (void)windows, (void)out;
    int *calls = ctx;
    if (++*calls == 2) return ie_error_set(IE_ERR_NUMERIC, "network says no");
    return identity_fn(NULL, windows, out);
}

static void test_errors(void) {
    ie_tensor *image = random_volume(3, 20, 20, 20, 7), *post = NULL;
    ie_window_opts o;
    ie_window_opts_init(&o);
    o.window[0] = o.window[1] = o.window[2] = 16;
    o.batch_size = 2;
    CHECK_FAILS(ie_sliding_window(image, 3, &o, wrong_classes_fn, NULL, &post), IE_ERR_SHAPE,
                "windows 1-2 of 8");
    CHECK(strstr(ie_error_message(), "expected [N, 3, window] f32") != NULL, "message: %s", ie_error_message());
    int calls = 0;
    CHECK_FAILS(ie_sliding_window(image, 3, &o, failing_fn, &calls, &post), IE_ERR_NUMERIC,
                "windows 3-4 of 8 (window 16x16x16, the first at D 0, H 4, W 0)");
    CHECK(strstr(ie_error_message(), "network says no") != NULL, "keeps the network's words: %s", ie_error_message());
    CHECK(post == NULL, "no result on failure");
    ie_tensor *flat = NULL;
    int64_t shape[3] = {4, 4, 4};
    CHECK_OK(ie_tensor_zeros(IE_F32, 3, shape, IE_CPU, &flat));
    CHECK_FAILS(ie_sliding_window(flat, 3, &o, identity_fn, NULL, &post), IE_ERR_SHAPE, "expected [C, D, H, W]");
    ie_tensor_release(flat);
    ie_tensor_release(image);
}

/* ------------------------------------------------------------ memory */

static ie_status uniform_fn(void *ctx, ie_tensor *windows, ie_tensor **out) {
    int K = *(int *)ctx;
    const int64_t *s = ie_tensor_shape(windows);
    int64_t shape[5] = {s[0], K, s[2], s[3], s[4]};
    IE_TRY(ie_tensor_empty(IE_F32, 5, shape, IE_CPU, out));
    for (int64_t i = 0; i < ie_tensor_numel(*out); i++) ie_f32(*out)[i] = 1.0f / (float)K;
    return IE_OK;
}

/* Runs first, so the allocator's peak so far is only the image. */
static void test_memory(void) {
    int K = 4;
    ie_tensor *image = random_volume(1, 48, 96, 96, 8), *post = NULL;
    ie_window_opts o;
    ie_window_opts_init(&o);
    o.window[0] = o.window[1] = o.window[2] = 32;
    o.batch_size = 2;
    ie_memory_stats before, after;
    ie_memory_get_stats(&before);
    CHECK_OK(ie_sliding_window(image, K, &o, uniform_fn, &K, &post));
    ie_memory_get_stats(&after);
    ie_window_plan p;
    CHECK_OK(ie_window_plan_make(ie_tensor_shape(image) + 1, &o, &p));
    double V = 48.0 * 96 * 96, w = 32.0 * 32 * 32, mb = 1.0 / (1 << 20);
    double accumulators = (K + 1) * V * 4, batch = o.batch_size * w * 4 * (1 + K), weights = w * 4;
    double used = (double)(after.peak_in_use - before.bytes_in_use), all_windows = (double)p.count * K * w * 4;
    printf("sliding window memory: peak %.2f MB above the image; accumulators %.2f MB, one batch %.2f MB, weights "
           "%.2f MB; holding all %lld windows' outputs would take %.2f MB\n", used * mb, accumulators * mb,
           batch * mb, weights * mb, (long long)p.count, all_windows * mb);
    CHECK(used <= 1.07 * (accumulators + batch + weights) + 65536,
          "peak %.0f bytes exceeds accumulators + one batch + weights (%.0f)", used, accumulators + batch + weights);
    CHECK(all_windows > 2 * used, "the test volume is too small to tell streaming from holding every window");
    ie_window_plan_free(&p);
    ie_tensor_release(post);
    ie_tensor_release(image);
}

int main(void) {
    ie_threads_set(2);
    test_memory();
    test_plans();
    test_weights();
    test_blending();
    test_identity();
    test_mirroring();
    test_errors();
    ie_unet3d *net = NULL;
    ie_unet3d_config cfg = {.in_channels = 1, .classes = 3, .features = 4, .depth = 2};
    CHECK_OK(ie_unet3d_create(&cfg, 11, &net));
    test_whole_volume(net);
    test_threads(net);
    ie_unet3d_free(net);
    return test_summary();
}
