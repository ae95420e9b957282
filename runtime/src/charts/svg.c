/* svg.c — the SVG writer (svg.h). */
#include "svg.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Beyond this the fixed formatter would overflow a long long; no picture needs such numbers. */
#define LARGEST_WRITTEN 1e15
#define MOST_DECIMALS 9

const char *cl__svg_series_color(int i) {
    static const char *const colors[] = {CL_SVG_BLUE, CL_SVG_RED,  CL_SVG_GREEN, CL_SVG_YELLOW,
                                         CL_SVG_CYAN, CL_SVG_PURPLE, CL_SVG_GREY};
    int n = (int)(sizeof colors / sizeof colors[0]);
    return colors[((i % n) + n) % n];
}

char *cl__svg_fixed(char *out, size_t size, double v, int decimals) {
    if (!isfinite(v)) v = 0;
    if (v > LARGEST_WRITTEN) v = LARGEST_WRITTEN;
    if (v < -LARGEST_WRITTEN) v = -LARGEST_WRITTEN;
    if (decimals < 0) decimals = 0;
    if (decimals > MOST_DECIMALS) decimals = MOST_DECIMALS;
    long long scale = 1;
    for (int i = 0; i < decimals; i++) scale *= 10;
    long long scaled = llround(fabs(v) * (double)scale);
    while (decimals > 0 && scaled % 10 == 0) { /* drop trailing zeros: "1.50" reads as "1.5" */
        scaled /= 10;
        scale /= 10;
        decimals--;
    }
    const char *sign = v < 0 && scaled != 0 ? "-" : "";
    char fraction[MOST_DECIMALS + 2] = ".";
    long long digits = scaled % scale;
    for (int i = decimals; i >= 1; i--, digits /= 10) fraction[i] = (char)('0' + digits % 10);
    fraction[decimals ? decimals + 1 : 0] = '\0';
    snprintf(out, size, "%s%lld%s", sign, scaled / scale, fraction);
    return out;
}

char *cl__svg_sig(char *out, size_t size, double v, int digits) {
    if (!isfinite(v) || v == 0) return cl__svg_fixed(out, size, 0, 0);
    int magnitude = (int)floor(log10(fabs(v)));
    return cl__svg_fixed(out, size, v, digits - 1 - magnitude);
}

/* How many bytes the well-formed UTF-8 character at s takes, or 0 when it is not one (a Latin-1
 * "M\xfcller" from a thread's name, a name cut in the middle of a character). */
static size_t utf8_length(const unsigned char *s) {
    size_t n;
    unsigned char lo = 0x80, hi = 0xBF; /* the second byte's range */
    if (s[0] < 0x80) return 1;
    if (s[0] >= 0xC2 && s[0] <= 0xDF) n = 2;
    else if (s[0] >= 0xE0 && s[0] <= 0xEF) n = 3;
    else if (s[0] >= 0xF0 && s[0] <= 0xF4) n = 4;
    else return 0;
    if (s[0] == 0xE0) lo = 0xA0;      /* overlong */
    if (s[0] == 0xED) hi = 0x9F;      /* UTF-16 surrogates */
    if (s[0] == 0xF0) lo = 0x90;      /* overlong */
    if (s[0] == 0xF4) hi = 0x8F;      /* past U+10FFFF */
    if (s[1] < lo || s[1] > hi) return 0;
    for (size_t i = 2; i < n; i++)
        if ((s[i] & 0xC0) != 0x80) return 0;
    return n;
}

/* XML 1.0 forbids most control characters even as entities, and an XML parser stops at the
 * first byte that is not UTF-8: a space and U+FFFD stand in for them. */
void cl__svg_escape(cl_text *t, const char *s) {
    if (!s) return;
    const unsigned char *u = (const unsigned char *)s;
    size_t run = 0, i = 0;
    while (u[i]) {
        const char *entity = NULL;
        size_t length = utf8_length(u + i);
        switch (u[i]) {
        case '&': entity = "&amp;"; break;
        case '<': entity = "&lt;"; break;
        case '>': entity = "&gt;"; break;
        case '"': entity = "&quot;"; break;
        case '\'': entity = "&apos;"; break;
        default:
            if (u[i] < 0x20 && u[i] != '\n' && u[i] != '\t') entity = " ";
            else if (length == 0) entity = "\xEF\xBF\xBD";
        }
        if (!entity) {
            i += length;
            continue;
        }
        cl__text_add(t, s + run, i - run);
        cl__text_add(t, entity, strlen(entity));
        i += length ? length : 1;
        run = i;
    }
    cl__text_add(t, s + run, i - run);
}

void cl__svg_begin(cl_text *t, const char *tag) { cl__text_addf(t, "<%s", tag); }

void cl__svg_attr(cl_text *t, const char *name, const char *value) {
    cl__text_addf(t, " %s=\"", name);
    cl__svg_escape(t, value);
    cl__text_add(t, "\"", 1);
}

void cl__svg_attr_num(cl_text *t, const char *name, double v) {
    char number[48];
    cl__text_addf(t, " %s=\"%s\"", name, cl__svg_fixed(number, sizeof number, v, 2));
}

void cl__svg_end_empty(cl_text *t) { cl__text_add(t, "/>\n", 3); }

void cl__svg_end_open(cl_text *t) { cl__text_add(t, ">", 1); }

void cl__svg_close(cl_text *t, const char *tag) { cl__text_addf(t, "</%s>\n", tag); }

void cl__svg_document_begin(cl_text *t, double width, double height, const char *class_name) {
    char w[48], h[48];
    cl__svg_fixed(w, sizeof w, ceil(width), 0);
    cl__svg_fixed(h, sizeof h, ceil(height), 0);
    cl__svg_begin(t, "svg");
    cl__svg_attr(t, "xmlns", "http://www.w3.org/2000/svg");
    cl__svg_attr(t, "class", class_name);
    cl__svg_attr(t, "width", w);
    cl__svg_attr(t, "height", h);
    cl__text_addf(t, " viewBox=\"0 0 %s %s\"", w, h);
    cl__svg_attr(t, "font-family", CL_SVG_FONT);
    cl__svg_end_open(t);
    cl__text_add(t, "\n", 1);
    cl__svg_rect(t, "background", 0, 0, ceil(width), ceil(height), "#FFFFFF", NULL);
}

void cl__svg_document_end(cl_text *t) { cl__svg_close(t, "svg"); }

char *cl__svg_picture(double width, double height, const char *class_name, double title_x, const char *title,
                      cl_text *first, cl_text *second) {
    cl_text doc = {0};
    cl__svg_document_begin(&doc, width, height, class_name);
    cl__svg_label(&doc, "title", title_x, 26, "start", 16, "bold", CL_SVG_INK, title);
    cl__text_add(&doc, first->data ? first->data : "", first->len);
    cl__text_add(&doc, second->data ? second->data : "", second->len);
    cl__svg_document_end(&doc);
    int failed = first->failed || second->failed || doc.failed;
    free(first->data);
    free(second->data);
    if (!failed) return doc.data;
    free(doc.data);
    return NULL;
}

void cl__svg_rect(cl_text *t, const char *class_name, double x, double y, double w, double h, const char *fill,
                  const char *title) {
    cl__svg_begin(t, "rect");
    if (class_name) cl__svg_attr(t, "class", class_name);
    cl__svg_attr_num(t, "x", x);
    cl__svg_attr_num(t, "y", y);
    cl__svg_attr_num(t, "width", w > 0 ? w : 0);
    cl__svg_attr_num(t, "height", h > 0 ? h : 0);
    cl__svg_attr(t, "fill", fill);
    if (!title) {
        cl__svg_end_empty(t);
        return;
    }
    cl__svg_end_open(t);
    cl__svg_title(t, title);
    cl__svg_close(t, "rect");
}

void cl__svg_line(cl_text *t, double x1, double y1, double x2, double y2, const char *stroke, double width) {
    cl__svg_begin(t, "line");
    cl__svg_attr_num(t, "x1", x1);
    cl__svg_attr_num(t, "y1", y1);
    cl__svg_attr_num(t, "x2", x2);
    cl__svg_attr_num(t, "y2", y2);
    cl__svg_attr(t, "stroke", stroke);
    cl__svg_attr_num(t, "stroke-width", width);
    cl__svg_end_empty(t);
}

void cl__svg_label(cl_text *t, const char *class_name, double x, double y, const char *anchor, double size,
                   const char *weight, const char *fill, const char *text) {
    cl__svg_begin(t, "text");
    if (class_name) cl__svg_attr(t, "class", class_name);
    cl__svg_attr_num(t, "x", x);
    cl__svg_attr_num(t, "y", y);
    if (anchor && strcmp(anchor, "start") != 0) cl__svg_attr(t, "text-anchor", anchor);
    cl__svg_attr_num(t, "font-size", size);
    if (weight) cl__svg_attr(t, "font-weight", weight);
    cl__svg_attr(t, "fill", fill);
    cl__svg_end_open(t);
    cl__svg_escape(t, text);
    cl__svg_close(t, "text");
}

void cl__svg_title(cl_text *t, const char *text) {
    cl__text_add(t, "<title>", 7);
    cl__svg_escape(t, text);
    cl__text_add(t, "</title>", 8);
}

double cl__svg_text_width(const char *text, double size) {
    size_t characters = 0;
    for (const unsigned char *p = (const unsigned char *)text; *p; p++)
        if ((*p & 0xC0) != 0x80) characters++; /* count UTF-8 characters, not bytes */
    return (double)characters * size * 0.58;
}

void cl__svg_fit_text(char *text, double max_px, double size) {
    if (cl__svg_text_width(text, size) <= max_px) return;
    size_t keep = strlen(text);
    while (keep > 0) {
        do keep--; while (keep > 0 && ((unsigned char)text[keep] & 0xC0) == 0x80);
        char saved = text[keep];
        text[keep] = '\0';
        double w = cl__svg_text_width(text, size) + size * 0.6;
        text[keep] = saved;
        if (w <= max_px) break;
    }
    memcpy(text + keep, "\xE2\x80\xA6", 4); /* "…" and the NUL */
}
