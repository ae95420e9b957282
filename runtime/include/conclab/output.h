/* conclab/output.h — what a cell shows (Python: IPython.display).
 * Part of <conclab.h>; see there for the conventions every runtime header keeps. */
#ifndef CONCLAB_OUTPUT_H
#define CONCLAB_OUTPUT_H

#ifdef __cplusplus
extern "C" {
#endif

/* ---- output (Python: IPython.display) --------------------------------------------------- */

/* Clears what the current cell has shown so far (outside Jupyter: clears the terminal). */
void cl_clear_output(void);

#ifdef __cplusplus
}
#endif

#endif
