/* conclab/display.h — rich output from C: pictures, tables, formulas, live counters
 * (Python: IPython.display's display(), SVG, HTML, Markdown, Math, Image, JSON, and
 * display(..., display_id=True).update()).
 *
 * In a notebook each call shows its output in the cell that is running, in order with what the
 * cell printed, whether it comes from the cell, a thread it started or a process it forked.
 * A display call returns an id (never 0) that later calls may update in place; 0 means nothing
 * was shown (the call printed why on stderr).
 *
 * Outside a notebook (a program built with `pkg-config conclab`) text kinds (plain text,
 * Markdown, LaTeX, JSON) are printed to stdout, and SVG, HTML and PNG are written to files
 * (conclab-display-PID-N.svg, .html, .png in $CONCLAB_DISPLAY_DIR or the current directory) whose
 * names are printed; an update rewrites the same file.
 * Part of <conclab.h>; see there for the conventions every runtime header keeps. */
#ifndef CONCLAB_DISPLAY_H
#define CONCLAB_DISPLAY_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* What a display call returns: updates name the display by it; 0 means nothing was shown. */
typedef long long cl_display_id;

/* One representation of what is shown: a MIME type and its bytes (size 0: a NUL-terminated
 * text). A display may carry several; the front end picks the richest it can show. */
typedef struct cl_mime {
    const char *type;  /* "image/svg+xml", "text/html", "text/markdown", "text/latex",
                          "image/png", "application/json", "text/plain", ... */
    const void *data;  /* image/png: the file's bytes; application/json: JSON text */
    size_t size;
} cl_mime;

/* Shows `count` representations of one thing; returns its display id, 0 on failure. */
cl_display_id cl_display(const cl_mime *items, int count);
/* Replaces what display `id` shows with `count` new representations; 0 on success, -1 if not. */
int cl_display_update(cl_display_id id, const cl_mime *items, int count);

/* Shows an SVG picture (text starting with <svg or <?xml); returns its display id. */
cl_display_id cl_display_svg(const char *svg);
/* Shows HTML; returns its display id. */
cl_display_id cl_display_html(const char *html);
/* Shows Markdown; returns its display id. */
cl_display_id cl_display_markdown(const char *markdown);
/* Shows LaTeX math, e.g. "$$\\sum_i x_i$$"; returns its display id. */
cl_display_id cl_display_latex(const char *latex);
/* Shows a JSON document (its text; it must parse); returns its display id. */
cl_display_id cl_display_json(const char *json);
/* Shows plain text as a display of its own (updatable, unlike printf); returns its display id. */
cl_display_id cl_display_text(const char *text);
/* Shows a PNG image from its bytes; returns its display id. */
cl_display_id cl_display_png(const void *bytes, size_t size);
/* Shows a PNG image read from a file; returns its display id. */
cl_display_id cl_display_png_file(const char *path);
/* Shows text formatted like printf as `mime` ("text/html", "text/markdown", ...); returns its display id. */
cl_display_id cl_display_printf(const char *mime, const char *format, ...) __attribute__((format(printf, 2, 3)));

/* Replaces display `id` with an SVG picture; 0 on success, -1 if not. */
int cl_update_svg(cl_display_id id, const char *svg);
/* Replaces display `id` with HTML; 0 on success, -1 if not. */
int cl_update_html(cl_display_id id, const char *html);
/* Replaces display `id` with Markdown; 0 on success, -1 if not. */
int cl_update_markdown(cl_display_id id, const char *markdown);
/* Replaces display `id` with plain text; 0 on success, -1 if not. */
int cl_update_text(cl_display_id id, const char *text);
/* Replaces display `id` with text formatted like printf as `mime`; 0 on success, -1 if not. */
int cl_update_printf(cl_display_id id, const char *mime, const char *format, ...) __attribute__((format(printf, 3, 4)));

/* A progress bar (Python: tqdm) shared by the threads and forked processes of a cell. */
typedef struct cl_progress cl_progress;

/* Shows a progress bar for `total` steps labelled `label` (NULL: none); NULL on failure. */
cl_progress *cl_progress_new(const char *label, long total);
/* Counts `steps` more done, from any thread or forked process; the bar redraws at most ~10 times a second. */
void cl_progress_advance(cl_progress *p, long steps);
/* Draws the bar's final state (done, the time taken, the rate) and frees it. */
void cl_progress_done(cl_progress *p);

#ifdef __cplusplus
}
#endif

#endif
