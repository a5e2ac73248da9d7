/* core/backend/cpu - the canonical kernels for the avx512 path (canon_body.h;
 * CMakeLists.txt sets this file's instruction set). */
#define IE_SIMD_AVX512
#define CANON_TABLE ie_canon_avx512
#define CANON_NAME "avx512"
#include "core/backend/cpu/canon_body.h"
