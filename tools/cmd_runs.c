/* tools - `innereye runs` and `innereye show` (cmd_runs.h); the summaries
 * are core/run/run_summary.c's. */
#include "tools/cmd_runs.h"

#include <stdio.h>

#include "core/run/run_summary.h"
#include "tools/commands.h"

int ie_cmd_runs(int argc, char **argv) {
    if (argc > 1 || (argc == 1 && argv[0][0] == '-')) {
        if (argc >= 1 && argv[0][0] == '-') ie_cli_unknown_option("runs", argv[0]);
        else ie_cli_usage("runs", stderr);
        return 2;
    }
    if (ie_runs_print(argc == 1 ? argv[0] : "outputs", stdout) != IE_OK) {
        fprintf(stderr, "innereye runs: %s\n", ie_error_message());
        return 1;
    }
    return 0;
}

int ie_cmd_show(int argc, char **argv) {
    if (argc != 1 || argv[0][0] == '-') {
        if (argc >= 1 && argv[0][0] == '-') ie_cli_unknown_option("show", argv[0]);
        else ie_cli_usage("show", stderr);
        return 2;
    }
    if (ie_run_show(argv[0], stdout) != IE_OK) {
        fprintf(stderr, "innereye show: %s\n", ie_error_message());
        return 1;
    }
    return 0;
}
