/* core/export - bundles: one file with everything `innereye infer` needs.
 *
 * A bundle carries an ensemble folder (core/run/ensemble.h: the
 * manifest, and per member its resolved config, weights and training
 * statistics); a single run is carried as an ensemble of one.  `infer
 * --bundle` unpacks it into a temporary folder and infers from that folder
 * as from --run, so results are the same bytes.
 *
 * Layout (integers little-endian):
 *   "IEBUNDLE" u32 version (1) u32 file count
 *   per file: u32 path length, path (relative, no "..", no leading "/"),
 *             u64 size, 32-byte SHA-256 of the contents
 *   the contents of every file, in the same order
 *   32-byte SHA-256 of everything before it
 * so damage anywhere is found and named (the file whose contents changed,
 * a truncation, a bad header) before anything is unpacked. */
#ifndef IE_CORE_EXPORT_BUNDLE_H
#define IE_CORE_EXPORT_BUNDLE_H

#include "innereye/status.h"

/* Packs every regular file under dir (recursively) into `path`, written
 * atomically. */
ie_status ie_bundle_pack(const char *dir, const char *path);
/* Checks `path` completely, then writes its files under dir (which must
 * exist and be empty).  Errors name the bundle and what is wrong. */
ie_status ie_bundle_unpack(const char *path, const char *dir);

/* A fresh empty folder for unpacking or packing (under $TMPDIR or /tmp);
 * ie_remove_tree (core/util/file_util.h) removes it with everything in it. */
ie_status ie_bundle_temp_dir(char *out, size_t size);

#endif
