/* check.c — cl_check (conclab/check.h): one line, ✓ or ✗, and a failed claim ends the cell. */
#define _GNU_SOURCE /* vasprintf */
#include "conclab/check.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "host_internal.h"

int cl_check(int ok, const char *format, ...) {
    char *text = NULL;
    va_list ap;
    va_start(ap, format);
    if (!format || vasprintf(&text, format, ap) < 0) text = NULL;
    va_end(ap);
    const char *claim = text ? text : "(the claim's text could not be formatted)";
    printf("%s %s\n", ok ? "\xe2\x9c\x93" : "\xe2\x9c\x97", claim); /* ✓ ✗ */
    fflush(stdout);
    if (!ok) cl__host_check_failed(claim); /* ends the cell, unless it runs in place */
    free(text);
    return ok != 0;
}
