/* core/util - string -> int hash map used to group rows and subjects. */
#include "core/util/strmap.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static uint64_t hash_string(const char *s) {
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 1099511628211ull;
    }
    return h;
}

static size_t slot_of(const ie_strmap *m, const char *key) {
    size_t mask = m->capacity - 1;
    size_t i = (size_t)hash_string(key) & mask;
    while (m->keys[i] && strcmp(m->keys[i], key) != 0) i = (i + 1) & mask;
    return i;
}

static ie_status allocate(ie_strmap *m, size_t capacity) {
    m->keys = calloc(capacity, sizeof *m->keys);
    m->values = malloc(capacity * sizeof *m->values);
    if (!m->keys || !m->values) {
        free(m->keys);
        free(m->values);
        m->keys = NULL;
        m->values = NULL;
        return ie_error_set(IE_ERR_NOMEM, "dataset: out of memory for a hash table of %zu slots", capacity);
    }
    m->capacity = capacity;
    return IE_OK;
}

ie_status ie_strmap_init(ie_strmap *m, size_t expected) {
    memset(m, 0, sizeof *m);
    size_t capacity = 16;
    while (capacity < expected * 2) capacity *= 2;
    return allocate(m, capacity);
}

void ie_strmap_free(ie_strmap *m) {
    if (!m) return;
    free(m->keys);
    free(m->values);
    memset(m, 0, sizeof *m);
}

int ie_strmap_get(const ie_strmap *m, const char *key) {
    if (!m->capacity) return -1;
    size_t i = slot_of(m, key);
    return m->keys[i] ? m->values[i] : -1;
}

static ie_status grow(ie_strmap *m) {
    ie_strmap bigger;
    IE_TRY(allocate(&bigger, m->capacity * 2));
    bigger.count = m->count;
    for (size_t i = 0; i < m->capacity; i++) {
        if (!m->keys[i]) continue;
        size_t j = slot_of(&bigger, m->keys[i]);
        bigger.keys[j] = m->keys[i];
        bigger.values[j] = m->values[i];
    }
    ie_strmap_free(m);
    *m = bigger;
    return IE_OK;
}

ie_status ie_strmap_put(ie_strmap *m, const char *key, int value, int *existing) {
    if (existing) *existing = -1;
    if (!m->capacity) IE_TRY(allocate(m, 16));
    size_t i = slot_of(m, key);
    if (m->keys[i]) {
        if (existing) *existing = m->values[i];
        return IE_OK;
    }
    /* Keep the load factor at most one half so probes stay short. */
    if ((m->count + 1) * 2 > m->capacity) {
        IE_TRY(grow(m));
        i = slot_of(m, key);
    }
    m->keys[i] = key;
    m->values[i] = value;
    m->count++;
    return IE_OK;
}
