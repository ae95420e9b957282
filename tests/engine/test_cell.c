/* test_cell.c — the cell splitter and the completeness check, item by item. */
#include <stdlib.h>

#include "check.h"
#include "cell.h"

static cell split(const char *code) {
    cell c;
    cell_error err;
    if (cell_split(code, NULL, &c, &err) != 0) {
        fprintf(stderr, "unexpected split error for <%s>: line %d: %s\n", code, err.line, err.text);
        c.items = NULL;
        c.n_items = 0;
    }
    return c;
}

/* One item of the given kind and name. */
static void expect_one(const char *code, cell_item_kind kind, const char *name) {
    cell c = split(code);
    CHECK(c.n_items == 1);
    if (c.n_items >= 1) {
        if (c.items[0].kind != kind)
            fprintf(stderr, "  <%s>: kind %s, want %s\n", code, cell_item_kind_name(c.items[0].kind),
                    cell_item_kind_name(kind));
        CHECK(c.items[0].kind == kind);
        if (name) CHECK_STR(c.items[0].name, name);
    }
    cell_free(&c);
}

static void test_kinds(void) {
    expect_one("#include <stdio.h>", ITEM_DIRECTIVE, NULL);
    expect_one("#define N 10", ITEM_DIRECTIVE, "N");
    expect_one("#define SQ(x) \\\n  ((x) * (x))", ITEM_DIRECTIVE, "SQ");
    expect_one("#undef N", ITEM_DIRECTIVE, "N");
    expect_one("struct node { struct node *next; };", ITEM_TYPE, "struct node");
    expect_one("typedef unsigned long ulong;", ITEM_TYPE, "ulong");
    expect_one("union u { int i; float f; };", ITEM_TYPE, "union u");
    expect_one("int fib(int n) { return n; }", ITEM_FUNCTION, "fib");
    expect_one("static inline int sq(int x) { return x * x; }", ITEM_FUNCTION, "sq");
    expect_one("struct p make(void) { struct p r = {0}; return r; }", ITEM_FUNCTION, "make");
    expect_one("int twice(int);", ITEM_PROTOTYPE, "twice");
    /* prototypes of functions returning pointers: a `*` outside the name's parentheses */
    expect_one("void *worker(void *arg);", ITEM_PROTOTYPE, "worker");
    expect_one("char*tight(void);", ITEM_PROTOTYPE, "tight");
    expect_one("const char **names_of(void);", ITEM_PROTOTYPE, "names_of");
    expect_one("struct pair *find_pair(int key);", ITEM_PROTOTYPE, "find_pair");
    expect_one("int (*pick(int which))(int);", ITEM_PROTOTYPE, "pick");
    expect_one("int *(plain)(int);", ITEM_PROTOTYPE, "plain");
    expect_one("int (*fp)(int);", ITEM_VARIABLE, "fp");
    expect_one("int (**table)(int);", ITEM_VARIABLE, "table");
    expect_one("int (*handlers[4])(int);", ITEM_VARIABLE, "handlers");
    expect_one("void (*handler)(int) = 0;", ITEM_VARIABLE, "handler");
    expect_one("pthread_t tid;", ITEM_VARIABLE, "tid");
    expect_one("cl_thread *t = cl_thread_start(f, NULL);", ITEM_VARIABLE, "t");
    /* a function returning a pointer to a type the splitter does not know (a header's typedef) */
    expect_one("cl_future *only_one(int job) { return NULL; }", ITEM_FUNCTION, "only_one");
    expect_one("cl_lock *const *locks_of(void) { return 0; }", ITEM_FUNCTION, "locks_of");
    expect_one("a * b(c);", ITEM_STATEMENT, NULL);
    expect_one("my_type *q;", ITEM_VARIABLE, "q");
    expect_one("const char *names[] = {\"a\", \"b\"};", ITEM_VARIABLE, "names");
    expect_one("unsigned long long big;", ITEM_VARIABLE, "big");
    expect_one("for (int i = 0; i < 3; i++) { f(i); }", ITEM_STATEMENT, NULL);
    expect_one("if (a) f(); else g();", ITEM_STATEMENT, NULL);
    expect_one("if (a) { f(); } else { g(); }", ITEM_STATEMENT, NULL);
    expect_one("if (a) {\n f();\n} else if (b) {\n x = 1;\n} else {\n g();\n}", ITEM_STATEMENT, NULL);
    expect_one("do { a++; } while (a < 5);", ITEM_STATEMENT, NULL);
    expect_one("p = (struct point){3, 4};", ITEM_STATEMENT, NULL);
    expect_one("{ int local = 1; f(local); }", ITEM_STATEMENT, NULL);
    /* a macro that opens a block, last in the cell: a statement, not a value to show */
    expect_one("CL_WITH_GIL { f(); }", ITEM_STATEMENT, NULL);
    expect_one("CL_WITH_LOCK(guard) { counter++; }", ITEM_STATEMENT, NULL);
    expect_one("struct { int x; } anonymous;", ITEM_VARIABLE, "anonymous");
    expect_one("counter++;", ITEM_STATEMENT, NULL);
    expect_one("cl_sleep(delay);", ITEM_STATEMENT, NULL);
    expect_one("cl_thread_join(t);", ITEM_STATEMENT, NULL);
    expect_one("size_of_t(3);", ITEM_STATEMENT, NULL);
    expect_one("cl_lock *guard;", ITEM_VARIABLE, "guard");
    expect_one("size_t const limit = 3;", ITEM_VARIABLE, "limit");
    expect_one("fib(20)", ITEM_EXPRESSION, NULL);
    expect_one("3.0 / 7", ITEM_EXPRESSION, NULL);
    expect_one("\"text\"", ITEM_EXPRESSION, NULL);
    expect_one("&counter", ITEM_EXPRESSION, NULL);
    expect_one("a * b", ITEM_EXPRESSION, NULL);
}

static void test_declarators(void) {
    cell c = split("static int a = 1, *b = &a, arr[3] = {1, 2, 3};");
    CHECK(c.n_items == 3);
    if (c.n_items == 3) {
        CHECK_STR(c.items[0].specifiers, "int");
        CHECK_STR(c.items[0].initializer, "1");
        CHECK_STR(c.items[1].declarator, "*b");
        CHECK_STR(c.items[1].initializer, "&a");
        CHECK_STR(c.items[2].name, "arr");
        CHECK_STR(c.items[2].initializer, "{1, 2, 3}");
    }
    cell_free(&c);

    c = split("typedef struct point { int x, y; } point;\npoint p = {1, 2};");
    CHECK(c.n_items == 3);  /* the tagged struct, the typedef, the variable */
    if (c.n_items == 3) {
        CHECK_STR(c.items[0].name, "struct point");
        CHECK_STR(c.items[1].name, "point");
        CHECK(c.items[2].kind == ITEM_VARIABLE);
        CHECK(c.items[2].line == 2);
    }
    cell_free(&c);

    c = split("enum color { RED, GREEN = 2, BLUE };");
    CHECK(c.n_items == 1 && c.items[0].n_also == 3);
    if (c.n_items == 1 && c.items[0].n_also == 3) CHECK_STR(c.items[0].also[2], "BLUE");
    cell_free(&c);

    c = split("static int f(int x) {\n  return x;\n}");
    CHECK(c.n_items == 1);
    if (c.n_items == 1) {
        CHECK_STR(c.items[0].prototype, "int f(int x)");
        CHECK_STR(c.items[0].prototype + c.items[0].name_offset, "f(int x)");
    }
    cell_free(&c);

    c = split("struct point { int x; } origin = {0};");
    CHECK(c.n_items == 2);
    if (c.n_items == 2) {
        CHECK(c.items[0].kind == ITEM_TYPE);
        CHECK_STR(c.items[1].specifiers, "struct point");
    }
    cell_free(&c);
}

static void test_order_and_lines(void) {
    cell c = split("int a = 1;\nprintf(\"%d\", a);\na = 2;\nint b = a;\nb");
    CHECK(c.n_items == 5);
    if (c.n_items == 5) {
        CHECK(c.items[0].kind == ITEM_VARIABLE && c.items[0].line == 1);
        CHECK(c.items[1].kind == ITEM_STATEMENT && c.items[1].line == 2);
        CHECK(c.items[2].kind == ITEM_STATEMENT && c.items[2].line == 3);
        CHECK(c.items[3].kind == ITEM_VARIABLE && c.items[3].line == 4);
        CHECK(c.items[4].kind == ITEM_EXPRESSION && c.items[4].line == 5);
    }
    cell_free(&c);
}

/* Each way a cell can fail to split, with the line and the words the error must carry. */
static void expect_split_error(const char *code, int line, const char *words) {
    cell c;
    cell_error err;
    memset(&err, 0x55, sizeof err);
    memset(&c, 0x55, sizeof c);
    CHECK(cell_split(code, NULL, &c, &err) == -1);
    if (err.line != line || !memchr(err.text, 0, sizeof err.text) || !strstr(err.text, words))
        fprintf(stderr, "  <%s>: line %d \"%.*s\", want line %d \"%s\"\n", code, err.line,
                (int)sizeof err.text, err.text, line, words);
    CHECK(err.line == line);
    CHECK(memchr(err.text, 0, sizeof err.text) && strstr(err.text, words));
    CHECK(c.items == NULL && c.n_items == 0);
    CHECK(cell_split(code, NULL, &c, NULL) == -1);  /* the error is optional */
}

static void test_errors(void) {
    expect_split_error("int f(void) {", 1, "'{' is never closed");
    expect_split_error("x = 1;\n}", 2, "unexpected '}'");
    expect_split_error("int a[3] = {1, 2, 3);", 1, "unexpected ')'");
    expect_split_error("char *s = \"open;", 1, "a string is never closed");
    expect_split_error("int x;\n\nchar c = 'a;", 3, "a character constant is never closed");
    expect_split_error("int x;\n/* a note\nthat goes on", 2, "comment is never closed");
    expect_split_error("void g(void) {\n  if (1) {\n    h(\n  }\n}", 4, "unexpected '}'");
    cell_error err;
    cell fine;
    CHECK(cell_split("int fine = 1;", NULL, &fine, &err) == 0);
    CHECK(err.line == 0 && err.text[0] == 0);
    cell_free(&fine);
}

static void test_completeness(void) {
    char indent[64];
    CHECK(cell_check_complete("printf(\"hi\\n\");", indent, sizeof indent) == CELL_COMPLETE);
    CHECK(cell_check_complete("int f(void) {", indent, sizeof indent) == CELL_INCOMPLETE);
    CHECK_STR(indent, "    ");
    CHECK(cell_check_complete("int f(void) {\n  if (x) {", indent, sizeof indent) == CELL_INCOMPLETE);
    CHECK_STR(indent, "        ");
    CHECK(cell_check_complete("f(1,", indent, sizeof indent) == CELL_INCOMPLETE);
    CHECK(cell_check_complete("/* open comment", indent, sizeof indent) == CELL_INCOMPLETE);
    CHECK(cell_check_complete("#define LONG 1 \\", indent, sizeof indent) == CELL_INCOMPLETE);
    CHECK(cell_check_complete("char *s = \"abc", indent, sizeof indent) == CELL_INCOMPLETE);
    CHECK(cell_check_complete("}", indent, sizeof indent) == CELL_INVALID);
    CHECK(cell_check_complete("f(]", indent, sizeof indent) == CELL_INVALID);
    CHECK(cell_check_complete("int x = 1; @", indent, sizeof indent) == CELL_INVALID);
    CHECK(cell_check_complete("char *s = \"}\"; // {", indent, sizeof indent) == CELL_COMPLETE);
    CHECK(cell_check_complete("", indent, sizeof indent) == CELL_COMPLETE);
}

int main(void) {
    test_kinds();
    test_declarators();
    test_order_and_lines();
    test_errors();
    test_completeness();
    return check_summary("test_cell");
}
