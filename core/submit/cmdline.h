/* core/submit - command lines for cluster jobs and running the engines'
 * tools (sbatch, squeue, az).
 *
 * A job's command is built as a list of words; each word is either quoted
 * for a POSIX shell when written out, or kept raw because the engine or the
 * job script expands it (`${{search_space.lr}}`, "$fold"). */
#ifndef IE_CORE_SUBMIT_CMDLINE_H
#define IE_CORE_SUBMIT_CMDLINE_H

#include <stdbool.h>
#include <stddef.h>

#include "innereye/status.h"

#define IE_CMDLINE_MAX 96

typedef struct ie_cmdline {
    char *word[IE_CMDLINE_MAX];
    bool raw[IE_CMDLINE_MAX];
    int n;
} ie_cmdline;

/* Appends a word (copied); printf-style.  Fails past IE_CMDLINE_MAX words. */
ie_status ie_cmdline_add(ie_cmdline *cl, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
ie_status ie_cmdline_add_raw(ie_cmdline *cl, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void ie_cmdline_free(ie_cmdline *cl);

/* The words joined by spaces, each non-raw word single-quoted when it holds
 * anything but [A-Za-z0-9_./=:,+@%^-].  Returns a malloc'ed string. */
char *ie_cmdline_string(const ie_cmdline *cl);

/* `word` quoted for a POSIX shell as above, into out. */
void ie_shell_quote(const char *word, char *out, size_t size);

/* Runs argv (argv[0] looked up on PATH), stdout captured into out (NUL-
 * terminated, cut at size - 1), stderr captured into err when err != NULL
 * (else inherited).  *exit_code: the exit status, 128 + signal, or 127 when
 * the program cannot be started. */
ie_status ie_run_capture(char *const argv[], char *out, size_t size, char *err, size_t err_size, int *exit_code);

/* Whether `program` is an executable file on PATH. */
bool ie_on_path(const char *program);

#endif
