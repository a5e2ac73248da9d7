/* core/backend/cpu - the CPU path: detection, IE_CPU_PATH, the current choice. */
#include "core/backend/cpu/cpu_path.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const NAMES[IE_CPU_PATH_COUNT] = {"generic", "avx2", "avx512"};

bool ie_cpu_path_supported(ie_cpu_path p) {
    __builtin_cpu_init();
    switch (p) {
    case IE_CPU_PATH_GENERIC:
        return true;
    case IE_CPU_PATH_AVX2:
        return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    case IE_CPU_PATH_AVX512:
        return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
               __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl") &&
               __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    }
    return false;
}

ie_cpu_path ie_cpu_path_best(void) {
    for (int p = IE_CPU_PATH_COUNT - 1; p > 0; p--)
        if (ie_cpu_path_supported((ie_cpu_path)p)) return (ie_cpu_path)p;
    return IE_CPU_PATH_GENERIC;
}

const char *ie_cpu_path_name(ie_cpu_path p) {
    return (int)p >= 0 && (int)p < IE_CPU_PATH_COUNT ? NAMES[p] : "unknown";
}

ie_status ie_cpu_path_parse(const char *name, const char *where, ie_cpu_path *out) {
    if (strcmp(name, "auto") == 0) {
        *out = ie_cpu_path_best();
        return IE_OK;
    }
    for (int p = 0; p < IE_CPU_PATH_COUNT; p++) {
        if (strcmp(name, NAMES[p]) != 0) continue;
        if (!ie_cpu_path_supported((ie_cpu_path)p))
            return ie_error_set(IE_ERR_UNSUPPORTED,
                                "%s: this CPU cannot run the %s path (it runs %s at best); every path gives the "
                                "same results, so use auto or a slower path",
                                where, name, NAMES[ie_cpu_path_best()]);
        *out = (ie_cpu_path)p;
        return IE_OK;
    }
    return ie_error_set(IE_ERR_INVALID_ARG, "%s: unknown CPU path '%s' (use avx512, avx2, generic or auto)", where,
                        name);
}

static _Atomic int current = -1;

void ie_cpu_path_set(ie_cpu_path p) { atomic_store(&current, (int)p); }

ie_status ie_cpu_path_from_env(void) {
    const char *env = getenv("IE_CPU_PATH");
    ie_cpu_path p = ie_cpu_path_best();
    ie_status st = env && *env ? ie_cpu_path_parse(env, "IE_CPU_PATH", &p) : IE_OK;
    if (st == IE_OK) atomic_store(&current, (int)p);
    return st;
}

ie_cpu_path ie_cpu_path_get(void) {
    int p = atomic_load(&current);
    if (p >= 0) return (ie_cpu_path)p;
    if (ie_cpu_path_from_env() != IE_OK) {
        /* Every path computes the same bytes, so a bad value costs speed only. */
        fprintf(stderr, "warning: %s; using %s\n", ie_error_message(), NAMES[ie_cpu_path_best()]);
        ie_error_clear();
        int expected = -1;
        atomic_compare_exchange_strong(&current, &expected, (int)ie_cpu_path_best());
    }
    return (ie_cpu_path)atomic_load(&current);
}

const ie_canon_kernels *ie_cpu_canon(void) {
    switch (ie_cpu_path_get()) {
    case IE_CPU_PATH_AVX512:
        return &ie_canon_avx512;
    case IE_CPU_PATH_AVX2:
        return &ie_canon_avx2;
    default:
        return &ie_canon_generic;
    }
}
