/* svg.h — a small SVG writer on cl_text (bundle.h), shared by the runtime's pictures.
 *
 * Pictures must survive nbconvert, GitHub's notebook viewer and graders' XML parsers, so every
 * document is self-contained: xmlns set, styles as attributes, no fonts, CSS, scripts or ids.
 * Numbers are written without printf's %f, whose decimal point follows the locale a cell may
 * have set (setlocale(LC_ALL, "") in a German notebook writes "1,5", which breaks the XML). */
#ifndef CONCLAB_RUNTIME_SVG_H
#define CONCLAB_RUNTIME_SVG_H

#include <stddef.h>

#include "bundle.h"

#define CL_SVG_INTERNAL __attribute__((visibility("hidden")))

/* The fixed colour-blind-safe palette (Paul Tol's "bright" scheme), in his order. */
#define CL_SVG_BLUE "#4477AA"
#define CL_SVG_CYAN "#66CCEE"
#define CL_SVG_GREEN "#228833"
#define CL_SVG_YELLOW "#CCBB44"
#define CL_SVG_RED "#EE6677"
#define CL_SVG_PURPLE "#AA3377"
#define CL_SVG_GREY "#BBBBBB"
#define CL_SVG_INK "#222222"      /* text and axes */
#define CL_SVG_FAINT "#DDDDDD"    /* grid lines */
#define CL_SVG_FONT "DejaVu Sans, Verdana, Arial, sans-serif"

/* The i-th colour of the palette (cycling), for series that have no meaning of their own. */
CL_SVG_INTERNAL const char *cl__svg_series_color(int i);

/* v with at most `decimals` digits after a '.', trailing zeros dropped; NaN and infinities
 * (which no attribute may hold) become 0. Returns out. */
CL_SVG_INTERNAL char *cl__svg_fixed(char *out, size_t size, double v, int decimals);
/* v with about `digits` significant digits, as cl__svg_fixed writes it ("1230", "12.3", "0.0123"). */
CL_SVG_INTERNAL char *cl__svg_sig(char *out, size_t size, double v, int digits);

/* Writes s with &, <, >, " and ' escaped, so it is safe as text and as an attribute value. */
CL_SVG_INTERNAL void cl__svg_escape(cl_text *t, const char *s);

/* "<tag" — attributes follow, then cl__svg_end_empty or cl__svg_end_open. */
CL_SVG_INTERNAL void cl__svg_begin(cl_text *t, const char *tag);
/* ` name="value"` with the value escaped. */
CL_SVG_INTERNAL void cl__svg_attr(cl_text *t, const char *name, const char *value);
/* ` name="v"` with v written to two decimals at most (pixels). */
CL_SVG_INTERNAL void cl__svg_attr_num(cl_text *t, const char *name, double v);
/* "/>" and a newline. */
CL_SVG_INTERNAL void cl__svg_end_empty(cl_text *t);
/* ">". */
CL_SVG_INTERNAL void cl__svg_end_open(cl_text *t);
/* "</tag>" and a newline. */
CL_SVG_INTERNAL void cl__svg_close(cl_text *t, const char *tag);

/* The root element (xmlns, viewBox, width, height, font) and a white background: pictures are
 * projected, and a transparent one on a dark notebook theme would be unreadable. */
CL_SVG_INTERNAL void cl__svg_document_begin(cl_text *t, double width, double height, const char *class_name);
/* Closes the root. */
CL_SVG_INTERNAL void cl__svg_document_end(cl_text *t);
/* A whole picture: the document, its title at title_x, then `first` and `second` (drawn apart,
 * taken and freed here). Its malloc'd text, or NULL when memory ran out anywhere. */
CL_SVG_INTERNAL char *cl__svg_picture(double width, double height, const char *class_name, double title_x,
                                      const char *title, cl_text *first, cl_text *second);

/* A filled rectangle, without closing it when `title` is not NULL (then it carries a <title>). */
CL_SVG_INTERNAL void cl__svg_rect(cl_text *t, const char *class_name, double x, double y, double w, double h,
                                  const char *fill, const char *title);
/* A straight line. */
CL_SVG_INTERNAL void cl__svg_line(cl_text *t, double x1, double y1, double x2, double y2, const char *stroke,
                                  double width);
/* A text: anchor "start", "middle" or "end"; weight "bold" or NULL. */
CL_SVG_INTERNAL void cl__svg_label(cl_text *t, const char *class_name, double x, double y, const char *anchor,
                                   double size, const char *weight, const char *fill, const char *text);
/* A <title> child (the hover text browsers show). */
CL_SVG_INTERNAL void cl__svg_title(cl_text *t, const char *text);

/* About how wide `text` is at `size` px in a sans-serif font: enough to lay out a legend. */
CL_SVG_INTERNAL double cl__svg_text_width(const char *text, double size);

/* Cuts text to about max_px at font `size`, at a character boundary, ending it with "…"; the
 * buffer must have 3 bytes to spare past the text's NUL. */
CL_SVG_INTERNAL void cl__svg_fit_text(char *text, double max_px, double size);

#endif
