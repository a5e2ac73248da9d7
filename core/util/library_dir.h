/* core/util - where libinnereye's files are: the folder of libinnereye.so,
 * beside which the built-in models (innereye/models/) and the CUDA module
 * (libinnereye_cuda.so) live. */
#ifndef IE_CORE_UTIL_LIBRARY_DIR_H
#define IE_CORE_UTIL_LIBRARY_DIR_H

#include <stddef.h>

#include "innereye/status.h"

/* Writes the folder into buf.  Inside libinnereye.so that is the library's
 * own folder; inside a host executable that carries the library's objects
 * (the `innereye` command, the tests: CMakeLists.txt's innereye_host) it is
 * the library folder of the same install or build tree. */
ie_status ie_library_dir(char *buf, size_t size);

#endif
