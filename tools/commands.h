/* tools - the command table of `innereye`: one row per command (name, one-line
 * summary, usage text, handler), from which the command list, `innereye help
 * CMD`, `-h/--help` of every command and the did-you-mean suggestions for
 * commands and options are made.  A new command is one row in commands.c. */
#ifndef IE_TOOLS_COMMANDS_H
#define IE_TOOLS_COMMANDS_H

#include <stdio.h>

/* argv holds the arguments after the command name. Returns the exit status. */
typedef int (*ie_cli_handler)(int argc, char **argv);

enum {
    /* The handler answers -h/--help itself, with more than the table's usage
     * (help of a subcommand, or of a given run); it is passed through. */
    IE_CLI_OWN_HELP = 1u << 0,
    /* The command reads config flags (--config, --set, --model, InnerEye's
     * flags), which option suggestions include. */
    IE_CLI_CONFIG_FLAGS = 1u << 1,
};

typedef struct ie_cli_command {
    const char *name;
    const char *summary; /* one line, for the command list */
    const char *usage;   /* "usage: innereye NAME ..." and what it does; its --options are the known ones */
    ie_cli_handler run;
    unsigned flags;
} ie_cli_command;

/* The command named `name`, or NULL. */
const ie_cli_command *ie_cli_find(const char *name);

/* Runs innereye with argv as main() gets it; returns the exit status. */
int ie_cli_main(int argc, char **argv);

/* Prints the usage text of command `name` to out. */
void ie_cli_usage(const char *name, FILE *out);

/* "innereye NAME: unknown option 'ARG'; did you mean '--x'?" (or "unexpected
 * argument" for a word), naming `innereye help NAME`, on stderr.  The known
 * options are those of the command's usage text (and config flags). */
void ie_cli_unknown_option(const char *name, const char *arg);

#endif
