/* test_tsan_report.c — TSan's stderr retold for %%tsan (tsan_report.h), and the magic's parsing.
 * The reports here are the shapes gcc 12's libtsan prints (captured from %%tsan programs, the
 * addresses shortened); what the protocol test cannot force — a race with the main thread on a
 * heap block, a report that is not a race, the program's own stderr around them — is here. */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "magics.h"
#include "tsan_report.h"

static const char heap_race_and_inversion[] =
    "starting\n"
    "==================\n"
    "WARNING: ThreadSanitizer: data race (pid=42)\n"
    "  Write of size 4 at 0x7b0400000010 by main thread:\n"
    "    #0 cell_5 ./cell[5]:9 (notebook+0x2620)\n"
    "    #1 main notebook.c:70 (notebook+0x2700)\n"
    "\n"
    "  Previous read of size 4 at 0x7b0400000010 by thread T1:\n"
    "    #0 reader cell[4]:3 (notebook+0x2400)\n"
    "    #1 thread_main <null> (libconclab.so+0x15528)\n"
    "\n"
    "  Location is heap block of size 16 at 0x7b0400000000 allocated by main thread:\n"
    "    #0 malloc ../../../../src/libsanitizer/tsan/tsan_interceptors_posix.cpp:647 (libtsan.so.2+0x3fd3a)\n"
    "    #1 cell_5 ./cell[5]:2 (notebook+0x2600)\n"
    "\n"
    "  Thread T1 'reader' (tid=44, running) created by main thread at:\n"
    "    #0 pthread_create ../../../../src/libsanitizer/tsan/tsan_interceptors_posix.cpp:1001 (libtsan.so.2+0x5e686)\n"
    "    #1 start <null> (libconclab.so+0x15378)\n"
    "    #2 cell_5 ./cell[5]:7 (notebook+0x2610)\n"
    "\n"
    "SUMMARY: ThreadSanitizer: data race cell[5]:9 in cell_5\n"
    "==================\n"
    "half way\n"
    "==================\n"
    "WARNING: ThreadSanitizer: lock-order-inversion (potential deadlock) (pid=42)\n"
    "  Cycle in lock order graph: M0 (0x7b0c00000000) => M1 (0x7b0c00000040) => M0\n"
    "\n"
    "  Mutex M1 acquired here while holding mutex M0 in thread T1:\n"
    "    #0 pthread_mutex_lock ../../../../src/libsanitizer/sanitizer_common/sanitizer_common_interceptors.inc:4324 (libtsan.so.2+0x53908)\n"
    "    #1 one_way ./cell[2]:4 (notebook+0x1300)\n"
    "\n"
    "SUMMARY: ThreadSanitizer: lock-order-inversion (potential deadlock) cell[2]:4 in one_way\n"
    "==================\n"
    "ThreadSanitizer: reported 2 warnings\n";

/* Is `want` one of the traceback's lines? */
static int has_line(const json_t *tb, const char *want) {
    for (size_t i = 0; i < json_array_size(tb); i++)
        if (strcmp(json_string_value(json_array_get(tb, i)), want) == 0) return 1;
    return 0;
}

static void test_reports_retold(void) {
    tsan_findings f;
    tsan_read_reports(heap_race_and_inversion, &f);
    CHECK(f.reports == 2);
    CHECK(f.races == 1);
    CHECK_STR(f.first, "data race on a heap block of 16 bytes (malloc'd) (cell[5], line 9)");
    CHECK(has_line(f.traceback, "data race on a heap block of 16 bytes (malloc'd) (cell[5], line 9)"));
    CHECK(has_line(f.traceback, "  write of 4 bytes by the main thread in cell_5() at cell[5], line 9"));
    CHECK(has_line(f.traceback, "  earlier, read of 4 bytes by reader (T1) in reader() at cell[4], line 3"));
    CHECK(has_line(f.traceback, "  reader (T1) was started at cell[5], line 7"));
    CHECK(has_line(f.traceback, "    SUMMARY: ThreadSanitizer: data race cell[5]:9 in cell_5"));
    /* a report that is not a race: its kind and first place in a cell */
    CHECK(has_line(f.traceback, "lock-order-inversion (potential deadlock) (cell[2], line 4)"));
    /* the program's own stderr stays its own; TSan's closing count goes */
    CHECK_STR(f.rest, "starting\nhalf way\n");
    tsan_findings_clear(&f);
}

static void test_nothing_reported(void) {
    tsan_findings f;
    tsan_read_reports("just the program\n==================\nnot a report\n", &f);
    CHECK(f.reports == 0 && f.first == NULL && json_array_size(f.traceback) == 0);
    CHECK_STR(f.rest, "just the program\n==================\nnot a report\n");
    tsan_findings_clear(&f);
}

static void test_magic(void) {
    notebook_settings nb = {0};
    cell_magics m;
    char *err = NULL;
    char code[] = "%%tsan\nint x = 1;\n";
    CHECK(magics_parse(code, &nb, &m, &err) == 0 && m.tsan);
    CHECK(strncmp(code, "      \nint x = 1;", 17) == 0);  /* blanked: the C keeps its line numbers */
    cell_magics_clear(&m);
    char bad[] = "%%tsan now\nint x;\n";
    CHECK(magics_parse(bad, &nb, &m, &err) == -1 && err && strstr(err, "%%tsan takes --only-this-cell or nothing"));
    free(err);
}

int main(void) {
    test_reports_retold();
    test_nothing_reported();
    test_magic();
    return check_summary("test_tsan_report");
}
