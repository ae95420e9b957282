/* test_grading.c — the pure parts of kernel/grading: MD5 against known digests, nbgrader's
 * checksum against values Python's nbgrader recipe gives (points printed as Python prints a
 * float), the solution and hidden-test regions, and the checks that refuse a bad assignment. */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "grading.h"

static void md5_known_digests(void) {
    char hex[33];
    grading_md5_hex("", 0, hex);
    CHECK_STR(hex, "d41d8cd98f00b204e9800998ecf8427e");
    char hundred[100];
    memset(hundred, 'a', sizeof hundred);  /* crosses a 64-byte block and needs a second tail block */
    grading_md5_hex(hundred, sizeof hundred, hex);
    CHECK_STR(hex, "36a92cc94a9e0fa21f625f8bfb007adf");
    grading_md5_hex("The quick brown fox jumps over the lazy dog", 43, hex);
    CHECK_STR(hex, "9e107d9d372bb6826bd81d3542a419d6");
}

/* A grade cell worth `points`, whose checksum Python gave as `want`. */
static void checksum_of_grade_cell(double points, const char *want) {
    json_t *cell = json_pack("{s:s, s:[s], s:{s:{s:s, s:b, s:b, s:f}}}", "cell_type", "code", "source",
                             "cl_check(1, \"x\");\n", "metadata", "nbgrader", "grade_id", "q1", "grade", 1, "solution", 0,
                             "points", points);
    nbg_cell m;
    char *err = NULL, hex[33];
    CHECK(nbg_cell_read(cell, &m, &err) == 0);
    nbg_checksum(cell, &m, hex);
    CHECK_STR(hex, want);
    json_decref(cell);
}

static void checksums_match_nbgrader(void) {
    checksum_of_grade_cell(3, "02e5df3226dbd741e74e7e7c73e0729e");          /* "3.0" */
    checksum_of_grade_cell(0.5, "45ddfdf5dd498c5cd69ef008a48f0ae5");        /* "0.5" */
    checksum_of_grade_cell(2.5, "9cc312d6366e91d668ae14cd0c54a7b4");
    checksum_of_grade_cell(100000000, "bbe8c0cce098536edc63fef3d51a83b1");  /* "100000000.0", not 1e+08 */
    checksum_of_grade_cell(0.1, "1f9f58cc6defe92d7afb712ef12f425b");        /* "0.1", not 0.10000000000000001 */
}

static void solution_regions(void) {
    char *err = NULL;
    char *text = regions_clear_solution("int f(void) {\n    // BEGIN SOLUTION\n    return 42;\n    // END SOLUTION\n}\n",
                                        true, &err);
    CHECK_STR(text, "int f(void) {\n    cl_check(0, \"not answered yet: replace this line with your code\");\n}\n");
    free(text);
    text = regions_clear_solution("/* BEGIN SOLUTION */\nint x = 1;\n/* END SOLUTION */", true, &err);
    CHECK_STR(text, GRADING_CODE_STUB);
    free(text);
    text = regions_clear_solution("int whole = 1;\n", true, &err);  /* no markers: the whole cell */
    CHECK_STR(text, GRADING_CODE_STUB);
    free(text);
    text = regions_clear_solution("Intro\n### BEGIN SOLUTION\nBecause.\n### END SOLUTION\n", false, &err);
    CHECK_STR(text, "Intro\nYOUR ANSWER HERE\n");
    free(text);
    /* words in a string are not a marker */
    CHECK(!regions_has_marker("puts(\"BEGIN SOLUTION\");\n", "SOLUTION"));
    CHECK(regions_clear_solution("// BEGIN SOLUTION\nx;\n", true, &err) == NULL && strstr(err, "never ended"));
    free(err);
    err = NULL;
    CHECK(regions_clear_solution("x;\n// END SOLUTION\n", true, &err) == NULL && strstr(err, "without a BEGIN"));
    free(err);
}

static void hidden_regions(void) {
    char *err = NULL;
    bool had = false;
    char *text = regions_remove_hidden("a;\n// BEGIN HIDDEN TESTS\nsecret;\n// END HIDDEN TESTS\nb;\n", &had, &err);
    CHECK_STR(text, "a;\nb;\n");
    CHECK(had);
    free(text);
    text = regions_remove_hidden("a;\n", &had, &err);
    CHECK(!had);
    free(text);
}

static void hidden_lines_are_redacted(void) {
    const char *source = "x = f();\n// BEGIN HIDDEN TESTS\nif (f(0) != 0) fail(); // secret\n}\n// END HIDDEN TESTS\n";
    char *hidden = regions_hidden_text(source);
    CHECK_STR(hidden, "if (f(0) != 0) fail(); // secret\n}\n");
    char *shown = regions_redact("SIGSEGV at line 3\n  line 3:\n    if (f(0) != 0) fail(); // secret\n    ^\n}\n", hidden);
    /* the quoted line goes; "}" is too short to hide anything and stays */
    CHECK_STR(shown, "SIGSEGV at line 3\n  line 3:\n    [a line of a hidden test]\n    ^\n}\n");
    free(shown);
    free(hidden);
}

static void bad_assignments_are_refused(void) {
    json_t *nb = json_pack("{s:[{s:s, s:s, s:{s:{s:s, s:b}}}]}", "cells", "cell_type", "code", "source", "x;",
                           "metadata", "nbgrader", "grade_id", "t", "grade", 1);
    char *err = NULL;
    CHECK(assign_check_source(nb, &err) == -1 && strstr(err, "without points") && strstr(err, "cell 1"));
    free(err);
    json_decref(nb);
}

int main(void) {
    md5_known_digests();
    checksums_match_nbgrader();
    solution_regions();
    hidden_regions();
    hidden_lines_are_redacted();
    bad_assignments_are_refused();
    return check_summary("test_grading");
}
