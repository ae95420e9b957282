/* error_text.h — errors as malloc'd text handed back through a `char **err` out-parameter, the
 * convention of the kernel's parsers and servers (wire.h, connection.h, server.h). */
#ifndef CONCLAB_ERROR_TEXT_H
#define CONCLAB_ERROR_TEXT_H

#include <stdarg.h>

/* *err = the formatted text (malloc'd; NULL if even that failed); nothing when err is NULL. */
void error_set(char **err, const char *format, ...) __attribute__((format(printf, 2, 3)));

/* The same from a va_list, for helpers that set the error and return a status in one go. */
void error_vset(char **err, const char *format, va_list ap) __attribute__((format(printf, 2, 0)));

#endif
