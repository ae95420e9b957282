/* report.h — how the runtime tells a student that a call went wrong: one line on stderr that
 * starts with the name of the call, so the message points at the line of their code. */
#ifndef CONCLAB_RUNTIME_REPORT_H
#define CONCLAB_RUNTIME_REPORT_H

/* Prints "call: message\n" to stderr in one write, so lines from threads do not interleave. */
__attribute__((visibility("hidden"), format(printf, 2, 3)))
void cl_report(const char *call, const char *fmt, ...);

#endif
