/* The backend module loader (core/backend/backend.c).  With an argument it
 * is one of the loader's refusals: the device is unavailable, and every way
 * to reach it fails with IE_ERR_DEVICE and a message containing the argument
 * (ctest runs it once per broken module, each in its own process, since a
 * module is loaded once).  With "" the module named by INNEREYE_CUDA_MODULE
 * must load.  Without arguments (the plain ctest entry) it only checks that
 * libinnereye runs without a CUDA module. */
#include "core/backend/backend.h"
#include "test_util.h"

int main(int argc, char **argv) {
    const int64_t shape[1] = {4};
    ie_tensor *t = NULL;
    if (argc < 2) {
        CHECK_OK(ie_tensor_zeros(IE_F32, 1, shape, IE_CPU, &t));
        ie_tensor_release(t);
        CHECK(ie_backend_loaded(IE_CUDA) == NULL, "nothing loads a CUDA module until the device is used");
        return test_summary();
    }
    if (argv[1][0] == '\0') {
        CHECK(ie_device_available(IE_CUDA), "the module loads: %s", (ie_device_check(IE_CUDA), ie_error_message()));
        CHECK(ie_backend_loaded(IE_CUDA) != NULL, "and stays loaded");
        return test_summary();
    }
    CHECK(!ie_device_available(IE_CUDA), "a broken module leaves the device unavailable");
    CHECK_FAILS(ie_device_check(IE_CUDA), IE_ERR_DEVICE, argv[1]);
    CHECK_FAILS(ie_tensor_empty(IE_F32, 1, shape, IE_CUDA, &t), IE_ERR_DEVICE, argv[1]);
    CHECK(t == NULL && ie_backend_loaded(IE_CUDA) == NULL, "no tensor, no backend");
    /* The CPU is unaffected. */
    CHECK_OK(ie_tensor_zeros(IE_F32, 1, shape, IE_CPU, &t));
    ie_tensor_release(t);
    return test_summary();
}
