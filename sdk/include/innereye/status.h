/* innereye/status.h - status codes and error messages.
 *
 * Every function that can fail returns an ie_status and, on failure, leaves a
 * message for the calling thread that says what went wrong, where, and what to
 * do.  The message lives in thread-local storage owned by libinnereye, so it
 * can cross the plugin boundary without either side freeing the other's memory
 * (the pattern of SQLite's sqlite3_errmsg). */
#ifndef INNEREYE_STATUS_H
#define INNEREYE_STATUS_H

#include "innereye/api.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum ie_status {
    IE_OK = 0,
    IE_ERR_INVALID_ARG = 1, /* NULL pointer, out-of-range parameter */
    IE_ERR_SHAPE = 2,       /* tensor shapes do not fit the op */
    IE_ERR_DTYPE = 3,       /* wrong element type */
    IE_ERR_DEVICE = 4,      /* tensors on different devices, or no backend */
    IE_ERR_NOMEM = 5,
    IE_ERR_IO = 6,          /* file missing, unreadable, corrupt */
    IE_ERR_NUMERIC = 7,     /* NaN / Inf where a finite value is required */
    IE_ERR_UNSUPPORTED = 8,
    IE_ERR_STATE = 9,       /* call in the wrong order (backward twice, ...) */
    IE_ERR_CONFIG = 10,
    IE_ERR_PLUGIN = 11,
    IE_ERR_INTERNAL = 12
} ie_status;

/* Human-readable name of a status code ("shape error", ...). */
IE_API const char *ie_status_name(ie_status status);

/* The calling thread's last error message ("" when none). */
IE_API const char *ie_error_message(void);

/* Records a message for the calling thread and returns `status`, so failures
 * read `return ie_error_set(IE_ERR_SHAPE, "conv3d: ...", ...);`. */
IE_API ie_status ie_error_set(ie_status status, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Prepends context to the current message: "while X: <old message>". */
IE_API ie_status ie_error_wrap(ie_status status, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

IE_API void ie_error_clear(void);

/* Propagate a failure to the caller unchanged. */
#define IE_TRY(expr)                                                           \
    do {                                                                       \
        ie_status ie_try_status_ = (expr);                                     \
        if (ie_try_status_ != IE_OK) return ie_try_status_;                    \
    } while (0)

#ifdef __cplusplus
}
#endif
#endif
