/* core/util - progress of long work a person waits for: validation, test
 * inference, `innereye infer` over a dataset, cross-validation folds, sweep
 * trials, dataset checks and creation (training's own bar is core/train's).
 *
 * On a terminal (stderr is a TTY) one line is redrawn in place:
 *     validation [#########...............] 3/8 subjects  00:04  ETA 00:07
 * and left on screen, finished, with the total time.  Elsewhere (a log file,
 * a pipe, a child run's log) plain lines, so logs stay readable: one per item
 * when items are long (folds, trials), else one every 10 s at most and a
 * last one when any was written.  Progress goes to stderr: stdout keeps the
 * results people and scripts parse.  IE_PROGRESS=off|plain|tty overrides
 * the choice (tests, or a terminal recorder).
 *
 * ie_progress_tick may be called from several threads (the dataset check
 * runs subjects in parallel). */
#ifndef IE_CORE_UTIL_PROGRESS_H
#define IE_CORE_UTIL_PROGRESS_H

#include <pthread.h>
#include <stdbool.h>
#include <time.h>

typedef enum ie_progress_mode { IE_PROGRESS_OFF, IE_PROGRESS_PLAIN, IE_PROGRESS_TTY } ie_progress_mode;

typedef struct ie_progress {
    char what[96], unit[32];
    int total, done;
    ie_progress_mode mode;
    double every_s; /* plain mode: seconds between lines (0: every item) */
    struct timespec t0;
    double last_s; /* when the last line or redraw was written */
    bool wrote;
    pthread_mutex_t lock;
} ie_progress;

/* what: "validation"; unit: "subjects"; every_s: see above. */
void ie_progress_begin(ie_progress *p, const char *what, const char *unit, int total, double every_s);
/* One more item done; n more items done. */
void ie_progress_tick(ie_progress *p);
void ie_progress_advance(ie_progress *p, int n);
/* Before printing a line of one's own to a terminal: clears the bar (it is
 * drawn again at the next tick). */
void ie_progress_clear(ie_progress *p);
/* Finishes the line (terminal) or writes the last plain line. */
void ie_progress_end(ie_progress *p);

#endif
