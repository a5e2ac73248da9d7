/* core/inference - a subject's segmentation as DICOM (infer.format rtstruct
 * or dicom-seg): contours or segments named by data.classes, coloured by
 * data.class_colours, referencing the input series slice by slice. */
#include <stdio.h>
#include <string.h>

#include "core/dicom/dicom.h"
#include "core/dicom/structure_set.h"
#include "core/inference/infer.h"
#include "core/util/path.h"

#define IE_DICOM_SOFTWARE "InnerEye-C " IE_VERSION_STRING

ie_status ie_infer_write_dicom(const char *dir, const ie_infer_settings *s, const ie_infer_subject *subject) {
    if (s->format == IE_INFER_NIFTI) return IE_OK;
    char path[4200];
    ie_dicom_series series;
    IE_TRY(ie_dicom_series_load(subject->source, &subject->geometry, &series));
    const uint8_t *labels = ie_tensor_data(subject->segmentation);
    ie_status st;
    if (s->format == IE_INFER_RTSTRUCT) {
        ie_dicom_structure_set set;
        st = ie_structure_set_from_labels(&subject->geometry, labels, s->n_classes, s->class_names,
                                          (const uint8_t(*)[3])s->colours, &set);
        if (st == IE_OK) st = ie_path_format(path, sizeof path, "%s/rtstruct.dcm", dir);
        if (st == IE_OK) st = ie_dicom_rtstruct_write(path, &series, &set, IE_DICOM_SOFTWARE);
        ie_dicom_structure_set_free(&set);
    } else {
        ie_dicom_segment segments[IE_POSTPROCESS_MAX_CLASSES];
        for (int c = 1; c < s->n_classes; c++) {
            segments[c - 1].name = s->class_names[c];
            memcpy(segments[c - 1].colour, s->colours[c], 3);
        }
        st = ie_path_format(path, sizeof path, "%s/segmentation.dcm", dir);
        if (st == IE_OK) st = ie_dicom_seg_write(path, &series, labels, segments, s->n_classes - 1, IE_DICOM_SOFTWARE);
    }
    ie_dicom_series_free(&series);
    return st;
}
