/* core/model - named parameter and buffer lists (what optimisers train and
 * checkpoints store). */
#include <stdlib.h>
#include <string.h>

#include "core/autograd/node.h"
#include "core/tensor/tensor_impl.h"
#include "innereye/params.h"

typedef struct entry {
    char *name;
    ie_tensor *tensor;
    ie_param_kind kind;
} entry;

struct ie_params {
    entry *items;
    int count, capacity;
};

ie_status ie_params_new(ie_params **out) {
    *out = calloc(1, sizeof **out);
    return *out ? IE_OK : ie_error_set(IE_ERR_NOMEM, "params: out of memory");
}

void ie_params_free(ie_params *p) {
    if (!p) return;
    for (int i = 0; i < p->count; i++) {
        free(p->items[i].name);
        ie_tensor_release(p->items[i].tensor);
    }
    free(p->items);
    free(p);
}

ie_status ie_params_add(ie_params *p, const char *name, ie_tensor *t, ie_param_kind kind) {
    if (!p || !name || !t) return ie_error_set(IE_ERR_INVALID_ARG, "params_add: NULL argument");
    if (ie_params_find(p, name))
        return ie_error_set(IE_ERR_INVALID_ARG, "params_add: '%s' is registered twice", name);
    if (p->count == p->capacity) {
        int cap = p->capacity ? p->capacity * 2 : 32;
        entry *grown = realloc(p->items, (size_t)cap * sizeof *grown);
        if (!grown) return ie_error_set(IE_ERR_NOMEM, "params_add: out of memory");
        p->items = grown;
        p->capacity = cap;
    }
    char *copy = strdup(name);
    if (!copy) return ie_error_set(IE_ERR_NOMEM, "params_add: out of memory");
    p->items[p->count++] = (entry){copy, ie_tensor_retain(t), kind};
    if (kind == IE_PARAM) ie_tensor_set_requires_grad(t, true);
    ie_tensor_set_name(t, name);
    return IE_OK;
}

int ie_params_count(const ie_params *p) { return p ? p->count : 0; }
const char *ie_params_name(const ie_params *p, int i) { return p->items[i].name; }
ie_tensor *ie_params_tensor(const ie_params *p, int i) { return p->items[i].tensor; }
ie_param_kind ie_params_kind(const ie_params *p, int i) { return p->items[i].kind; }

ie_tensor *ie_params_find(const ie_params *p, const char *name) {
    for (int i = 0; p && i < p->count; i++)
        if (strcmp(p->items[i].name, name) == 0) return p->items[i].tensor;
    return NULL;
}

/* ---------------- moving to a device ---------------- */

/* An old storage and its copy on the target device (shared storages are
 * copied once, so tied weights stay tied). */
typedef struct moved_storage {
    ie_storage *old, *fresh;
} moved_storage;

typedef struct move_plan {
    moved_storage *map;
    int count;
} move_plan;

static ie_storage *plan_lookup(const move_plan *plan, const ie_storage *old) {
    for (int k = 0; k < plan->count; k++)
        if (plan->map[k].old == old) return plan->map[k].fresh;
    return NULL;
}

/* Copies t's whole storage to `device` (once per storage). */
static ie_status plan_stage(move_plan *plan, const ie_tensor *t, const char *name, ie_device device) {
    if (plan_lookup(plan, t->storage)) return IE_OK;
    ie_storage *fresh = NULL;
    ie_status st = ie_storage_new(device, t->storage->nbytes, &fresh);
    if (st == IE_OK)
        st = ie_memory_copy("params_to", fresh->data, device, t->storage->data, t->device, t->storage->nbytes);
    if (st != IE_OK) {
        ie_storage_release(fresh);
        return ie_error_wrap(st, "params_to %s: '%s'", ie_device_name(device), name);
    }
    plan->map[plan->count++] = (moved_storage){t->storage, fresh};
    return IE_OK;
}

/* Points t at its storage's copy. */
static void plan_apply(const move_plan *plan, ie_tensor *t, ie_device device) {
    ie_storage *fresh = plan_lookup(plan, t->storage), *old = t->storage;
    atomic_fetch_add(&fresh->refcount, 1);
    t->storage = fresh;
    t->device = device;
    ie_storage_release(old);
}

ie_status ie_params_to(ie_params *p, ie_device device) {
    if (!p) return ie_error_set(IE_ERR_INVALID_ARG, "params_to: params is NULL");
    IE_TRY(ie_device_check(device));
    move_plan plan = {calloc((size_t)(2 * p->count + 1), sizeof *plan.map), 0};
    if (!plan.map) return ie_error_set(IE_ERR_NOMEM, "params_to: out of memory for %d tensors", p->count);
    /* First every copy, then every switch: a failure leaves nothing moved. */
    ie_status st = IE_OK;
    for (int i = 0; i < p->count && st == IE_OK; i++) {
        const ie_tensor *t = p->items[i].tensor;
        if (t->node)
            st = ie_error_set(IE_ERR_STATE, "params_to: '%s' is the output of op %s, not a parameter of its own; "
                                            "move the model before running it", p->items[i].name, t->node->op);
        if (st == IE_OK && t->device != device) st = plan_stage(&plan, t, p->items[i].name, device);
        if (st == IE_OK && t->grad && t->grad->device != device) st = plan_stage(&plan, t->grad, p->items[i].name, device);
    }
    for (int i = 0; i < p->count && st == IE_OK; i++) {
        ie_tensor *t = p->items[i].tensor;
        if (t->device != device) plan_apply(&plan, t, device);
        if (t->grad && t->grad->device != device) plan_apply(&plan, t->grad, device);
    }
    for (int k = 0; k < plan.count; k++) ie_storage_release(plan.map[k].fresh);
    free(plan.map);
    return st;
}
