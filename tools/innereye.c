/* tools - the `innereye` command: the commands are rows of one table
 * (tools/commands.c), which also makes the usage texts and help. */
#include <stdio.h>

#include "core/backend/cpu/cpu_path.h"
#include "innereye/status.h"
#include "tools/commands.h"

int main(int argc, char **argv) {
    /* A bad IE_CPU_PATH is refused before any work (results never depend
     * on the path, so the library alone would only warn). */
    if (ie_cpu_path_from_env() != IE_OK) {
        fprintf(stderr, "innereye: %s\n", ie_error_message());
        return 2;
    }
    return ie_cli_main(argc, argv);
}
