/* The transformer-era SDK ops (matmul, GELU, SiLU): forward values and the
 * gradients of sum(y * r) against PyTorch (tests/reference/gen_sdkops.py),
 * gradients again by finite differences, and the errors misuse gets.
 *
 * Tolerances, and why (u = 2^-24):
 *   matmul and its gradients sum at most 24 products per output here, in an
 *   order PyTorch's BLAS does not share.  Two float sums of the same n terms
 *   differ by at most 2 gamma_n sum|terms| (Higham 3.1), gamma_24 ~ 1.5e-6;
 *   with standard normal operands sum|terms| stays below about 30 at these
 *   sizes, so |d| <= 1e-4 always and typically ~1e-6: atol 1e-4 is the bound,
 *   rtol 1e-5 is there only for the largest outputs.
 *   layer norm: statistics of 6 or 24 values in double (ours) or float
 *   (PyTorch), both within a few u of exact; outputs are at most ~4 in size
 *   and gradients sum 24 terms of similar size, so atol 1e-5 bounds the
 *   difference with a wide margin (rtol 1e-5 for the largest values).
 *   permute and embedding forward are copies: exact.  The embedding's table
 *   gradient sums a few rows (at most ~6 here) in another order than
 *   PyTorch: atol 1e-6.
 *   attention: scores sum 8 products, softmax sums at most 11 terms, the
 *   output 11 more; each step within a few u of PyTorch's float path, and
 *   values are O(1): atol 1e-5, rtol 1e-4 for outputs and gradients.
 *   GELU / SiLU: a handful of float operations and one erff/tanhf/expf each,
 *   a few ulp apart from PyTorch's vectorised versions: rtol 1e-5 (~80 ulp),
 *   with atol 1e-6 for outputs near zero where relative error is undefined.
 *   Their gradients cancel for large negative x: tanh-GELU's is
 *   0.5 (1 + t) + 0.5 x (1 - t^2) s (1 + 3 c x^2) with t near -1, where the
 *   rounding of t alone (u) is amplified by up to 0.5 |x| s (1 + 3 c x^2),
 *   about 40 for |x| <= 9 (inputs are 3 N(0, 1)), in both implementations:
 *   atol 5e-6.  (Measured: 1.1e-6 at x = -5.15, where the true value is
 *   5.8e-7, PyTorch gives -0 and we give 1.1e-6.) */
#include "test_util.h"

static ie_status f_matmul(ie_tensor **in, void *ctx, ie_tensor **out) { (void)ctx; return ie_matmul(in[0], in[1], out); }
static ie_status f_gelu(ie_tensor **in, void *ctx, ie_tensor **out) { (void)ctx; return ie_gelu(in[0], false, out); }
static ie_status f_gelu_tanh(ie_tensor **in, void *ctx, ie_tensor **out) { (void)ctx; return ie_gelu(in[0], true, out); }
static ie_status f_ln(ie_tensor **in, void *ctx, ie_tensor **out) {
    (void)ctx;
    return ie_layer_norm(in[0], 2, in[1], in[2], 1e-5f, out);
}
static ie_status f_ln1(ie_tensor **in, void *ctx, ie_tensor **out) {
    (void)ctx;
    return ie_layer_norm(in[0], 1, NULL, NULL, 1e-5f, out);
}
static ie_status f_perm(ie_tensor **in, void *ctx, ie_tensor **out) {
    (void)ctx;
    return ie_permute(in[0], (const int[]){2, 0, -1, 1}, out);
}
static ie_status f_emb(ie_tensor **in, void *ctx, ie_tensor **out) { return ie_embedding(in[0], ctx, out); }
static ie_status f_emb_golden(ie_tensor **in, void *ctx, ie_tensor **out) {
    (void)ctx;
    return ie_embedding(in[0], in[1], out);
}
static ie_status f_att(ie_tensor **in, void *ctx, ie_tensor **out) {
    return ie_attention(in[0], in[1], in[2], ctx != NULL, out);
}
static ie_status f_silu(ie_tensor **in, void *ctx, ie_tensor **out) { (void)ctx; return ie_silu(in[0], out); }

/* y = f(inputs); backward of sum(y * r); y compared with fixture `want`. */
static void golden(const char *what, gradcheck_fn f, ie_tensor **in, int n, ie_tensor *r, const ie_tensor *want,
                   double rtol, double atol) {
    ie_tensor *y = NULL, *w = NULL, *loss = NULL;
    for (int i = 0; i < n; i++) ie_tensor_zero_grad(in[i]);
    CHECK_OK(f(in, NULL, &y));
    check_close(what, y, want, rtol, atol);
    CHECK_OK(ie_mul(y, r, &w));
    CHECK_OK(ie_sum(w, &loss));
    CHECK_OK(ie_backward(loss));
    ie_tensor_release(y);
    ie_tensor_release(w);
    ie_tensor_release(loss);
}

static void matmul_golden(ie_params *fx, const char *name) {
    char k[64], ka[64], kb[64];
    snprintf(ka, sizeof ka, "%s_a", name);
    snprintf(kb, sizeof kb, "%s_b", name);
    ie_tensor *in[2] = {fixture_leaf(fx, ka, true), fixture_leaf(fx, kb, true)};
    snprintf(k, sizeof k, "%s_r", name);
    ie_tensor *r = fixture_get(fx, k);
    snprintf(k, sizeof k, "%s_y", name);
    char what[96];
    snprintf(what, sizeof what, "matmul %s forward", name);
    golden(what, f_matmul, in, 2, r, fixture_get(fx, k), 1e-5, 1e-4);
    snprintf(k, sizeof k, "%s_ga", name);
    snprintf(what, sizeof what, "matmul %s grad a", name);
    check_close(what, ie_tensor_grad(in[0]), fixture_get(fx, k), 1e-5, 1e-4);
    snprintf(k, sizeof k, "%s_gb", name);
    snprintf(what, sizeof what, "matmul %s grad b", name);
    check_close(what, ie_tensor_grad(in[1]), fixture_get(fx, k), 1e-5, 1e-4);
    ie_tensor_release(in[0]);
    ie_tensor_release(in[1]);
}

static void activation_golden(ie_params *fx, const char *name, gradcheck_fn f) {
    ie_tensor *x = fixture_leaf(fx, "act_x", true);
    char k[64];
    golden(name, f, &x, 1, fixture_get(fx, "act_r"), fixture_get(fx, name), 1e-5, 1e-6);
    snprintf(k, sizeof k, "%s_grad", name);
    check_close(k, ie_tensor_grad(x), fixture_get(fx, k), 1e-5, 5e-6);
    ie_tensor_release(x);
}

int main(void) {
    ie_params *fx = fixture_load("sdkops.safetensors");
    matmul_golden(fx, "bmm");
    matmul_golden(fx, "shared");
    matmul_golden(fx, "mm");
    activation_golden(fx, "gelu", f_gelu);
    activation_golden(fx, "gelu_tanh", f_gelu_tanh);
    activation_golden(fx, "silu", f_silu);

    ie_tensor *ln[3] = {fixture_leaf(fx, "ln_x", true), fixture_leaf(fx, "ln_w", true), fixture_leaf(fx, "ln_b", true)};
    golden("layer_norm affine", f_ln, ln, 3, fixture_get(fx, "ln_r"), fixture_get(fx, "ln_y"), 1e-5, 1e-5);
    check_close("layer_norm grad x", ie_tensor_grad(ln[0]), fixture_get(fx, "ln_gx"), 1e-5, 1e-5);
    check_close("layer_norm grad weight", ie_tensor_grad(ln[1]), fixture_get(fx, "ln_gw"), 1e-5, 1e-5);
    check_close("layer_norm grad bias", ie_tensor_grad(ln[2]), fixture_get(fx, "ln_gb"), 1e-5, 1e-5);
    golden("layer_norm plain", f_ln1, ln, 1, fixture_get(fx, "ln_r"), fixture_get(fx, "ln1_y"), 1e-5, 1e-5);
    check_close("layer_norm plain grad x", ie_tensor_grad(ln[0]), fixture_get(fx, "ln1_gx"), 1e-5, 1e-5);

    ie_tensor *px = fixture_leaf(fx, "perm_x", true);
    golden("permute", f_perm, &px, 1, fixture_get(fx, "perm_r"), fixture_get(fx, "perm_y"), 0, 1e-30);
    check_close("permute grad", ie_tensor_grad(px), fixture_get(fx, "perm_gx"), 0, 1e-30);
    ie_tensor *emb[2] = {fixture_leaf(fx, "emb_table", true), fixture_get(fx, "emb_idx")};
    golden("embedding", f_emb_golden, emb, 1, fixture_get(fx, "emb_r"), fixture_get(fx, "emb_y"), 0, 1e-30);
    check_close("embedding grad", ie_tensor_grad(emb[0]), fixture_get(fx, "emb_gt"), 1e-6, 1e-6);

    for (int causal = 0; causal < 2; causal++) {
        const char *p = causal ? "attc_" : "att_";
        char key[32], what[48];
        ie_tensor *qkv[3] = {fixture_leaf(fx, "att_q", true), fixture_leaf(fx, "att_k", true),
                             fixture_leaf(fx, "att_v", true)};
        snprintf(key, sizeof key, "%sy", p);
        snprintf(what, sizeof what, "attention%s", causal ? " causal" : "");
        ie_tensor *yy = NULL;
        for (int i = 0; i < 3; i++) ie_tensor_zero_grad(qkv[i]);
        ie_tensor *w2 = NULL, *l2 = NULL;
        CHECK_OK(ie_attention(qkv[0], qkv[1], qkv[2], causal, &yy));
        check_close(what, yy, fixture_get(fx, key), 1e-4, 1e-5);
        CHECK_OK(ie_mul(yy, fixture_get(fx, "att_r"), &w2));
        CHECK_OK(ie_sum(w2, &l2));
        CHECK_OK(ie_backward(l2));
        static const char *const gn[3] = {"gq", "gk", "gv"};
        for (int i = 0; i < 3; i++) {
            snprintf(key, sizeof key, "%s%s", p, gn[i]);
            snprintf(what, sizeof what, "attention%s %s", causal ? " causal" : "", gn[i]);
            check_close(what, ie_tensor_grad(qkv[i]), fixture_get(fx, key), 1e-4, 1e-5);
            ie_tensor_release(qkv[i]);
        }
        ie_tensor_release(yy), ie_tensor_release(w2), ie_tensor_release(l2);
    }

    /* Finite differences, independent of PyTorch. */
    const double eps = 1e-3, atol = 2e-3, rtol = 2e-2;
    const int64_t sa[4] = {2, 2, 3, 4}, sb[4] = {2, 2, 4, 5}, sw[2] = {4, 5}, sx[2] = {6, 7};
    ie_tensor *a = test_random(4, sa, 1, -1, 1, true), *b = test_random(4, sb, 2, -1, 1, true);
    ie_tensor *w = test_random(2, sw, 3, -1, 1, true), *x = test_random(2, sx, 4, -3, 3, true);
    gradcheck("matmul batched", f_matmul, (ie_tensor *[]){a, b}, 2, NULL, eps, atol, rtol);
    gradcheck("matmul shared b", f_matmul, (ie_tensor *[]){a, w}, 2, NULL, eps, atol, rtol);
    gradcheck("gelu", f_gelu, &x, 1, NULL, eps, atol, rtol);
    gradcheck("gelu_tanh", f_gelu_tanh, &x, 1, NULL, eps, atol, rtol);
    gradcheck("silu", f_silu, &x, 1, NULL, eps, atol, rtol);
    const int64_t sl[3] = {2, 3, 8}, sl2[2] = {3, 8};
    ie_tensor *lx = test_random(3, sl, 8, -2, 2, true), *lw = test_random(2, sl2, 9, 0.5f, 1.5f, true),
              *lb = test_random(2, sl2, 10, -1, 1, true);
    gradcheck("layer_norm affine", f_ln, (ie_tensor *[]){lx, lw, lb}, 3, NULL, eps, atol, rtol);
    gradcheck("layer_norm plain", f_ln1, &lx, 1, NULL, eps, atol, rtol);
    gradcheck("permute", f_perm, &a, 1, NULL, eps, atol, rtol);
    const int64_t st[2] = {5, 3}, si[1] = {9};
    ie_tensor *tab = test_random(2, st, 11, -1, 1, true), *ix = NULL;
    CHECK_OK(ie_tensor_empty(IE_I64, 1, si, IE_CPU, &ix));
    for (int i = 0; i < 9; i++) ((int64_t *)ie_tensor_data(ix))[i] = (i * 3) % 5; /* repeats */
    gradcheck("embedding", f_emb, &tab, 1, ix, eps, atol, rtol);
    const int64_t sq[3] = {2, 5, 4}, sk[3] = {2, 7, 4};
    ie_tensor *aq = test_random(3, sq, 12, -1, 1, true), *ak = test_random(3, sk, 13, -1, 1, true),
              *av = test_random(3, sk, 14, -1, 1, true);
    gradcheck("attention", f_att, (ie_tensor *[]){aq, ak, av}, 3, NULL, eps, atol, rtol);
    gradcheck("attention causal", f_att, (ie_tensor *[]){aq, ak, av}, 3, (void *)1, eps, atol, rtol);

    /* Misuse names the op and the shapes. */
    ie_tensor *out = NULL;
    const int64_t s3[3] = {3, 5, 6}, s1[1] = {4};
    ie_tensor *c = test_random(3, s3, 5, -1, 1, false), *v = test_random(1, s1, 6, -1, 1, false);
    CHECK_FAILS(ie_matmul(a, c, &out), IE_ERR_SHAPE, "matmul: a [2, 2, 3, 4] f32 has 4 columns but b [3, 5, 6]");
    CHECK_FAILS(ie_matmul(a, v, &out), IE_ERR_SHAPE, "matmul: both operands need at least 2 dimensions");
    const int64_t s4[4] = {3, 2, 4, 5};
    ie_tensor *d = test_random(4, s4, 7, -1, 1, false);
    CHECK_FAILS(ie_matmul(a, d, &out), IE_ERR_SHAPE, "matmul: batch dimensions of a");
    CHECK_FAILS(ie_matmul(NULL, d, &out), IE_ERR_INVALID_ARG, "matmul: a is NULL");
    CHECK_FAILS(ie_gelu(NULL, false, &out), IE_ERR_INVALID_ARG, "gelu: input is NULL");
    CHECK_FAILS(ie_layer_norm(lx, 4, NULL, NULL, 1e-5f, &out), IE_ERR_INVALID_ARG, "layer_norm: dims must be 1 to 3");
    CHECK_FAILS(ie_layer_norm(lx, 1, lw, NULL, 1e-5f, &out), IE_ERR_SHAPE,
                "layer_norm: weight [3, 8] f32 must have the shape of the last 1 dimension(s)");
    CHECK_FAILS(ie_permute(a, (const int[]){0, 1, 1, 3}, &out), IE_ERR_INVALID_ARG, "permute: perm[2] = 1 is repeated");
    CHECK_FAILS(ie_transpose(a, 0, 4, &out), IE_ERR_INVALID_ARG, "transpose: dims 0 and 4 must both be in -4 to 3");
    ((int64_t *)ie_tensor_data(ix))[4] = 5;
    CHECK_FAILS(ie_embedding(tab, ix, &out), IE_ERR_INVALID_ARG, "embedding: index 5 at position 4 is outside table");
    CHECK_FAILS(ie_attention(aq, a, av, false, &out), IE_ERR_SHAPE, "attention: q [2, 5, 4] f32, k [2, 2, 3, 4]");
    CHECK(out == NULL, "a failed op must leave *out NULL");

    /* Long sequences run: 2048 tokens (a 2048 x 2048 score matrix would be
     * 16 MiB per head; the kernels hold O(L d)). */
    const int64_t sl4[3] = {1, 2048, 16};
    ie_tensor *lq = test_random(3, sl4, 15, -1, 1, true), *ly = NULL, *ls = NULL;
    CHECK_OK(ie_attention(lq, lq, lq, true, &ly));
    CHECK_OK(ie_sum(ly, &ls));
    CHECK_OK(ie_backward(ls));
    CHECK(ie_tensor_grad(lq) != NULL, "long attention got no gradient");
    ie_tensor_release(ly), ie_tensor_release(ls), ie_tensor_release(lq);

    ie_tensor *ts[] = {a, b, w, x, c, v, d, lx, lw, lb, ln[0], ln[1], ln[2], px, emb[0], tab, ix, aq, ak, av};
    for (size_t i = 0; i < sizeof ts / sizeof *ts; i++) ie_tensor_release(ts[i]);
    ie_params_free(fx);
    return test_summary();
}
