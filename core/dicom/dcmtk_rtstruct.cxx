// core/dicom - RT Structure Sets through DCMTK's dcmdata: writing one that
// references a series slice by slice, and reading the ROIs of one.  The
// attributes are set one by one (rather than through dcmrt's generated
// classes) so that each module of the IOD is visibly complete here; what
// dciodvfy checks is listed in docs/io.md.
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <stdexcept>
#include <string>

#include <dcmtk/dcmdata/dcuid.h>

#include "core/dicom/dcmtk_util.h"

using ie_dcmtk::ds;
using ie_dcmtk::get;
using ie_dcmtk::tag_name;

namespace {

// The Detached Study Management SOP Class: what RT Referenced Study
// Sequence items name by convention (every planning system writes it).
const char *const kStudyComponentClass = "1.2.840.10008.3.1.2.3.1";

void now(std::string &date, std::string &time) {
    std::time_t t = std::time(nullptr);
    struct tm tm;
    gmtime_r(&t, &tm);
    char d[16], h[16];
    std::strftime(d, sizeof d, "%Y%m%d", &tm);
    std::strftime(h, sizeof h, "%H%M%S", &tm);
    date = d;
    time = h;
}

DcmItem *new_item(DcmItem *parent, const DcmTagKey &seq) {
    DcmItem *item = nullptr;
    parent->findOrCreateSequenceItem(seq, item, -2 /* append */);
    if (!item) throw std::bad_alloc();
    return item;
}

void put(DcmItem *item, const DcmTagKey &tag, const std::string &value) {
    OFCondition c = item->putAndInsertString(tag, value.c_str());
    if (c.bad()) throw std::runtime_error(tag_name(tag) + ": " + c.text());
}

void reference_image(DcmItem *parent, const ie_dicom_series *series, int k) {
    DcmItem *img = new_item(parent, DCM_ContourImageSequence);
    put(img, DCM_ReferencedSOPClassUID, series->sop_class_uids[k]);
    put(img, DCM_ReferencedSOPInstanceUID, series->sop_instance_uids[k]);
}

} // namespace

extern "C" ie_status ie_dicom_rtstruct_write(const char *path, const ie_dicom_series *series,
                                             const ie_dicom_structure_set *set, const char *software) {
    const char *op = "writing the RT structure set";
    return ie_dcmtk::guarded(op, path, [&]() -> ie_status {
        DcmFileFormat source;
        IE_TRY(ie_dcmtk::load(op, series->files[0], source));
        DcmFileFormat file;
        DcmDataset *out = file.getDataset();
        DcmDataset *src = source.getDataset();
        std::string date, time;
        now(date, time);
        const std::string uid = ie_dcmtk::new_uid(SITE_INSTANCE_UID_ROOT);

        // SOP Common, Patient, General Study.
        put(out, DCM_SOPClassUID, UID_RTStructureSetStorage);
        put(out, DCM_SOPInstanceUID, uid);
        put(out, DCM_InstanceCreationDate, date);
        put(out, DCM_InstanceCreationTime, time);
        ie_dcmtk::copy_patient_study(src, out);
        // Frame of Reference module (part of the IOD since 2021's edition).
        put(out, DCM_FrameOfReferenceUID, series->frame_of_reference_uid);
        put(out, DCM_PositionReferenceIndicator, get(src, DCM_PositionReferenceIndicator));
        // RT Series and General Equipment.
        put(out, DCM_Modality, "RTSTRUCT");
        put(out, DCM_SeriesInstanceUID, ie_dcmtk::new_uid(SITE_SERIES_UID_ROOT));
        put(out, DCM_SeriesNumber, "901");
        put(out, DCM_SeriesDescription, std::string("Contours by ") + software);
        put(out, DCM_SeriesDate, date);
        put(out, DCM_SeriesTime, time);
        put(out, DCM_OperatorsName, "");
        put(out, DCM_Manufacturer, "InnerEye-C");
        put(out, DCM_ManufacturerModelName, software);
        put(out, DCM_SoftwareVersions, software);
        // Structure Set: what the contours are drawn on.
        put(out, DCM_StructureSetLabel, "InnerEye");
        put(out, DCM_StructureSetName, "InnerEye auto-contours");
        put(out, DCM_StructureSetDate, date);
        put(out, DCM_StructureSetTime, time);
        put(out, DCM_InstanceNumber, "1");
        DcmItem *frame = new_item(out, DCM_ReferencedFrameOfReferenceSequence);
        put(frame, DCM_FrameOfReferenceUID, series->frame_of_reference_uid);
        DcmItem *study = new_item(frame, DCM_RTReferencedStudySequence);
        put(study, DCM_ReferencedSOPClassUID, kStudyComponentClass);
        put(study, DCM_ReferencedSOPInstanceUID, series->study_uid);
        DcmItem *ser = new_item(study, DCM_RTReferencedSeriesSequence);
        put(ser, DCM_SeriesInstanceUID, series->series_uid);
        for (int k = 0; k < series->n_slices; k++) reference_image(ser, series, k);

        for (int r = 0; r < set->n_rois; r++) {
            const ie_dicom_roi *roi = &set->rois[r];
            const std::string number = std::to_string(roi->number);
            DcmItem *s = new_item(out, DCM_StructureSetROISequence);
            put(s, DCM_ROINumber, number);
            put(s, DCM_ReferencedFrameOfReferenceUID, series->frame_of_reference_uid);
            put(s, DCM_ROIName, roi->name);
            put(s, DCM_ROIGenerationAlgorithm, "AUTOMATIC");
            put(s, DCM_ROIGenerationDescription, software);

            DcmItem *rc = new_item(out, DCM_ROIContourSequence);
            char colour[32];
            std::snprintf(colour, sizeof colour, "%u\\%u\\%u", roi->colour[0], roi->colour[1], roi->colour[2]);
            put(rc, DCM_ROIDisplayColor, colour);
            put(rc, DCM_ReferencedROINumber, number);
            for (int c = 0; c < roi->n_contours; c++) {
                const ie_dicom_contour *con = &roi->contours[c];
                DcmItem *ci = new_item(rc, DCM_ContourSequence);
                reference_image(ci, series, con->slice);
                put(ci, DCM_ContourNumber, std::to_string(c + 1));
                put(ci, DCM_ContourGeometricType, "CLOSED_PLANAR");
                put(ci, DCM_NumberOfContourPoints, std::to_string(con->n_points));
                std::string data;
                data.reserve((size_t)con->n_points * 3 * 12);
                for (int v = 0; v < 3 * con->n_points; v++) {
                    if (v) data += '\\';
                    data += ds(con->points[v]);
                }
                put(ci, DCM_ContourData, data);
            }
            DcmItem *obs = new_item(out, DCM_RTROIObservationsSequence);
            put(obs, DCM_ObservationNumber, number);
            put(obs, DCM_ReferencedROINumber, number);
            put(obs, DCM_RTROIInterpretedType, "ORGAN");
            put(obs, DCM_ROIInterpreter, "");
        }
        // An approval the planning system's user gives, never the model.
        put(out, DCM_ApprovalStatus, "UNAPPROVED");
        return ie_dcmtk::save_atomic(op, path, file);
    });
}

namespace {

ie_status read_contours(const char *op, const char *path, DcmItem *rc, ie_dicom_roi *roi) {
    DcmSequenceOfItems *seq = nullptr;
    if (rc->findAndGetSequence(DCM_ContourSequence, seq).bad() || !seq) return IE_OK; // an empty ROI
    const unsigned long n = seq->card();
    roi->contours = (ie_dicom_contour *)std::calloc(n ? n : 1, sizeof *roi->contours);
    if (!roi->contours) return ie_error_set(IE_ERR_NOMEM, "%s: %s: out of memory", op, path);
    for (unsigned long c = 0; c < n; c++) {
        DcmItem *item = seq->getItem(c);
        ie_dicom_contour *con = &roi->contours[roi->n_contours];
        con->slice = -1;
        const std::string type = get(item, DCM_ContourGeometricType);
        if (type == "POINT" || type == "OPEN_PLANAR" || type == "OPEN_NONPLANAR") continue; // no area
        DcmElement *data = nullptr;
        if (item->findAndGetElement(DCM_ContourData, data).bad() || !data)
            return ie_error_set(IE_ERR_IO, "%s: %s: ROI \"%s\", contour %lu has no %s", op, path, roi->name, c + 1,
                                tag_name(DCM_ContourData).c_str());
        const unsigned long values = data->getVM();
        if (values % 3 != 0 || values < 9)
            return ie_error_set(IE_ERR_IO, "%s: %s: ROI \"%s\", contour %lu: %s holds %lu values, not x\\y\\z "
                                "triples of a closed polygon", op, path, roi->name, c + 1,
                                tag_name(DCM_ContourData).c_str(), values);
        con->points = (double *)std::malloc(values * sizeof *con->points);
        if (!con->points) return ie_error_set(IE_ERR_NOMEM, "%s: %s: out of memory", op, path);
        roi->n_contours++;
        con->n_points = (int)(values / 3);
        for (unsigned long v = 0; v < values; v++) {
            Float64 x;
            if (data->getFloat64(x, v).bad() || !std::isfinite(x))
                return ie_error_set(IE_ERR_IO, "%s: %s: ROI \"%s\", contour %lu: value %lu of %s is not a number", op,
                                    path, roi->name, c + 1, v + 1, tag_name(DCM_ContourData).c_str());
            con->points[v] = x;
        }
        DcmItem *img = nullptr;
        if (item->findAndGetSequenceItem(DCM_ContourImageSequence, img, 0).good() && img)
            std::snprintf(con->referenced_sop_uid, IE_DICOM_UID_MAX, "%s",
                          get(img, DCM_ReferencedSOPInstanceUID).c_str());
    }
    return IE_OK;
}

} // namespace

extern "C" ie_status ie_dicom_rtstruct_read(const char *path, ie_dicom_structure_set *out) {
    std::memset(out, 0, sizeof *out);
    const char *op = "reading the RT structure set";
    ie_status st = ie_dcmtk::guarded(op, path, [&]() -> ie_status {
        DcmFileFormat file;
        IE_TRY(ie_dcmtk::load(op, path, file));
        DcmDataset *ds = file.getDataset();
        const std::string cls = get(ds, DCM_SOPClassUID);
        if (cls != UID_RTStructureSetStorage)
            return ie_error_set(IE_ERR_IO, "%s: %s is not an RT Structure Set: its %s is \"%s\" (%s), not %s", op,
                                path, tag_name(DCM_SOPClassUID).c_str(), cls.c_str(),
                                dcmFindNameOfUID(cls.c_str(), "unknown"), UID_RTStructureSetStorage);
        DcmItem *frame = nullptr;
        if (ds->findAndGetSequenceItem(DCM_ReferencedFrameOfReferenceSequence, frame, 0).good() && frame) {
            std::snprintf(out->frame_of_reference_uid, IE_DICOM_UID_MAX, "%s",
                          get(frame, DCM_FrameOfReferenceUID).c_str());
            DcmItem *study = nullptr, *series = nullptr;
            if (frame->findAndGetSequenceItem(DCM_RTReferencedStudySequence, study, 0).good() && study &&
                study->findAndGetSequenceItem(DCM_RTReferencedSeriesSequence, series, 0).good() && series)
                std::snprintf(out->referenced_series_uid, IE_DICOM_UID_MAX, "%s",
                              get(series, DCM_SeriesInstanceUID).c_str());
        }
        DcmSequenceOfItems *rois = nullptr, *contours = nullptr;
        if (ds->findAndGetSequence(DCM_StructureSetROISequence, rois).bad() || !rois || rois->card() == 0)
            return ie_error_set(IE_ERR_IO, "%s: %s has no %s: it names no structure", op, path,
                                tag_name(DCM_StructureSetROISequence).c_str());
        ds->findAndGetSequence(DCM_ROIContourSequence, contours);
        const unsigned long n = rois->card();
        out->rois = (ie_dicom_roi *)std::calloc(n, sizeof *out->rois);
        if (!out->rois) return ie_error_set(IE_ERR_NOMEM, "%s: %s: out of memory", op, path);
        for (unsigned long r = 0; r < n; r++) {
            DcmItem *item = rois->getItem(r);
            ie_dicom_roi *roi = &out->rois[out->n_rois++];
            std::snprintf(roi->name, sizeof roi->name, "%s", get(item, DCM_ROIName).c_str());
            roi->number = std::atoi(get(item, DCM_ROINumber).c_str());
            const std::string roi_frame = get(item, DCM_ReferencedFrameOfReferenceUID);
            if (roi_frame.empty() && !out->frame_of_reference_uid[0])
                return ie_error_set(IE_ERR_IO, "%s: %s: ROI \"%s\" has no %s and the file no %s: the contours "
                                    "cannot be placed on any image", op, path, roi->name,
                                    tag_name(DCM_ReferencedFrameOfReferenceUID).c_str(),
                                    tag_name(DCM_ReferencedFrameOfReferenceSequence).c_str());
            if (!out->frame_of_reference_uid[0])
                std::snprintf(out->frame_of_reference_uid, IE_DICOM_UID_MAX, "%s", roi_frame.c_str());
            else if (!roi_frame.empty() && roi_frame != out->frame_of_reference_uid)
                return ie_error_set(IE_ERR_IO, "%s: %s: ROI \"%s\" has %s %s, other than the structure set's %s; "
                                    "InnerEye reads structure sets on one frame of reference", op, path, roi->name,
                                    tag_name(DCM_ReferencedFrameOfReferenceUID).c_str(), roi_frame.c_str(),
                                    out->frame_of_reference_uid);
            for (unsigned long c = 0; contours && c < contours->card(); c++) {
                DcmItem *rc = contours->getItem(c);
                if (std::atoi(get(rc, DCM_ReferencedROINumber).c_str()) != roi->number) continue;
                Uint16 rgb = 0;
                for (unsigned long i = 0; i < 3; i++)
                    if (rc->findAndGetUint16(DCM_ROIDisplayColor, rgb, i).good()) roi->colour[i] = (uint8_t)rgb;
                    else {
                        OFString v;
                        if (rc->findAndGetOFString(DCM_ROIDisplayColor, v, i).good())
                            roi->colour[i] = (uint8_t)std::atoi(v.c_str());
                    }
                IE_TRY(read_contours(op, path, rc, roi));
                break;
            }
        }
        if (!out->frame_of_reference_uid[0])
            return ie_error_set(IE_ERR_IO, "%s: %s has no %s: the contours cannot be placed on any image", op, path,
                                tag_name(DCM_FrameOfReferenceUID).c_str());
        return IE_OK;
    });
    if (st != IE_OK) ie_dicom_structure_set_free(out);
    return st;
}
