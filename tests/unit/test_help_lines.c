/* test_help_lines.c — which lines of a cell are IPython-style help lines (`name?`, `name??`,
 * `?name`) and which are C that merely holds a '?': the conditional operator on one line or
 * split over several, strings, character constants, comments, macros. A help line is blanked
 * (the cell keeps its line numbers); anything else is left exactly as it was. */
#include <stdlib.h>

#include "check.h"
#include "help_lines.h"

/* "name:detail,name:detail" for the help lines of code, and the code as left. */
static void take(const char *code, char *asked, size_t asked_size, char **left) {
    help_query q[HELP_LINES_MAX];
    *left = strdup(code);
    size_t n = help_lines_take(*left, q, HELP_LINES_MAX);
    asked[0] = '\0';
    for (size_t i = 0; i < n && i < HELP_LINES_MAX; i++) {
        size_t used = strlen(asked);
        snprintf(asked + used, asked_size - used, "%s%s:%d", i ? "," : "", q[i].name, q[i].detail);
    }
}

/* code has help lines `want`; the code left is `want_left` (NULL: code itself). */
static void check_help(const char *code, const char *want, const char *want_left) {
    char asked[512], *left;
    take(code, asked, sizeof asked, &left);
    CHECK_STR(asked, want);
    CHECK_STR(left, want_left ? want_left : code);
    if (strlen(left) != strlen(code)) fprintf(stderr, "  the length changed for %s\n", code);
    free(left);
}

static void test_help_lines(void) {
    check_help("printf?", "printf:0", "       ");
    check_help("printf??", "printf:1", "        ");
    check_help("?malloc", "malloc:0", "       ");
    check_help("??malloc", "malloc:1", "        ");
    check_help("  sleep?  ", "sleep:0", "          ");
    check_help("int n = 1;\nn?\nprintf(\"%d\", n);", "n:0", "int n = 1;\n  \nprintf(\"%d\", n);");
    check_help("fork?\npthread_create??\n", "fork:0,pthread_create:1", "     \n                \n");
    check_help("#include <stdio.h>\nputs?", "puts:0", "#include <stdio.h>\n     ");
    check_help("void f(void) {\n  x?\n}", "x:0", "void f(void) {\n    \n}");
    check_help("p->next?", "p->next:0", "        ");
    check_help("s.field??", "s.field:1", "         ");
    check_help("printf? // what is it", "printf:0", "        // what is it");
    /* help, then C with a conditional operator: each '?' of the C has its ':' */
    check_help("printf?\nint x = a > b ? a : b;", "printf:0", "       \nint x = a > b ? a : b;");

    /* C that is not help */
    check_help("int x = a > b ? a : b;", "", NULL);
    check_help("int x = flag\n    ? 1 : 2;", "", NULL);
    check_help("int x = flag ?\n    1 : 2;", "", NULL);
    check_help("x = 0;\nflag?\n 1 : 2;", "", NULL);                /* an expression statement */
    check_help("x = 0;\nflag?\n f(a ? b : c) : d;", "", NULL);    /* nested conditional */
    check_help("int y = (flag\n?\n1 : 2);", "", NULL);
    check_help("char *s = \"what?\";", "", NULL);
    check_help("char *s = \"multi\\\nline?\";", "", NULL);
    check_help("char c = '?';", "", NULL);
    check_help("/* why?\nflag?\n*/", "", NULL);
    check_help("// flag?", "", NULL);
    check_help("#define PICK(a) (a)?\\\n  1 : 2", "", NULL);
    check_help("int v = 1 +\nflag?", "", NULL);                   /* not at a statement's start */
    check_help("f(a,\nb?", "", NULL);
    check_help("printf ?", "", NULL);                             /* '?' must touch the name */
    check_help("printf? x", "", NULL);                            /* something else on the line */
    check_help("printf???", "", NULL);
    check_help("1?", "", NULL);
    check_help("caf\xc3\xa9?", "", NULL);                          /* not an ASCII name */
    check_help("", "", NULL);
    check_help("?", "", NULL);

    /* many: all blanked, the first HELP_LINES_MAX reported */
    char code[2048] = "", want[2048] = "";
    for (int i = 0; i < HELP_LINES_MAX + 4; i++) {
        snprintf(code + strlen(code), sizeof code - strlen(code), "n%d?\n", i);
        if (i < HELP_LINES_MAX) snprintf(want + strlen(want), sizeof want - strlen(want), "%sn%d:0", i ? "," : "", i);
    }
    help_query q[HELP_LINES_MAX];
    char *copy = strdup(code);
    CHECK(help_lines_take(copy, q, HELP_LINES_MAX) == HELP_LINES_MAX + 4);
    CHECK(strspn(copy, " \n") == strlen(copy));
    free(copy);
    char asked[2048], *left;
    take(code, asked, sizeof asked, &left);
    CHECK_STR(asked, want);
    free(left);

    /* a very long name is cut, not overflowed */
    char long_name[HELP_NAME_MAX * 2 + 2];
    memset(long_name, 'a', sizeof long_name - 2);
    long_name[sizeof long_name - 2] = '?';
    long_name[sizeof long_name - 1] = '\0';
    copy = strdup(long_name);
    CHECK(help_lines_take(copy, q, 1) == 1 && strlen(q[0].name) == HELP_NAME_MAX - 1);
    free(copy);
}

int main(void) {
    test_help_lines();
    return check_summary("test_help_lines");
}
