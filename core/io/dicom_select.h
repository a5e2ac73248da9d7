/* core/io - which series of a DICOM folder the image reader takes
 * (ie_image_dicom_series_select, config key data.dicom_series).  Shared by
 * the ITK reader and core/dicom, so both always mean the same series. */
#ifndef IE_CORE_IO_DICOM_SELECT_H
#define IE_CORE_IO_DICOM_SELECT_H

/* Layer exception (docs/architecture.md): choosing a series needs the list
 * of a folder's series, which only core/dicom's DCMTK reader can make; the
 * rest of core/dicom, above io, reads its images through ie_image_read. */
#include "core/dicom/dicom.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The Series Instance UID of the series of `dir` that the selector picks:
 * the only series without a selector, else the one series that matches.
 * No match, several matches, or several series without a selector: an
 * error (IE_ERR_UNSUPPORTED) listing every series with its UID, modality,
 * description and file count, and how to choose. */
ie_status ie_dicom_series_pick(const char *dir, char uid[IE_DICOM_UID_MAX]);

#ifdef __cplusplus
}
#endif
#endif
