/* core/dist - a leaf packed while backward runs (leaf_packer.h). */
#include "core/dist/leaf_packer.h"

#include <stdlib.h>
#include <string.h>

#include "core/autograd/grad_ready.h"
#include "core/tensor/tensor_impl.h"

struct ie_leaf_packer {
    ie_step_reduce *reduce;
    const ie_params *params;
    const ie_grad_layout *layout;
    const ie_buckets *buckets;
    float weight, *leaf;
    int j;              /* the micro-batch */
    int n;              /* trained parameters */
    ie_tensor **tensor; /* trained parameter k */
    size_t *at;         /* its first value in the leaf */
    bool *packed;
    int *left;          /* per bucket: parameters not packed yet */
};

static void pack(ie_leaf_packer *p, int k, bool failed) {
    if (p->packed[k]) return;
    if (failed) memset(p->leaf + p->at[k], 0, (size_t)ie_tensor_numel(p->tensor[k]) * sizeof(float));
    else ie_grads_pack_values(p->tensor[k], p->weight, p->leaf + p->at[k]);
    p->packed[k] = true;
    int b = p->buckets->of_param[k];
    if (--p->left[b] == 0) ie_step_reduce_ready(p->reduce, p->j, b);
}

/* Autograd's report: a linear search, once per parameter and step (a few
 * hundred parameters at most: microseconds against a backward pass). */
static void grad_final(void *ctx, ie_tensor *leaf) {
    ie_leaf_packer *p = ctx;
    for (int k = 0; k < p->n; k++)
        if (p->tensor[k] == leaf) {
            pack(p, k, false);
            return;
        }
}

static void packer_free(ie_leaf_packer *p) {
    free(p->tensor);
    free(p->at);
    free(p->packed);
    free(p->left);
    free(p);
}

ie_status ie_leaf_packer_begin(ie_step_reduce *r, int j, const ie_params *params, const ie_grad_layout *layout,
                               const ie_buckets *buckets, float weight, ie_leaf_packer **out) {
    *out = NULL;
    ie_leaf_packer *p = calloc(1, sizeof *p);
    int n = layout->n_trained;
    if (p) {
        *p = (ie_leaf_packer){.reduce = r, .params = params, .layout = layout, .buckets = buckets,
                              .weight = weight, .leaf = ie_step_reduce_leaf(r, j), .j = j, .n = n};
        p->tensor = malloc((size_t)(n ? n : 1) * sizeof *p->tensor);
        p->at = malloc((size_t)(n ? n : 1) * sizeof *p->at);
        p->packed = calloc((size_t)(n ? n : 1), sizeof *p->packed);
        p->left = malloc((size_t)buckets->count * sizeof *p->left);
    }
    if (!p || !p->tensor || !p->at || !p->packed || !p->left) {
        if (p) packer_free(p);
        return ie_error_set(IE_ERR_NOMEM, "out of memory for packing a micro-batch's gradients");
    }
    size_t at = 0;
    for (int i = 0, k = 0; i < ie_params_count(params); i++) {
        if (!ie_grads_trained(params, i)) continue;
        p->tensor[k] = ie_params_tensor(params, i);
        p->at[k++] = at;
        at += (size_t)ie_tensor_numel(ie_params_tensor(params, i));
    }
    memcpy(p->left, buckets->params_in, (size_t)buckets->count * sizeof *p->left);
    ie_autograd_set_grad_ready(grad_final, p);
    *out = p;
    return IE_OK;
}

void ie_leaf_packer_end(ie_leaf_packer *p, float loss, bool failed) {
    ie_autograd_set_grad_ready(NULL, NULL);
    /* A failed leaf carries no gradient: the values not handed over yet are
     * zeros (those already sent go into a step that stops on every rank, as
     * the tail's failure count tells them). */
    for (int k = 0; k < p->n; k++) pack(p, k, failed);
    ie_grads_pack_tail(p->params, p->layout, p->weight, loss, failed, p->leaf);
    ie_step_reduce_ready(p->reduce, p->j, p->buckets->count - 1);
    packer_free(p);
}
