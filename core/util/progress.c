/* core/util - progress lines with an ETA. */
#include "core/util/progress.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define BAR_WIDTH 24
#define REDRAW_S 0.1 /* a terminal line is redrawn at most this often */

static double elapsed(const ie_progress *p) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)(t.tv_sec - p->t0.tv_sec) + 1e-9 * (double)(t.tv_nsec - p->t0.tv_nsec);
}

static ie_progress_mode mode_of_environment(void) {
    const char *e = getenv("IE_PROGRESS");
    if (e && !strcmp(e, "off")) return IE_PROGRESS_OFF;
    if (e && !strcmp(e, "plain")) return IE_PROGRESS_PLAIN;
    if (e && !strcmp(e, "tty")) return IE_PROGRESS_TTY;
    return isatty(STDERR_FILENO) ? IE_PROGRESS_TTY : IE_PROGRESS_PLAIN;
}

static void clock_text(char *out, size_t size, double s) {
    int t = s < 0 ? 0 : (int)(s + 0.5);
    if (t >= 3600) snprintf(out, size, "%d:%02d:%02d", t / 3600, t / 60 % 60, t % 60);
    else snprintf(out, size, "%02d:%02d", t / 60, t % 60);
}

void ie_progress_begin(ie_progress *p, const char *what, const char *unit, int total, double every_s) {
    memset(p, 0, sizeof *p);
    snprintf(p->what, sizeof p->what, "%s", what);
    snprintf(p->unit, sizeof p->unit, "%s", unit);
    p->total = total;
    p->every_s = every_s;
    p->mode = total > 0 ? mode_of_environment() : IE_PROGRESS_OFF;
    pthread_mutex_init(&p->lock, NULL);
    clock_gettime(CLOCK_MONOTONIC, &p->t0);
    if (p->mode == IE_PROGRESS_TTY) { /* the empty bar at once: the work has started */
        p->done = -1;
        ie_progress_tick(p);
    }
}

/* Holding the lock. */
static void draw(ie_progress *p, double now) {
    char spent[32], eta[48] = "";
    clock_text(spent, sizeof spent, now);
    if (p->done > 0 && p->done < p->total) {
        char left[32];
        clock_text(left, sizeof left, now / p->done * (p->total - p->done));
        snprintf(eta, sizeof eta, "  ETA %s", left);
    }
    if (p->mode == IE_PROGRESS_TTY) {
        char bar[BAR_WIDTH + 1];
        int filled = (int)((long)BAR_WIDTH * p->done / p->total);
        for (int i = 0; i < BAR_WIDTH; i++) bar[i] = i < filled ? '#' : '.';
        bar[BAR_WIDTH] = '\0';
        /* \r and erase-to-end-of-line: the line is replaced, never appended to */
        fprintf(stderr, "\r\033[K%s [%s] %d/%d %s  %s%s", p->what, bar, p->done, p->total, p->unit, spent, eta);
    } else {
        fprintf(stderr, "%s: %d/%d %s (%d%%), %s%s\n", p->what, p->done, p->total, p->unit,
                (int)(100L * p->done / p->total), spent, eta);
    }
    fflush(stderr);
    p->last_s = now;
    p->wrote = true;
}

void ie_progress_tick(ie_progress *p) { ie_progress_advance(p, 1); }

void ie_progress_advance(ie_progress *p, int n) {
    if (p->mode == IE_PROGRESS_OFF) return;
    pthread_mutex_lock(&p->lock);
    p->done += n;
    double now = elapsed(p);
    bool due = p->mode == IE_PROGRESS_TTY ? (now - p->last_s >= REDRAW_S || p->done == p->total || !p->wrote)
                                          : (p->done > 0 && (p->every_s <= 0 || now - p->last_s >= p->every_s));
    if (due && p->done < p->total) draw(p, now);
    if (p->mode == IE_PROGRESS_TTY && p->done == p->total) draw(p, now);
    pthread_mutex_unlock(&p->lock);
}

void ie_progress_clear(ie_progress *p) {
    if (p->mode != IE_PROGRESS_TTY) return;
    pthread_mutex_lock(&p->lock);
    fputs("\r\033[K", stderr);
    fflush(stderr);
    pthread_mutex_unlock(&p->lock);
}

void ie_progress_end(ie_progress *p) {
    if (p->mode == IE_PROGRESS_OFF) return;
    pthread_mutex_lock(&p->lock);
    double now = elapsed(p);
    if (p->mode == IE_PROGRESS_TTY) {
        if (p->done != p->total) draw(p, now); /* stopped early: where it stopped stays on screen */
        fputc('\n', stderr);
    } else if (p->wrote || p->every_s <= 0) {
        char spent[32];
        clock_text(spent, sizeof spent, now);
        fprintf(stderr, "%s: %d/%d %s done in %s\n", p->what, p->done, p->total, p->unit, spent);
    }
    fflush(stderr);
    pthread_mutex_unlock(&p->lock);
    pthread_mutex_destroy(&p->lock);
    p->mode = IE_PROGRESS_OFF;
}
