/* core/model - named parameter and buffer lists (what optimisers train and
 * checkpoints store). */
#include <stdlib.h>
#include <string.h>

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
