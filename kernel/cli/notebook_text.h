/* notebook_text.h — reading an .ipynb's text fields, shared by `conclab run` and `conclab export`. */
#ifndef CONCLAB_NOTEBOOK_TEXT_H
#define CONCLAB_NOTEBOOK_TEXT_H

#include <jansson.h>
#include <stdbool.h>

/* A "multiline string" of nbformat (one string, or an array of strings to join) as one malloc'd
 * string; NULL when value is neither. */
char *notebook_multiline_text(const json_t *value);

/* Whether a cell shows an error on purpose: Jupyter's `raises-exception` tag (a %%tsan report, a
 * failing %%chaos run), which nbclient, Notebook and JupyterLab run on after. */
bool notebook_cell_raises_on_purpose(const json_t *cell);

#endif
