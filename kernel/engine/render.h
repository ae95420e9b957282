/* render.h — a cell's trailing expression shown in a C-like way: 42, 0.42857142857142855, 'a',
 * true, "text", 0x7ffd5c3a1b2c, NULL. The generated cell code calls the render_show_* functions
 * through a _Generic on the expression's type; the text waits in render_take() for the reply. */
#ifndef CONCLAB_RENDER_H
#define CONCLAB_RENDER_H

void render_show_bool(int value);
void render_show_char(int value);
void render_show_int(long long value);
void render_show_uint(unsigned long long value);
void render_show_double(double value, int is_float);
void render_show_string(const char *value);
void render_show_pointer(const void *value);
void render_show_opaque(unsigned long size);
void render_show_exit_status(int status);  /* what the cell's main returned: "exit status 0" */

/* The text shown by the last call (malloc'd, the caller frees), or NULL when nothing was shown. */
char *render_take(void);

/* The _Generic dispatch, as C source for the cell prelude: defines __CL_SHOW(e). */
extern const char render_prelude[];

#endif
