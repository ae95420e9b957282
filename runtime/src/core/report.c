/* report.c — error lines on stderr; see report.h. */
#include "report.h"

#include <stdarg.h>
#include <stdio.h>
#include <unistd.h>

void cl_report(const char *call, const char *fmt, ...) {
    char line[4096]; /* the lock-order checker's reports are a few lines long */
    int n = snprintf(line, sizeof line, "%s: ", call);
    va_list ap;
    va_start(ap, fmt);
    n += vsnprintf(line + n, sizeof line - (size_t)n, fmt, ap);
    va_end(ap);
    if (n > (int)sizeof line - 2) n = (int)sizeof line - 2;
    line[n++] = '\n';
    /* stderr may hold buffered text from the caller: keep the order it was written in. */
    fflush(stderr);
    ssize_t written = write(STDERR_FILENO, line, (size_t)n);
    (void)written; /* nowhere left to report a failure to report */
}
