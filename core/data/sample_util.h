/* core/data - reference handling for ie_sample and ie_batch inside the host.
 *
 * The loader and the default hooks release, retain and copy samples through
 * these rather than ie_sample_clear / ie_batch_clear (plugin.h), so that the
 * data pipeline's rules stay in one place: a sample or batch owns one
 * reference to each of its tensors, and nothing else (subject strings and the
 * batch's subjects array are borrowed). */
#ifndef IE_CORE_DATA_SAMPLE_UTIL_H
#define IE_CORE_DATA_SAMPLE_UTIL_H

#include <stddef.h>

/* Layer exception (docs/architecture.md): the plugin ABI's ie_sample and
 * ie_batch, which the data layer fills; nothing of core/plugin is called. */
#include "innereye/plugin.h"

/* Releases the tensors and sets them to NULL (subject and struct_size stay). */
void ie_data_sample_release(ie_sample *s);
/* Takes one more reference to each tensor. */
void ie_data_sample_retain(ie_sample *s);
/* *dst = a copy of src whose tensors are new clones (dst's old tensors are
 * not released).  On failure dst holds no tensors. */
ie_status ie_data_sample_clone(const ie_sample *src, ie_sample *dst);
/* Bytes of tensor data the sample holds. */
size_t ie_data_sample_bytes(const ie_sample *s);
/* Releases the batch's tensors and zeroes it. */
void ie_data_batch_release(ie_batch *b);
/* The batch upload: moves a collated batch's tensors to `device` for a step
 * there.  Integer class labels are first checked against [0, label_classes)
 * while they are still on the CPU (label_classes <= 0: no check), so the loss
 * never reads them back from the device (core/backend/loss_kernels.h).  On
 * the CPU it does nothing: the loss front end checks CPU labels itself.  On
 * failure the batch is unchanged. */
ie_status ie_data_batch_to(ie_batch *b, ie_device device, int64_t label_classes);

#endif
