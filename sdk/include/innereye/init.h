/* innereye/init.h - parameter initialisation.
 *
 * PyTorch's initialisers (torch.nn.init) with the same bounds and standard
 * deviations, drawn from InnerEye's counter-based generator (rng.h) instead of
 * torch's: every value is a pure function of (seed, stream, epoch, item,
 * index), so a model initialises identically on any thread count.  Use
 * stream IE_STREAM_INIT and give each parameter (or layer) its own item.
 *
 * Each fill draws its values at sequence indices rng->next, rng->next + 1, ...
 * and advances rng->next past them, so one rng can fill several tensors in a
 * row without reusing draws.  Tensors must be float32 on the CPU. */
#ifndef INNEREYE_INIT_H
#define INNEREYE_INIT_H

#include "innereye/api.h"

#include <stdint.h>

#include "innereye/rng.h"
#include "innereye/tensor.h"

#ifdef __cplusplus
extern "C" {
#endif

/* torch.nn.init._calculate_fan_in_and_fan_out: for a weight shaped
 * [A, B, k...] (at least 2 dimensions), receptive = prod(k...),
 * fan_in = B * receptive, fan_out = A * receptive.  Conv weights are
 * [Cout, Cin/groups, k...]; transposed-conv weights are [Cin, Cout/groups,
 * k...], so there fan_in is Cout/groups * receptive, exactly as torch. */
IE_API ie_status ie_init_fans(int ndim, const int64_t *shape, int64_t *fan_in, int64_t *fan_out);

/* torch.nn.init.calculate_gain("leaky_relu", a) = sqrt(2 / (1 + a^2));
 * a = 0 gives ReLU's sqrt(2). */
IE_API double ie_init_leaky_relu_gain(double a);

/* Uniform on [lo, hi) (lo <= hi): lo + (hi - lo) * u with 24-bit u. */
IE_API ie_status ie_init_uniform(ie_tensor *t, double lo, double hi, ie_rng *rng);
/* mean + std * z, z standard normal (std >= 0).  Draws two 32-bit values per
 * element; the first index is rounded up to an even one. */
IE_API ie_status ie_init_normal(ie_tensor *t, double mean, double std, ie_rng *rng);
IE_API ie_status ie_init_constant(ie_tensor *t, float value);

/* torch.nn.init.kaiming_uniform_(t, a, mode, "leaky_relu") with `fan` the
 * fan_in or fan_out the mode selects: uniform in +-gain * sqrt(3 / fan). */
IE_API ie_status ie_init_kaiming_uniform(ie_tensor *t, double a, int64_t fan, ie_rng *rng);
/* torch.nn.init.kaiming_normal_: normal with std gain / sqrt(fan). */
IE_API ie_status ie_init_kaiming_normal(ie_tensor *t, double a, int64_t fan, ie_rng *rng);
/* torch.nn.init.xavier_uniform_: uniform in +-gain * sqrt(6 / (fan_in + fan_out)). */
IE_API ie_status ie_init_xavier_uniform(ie_tensor *t, double gain, ie_rng *rng);

/* What torch's Conv{1,2,3}d, ConvTranspose*d and Linear do in
 * reset_parameters(): weight kaiming_uniform(a = sqrt(5)) with its fan_in,
 * i.e. uniform in +-1/sqrt(fan_in), then (bias may be NULL) bias uniform in
 * +-1/sqrt(fan_in) of the weight.  The bias draws follow the weight's. */
IE_API ie_status ie_init_layer_default(ie_tensor *weight, ie_tensor *bias, ie_rng *rng);

#ifdef __cplusplus
}
#endif
#endif
