/* tools - `innereye runs [DIR]` (a table of the runs in a folder) and
 * `innereye show RUN` (one run: what ran, on what data, results, files). */
#ifndef IE_TOOLS_CMD_RUNS_H
#define IE_TOOLS_CMD_RUNS_H

int ie_cmd_runs(int argc, char **argv);
int ie_cmd_show(int argc, char **argv);

#endif
