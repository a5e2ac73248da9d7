/* tools - `innereye plugins [--plugin PATH|NAME ...]`: lists the built-in
 * models, the plugins on INNEREYE_PLUGIN_PATH and the requested ones, with
 * name, version, ABI, task, path and SHA-256.  A broken plugin met while
 * scanning is listed with its error; a requested one that cannot be loaded
 * makes the command fail with the loader's message. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/plugin/loader.h"
#include "tools/cmd_plugins.h"
#include "tools/commands.h"

typedef struct listing {
    int in_folder;   /* shared objects met in the current folder */
    int loaded, refused;
    char **names;    /* names listed so far, to point out shadowed ones */
    int n_names, cap_names;
} listing;

static bool seen(const listing *l, const char *name) {
    for (int i = 0; i < l->n_names; i++)
        if (!strcmp(l->names[i], name)) return true;
    return false;
}

static void remember(listing *l, const char *name) {
    if (l->n_names == l->cap_names) {
        int cap = l->cap_names ? 2 * l->cap_names : 16;
        char **grown = realloc(l->names, (size_t)cap * sizeof *grown);
        if (!grown) return; /* only the shadowing note is lost */
        l->names = grown;
        l->cap_names = cap;
    }
    char *copy = strdup(name);
    if (copy) l->names[l->n_names++] = copy;
}

/* Scanned plugins are checked for shadowing: of two with one name, the
 * first found is the one a name selects.  Requested ones are not. */
static void print_plugin(listing *l, const ie_loaded_plugin *p, bool scanned) {
    const ie_plugin *t = &p->table;
    printf("  %s %s  (%s, plugin ABI %u.%u)\n", t->name, t->version, ie_task_kind_name(t->task), t->abi_major,
           t->abi_minor);
    printf("    path    %s\n", p->path);
    printf("    sha256  %s\n", p->sha256);
    if (t->description[0]) printf("    about   %s\n", t->description);
    if (scanned && seen(l, t->name))
        printf("    note    shadowed: an earlier plugin is also named %s, and that one is what the name selects\n",
               t->name);
    else if (scanned)
        remember(l, t->name);
    l->loaded++;
}

static void print_refused(listing *l, const char *path, const char *message) {
    printf("  ! %s\n    error   %s\n", path, message);
    l->refused++;
}

static void end_folder(listing *l) {
    if (l->in_folder < 0) return;
    if (l->in_folder == 0) printf("  (no plugins)\n");
    l->in_folder = -1;
}

static void on_folder(void *ctx, const char *dir, ie_plugin_origin origin, bool exists) {
    listing *l = ctx;
    end_folder(l);
    printf("%s: %s%s\n", origin == IE_PLUGIN_ORIGIN_BUILTIN ? "built-in models" : "INNEREYE_PLUGIN_PATH folder",
           dir, exists ? "" : " (missing)");
    l->in_folder = 0;
}

static bool on_plugin(void *ctx, const char *path, ie_plugin_origin origin, ie_loaded_plugin **plugin,
                      ie_status status, const char *message) {
    (void)origin;
    listing *l = ctx;
    l->in_folder++;
    if (status == IE_OK)
        print_plugin(l, *plugin, true);
    else
        print_refused(l, path, message);
    return false;
}

static void usage(FILE *out) { ie_cli_usage("plugins", out); }

int ie_cmd_plugins(int argc, char **argv) {
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--plugin")) {
            ie_cli_unknown_option("plugins", argv[i]);
            return 2;
        }
        if (i + 1 >= argc) {
            fprintf(stderr, "innereye plugins: no path or name after '%s'\n", argv[i]);
            usage(stderr);
            return 2;
        }
        i++;
    }

    listing l = {.in_folder = -1};
    printf("plugin ABI of this host: %d.%d\n", IE_PLUGIN_ABI_MAJOR, IE_PLUGIN_ABI_MINOR);
    ie_status st = ie_plugin_scan(on_folder, on_plugin, &l);
    end_folder(&l);
    if (st != IE_OK) fprintf(stderr, "innereye plugins: %s\n", ie_error_message());
    if (!getenv("INNEREYE_PLUGIN_PATH")) printf("INNEREYE_PLUGIN_PATH: not set\n");

    int failed = st != IE_OK;
    for (int i = 1; i < argc; i += 2) {
        if (i == 1) printf("requested:\n");
        ie_loaded_plugin *p = NULL;
        if (ie_plugin_find(argv[i], &p) == IE_OK) {
            print_plugin(&l, p, false);
            ie_plugin_unload(p);
        } else {
            printf("  ! %s (refused: see the error)\n", argv[i]);
            l.refused++;
            fprintf(stderr, "innereye plugins: %s\n", ie_error_message());
            failed = 1;
        }
    }
    printf("%d plugin%s loaded, %d refused\n", l.loaded, l.loaded == 1 ? "" : "s", l.refused);
    for (int i = 0; i < l.n_names; i++) free(l.names[i]);
    free(l.names);
    return failed;
}
