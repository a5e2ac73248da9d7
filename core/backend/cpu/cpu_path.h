/* core/backend/cpu - which CPU path runs the kernels that have several.
 *
 * Three paths compute every result with the same sequence of IEEE roundings
 * (canon_kernels.h), so they give the same bytes and differ only in speed:
 *   avx512   the direct AVX-512 convolutions where a shape fits them, the
 *            canonical kernels compiled for AVX-512 elsewhere;
 *   avx2     the direct AVX2 + FMA convolutions where a shape fits them, the
 *            canonical kernels compiled for AVX2 + FMA elsewhere;
 *   generic  the canonical kernels in portable C (fmaf), any x86-64.
 * The best path the CPU runs is taken unless IE_CPU_PATH (avx512, avx2,
 * generic or auto) or ie_cpu_path_set picks another.  run.json records it. */
#ifndef IE_CORE_BACKEND_CPU_CPU_PATH_H
#define IE_CORE_BACKEND_CPU_CPU_PATH_H

#include <stdbool.h>

#include "core/backend/cpu/canon_kernels.h"

typedef enum ie_cpu_path { IE_CPU_PATH_GENERIC = 0, IE_CPU_PATH_AVX2 = 1, IE_CPU_PATH_AVX512 = 2 } ie_cpu_path;
#define IE_CPU_PATH_COUNT 3

/* Whether this CPU (and its operating system) can run path p. */
bool ie_cpu_path_supported(ie_cpu_path p);
/* The fastest path this CPU runs. */
ie_cpu_path ie_cpu_path_best(void);
/* "avx512", "avx2", "generic". */
const char *ie_cpu_path_name(ie_cpu_path p);
/* Parses a name ("auto" gives the best path); a clear error otherwise, also
 * for a path this CPU cannot run. */
ie_status ie_cpu_path_parse(const char *name, const char *where, ie_cpu_path *out);
/* Applies IE_CPU_PATH when set (the command calls this first and exits on an
 * error); without a call, the first kernel applies it and falls back to the
 * best path with a warning on a bad value (results do not change). */
ie_status ie_cpu_path_from_env(void);
void ie_cpu_path_set(ie_cpu_path p); /* p must be supported */
ie_cpu_path ie_cpu_path_get(void);
/* The canonical kernels of the current path. */
const ie_canon_kernels *ie_cpu_canon(void);

#endif
