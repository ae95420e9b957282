/* test_jit.c — the notebook-as-one-C-file rules, cell after cell, in one process. */
#include <stdlib.h>

#include "check.h"
#include "jit.h"
#include "render.h"

static jit *notebook;
static int cell_number;

/* Runs a cell; returns its shown value (malloc'd) or "" when none; NULL on a compile error,
 * with the errors left in last_errors. */
static char last_errors[4096];
static char *run(const char *code) {
    jit_cell c;
    jit_compile(notebook, code, ++cell_number, true, &c);
    last_errors[0] = '\0';
    if (!c.ok) {
        snprintf(last_errors, sizeof last_errors, "%s", c.errors ? c.errors : "");
        jit_cell_clear(&c);
        return NULL;
    }
    c.run();
    char *value = c.has_value ? render_take() : NULL;
    jit_cell_clear(&c);
    return value ? value : strdup("");
}

static void expect(const char *code, const char *want) {
    char *got = run(code);
    if (!got) fprintf(stderr, "compile error in <%s>:\n%s", code, last_errors);
    CHECK_STR(got, want);
    free(got);
}

static void expect_error(const char *code, const char *fragment) {
    char *got = run(code);
    CHECK(got == NULL);
    if (!strstr(last_errors, fragment)) fprintf(stderr, "errors <%s> lack <%s>\n", last_errors, fragment);
    CHECK(strstr(last_errors, fragment) != NULL);
    free(got);
}

static void test_definitions_persist(void) {
    expect("#include <stdio.h>\n#include <string.h>\n#define GREETING \"hi\"\n"
           "typedef struct point { int x, y; } point;\nunion num { int i; float f; };\n"
           "enum color { RED, GREEN, BLUE };\nint counter;\nstatic int hidden = 7;\n"
           "static int helper(int v) { return v + hidden; }\nvoid inc(void) { counter++; }",
           "");
    expect("point p = {3, 4};\nunion num u = {.i = 5};\nenum color c = BLUE;\ninc(); inc();\n"
           "counter + p.y + u.i + c + helper(0) + (int)strlen(GREETING)",
           "22");  /* 2 + 4 + 5 + 2 + 7 + 2 */
}

static void test_statements_in_order(void) {
    expect("char trail[32] = \"\";\nvoid mark(const char *s) { strcat(trail, s); }", "");
    expect("mark(\"a\");\nint compute(void) { mark(\"b\"); return 41; }\nint n = compute() + 1;\n"
           "mark(\"c\");\ntrail", "\"abc\"");
    expect("n", "42");
    expect("for (int i = 0; i < 3; i++) counter += 10;\nif (counter > 0) mark(\"d\"); else mark(\"x\");\ntrail",
           "\"abcd\"");
}

/* Each global whose initializer tcc refuses costs the JIT one more compile: a cell may have
 * many (a lab's set-up cell did; it once stopped at the seventh). */
static void test_many_run_time_initializers(void) {
    expect("int one_more(void) { static int calls; return ++calls; }", "");
    char cell[2048] = "";
    for (int i = 1; i <= 30; i++) {
        char line[64];
        snprintf(line, sizeof line, "int many_%d = one_more();\n", i);
        strcat(cell, line);
    }
    strcat(cell, "many_1 + many_30");
    expect(cell, "31");  /* run in order: 1 and 30 */
}

/* A macro that opens a block (CL_WITH_GIL { ... }) may end a cell: it is run, not shown. */
static void test_block_macro_last(void) {
    expect("#define TWICE for (int twice_i = 0; twice_i < 2; twice_i++)\nint block_runs = 0;", "");
    expect("TWICE { block_runs++; }", "");
    expect("block_runs", "2");
}

static void test_redefinition(void) {
    expect("int twice(int v) { return 2 * v; }\nint call_twice(int v) { return twice(v); }\ncall_twice(5)",
           "10");
    expect("int twice(int v) { return 3 * v; }\ntwice(5)", "15");
    expect("call_twice(5)", "15");  /* an earlier caller reaches the new body */
    expect("int total = 100;\nint read_total(void) { return total; }", "");
    expect("int total = 5;\nread_total()", "5");  /* same storage: the old function sees it */
    expect("typedef int number;\nnumber k = 3;\nk", "3");
    expect("typedef double number;\nnumber z = 1.5;\nz", "1.5");
    expect("struct pair { int a; };\nstruct pair q1 = {1};\nq1.a", "1");
    expect("struct pair { int a, b; };\nstruct pair q2 = {1, 2};\nq2.b", "2");
    expect("enum mode { OFF, ON };\nON", "1");
    expect("enum mode { IDLE, BUSY, DONE };\nDONE", "2");
    expect("#define LIMIT 10\nLIMIT", "10");
    expect("#define LIMIT 20\nLIMIT", "20");
    expect("int later(int);\nint use_later(void) { return later(4); }", "");
    expect("int later(int v) { return v * 100; }\nuse_later()", "400");
}

static void test_rendering(void) {
    expect("int fib(int k) { return k < 2 ? k : fib(k - 1) + fib(k - 2); }\nfib(20)", "6765");
    expect("3.0 / 7", "0.42857142857142855");
    expect("1.0f / 3", "0.33333334");
    expect("2.0", "2.0");
    expect("\"text\"", "\"text\"");
    expect("\"tab\\there\\n\"", "\"tab\\there\\n\"");
    expect("char letter = 'a';\nletter", "'a'");
    expect("_Bool yes = 1;\nyes", "true");
    expect("unsigned long big = 18446744073709551615UL;\nbig", "18446744073709551615");
    expect("-5", "-5");
    expect("(char *)0", "NULL");
    char *addr = run("&counter");
    CHECK(addr && strncmp(addr, "0x", 2) == 0);
    free(addr);
    expect("p", "{.x = 3, .y = 4}");
    expect("counter;", "");  /* a trailing semicolon shows nothing */
    expect("int greetings = 0;\nvoid greet(void) { greetings++; }\ngreet()", "");  /* runs, shows nothing */
    expect("greetings", "1");
}

static void test_conditionals(void) {
    expect("#if 0\nmark(\"hidden\");\n#endif\n#ifdef NEVER_DEFINED_HERE\nmark(\"no\");\n#else\nmark(\"e\");\n#endif\ntrail",
           "\"abcde\"");
    expect("#ifdef NEVER_DEFINED_HERE\nint branch = 1;\nint which(void) { return 1; }\n#define PICKED 1\n#else\n"
           "int branch = 2;\nint which(void) { return 2; }\n#define PICKED 2\n#endif", "");
    expect("branch * 100 + which() * 10 + PICKED", "222");  /* later cells see the branch taken */
}

static void test_compile_errors(void) {
    expect_error("int ok = 1;\nint broken = ;", "cell[");
    char want[32];
    snprintf(want, sizeof want, "cell[%d]:2:", cell_number + 1);
    expect_error("int fine = 1;\nundeclared_thing + 1;", want);
    expect_error("int f(void) {", "never closed");
    expect_error("no_such_function_anywhere();", "no_such_function_anywhere");
    expect("counter = 1;\ncounter", "1");  /* the notebook still works */
}

/* A header included again after a cell used its types (notebooks repeat includes). */
static void test_repeated_includes(void) {
    expect("#include <stdio.h>", "");
    expect("FILE *log_file = 0;", "");
    expect("#include <stdio.h>\nlog_file == 0", "1");
    expect("#include <pthread.h>\npthread_t worker_id;", "");
    expect("#include <pthread.h>\n#include <stdio.h>\n(int)sizeof worker_id", "8");
}

/* Globals of earlier cells as memory operands of floating-point instructions: tcc used to read
 * a PLT stub there (`3.0 / y` was 6.5e+296). The full matrix is tests/protocol/test_cross_cell.py. */
static void test_earlier_doubles(void) {
    expect("#include <stdio.h>\ndouble y = 2.0;\nfloat fy = 4.0f;", "");
    expect("3.0 / y", "1.5");
    expect("-y", "-2.0");
    expect("10.0 - y", "8.0");
    expect("double scale(double v) { return v * y + fy; }\nscale(1.5)", "7.0");
    expect("double y = 2.0;\n1.0 / y", "0.5");  /* the same cell run again */
    expect("double y = 2.0;\n1.0 / y", "0.5");
}

/* A constant offset that cannot reach its global from the cell's code: libtcc would exit(1);
 * the cell gets a compile error and the notebook carries on. */
static void test_unreachable_relocation(void) {
    expect("double far_away[4] = {1, 2, 3, 4};", "");
    expect_error("double beyond(double v) { return v * far_away[-268435455]; }", "more than 2 GiB");
    expect("far_away[3] * 2", "8.0");
}

/* A cell is compiled against what its text reaches: through macros, types and prototypes of
 * earlier cells too, and against everything when a macro pastes names together. */
static void test_prelude_reaches_what_the_cell_uses(void) {
    expect("typedef struct { int a, b; } reach_pair;\nreach_pair reach_make(int a) { reach_pair p = {a, 2 * a}; return p; }", "");
    expect("#define REACH_SUM(p) ((p).a + (p).b)\nint reach_total(void) { return REACH_SUM(reach_make(5)); }", "");
    expect("reach_total()", "15");                     /* a function whose prototype names a type */
    expect("#define REACH_CALL(name) reach_##name()", "");
    expect("REACH_CALL(total)", "15");                 /* a name made by ## */
    expect("#define REACH_LIMIT 7\nint reach_array[REACH_LIMIT];", "");
    expect("(int)(sizeof reach_array / sizeof reach_array[0])", "7");  /* a macro inside a declaration */
    expect("enum reach_color { REACH_RED = 3, REACH_BLUE = 5 };\nenum reach_color reach_pick = REACH_BLUE;", "");
    expect("reach_pick - REACH_RED", "2");
    expect("#define NDEBUG 1\n#include <assert.h>", "");
    expect("assert(0 && \"NDEBUG from an earlier cell is defined before <assert.h>\");\n1", "1");
}

/* The common headers need no #include, and only the ones a cell uses are parsed. */
static void test_prelude_headers(void) {
    expect("(int)strlen(\"four\") + abs(-2) + (int)sqrt(16.0) + (true ? 1 : 0)", "11");
    expect("uint64_t prelude_big = UINT64_MAX;\nprelude_big == 18446744073709551615ULL", "1");
    expect("cl_cpu_count() > 0", "1");
    /* attributes survive glibc's headers: the same sizes as gcc's */
    expect("struct prelude_packed { char c; int i; } __attribute__((packed));\n"
           "struct prelude_aligned { long v; } __attribute__((aligned(64)));\n"
           "printf(\"%zu %zu\\n\", sizeof(struct prelude_packed), sizeof(struct prelude_aligned));\n"
           "(int)(sizeof(struct prelude_packed) * 100 + sizeof(struct prelude_aligned))", "564");
    jit_set_prelude(notebook, false);  /* %prelude off: as in a C file, strlen is undeclared */
    jit_cell c;
    jit_compile(notebook, "int prelude_off_probe(void) { return (int)strlen(\"x\"); }", ++cell_number, true, &c);
    CHECK(c.ok && c.warnings && strstr(c.warnings, "implicit declaration of function 'strlen'"));
    jit_cell_clear(&c);
    jit_set_prelude(notebook, true);
}

/* Floating point as Python's repr writes it: shortest round trip, fixed from 1e-4 to 1e16. */
static void test_rendering_numbers(void) {
    static const char *const cases[][2] = {
        {"10.0", "10.0"}, {"1500.0", "1500.0"}, {"0.1", "0.1"}, {"1e+300", "1e+300"}, {"1e16", "1e+16"},
        {"1e15", "1000000000000000.0"}, {"0.0001", "0.0001"}, {"0.00001", "1e-05"}, {"1.5e-5", "1.5e-05"},
        {"-0.0", "-0.0"}, {"0.1 + 0.2", "0.30000000000000004"}, {"1.0 / 3", "0.3333333333333333"},
        {"2.5f", "2.5"}, {"0.1f", "0.1"}, {"(float)(1.0 / 3)", "0.33333334"}, {"123456789.0", "123456789.0"},
        {"1.0 / 0.0", "inf"}, {"-1.0 / 0.0", "-inf"}, {"0.0 / 0.0", "nan"}, {"3.0L", "3.0"},
        {"0.1L", "0.1"}, {"1.0L / 3", "0.33333333333333333334"}, {"5e-324", "5e-324"},
        {"1.7976931348623157e308", "1.7976931348623157e+308"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) expect(cases[i][0], cases[i][1]);
}

/* Arrays by element, char arrays as strings, structs and unions by member, nested. */
static void test_rendering_aggregates(void) {
    expect("int squares[4] = {1, 4, 9, 16};\nsquares", "{1, 4, 9, 16}");
    expect("char greeting[16] = \"hello\";\ngreeting", "\"hello\"");
    expect("double grid[2][3] = {{1, 2, 3}, {4.5, 5, 6}};\ngrid", "{{1.0, 2.0, 3.0}, {4.5, 5.0, 6.0}}");
    expect("grid[1]", "{4.5, 5.0, 6.0}");
    expect("int many[150];\nfor (int i = 0; i < 150; i++) many[i] = i;\nmany",
           "{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, "
           "26, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40, 41, 42, 43, 44, 45, 46, 47, 48, 49, "
           "50, 51, 52, 53, 54, 55, 56, 57, 58, 59, 60, 61, 62, 63, 64, 65, 66, 67, 68, 69, 70, 71, 72, 73, "
           "74, 75, 76, 77, 78, 79, 80, 81, 82, 83, 84, 85, 86, 87, 88, 89, 90, 91, 92, 93, 94, 95, 96, 97, "
           "98, 99, …}");
    expect("struct vec { int x; double y; };\nstruct vec v = {1, 2.5};\nv", "{.x = 1, .y = 2.5}");
    expect("struct seg { struct vec from, to; char name[8]; int tags[2]; };\n"
           "struct seg s = {{1, 2}, {3, 4.25}, \"ab\", {7, 8}};\ns",
           "{.from = {.x = 1, .y = 2.0}, .to = {.x = 3, .y = 4.25}, .name = \"ab\", .tags = {7, 8}}");
    expect("struct vec make_vec(int x) { struct vec r = {x, x / 2.0}; return r; }\nmake_vec(3)", "{.x = 3, .y = 1.5}");
    expect("typedef struct { unsigned char r, g, b; } rgb;\nrgb red = {255, 0, 0};\nred", "{.r = 255, .g = 0, .b = 0}");
    expect("union bits { int i; float f; };\nunion bits u = {.f = 1.0f};\nu", "{.i = 1065353216, .f = 1.0}");
    expect("struct vec pair_of[2] = {{1, 1.5}, {2, 2.5}};\npair_of", "{{.x = 1, .y = 1.5}, {.x = 2, .y = 2.5}}");
    expect("struct flags { int on : 1; int mode : 3; char *label; };\nstruct flags fl = {1, 2, \"x\"};\nfl",
           "{.on = <bit-field>, .mode = <bit-field>, .label = \"x\"}");
    expect("struct timed { struct timespec at; long n; };\nstruct timed tm0 = {{1, 2}, 3};\ntm0",
           "{.at = <value of 16 bytes>, .n = 3}");
    expect("struct timespec ts = {1, 2};\nts", "<value of 16 bytes>");  /* a header's struct */
    expect("char *text = \"a\\tb\";\ntext", "\"a\\tb\"");
    expect("(char *)0", "NULL");
    expect("_Bool yes = 1;\nyes", "true");
    expect("(char)'x'", "'x'");
    expect("'x'", "120");  /* a character constant is an int in C */
    expect("enum level2 { LOW2 = 1, HIGH2 = 9 };\nenum level2 lv = HIGH2;\nlv", "9");
}

/* A cell run again resets its variables in their old storage, whatever the initializer: plain
 * numbers and pointers are assigned, the rest (braces, macros that expand to braces, arrays,
 * structs, const) copied from a fresh value. */
static void test_rerun_initializers(void) {
    const char *cell = "#define ORIGIN {1, 2}\nstruct spot { int x, y; };\n"
                       "int ri_n = 3;\ndouble ri_d = 0.25;\nchar *ri_s = \"abc\";\nenum color ri_c = GREEN;\n"
                       "struct spot ri_p = ORIGIN;\nint ri_a[3] = {4, 5, 6};\nunsigned long ri_u = 7UL;\n"
                       "pthread_mutex_t ri_m = PTHREAD_MUTEX_INITIALIZER;\nint (*ri_f)(int) = twice;\n"
                       "int *const ri_k = &ri_n;";
    expect(cell, "");
    expect("ri_n = 30; ri_d = 9; ri_s = 0; ri_c = RED; ri_p.y = 20; ri_a[2] = 60; ri_u = 0; ri_f = 0;\n"
           "pthread_mutex_lock(&ri_m);", "");
    expect(cell, "");
    expect("pthread_mutex_trylock(&ri_m) == 0 && pthread_mutex_unlock(&ri_m) == 0", "1");  /* unlocked again */
    expect("ri_n + ri_d + ri_p.x + ri_p.y + ri_a[2] + ri_u + ri_c + ri_f(1) + *ri_k", "26.25");
    expect("ri_s", "\"abc\"");
}

int main(void) {
    notebook = jit_new();
    test_rendering_numbers();
    test_rendering_aggregates();
    test_prelude_headers();
    test_prelude_reaches_what_the_cell_uses();
    test_repeated_includes();
    test_earlier_doubles();
    test_unreachable_relocation();
    test_definitions_persist();
    test_statements_in_order();
    test_many_run_time_initializers();
    test_block_macro_last();
    test_redefinition();
    test_rerun_initializers();
    test_rendering();
    test_conditionals();
    test_compile_errors();
    jit_free(notebook);
    return check_summary("test_jit");
}
