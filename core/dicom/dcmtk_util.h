// core/dicom - what the DCMTK wrappers (dcmtk_*.cxx) share: exception and
// condition handling that turns everything into an ie_status, attribute
// access that names the file and the attribute, and the atomic save.
// C++ only; never included from C.
#ifndef IE_CORE_DICOM_DCMTK_UTIL_H
#define IE_CORE_DICOM_DCMTK_UTIL_H

#include <new>
#include <string>

#include <dcmtk/config/osconfig.h>
#include <dcmtk/dcmdata/dctk.h>

#include "core/dicom/dicom.h"

namespace ie_dcmtk {

// DCMTK logs warnings on stderr by default; failures reach callers as
// statuses, so its logger is quietened once.
void init();

// Loads a DICOM file (with or without the Part 10 preamble); the message
// names the file and says it is not DICOM.
ie_status load(const char *op, const char *path, DcmFileFormat &file);

// A string attribute, "" when absent.
std::string get(DcmItem *item, const DcmTagKey &tag);

// The attribute's name as the standard spells it ("FrameOfReferenceUID (0020,0052)").
std::string tag_name(const DcmTagKey &tag);

// Saves `file` to `path` atomically: DCMTK writes a temporary file in the
// same folder, which is fsync'd and renamed over `path`.
ie_status save_atomic(const char *op, const char *path, DcmFileFormat &file);

// A decimal string of at most 16 characters (DICOM's DS limit).
std::string ds(double v);

// A new UID under DCMTK's root.
std::string new_uid(const char *root);

// Copies the patient and study attributes (and the Frame of Reference) the
// referencing objects repeat from `from` into `to`.
void copy_patient_study(DcmItem *from, DcmItem *to);

// Runs body, turning any exception into a status.
template <typename Body>
ie_status guarded(const char *op, const char *path, Body &&body) noexcept {
    try {
        init();
        return body();
    } catch (const std::bad_alloc &) {
        return ie_error_set(IE_ERR_NOMEM, "%s: %s: out of memory", op, path);
    } catch (const std::exception &e) {
        return ie_error_set(IE_ERR_IO, "%s: %s: %s", op, path, e.what());
    } catch (...) {
        return ie_error_set(IE_ERR_INTERNAL, "%s: %s: unknown exception from DCMTK", op, path);
    }
}

} // namespace ie_dcmtk

#endif
