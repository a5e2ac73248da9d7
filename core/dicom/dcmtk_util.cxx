// core/dicom - shared helpers of the DCMTK wrappers (see dcmtk_util.h).
#include "core/dicom/dcmtk_util.h"

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <mutex>

#include <dcmtk/dcmdata/dcuid.h>
#include <dcmtk/oflog/oflog.h>

namespace ie_dcmtk {

void init() {
    static std::once_flag once;
    std::call_once(once, [] { OFLog::configure(OFLogger::FATAL_LOG_LEVEL); });
}

ie_status load(const char *op, const char *path, DcmFileFormat &file) {
    OFCondition c = file.loadFile(path, EXS_Unknown, EGL_noChange, DCM_MaxReadLength, ERM_autoDetect);
    if (c.bad())
        return ie_error_set(IE_ERR_IO, "%s: %s is not a readable DICOM file (%s); give a DICOM file exported by "
                            "the planning system or scanner", op, path, c.text());
    return IE_OK;
}

std::string get(DcmItem *item, const DcmTagKey &tag) {
    OFString v;
    if (item && item->findAndGetOFStringArray(tag, v).good()) return std::string(v.c_str());
    return std::string();
}

std::string tag_name(const DcmTagKey &tag) {
    DcmTag t(tag);
    char buf[160];
    std::snprintf(buf, sizeof buf, "%s (%04x,%04x)", t.getTagName(), tag.getGroup(), tag.getElement());
    return buf;
}

ie_status save_atomic(const char *op, const char *path, DcmFileFormat &file) {
    static std::atomic<unsigned> counter{0};
    std::string tmp = std::string(path) + ".tmp." + std::to_string((long)getpid()) + "." +
                      std::to_string(counter.fetch_add(1));
    OFCondition c = file.saveFile(tmp.c_str(), EXS_LittleEndianExplicit);
    int err = 0;
    if (c.good()) {
        int fd = open(tmp.c_str(), O_RDONLY);
        if (fd < 0 || fsync(fd) != 0) err = errno ? errno : EIO;
        if (fd >= 0) close(fd);
        if (!err && rename(tmp.c_str(), path) != 0) err = errno;
    }
    if (c.bad() || err) {
        unlink(tmp.c_str());
        return ie_error_set(IE_ERR_IO, "%s: writing %s failed (%s); nothing was left under that name: check the "
                            "folder is writable and the disk is not full", op, path,
                            c.bad() ? c.text() : std::strerror(err));
    }
    return IE_OK;
}

std::string ds(double v) {
    if (v == 0) return "0"; // also turns -0 into 0
    char buf[64];
    for (int digits = 12; digits > 1; digits--) {
        std::snprintf(buf, sizeof buf, "%.*g", digits, v);
        if (std::strlen(buf) <= 16) return buf;
    }
    return "0";
}

std::string new_uid(const char *root) {
    char uid[100];
    dcmGenerateUniqueIdentifier(uid, root);
    return uid;
}

void copy_patient_study(DcmItem *from, DcmItem *to) {
    // Type 2 attributes of the Patient and General Study modules: present,
    // possibly empty, so the referencing object files under the same study.
    const DcmTagKey tags[] = {DCM_PatientName,     DCM_PatientID,    DCM_PatientBirthDate,
                              DCM_PatientSex,      DCM_StudyInstanceUID, DCM_StudyDate,
                              DCM_StudyTime,       DCM_ReferringPhysicianName, DCM_StudyID,
                              DCM_AccessionNumber, DCM_StudyDescription};
    for (const DcmTagKey &t : tags) to->putAndInsertString(t, get(from, t).c_str());
    std::string charset = get(from, DCM_SpecificCharacterSet);
    if (!charset.empty()) to->putAndInsertString(DCM_SpecificCharacterSet, charset.c_str());
}

} // namespace ie_dcmtk

extern "C" const char *ie_dicom_version(void) { return "DCMTK " OFFIS_DCMTK_VERSION_STRING; }
