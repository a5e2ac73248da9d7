/* core/plan - the rules of `innereye plan`, as pure functions of numbers
 * (docs/planning.md): target spacing, network topology, memory and compute
 * of a UNet3D training step.  plan.c applies them to a fingerprint.
 *
 * Axis order: spacings and sizes of images come as ITK's (x, y, z); the
 * network works on (D, H, W) = (z, y, x).  Functions say which they take. */
#ifndef IE_CORE_PLAN_PLAN_RULES_H
#define IE_CORE_PLAN_PLAN_RULES_H

#include <stdbool.h>
#include <stdint.h>

#define IE_PLAN_MAX_DEPTH 5 /* UNet3D doubles channels per level: 2^5 f at the bottom is plenty */
#define IE_PLAN_MIN_FEATURE_MAP 4

typedef struct ie_plan_net {
    int features;   /* f: channels at the top level; level l has f * 2^l */
    int depth;      /* downsampling levels */
    int pool[3];    /* D, H, W: how many levels halve each axis (the deepest ones) */
    int patch[3];   /* D, H, W voxels */
    int in_channels, classes;
} ie_plan_net;

/* numpy.percentile(v[:, col], q) of an n x 3 array (NAN when out of memory). */
double ie_plan_column_percentile(const double *v, int n, int col, double q);

/* nnU-Net's target spacing (x, y, z): the median spacing per axis; when the
 * coarsest axis is more than 3 times the finest other one AND the median
 * size along it is less than a third of the smallest other size (thick
 * slices, not just a long thin crop), it becomes the 10th percentile of that
 * axis's spacings instead (but at least the other axes' largest spacing),
 * so that most cases are not coarsened along it.  spacings and sizes are
 * n x 3.  *anisotropic says whether the rule applied, *axis which axis (0-2)
 * is the coarsest. */
void ie_plan_target_spacing(const double *spacings, const double *sizes, int n, double out[3], bool *anisotropic,
                            int *axis);

/* nnU-Net's get_pool_and_conv_props (nnunetv2 network_topology.py) for our
 * UNet3D: from the patch (D, H, W) and the target spacing (D, H, W), level
 * by level, halve every axis that (1) has at least 2 x
 * IE_PLAN_MIN_FEATURE_MAP voxels, so the bottleneck keeps at least
 * IE_PLAN_MIN_FEATURE_MAP, and (2) whose spacing is less than twice the
 * finest spacing among the axes that pass (1); when only one axis passes,
 * it halves only while it has at least 3 x IE_PLAN_MIN_FEATURE_MAP voxels.
 * Stops when no axis may halve or depth reaches max_depth (nnU-Net has no
 * such cap; our UNet3D doubles channels at every level without nnU-Net's
 * 320 limit).  Fills net->depth and net->pool, and rounds net->patch up to
 * a multiple of 2^pool per axis. */
void ie_plan_topology(const double spacing_dhw[3], int max_depth, ie_plan_net *net);

/* Voxels at level l (0 = top) of the network. */
int64_t ie_plan_level_voxels(const ie_plan_net *net, int level);

/* Bytes one training step needs (model in memory.c's comment). */
double ie_plan_memory_bytes(const ie_plan_net *net, int batch);

/* Multiply-adds x 2 of one training step (forward + backward = 3 forwards). */
double ie_plan_train_flops(const ie_plan_net *net, int batch);

/* Multiply-adds x 2 of one forward pass over `voxels` voxels (inference). */
double ie_plan_forward_flops_per_voxel(const ie_plan_net *net);

#endif
