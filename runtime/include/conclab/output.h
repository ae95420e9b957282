/* conclab/output.h — what a cell shows (Python: IPython.display).
 * Part of <conclab.h>; see there for the conventions every runtime header keeps. */
#ifndef CONCLAB_OUTPUT_H
#define CONCLAB_OUTPUT_H

#ifdef __cplusplus
extern "C" {
#endif

/* ---- output (Python: IPython.display) --------------------------------------------------- */

/* Clears the cell's output now, or with wait=1 just before its next output arrives (no flicker); outside Jupyter: clears the terminal. */
void cl_clear_output(int wait);

#ifdef __cplusplus
}
#endif

#endif
