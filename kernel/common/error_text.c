#define _GNU_SOURCE /* vasprintf */
#include "error_text.h"

#include <stdarg.h>
#include <stdio.h>

void error_set(char **err, const char *format, ...) {
    if (!err) return;
    va_list ap;
    va_start(ap, format);
    if (vasprintf(err, format, ap) < 0) *err = NULL;
    va_end(ap);
}
