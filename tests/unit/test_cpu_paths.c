/* The CPU paths give the same bytes (core/backend/cpu/canon_kernels.h): every
 * convolution product (forward, input gradient, weight gradient) on shapes
 * the direct kernels take and on shapes they do not, and the matrix products
 * of linear layers, run through the canonical kernels of every path this CPU
 * supports (generic, avx2, avx512) and its direct kernels (AVX2, AVX-512, each
 * as AUTO runs them and with their voxel-vector variants forced on small
 * grids too), on random inputs from our generator, into outputs poisoned with
 * NaN, each twice (on 1 and 2 threads): all results must be identical byte
 * for byte.  The generic
 * result is also checked against a float64 evaluation: a sum of n products,
 * each rounded once, is within n * 2^-24 * sum|terms| of the exact sum in any
 * order (Higham, Accuracy and Stability, 3.1), so that is the bound. */
#include "core/backend/cpu/canon_kernels.h"
#include "core/backend/cpu/conv_cpu_internal.h"
#include "core/backend/cpu/cpu_conv.h"
#include "core/backend/cpu/cpu_path.h"
#include "test_util.h"

typedef enum { FWD, BWD_DATA, BWD_WEIGHT } product;
static const char *const PRODUCT[3] = {"forward", "input gradient", "weight gradient"};

typedef enum { CANON, DIRECT_AVX512, DIRECT_AVX2 } impl_kind;

typedef struct impl {
    const char *name;
    impl_kind kind;
    const ie_canon_kernels *canon; /* kind CANON */
    ie_cpu_conv_mode mode;         /* direct kinds: AUTO or DIRECT_VECTOR (no channels-in-lanes kernels) */
} impl;

static float *random_floats(int64_t n, uint32_t seed) {
    float *p = malloc((size_t)(n ? n : 1) * sizeof(float));
    ie_rng rng = ie_rng_make(seed, IE_STREAM_USER, 0, 0);
    ie_rng_fill_uniform(&rng, 0, p, n, -1.0f, 1.0f);
    return p;
}

static float *nan_floats(int64_t n) {
    float *p = malloc((size_t)(n ? n : 1) * sizeof(float));
    for (int64_t i = 0; i < n; i++) p[i] = NAN;
    return p;
}

static ie_status run_direct(const impl *im, product pr, const ie_conv_geom *g, const float *a, const float *b,
                            const float *bias, float *out) {
    if (im->kind == DIRECT_AVX2) {
        if (pr == FWD) return ie_conv_direct_avx2_forward(g, a, b, bias, out);
        if (pr == BWD_DATA) return ie_conv_direct_avx2_backward_data(g, a, b, bias, out);
        return ie_conv_direct_avx2_backward_weight(g, a, b, out);
    }
    if (pr == FWD) return ie_conv_direct_forward(g, a, b, bias, out);
    if (pr == BWD_DATA) return ie_conv_direct_backward_data(g, a, b, bias, out);
    return ie_conv_direct_backward_weight(g, a, b, out);
}

static ie_status run_conv(const impl *im, product pr, const ie_conv_geom *g, const float *a, const float *b,
                          const float *bias, float *out) {
    if (im->kind == CANON) {
        if (pr == FWD) return im->canon->conv_forward(g, a, b, bias, out);
        if (pr == BWD_DATA) return im->canon->conv_backward_data(g, a, b, bias, out);
        return im->canon->conv_backward_weight(g, a, b, out);
    }
    ie_cpu_conv_set_mode(im->mode);
    ie_status st = run_direct(im, pr, g, a, b, bias, out);
    ie_cpu_conv_set_mode(IE_CPU_CONV_AUTO);
    return st;
}

static int64_t vol(const int64_t d[3]) { return d[0] * d[1] * d[2]; }

/* Input position of output o through tap k along dimension d, or -1. */
static int64_t src_pos(const ie_conv_geom *g, int d, int64_t o, int k) {
    int64_t i = o * g->stride[d] - g->pad[d] + (int64_t)k * g->dil[d];
    return i >= 0 && i < g->in[d] ? i : -1;
}

/* float64 truth and sum of |terms| of one product; returns the largest
 * number of terms of an output. */
static int64_t reference(product pr, const ie_conv_geom *g, const float *x, const float *w, const float *gy,
                         const float *bias, double *ref, double *mag, int64_t n_out) {
    for (int64_t i = 0; i < n_out; i++) ref[i] = mag[i] = 0;
    const int64_t ivol = vol(g->in), ovol = vol(g->out), kt = (int64_t)g->kernel[0] * g->kernel[1] * g->kernel[2];
    int64_t *terms = calloc((size_t)n_out, sizeof(int64_t));
    for (int64_t n = 0; n < g->batch; n++)
        for (int64_t o = 0; o < ovol; o++) {
            int64_t od = o / (g->out[1] * g->out[2]), oh = (o / g->out[2]) % g->out[1], ow = o % g->out[2];
            for (int64_t k = 0; k < kt; k++) {
                int kd = (int)(k / (g->kernel[1] * g->kernel[2])), kh = (int)((k / g->kernel[2]) % g->kernel[1]),
                    kw = (int)(k % g->kernel[2]);
                int64_t id = src_pos(g, 0, od, kd), ih = src_pos(g, 1, oh, kh), iw = src_pos(g, 2, ow, kw);
                if (id < 0 || ih < 0 || iw < 0) continue;
                int64_t i = (id * g->in[1] + ih) * g->in[2] + iw;
                for (int64_t co = 0; co < g->cout; co++)
                    for (int64_t ci = 0; ci < g->cin; ci++) {
                        double wv = w[(co * g->cin + ci) * kt + k];
                        double t;
                        int64_t at;
                        if (pr == FWD) {
                            t = wv * x[(n * g->cin + ci) * ivol + i];
                            at = (n * g->cout + co) * ovol + o;
                        } else if (pr == BWD_DATA) {
                            t = wv * gy[(n * g->cout + co) * ovol + o];
                            at = (n * g->cin + ci) * ivol + i;
                        } else {
                            t = (double)gy[(n * g->cout + co) * ovol + o] * x[(n * g->cin + ci) * ivol + i];
                            at = (co * g->cin + ci) * kt + k;
                        }
                        ref[at] += t;
                        mag[at] += fabs(t);
                        terms[at]++;
                    }
            }
        }
    if (bias && pr != BWD_WEIGHT) {
        int64_t ch = pr == FWD ? g->cout : g->cin, sp = pr == FWD ? ovol : ivol;
        for (int64_t n = 0; n < g->batch; n++)
            for (int64_t c = 0; c < ch; c++)
                for (int64_t v = 0; v < sp; v++) {
                    ref[(n * ch + c) * sp + v] += bias[c];
                    mag[(n * ch + c) * sp + v] += fabs(bias[c]);
                }
    }
    int64_t most = 0;
    for (int64_t i = 0; i < n_out; i++) most = terms[i] > most ? terms[i] : most;
    free(terms);
    return most + 1;
}

/* Inputs beyond uniform random values, for the paths that depend on them: a
 * padding tap skipped rather than added as a zero product differs in the
 * sign of a zero, or where inf * 0 makes a NaN (the direct AVX2 weight
 * gradient adds zero products where it proves that gives the same bytes,
 * conv_cpu_direct_avx2.c). */
typedef enum {
    VALUES_RANDOM,
    VALUES_SIGNED_ZEROS, /* x, gy -0.0, weights > 0, biases -0.0: outputs -0 only if padding is skipped */
    VALUES_TINY,         /* x < 0 and gy > 0 ~ 2^-80: products round to -0, lane sums are -0 */
    VALUES_INF           /* one infinite weight, input and output gradient at the first voxel */
} values;

static void make_special(values v, float *x, int64_t nx, float *w, int64_t nw, float *gy, int64_t ny, float *bo,
                         int64_t nbo, float *bi, int64_t nbi) {
    if (v == VALUES_SIGNED_ZEROS) {
        for (int64_t i = 0; i < nx; i++) x[i] = -0.0f;
        for (int64_t i = 0; i < ny; i++) gy[i] = -0.0f;
        for (int64_t i = 0; i < nw; i++) w[i] = fabsf(w[i]) + 0.125f;
        for (int64_t i = 0; i < nbo; i++) bo[i] = -0.0f;
        for (int64_t i = 0; i < nbi; i++) bi[i] = -0.0f;
    } else if (v == VALUES_TINY) {
        for (int64_t i = 0; i < nx; i++) x[i] = -ldexpf(fabsf(x[i]) + 0.5f, -80);
        for (int64_t i = 0; i < ny; i++) gy[i] = ldexpf(fabsf(gy[i]) + 0.5f, -80);
    } else if (v == VALUES_INF) {
        w[0] = INFINITY;
        x[0] = INFINITY;
        gy[0] = -INFINITY;
    }
}

static void conv_case_values(const char *name, ie_conv_geom g, const impl *impls, int n_impls, values v) {
    for (int d = 0; d < 3; d++)
        g.out[d] = (g.in[d] + 2 * g.pad[d] - (int64_t)g.dil[d] * (g.kernel[d] - 1) - 1) / g.stride[d] + 1;
    const int64_t kt = (int64_t)g.kernel[0] * g.kernel[1] * g.kernel[2];
    const int64_t nx = g.batch * g.cin * vol(g.in), ny = g.batch * g.cout * vol(g.out), nw = g.cout * g.cin * kt;
    float *x = random_floats(nx, 11), *w = random_floats(nw, 12), *gy = random_floats(ny, 13);
    float *bo = random_floats(g.cout, 14), *bi = random_floats(g.cin, 15);
    make_special(v, x, nx, w, nw, gy, ny, bo, g.cout, bi, g.cin);
    const bool fits = ie_conv_direct_fits(&g);
    for (int pr = FWD; pr <= BWD_WEIGHT; pr++) {
        const int64_t n_out = pr == FWD ? ny : pr == BWD_DATA ? nx : nw;
        const float *a = pr == FWD ? x : pr == BWD_DATA ? gy : x;
        const float *b = pr == BWD_WEIGHT ? gy : w;
        const float *bias = pr == FWD ? bo : pr == BWD_DATA ? bi : NULL;
        float *first = NULL;
        for (int m = 0; m < n_impls; m++) {
            if (impls[m].kind != CANON && !fits) continue;
            for (int rep = 0; rep < 2; rep++) {
                ie_threads_set(rep + 1);
                float *out = nan_floats(n_out);
                CHECK_OK(run_conv(&impls[m], (product)pr, &g, a, b, bias, out));
                if (!first) {
                    first = out;
                    continue;
                }
                int64_t at = -1;
                for (int64_t i = 0; i < n_out && at < 0; i++)
                    if (memcmp(&out[i], &first[i], sizeof(float)) != 0) at = i;
                CHECK(at < 0, "%s %s: %s (run %d) differs from %s at element %lld: %.9g vs %.9g", name,
                      PRODUCT[pr], impls[m].name, rep + 1, impls[0].name, (long long)at, at >= 0 ? out[at] : 0.0,
                      at >= 0 ? first[at] : 0.0);
                free(out);
            }
        }
        if (v != VALUES_RANDOM) { /* sums of infinities and underflows: only the bytes are compared */
            free(first);
            continue;
        }
        /* the float64 truth, within n u sum|terms| (see the top of this file) */
        double *ref = malloc((size_t)n_out * sizeof(double)), *mag = malloc((size_t)n_out * sizeof(double));
        int64_t terms = reference((product)pr, &g, x, w, gy, bias, ref, mag, n_out);
        const double gamma = (double)terms * ldexp(1.0, -24) / (1 - (double)terms * ldexp(1.0, -24));
        int64_t bad = -1;
        for (int64_t i = 0; i < n_out && bad < 0; i++)
            if (!(fabs(first[i] - ref[i]) <= gamma * mag[i])) bad = i;
        CHECK(bad < 0, "%s %s: element %lld is %.9g, float64 gives %.9g (bound %.3g)", name, PRODUCT[pr],
              (long long)bad, bad >= 0 ? first[bad] : 0.0, bad >= 0 ? ref[bad] : 0.0, bad >= 0 ? gamma * mag[bad] : 0.0);
        free(ref);
        free(mag);
        free(first);
    }
    free(x);
    free(w);
    free(gy);
    free(bo);
    free(bi);
}

static void conv_case(const char *name, ie_conv_geom g, const impl *impls, int n_impls) {
    conv_case_values(name, g, impls, n_impls, VALUES_RANDOM);
}

#define GEOM(B, CI, CO, D, H, W, KD, KH, KW, SD, SH, SW, PD, PH, PW, DD, DH, DW)                                 \
    (ie_conv_geom) {                                                                                            \
        .batch = B, .cin = CI, .cout = CO, .in = {D, H, W}, .kernel = {KD, KH, KW}, .stride = {SD, SH, SW},      \
        .pad = {PD, PH, PW}, .dil = {DD, DH, DW}                                                                \
    }

static void gemm_case(const char *name, int64_t m, int64_t n, int64_t k, int layout, bool init, const impl *impls,
                      int n_impls) {
    float *a = random_floats(m * k, 21), *b = random_floats(k * n, 22), *c0 = random_floats(n, 23);
    ie_canon_gemm p = {.m = m, .n = n, .k = k, .a = a, .b = b, .init = init ? c0 : NULL, .c_rs = n};
    if (layout == 0) { /* linear: A = x [m, k], B[k, j] = w[j, k] */
        p.a_rs = k, p.a_ks = 1, p.b_ks = 1, p.b_js = k;
    } else if (layout == 1) { /* input gradient: A = g [m, k], B = w [k, n] */
        p.a_rs = k, p.a_ks = 1, p.b_ks = n, p.b_js = 1;
    } else { /* weight gradient: A[i, k] = g[k, i], B = x [k, n] */
        p.a_rs = 1, p.a_ks = m, p.b_ks = n, p.b_js = 1;
    }
    float *first = NULL;
    for (int im = 0; im < n_impls; im++) {
        if (impls[im].kind != CANON) continue;
        for (int rep = 0; rep < 2; rep++) {
            ie_threads_set(rep + 1);
            float *out = nan_floats(m * n);
            p.c = out;
            CHECK_OK(impls[im].canon->gemm(&p));
            if (!first) {
                first = out;
                continue;
            }
            CHECK(memcmp(out, first, (size_t)(m * n) * sizeof(float)) == 0, "%s: %s (run %d) differs from %s", name,
                  impls[im].name, rep + 1, impls[0].name);
            free(out);
        }
    }
    const double gamma = (double)(k + 1) * ldexp(1.0, -24);
    int64_t bad = -1;
    for (int64_t i = 0; i < m && bad < 0; i++)
        for (int64_t j = 0; j < n && bad < 0; j++) {
            double s = init ? c0[j] : 0, mag = fabs(s);
            for (int64_t kk = 0; kk < k; kk++) {
                double t = (double)a[i * p.a_rs + kk * p.a_ks] * b[kk * p.b_ks + j * p.b_js];
                s += t;
                mag += fabs(t);
            }
            if (!(fabs(first[i * n + j] - s) <= gamma * mag)) bad = i * n + j;
        }
    CHECK(bad < 0, "%s: element %lld is off the float64 product by more than (k+1) u sum|terms|", name,
          (long long)bad);
    free(first);
    free(a);
    free(b);
    free(c0);
}

int main(void) {
    impl impls[7];
    int n = 0;
    impls[n++] = (impl){"generic", CANON, &ie_canon_generic, IE_CPU_CONV_AUTO};
    if (ie_cpu_path_supported(IE_CPU_PATH_AVX2)) {
        impls[n++] = (impl){"avx2", CANON, &ie_canon_avx2, IE_CPU_CONV_AUTO};
        impls[n++] = (impl){"direct avx2", DIRECT_AVX2, NULL, IE_CPU_CONV_AUTO};
        impls[n++] = (impl){"direct avx2 (voxel vectors)", DIRECT_AVX2, NULL, IE_CPU_CONV_DIRECT_VECTOR};
    }
    if (ie_cpu_path_supported(IE_CPU_PATH_AVX512)) {
        impls[n++] = (impl){"avx512", CANON, &ie_canon_avx512, IE_CPU_CONV_AUTO};
        impls[n++] = (impl){"direct avx512", DIRECT_AVX512, NULL, IE_CPU_CONV_AUTO};
        impls[n++] = (impl){"direct avx512 (voxel vectors)", DIRECT_AVX512, NULL, IE_CPU_CONV_DIRECT_VECTOR};
    }
    printf("implementations compared:");
    for (int i = 0; i < n; i++) printf("%s %s", i ? "," : "", impls[i].name);
    printf("\n");
    if (n < 7) printf("note: this CPU lacks AVX2 or AVX-512; only the paths listed were compared\n");

    /* shapes the direct kernels take */
    conv_case("same 3x3x3, channel tails", GEOM(2, 5, 11, 8, 9, 10, 3, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1), impls, n);
    conv_case("stride 2, even sizes", GEOM(2, 6, 9, 8, 8, 12, 3, 3, 3, 2, 2, 2, 1, 1, 1, 1, 1, 1), impls, n);
    conv_case("stride 3", GEOM(1, 3, 4, 9, 6, 12, 3, 3, 3, 3, 3, 3, 1, 1, 1, 1, 1, 1), impls, n);
    conv_case("k4 s2 p1", GEOM(2, 4, 5, 8, 8, 8, 4, 4, 4, 2, 2, 2, 1, 1, 1, 1, 1, 1), impls, n);
    conv_case("pointwise", GEOM(2, 16, 3, 5, 6, 7, 1, 1, 1, 1, 1, 1, 0, 0, 0, 1, 1, 1), impls, n);
    conv_case("2-D 3x3", GEOM(3, 3, 8, 1, 28, 28, 1, 3, 3, 1, 1, 1, 0, 1, 1, 1, 1, 1), impls, n);
    conv_case("2-D stride 2", GEOM(2, 8, 6, 1, 14, 14, 1, 3, 3, 1, 2, 2, 0, 1, 1, 1, 1, 1), impls, n);
    conv_case("anisotropic 1x3x3 s1x2x2", GEOM(1, 3, 5, 5, 12, 10, 1, 3, 3, 1, 2, 2, 0, 1, 1, 1, 1, 1), impls, n);
    conv_case("small grid, many channels", GEOM(2, 32, 40, 4, 4, 4, 3, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1), impls, n);
    conv_case("small grid, channel tails", GEOM(1, 20, 70, 6, 6, 6, 3, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1), impls, n);
    /* three batch items in one small-grid task: tiles of six (item, voxel)
     * pairs that cut across voxels and items */
    conv_case("small grid, batch 3", GEOM(3, 7, 70, 3, 5, 4, 3, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1), impls, n);
    conv_case("kernel 5", GEOM(1, 3, 4, 6, 7, 8, 5, 5, 5, 1, 1, 1, 2, 2, 2, 1, 1, 1), impls, n);
    /* small grids (channels in lanes) over several weight-gradient groups:
     * 90 x 49 voxels cut inside item 83; 360 x 196 voxels, 18 groups in two waves */
    conv_case("2-D 7x7, a group boundary inside an item", GEOM(90, 5, 34, 1, 7, 7, 1, 3, 3, 1, 1, 1, 0, 1, 1, 1, 1, 1),
              impls, n);
    conv_case("2-D 14x14, waves of groups", GEOM(360, 2, 3, 1, 14, 14, 1, 3, 3, 1, 1, 1, 0, 1, 1, 1, 1, 1), impls, n);
    /* 2 x 13824 voxels: seven weight-gradient groups, one across the batch items */
    conv_case("weight-gradient groups", GEOM(2, 4, 6, 24, 24, 24, 3, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1), impls, n);
    /* 72000 voxels: 18 groups, more than a wave holds, in rows of 40 and of 36
     * (zero-padded x and lane masks in the direct AVX2 kernel) */
    _Static_assert(IE_CANON_WGRAD_WAVE < 72000 / IE_CANON_WGRAD_GROUP, "the wave cases need more groups");
    conv_case("weight-gradient waves, rows of 40", GEOM(2, 2, 3, 30, 30, 40, 3, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1), impls, n);
    conv_case("weight-gradient waves, rows of 36", GEOM(1, 2, 3, 40, 50, 36, 3, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1), impls, n);
    /* random and special values (see make_special) on each kind of grid the
     * direct AVX2 weight gradient tells apart: more than 512 voxels in rows
     * of whole 8-voxel vectors (zero-padded x), in ragged rows (lane masks),
     * and at most 512 (channels in lanes) */
    const struct {
        const char *name;
        ie_conv_geom g;
    } special[] = {
        {"rows of 16", GEOM(2, 6, 5, 6, 8, 16, 3, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1)},
        {"rows of 10", GEOM(1, 4, 6, 5, 11, 10, 3, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1)},
        {"stride 2, rows of 16", GEOM(2, 3, 4, 12, 12, 32, 3, 3, 3, 2, 2, 2, 1, 1, 1, 1, 1, 1)},
        {"k4 s2 p1, rows of 8", GEOM(1, 4, 3, 24, 12, 16, 4, 4, 4, 2, 2, 2, 1, 1, 1, 1, 1, 1)},
        {"small grid", GEOM(2, 9, 10, 3, 4, 3, 3, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1)},
    };
    const char *const vname[] = {"random", "signed zeros", "tiny", "infinities"};
    for (size_t i = 0; i < sizeof special / sizeof special[0]; i++)
        for (int v = VALUES_RANDOM; v <= VALUES_INF; v++) {
            char label[96];
            snprintf(label, sizeof label, "%s, %s", special[i].name, vname[v]);
            conv_case_values(label, special[i].g, impls, n, (values)v);
        }
    /* shapes only the canonical kernels take */
    conv_case("stride 2, odd sizes", GEOM(2, 3, 5, 7, 9, 11, 3, 3, 3, 2, 2, 2, 1, 1, 1, 1, 1, 1), impls, n);
    conv_case("dilation 2, no padding", GEOM(2, 3, 4, 12, 11, 13, 3, 3, 3, 1, 1, 1, 0, 0, 0, 2, 2, 2), impls, n);
    conv_case("dilation 3, padding 1", GEOM(1, 2, 3, 9, 10, 11, 3, 3, 3, 1, 1, 1, 1, 1, 1, 3, 3, 3), impls, n);
    conv_case("no padding", GEOM(2, 4, 7, 6, 9, 20, 3, 3, 3, 1, 1, 1, 0, 0, 0, 1, 1, 1), impls, n);
    conv_case("stride 2, no padding", GEOM(1, 3, 3, 9, 8, 7, 2, 3, 2, 2, 2, 3, 0, 0, 0, 1, 2, 1), impls, n);
    conv_case("kernel larger than padding allows", GEOM(1, 2, 2, 3, 4, 5, 3, 5, 5, 1, 1, 1, 2, 3, 4, 1, 1, 1), impls,
              n);

    for (int layout = 0; layout < 3; layout++) {
        char label[96];
        const int64_t shapes[][3] = {{1, 10, 784}, {5, 33, 17}, {64, 128, 100}, {7, 1, 3}, {3, 5, 0}, {70, 9, 2}};
        for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++)
            for (int init = 0; init < 2; init++) {
                snprintf(label, sizeof label, "gemm %lldx%lldx%lld layout %d%s", (long long)shapes[s][0],
                         (long long)shapes[s][1], (long long)shapes[s][2], layout, init ? " + init" : "");
                gemm_case(label, shapes[s][0], shapes[s][1], shapes[s][2], layout, init, impls, n);
            }
    }
    return test_summary();
}
