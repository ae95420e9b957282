/* test_export.c — export_program(): each rule of the notebook → C program export (issue 17,
 * item 1) on small cells, read as text. Whether the programs build and behave like the notebook
 * is export_check.py's business (gcc, conclab run). */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "export_program.h"

static char *notes;

/* The program for the given cells (numbered 1, 2, ...); notes land in `notes`. */
static char *export_cells(const char *const *sources, size_t n) {
    export_cell cells[16];
    for (size_t i = 0; i < n; i++) cells[i] = (export_cell){.source = sources[i], .number = (int)i + 1};
    free(notes);
    return export_program(cells, n, "lab.c", &notes);
}

#define HAS(text, part) CHECK(strstr((text), (part)) != NULL)
#define LACKS(text, part) CHECK(strstr((text), (part)) == NULL)

/* `part` comes before `later` in text */
static int before(const char *text, const char *part, const char *later) {
    const char *a = strstr(text, part), *b = strstr(text, later);
    return a && b && a < b;
}

static void test_layout(void) {
    const char *cells[] = {"int counter = 0;\nint twice(int x) { return 2 * x; }\n",
                           "counter = twice(21);\nprintf(\"%d\\n\", counter);\n"};
    char *p = export_cells(cells, 2);
    HAS(p, "#include <conclab.h>\n#include <stdio.h>");  /* the prelude */
    HAS(p, "#line 1 \"cell[1]\"\nint counter = 0;");
    HAS(p, "#line 2 \"cell[1]\"\nint twice(int x) { return 2 * x; }");
    HAS(p, "static void cell_2(void) {\n#line 1 \"cell[2]\"\ncounter = twice(21);\n#line 2 \"cell[2]\"\nprintf");
    LACKS(p, "static void cell_1(void)");  /* nothing to run in cell 1 */
    HAS(p, "int main(void) {\n    cell_2();\n    return 0;\n}");
    CHECK(before(p, "#line", "int main(void)"));
    CHECK(notes[0] == '\0');
    free(p);
}

static void test_run_time_initializers(void) {
    const char *cells[] = {"int limit = 10 * 4;\nstatic double t0 = cl_now();\nint *where = &limit;\n"
                           "int copy = limit;\nconst int fixed = copy + 1;\n",
                           "struct pair { int a, b; };\nstruct pair both = {copy, 2};\nint table[2] = {copy, 3};\n"
                           "int sized[] = {1, copy};\n"};
    char *p = export_cells(cells, 2);
    HAS(p, "int limit = 10 * 4;");                   /* a constant stays an initializer */
    HAS(p, "int *where = &limit;");                  /* so does an address */
    HAS(p, "static double t0;");                     /* a call: declared, then assigned */
    HAS(p, "t0 = cl_now();");
    HAS(p, "int copy;");                             /* reads a global */
    HAS(p, "copy = limit;");
    HAS(p, "int fixed;");                            /* const dropped, with a note */
    HAS(p, "fixed = copy + 1;");
    HAS(notes, "cell[1]:5: fixed is const");
    HAS(p, "both = (struct pair){copy, 2};");         /* a struct: a compound literal */
    HAS(p, "int table[2];");
    HAS(p, "{ int cell_value[2] = {copy, 3};\n  __builtin_memcpy(&table, &cell_value, sizeof table); }");
    HAS(p, "int sized[] = {1, copy};");              /* cannot be done: left for gcc to refuse */
    HAS(notes, "cell[2]:4: sized is an array without a size");
    free(p);
}

static void test_redefinitions(void) {
    const char *cells[] = {("int counter = 1;\n#define SCALE 10\nstruct point { int x; };\n"
                            "int describe(int x) { return x * SCALE; }\nint twice_described(void) { return describe(2); }\n"),
                           "int counter = 5;\n#define SCALE 100\nstruct point { int x; };\nint describe(int x) { return x; }\n",
                           "int counter;\nstruct point { double x; };\n"};
    char *p = export_cells(cells, 3);
    HAS(p, "int counter = 1;");
    HAS(p, "counter defined again: assigned where the cell runs");
    HAS(p, "#line 1 \"cell[2]\"\ncounter = 5;");
    HAS(p, "counter declared again: it is the same variable");
    HAS(p, "#undef SCALE\n#line 2 \"cell[2]\"\n#define SCALE 100");
    HAS(p, "struct point again, as before: left out");
    HAS(notes, "cell[3]:2: struct point is defined again differently");
    /* both definitions kept, reached through a pointer each defining cell sets */
    HAS(p, "int (*describe__current)(int x);");
    HAS(p, "#define describe (*describe__current)");
    CHECK(before(p, "#define describe (*describe__current)", "int describe__cell1(int x)"));
    HAS(p, "int describe__cell2(int x)");
    HAS(p, "static void cell_1(void) {\ndescribe__current = describe__cell1;");
    HAS(p, "static void cell_2(void) {\ndescribe__current = describe__cell2;");
    free(p);
}

static void test_cell_main_and_value(void) {
    const char *cells[] = {"int main(int argc, char **argv) {\n    return argc;\n}\n", "int main(void) { return 0; }\n",
                           "int x = 3;\nx * 2"};
    char *p = export_cells(cells, 3);
    HAS(p, "static int cell_1_main(int argc, char **argv)");
    HAS(p, "char arg0[] = \"cell[1]\";");
    HAS(p, "cell_1_main(1, argv);");
    HAS(p, "static int cell_2_main(void)");
    HAS(p, "cell_2_main();");
    HAS(p, "(void)(x * 2); /* Out[3] in the notebook */");
    CHECK(before(p, "cell_1();", "cell_2();"));
    free(p);
}

static void test_magics_and_languages(void) {
    const char *cells[] = {"%%time\nprintf(\"timed\\n\");\n", "%%timeit int waits = 0;\ncl_sleep(0.001);\nwaits++;\n", "%%bash\nls\n",
                           "printf?\nint shown = 1;\n", "%timeout 5\n%export lab.c\n"};
    char *p = export_cells(cells, 5);
    HAS(p, "// %%time\n");
    HAS(p, "#line 2 \"cell[1]\"\nprintf(\"timed\\n\");");  /* the C under the magic keeps its line */
    HAS(notes, "cell[2]: %%timeit: the program runs the cell's body once");
    HAS(p, "static void cell_2(void) {\n#line 1 \"cell[2]\"\nint waits = 0;\n#line 2 \"cell[2]\"\ncl_sleep(0.001);");
    HAS(p, "not exported: unknown magic %%bash");
    HAS(notes, "cell[3]: not exported: unknown magic %%bash");
    HAS(p, "// printf?\n");
    HAS(p, "int shown = 1;");
    HAS(p, "// %export lab.c\n");
    free(p);

    export_cell python[] = {{.source = "print('hi')\n", .number = 1, .language = "python"}};
    free(notes);
    p = export_program(python, 1, NULL, &notes);
    HAS(p, "not exported: a python cell, not C");
    HAS(p, "#line");  /* main's #line names the default file */
    HAS(p, "\"notebook.c\"");
    free(p);
}

static void test_prelude_and_conditionals(void) {
    const char *off[] = {"%prelude off\n#include <stdio.h>\n#ifdef VERBOSE\nint level = 2;\nprintf(\"loud\\n\");\n"
                         "#else\nint level = 1;\n#endif\nputs(\"done\");\n"};
    char *p = export_cells(off, 1);
    LACKS(p, "#include <conclab.h>");
    HAS(p, "#include <stdio.h>");
    /* the #if group stands around the definitions and, again, around the statements */
    HAS(p, "#line 3 \"cell[1]\"\n#ifdef VERBOSE\n#line 4 \"cell[1]\"\nint level = 2;\n#line 6 \"cell[1]\"\n#else\n"
           "#line 7 \"cell[1]\"\nint level = 1;\n#line 8 \"cell[1]\"\n#endif");
    HAS(p, "static void cell_1(void) {\n#line 3 \"cell[1]\"\n#ifdef VERBOSE\n#line 5 \"cell[1]\"\nprintf(\"loud\\n\");\n"
           "#line 6 \"cell[1]\"\n#else\n#line 8 \"cell[1]\"\n#endif");
    free(p);

    const char *types[] = {"typedef struct { int n; } box;\n", "box made = {3};\nbox copied = made;\n"};
    p = export_cells(types, 2);
    HAS(p, "box made = {3};");  /* cell 1's typedef makes this a declaration */
    HAS(p, "box copied;");
    HAS(p, "copied = made;");
    free(p);
}

/* What changed nothing in the notebook changes nothing in the program; %lockcheck carries over. */
static void test_bug_finding_magics(void) {
    const char *cells[] = {"%%tsan\nint from_tsan = 1;\nputs(\"under tsan\");\n",
                           "%%chaos --runs 20\nint made_in_chaos(void) { return 7; }\nputs(\"trial\");\n",
                           "%%chaos --seed 5\nputs(\"replayed\");\n",
                           "%lockcheck on\nputs(\"checked\");\n",
                           "puts(\"still checked\");\n",
                           "%lockcheck off\n"};
    char *p = export_cells(cells, 6);
    LACKS(p, "from_tsan");                              /* %%tsan: left out */
    HAS(notes, "cell[1]: not exported: %%tsan ran it outside the notebook");
    HAS(p, "int made_in_chaos(void) { return 7; }");    /* %%chaos trials: definitions stay... */
    LACKS(p, "puts(\"trial\")");                         /* ...statements do not run */
    HAS(notes, "cell[2]: %%chaos: its statements are not run");
    HAS(p, "puts(\"replayed\")");                       /* a replay is an ordinary run */
    HAS(p, "static void cell_4(void) {\n    cl_lockcheck_enable(1); /* %lockcheck on */");
    LACKS(p, "static void cell_5(void) {\n    cl_lockcheck_enable");  /* no change: nothing to do */
    HAS(p, "static void cell_6(void) {\n    cl_lockcheck_enable(0); /* %lockcheck off */");
    free(p);
    export_cell failed[2] = {{.source = "int kept = 1;\nputs(\"failing\");\n", .number = 1, .definitions_only = 1},
                             {.source = "puts(\"after\");\n", .number = 2}};
    free(notes);
    p = export_program(failed, 2, "lab.c", &notes);
    HAS(p, "int kept = 1;");                            /* a cell that failed on purpose keeps its definitions */
    LACKS(p, "puts(\"failing\")");
    HAS(p, "int main(void) {\n    cell_2();");
    free(p);
}

int main(void) {
    test_layout();
    test_run_time_initializers();
    test_redefinitions();
    test_cell_main_and_value();
    test_magics_and_languages();
    test_prelude_and_conditionals();
    test_bug_finding_magics();
    free(notes);
    return check_summary("test_export");
}
