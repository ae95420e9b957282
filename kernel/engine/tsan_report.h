/* tsan_report.h — ThreadSanitizer's reports, read from a program's stderr and retold for the
 * student (%%tsan): per report a headline naming what raced and where ("data race on `counter`
 * (cell[3], line 8)"), the two accesses with their thread, function, cell and line, where those
 * threads were started, and then TSan's own text, indented, below. Cells and lines come from the
 * `#line N "cell[k]"` directives of the exported program, as TSan's frames show them. Pure text
 * in, text out. */
#ifndef CONCLAB_TSAN_REPORT_H
#define CONCLAB_TSAN_REPORT_H

#include <jansson.h>

typedef struct tsan_findings {
    int reports;        /* "WARNING: ThreadSanitizer: ..." blocks */
    int races;          /* ... of which data races */
    char *first;        /* the first report's headline (malloc'd), or NULL */
    json_t *traceback;  /* the error output's lines, every report retold then folded (new ref) */
    char *rest;         /* the program's own stderr: everything outside the reports (malloc'd) */
} tsan_findings;

void tsan_read_reports(const char *text, tsan_findings *f);
void tsan_findings_clear(tsan_findings *f);

#endif
