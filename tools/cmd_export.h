/* tools - `innereye export`: a trained run or ensemble as an ONNX model
 * (docs/export.md).  Takes the arguments after `export`; returns the exit
 * code (0 written, 1 the export failed, 2 bad command line or config). */
#ifndef IE_TOOLS_CMD_EXPORT_H
#define IE_TOOLS_CMD_EXPORT_H

int ie_cmd_export(int argc, char **argv);

#endif
