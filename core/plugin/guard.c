/* core/plugin - plugin faults (guard.h).  The handlers run when the process
 * is in an unknown state (memory may be corrupt, a lock may be held), so they
 * only read static buffers filled beforehand and call async-signal-safe
 * functions. */
#define _GNU_SOURCE
#include "core/plugin/guard.h"
#include "core/util/file_util.h"
#include "core/util/path.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The thread's innermost plugin call.  initial-exec TLS: reading it in a
 * signal handler must not allocate (libinnereye is linked, never dlopened). */
static __thread const ie_loaded_plugin *tls_plugin __attribute__((tls_model("initial-exec")));
static __thread const char *tls_function __attribute__((tls_model("initial-exec")));
static __thread int tls_depth __attribute__((tls_model("initial-exec")));

static volatile sig_atomic_t active;           /* an operation is running */
static volatile sig_atomic_t dying;            /* a handler already runs */
static const char *operation = "";
static char run_dir[4096];
static char record_path[4200], record_tmp[4250];
/* Two record buffers: the handler reads the one `record` points to while the
 * other is refilled, so it never sees a half-copied text. */
static char *record_buffers[2];
static size_t record_sizes[2];
static char *volatile record;
static volatile int epoch, checkpoint_epoch;
static volatile int64_t step;
static const char *volatile subject;
static bool installed, exit_hooked;
static const int signals[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT, SIGINT, SIGTERM, SIGHUP};
#define N_SIGNALS (int)(sizeof signals / sizeof signals[0])
static struct sigaction previous[N_SIGNALS];
static char alt_stack[64 * 1024]; /* a stack overflow still gets its message */

/* ---- async-signal-safe output ---- */

/* The errno of a put() that could not write everything: write_record then
 * keeps the previous run.json rather than renaming a truncated one over it. */
static volatile sig_atomic_t put_failed;

static void put(int fd, const char *s) {
    size_t n = strlen(s); /* strlen is async-signal-safe since POSIX 2016 */
    while (n > 0) {
        ssize_t w = write(fd, s, n);
        if (w <= 0) {
            if (w < 0 && errno == EINTR) continue;
            put_failed = w < 0 ? errno : EIO;
            return;
        }
        s += w, n -= (size_t)w;
    }
}

static void put_int(int fd, int64_t v) {
    char buf[24], *p = buf + sizeof buf - 1;
    *p = '\0';
    bool negative = v < 0;
    uint64_t u = negative ? (uint64_t)(-(v + 1)) + 1 : (uint64_t)v;
    do *--p = (char)('0' + u % 10); while ((u /= 10) > 0);
    if (negative) *--p = '-';
    put(fd, p);
}

/* A JSON string of s (plugin names and paths), escaping what JSON needs. */
static void put_json_string(int fd, const char *s) {
    put(fd, "\"");
    char c[2] = {0, 0};
    for (; s && *s; s++) {
        if (*s == '"' || *s == '\\') put(fd, "\\");
        if ((unsigned char)*s < 32) {
            put(fd, "?");
            continue;
        }
        c[0] = *s;
        put(fd, c);
    }
    put(fd, "\"");
}

static const char *signal_name(int sig) {
    switch (sig) {
    case SIGSEGV: return "SIGSEGV (invalid memory access)";
    case SIGBUS: return "SIGBUS (access beyond a mapped file, or misaligned)";
    case SIGFPE: return "SIGFPE (arithmetic fault, such as an integer division by zero)";
    case SIGILL: return "SIGILL (illegal instruction)";
    case SIGABRT: return "SIGABRT (abort)";
    case SIGINT: return "SIGINT (interrupted)";
    case SIGTERM: return "SIGTERM (asked to stop)";
    case SIGHUP: return "SIGHUP (its terminal closed)";
    }
    return "a signal";
}

static bool is_crash(int sig) {
    return sig == SIGSEGV || sig == SIGBUS || sig == SIGFPE || sig == SIGILL || sig == SIGABRT;
}

/* run.json not updated: says so on stderr, with the errno (strerror is not
 * async-signal-safe), and removes the temporary file. */
static void record_failed(const char *step, int err) {
    unlink(record_tmp);
    put(STDERR_FILENO, "innereye: ");
    put(STDERR_FILENO, record_path);
    put(STDERR_FILENO, ": could not record the final status (");
    put(STDERR_FILENO, step);
    put(STDERR_FILENO, " failed, errno ");
    put_int(STDERR_FILENO, err);
    put(STDERR_FILENO, "); it keeps its previous status.\n");
}

/* run.json with the final status, written and renamed into place only when
 * every write, the fsync and the close succeeded, so it is never truncated.
 * Async-signal-safe calls only. */
static void write_record(const char *status, const char *cause) {
    char *text = record;
    if (!text || !run_dir[0]) return;
    int fd = open(record_tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        record_failed("creating the temporary file", errno);
        return;
    }
    put_failed = 0;
    put(fd, text);
    put(fd, ",\n\t\"status\":\t");
    put_json_string(fd, status);
    put(fd, ",\n\t\"");
    put(fd, status);
    put(fd, "\":\t{\n\t\t\"cause\":\t");
    put_json_string(fd, cause);
    if (tls_plugin) {
        put(fd, ",\n\t\t\"plugin\":\t");
        put_json_string(fd, tls_plugin->table.name);
        put(fd, ",\n\t\t\"plugin_path\":\t");
        put_json_string(fd, tls_plugin->path);
        put(fd, ",\n\t\t\"function\":\t");
        put_json_string(fd, tls_function);
    }
    put(fd, ",\n\t\t\"operation\":\t");
    put_json_string(fd, operation);
    if (epoch > 0) {
        put(fd, ",\n\t\t\"epoch\":\t");
        put_int(fd, epoch);
        put(fd, ",\n\t\t\"step\":\t");
        put_int(fd, step);
    }
    put(fd, ",\n\t\t\"checkpoint_epoch\":\t");
    put_int(fd, checkpoint_epoch);
    put(fd, "\n\t}\n}\n");
    int err = put_failed;
    const char *failed = "writing";
    if (!err && (err = ie_sync_fd(fd)) != 0) failed = "fsync";
    if (close(fd) != 0 && !err) err = errno, failed = "close";
    if (!err && rename(record_tmp, record_path) != 0) err = errno, failed = "rename";
    if (err) record_failed(failed, err);
}

/* What happened (`what`, `detail`), where, and what to do, on stderr. */
static void explain(const char *what, const char *detail, bool crash) {
    const int fd = STDERR_FILENO;
    put(fd, "\ninnereye: ");
    if (tls_plugin) {
        put(fd, "plugin ");
        put(fd, tls_plugin->table.name);
        put(fd, " (");
        put(fd, tls_plugin->path);
        put(fd, ") ");
        put(fd, what);
        put(fd, detail);
        put(fd, " in its ");
        put(fd, tls_function);
        put(fd, " function");
    } else {
        put(fd, "the host ");
        put(fd, what);
        put(fd, detail);
    }
    put(fd, " during ");
    put(fd, operation);
    if (epoch > 0) {
        put(fd, ", epoch ");
        put_int(fd, epoch);
        put(fd, ", step ");
        put_int(fd, step);
    }
    const char *s = subject;
    if (s) {
        put(fd, ", subject '");
        put(fd, s);
        put(fd, "'");
    }
    put(fd, ".\n");
    if (!tls_plugin && crash) put(fd, "innereye: this is a bug in InnerEye, not in a plugin: please report it.\n");
    if (run_dir[0] && record) {
        put(fd, "innereye: the run ");
        put(fd, run_dir);
        put(fd, " did not finish (run.json says so). ");
        if (checkpoint_epoch > 0) {
            put(fd, "innereye train --resume ");
            put(fd, run_dir);
            put(fd, " continues it from its last checkpoint (epoch ");
            put_int(fd, checkpoint_epoch);
            put(fd, ")");
        } else {
            put(fd, "It has no checkpoint yet: start it again");
        }
        put(fd, tls_plugin ? " once the plugin is fixed.\n" : ".\n");
    } else if (!strcmp(operation, "inference")) {
        put(fd, "innereye: the subjects reported done before this are complete; this one and later ones were not "
                "written.\n");
    }
}

static void on_signal(int sig) {
    if (!dying) {
        dying = 1;
        explain(is_crash(sig) ? "crashed with " : "was stopped by ", signal_name(sig), is_crash(sig));
        write_record(is_crash(sig) ? "crashed" : "interrupted", signal_name(sig));
    }
    /* The default action: the exit status says which signal. */
    struct sigaction dfl;
    memset(&dfl, 0, sizeof dfl);
    dfl.sa_handler = SIG_DFL;
    sigemptyset(&dfl.sa_mask);
    sigaction(sig, &dfl, NULL);
    raise(sig);
}

/* exit() while an operation runs: only plugin code (or a library it calls)
 * ends the host that way. */
static void on_exit_call(void) {
    if (!active || dying) return;
    dying = 1;
    explain("called exit()", "", true);
    put(STDERR_FILENO, "innereye: a plugin must return an error status instead of ending the program; this exit is "
                       "reported as a failure (exit status 1).\n");
    write_record("interrupted", "exit() called before the operation finished");
    _exit(1);
}

static void install(void) {
    if (installed) return;
    stack_t ss = {.ss_sp = alt_stack, .ss_size = sizeof alt_stack, .ss_flags = 0};
    sigaltstack(&ss, NULL);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sa.sa_flags = SA_ONSTACK;
    sigemptyset(&sa.sa_mask);
    for (int i = 0; i < N_SIGNALS; i++) sigaction(signals[i], &sa, &previous[i]);
    if (!exit_hooked) exit_hooked = atexit(on_exit_call) == 0;
    installed = true;
}

static void uninstall(void) {
    if (!installed) return;
    for (int i = 0; i < N_SIGNALS; i++) sigaction(signals[i], &previous[i], NULL);
    installed = false;
}

void ie_guard_begin(const char *op, const char *dir) {
    operation = op ? op : "";
    /* A folder whose record path does not fit gets no record (run_dir ""),
     * never one written under a cut name; trainers' run folders always fit. */
    if (ie_path_format(run_dir, sizeof run_dir, "%s", dir ? dir : "") != IE_OK ||
        ie_path_format(record_path, sizeof record_path, "%s/run.json", run_dir) != IE_OK ||
        ie_path_format(record_tmp, sizeof record_tmp, "%s/run.json.tmp.%ld", run_dir, (long)getpid()) != IE_OK)
        run_dir[0] = '\0';
    epoch = 0, step = 0, checkpoint_epoch = 0, subject = NULL;
    install();
    active = 1;
}

void ie_guard_end(void) {
    active = 0;
    uninstall();
    ie_guard_set_record(NULL);
    run_dir[0] = '\0';
}

void ie_guard_set_record(const char *json) {
    if (!json) {
        record = NULL;
        return;
    }
    /* Fill the buffer the handler is not reading, then switch to it. */
    int k = record == record_buffers[0] && record ? 1 : 0;
    size_t n = strlen(json);
    /* Without its closing brace, so the handler can add the status. */
    while (n > 0 && json[n - 1] != '}') n--;
    if (n > 0) n--;
    while (n > 0 && (json[n - 1] == '\n' || json[n - 1] == ' ' || json[n - 1] == '\t')) n--;
    if (record_sizes[k] < n + 1) {
        char *grown = realloc(record_buffers[k], n + 1);
        if (!grown) {
            record = NULL; /* better no record than a wrong one */
            return;
        }
        record_buffers[k] = grown;
        record_sizes[k] = n + 1;
    }
    memcpy(record_buffers[k], json, n);
    record_buffers[k][n] = '\0';
    record = record_buffers[k];
}

void ie_guard_progress(int e, int64_t s, int checkpoint) {
    epoch = e, step = s, checkpoint_epoch = checkpoint;
}

void ie_guard_checkpoint(int e) { checkpoint_epoch = e; }

void ie_guard_subject(const char *s) { subject = s; }

void ie_guard_enter(const ie_loaded_plugin *plugin, const char *function) {
    if (tls_depth++ == 0) tls_plugin = plugin, tls_function = function;
}

void ie_guard_leave(void) {
    if (tls_depth > 0 && --tls_depth == 0) tls_plugin = NULL, tls_function = NULL;
}

ie_status ie_guard_leave_status(ie_status st) {
    ie_guard_leave();
    return st;
}

/* ---- the plugin's data hooks, guarded ---- */

static ie_status guarded_load_item(ie_model *ctx, const ie_dataset_item *item, const ie_host *host, ie_sample *out) {
    const ie_plugin_hooks_ctx *c = (const ie_plugin_hooks_ctx *)(void *)ctx; /* ours, typed as the model */
    return IE_GUARDED(c->plugin, "load_item", c->plugin->table.load_item(c->model, item, host, out));
}

static ie_status guarded_augment(ie_model *ctx, ie_sample *sample, const ie_rng *rng) {
    const ie_plugin_hooks_ctx *c = (const ie_plugin_hooks_ctx *)(void *)ctx; /* ours, typed as the model */
    return IE_GUARDED(c->plugin, "augment", c->plugin->table.augment(c->model, sample, rng));
}

static ie_status guarded_collate(ie_model *ctx, const ie_sample *const *samples, int count, ie_batch *out) {
    const ie_plugin_hooks_ctx *c = (const ie_plugin_hooks_ctx *)(void *)ctx; /* ours, typed as the model */
    return IE_GUARDED(c->plugin, "collate", c->plugin->table.collate(c->model, samples, count, out));
}

ie_data_hooks ie_plugin_data_hooks(const ie_loaded_plugin *plugin, ie_model *model, ie_data_hooks h,
                                   ie_plugin_hooks_ctx *ctx) {
    ctx->plugin = plugin;
    ctx->model = model;
    const ie_plugin *p = &plugin->table;

    if (p->load_item) h.load_item = guarded_load_item, h.load_item_ctx = ctx;
    if (p->augment) h.augment = guarded_augment, h.augment_ctx = ctx;
    if (p->collate) h.collate = guarded_collate, h.collate_ctx = ctx;
    return h;
}
