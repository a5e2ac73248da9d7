/* core/plugin - the default host context. */
#include <stdio.h>

#include "core/plugin/host.h"
#include "innereye/image_io.h"
#include "innereye/threads.h"

static void host_log(const ie_host *host, ie_log_level level, const char *message) {
    (void)host;
    static const char *const names[] = {"debug", "info", "warning", "error"};
    fprintf(level >= IE_LOG_WARNING ? stderr : stdout, "[%s] %s\n", names[level & 3], message);
}

static ie_status host_read_image(const ie_host *host, const char *path, ie_dtype dtype, ie_tensor **out) {
    (void)host;
    return ie_image_read(path, dtype, out, NULL);
}

ie_host ie_host_default(uint64_t seed, const char *run_dir) {
    return (ie_host){.struct_size = sizeof(ie_host), .abi_major = IE_PLUGIN_ABI_MAJOR,
                     .abi_minor = IE_PLUGIN_ABI_MINOR, .seed = seed, .threads = ie_threads_get(),
                     .device = IE_CPU, .run_dir = run_dir ? run_dir : "", .log = host_log,
                     .read_image = host_read_image};
}
