/* core/dicom - the display colour of each structure (data.class_colours),
 * as DICOM-RT (ROI Display Color) and DICOM-SEG (CIELab) outputs show it. */
#ifndef IE_CORE_DICOM_COLOURS_H
#define IE_CORE_DICOM_COLOURS_H

#include <stdint.h>

#include "innereye/config.h"

/* colours[c] for c = 1..n_classes-1 from data.classes' order: the config's
 * "#RRGGBB" strings, else a fixed palette of distinct colours (so the same
 * structure keeps its colour from run to run).  A list of another length,
 * or a string not of the form #RRGGBB, is refused naming the key and entry. */
ie_status ie_class_colours_from_config(const ie_config *cfg, int n_classes, uint8_t (*colours)[3]);

#endif
