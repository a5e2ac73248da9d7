/* Shape ops: concat along every dim (values by index arithmetic, gradients by
 * finite differences and exact splits), reshape / flatten views sharing
 * storage, and error messages. */
#include "test_util.h"

typedef struct concat_ctx {
    int count, dim;
} concat_ctx;

static ie_status f_concat(ie_tensor **in, void *ctx, ie_tensor **out) {
    const concat_ctx *c = ctx;
    return ie_concat(in, c->count, c->dim, out);
}

/* Element (n, c, h, w) of concat along channels is input k's (n, c - offset_k, h, w). */
static void test_concat_values(void) {
    const int64_t sa[4] = {2, 3, 4, 5}, sb[4] = {2, 1, 4, 5}, sc[4] = {2, 2, 4, 5};
    ie_tensor *a = test_random(4, sa, 1, -1, 1, false), *b = test_random(4, sb, 2, -1, 1, false),
              *c = test_random(4, sc, 3, -1, 1, false), *out = NULL;
    ie_tensor *xs[3] = {a, b, c};
    CHECK_OK(ie_concat(xs, 3, 1, &out));
    CHECK(out->ndim == 4 && out->shape[0] == 2 && out->shape[1] == 6 && out->shape[2] == 4 && out->shape[3] == 5,
          "concat along 1 has shape [2, 6, 4, 5]");
    int bad = 0;
    for (int64_t n = 0; n < 2; n++)
        for (int64_t ch = 0; ch < 6; ch++)
            for (int64_t i = 0; i < 20; i++) {
                const ie_tensor *src = ch < 3 ? a : ch < 4 ? b : c;
                int64_t sc_ = ch < 3 ? ch : ch < 4 ? ch - 3 : ch - 4;
                float want = ie_f32(src)[(n * src->shape[1] + sc_) * 20 + i];
                bad += ie_f32(out)[(n * 6 + ch) * 20 + i] != want;
            }
    CHECK(bad == 0, "concat along channels: %d elements misplaced", bad);
    ie_tensor_release(out);

    /* Along the last dim (negative index) and along the batch. */
    const int64_t s1[2] = {3, 2}, s2[2] = {3, 4};
    ie_tensor *p = test_random(2, s1, 4, 0, 1, false), *q = test_random(2, s2, 5, 0, 1, false);
    ie_tensor *pq[2] = {p, q};
    CHECK_OK(ie_concat(pq, 2, -1, &out));
    bad = 0;
    for (int64_t r = 0; r < 3; r++)
        for (int64_t k = 0; k < 6; k++)
            bad += ie_f32(out)[r * 6 + k] != (k < 2 ? ie_f32(p)[r * 2 + k] : ie_f32(q)[r * 4 + k - 2]);
    CHECK(bad == 0, "concat along -1: %d elements misplaced", bad);
    ie_tensor_release(out);
    ie_tensor *aa[2] = {a, a};
    CHECK_OK(ie_concat(aa, 2, 0, &out));
    CHECK(out->shape[0] == 4 && memcmp(ie_f32(out) + a->numel, ie_f32(a), (size_t)a->numel * 4) == 0,
          "concat along 0 stacks the inputs");
    ie_tensor_release(out);

    /* Integer tensors concatenate too (label maps). */
    const int64_t ls[2] = {2, 2};
    const int64_t la[4] = {1, 2, 3, 4}, lb[4] = {5, 6, 7, 8};
    ie_tensor *ia = NULL, *ib = NULL;
    CHECK_OK(ie_tensor_from_data(IE_I64, 2, ls, la, &ia));
    CHECK_OK(ie_tensor_from_data(IE_I64, 2, ls, lb, &ib));
    ie_tensor *iab[2] = {ia, ib};
    CHECK_OK(ie_concat(iab, 2, 1, &out));
    const int64_t want_i[8] = {1, 2, 5, 6, 3, 4, 7, 8};
    CHECK(out->dtype == IE_I64 && memcmp(ie_tensor_data(out), want_i, sizeof want_i) == 0, "i64 concat along 1");
    ie_tensor *all[] = {out, a, b, c, p, q, ia, ib};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) ie_tensor_release(all[i]);
}

static void test_concat_grad(void) {
    const int64_t sa[5] = {2, 2, 2, 3, 2}, sb[5] = {2, 3, 2, 3, 2};
    ie_tensor *a = test_random(5, sa, 11, -1, 1, true), *b = test_random(5, sb, 12, -1, 1, true);
    concat_ctx ctx = {2, 1};
    gradcheck("concat dim 1", f_concat, (ie_tensor *[]){a, b}, 2, &ctx, 1e-2, 1e-3, 1e-2);
    ie_tensor *c = test_random(5, sa, 13, -1, 1, true);
    concat_ctx ctx0 = {3, 0};
    gradcheck("concat dim 0", f_concat, (ie_tensor *[]){a, c, a}, 3, &ctx0, 1e-2, 1e-3, 1e-2);

    /* Exact split: the gradient of sum(out * r) is r's slice for each input,
     * and an input that does not require grad is skipped. */
    ie_tensor *frozen = test_random(5, sb, 14, -1, 1, false), *out = NULL, *r = NULL, *w = NULL, *loss = NULL;
    ie_tensor_zero_grad(a);
    CHECK_OK(ie_concat((ie_tensor *[]){frozen, a}, 2, 1, &out));
    r = test_random(5, out->shape, 15, -1, 1, false);
    CHECK_OK(ie_mul(out, r, &w));
    CHECK_OK(ie_sum(w, &loss));
    CHECK_OK(ie_backward(loss));
    int bad = 0;
    const ie_tensor *g = ie_tensor_grad(a);
    for (int64_t n = 0; n < 2; n++)
        for (int64_t i = 0; i < 2 * 12; i++) bad += ie_f32(g)[n * 24 + i] != ie_f32(r)[n * 60 + 36 + i];
    CHECK(bad == 0, "concat backward: %d gradient elements are not the matching slice", bad);
    CHECK(ie_tensor_grad(frozen) == NULL, "an input without requires_grad gets no gradient");
    ie_tensor *all[] = {a, b, c, frozen, out, r, w, loss};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) ie_tensor_release(all[i]);
}

static ie_status f_reshape(ie_tensor **in, void *ctx, ie_tensor **out) {
    (void)ctx;
    ie_tensor *t = NULL, *sq = NULL;
    const int64_t shape[3] = {3, -1, 2};
    IE_TRY(ie_reshape(in[0], 3, shape, &t));
    /* A non-linear op after the view, so the gradient is not just r. */
    ie_status st = ie_mul(t, t, &sq);
    if (st == IE_OK) st = ie_flatten(sq, out);
    ie_tensor_release(t);
    ie_tensor_release(sq);
    return st;
}

static void test_reshape(void) {
    const int64_t shape[4] = {2, 3, 2, 2};
    ie_tensor *x = test_random(4, shape, 21, -1, 1, true), *v = NULL, *f = NULL;
    const int64_t want[3] = {4, -1, 3};
    CHECK_OK(ie_reshape(x, 3, want, &v));
    CHECK(v->ndim == 3 && v->shape[0] == 4 && v->shape[1] == 2 && v->shape[2] == 3, "-1 is inferred as 2");
    CHECK(ie_tensor_data(v) == ie_tensor_data(x), "reshape shares the input's storage");
    CHECK_OK(ie_flatten(x, &f));
    CHECK(f->ndim == 2 && f->shape[0] == 2 && f->shape[1] == 12, "flatten [2, 3, 2, 2] -> [2, 12]");
    CHECK(ie_tensor_data(f) == ie_tensor_data(x), "flatten shares the input's storage");
    ie_tensor_release(v);
    ie_tensor_release(f);
    gradcheck("reshape + flatten", f_reshape, &x, 1, NULL, 1e-2, 1e-3, 1e-2);
    CHECK(ie_tensor_grad(x) && ie_tensor_same_shape(ie_tensor_grad(x), x), "the gradient has the input's shape");

    ie_tensor *out = NULL;
    const int64_t bad[2] = {5, -1}, two[2] = {-1, -1}, neg[2] = {-2, 12}, big[2] = {5, 5};
    CHECK_FAILS(ie_reshape(x, 2, bad, &out), IE_ERR_SHAPE, "reshape: cannot view input [2, 3, 2, 2] f32 (24 elements) as [5, -1]");
    CHECK_FAILS(ie_reshape(x, 2, big, &out), IE_ERR_SHAPE, "as [5, 5] (25 elements)");
    CHECK_FAILS(ie_reshape(x, 2, two, &out), IE_ERR_SHAPE, "may hold one -1");
    CHECK_FAILS(ie_reshape(x, 2, neg, &out), IE_ERR_SHAPE, "[-2, 12]");
    CHECK_FAILS(ie_reshape(x, 6, bad, &out), IE_ERR_INVALID_ARG, "reshape: target has 6 dimensions");
    CHECK_FAILS(ie_reshape(NULL, 2, bad, &out), IE_ERR_INVALID_ARG, "reshape: input is NULL");
    ie_tensor *s = NULL;
    CHECK_OK(ie_tensor_scalar(1.0f, &s));
    CHECK_FAILS(ie_flatten(s, &out), IE_ERR_SHAPE, "flatten: input [] f32 has no batch dimension");
    CHECK(out == NULL, "a failed op must leave *out NULL");
    /* A scalar reshapes to [1] and back. */
    const int64_t one[1] = {1};
    CHECK_OK(ie_reshape(s, 1, one, &out));
    CHECK(out->ndim == 1 && out->numel == 1, "scalar -> [1]");
    ie_tensor_release(out);
    ie_tensor_release(s);
    ie_tensor_release(x);
}

static void test_concat_errors(void) {
    const int64_t sa[4] = {2, 3, 4, 5}, sb[4] = {2, 3, 9, 5}, sc[3] = {2, 3, 4};
    ie_tensor *a = test_random(4, sa, 1, 0, 1, false), *b = test_random(4, sb, 2, 0, 1, false),
              *c = test_random(3, sc, 3, 0, 1, false), *out = NULL, *ints = NULL;
    CHECK_FAILS(ie_concat((ie_tensor *[]){a, b}, 2, 1, &out), IE_ERR_SHAPE,
                "concat: input 1 is [2, 3, 9, 5] f32, input 0 is [2, 3, 4, 5] f32; all dimensions except 1 must match");
    CHECK_FAILS(ie_concat((ie_tensor *[]){a, c}, 2, 1, &out), IE_ERR_SHAPE, "input 1 is [2, 3, 4] f32");
    CHECK_FAILS(ie_concat((ie_tensor *[]){a, b}, 2, 4, &out), IE_ERR_INVALID_ARG, "concat: dim 4 is out of range");
    CHECK_FAILS(ie_concat((ie_tensor *[]){a, NULL}, 2, 1, &out), IE_ERR_INVALID_ARG, "concat: input 1 is NULL");
    CHECK_FAILS(ie_concat(NULL, 0, 1, &out), IE_ERR_INVALID_ARG, "concat: needs at least one input");
    CHECK_OK(ie_tensor_zeros(IE_I32, 4, sa, IE_CPU, &ints));
    CHECK_FAILS(ie_concat((ie_tensor *[]){a, ints}, 2, 1, &out), IE_ERR_DTYPE, "input 1 is [2, 3, 4, 5] i32");
    CHECK(out == NULL, "a failed op must leave *out NULL");
    ie_tensor *all[] = {a, b, c, ints};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) ie_tensor_release(all[i]);
}

int main(void) {
    test_concat_values();
    test_concat_grad();
    test_reshape();
    test_concat_errors();
    return test_summary();
}
