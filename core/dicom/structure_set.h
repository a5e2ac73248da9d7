/* core/dicom - between label maps and RT structure sets, in patient
 * coordinates: each slice k of the image grid is traced (contour.h) and its
 * polygons mapped through the grid's origin, direction cosines and spacing,
 * so contours lie where the voxels are for any orientation (axial, sagittal,
 * coronal, oblique); the reverse maps contour points back into the grid and
 * fills them slice by slice with the even-odd rule. */
#ifndef IE_CORE_DICOM_STRUCTURE_SET_H
#define IE_CORE_DICOM_STRUCTURE_SET_H

#include "core/dicom/dicom.h"

/* One ROI per class 1..n_classes-1 of `labels` ([D, H, W] on `g`), named
 * names[c] with colours[c] (index 0, the background, is not used); every
 * ROI is written even when empty, so a planning system sees that the
 * structure was looked for.  Contours get their slice index. */
ie_status ie_structure_set_from_labels(const ie_image_geometry *g, const uint8_t *labels, int n_classes,
                                       const char *const *names, const uint8_t (*colours)[3],
                                       ie_dicom_structure_set *out);

/* Rasterises ROIs into `labels` ([D, H, W] on `g`, zeroed by the caller):
 * ROI rois[r] becomes value r + 1 (where ROIs overlap the later one wins).
 * Each contour must lie on one slice plane of the grid (within 5% of the
 * slice spacing); one that does not (another orientation, between slices)
 * is refused naming the ROI and the contour.  `source` names the file in
 * messages. */
ie_status ie_structure_set_to_labels(const ie_image_geometry *g, const ie_dicom_roi *const *rois, int n_rois,
                                     const char *source, uint8_t *labels);

#endif
