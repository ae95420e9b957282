/* render.c — values as text, from their address and a description of their type. */
#define _GNU_SOURCE /* asprintf */
#include "render.h"

#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "strbuf.h"

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

/* ---------------------------------------------------------------- builtin types */

#define SCALAR(name, kind, ctype) static const render_type name = {kind, sizeof(ctype), 0, NULL, NULL, 0}
SCALAR(type_bool, RENDER_BOOL, _Bool);
SCALAR(type_char, RENDER_CHAR, char);
SCALAR(type_schar, RENDER_SCHAR, signed char);
SCALAR(type_uchar, RENDER_UCHAR, unsigned char);
SCALAR(type_short, RENDER_SHORT, short);
SCALAR(type_ushort, RENDER_USHORT, unsigned short);
SCALAR(type_int, RENDER_INT, int);
SCALAR(type_uint, RENDER_UINT, unsigned int);
SCALAR(type_long, RENDER_LONG, long);
SCALAR(type_ulong, RENDER_ULONG, unsigned long);
SCALAR(type_llong, RENDER_LLONG, long long);
SCALAR(type_ullong, RENDER_ULLONG, unsigned long long);
SCALAR(type_float, RENDER_FLOAT, float);
SCALAR(type_double, RENDER_DOUBLE, double);
SCALAR(type_ldouble, RENDER_LDOUBLE, long double);
SCALAR(type_string, RENDER_STRING, char *);
SCALAR(type_pointer, RENDER_POINTER, void *);
static const render_type type_bitfield = {RENDER_BITFIELD, 0, 0, NULL, NULL, 0};

/* render_prelude and the JIT's struct descriptors spell these kinds as numbers */
_Static_assert(RENDER_ARRAY == 18 && RENDER_STRUCT == 19 && RENDER_UNION == 20, "render_prelude's kinds");

const render_builtin render_builtins[] = {
    {"__cl_rt_bool", &type_bool}, {"__cl_rt_char", &type_char}, {"__cl_rt_schar", &type_schar},
    {"__cl_rt_uchar", &type_uchar}, {"__cl_rt_short", &type_short}, {"__cl_rt_ushort", &type_ushort},
    {"__cl_rt_int", &type_int}, {"__cl_rt_uint", &type_uint}, {"__cl_rt_long", &type_long},
    {"__cl_rt_ulong", &type_ulong}, {"__cl_rt_llong", &type_llong}, {"__cl_rt_ullong", &type_ullong},
    {"__cl_rt_float", &type_float}, {"__cl_rt_double", &type_double}, {"__cl_rt_ldouble", &type_ldouble},
    {"__cl_rt_string", &type_string}, {"__cl_rt_pointer", &type_pointer}, {"__cl_rt_bitfield", &type_bitfield},
    {NULL, NULL},
};

/* ---------------------------------------------------------------- numbers */

/* digits (no sign, no point) and the decimal point's position: value = 0.digits x 10^point */
static void place_digits(char *out, unsigned long size, int negative, const char *digits, int point) {
    char body[128];
    size_t n = strlen(digits);
    if (point <= -4 || point > 16) {  /* exponent form: 1e+16, 1.5e-05 */
        snprintf(body, sizeof body, "%c%s%se%c%02d", digits[0], n > 1 ? "." : "", n > 1 ? digits + 1 : "",
                 point - 1 < 0 ? '-' : '+', abs(point - 1));
    } else if (point <= 0) {  /* 0.0001 */
        snprintf(body, sizeof body, "0.%0*d%s", -point, 0, digits);
        if (point == 0) snprintf(body, sizeof body, "0.%s", digits);
    } else if ((size_t)point >= n) {  /* 1500.0 */
        snprintf(body, sizeof body, "%s%0*d.0", digits, point - (int)n, 0);
        if ((size_t)point == n) snprintf(body, sizeof body, "%s.0", digits);
    } else {  /* 3.25 */
        snprintf(body, sizeof body, "%.*s.%s", point, digits, digits + point);
    }
    snprintf(out, size, "%s%s", negative ? "-" : "", body);
}

/* From "%.*e" text ("-1.2345e+03"): the digits without trailing zeros, and the point's place. */
static int split_scientific(const char *text, char *digits, size_t size) {
    const char *p = text + (*text == '-');
    size_t n = 0;
    for (; *p && *p != 'e' && n + 1 < size; p++)
        if (*p != '.') digits[n++] = *p;
    digits[n] = '\0';
    while (n > 1 && digits[n - 1] == '0') digits[--n] = '\0';
    return (*p == 'e' ? atoi(p + 1) : 0) + 1;
}

static int special(char *out, unsigned long size, int negative, int is_nan, int is_inf) {
    if (is_nan) snprintf(out, size, "nan");
    else if (is_inf) snprintf(out, size, "%sinf", negative ? "-" : "");
    return is_nan || is_inf;
}

void render_format_double(char *out, unsigned long size, double value, int is_float) {
    if (special(out, size, signbit(value) != 0, isnan(value), isinf(value))) return;
    char text[64], digits[64];
    int max = is_float ? 9 : 17;
    for (int precision = 1; precision <= max; precision++) {
        snprintf(text, sizeof text, "%.*e", precision - 1, value);
        double back = strtod(text, NULL);
        if (is_float ? (float)back == (float)value : back == value) break;
    }
    int point = split_scientific(text, digits, sizeof digits);
    place_digits(out, size, signbit(value) != 0, digits, point);
}

static void format_long_double(char *out, unsigned long size, long double value) {
    if (special(out, size, signbit(value) != 0, isnan(value), isinf(value))) return;
    char text[80], digits[80];
    for (int precision = 1; precision <= 21; precision++) {
        snprintf(text, sizeof text, "%.*Le", precision - 1, value);
        if (strtold(text, NULL) == value) break;
    }
    int point = split_scientific(text, digits, sizeof digits);
    place_digits(out, size, signbit(value) != 0, digits, point);
}

/* ---------------------------------------------------------------- text */

typedef struct writer {
    strbuf text;
    int full;  /* RENDER_MAX_TEXT reached: "…" written, nothing more */
} writer;

static void put(writer *w, const char *s) {
    if (w->full) return;
    size_t n = strlen(s);
    if (w->text.len + n > RENDER_MAX_TEXT) {
        strbuf_add(&w->text, "…");
        w->full = 1;
        return;
    }
    strbuf_addn(&w->text, s, n);
}

/* One character as written inside a C literal quoted by `quote`. */
static void put_escaped(writer *w, unsigned char c, char quote) {
    char buf[8];
    switch (c) {
    case '\n': put(w, "\\n"); return;
    case '\t': put(w, "\\t"); return;
    case '\r': put(w, "\\r"); return;
    case '\0': put(w, "\\0"); return;
    case '\\': put(w, "\\\\"); return;
    default:
        if (c == (unsigned char)quote) snprintf(buf, sizeof buf, "\\%c", quote);
        else if (c < 0x20 || c == 0x7f) snprintf(buf, sizeof buf, "\\x%02x", c);
        else snprintf(buf, sizeof buf, "%c", c);
        put(w, buf);
    }
}

static void put_string(writer *w, const char *s, size_t max_len) {
    put(w, "\"");
    size_t i = 0;
    for (; i < max_len && s[i] && i < RENDER_MAX_STRING; i++) put_escaped(w, (unsigned char)s[i], '"');
    put(w, "\"");
    if (i == RENDER_MAX_STRING && i < max_len && s[i]) put(w, "…");
}

static void put_number(writer *w, const char *format, ...) __attribute__((format(printf, 2, 3)));
static void put_number(writer *w, const char *format, ...) {
    char buf[64];
    va_list ap;
    va_start(ap, format);
    vsnprintf(buf, sizeof buf, format, ap);
    va_end(ap);
    put(w, buf);
}

static void put_value(writer *w, const unsigned char *at, const render_type *t, int depth);

static void put_array(writer *w, const unsigned char *at, const render_type *t, int depth) {
    const render_type *e = t->element;
    if (e && e->kind == RENDER_CHAR) {  /* char name[16]: a string, up to its '\0' */
        put_string(w, (const char *)at, t->count);
        return;
    }
    put(w, "{");
    for (unsigned long i = 0; i < t->count && !w->full; i++) {
        if (i) put(w, ", ");
        if (i == RENDER_MAX_ELEMENTS) {
            put(w, "…");
            break;
        }
        put_value(w, at + i * (e ? e->size : 0), e, depth + 1);
    }
    put(w, "}");
}

static void put_fields(writer *w, const unsigned char *at, const render_type *t, int depth) {
    put(w, "{");
    for (unsigned long i = 0; i < t->n_fields && !w->full; i++) {
        const render_field *f = &t->fields[i];
        put(w, i ? ", ." : ".");
        put(w, f->name);
        put(w, " = ");
        if (f->type && f->type->kind == RENDER_BITFIELD) put(w, "<bit-field>");
        else put_value(w, at + f->offset, f->type, depth + 1);
    }
    put(w, "}");
}

static void put_pointer(writer *w, const void *p) {
    if (p) put_number(w, "%p", p);
    else put(w, "NULL");
}

static void put_value(writer *w, const unsigned char *at, const render_type *t, int depth) {
    char buf[96];
    if (!t) {
        put(w, "?");
        return;
    }
    if (depth > RENDER_MAX_DEPTH && (t->kind == RENDER_ARRAY || t->kind == RENDER_STRUCT || t->kind == RENDER_UNION)) {
        put(w, "{…}");
        return;
    }
    switch (t->kind) {
    case RENDER_BOOL: put(w, *(const _Bool *)at ? "true" : "false"); break;
    case RENDER_CHAR:
        put(w, "'");
        put_escaped(w, *at, '\'');
        put(w, "'");
        break;
    case RENDER_SCHAR: put_number(w, "%d", *(const signed char *)at); break;
    case RENDER_UCHAR: put_number(w, "%u", *(const unsigned char *)at); break;
    case RENDER_SHORT: put_number(w, "%d", *(const short *)at); break;
    case RENDER_USHORT: put_number(w, "%u", *(const unsigned short *)at); break;
    case RENDER_INT: put_number(w, "%d", *(const int *)at); break;
    case RENDER_UINT: put_number(w, "%u", *(const unsigned *)at); break;
    case RENDER_LONG: put_number(w, "%ld", *(const long *)at); break;
    case RENDER_ULONG: put_number(w, "%lu", *(const unsigned long *)at); break;
    case RENDER_LLONG: put_number(w, "%lld", *(const long long *)at); break;
    case RENDER_ULLONG: put_number(w, "%llu", *(const unsigned long long *)at); break;
    case RENDER_FLOAT: render_format_double(buf, sizeof buf, *(const float *)at, 1); put(w, buf); break;
    case RENDER_DOUBLE: render_format_double(buf, sizeof buf, *(const double *)at, 0); put(w, buf); break;
    case RENDER_LDOUBLE: format_long_double(buf, sizeof buf, *(const long double *)at); put(w, buf); break;
    case RENDER_STRING: {
        const char *s = *(const char *const *)at;
        if (s) put_string(w, s, (size_t)-1);
        else put(w, "NULL");
        break;
    }
    case RENDER_POINTER: put_pointer(w, *(const void *const *)at); break;
    case RENDER_ARRAY: put_array(w, at, t, depth); break;
    case RENDER_STRUCT:
    case RENDER_UNION: put_fields(w, at, t, depth); break;
    default: put_number(w, "<value of %lu bytes>", t->size);
    }
}

void render_show_value(const void *address, const render_type *type) {
    writer w = {{0}, 0};
    put_value(&w, address, type, 0);
    set_shown(strbuf_take(&w.text));
}

void render_show_opaque(unsigned long size) {
    char *text;
    if (asprintf(&text, "<value of %lu bytes>", size) >= 0) set_shown(text);
}

void render_show_exit_status(int status) {
    char *text;
    if (asprintf(&text, "exit status %d", status) >= 0) set_shown(text);
}

/* ---------------------------------------------------------------- the cells' side */

const char render_prelude[] =
    "typedef struct __cl_rtype { int kind; unsigned long size, count; const struct __cl_rtype *element;\n"
    "  const struct __cl_rfield *fields; unsigned long n_fields; } __cl_rtype;\n"
    "typedef struct __cl_rfield { const char *name; unsigned long offset; const __cl_rtype *type; } __cl_rfield;\n"
    "void render_show_value(const void *, const __cl_rtype *);\n"
    "void render_show_opaque(unsigned long);\n"
    "void render_show_exit_status(int);\n"
    "extern const __cl_rtype __cl_rt_bool, __cl_rt_char, __cl_rt_schar, __cl_rt_uchar, __cl_rt_short,\n"
    "  __cl_rt_ushort, __cl_rt_int, __cl_rt_uint, __cl_rt_long, __cl_rt_ulong, __cl_rt_llong, __cl_rt_ullong,\n"
    "  __cl_rt_float, __cl_rt_double, __cl_rt_ldouble, __cl_rt_string, __cl_rt_pointer, __cl_rt_bitfield;\n"
    /* an array (tcc's _Generic turns it into a pointer; 1 ? e : e does not, nor does __typeof__) */
    "#define __CL_IS_ARRAY(e) (!__builtin_types_compatible_p(__typeof__(e), __typeof__(1 ? (e) : (e))) && \\\n"
    "  _Generic((e), _Bool: 0, char: 0, signed char: 0, unsigned char: 0, short: 0, unsigned short: 0, \\\n"
    "  int: 0, unsigned int: 0, long: 0, unsigned long: 0, long long: 0, unsigned long long: 0, float: 0, \\\n"
    "  double: 0, long double: 0, default: 1))\n"
    /* selects yes or no by a constant: tcc does not type-check the _Generic branch it drops */
    "#define __CL_IF_ARRAY(e, yes, no) _Generic((char (*)[1 + __CL_IS_ARRAY(e)])0, char (*)[2]: yes, default: no)\n"
    /* a value that is not an array: a builtin type, one of the notebook's structs, or `other` */
    "#define __CL_SCALAR_OR(x, other) _Generic((x), _Bool: &__cl_rt_bool, char: &__cl_rt_char, \\\n"
    "  signed char: &__cl_rt_schar, unsigned char: &__cl_rt_uchar, short: &__cl_rt_short, \\\n"
    "  unsigned short: &__cl_rt_ushort, int: &__cl_rt_int, unsigned int: &__cl_rt_uint, long: &__cl_rt_long, \\\n"
    "  unsigned long: &__cl_rt_ulong, long long: &__cl_rt_llong, unsigned long long: &__cl_rt_ullong, \\\n"
    "  float: &__cl_rt_float, double: &__cl_rt_double, long double: &__cl_rt_ldouble, \\\n"
    "  char *: &__cl_rt_string, const char *: &__cl_rt_string, __CL_STRUCT_TYPES(x) default: other)\n"
    /* `other` is a pointer, checked: an unknown struct fails on !(x), and the JIT shows its size */
    "#define __CL_TYPE_OF_VALUE(x) __CL_SCALAR_OR(x, &__cl_rt_pointer + 0 * sizeof(!(x)))\n"
    /* a struct member the declaration shows is not a pointer: anything unknown is shown by size */
    "#define __CL_DATA_OF_VALUE(x) __CL_SCALAR_OR(x, (&(const __cl_rtype){0, sizeof(x), 0, 0, 0, 0}))\n"
    "#define __CL_ARRAY_OF(e, element) (&(const __cl_rtype){18, sizeof(e), sizeof(e) / sizeof((e)[0]), element, 0, 0})\n"
    /* up to three dimensions, each level spelled out: a macro does not expand inside itself */
    "#define __CL_TYPE1(e) __CL_IF_ARRAY(e, __CL_ARRAY_OF(e, __CL_TYPE_OF_VALUE((e)[0])), __CL_TYPE_OF_VALUE(e))\n"
    "#define __CL_TYPE2(e) __CL_IF_ARRAY(e, __CL_ARRAY_OF(e, __CL_TYPE1((e)[0])), __CL_TYPE_OF_VALUE(e))\n"
    "#define __CL_TYPE(e) __CL_IF_ARRAY(e, __CL_ARRAY_OF(e, __CL_TYPE2((e)[0])), __CL_TYPE_OF_VALUE(e))\n"
    "#define __CL_DATA1(e) __CL_IF_ARRAY(e, __CL_ARRAY_OF(e, __CL_DATA_OF_VALUE((e)[0])), __CL_DATA_OF_VALUE(e))\n"
    "#define __CL_DATA2(e) __CL_IF_ARRAY(e, __CL_ARRAY_OF(e, __CL_DATA1((e)[0])), __CL_DATA_OF_VALUE(e))\n"
    "#define __CL_DATA(e) __CL_IF_ARRAY(e, __CL_ARRAY_OF(e, __CL_DATA2((e)[0])), __CL_DATA_OF_VALUE(e))\n"
    /* the trailing expression: an array shown in place, anything else from a copy */
    "#define __CL_SHOW(e) __CL_IF_ARRAY(e, render_show_value(&(e), __CL_TYPE(e)), \\\n"
    "  ({ __typeof__(e) __cl_v = (e); render_show_value(&__cl_v, __CL_TYPE_OF_VALUE(__cl_v)); }))\n";
