/* core/util - status codes and the per-thread error message. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "innereye/status.h"

#define IE_ERROR_CAPACITY 2048

static _Thread_local char error_message[IE_ERROR_CAPACITY];

const char *ie_status_name(ie_status status) {
    switch (status) {
    case IE_OK: return "ok";
    case IE_ERR_INVALID_ARG: return "invalid argument";
    case IE_ERR_SHAPE: return "shape error";
    case IE_ERR_DTYPE: return "type error";
    case IE_ERR_DEVICE: return "device error";
    case IE_ERR_NOMEM: return "out of memory";
    case IE_ERR_IO: return "I/O error";
    case IE_ERR_NUMERIC: return "numerical error";
    case IE_ERR_UNSUPPORTED: return "unsupported";
    case IE_ERR_STATE: return "invalid state";
    case IE_ERR_CONFIG: return "configuration error";
    case IE_ERR_PLUGIN: return "plugin error";
    case IE_ERR_INTERNAL: return "internal error";
    }
    return "unknown status";
}

const char *ie_error_message(void) { return error_message; }

void ie_error_clear(void) { error_message[0] = '\0'; }

ie_status ie_error_set(ie_status status, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(error_message, sizeof error_message, fmt, ap);
    va_end(ap);
    return status;
}

ie_status ie_error_wrap(ie_status status, const char *fmt, ...) {
    char prefix[IE_ERROR_CAPACITY];
    char previous[IE_ERROR_CAPACITY];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    memcpy(previous, error_message, sizeof previous);
    size_t n = strlen(prefix);
    if (n > sizeof error_message - 3) n = sizeof error_message - 3;
    memcpy(error_message, prefix, n);
    memcpy(error_message + n, ": ", 3);
    size_t room = sizeof error_message - n - 3;
    strncat(error_message, previous, room);
    return status;
}
