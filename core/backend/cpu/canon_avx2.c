/* core/backend/cpu - the canonical kernels for the avx2 path (canon_body.h;
 * CMakeLists.txt sets this file's instruction set). */
#define IE_SIMD_AVX2
#define CANON_TABLE ie_canon_avx2
#define CANON_NAME "avx2"
#include "core/backend/cpu/canon_body.h"
