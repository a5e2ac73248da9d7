/* innereye/api.h - the mark of libinnereye's public functions.
 *
 * libinnereye is compiled with -fvisibility=hidden: a function is part of the
 * SDK, and exported by libinnereye.so, only when its declaration in
 * sdk/include/innereye carries IE_API.  Everything else in the library is
 * internal and cannot be linked by a plugin.  The test sdk_exports compares the
 * library's exported symbols with the IE_API declarations, both ways.  What the
 * SONAME (libinnereye.so.0) promises is stated in docs/sdk.md. */
#ifndef INNEREYE_API_H
#define INNEREYE_API_H

#if defined(__GNUC__) || defined(__clang__)
#define IE_API __attribute__((visibility("default")))
#else
#define IE_API
#endif

#endif
