/* test_complete.c — completion and inspection logic from the outside: cursor arithmetic in code
 * points (with multibyte text before the cursor), what the cursor completes, matches from each
 * source, inspection texts, <conclab.h>-style docs and the scan of preprocessed headers. */
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "api_docs.h"
#include "complete.h"

static char tmpdir[] = "/tmp/conclab-test-complete-XXXXXX";

static void write_file(const char *name, const char *text) {
    char path[512];
    snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
    FILE *f = fopen(path, "w");
    CHECK(f != NULL);
    if (!f) return;
    fputs(text, f);
    fclose(f);
}

/* "a,b,c": the matches of a reply, to compare in one check. Consumes the reply. */
static const char *matches_of(json_t *reply) {
    static char buf[2048];
    size_t used = 0;
    buf[0] = '\0';
    json_t *matches = json_object_get(reply, "matches");
    for (size_t i = 0; i < json_array_size(matches) && used < sizeof(buf); i++)
        used += (size_t)snprintf(buf + used, sizeof(buf) - used, "%s%s", i ? "," : "",
                                 json_string_value(json_array_get(matches, i)));
    return buf;
}

static int reply_int(json_t *reply, const char *key) {
    return (int)json_integer_value(json_object_get(reply, key));
}

/* ---- cursor arithmetic ---- */

static void test_cursor_arithmetic(void) {
    const char *s = "a\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80z";  /* a é € 😀 z: 1+2+3+4+1 bytes */
    CHECK(complete_byte_offset(s, 0) == 0);
    CHECK(complete_byte_offset(s, 1) == 1);
    CHECK(complete_byte_offset(s, 2) == 3);
    CHECK(complete_byte_offset(s, 3) == 6);
    CHECK(complete_byte_offset(s, 4) == 10);
    CHECK(complete_byte_offset(s, 5) == 11);
    CHECK(complete_byte_offset(s, 99) == 11);  /* clamped to the end */
    CHECK(complete_byte_offset(s, -4) == 0);
    CHECK(complete_code_points(s, 11) == 5);
    CHECK(complete_code_points(s, 6) == 3);
    CHECK(complete_code_points(s, 0) == 0);
}

static void test_word_at(void) {
    /* a comment holding "café" before "pri", cursor at the end: the prefix starts at point 11 */
    const char *code = "/* caf\xc3\xa9 */ pri";
    complete_word w = complete_word_at(code, 14);
    CHECK(w.context == COMPLETE_IDENTIFIER);
    CHECK(w.cursor_start == 11 && w.cursor_end == 14);
    CHECK(w.end - w.start == 3);

    w = complete_word_at("fib(10)", 2);  /* mid-word: the prefix ends at the cursor */
    CHECK(w.cursor_start == 0 && w.cursor_end == 2);

    CHECK(complete_word_at("p.", 2).context == COMPLETE_NONE);
    CHECK(complete_word_at("p->na", 5).context == COMPLETE_NONE);
    CHECK(complete_word_at("x = 12", 6).context == COMPLETE_NONE);
    CHECK(complete_word_at("  #  def", 8).context == COMPLETE_DIRECTIVE);
    CHECK(complete_word_at("#include <sys/ty", 16).context == COMPLETE_HEADER);
    CHECK(complete_word_at("#include <stdio.h> ", 19).context != COMPLETE_HEADER);
    CHECK(complete_word_at("#define MAX ma", 14).context == COMPLETE_IDENTIFIER);

    w = complete_word_at("#include \"\xc3\xa9t\xc3\xa9/x", 15);
    CHECK(w.context == COMPLETE_HEADER && w.cursor_start == 10 && w.cursor_end == 15);
}

/* ---- matches ---- */

static const char *const sample_header =
    "/* sample.h: a header in the runtime's convention.\n"
    " * cl_not_a_function(int x); inside a long comment is prose.\n"
    " */\n"
    "#ifndef SAMPLE_H\n"
    "#define SAMPLE_H\n"
    "\n"
    "/* A thread; opaque. */\n"
    "typedef struct cl_thread cl_thread;\n"
    "\n"
    "/* Starts a thread running fn(arg). */\n"
    "cl_thread *cl_thread_start(void *(*fn)(void *), void *arg);\n"
    "\n"
    "/* Waits for t. */\n"
    "void *cl_thread_join(cl_thread *t);\n"
    "\n"
    "/* Separated from its declaration by a blank line. */\n"
    "\n"
    "int cl_undocumented(void);\n"
    "\n"
    "/* A callback. */\n"
    "typedef void (*cl_callback)(void *arg);\n"
    "\n"
    "/* Statistics of a run. */\n"
    "typedef struct cl_stats {\n"
    "    long count;\n"
    "    double seconds;\n"
    "} cl_stats;\n"
    "\n"
    "/* Waits forever. */\n"
    "#define CL_FOREVER (-1.0)\n"
    "\n"
    "/* Internal. */\n"
    "int _cl_internal(void);\n"
    "#endif\n";

static void test_api_docs(void) {
    write_file("sample.h", sample_header);
    char path[512];
    snprintf(path, sizeof(path), "%s/sample.h", tmpdir);
    api_docs docs;
    CHECK(api_docs_load(path, &docs) == 0);

    const api_doc *d = api_docs_find(&docs, "cl_thread_start");
    CHECK(d && d->kind == API_FUNCTION);
    if (d) {
        CHECK_STR(d->signature, "cl_thread *cl_thread_start(void *(*fn)(void *), void *arg)");
        CHECK_STR(d->summary, "Starts a thread running fn(arg).");
    }
    d = api_docs_find(&docs, "cl_thread_join");
    CHECK(d && strcmp(d->summary, "Waits for t.") == 0);
    d = api_docs_find(&docs, "cl_thread");
    CHECK(d && d->kind == API_TYPE && strcmp(d->summary, "A thread; opaque.") == 0);
    d = api_docs_find(&docs, "cl_callback");
    CHECK(d && d->kind == API_TYPE && strcmp(d->signature, "typedef void (*cl_callback)(void *arg)") == 0);
    d = api_docs_find(&docs, "cl_stats");
    CHECK(d && d->kind == API_TYPE && strcmp(d->summary, "Statistics of a run.") == 0);
    d = api_docs_find(&docs, "CL_FOREVER");
    CHECK(d && d->kind == API_MACRO && strcmp(d->summary, "Waits forever.") == 0);
    d = api_docs_find(&docs, "cl_undocumented");
    CHECK(d && d->summary[0] == '\0');  /* a blank line breaks the pair */
    CHECK(api_docs_find(&docs, "cl_not_a_function") == NULL);
    CHECK(api_docs_find(&docs, "_cl_internal") == NULL);
    CHECK(api_docs_find(&docs, "SAMPLE_H") == NULL);
    for (size_t i = 1; i < docs.n; i++) CHECK(strcmp(docs.items[i - 1].name, docs.items[i].name) < 0);
    api_docs_free(&docs);

    CHECK(api_docs_load("/nonexistent/conclab.h", &docs) == -1 && docs.n == 0);
}

static json_t *sample_symbols(void) {
    return json_pack("{s:{s:s, s:s, s:i}, s:{s:s, s:s, s:i}, s:{s:s, s:s, s:i}}",
                     "fib", "kind", "function", "declaration", "long fib(int n)", "cell", 3,
                     "counter", "kind", "variable", "declaration", "long counter", "cell", 1,
                     "struct point", "kind", "type", "declaration", "struct point { int x, y; }",
                     "cell", 2);
}

static json_t *sample_header_names(void) {
    return json_pack("{s:{s:s, s:s, s:s}, s:{s:s, s:s, s:s}, s:{s:s, s:s, s:s}}",
                     "printf", "kind", "function", "declaration", "int printf (const char *, ...)",
                     "header", "<stdio.h>",
                     "fib", "kind", "function", "declaration", "int fib(void)", "header", "<x.h>",
                     "pthread_create", "kind", "function", "declaration", "int pthread_create (...)",
                     "header", "<pthread.h>");
}

static void test_matches(void) {
    char path[512];
    snprintf(path, sizeof(path), "%s/sample.h", tmpdir);
    api_docs docs;
    api_docs_load(path, &docs);
    json_t *symbols = sample_symbols(), *names = sample_header_names();
    complete_sources src = {.symbols = symbols, .runtime = &docs, .header_names = names};

    json_t *r = complete_matches("p", 1, &src);
    CHECK_STR(matches_of(r), "point,printf,pthread_create");
    CHECK(reply_int(r, "cursor_start") == 0 && reply_int(r, "cursor_end") == 1);
    CHECK(json_array_size(json_object_get(json_object_get(r, "metadata"), "_jupyter_types_experimental")) == 3);
    json_decref(r);

    r = complete_matches("x = fi", 6, &src);  /* in the notebook and a header: offered once */
    CHECK_STR(matches_of(r), "fib");
    json_decref(r);

    r = complete_matches("cl_th", 5, &src);
    CHECK_STR(matches_of(r), "cl_thread,cl_thread_join,cl_thread_start");
    json_decref(r);

    r = complete_matches("  whi", 5, &src);
    CHECK_STR(matches_of(r), "while");
    CHECK(reply_int(r, "cursor_start") == 2 && reply_int(r, "cursor_end") == 5);
    json_decref(r);

    r = complete_matches("_Bo", 3, &src);
    CHECK_STR(matches_of(r), "_Bool");
    json_decref(r);

    /* multibyte text before the cursor: positions stay in code points */
    r = complete_matches("puts(\"\xc3\xa9\xc3\xa9\"); cou", 15, &src);
    CHECK_STR(matches_of(r), "counter");
    CHECK(reply_int(r, "cursor_start") == 12 && reply_int(r, "cursor_end") == 15);
    json_decref(r);

    r = complete_matches("fib(10)", 2, &src);
    CHECK_STR(matches_of(r), "fib");
    CHECK(reply_int(r, "cursor_start") == 0 && reply_int(r, "cursor_end") == 2);
    json_decref(r);

    r = complete_matches("#inc", 4, &src);
    CHECK_STR(matches_of(r), "include");
    CHECK(reply_int(r, "cursor_start") == 1);
    json_decref(r);

    r = complete_matches("p.", 2, &src);
    CHECK_STR(matches_of(r), "");
    json_decref(r);

    r = complete_matches("zzz_nothing", 11, &src);
    CHECK_STR(matches_of(r), "");
    json_decref(r);

    json_decref(symbols);
    json_decref(names);
    api_docs_free(&docs);
}

static void test_header_files(void) {
    char path[512];
    snprintf(path, sizeof(path), "%s/sys", tmpdir);
    mkdir(path, 0700);
    write_file("stdio.h", "");
    write_file("stdlib.h", "");
    write_file("notes.txt", "");
    write_file("sys/types.h", "");
    const char *dirs[] = {tmpdir, NULL};
    complete_sources src = {.header_dirs = dirs};

    json_t *r = complete_matches("#include <std", 13, &src);
    CHECK_STR(matches_of(r), "stdio.h,stdlib.h");
    CHECK(reply_int(r, "cursor_start") == 10);
    json_decref(r);

    r = complete_matches("#include <s", 11, &src);
    CHECK_STR(matches_of(r), "sample.h,stdio.h,stdlib.h,sys/");
    json_decref(r);

    r = complete_matches("#include \"sys/t", 15, &src);
    CHECK_STR(matches_of(r), "sys/types.h");
    CHECK(reply_int(r, "cursor_start") == 10);
    json_decref(r);
}

/* ---- inspection ---- */

static void test_name_at(void) {
    const char *tag;
    char *name = complete_name_at("x = fib(10);", 5, &tag);
    CHECK_STR(name, "fib");
    CHECK(tag == NULL);
    free(name);

    name = complete_name_at("printf(\"%d\", ", 13, &tag);  /* in the arguments: the call */
    CHECK_STR(name, "printf");
    free(name);

    name = complete_name_at("printf(\"%d\", f(1), ", 19, &tag);  /* past a closed inner call */
    CHECK_STR(name, "printf");
    free(name);

    name = complete_name_at("struct point p;", 9, &tag);
    CHECK_STR(name, "point");
    CHECK_STR(tag, "struct");
    free(name);

    name = complete_name_at("\xc3\xa9 = counter", 8, &tag);  /* just after the name */
    CHECK_STR(name, "counter");
    free(name);

    CHECK(complete_name_at("   ", 1, &tag) == NULL);
    CHECK(complete_name_at("x = 42", 6, &tag) == NULL);
}

static void test_inspect(void) {
    char path[512];
    snprintf(path, sizeof(path), "%s/sample.h", tmpdir);
    api_docs docs;
    api_docs_load(path, &docs);
    json_t *symbols = sample_symbols(), *names = sample_header_names();
    complete_sources src = {.symbols = symbols, .runtime = &docs, .header_names = names};

    char *text = inspect_text("fib", 1, &src);  /* the notebook's own beats the header's */
    CHECK_STR(text, "long fib(int n)\n\nDefined in cell [3] (function)");
    free(text);

    text = inspect_text("struct point q;", 9, &src);
    CHECK_STR(text, "struct point { int x, y; }\n\nDefined in cell [2] (type)");
    free(text);

    text = inspect_text("point", 2, &src);  /* a bare name finds the struct too */
    CHECK(text && strstr(text, "cell [2]"));
    free(text);

    text = inspect_text("cl_thread_start(f, NULL)", 3, &src);
    CHECK_STR(text, "cl_thread *cl_thread_start(void *(*fn)(void *), void *arg)\n\n"
                    "Starts a thread running fn(arg).\n\nconclab runtime (<conclab.h>)");
    free(text);

    text = inspect_text("printf(", 7, &src);
    CHECK(text && strstr(text, "int printf (const char *, ...)") && strstr(text, "<stdio.h>"));
    free(text);

    text = inspect_text("volatile long n;", 4, &src);  /* a keyword with a note */
    CHECK(text && strstr(text, "volatile") && strstr(text, "atomic"));
    free(text);

    CHECK(inspect_text("unknown_name", 3, &src) == NULL);
    CHECK(inspect_text("while (1)", 2, &src) == NULL);  /* a keyword without one */
    json_decref(symbols);
    json_decref(names);
    api_docs_free(&docs);
}

/* ---- header scan ---- */

static const char *const preprocessed =
    "# 1 \"-\"\n"
    "# 1 \"<command line>\" 1\n"
    "#define __TINYC__ 927\n"
    "#define unix 1\n"
    "# 1 \"/usr/include/demo.h\" 1\n"
    "#define DEMO_H 1\n"
    "#define DEMO_MAX 64\n"
    "#define demo_min(a,b) ((a) < (b) ? (a) : (b))\n"
    "typedef unsigned long int __demo_size;\n"
    "typedef __demo_size demo_size;\n"
    "typedef struct _Demo { int hidden_member; } Demo;\n"
    "struct demo_tag { long also_hidden; };\n"
    "enum demo_color { DEMO_RED, DEMO_GREEN = 2, DEMO_BLUE = (1 << 3) };\n"
    "extern int demo_print (const char *__restrict __fmt, ...) __attribute__ ((__nonnull__ (1)));\n"
    "extern void (*demo_signal (int __sig, void (*__h)(int)))(int);\n"
    "typedef void (*demo_handler)(int);\n"
    "extern void (*demo_hook)(int);\n"
    "extern int demo_errno, demo_count[4];\n"
    "extern char *demo_name __asm__ (\"\" \"demo_name64\");\n"
    "static inline int demo_inline (int x) { int local_var = x; return local_var; }\n"
    "__extension__ typedef long long demo_ll;\n"
    "int _Demo_reserved (void);\n";

static const char *kind_of(json_t *names, const char *name) {
    return json_string_value(json_object_get(json_object_get(names, name), "kind"));
}

static void test_scan(void) {
    json_t *names = complete_scan_preprocessed(preprocessed, strlen(preprocessed));
    CHECK_STR(kind_of(names, "DEMO_MAX"), "macro");
    CHECK_STR(kind_of(names, "demo_min"), "macro");
    CHECK_STR(kind_of(names, "demo_size"), "type");
    CHECK_STR(kind_of(names, "Demo"), "type");
    CHECK_STR(kind_of(names, "demo_tag"), "struct");
    CHECK_STR(kind_of(names, "DEMO_RED"), "enum constant");
    CHECK_STR(kind_of(names, "DEMO_GREEN"), "enum constant");
    CHECK_STR(kind_of(names, "DEMO_BLUE"), "enum constant");
    CHECK_STR(kind_of(names, "demo_print"), "function");
    CHECK_STR(kind_of(names, "demo_signal"), "function");  /* returns a function pointer */
    CHECK_STR(kind_of(names, "demo_handler"), "type");
    CHECK_STR(kind_of(names, "demo_hook"), "variable");
    CHECK_STR(kind_of(names, "demo_errno"), "variable");
    CHECK_STR(kind_of(names, "demo_count"), "variable");
    CHECK_STR(kind_of(names, "demo_name"), "variable");
    CHECK_STR(kind_of(names, "demo_inline"), "function");
    CHECK_STR(kind_of(names, "demo_ll"), "type");
    CHECK(json_object_get(names, "hidden_member") == NULL);
    CHECK(json_object_get(names, "also_hidden") == NULL);
    CHECK(json_object_get(names, "local_var") == NULL);
    CHECK(json_object_get(names, "unix") == NULL);       /* not from a header file */
    CHECK(json_object_get(names, "DEMO_H") == NULL);     /* an include guard */
    CHECK(json_object_get(names, "__demo_size") == NULL);
    CHECK(json_object_get(names, "_Demo_reserved") == NULL);
    CHECK(json_object_get(names, "_Demo") == NULL);

    json_t *print = json_object_get(names, "demo_print");
    CHECK_STR(json_string_value(json_object_get(print, "header")), "<demo.h>");
    CHECK_STR(json_string_value(json_object_get(print, "declaration")),
              "int demo_print (const char *__fmt, ...)");
    json_decref(names);
}

/* The real thing: tcc preprocesses <stdio.h> and <pthread.h>. */
static void test_header_names(void) {
    char empty_dir[512];
    snprintf(empty_dir, sizeof(empty_dir), "%s/empty", tmpdir);  /* tmpdir has a fake stdio.h */
    mkdir(empty_dir, 0700);
    json_t *includes = json_pack("[s, s]", "#include <stdio.h>", "#include <pthread.h>");
    json_t *names = complete_header_names(includes, empty_dir);
    CHECK_STR(kind_of(names, "printf"), "function");
    CHECK_STR(kind_of(names, "FILE"), "type");
    CHECK_STR(kind_of(names, "EOF"), "macro");
    CHECK_STR(kind_of(names, "stdin"), "variable");
    CHECK_STR(kind_of(names, "pthread_create"), "function");
    CHECK_STR(kind_of(names, "pthread_mutex_t"), "type");
    CHECK_STR(json_string_value(json_object_get(json_object_get(names, "printf"), "header")), "<stdio.h>");
    json_decref(names);
    json_decref(includes);

    includes = json_pack("[s]", "#include <no_such_header_here.h>");
    names = complete_header_names(includes, empty_dir);
    CHECK(names && json_object_size(names) == 0);
    json_decref(names);
    json_decref(includes);
}

int main(void) {
    if (!mkdtemp(tmpdir)) {
        perror("mkdtemp");
        return 1;
    }
    test_cursor_arithmetic();
    test_word_at();
    test_api_docs();
    test_matches();
    test_header_files();
    test_name_at();
    test_inspect();
    test_scan();
    test_header_names();
    char cmd[600];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", tmpdir);
    return check_summary("test_complete");
}
