/* core/backend/cpu - the canonical kernels for the generic path (canon_body.h;
 * CMakeLists.txt sets this file's instruction set). */
#define CANON_TABLE ie_canon_generic
#define CANON_NAME "generic"
#include "core/backend/cpu/canon_body.h"
