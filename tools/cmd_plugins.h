/* tools - the plugin commands of `innereye`: `plugins` (what the host finds
 * and why a plugin is refused) and `new-plugin` (a plugin project from the
 * SDK template).  Each takes the arguments after its command name and
 * returns the process exit code. */
#ifndef IE_TOOLS_CMD_PLUGINS_H
#define IE_TOOLS_CMD_PLUGINS_H

int ie_cmd_plugins(int argc, char **argv);
int ie_cmd_new_plugin(int argc, char **argv);

#endif
