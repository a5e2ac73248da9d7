/* tools - `innereye report` and `innereye compare`. */
#ifndef IE_TOOLS_CMD_REPORT_H
#define IE_TOOLS_CMD_REPORT_H

int ie_cmd_report(int argc, char **argv);
int ie_cmd_compare(int argc, char **argv);

#endif
