/* core/submit - command lines and captured child processes. */
#define _GNU_SOURCE /* vasprintf */
#include <errno.h>
#include <poll.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/submit/cmdline.h"

extern char **environ;

static ie_status add(ie_cmdline *cl, bool raw, const char *fmt, va_list ap) {
    if (cl->n == IE_CMDLINE_MAX) return ie_error_set(IE_ERR_INVALID_ARG, "a job command has more than %d words", IE_CMDLINE_MAX);
    char *word = NULL;
    if (vasprintf(&word, fmt, ap) < 0) return ie_error_set(IE_ERR_NOMEM, "out of memory building a job command");
    cl->word[cl->n] = word;
    cl->raw[cl->n++] = raw;
    return IE_OK;
}

ie_status ie_cmdline_add(ie_cmdline *cl, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    ie_status st = add(cl, false, fmt, ap);
    va_end(ap);
    return st;
}

ie_status ie_cmdline_add_raw(ie_cmdline *cl, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    ie_status st = add(cl, true, fmt, ap);
    va_end(ap);
    return st;
}

void ie_cmdline_free(ie_cmdline *cl) {
    for (int i = 0; i < cl->n; i++) free(cl->word[i]);
    cl->n = 0;
}

static bool plain(const char *w) {
    if (!*w) return false;
    for (const char *p = w; *p; p++)
        if (!strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_./=:,+@%^-", *p)) return false;
    return true;
}

void ie_shell_quote(const char *word, char *out, size_t size) {
    if (plain(word)) {
        snprintf(out, size, "%s", word);
        return;
    }
    /* 'it'\''s' */
    size_t j = 0;
    if (j + 1 < size) out[j++] = '\'';
    for (const char *p = word; *p && j + 5 < size; p++) {
        if (*p == '\'') {
            memcpy(out + j, "'\\''", 4);
            j += 4;
        } else {
            out[j++] = *p;
        }
    }
    if (j + 1 < size) out[j++] = '\'';
    out[j < size ? j : size - 1] = '\0';
}

char *ie_cmdline_string(const ie_cmdline *cl) {
    size_t total = 1;
    for (int i = 0; i < cl->n; i++) total += 4 * strlen(cl->word[i]) + 3;
    char *s = malloc(total), *p = s;
    if (!s) return NULL;
    *p = '\0';
    for (int i = 0; i < cl->n; i++) {
        if (i) *p++ = ' ';
        if (cl->raw[i]) {
            strcpy(p, cl->word[i]);
        } else {
            ie_shell_quote(cl->word[i], p, total - (size_t)(p - s));
        }
        p += strlen(p);
    }
    return s;
}

bool ie_on_path(const char *program) {
    const char *path = getenv("PATH");
    if (!path || strchr(program, '/')) return access(program, X_OK) == 0;
    char *copy = strdup(path), *save = NULL;
    bool found = false;
    for (char *dir = strtok_r(copy, ":", &save); dir && !found; dir = strtok_r(NULL, ":", &save)) {
        char full[4200];
        struct stat st;
        snprintf(full, sizeof full, "%s/%s", *dir ? dir : ".", program);
        found = stat(full, &st) == 0 && S_ISREG(st.st_mode) && access(full, X_OK) == 0;
    }
    free(copy);
    return found;
}

ie_status ie_run_capture(char *const argv[], char *out, size_t size, char *err, size_t err_size, int *exit_code) {
    int fd_out[2], fd_err[2] = {-1, -1};
    *exit_code = 127;
    if (out && size) out[0] = '\0';
    if (err && err_size) err[0] = '\0';
    if (pipe(fd_out) != 0) return ie_error_set(IE_ERR_IO, "cannot run %s: pipe: %s", argv[0], strerror(errno));
    if (err && pipe(fd_err) != 0) {
        close(fd_out[0]);
        close(fd_out[1]);
        return ie_error_set(IE_ERR_IO, "cannot run %s: pipe: %s", argv[0], strerror(errno));
    }
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, fd_out[1], STDOUT_FILENO);
    posix_spawn_file_actions_addclose(&actions, fd_out[0]);
    if (err) {
        posix_spawn_file_actions_adddup2(&actions, fd_err[1], STDERR_FILENO);
        posix_spawn_file_actions_addclose(&actions, fd_err[0]);
    }
    pid_t pid;
    int rc = posix_spawnp(&pid, argv[0], &actions, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&actions);
    close(fd_out[1]);
    if (err) close(fd_err[1]);
    if (rc != 0) {
        close(fd_out[0]);
        if (err) close(fd_err[0]);
        return IE_OK; /* exit_code 127: not found / not executable */
    }
    /* Read both pipes until they close, so a chatty stderr cannot block. */
    size_t n_out = 0, n_err = 0;
    struct pollfd fds[2] = {{.fd = fd_out[0], .events = POLLIN}, {.fd = err ? fd_err[0] : -1, .events = POLLIN}};
    int open_fds = err ? 2 : 1;
    while (open_fds > 0) {
        if (poll(fds, 2, -1) < 0) {
            if (errno == EINTR) continue;
            break;
        }
        for (int k = 0; k < 2; k++) {
            if (fds[k].fd < 0 || !(fds[k].revents & (POLLIN | POLLHUP | POLLERR))) continue;
            char buf[4096];
            ssize_t got = read(fds[k].fd, buf, sizeof buf);
            if (got <= 0) {
                close(fds[k].fd);
                fds[k].fd = -1;
                open_fds--;
                continue;
            }
            char *dst = k == 0 ? out : err;
            size_t cap = k == 0 ? size : err_size, *used = k == 0 ? &n_out : &n_err;
            if (dst && cap > *used + 1) {
                size_t take = (size_t)got < cap - *used - 1 ? (size_t)got : cap - *used - 1;
                memcpy(dst + *used, buf, take);
                *used += take;
                dst[*used] = '\0';
            }
        }
    }
    int status;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR) return ie_error_set(IE_ERR_IO, "waiting for %s: %s", argv[0], strerror(errno));
    *exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    return IE_OK;
}
