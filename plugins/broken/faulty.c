/* A working segmentation plugin (one 1x1x1 convolution, image -> class
 * logits) that breaks the plugin rules on request, for the host's fault
 * handling tests: IE_TEST_FAULT=KIND@N faults in the N-th training forward
 * call (1-based), or in create when N is 0.  KIND is
 *   segv  writes through a NULL pointer          (SIGSEGV)
 *   bus   reads a mapped file that was truncated  (SIGBUS)
 *   fpe   divides an integer by zero              (SIGFPE)
 *   exit  calls exit(0)
 * Everything a plugin must never do; the host must still say what happened
 * and never report success. */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "innereye/config.h"
#include "innereye/layers.h"
#include "innereye/plugin.h"

struct ie_model {
    ie_params *params;
    ie_conv_layer conv;
    int forward_calls;
};

static volatile int zero = 0;

static void fault(const char *kind) {
    if (!strcmp(kind, "segv")) {
        *(volatile int *)(uintptr_t)zero = 1;
    } else if (!strcmp(kind, "fpe")) {
        volatile int seven = 7; /* 1 / x would be optimised into a comparison */
        volatile int x = seven / zero;
        (void)x;
    } else if (!strcmp(kind, "bus")) {
        char path[] = "/tmp/ie_faulty_bus_XXXXXX";
        int fd = mkstemp(path);
        if (fd >= 0 && ftruncate(fd, 4096) == 0) {
            volatile char *p = mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd, 0);
            unlink(path);
            if (p != MAP_FAILED && ftruncate(fd, 0) == 0) (void)p[0]; /* beyond the file's end */
        }
    } else if (!strcmp(kind, "exit")) {
        exit(0);
    }
}

/* True when IE_TEST_FAULT asks for a fault at call `n`; *kind is set. */
static bool fault_at(int n, char *kind, size_t size) {
    const char *spec = getenv("IE_TEST_FAULT");
    const char *at = spec ? strchr(spec, '@') : NULL;
    if (!at || atoi(at + 1) != n) return false;
    snprintf(kind, size, "%.*s", (int)(at - spec), spec);
    return true;
}

static void faulty_destroy(ie_model *m) {
    if (!m) return;
    ie_conv_layer_destroy(&m->conv);
    ie_params_free(m->params);
    free(m);
}

static ie_status faulty_create(const char *config_json, const ie_host *host, ie_model **out) {
    char kind[16];
    if (fault_at(0, kind, sizeof kind)) fault(kind);
    ie_config *cfg = NULL;
    int classes = 0;
    ie_status st = ie_config_new(&cfg);
    if (st == IE_OK) st = ie_config_add_text(cfg, config_json, "resolved config");
    if (st == IE_OK) st = ie_config_resolve(cfg);
    if (st == IE_OK) st = ie_config_get_array_length(cfg, "data.classes", &classes);
    ie_config_free(cfg);
    IE_TRY(st);
    ie_model *m = calloc(1, sizeof *m);
    if (!m) return ie_error_set(IE_ERR_NOMEM, "Faulty: out of memory");
    const ie_conv_layer_spec spec = {.dims = 3, .in_channels = 1, .out_channels = classes, .kernel = {1, 1, 1},
                                     .bias = true};
    st = ie_params_new(&m->params);
    if (st == IE_OK) st = ie_conv_layer_create(&m->conv, &spec, m->params, "conv", host->seed);
    if (st != IE_OK) {
        faulty_destroy(m);
        return st;
    }
    *out = m;
    return IE_OK;
}

static ie_params *faulty_parameters(ie_model *m) { return m->params; }

static ie_status faulty_forward(ie_model *m, const ie_batch *batch, bool training, ie_tensor **out) {
    char kind[16];
    if (training && fault_at(++m->forward_calls, kind, sizeof kind)) fault(kind);
    return ie_conv_layer_forward(&m->conv, batch->image, out);
}

static const ie_plugin table = {
    .struct_size = sizeof(ie_plugin), .abi_major = IE_PLUGIN_ABI_MAJOR, .abi_minor = IE_PLUGIN_ABI_MINOR,
    .name = "Faulty", .version = "0.0.1", .description = "faults on request (IE_TEST_FAULT), for the host's tests",
    .task = IE_TASK_SEGMENTATION, .create = faulty_create, .destroy = faulty_destroy,
    .parameters = faulty_parameters, .forward = faulty_forward};

IE_PLUGIN_EXPORT const ie_plugin *ie_plugin_entry(void) { return &table; }
