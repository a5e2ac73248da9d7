/* tools - `innereye serve`: an HTTP inference service for a trained
 * segmentation model (tools/cmd_serve.c, core/serve).  Takes the arguments
 * after `serve`; returns the process exit code (0 stopped by SIGINT or
 * SIGTERM, 1 failed, 2 bad command line or config). */
#ifndef IE_TOOLS_CMD_SERVE_H
#define IE_TOOLS_CMD_SERVE_H

int ie_cmd_serve(int argc, char **argv);

#endif
