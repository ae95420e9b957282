#define _GNU_SOURCE /* asprintf */
#include "render.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *shown;

static void set_shown(char *text) {
    free(shown);
    shown = text;
}

char *render_take(void) {
    char *text = shown;
    shown = NULL;
    return text;
}

void render_show_bool(int value) { set_shown(strdup(value ? "true" : "false")); }

/* Appends c to buf as it would be written inside a C literal quoted by `quote`. */
static size_t escape_char(char *buf, unsigned char c, char quote) {
    switch (c) {
    case '\n': return (size_t)sprintf(buf, "\\n");
    case '\t': return (size_t)sprintf(buf, "\\t");
    case '\r': return (size_t)sprintf(buf, "\\r");
    case '\0': return (size_t)sprintf(buf, "\\0");
    case '\\': return (size_t)sprintf(buf, "\\\\");
    default:
        if (c == (unsigned char)quote) return (size_t)sprintf(buf, "\\%c", quote);
        if (c < 0x20 || c == 0x7f) return (size_t)sprintf(buf, "\\x%02x", c);
        buf[0] = (char)c;
        return 1;
    }
}

void render_show_char(int value) {
    char body[8];
    size_t n = escape_char(body, (unsigned char)value, '\'');
    body[n] = '\0';
    char *text;
    if (asprintf(&text, "'%s'", body) >= 0) set_shown(text);
}

void render_show_int(long long value) {
    char *text;
    if (asprintf(&text, "%lld", value) >= 0) set_shown(text);
}

void render_show_uint(unsigned long long value) {
    char *text;
    if (asprintf(&text, "%llu", value) >= 0) set_shown(text);
}

/* The shortest decimal that reads back as the same value, and always recognisably floating. */
void render_show_double(double value, int is_float) {
    char buf[64];
    int max = is_float ? 9 : 17;
    for (int precision = 1; precision <= max; precision++) {
        snprintf(buf, sizeof buf, "%.*g", precision, value);
        double back = strtod(buf, NULL);
        if (is_float ? (float)back == (float)value : back == value) break;
    }
    if (!strpbrk(buf, ".eni")) strcat(buf, ".0");  /* 3 -> 3.0; inf and nan stay */
    set_shown(strdup(buf));
}

void render_show_string(const char *value) {
    if (!value) {
        set_shown(strdup("NULL"));
        return;
    }
    size_t len = strlen(value), cap = len * 4 + 3;
    char *text = malloc(cap);
    if (!text) return;
    size_t o = 0;
    text[o++] = '"';
    for (size_t i = 0; i < len; i++) o += escape_char(text + o, (unsigned char)value[i], '"');
    text[o++] = '"';
    text[o] = '\0';
    set_shown(text);
}

void render_show_pointer(const void *value) {
    char *text;
    if (!value) set_shown(strdup("NULL"));
    else if (asprintf(&text, "%p", value) >= 0) set_shown(text);
}

void render_show_opaque(unsigned long size) {
    char *text;
    if (asprintf(&text, "<value of %lu bytes>", size) >= 0) set_shown(text);
}

void render_show_exit_status(int status) {
    char *text;
    if (asprintf(&text, "exit status %d", status) >= 0) set_shown(text);
}

const char render_prelude[] =
    "void render_show_bool(int);\n"
    "void render_show_char(int);\n"
    "void render_show_int(long long);\n"
    "void render_show_uint(unsigned long long);\n"
    "void render_show_double(double, int);\n"
    "void render_show_string(const char *);\n"
    "void render_show_pointer(const void *);\n"
    "void render_show_opaque(unsigned long);\n"
    "void render_show_exit_status(int);\n"
    "void *__cl_copy(void *, const void *, unsigned long);\n"
    "#define __CL_SHOW_SCALARS(e) \\\n"
    "  _Bool: render_show_bool((int)(e)), char: render_show_char((int)(e)), \\\n"
    "  signed char: render_show_int((long long)(e)), unsigned char: render_show_uint((e)), \\\n"
    "  short: render_show_int((e)), unsigned short: render_show_uint((e)), \\\n"
    "  int: render_show_int((e)), unsigned int: render_show_uint((e)), \\\n"
    "  long: render_show_int((e)), unsigned long: render_show_uint((e)), \\\n"
    "  long long: render_show_int((e)), unsigned long long: render_show_uint((e)), \\\n"
    "  float: render_show_double((e), 1), double: render_show_double((e), 0), \\\n"
    "  long double: render_show_double((double)(e), 0), \\\n"
    "  char *: render_show_string((const char *)(e)), \\\n"
    "  const char *: render_show_string((const char *)(e))\n"
    "#define __CL_SHOW(e) _Generic((e), __CL_SHOW_SCALARS(e), default: render_show_pointer((const void *)(e)))\n"
    "#define __CL_SHOW_OPAQUE(e) _Generic((e), __CL_SHOW_SCALARS(e), default: render_show_opaque(sizeof(e)))\n";
