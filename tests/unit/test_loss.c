/* Losses: values and logit gradients against PyTorch (cross-entropy, BCE, MSE,
 * L1) and against the loss.h formulas written in PyTorch (focal, soft Dice),
 * finite differences, focal(gamma=0) == cross-entropy, thread-count
 * determinism, and bad labels / shapes / parameters. */
#include "innereye/loss.h"
#include "innereye/threads.h"
#include "test_util.h"

static void close_rel(const char *what, const ie_tensor *got, const ie_tensor *want) {
    double m = 0;
    for (int64_t i = 0; i < want->numel; i++) m = fmax(m, fabs(ie_f32(want)[i]));
    check_close(what, got, want, 1e-5, 1e-6 * m + 1e-30);
}

typedef enum { CE, CE_W, CE_LS, CE_W_LS, FOCAL, FOCAL_W, DICE, DICE_W } class_case;
static const char *case_tags[] = {"ce", "ce_w", "ce_ls", "ce_w_ls", "focal", "focal_w", "dice", "dice_w"};

/* The loss of case `c`, with the parameters gen_loss.py used. */
static ie_status class_loss(class_case c, ie_tensor *x, ie_tensor *y, ie_tensor *w, ie_tensor **out) {
    switch (c) {
    case CE: return ie_cross_entropy(x, y, NULL, 0.0f, out);
    case CE_W: return ie_cross_entropy(x, y, w, 0.0f, out);
    case CE_LS: return ie_cross_entropy(x, y, NULL, 0.1f, out);
    case CE_W_LS: return ie_cross_entropy(x, y, w, 0.2f, out);
    case FOCAL: return ie_focal_loss(x, y, 2.0f, NULL, out);
    case FOCAL_W: return ie_focal_loss(x, y, 0.5f, w, out);
    case DICE: return ie_soft_dice_loss(x, y, NULL, out);
    case DICE_W: return ie_soft_dice_loss(x, y, w, out);
    }
    return IE_ERR_INTERNAL;
}

static void class_against_reference(ie_params *fx, const char *name) {
    char k[64];
    snprintf(k, sizeof k, "%s_y", name);
    ie_tensor *y = fixture_get(fx, k);
    snprintf(k, sizeof k, "%s_w", name);
    ie_tensor *w = fixture_get(fx, k);
    for (int c = CE; c <= DICE_W; c++) {
        snprintf(k, sizeof k, "%s_x", name);
        ie_tensor *x = fixture_leaf(fx, k, true), *loss = NULL;
        CHECK_OK(class_loss((class_case)c, x, y, w, &loss));
        snprintf(k, sizeof k, "%s_%s", name, case_tags[c]);
        check_close(k, loss, fixture_get(fx, k), 1e-5, 1e-7);
        CHECK_OK(ie_backward(loss));
        snprintf(k, sizeof k, "%s_%s_grad", name, case_tags[c]);
        close_rel(k, ie_tensor_grad(x), fixture_get(fx, k));
        ie_tensor_release(x);
        ie_tensor_release(loss);
    }
}

typedef ie_status (*pair_fn)(ie_tensor *a, ie_tensor *b, ie_tensor **out);
static ie_status bce_pw(ie_tensor *a, ie_tensor *b, ie_tensor **out);
static ie_tensor *g_pos_weight;
static ie_status bce(ie_tensor *a, ie_tensor *b, ie_tensor **out) { return ie_bce_with_logits(a, b, NULL, out); }
static ie_status bce_pw(ie_tensor *a, ie_tensor *b, ie_tensor **out) {
    return ie_bce_with_logits(a, b, g_pos_weight, out);
}

static void pair_against_torch(ie_params *fx, const char *tag, pair_fn f) {
    char k[64];
    ie_tensor *a = fixture_leaf(fx, "bce_x", true), *b = fixture_leaf(fx, "bce_t", true), *loss = NULL;
    CHECK_OK(f(a, b, &loss));
    check_close(tag, loss, fixture_get(fx, tag), 1e-5, 1e-7);
    CHECK_OK(ie_backward(loss));
    snprintf(k, sizeof k, "%s_ga", tag);
    close_rel(k, ie_tensor_grad(a), fixture_get(fx, k));
    snprintf(k, sizeof k, "%s_gb", tag);
    close_rel(k, ie_tensor_grad(b), fixture_get(fx, k));
    ie_tensor_release(a);
    ie_tensor_release(b);
    ie_tensor_release(loss);
}

/* ---- finite differences ---- */

typedef struct class_ctx {
    class_case c;
    ie_tensor *y, *w;
} class_ctx;

static ie_status f_class(ie_tensor **in, void *ctx, ie_tensor **out) {
    class_ctx *c = ctx;
    return class_loss(c->c, in[0], c->y, c->w, out);
}

static ie_status f_pair(ie_tensor **in, void *ctx, ie_tensor **out) { return ((pair_fn)ctx)(in[0], in[1], out); }
static ie_status f_mse(ie_tensor *a, ie_tensor *b, ie_tensor **out) { return ie_mse_loss(a, b, out); }
static ie_status f_l1(ie_tensor *a, ie_tensor *b, ie_tensor **out) { return ie_l1_loss(a, b, out); }

static void test_gradcheck(ie_params *fx) {
    ie_tensor *y = fixture_get(fx, "seg_y"), *w = fixture_get(fx, "seg_w");
    const int64_t shape[5] = {2, 3, 3, 4, 5};
    ie_tensor *x = test_random(5, shape, 3, -2, 2, true);
    for (int c = CE; c <= DICE_W; c++) {
        class_ctx ctx = {(class_case)c, y, w};
        gradcheck(case_tags[c], f_class, &x, 1, &ctx, 1e-2, 1e-4, 2e-2);
    }
    /* Regression pairs; L1 with the two inputs well apart so no kink is crossed. */
    const int64_t ps[2] = {3, 4};
    ie_tensor *a = test_random(2, ps, 4, -2, 2, true), *b = test_random(2, ps, 5, 0, 1, true);
    const int64_t pws[1] = {4};
    g_pos_weight = test_random(1, pws, 6, 0.5f, 3, false);
    gradcheck("bce_with_logits", f_pair, (ie_tensor *[]){a, b}, 2, (void *)bce, 1e-2, 1e-4, 2e-2);
    gradcheck("bce_with_logits pos_weight", f_pair, (ie_tensor *[]){a, b}, 2, (void *)bce_pw, 1e-2, 1e-4, 2e-2);
    gradcheck("mse", f_pair, (ie_tensor *[]){a, b}, 2, (void *)f_mse, 1e-2, 1e-4, 2e-2);
    for (int64_t i = 0; i < a->numel; i++) ie_f32(a)[i] = ie_f32(b)[i] + (i % 2 ? 0.5f : -0.5f);
    gradcheck("l1", f_pair, (ie_tensor *[]){a, b}, 2, (void *)f_l1, 1e-2, 1e-4, 2e-2);
    ie_tensor_release(g_pos_weight);
    ie_tensor_release(a);
    ie_tensor_release(b);
    ie_tensor_release(x);
}

/* gamma = 0 turns focal into cross-entropy; i32 and i64 labels agree. */
static void test_equivalences(ie_params *fx) {
    ie_tensor *x = fixture_leaf(fx, "seg_x", true), *x2 = fixture_leaf(fx, "seg_x", true);
    ie_tensor *y = fixture_get(fx, "seg_y"), *w = fixture_get(fx, "seg_w"), *ce = NULL, *fl = NULL;
    CHECK_OK(ie_cross_entropy(x, y, w, 0.0f, &ce));
    CHECK_OK(ie_focal_loss(x2, y, 0.0f, w, &fl));
    CHECK(ie_tensor_item(ce) == ie_tensor_item(fl), "focal(gamma=0) %.9g != cross-entropy %.9g", ie_tensor_item(fl),
          ie_tensor_item(ce));
    CHECK_OK(ie_backward(ce));
    CHECK_OK(ie_backward(fl));
    check_close("focal(gamma=0) gradient", ie_tensor_grad(x2), ie_tensor_grad(x), 1e-6, 1e-9);

    ie_tensor *y64 = NULL, *a = NULL, *b = NULL;
    CHECK_OK(ie_tensor_empty(IE_I64, y->ndim, y->shape, IE_CPU, &y64));
    for (int64_t i = 0; i < y->numel; i++) ((int64_t *)ie_tensor_data(y64))[i] = ((int32_t *)ie_tensor_data(y))[i];
    CHECK_OK(ie_soft_dice_loss(x, y, NULL, &a));
    CHECK_OK(ie_soft_dice_loss(x, y64, NULL, &b));
    CHECK(ie_tensor_item(a) == ie_tensor_item(b), "dice with i32 and i64 labels differs");
    /* A perfect prediction has (near) zero Dice loss. */
    ie_tensor *sharp = NULL, *d = NULL;
    CHECK_OK(ie_tensor_zeros(IE_F32, x->ndim, x->shape, IE_CPU, &sharp));
    int64_t spatial = y->numel / 2;
    for (int64_t n = 0; n < 2; n++)
        for (int64_t s = 0; s < spatial; s++)
            ie_f32(sharp)[(n * 3 + ((int32_t *)ie_tensor_data(y))[n * spatial + s]) * spatial + s] = 40.0f;
    CHECK_OK(ie_soft_dice_loss(sharp, y, NULL, &d));
    /* Present classes give I/S = T / 2T; item 1's absent class 2 gives
     * eps V / (2 eps V) through the per-voxel eps: all 1/2, so the loss is 0. */
    double want = 0.0;
    CHECK(fabs(ie_tensor_item(d) - want) < 1e-5, "dice of a perfect prediction %.7g, want %.7g", ie_tensor_item(d), want);
    ie_tensor *all[] = {x, x2, ce, fl, y64, a, b, sharp, d};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) ie_tensor_release(all[i]);
}

/* Loss and gradient bytes on 1 and 3 threads, over several voxel chunks. */
static void run_once(class_case c, ie_tensor *x0, ie_tensor *y, ie_tensor *w, ie_tensor **loss, ie_tensor **grad) {
    ie_tensor *x = NULL;
    CHECK_OK(ie_tensor_clone(x0, &x));
    ie_tensor_set_requires_grad(x, true);
    CHECK_OK(class_loss(c, x, y, w, loss));
    CHECK_OK(ie_backward(*loss));
    *grad = ie_tensor_retain(ie_tensor_grad(x));
    ie_tensor_release(x);
}

static void test_determinism(void) {
    const int64_t shape[5] = {2, 4, 8, 48, 48}, lshape[4] = {2, 8, 48, 48}, wshape[1] = {4};
    ie_tensor *x = test_random(5, shape, 8, -3, 3, false), *w = test_random(1, wshape, 9, 0.5f, 2, false);
    ie_tensor *yf = test_random(4, lshape, 10, 0, 4, false), *y = NULL;
    CHECK_OK(ie_tensor_empty(IE_I64, 4, lshape, IE_CPU, &y));
    for (int64_t i = 0; i < y->numel; i++) ((int64_t *)ie_tensor_data(y))[i] = (int64_t)ie_f32(yf)[i];
    const class_case cases[3] = {CE_W_LS, FOCAL_W, DICE_W};
    for (int k = 0; k < 3; k++) {
        ie_tensor *l1, *g1, *l3, *g3;
        ie_threads_set(1);
        run_once(cases[k], x, y, w, &l1, &g1);
        ie_threads_set(3);
        run_once(cases[k], x, y, w, &l3, &g3);
        CHECK(memcmp(ie_f32(l1), ie_f32(l3), 4) == 0, "%s loss differs between 1 and 3 threads", case_tags[cases[k]]);
        CHECK(memcmp(ie_f32(g1), ie_f32(g3), (size_t)x->numel * 4) == 0, "%s gradient differs between 1 and 3 threads",
              case_tags[cases[k]]);
        ie_tensor *all[] = {l1, g1, l3, g3};
        for (int i = 0; i < 4; i++) ie_tensor_release(all[i]);
    }
    ie_threads_set(0);
    ie_tensor *all[] = {x, w, yf, y};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) ie_tensor_release(all[i]);
}

static void test_errors(void) {
    const int64_t xs[2] = {4, 3}, ys[1] = {4}, bad_ys[1] = {5}, ws[1] = {2}, ps[2] = {4, 2};
    ie_tensor *x = test_random(2, xs, 1, -1, 1, false), *y = NULL, *yneg = NULL, *ybad = NULL, *w = NULL, *out = NULL;
    const int64_t labels[4] = {0, 2, 3, 1}, negative[4] = {0, -1, 1, 1}, ok[5] = {0, 1, 2, 0, 1};
    CHECK_OK(ie_tensor_from_data(IE_I64, 1, ys, labels, &y));
    CHECK_OK(ie_tensor_from_data(IE_I64, 1, ys, negative, &yneg));
    CHECK_OK(ie_tensor_from_data(IE_I64, 1, bad_ys, ok, &ybad));
    w = test_random(1, ws, 2, 0, 1, false);
    CHECK_FAILS(ie_cross_entropy(x, y, NULL, 0, &out), IE_ERR_INVALID_ARG,
                "cross_entropy: label value 3 at index 2 of labels [4] i64 is outside [0, 3) for logits [4, 3] f32");
    CHECK_FAILS(ie_focal_loss(x, yneg, 2, NULL, &out), IE_ERR_INVALID_ARG, "focal_loss: label value -1 at index 1");
    CHECK_FAILS(ie_soft_dice_loss(x, y, NULL, &out), IE_ERR_INVALID_ARG, "soft_dice_loss: label value 3");
    CHECK_FAILS(ie_cross_entropy(x, ybad, NULL, 0, &out), IE_ERR_SHAPE,
                "cross_entropy: labels [5] i64 do not fit logits [4, 3] f32");
    CHECK_FAILS(ie_cross_entropy(x, yneg, w, 0, &out), IE_ERR_SHAPE,
                "cross_entropy: class_weights must be [3] (one per class of logits [4, 3] f32), got [2] f32");
    CHECK_FAILS(ie_cross_entropy(x, x, NULL, 0, &out), IE_ERR_DTYPE, "labels must hold integer class labels");
    CHECK_FAILS(ie_cross_entropy(x, y, NULL, 1.5f, &out), IE_ERR_INVALID_ARG, "label_smoothing = 1.5");
    CHECK_FAILS(ie_focal_loss(x, y, -1.0f, NULL, &out), IE_ERR_INVALID_ARG, "focal_loss: gamma = -1");
    CHECK_FAILS(ie_cross_entropy(NULL, y, NULL, 0, &out), IE_ERR_INVALID_ARG, "cross_entropy: logits is NULL");

    ie_tensor *p = test_random(2, ps, 3, 0, 1, false), *pw = test_random(1, xs, 4, 0, 1, false);
    CHECK_FAILS(ie_mse_loss(x, p, &out), IE_ERR_SHAPE,
                "mse_loss: prediction [4, 3] f32 and target [4, 2] f32 must have the same shape");
    CHECK_FAILS(ie_l1_loss(x, NULL, &out), IE_ERR_INVALID_ARG, "l1_loss: target is NULL");
    CHECK_FAILS(ie_bce_with_logits(p, p, pw, &out), IE_ERR_SHAPE,
                "bce_with_logits: pos_weight must be [2] (the last dimension of logits [4, 2] f32), got [4] f32");
    CHECK(out == NULL, "a failed op must leave *out NULL");
    ie_tensor *all[] = {x, y, yneg, ybad, w, p, pw};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) ie_tensor_release(all[i]);
}

int main(void) {
    ie_params *fx = fixture_load("loss.safetensors");
    class_against_reference(fx, "cls");
    class_against_reference(fx, "seg");
    g_pos_weight = fixture_get(fx, "pos_weight");
    pair_against_torch(fx, "bce", bce);
    pair_against_torch(fx, "bce_pw", bce_pw);
    pair_against_torch(fx, "mse", f_mse);
    pair_against_torch(fx, "l1", f_l1);
    test_gradcheck(fx);
    test_equivalences(fx);
    test_determinism();
    test_errors();
    ie_params_free(fx);
    return test_summary();
}
