/* Synchronised batch norm (train.sync_batch_norm, core/dist/sync_norm.h):
 * a batch cut into micro-batches, each run on its own thread by
 * ie_sync_norm_run, must give what PyTorch's BatchNorm gives over the whole
 * batch: the output, the input gradient, the weight and bias gradients (the
 * micro-batches' sums) and the running statistics.  The reference is
 * tests/reference/gen_norm.py's norm.safetensors (Debian's python3-torch,
 * F.batch_norm over the full batch, gradients of sum(y * gy)).
 *
 * Tolerances: those test_norm.c uses for the single-batch kernel against the
 * same fixtures.  The synchronised path uses that kernel's own passes (its
 * fixed-order sums per micro-batch, its affine and input-gradient passes);
 * it differs only in how the per-channel statistics are formed: per
 * micro-batch (count, mean, M2) in double merged by Chan's rule, and the
 * gradient sums added in double.  Each merge errs by a few double ulps
 * (1e-15 relative), so mean and 1/std round to the same float or one ulp
 * away (1.2e-7 relative), which moves an output or a gradient by at most a
 * few float ulps, far inside rtol 1e-5.  The weighted case scales gy by
 * 1/w_j and the gradient back by w_j: two more roundings (2.4e-7).
 * Determinism across processes is tests/cli/test_distributed.sh's. */
#include "test_util.h"

#include "core/dist/sync_norm.h"

static const double FWD_RTOL = 1e-5, FWD_ATOL = 1e-6;
static const double GRAD_RTOL = 1e-5, GRAD_ATOL = 1e-5;
#define MAX_MB 8

typedef struct sync_case {
    const char *name;
    int sizes[MAX_MB], count; /* samples per micro-batch */
    bool relu, weighted;
    float momentum, eps;
    ie_tensor *w, *b, *rm, *rv, *nbt;
    ie_tensor *x[MAX_MB], *gy[MAX_MB], *y[MAX_MB];
    double weights[MAX_MB];
} sync_case;

static char key_buf[128];
static const char *key(const char *name, const char *field) {
    snprintf(key_buf, sizeof key_buf, "%s.%s", name, field);
    return key_buf;
}

/* Rows [first, first + n) of a [N, ...] fixture tensor as a new tensor,
 * times scale. */
static ie_tensor *rows(const ie_tensor *t, int first, int n, float scale, bool grad) {
    int64_t shape[5];
    int ndim = t->ndim;
    for (int i = 0; i < ndim; i++) shape[i] = t->shape[i];
    int64_t per_row = t->numel / shape[0];
    shape[0] = n;
    float *data = malloc((size_t)(n * per_row) * sizeof *data);
    for (int64_t i = 0; i < n * per_row; i++) data[i] = ie_f32(t)[first * per_row + i] * scale;
    ie_tensor *out = NULL;
    CHECK_OK(ie_tensor_from_data(IE_F32, ndim, shape, data, &out));
    free(data);
    ie_tensor_set_requires_grad(out, grad);
    return out;
}

/* Micro-batch j: y_j = batch_norm(x_j), loss_j = sum(y_j * gy_j) (gy_j
 * scaled by 1/w_j in the weighted case, so sum_j w_j loss_j is sum(y * gy)). */
static ie_status micro_batch(void *ctx, int j) {
    sync_case *c = ctx;
    ie_tensor *prod = NULL, *loss = NULL;
    ie_status st = c->relu ? ie_batch_norm_relu(c->x[j], c->w, c->b, c->rm, c->rv, c->nbt, true, c->momentum, c->eps,
                                                &c->y[j])
                           : ie_batch_norm(c->x[j], c->w, c->b, c->rm, c->rv, c->nbt, true, c->momentum, c->eps,
                                           &c->y[j]);
    if (st == IE_OK) st = ie_mul(c->y[j], c->gy[j], &prod);
    if (st == IE_OK) st = ie_sum(prod, &loss);
    if (st == IE_OK) st = ie_backward(loss);
    ie_tensor_release(prod);
    ie_tensor_release(loss);
    return st;
}

/* The micro-batches' pieces of a per-sample result, joined along N, each
 * piece j multiplied by scale[j]. */
static ie_tensor *joined(sync_case *c, ie_tensor *const *parts, const double *scale, const ie_tensor *like) {
    ie_tensor *out = NULL;
    CHECK_OK(ie_tensor_clone(like, &out));
    int64_t per_row = like->numel / like->shape[0], at = 0;
    for (int j = 0; j < c->count; j++) {
        const float *p = ie_f32(parts[j]);
        for (int64_t i = 0; i < c->sizes[j] * per_row; i++) ie_f32(out)[at++] = (float)(p[i] * scale[j]);
    }
    return out;
}

static void run_case(ie_params *fx, sync_case c) {
    const char *n = c.name;
    ie_tensor *x = fixture_get(fx, key(n, "x")), *gy = fixture_get(fx, key(n, "gy"));
    c.w = ie_params_find(fx, key(n, "w")) ? fixture_leaf(fx, key(n, "w"), true) : NULL;
    c.b = ie_params_find(fx, key(n, "b")) ? fixture_leaf(fx, key(n, "b"), true) : NULL;
    c.rm = fixture_leaf(fx, key(n, "rm0"), false);
    c.rv = fixture_leaf(fx, key(n, "rv0"), false);
    int64_t seven = 7;
    CHECK_OK(ie_tensor_from_data(IE_I64, 0, NULL, &seven, &c.nbt));
    int first = 0;
    double ones[MAX_MB], inverse[MAX_MB];
    for (int j = 0; j < c.count; j++) {
        c.weights[j] = c.weighted ? (double)c.sizes[j] / (double)x->shape[0] : 1.0;
        ones[j] = 1.0;
        inverse[j] = c.weights[j];
        c.x[j] = rows(x, first, c.sizes[j], 1.0f, true);
        c.gy[j] = rows(gy, first, c.sizes[j], (float)(1.0 / c.weights[j]), false);
        c.y[j] = NULL;
        first += c.sizes[j];
    }
    CHECK(first == x->shape[0], "%s: the micro-batches cover %d of %lld samples", n, first, (long long)x->shape[0]);
    ie_status results[MAX_MB];
    ie_sync_norm_opts o = {.comm = NULL, .count = c.count, .weights = c.weights, .params = NULL};
    CHECK_OK(ie_sync_norm_run(&o, micro_batch, &c, results));
    for (int j = 0; j < c.count; j++) CHECK(results[j] == IE_OK, "%s: micro-batch %d failed", n, j);
    char what[160];
    if (results[0] == IE_OK) {
        ie_tensor *y = joined(&c, c.y, ones, x), *want = NULL;
        if (c.relu) { /* relu of PyTorch's batch norm */
            CHECK_OK(ie_tensor_clone(fixture_get(fx, key(n, "y")), &want));
            for (int64_t i = 0; i < want->numel; i++) ie_f32(want)[i] = fmaxf(ie_f32(want)[i], 0.0f);
        }
        snprintf(what, sizeof what, "%s%s forward", n, c.relu ? " + relu" : "");
        check_close(what, y, want ? want : fixture_get(fx, key(n, "y")), FWD_RTOL, FWD_ATOL);
        ie_tensor_release(want);
        ie_tensor_release(y);
        snprintf(what, sizeof what, "%s running_mean", n);
        check_close(what, c.rm, fixture_get(fx, key(n, "rm")), FWD_RTOL, 1e-7);
        snprintf(what, sizeof what, "%s running_var", n);
        check_close(what, c.rv, fixture_get(fx, key(n, "rv")), FWD_RTOL, 1e-7);
        CHECK(*(const int64_t *)ie_tensor_data(c.nbt) == 8, "%s: num_batches_tracked counts the step once", n);
        if (!c.relu) { /* relu changes the gradients: the forward checks the fused op */
            ie_tensor *gx[MAX_MB];
            for (int j = 0; j < c.count; j++) gx[j] = ie_tensor_grad(c.x[j]);
            ie_tensor *g = joined(&c, gx, inverse, x);
            snprintf(what, sizeof what, "%s gx (%d micro-batches%s)", n, c.count, c.weighted ? ", weighted" : "");
            check_close(what, g, fixture_get(fx, key(n, "gx")), GRAD_RTOL, GRAD_ATOL);
            ie_tensor_release(g);
            if (c.w && !c.weighted) {
                snprintf(what, sizeof what, "%s gw", n);
                check_close(what, ie_tensor_grad(c.w), fixture_get(fx, key(n, "gw")), GRAD_RTOL, GRAD_ATOL);
                snprintf(what, sizeof what, "%s gb", n);
                check_close(what, ie_tensor_grad(c.b), fixture_get(fx, key(n, "gb")), GRAD_RTOL, GRAD_ATOL);
            }
        }
    }
    for (int j = 0; j < c.count; j++) {
        ie_tensor_release(c.x[j]);
        ie_tensor_release(c.gy[j]);
        ie_tensor_release(c.y[j]);
    }
    ie_tensor *ts[] = {c.w, c.b, c.rm, c.rv, c.nbt};
    for (size_t i = 0; i < sizeof ts / sizeof ts[0]; i++) ie_tensor_release(ts[i]);
}

/* A micro-batch that fails stops the others at their next layer, with a
 * message saying so, instead of leaving them waiting. */
static ie_status failing(void *ctx, int j) {
    if (j == 1) return ie_error_set(IE_ERR_IO, "micro-batch 1 could not be read");
    return micro_batch(ctx, j);
}

static void failure_case(ie_params *fx) {
    sync_case c = {.name = "bn2d_train", .sizes = {1, 1, 1, 1}, .count = 4, .momentum = 0.3f, .eps = 1e-3f};
    ie_tensor *x = fixture_get(fx, key(c.name, "x")), *gy = fixture_get(fx, key(c.name, "gy"));
    for (int j = 0; j < c.count; j++) {
        c.weights[j] = 1.0;
        c.x[j] = rows(x, j, 1, 1.0f, true);
        c.gy[j] = rows(gy, j, 1, 1.0f, false);
    }
    ie_status results[MAX_MB];
    ie_sync_norm_opts o = {.comm = NULL, .count = c.count, .weights = c.weights, .params = NULL};
    CHECK_OK(ie_sync_norm_run(&o, failing, &c, results));
    CHECK(results[1] == IE_ERR_IO, "the failing micro-batch reports its own error");
    for (int j = 0; j < c.count; j++)
        if (j != 1) CHECK(results[j] == IE_ERR_STATE, "micro-batch %d stopped at the layer (status %d)", j, results[j]);
    for (int j = 0; j < c.count; j++) {
        ie_tensor_release(c.x[j]);
        ie_tensor_release(c.gy[j]);
        ie_tensor_release(c.y[j]);
    }
}

int main(void) {
    ie_params *fx = fixture_load("norm.safetensors");
    run_case(fx, (sync_case){.name = "bn3d_train", .sizes = {1, 1}, .count = 2, .momentum = 0.1f, .eps = 1e-5f});
    run_case(fx, (sync_case){.name = "bn2d_train", .sizes = {1, 1, 1, 1}, .count = 4, .momentum = 0.3f,
                             .eps = 1e-3f});
    run_case(fx, (sync_case){.name = "bn2d_train", .sizes = {2, 2}, .count = 2, .momentum = 0.3f, .eps = 1e-3f});
    /* [N, C] rows of one sample: one value per channel in each micro-batch
     * (the kernel alone refuses that), 3 + 3 + 2 with the step's weights. */
    run_case(fx, (sync_case){.name = "bn1d_train", .sizes = {1, 1, 1, 1, 1, 1, 1, 1}, .count = 8, .momentum = 0.1f,
                             .eps = 1e-5f});
    run_case(fx, (sync_case){.name = "bn1d_train", .sizes = {3, 3, 2}, .count = 3, .momentum = 0.1f, .eps = 1e-5f,
                             .weighted = true});
    /* Mean 1000, spread 0.1 (a float64 reference): Chan's merge keeps the
     * variance where sums of squares would cancel. */
    run_case(fx, (sync_case){.name = "bn_offset", .sizes = {1, 1}, .count = 2, .momentum = 0.1f, .eps = 1e-5f});
    run_case(fx, (sync_case){.name = "bn3d_train", .sizes = {1, 1}, .count = 2, .momentum = 0.1f, .eps = 1e-5f,
                             .relu = true});
    failure_case(fx);
    ie_params_free(fx);
    return test_summary();
}
