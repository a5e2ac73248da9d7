/* tools - the engine self-check behind `innereye selfcheck`. */
#ifndef IE_TOOLS_SELFCHECK_H
#define IE_TOOLS_SELFCHECK_H

/* Returns the process exit status (0: the loss fell). */
int ie_selfcheck(int steps, int threads);

#endif
