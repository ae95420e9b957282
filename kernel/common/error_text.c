#define _GNU_SOURCE /* vasprintf */
#include "error_text.h"

#include <stdarg.h>
#include <stdio.h>

void error_vset(char **err, const char *format, va_list ap) {
    if (err && vasprintf(err, format, ap) < 0) *err = NULL;
}

void error_set(char **err, const char *format, ...) {
    va_list ap;
    va_start(ap, format);
    error_vset(err, format, ap);
    va_end(ap);
}
