/* core/util - a small string -> int hash map (open addressing, FNV-1a).
 *
 * Keys are borrowed: the caller keeps them alive as long as the map.  Used to
 * group CSV rows by subject and splits by group value in linear time. */
#ifndef IE_CORE_UTIL_STRMAP_H
#define IE_CORE_UTIL_STRMAP_H

#include <stddef.h>

#include "innereye/status.h"

typedef struct ie_strmap {
    const char **keys; /* NULL marks an empty slot */
    int *values;
    size_t capacity;   /* a power of two */
    size_t count;
} ie_strmap;

ie_status ie_strmap_init(ie_strmap *m, size_t expected);
void ie_strmap_free(ie_strmap *m);
/* The value stored for key, or -1. */
int ie_strmap_get(const ie_strmap *m, const char *key);
/* Stores key -> value unless key is present; *existing (may be NULL) gets the
 * value already stored, or -1 when the key was new. */
ie_status ie_strmap_put(ie_strmap *m, const char *key, int value, int *existing);

#endif
