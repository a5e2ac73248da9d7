/* core/plan - target spacing, topology, memory and compute of a UNet3D
 * training step (rules in plan_rules.h). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/plan/fingerprint.h"
#include "core/plan/plan_rules.h"

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

double ie_plan_column_percentile(const double *v, int n, int col, double q) {
    double *c = malloc((size_t)n * sizeof *c);
    if (!c) return NAN;
    for (int i = 0; i < n; i++) c[i] = v[i * 3 + col];
    qsort(c, (size_t)n, sizeof *c, cmp_double);
    double r = ie_fp_percentile_sorted(c, n, q);
    free(c);
    return r;
}

void ie_plan_target_spacing(const double *spacings, const double *sizes, int n, double out[3], bool *anisotropic,
                            int *axis) {
    double size[3];
    for (int a = 0; a < 3; a++) {
        out[a] = ie_plan_column_percentile(spacings, n, a, 50);
        size[a] = ie_plan_column_percentile(sizes, n, a, 50);
    }
    int worst = 0;
    for (int a = 1; a < 3; a++)
        if (out[a] > out[worst]) worst = a;
    double other_spacing = 0, other_size = INFINITY;
    for (int a = 0; a < 3; a++) {
        if (a == worst) continue;
        other_spacing = fmax(other_spacing, out[a]);
        other_size = fmin(other_size, size[a]);
    }
    *axis = worst;
    *anisotropic = out[worst] > 3 * other_spacing && size[worst] * 3 < other_size;
    if (*anisotropic) {
        double p10 = ie_plan_column_percentile(spacings, n, worst, 10);
        /* nnU-Net: never finer than the other axes (+1e-5 keeps it the coarsest). */
        if (p10 < other_spacing) p10 = other_spacing + 1e-5;
        out[worst] = p10;
    }
}

void ie_plan_topology(const double spacing_dhw[3], int max_depth, ie_plan_net *net) {
    double sp[3] = {spacing_dhw[0], spacing_dhw[1], spacing_dhw[2]};
    int64_t size[3] = {net->patch[0], net->patch[1], net->patch[2]};
    net->depth = 0;
    net->pool[0] = net->pool[1] = net->pool[2] = 0;
    while (net->depth < max_depth) {
        /* An axis may halve while it has at least twice the bottleneck's
         * minimum edge, and while its spacing is less than twice the finest
         * spacing among the axes that may halve (not among all axes: an
         * axis too short to pool does not hold the others back). */
        bool pools[3];
        double finest = INFINITY;
        for (int a = 0; a < 3; a++)
            if (size[a] >= 2 * IE_PLAN_MIN_FEATURE_MAP) finest = fmin(finest, sp[a]);
        int n = 0, lone = -1;
        for (int a = 0; a < 3; a++) {
            pools[a] = size[a] >= 2 * IE_PLAN_MIN_FEATURE_MAP && sp[a] / finest < 2;
            if (pools[a]) n++, lone = a;
        }
        /* A lone axis halves only while it has at least three times the
         * minimum edge: a level that pools one short axis buys little. */
        if (n == 1 && size[lone] < 3 * IE_PLAN_MIN_FEATURE_MAP) n = 0;
        if (n == 0) break;
        for (int a = 0; a < 3; a++)
            if (pools[a]) {
                sp[a] *= 2;
                size[a] = (size[a] + 1) / 2;
                net->pool[a]++;
            }
        net->depth++;
    }
    for (int a = 0; a < 3; a++) {
        int m = 1 << net->pool[a];
        net->patch[a] = (net->patch[a] + m - 1) / m * m;
    }
}

/* Our UNet3D pools an axis at its deepest pool[a] levels (unet3d_net.h). */
int64_t ie_plan_level_voxels(const ie_plan_net *net, int level) {
    int64_t v = 1;
    for (int a = 0; a < 3; a++) {
        int halvings = level - (net->depth - net->pool[a]);
        v *= net->patch[a] >> (halvings > 0 ? halvings : 0);
    }
    return v;
}

static double channels(const ie_plan_net *net, int level) { return (double)net->features * (double)(1 << level); }

/* Parameters: per encoder level two 3x3x3 convs (+ BN), per decoder level a
 * transposed conv (4 or 1 along each axis) and three 3x3x3 convs. */
static double parameter_count(const ie_plan_net *net) {
    double p = 0;
    for (int l = 0; l <= net->depth; l++) {
        double c = channels(net, l), cin = l ? channels(net, l - 1) : net->in_channels;
        p += 27 * cin * c + 27 * c * c + 4 * c;
    }
    for (int l = 1; l <= net->depth; l++) {
        double c = channels(net, l), cout = channels(net, l - 1), k = 1;
        for (int a = 0; a < 3; a++) k *= l > net->depth - net->pool[a] ? 4 : 1;
        p += k * c * cout + cout + 3 * 27 * cout * cout + 8 * cout;
    }
    return p + net->features * net->classes + net->classes;
}

/* Memory of one training step, derived from what the engine keeps:
 *
 *   - autograd keeps, per sample, every activation the backward pass needs.
 *     An encoder level l (C_l = f 2^l channels, V_l voxels) makes 5 tensors
 *     of C_l V_l floats (two convs, two BN+ReLU, the residual sum); a
 *     decoder level makes 9 (transposed conv, its BN+ReLU, two convs, sum,
 *     BN+ReLU, conv, BN+ReLU, residual sum).  So A = sum_l w_l C_l V_l with
 *     w_l = 14 above the bottom and 5 at the bottom, plus the logits and
 *     their softmax (2 K V_0).  During backward the gradients of the level
 *     being processed live beside them; the measured peak of the engine's
 *     memory tracker (ie_memory_get_stats, as tools/bench/unet3d_bench
 *     prints) over these counts is the factor MEMORY_ACTIVATION_FACTOR;
 *   - the parameters 4 times (weights, gradients, Adam's two moments);
 *   - a fixed MEMORY_FIXED_BYTES for the runtime, the loader's batches in
 *     flight and the allocator's rounding.
 *
 * Calibration (unet3d_bench --features F --batch B --crop D H W, peak in
 * use): see docs/planning.md, "Memory model"; the factor is the largest
 * ratio measured, so the model errs on the side of fitting. */
#define MEMORY_ACTIVATION_FACTOR 0.6
#define MEMORY_FIXED_BYTES (256.0 * 1048576.0)

double ie_plan_memory_bytes(const ie_plan_net *net, int batch) {
    double a = 2.0 * net->classes * (double)ie_plan_level_voxels(net, 0);
    for (int l = 0; l <= net->depth; l++)
        a += (l < net->depth ? 14.0 : 5.0) * channels(net, l) * (double)ie_plan_level_voxels(net, l);
    return 4.0 * batch * MEMORY_ACTIVATION_FACTOR * a + 16.0 * parameter_count(net) + MEMORY_FIXED_BYTES;
}

double ie_plan_forward_flops_per_voxel(const ie_plan_net *net) {
    double v0 = (double)ie_plan_level_voxels(net, 0), f = 0;
    for (int l = 0; l <= net->depth; l++) {
        double c = channels(net, l), cin = l ? channels(net, l - 1) : net->in_channels;
        double v = (double)ie_plan_level_voxels(net, l);
        f += 2 * 27 * (cin * c + c * c) * v;
    }
    for (int l = 1; l <= net->depth; l++) {
        double c = channels(net, l), cout = channels(net, l - 1), k = 1;
        for (int a = 0; a < 3; a++) k *= l > net->depth - net->pool[a] ? 4 : 1;
        f += 2 * k * c * cout * (double)ie_plan_level_voxels(net, l) +
             2 * 3 * 27 * cout * cout * (double)ie_plan_level_voxels(net, l - 1);
    }
    f += 2 * net->features * net->classes * v0;
    return f / v0;
}

double ie_plan_train_flops(const ie_plan_net *net, int batch) {
    return 3.0 * batch * ie_plan_forward_flops_per_voxel(net) * (double)ie_plan_level_voxels(net, 0);
}
