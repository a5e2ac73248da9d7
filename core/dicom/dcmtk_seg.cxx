// core/dicom - binary DICOM Segmentations through DCMTK's dcmseg: one frame
// per segment and source slice that holds it, each frame placed by its
// Plane Position and derived from its source slice, so a viewer overlays the
// segments on the series without resampling.
#include <cmath>
#include <cstdio>
#include <cstring>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include <dcmtk/dcmdata/dcuid.h>
#include <dcmtk/dcmfg/fgderimg.h>
#include <dcmtk/dcmfg/fgfracon.h>
#include <dcmtk/dcmfg/fgpixmsr.h>
#include <dcmtk/dcmfg/fgplanor.h>
#include <dcmtk/dcmfg/fgplanpo.h>
#include <dcmtk/dcmseg/segdoc.h>
#include <dcmtk/dcmseg/segment.h>

#include "core/dicom/dcmtk_util.h"

using ie_dcmtk::ds;
using ie_dcmtk::tag_name;

namespace {

void check(OFCondition c, const char *what) {
    if (c.bad()) throw std::runtime_error(std::string(what) + ": " + c.text());
}

// sRGB -> CIELab (D65 white), scaled as DICOM's Recommended Display CIELab
// Value wants it (L 0..100 -> 0..65535, a and b -128..127 -> 0..65535).
void rgb_to_dicom_lab(const uint8_t rgb[3], Uint16 lab[3]) {
    double lin[3];
    for (int i = 0; i < 3; i++) {
        double c = rgb[i] / 255.0;
        lin[i] = c <= 0.04045 ? c / 12.92 : std::pow((c + 0.055) / 1.055, 2.4);
    }
    const double xyz[3] = {(0.4124 * lin[0] + 0.3576 * lin[1] + 0.1805 * lin[2]) / 0.95047,
                           0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2],
                           (0.0193 * lin[0] + 0.1192 * lin[1] + 0.9505 * lin[2]) / 1.08883};
    double f[3];
    for (int i = 0; i < 3; i++)
        f[i] = xyz[i] > 0.008856 ? std::cbrt(xyz[i]) : 7.787 * xyz[i] + 16.0 / 116.0;
    const double L = 116 * f[1] - 16, a = 500 * (f[0] - f[1]), b = 200 * (f[1] - f[2]);
    auto clamp = [](double v) { return (Uint16)std::lround(std::fmin(65535.0, std::fmax(0.0, v))); };
    lab[0] = clamp(L * 65535.0 / 100.0);
    lab[1] = clamp((a + 128) * 65535.0 / 255.0);
    lab[2] = clamp((b + 128) * 65535.0 / 255.0);
}

void slice_position(const ie_image_geometry *g, int k, double p[3]) {
    for (int r = 0; r < 3; r++) p[r] = g->origin[r] + g->direction[r * 3 + 2] * g->spacing[2] * k;
}

} // namespace

extern "C" ie_status ie_dicom_seg_write(const char *path, const ie_dicom_series *series, const uint8_t *labels,
                                        const ie_dicom_segment *segments, int n_segments, const char *software) {
    const char *op = "writing the DICOM segmentation";
    return ie_dcmtk::guarded(op, path, [&]() -> ie_status {
        const ie_image_geometry *g = &series->geometry;
        const Uint16 rows = (Uint16)g->size[1], cols = (Uint16)g->size[0];
        if (g->size[0] > 65535 || g->size[1] > 65535)
            return ie_error_set(IE_ERR_UNSUPPORTED, "%s: %s: slices of %lldx%lld voxels do not fit DICOM's 16-bit "
                                "Rows and Columns", op, path, (long long)g->size[0], (long long)g->size[1]);
        const size_t plane = (size_t)rows * cols;
        IODGeneralEquipmentModule::EquipmentInfo equipment("InnerEye-C", software, "0", software);
        ContentIdentificationMacro content("1", "INNEREYE", "InnerEye auto-segmentation", "InnerEye^C");
        DcmSegmentation *raw = nullptr;
        check(DcmSegmentation::createBinarySegmentation(raw, rows, cols, equipment, content), "creating the object");
        std::unique_ptr<DcmSegmentation> seg(raw);
        // Patient, study and Frame of Reference of the source series.
        check(seg->importFromSourceImage(series->files[0]), series->files[0]);
        check(seg->getSeries().setSeriesNumber("902"), "Series Number");
        check(seg->getSeries().setSeriesDescription((std::string("Segments by ") + software).c_str()),
              "Series Description");

        FGPixelMeasures measures;
        check(measures.setPixelSpacing((ds(g->spacing[1]) + "\\" + ds(g->spacing[0])).c_str()), "Pixel Spacing");
        check(measures.setSliceThickness(ds(g->spacing[2]).c_str()), "Slice Thickness");
        check(measures.setSpacingBetweenSlices(ds(g->spacing[2]).c_str()), "Spacing Between Slices");
        check(seg->addForAllFrames(measures), "Pixel Measures");
        // Rows run along the grid's x axis, columns along y (as in the source).
        std::unique_ptr<FGPlaneOrientationPatient> orientation(FGPlaneOrientationPatient::createMinimal(
            ds(g->direction[0]).c_str(), ds(g->direction[3]).c_str(), ds(g->direction[6]).c_str(),
            ds(g->direction[1]).c_str(), ds(g->direction[4]).c_str(), ds(g->direction[7]).c_str()));
        if (!orientation) throw std::bad_alloc();
        check(seg->addForAllFrames(*orientation), "Plane Orientation");

        const std::string dimensions = ie_dcmtk::new_uid(SITE_INSTANCE_UID_ROOT);
        check(seg->getDimensions().addDimensionIndex(DCM_ReferencedSegmentNumber, dimensions.c_str(),
                                                     DCM_SegmentIdentificationSequence, "ReferencedSegmentNumber"),
              "Dimension Index (segment)");
        check(seg->getDimensions().addDimensionIndex(DCM_ImagePositionPatient, dimensions.c_str(),
                                                     DCM_PlanePositionSequence, "ImagePositionPatient"),
              "Dimension Index (position)");

        std::vector<Uint8> frame(plane);
        std::vector<Uint8> all_frames; // one byte per voxel, frames in the order added (see below)
        for (int s = 1; s <= n_segments; s++) {
            DcmSegment *segment = nullptr;
            // Category and type "Anatomical Structure" (SNOMED CT 91723000):
            // the label carries the structure's name from data.classes.
            check(DcmSegment::create(segment, segments[s - 1].name,
                                     CodeSequenceMacro("91723000", "SCT", "Anatomical Structure"),
                                     CodeSequenceMacro("91723000", "SCT", "Anatomical Structure"),
                                     DcmSegTypes::SAT_AUTOMATIC, software),
                  segments[s - 1].name);
            std::unique_ptr<DcmSegment> owned(segment); // until the document takes it
            Uint16 lab[3];
            rgb_to_dicom_lab(segments[s - 1].colour, lab);
            check(segment->setRecommendedDisplayCIELabValue(lab[0], lab[1], lab[2]), "Recommended Display CIELab");
            Uint16 number = 0;
            check(seg->addSegment(segment, number), segments[s - 1].name);
            owned.release();
            for (int k = 0; k < series->n_slices; k++) {
                const uint8_t *src = labels + plane * (size_t)k;
                bool any = false;
                for (size_t v = 0; v < plane; v++) any |= (frame[v] = src[v] == s) != 0;
                if (!any) continue; // frames only where the segment is
                double p[3];
                slice_position(g, k, p);
                std::unique_ptr<FGPlanePosPatient> position(
                    FGPlanePosPatient::createMinimal(ds(p[0]).c_str(), ds(p[1]).c_str(), ds(p[2]).c_str()));
                if (!position) throw std::bad_alloc();
                FGFrameContent content_fg;
                check(content_fg.setDimensionIndexValues(number, 0), "Dimension Index Values");
                check(content_fg.setDimensionIndexValues((Uint32)k + 1, 1), "Dimension Index Values");
                FGDerivationImage derivation;
                DerivationImageItem *item = nullptr;
                check(derivation.addDerivationImageItem(CodeSequenceMacro("113076", "DCM", "Segmentation"), "", item),
                      "Derivation Image");
                SourceImageItem *source = nullptr;
                check(item->addSourceImageItem(series->files[k],
                                               CodeSequenceMacro("121322", "DCM",
                                                                 "Source image for image processing operation"),
                                               source),
                      series->files[k]);
                OFVector<FGBase *> per_frame;
                per_frame.push_back(position.get());
                per_frame.push_back(&content_fg);
                per_frame.push_back(&derivation);
                check(seg->addFrame(frame.data(), number, per_frame), "adding a frame");
                all_frames.insert(all_frames.end(), frame.begin(), frame.end());
            }
        }
        if (all_frames.empty())
            return ie_error_set(IE_ERR_UNSUPPORTED, "%s: %s: no voxel belongs to any segment, and a DICOM "
                                "Segmentation needs at least one frame; nothing was written (an empty result can "
                                "go out as an RT structure set, whose ROIs may be empty)", op, path);
        DcmFileFormat file;
        check(seg->writeDataset(*file.getDataset()), "encoding");
        // DCMTK 3.6.7 packs binary frames wrongly when a frame's voxel count
        // is not a multiple of 8: later frames come out shifted (found by
        // tests/cli/test_dicom.sh on a 35x34 coronal series).  The standard's
        // packing is one continuous little-endian bit stream over all frames,
        // padded to an even length; it is written here instead.
        size_t bytes = (all_frames.size() + 7) / 8;
        std::vector<Uint8> packed(bytes + bytes % 2, 0);
        for (size_t b = 0; b < all_frames.size(); b++)
            if (all_frames[b]) packed[b / 8] |= (Uint8)(1u << (b % 8));
        check(file.getDataset()->putAndInsertUint8Array(DCM_PixelData, packed.data(), (unsigned long)packed.size()),
              "Pixel Data");
        // Common Instance Reference: the series every frame derives from.
        DcmDataset *out = file.getDataset();
        DcmItem *ref = nullptr;
        check(out->findOrCreateSequenceItem(DCM_ReferencedSeriesSequence, ref, 0), "Referenced Series Sequence");
        check(ref->putAndInsertString(DCM_SeriesInstanceUID, series->series_uid), "Series Instance UID");
        for (int k = 0; k < series->n_slices; k++) {
            DcmItem *inst = nullptr;
            check(ref->findOrCreateSequenceItem(DCM_ReferencedInstanceSequence, inst, -2), "Referenced Instance");
            check(inst->putAndInsertString(DCM_ReferencedSOPClassUID, series->sop_class_uids[k]), "SOP Class");
            check(inst->putAndInsertString(DCM_ReferencedSOPInstanceUID, series->sop_instance_uids[k]), "SOP Instance");
        }
        return ie_dcmtk::save_atomic(op, path, file);
    });
}
