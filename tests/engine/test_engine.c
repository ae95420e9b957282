/* test_engine.c — the engine client against a real executor process: output, stdin, crashes,
 * interrupts, limits and restarts. This binary doubles as the executor (`test_engine executor
 * FD`), the way `conclab executor FD` does, since the client re-executes /proc/self/exe. */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "engine.h"
#include "executor.h"

typedef struct capture {
    char out[1 << 16], err[1 << 16], display[4096];
    size_t n_out, n_err;
    double first_out_at;
    int inputs_asked;
} capture;

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void on_stream(void *ctx, const char *name, const char *text, size_t len) {
    capture *c = ctx;
    int is_out = strcmp(name, "stdout") == 0;
    char *buf = is_out ? c->out : c->err;
    size_t *n = is_out ? &c->n_out : &c->n_err;
    if (is_out && c->first_out_at == 0) c->first_out_at = now_s();
    size_t room = sizeof c->out - 1 - *n;
    if (len > room) len = room;
    memcpy(buf + *n, text, len);
    *n += len;
    buf[*n] = '\0';
}

static void on_display(void *ctx, json_t *data, json_t *metadata, const char *display_id, bool update) {
    (void)metadata;
    (void)display_id;
    (void)update;
    capture *c = ctx;
    const char *text = json_string_value(json_object_get(data, "text/plain"));
    if (text) snprintf(c->display, sizeof c->display, "%s", text);
}

static char *on_input(void *ctx, const char *prompt, bool password) {
    (void)prompt;
    (void)password;
    ((capture *)ctx)->inputs_asked++;
    return strdup("21");
}

static engine *eng;
static int number;

static void run(capture *c, const char *code, bool allow_stdin, engine_outcome *out) {
    memset(c, 0, sizeof *c);
    engine_callbacks cb = {.on_stream = on_stream, .on_display = on_display, .on_input = on_input, .ctx = c};
    engine_request req = {code, ++number, allow_stdin, false};
    engine_execute(eng, &req, &cb, out);
}

/* Runs a cell that must succeed and returns its value ("" when none) in a static buffer. */
static const char *value_of(const char *code) {
    static char value[256];
    capture c;
    engine_outcome out;
    run(&c, code, false, &out);
    if (!out.ok) fprintf(stderr, "cell <%s> failed: %s: %s\n", code, out.ename, out.evalue);
    CHECK(out.ok);
    const char *v = out.result ? json_string_value(json_object_get(out.result, "text/plain")) : "";
    snprintf(value, sizeof value, "%s", v ? v : "");
    engine_outcome_clear(&out);
    return value;
}

static void expect_failure(const char *code, const char *ename_fragment) {
    capture c;
    engine_outcome out;
    run(&c, code, false, &out);
    CHECK(!out.ok);
    if (!out.ok && !strstr(out.ename, ename_fragment))
        fprintf(stderr, "cell <%s>: ename %s (%s), want %s\n", code, out.ename, out.evalue, ename_fragment);
    CHECK(!out.ok && strstr(out.ename, ename_fragment));
    engine_outcome_clear(&out);
}

static void test_state_survives_faults(void) {
    CHECK_STR(value_of("#include <stdio.h>\n#include <stdlib.h>\n#include <unistd.h>\n"
                       "int kept = 41;\nint bump(void) { return ++kept; }\nbump()"), "42");
    expect_failure("*(volatile int *)0 = 1;", "SIGSEGV");
    CHECK_STR(value_of("kept"), "42");
    expect_failure("abort();", "SIGABRT");
    expect_failure("#include <assert.h>\nassert(kept == 0);", "SIGABRT");
    expect_failure("#include <sys/mman.h>\nFILE *empty = tmpfile();\n"
                   "char *mapped = mmap(NULL, 4096, PROT_READ, MAP_SHARED, fileno(empty), 0);\n"
                   "printf(\"%d\", mapped[0]);", "SIGBUS");
    expect_failure("_exit(0);", "Exit");
    expect_failure("exit(3);", "Exit");
    expect_failure("int zero = 0;\nprintf(\"%d\", 1 / zero);", "SIGFPE");
    expect_failure("int deep(int n) { volatile char pad[256]; pad[0] = 1; return deep(n + 1) + pad[0]; }\ndeep(0);",
                   "SIGSEGV");
    CHECK_STR(value_of("bump()"), "43");
    expect_failure("int broken = ;", "CompileError");
    CHECK_STR(value_of("kept"), "43");
}

/* A crash names the cell and line it happened at, and the notebook functions it was in. */
static void test_crash_location(void) {
    CHECK_STR(value_of("int walk(int *p, int n) {\n  if (n == 0) return *p;\n  return walk(p, n - 1) + 1;\n}"), "");
    int defined_in = number;
    capture c;
    engine_outcome out;
    run(&c, "int unused_here = 0;\nwalk(NULL, 3);", false, &out);
    char where[64], frames[64], top[64];
    snprintf(where, sizeof where, "at cell[%d], line 2", number);
    snprintf(frames, sizeof frames, "in walk() from cell[%d] (4 frames)", defined_in);
    snprintf(top, sizeof top, "at the top level of cell[%d], line 2", number);
    char *tb = out.traceback ? json_dumps(out.traceback, 0) : NULL;
    CHECK(!out.ok && strstr(out.evalue, where));
    CHECK(tb && strstr(tb, frames) && strstr(tb, top));
    if (tb && !strstr(tb, frames)) fprintf(stderr, "traceback: %s\n", tb);
    free(tb);
    engine_outcome_clear(&out);
}

static void test_output(void) {
    capture c;
    engine_outcome out;
    run(&c, "printf(\"one\\n\");\nfflush(stdout);\nsleep(1);\nprintf(\"two\\n\");", false, &out);
    double done_at = now_s();
    CHECK(out.ok);
    CHECK_STR(c.out, "one\ntwo\n");
    CHECK(c.first_out_at > 0 && done_at - c.first_out_at > 0.8);  /* "one" arrived live */
    engine_outcome_clear(&out);

    run(&c, "fprintf(stderr, \"to stderr\\n\");\nif (fork() == 0) { printf(\"from child\\n\"); _exit(0); }\n"
            "sleep(1);", false, &out);
    CHECK(out.ok && strstr(c.err, "to stderr") && strstr(c.out, "from child"));
    engine_outcome_clear(&out);

    run(&c, "printf(\"\\xff\\xfe ok\\n\");", false, &out);
    CHECK(out.ok && strstr(c.out, "\xEF\xBF\xBD\xEF\xBF\xBD ok"));
    engine_outcome_clear(&out);

    /* warnings come first as a display, and the cell still runs */
    run(&c, "int *warn_p = 5;\nprintf(\"%d\\n\", warn_p == (int *)5);", false, &out);
    CHECK(out.ok && strcmp(c.out, "1\n") == 0);
    CHECK(strstr(c.display, "cell[") && strstr(c.display, "warning: assignment makes pointer from integer"));
    engine_outcome_clear(&out);

    /* a warning, then the error it led to */
    run(&c, "int cast_warning = (int)(long)\"x\"; int *bad = 3.0 ? 0 : 0; unused_call_warning();", false, &out);
    CHECK(!out.ok && strcmp(out.ename, "CompileError") == 0);
    CHECK(out.evalue && strstr(out.evalue, "undefined symbol 'unused_call_warning'"));
    CHECK(strstr(c.display, "implicit declaration of function 'unused_call_warning'"));
    engine_outcome_clear(&out);
}

static void test_output_limit(void) {
    capture c;
    engine_outcome out;
    run(&c, "for (;;) printf(\"flooding the notebook with a long line of output\\n\");", false, &out);
    CHECK(!out.ok && strcmp(out.ename, "OutputLimitExceeded") == 0);
    CHECK(strstr(c.err, "output limit") != NULL);
    engine_outcome_clear(&out);
    CHECK_STR(value_of("kept"), "43");
}

static void test_stdin(void) {
    capture c;
    engine_outcome out;
    run(&c, "int got = 0;\nscanf(\"%d\", &got);\ngot * 2", true, &out);
    CHECK(out.ok && c.inputs_asked == 1);
    CHECK(out.ok && strcmp(json_string_value(json_object_get(out.result, "text/plain")), "42") == 0);
    engine_outcome_clear(&out);
    run(&c, "char line[16];\nread(0, line, sizeof line) ", true, &out);
    CHECK(out.ok && c.inputs_asked == 1);
    engine_outcome_clear(&out);
    double start = now_s();
    run(&c, "int eof_seen = getchar() == EOF;\neof_seen", false, &out);
    CHECK(out.ok && c.inputs_asked == 0 && now_s() - start < 5);
    CHECK(out.ok && strcmp(json_string_value(json_object_get(out.result, "text/plain")), "1") == 0);
    engine_outcome_clear(&out);
}

static void *interrupt_later(void *arg) {
    usleep(300 * 1000);
    engine_interrupt(arg);
    return NULL;
}

static void expect_interrupted(const char *code) {
    pthread_t t;
    pthread_create(&t, NULL, interrupt_later, eng);
    double start = now_s();
    capture c;
    engine_outcome out;
    run(&c, code, false, &out);
    double took = now_s() - start;
    pthread_join(t, NULL);
    CHECK(!out.ok && strcmp(out.ename, "Interrupted") == 0);
    if (took > 1.3) fprintf(stderr, "interrupting <%s> took %.2f s\n", code, took);
    CHECK(took < 1.3);
    engine_outcome_clear(&out);
}

static void test_interrupt(void) {
    expect_interrupted("for (;;) {}");
    expect_interrupted("int fds[2]; pipe(fds); char ch; read(fds[0], &ch, 1);");
    expect_interrupted("for (int i = 0; i < 2; i++) if (fork() == 0) for (;;) {}\nfor (;;) {}");
    expect_interrupted("#include <sys/wait.h>\nfor (int i = 0; i < 2; i++) if (fork() == 0) for (;;) {}\n"
                       "while (wait(NULL) > 0) {}");
    expect_interrupted("#include <pthread.h>\nvoid *spin_forever(void *a) { (void)a; for (;;) {} return NULL; }\n"
                       "pthread_t spinner;\npthread_create(&spinner, NULL, spin_forever, NULL);\n"
                       "pthread_join(spinner, NULL);");
    expect_interrupted("pthread_mutex_t lock_a = PTHREAD_MUTEX_INITIALIZER, lock_b = PTHREAD_MUTEX_INITIALIZER;\n"
                       "void *grab_b_then_a(void *x) { (void)x; pthread_mutex_lock(&lock_b); usleep(100000);\n"
                       "  pthread_mutex_lock(&lock_a); return NULL; }\n"
                       "pthread_t other;\npthread_create(&other, NULL, grab_b_then_a, NULL);\n"
                       "pthread_mutex_lock(&lock_a);\nusleep(100000);\npthread_mutex_lock(&lock_b);");
    CHECK_STR(value_of("kept"), "43");
}

static void expect_error_text(const char *code, const char *ename, const char *evalue_fragment) {
    capture c;
    engine_outcome out;
    run(&c, code, false, &out);
    CHECK(!out.ok && strcmp(out.ename, ename) == 0 && strstr(out.evalue, evalue_fragment));
    if (out.ok || strcmp(out.ename, ename) != 0 || !strstr(out.evalue, evalue_fragment))
        fprintf(stderr, "<%s>: %s: %s\n", code, out.ename ? out.ename : "ok", out.evalue ? out.evalue : "");
    engine_outcome_clear(&out);
}

/* Runs in a fresh notebook (after test_restart): no threads are alive yet, so cells fork. */
static void test_magics(void) {
    capture c;
    engine_outcome out;
    run(&c, "%timeout 0.5", false, &out);
    CHECK(out.ok && strstr(c.out, "0.5 s"));
    engine_outcome_clear(&out);
    double start = now_s();
    expect_error_text("for (;;) {}", "TimeoutError", "0.5 s");
    CHECK(now_s() - start < 2);
    expect_error_text("%%timeout 0.2\nfor (;;) {}", "TimeoutError", "0.2 s");
    run(&c, "%timeout 0\n%limits", false, &out);
    CHECK(out.ok && strstr(c.out, "time per cell:   none") && strstr(c.out, "bounds checking: off") &&
          strstr(c.out, "prelude:         on"));
    engine_outcome_clear(&out);
    /* %prelude off: a cell includes what it uses, as a C file does */
    run(&c, "%prelude off", false, &out);
    CHECK(out.ok && strstr(c.out, "The prelude is off"));
    engine_outcome_clear(&out);
    run(&c, "int prelude_probe(void) { return (int)strlen(\"ab\"); }", false, &out);
    CHECK(out.ok && strstr(c.display, "implicit declaration of function 'strlen'"));
    engine_outcome_clear(&out);
    run(&c, "%prelude on\nprintf(\"%d\\n\", (int)strlen(\"abc\"));", false, &out);
    CHECK(out.ok && strcmp(c.out, "The prelude is on: cells may use <conclab.h>, <stdio.h>, <stdlib.h>, <string.h>, "
                                  "<stdbool.h>, <stdint.h> and <math.h> without including them.\n3\n") == 0);
    engine_outcome_clear(&out);
    expect_error_text("%prelude maybe", "MagicError", "%prelude takes on or off");
    expect_error_text("%nonsense", "MagicError", "unknown magic %nonsense");
    expect_error_text("%%timeout soon\nint never;", "MagicError", "number of seconds");
    /* the magic line is blanked, not removed: errors keep the cell's own line numbers */
    char want[32];
    snprintf(want, sizeof want, "cell[%d]:3:", number + 1);
    expect_error_text("%%timeout 5\nint fine = 1;\nint broken = ;", "CompileError", want);
}

static void test_bounds_checking(void) {
    CHECK_STR(value_of("#include <stdlib.h>\nint *heap_probe;"), "");
    char at[32];
    snprintf(at, sizeof at, "at cell[%d], line 3", number + 1);
    expect_error_text("%%bounds\nint *p = malloc(2 * sizeof *p);\np[3] = 1;", "BoundsError", at);
    snprintf(at, sizeof at, "at cell[%d], line 4", number + 1);
    expect_error_text("%%bounds\nint *q = malloc(8);\nfree(q);\nq[0] = 1;", "BoundsError", at);
    expect_error_text("%%bounds\nint *r = malloc(8);\nfree(r);\nfree(r);", "BoundsError", "bad free");
    CHECK_STR(value_of("%%bounds\nint *s = malloc(4 * sizeof *s);\nfor (int i = 0; i < 4; i++) s[i] = i;\ns[3]"), "3");
}

/* Threads a cell leaves running: the notebook is told, %threads lists them, and later cells
 * still work (in place, since a fork would lose the threads). */
static void test_threads_left_running(void) {
    capture c;
    engine_outcome out;
    run(&c, "#include <conclab.h>\nvoid *idle_loop(void *arg) { (void)arg; for (;;) cl_sleep(0.05); return NULL; }\n"
            "cl_thread *w1 = cl_thread_start(idle_loop, NULL);\ncl_thread *w2 = cl_thread_start(idle_loop, NULL);",
        false, &out);
    char want[64];
    snprintf(want, sizeof want, "2 threads started by cell [%d] are still running", number);
    CHECK(out.ok && strstr(c.display, want));
    if (!strstr(c.display, want)) fprintf(stderr, "display: <%s>\n", c.display);
    engine_outcome_clear(&out);
    int started_in = number;
    run(&c, "%threads", false, &out);
    snprintf(want, sizeof want, "from cell [%d]", started_in);
    CHECK(out.ok && strstr(c.out, want) && strstr(strstr(c.out, want) + 1, want));
    engine_outcome_clear(&out);
    CHECK_STR(value_of("int still_fine = 6;\nstill_fine * 7"), "42");
}

/* The memory and process limits end the offending cell only, and say which limit it was. */
static void test_resource_limits(void) {
    CHECK_STR(value_of("#include <string.h>\nint limits_kept = 5;"), "");
    capture c;
    engine_outcome out;
    run(&c, "for (;;) { char *p = malloc(32 << 20); memset(p, 1, 32 << 20); }", false, &out);
    CHECK(!out.ok && strcmp(out.ename, "MemoryLimitExceeded") == 0);
    CHECK(strstr(c.err, "memory limit reached") != NULL);
    engine_outcome_clear(&out);
    double start = now_s();
    expect_error_text("for (;;) fork();", "ProcessLimitExceeded", "more than 64 processes");
    CHECK(now_s() - start < 5);
    CHECK_STR(value_of("limits_kept"), "5");
}

static void test_restart(void) {
    CHECK(engine_restart(eng) == 0);
    expect_failure("kept", "CompileError");  /* the state is gone */
    CHECK_STR(value_of("int fresh = 7;\nfresh"), "7");
}

int main(int argc, char **argv) {
    if (argc == 3 && strcmp(argv[1], "executor") == 0) return executor_main(atoi(argv[2]));
    char *err = NULL;
    engine_options opts = {.output_limit = 256 << 10, .memory_limit = 256 << 20, .process_limit = 64};
    eng = engine_start(&opts, &err);
    CHECK(eng != NULL);
    if (!eng) {
        fprintf(stderr, "engine_start: %s\n", err);
        return 1;
    }
    test_state_survives_faults();
    test_crash_location();
    test_output();
    test_output_limit();
    test_stdin();
    test_interrupt();
    test_resource_limits();
    test_restart();
    test_magics();
    test_bounds_checking();
    test_threads_left_running();
    engine_free(eng);
    return check_summary("test_engine");
}
