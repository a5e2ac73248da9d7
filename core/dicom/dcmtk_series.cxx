// core/dicom - the series of a folder, and which file is which slice of the
// voxel grid (DCMTK's dcmdata).  Only headers are read: pixel data larger
// than a few kB is left on disk.
#include <dirent.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <map>
#include <string>
#include <vector>

#include "core/dicom/dcmtk_util.h"
#include "core/io/dicom_select.h"

using ie_dcmtk::get;
using ie_dcmtk::tag_name;

namespace {

// Values longer than this stay on disk until asked for: listing a folder
// must not read every slice's pixels.
const Uint32 kMaxReadLength = 4096;

std::vector<std::string> folder_files(const char *dir, ie_status &st) {
    std::vector<std::string> files;
    DIR *d = opendir(dir);
    if (!d) {
        st = ie_error_set(IE_ERR_IO, "%s: cannot open the folder: %s", dir, std::strerror(errno));
        return files;
    }
    while (struct dirent *e = readdir(d)) {
        if (e->d_name[0] == '.') continue; // hidden files, partial writes
        std::string path = std::string(dir) + "/" + e->d_name;
        struct stat sb;
        if (stat(path.c_str(), &sb) == 0 && S_ISREG(sb.st_mode)) files.push_back(path);
    }
    closedir(d);
    std::sort(files.begin(), files.end()); // readdir's order differs between file systems
    st = IE_OK;
    return files;
}

bool load_header(const std::string &path, DcmFileFormat &file) {
    return file.loadFile(path.c_str(), EXS_Unknown, EGL_noChange, kMaxReadLength, ERM_autoDetect).good();
}

bool get_doubles(DcmItem *item, const DcmTagKey &tag, double *v, int n) {
    for (int i = 0; i < n; i++) {
        Float64 x;
        if (item->findAndGetFloat64(tag, x, (unsigned long)i).bad() || !std::isfinite(x)) return false;
        v[i] = x;
    }
    return true;
}

} // namespace

extern "C" ie_status ie_dicom_list_series(const char *dir, ie_dicom_series_entry **out, int *n) {
    *out = nullptr;
    *n = 0;
    return ie_dcmtk::guarded("listing DICOM series", dir, [&]() -> ie_status {
        ie_status st;
        std::vector<std::string> files = folder_files(dir, st);
        IE_TRY(st);
        std::map<std::string, ie_dicom_series_entry> series;
        for (const std::string &f : files) {
            DcmFileFormat file;
            if (!load_header(f, file)) continue;
            DcmDataset *ds = file.getDataset();
            std::string uid = get(ds, DCM_SeriesInstanceUID);
            if (uid.empty()) continue;
            auto it = series.find(uid);
            if (it == series.end()) {
                ie_dicom_series_entry e{};
                std::snprintf(e.uid, sizeof e.uid, "%s", uid.c_str());
                std::snprintf(e.modality, sizeof e.modality, "%s", get(ds, DCM_Modality).c_str());
                std::snprintf(e.description, sizeof e.description, "%s", get(ds, DCM_SeriesDescription).c_str());
                std::snprintf(e.number, sizeof e.number, "%s", get(ds, DCM_SeriesNumber).c_str());
                it = series.emplace(uid, e).first;
            }
            it->second.n_files++;
        }
        std::vector<ie_dicom_series_entry> list;
        for (auto &kv : series) list.push_back(kv.second);
        std::sort(list.begin(), list.end(), [](const ie_dicom_series_entry &a, const ie_dicom_series_entry &b) {
            long na = std::atol(a.number), nb = std::atol(b.number);
            return na != nb ? na < nb : std::strcmp(a.uid, b.uid) < 0;
        });
        if (list.empty()) return IE_OK;
        *out = (ie_dicom_series_entry *)std::malloc(list.size() * sizeof **out);
        if (!*out) return ie_error_set(IE_ERR_NOMEM, "listing DICOM series: %s: out of memory", dir);
        std::memcpy(*out, list.data(), list.size() * sizeof **out);
        *n = (int)list.size();
        return IE_OK;
    });
}

extern "C" void ie_dicom_series_free(ie_dicom_series *s) {
    if (!s) return;
    for (int k = 0; s->files && k < s->n_slices; k++) std::free(s->files[k]);
    std::free(s->files);
    std::free(s->sop_class_uids);
    std::free(s->sop_instance_uids);
    std::memset(s, 0, sizeof *s);
}

extern "C" ie_status ie_dicom_series_load(const char *dir, const ie_image_geometry *g, ie_dicom_series *out) {
    std::memset(out, 0, sizeof *out);
    const char *op = "reading the DICOM series";
    ie_status st = ie_dcmtk::guarded(op, dir, [&]() -> ie_status {
        char uid[IE_DICOM_UID_MAX];
        IE_TRY(ie_dicom_series_pick(dir, uid));
        ie_status fst;
        std::vector<std::string> files = folder_files(dir, fst);
        IE_TRY(fst);
        const int n = (int)g->size[2];
        std::snprintf(out->dir, sizeof out->dir, "%s", dir);
        out->geometry = *g;
        out->n_slices = n;
        out->files = (char **)std::calloc((size_t)n, sizeof *out->files);
        out->sop_class_uids = (char(*)[IE_DICOM_UID_MAX])std::calloc((size_t)n, IE_DICOM_UID_MAX);
        out->sop_instance_uids = (char(*)[IE_DICOM_UID_MAX])std::calloc((size_t)n, IE_DICOM_UID_MAX);
        if (!out->files || !out->sop_class_uids || !out->sop_instance_uids)
            return ie_error_set(IE_ERR_NOMEM, "%s: %s: out of memory", op, dir);
        // Slice k lies at origin + k * spacing_z along the grid's third axis.
        const double normal[3] = {g->direction[2], g->direction[5], g->direction[8]};
        for (const std::string &f : files) {
            DcmFileFormat file;
            if (!load_header(f, file)) continue;
            DcmDataset *ds = file.getDataset();
            if (get(ds, DCM_SeriesInstanceUID) != uid) continue;
            const char *name = f.c_str();
            std::string sop = get(ds, DCM_SOPInstanceUID), cls = get(ds, DCM_SOPClassUID);
            if (sop.empty() || cls.empty())
                return ie_error_set(IE_ERR_IO, "%s: %s has no %s; the structure set could not reference its slice",
                                    op, name, tag_name(sop.empty() ? DCM_SOPInstanceUID : DCM_SOPClassUID).c_str());
            std::string frame = get(ds, DCM_FrameOfReferenceUID);
            if (frame.empty())
                return ie_error_set(IE_ERR_IO, "%s: %s has no %s; without it no planning system can place "
                                    "contours on the images: export the series again with its frame of reference",
                                    op, name, tag_name(DCM_FrameOfReferenceUID).c_str());
            if (!out->frame_of_reference_uid[0]) {
                std::snprintf(out->frame_of_reference_uid, IE_DICOM_UID_MAX, "%s", frame.c_str());
                std::snprintf(out->study_uid, IE_DICOM_UID_MAX, "%s", get(ds, DCM_StudyInstanceUID).c_str());
                std::snprintf(out->series_uid, IE_DICOM_UID_MAX, "%s", uid);
                std::snprintf(out->modality, sizeof out->modality, "%s", get(ds, DCM_Modality).c_str());
            } else if (frame != out->frame_of_reference_uid) {
                return ie_error_set(IE_ERR_IO, "%s: %s has %s %s, other slices %s; one series must have one frame "
                                    "of reference", op, name, tag_name(DCM_FrameOfReferenceUID).c_str(),
                                    frame.c_str(), out->frame_of_reference_uid);
            }
            double ipp[3];
            if (!get_doubles(ds, DCM_ImagePositionPatient, ipp, 3))
                return ie_error_set(IE_ERR_IO, "%s: %s has no usable %s", op, name,
                                    tag_name(DCM_ImagePositionPatient).c_str());
            double along = 0;
            for (int a = 0; a < 3; a++) along += (ipp[a] - g->origin[a]) * normal[a];
            const double kf = along / g->spacing[2];
            const long k = std::lround(kf);
            // Slices were read onto this grid, so each lies on one of its
            // planes; a file that does not was not part of that read.
            if (k < 0 || k >= n || std::fabs(kf - (double)k) > 0.05)
                return ie_error_set(IE_ERR_IO, "%s: %s lies %.3f mm along the slice normal, not on a slice of the "
                                    "image grid (%d slices, %g mm apart); was a file added to the folder after "
                                    "the image was read?", op, name, along, n, g->spacing[2]);
            if (out->files[k])
                return ie_error_set(IE_ERR_IO, "%s: %s and %s are both slice %ld of series %s; remove the "
                                    "duplicate", op, out->files[k], name, k, uid);
            out->files[k] = strdup(name);
            if (!out->files[k]) return ie_error_set(IE_ERR_NOMEM, "%s: out of memory", op);
            std::snprintf(out->sop_instance_uids[k], IE_DICOM_UID_MAX, "%s", sop.c_str());
            std::snprintf(out->sop_class_uids[k], IE_DICOM_UID_MAX, "%s", cls.c_str());
        }
        for (int k = 0; k < n; k++)
            if (!out->files[k])
                return ie_error_set(IE_ERR_IO, "%s: %s: no file of series %s lies on slice %d of %d", op, dir, uid,
                                    k, n);
        return IE_OK;
    });
    if (st != IE_OK) ie_dicom_series_free(out);
    return st;
}
