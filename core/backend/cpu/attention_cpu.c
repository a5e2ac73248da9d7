/* core/backend/cpu - fused scaled-dot-product attention.
 *
 * Memory: O(d) scratch per query (or key) row, never an nq x nk matrix, so a
 * long sequence costs time but not memory.
 *
 * Order (fixed by the shapes alone, so identical on every CPU path and thread
 * count; scalar code, no target clones):
 *   score   s_ij = (sum over c ascending, in float, of q_ic k_jc) * scale
 *   forward keys j ascending with an online softmax in double: m is the
 *           running maximum, l and acc[c] are rescaled by exp(m_old - m_new)
 *           when it grows, then l += e, acc[c] += e v_jc with e = exp(s - m);
 *           out = acc / l, lse = m + log l.
 *   backward p_ij = exp(s_ij - lse_i) (recomputed, double), D_i = out_i . g_i,
 *           dp_ij = g_i . v_j, ds_ij = p_ij (dp_ij - D_i);
 *           gq_i = scale sum over j ascending of ds_ij k_j   (one task per row i)
 *           gk_j = scale sum over i ascending of ds_ij q_i   (one task per row j)
 *           gv_j = sum over i ascending of p_ij g_i
 *           so every gradient row is written by one task: no races, no atomics.
 * Rows are split into tasks of ATT_ROWS per batch item. */
#include <math.h>
#include <stdlib.h>

#include "core/backend/cpu/cpu_families.h"
#include "core/backend/cpu/cpu_parallel.h"

#define ATT_ROWS 16
/* Head dimensions up to this use stack scratch; beyond it the op refuses. */
#define ATT_MAX_D 1024

typedef struct att_job {
    const float *q, *k, *v, *out, *lse, *g;
    float *o_out, *o_lse, *gq, *gk, *gv;
    ie_attention_shape sh;
    int64_t row_tasks; /* tasks per batch item */
} att_job;

static float score(const float *a, const float *b, int64_t d, float scale) {
    float s = 0.0f;
    for (int64_t c = 0; c < d; c++) s += a[c] * b[c];
    return s * scale;
}

static double dot_d(const float *a, const float *b, int64_t d) {
    double s = 0.0;
    for (int64_t c = 0; c < d; c++) s += (double)a[c] * b[c];
    return s;
}

static void forward_task(void *ctx, int64_t task) {
    const att_job *j = ctx;
    const ie_attention_shape *sh = &j->sh;
    int64_t b = task / j->row_tasks, i0 = (task % j->row_tasks) * ATT_ROWS, d = sh->d;
    int64_t i1 = i0 + ATT_ROWS < sh->nq ? i0 + ATT_ROWS : sh->nq;
    const float *kb = j->k + b * sh->nk * d, *vb = j->v + b * sh->nk * d;
    double acc[ATT_MAX_D];
    for (int64_t i = i0; i < i1; i++) {
        const float *qi = j->q + (b * sh->nq + i) * d;
        int64_t nk = sh->causal ? (i + 1 < sh->nk ? i + 1 : sh->nk) : sh->nk;
        double m = -INFINITY, l = 0.0;
        for (int64_t c = 0; c < d; c++) acc[c] = 0.0;
        for (int64_t jj = 0; jj < nk; jj++) {
            double s = score(qi, kb + jj * d, d, sh->scale);
            if (s > m) {
                double f = exp(m - s); /* 0 on the first key */
                l *= f;
                for (int64_t c = 0; c < d; c++) acc[c] *= f;
                m = s;
            }
            double e = exp(s - m);
            l += e;
            const float *vj = vb + jj * d;
            for (int64_t c = 0; c < d; c++) acc[c] += e * vj[c];
        }
        float *oi = j->o_out + (b * sh->nq + i) * d;
        for (int64_t c = 0; c < d; c++) oi[c] = (float)(acc[c] / l);
        j->o_lse[b * sh->nq + i] = (float)(m + log(l));
    }
}

/* ds_ij and p_ij of row i against key j (recomputed identically in both passes). */
static void ds_p(const att_job *j, int64_t b, int64_t i, int64_t jj, double di, double *ds, double *p) {
    const ie_attention_shape *sh = &j->sh;
    int64_t d = sh->d;
    const float *qi = j->q + (b * sh->nq + i) * d, *gi = j->g + (b * sh->nq + i) * d;
    const float *kj = j->k + (b * sh->nk + jj) * d, *vj = j->v + (b * sh->nk + jj) * d;
    *p = exp((double)score(qi, kj, d, sh->scale) - j->lse[b * sh->nq + i]);
    *ds = *p * (dot_d(gi, vj, d) - di);
}

static double row_delta(const att_job *j, int64_t b, int64_t i) {
    int64_t off = (j->sh.nq * b + i) * j->sh.d;
    return dot_d(j->out + off, j->g + off, j->sh.d);
}

static void grad_q_task(void *ctx, int64_t task) {
    const att_job *j = ctx;
    const ie_attention_shape *sh = &j->sh;
    int64_t b = task / j->row_tasks, i0 = (task % j->row_tasks) * ATT_ROWS, d = sh->d;
    int64_t i1 = i0 + ATT_ROWS < sh->nq ? i0 + ATT_ROWS : sh->nq;
    double acc[ATT_MAX_D];
    for (int64_t i = i0; i < i1; i++) {
        int64_t nk = sh->causal ? (i + 1 < sh->nk ? i + 1 : sh->nk) : sh->nk;
        double di = row_delta(j, b, i), ds, p;
        for (int64_t c = 0; c < d; c++) acc[c] = 0.0;
        for (int64_t jj = 0; jj < nk; jj++) {
            ds_p(j, b, i, jj, di, &ds, &p);
            const float *kj = j->k + (b * sh->nk + jj) * d;
            for (int64_t c = 0; c < d; c++) acc[c] += ds * kj[c];
        }
        float *gqi = j->gq + (b * sh->nq + i) * d;
        for (int64_t c = 0; c < d; c++) gqi[c] = (float)(acc[c] * sh->scale);
    }
}

static void grad_kv_task(void *ctx, int64_t task) {
    const att_job *j = ctx;
    const ie_attention_shape *sh = &j->sh;
    int64_t kv_tasks = (sh->nk + ATT_ROWS - 1) / ATT_ROWS;
    int64_t b = task / kv_tasks, j0 = (task % kv_tasks) * ATT_ROWS, d = sh->d;
    int64_t j1 = j0 + ATT_ROWS < sh->nk ? j0 + ATT_ROWS : sh->nk;
    double ak[ATT_MAX_D], av[ATT_MAX_D];
    for (int64_t jj = j0; jj < j1; jj++) {
        for (int64_t c = 0; c < d; c++) ak[c] = 0.0, av[c] = 0.0;
        for (int64_t i = sh->causal ? jj : 0; i < sh->nq; i++) {
            double ds, p;
            ds_p(j, b, i, jj, row_delta(j, b, i), &ds, &p);
            const float *qi = j->q + (b * sh->nq + i) * d, *gi = j->g + (b * sh->nq + i) * d;
            for (int64_t c = 0; c < d; c++) ak[c] += ds * qi[c], av[c] += p * gi[c];
        }
        float *gkj = j->gk + (b * sh->nk + jj) * d, *gvj = j->gv + (b * sh->nk + jj) * d;
        for (int64_t c = 0; c < d; c++) gkj[c] = (float)(ak[c] * sh->scale), gvj[c] = (float)av[c];
    }
}

static ie_status check_d(const char *kernel, ie_attention_shape sh) {
    if (sh.d > ATT_MAX_D)
        return ie_error_set(IE_ERR_UNSUPPORTED, "%s: head dimension %lld is above the CPU kernel's %d", kernel,
                            (long long)sh.d, ATT_MAX_D);
    return IE_OK;
}

ie_status ie_cpu_attention_forward(ie_device_ctx *ctx, const ie_tensor *q, const ie_tensor *k, const ie_tensor *v,
                                   ie_attention_shape sh, ie_tensor *out, ie_tensor *lse) {
    (void)ctx;
    IE_TRY(check_d("reduce.attention_forward", sh));
    att_job j = {.q = ie_f32(q), .k = ie_f32(k), .v = ie_f32(v), .o_out = ie_f32(out), .o_lse = ie_f32(lse),
                 .sh = sh, .row_tasks = (sh.nq + ATT_ROWS - 1) / ATT_ROWS};
    ie_parallel_for(sh.batch * j.row_tasks, forward_task, &j);
    return IE_OK;
}

ie_status ie_cpu_attention_backward(ie_device_ctx *ctx, const ie_tensor *q, const ie_tensor *k, const ie_tensor *v,
                                    const ie_tensor *out, const ie_tensor *lse, const ie_tensor *g,
                                    ie_attention_shape sh, ie_tensor *gq, ie_tensor *gk, ie_tensor *gv) {
    (void)ctx;
    IE_TRY(check_d("reduce.attention_backward", sh));
    att_job j = {.q = ie_f32(q), .k = ie_f32(k), .v = ie_f32(v), .out = ie_f32(out), .lse = ie_f32(lse),
                 .g = ie_f32(g), .gq = ie_f32(gq), .gk = ie_f32(gk), .gv = ie_f32(gv), .sh = sh,
                 .row_tasks = (sh.nq + ATT_ROWS - 1) / ATT_ROWS};
    ie_parallel_for(sh.batch * j.row_tasks, grad_q_task, &j);
    ie_parallel_for(sh.batch * ((sh.nk + ATT_ROWS - 1) / ATT_ROWS), grad_kv_task, &j);
    return IE_OK;
}
