/* test_man_pages.c — the manual page reader from the outside: roff escapes and macros turned
 * into plain text, the synopsis cut down to one name, pages found on disk (gzipped or not,
 * .so redirections, loops, escapes out of the root, corrupt and huge files), the index of names
 * for completion, the inspection text and its include notes, and random input that must neither
 * crash nor hang. Then, where Debian's manpages-dev is installed, the real pages: every page of
 * sections 2 and 3 is parsed, and printf, malloc, pthread_create, fork and sleep say what a lab
 * needs. */
#define _GNU_SOURCE
#include <dirent.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "check.h"
#include "library_docs.h"
#include "man_pages.h"
#include "man_roff.h"
#include "man_synopsis.h"

static char root[] = "/tmp/conclab-test-man-XXXXXX";

static double now_ms(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

static bool contains(const char *text, const char *part) {
    bool ok = text && strstr(text, part) != NULL;
    if (!ok) fprintf(stderr, "  expected %s\n  in:       %s\n", part, text ? text : "(null)");
    return ok;
}

/* ---- escapes ---- */

static void check_plain(const char *roff, const char *want) {
    char *got = man_roff_plain(roff, strlen(roff));
    CHECK_STR(got, want);
    free(got);
}

static void test_escapes(void) {
    check_plain("a\\-b", "a-b");
    check_plain("\\fBbold\\fP and \\fIitalic\\fR", "bold and italic");
    check_plain("\\f(CWcode\\f[]", "code");
    check_plain("x\\ y\\~z", "x y z");
    check_plain("back\\e slash \\\\", "back\\ slash \\");
    check_plain("\\(em\\[em]", "\xe2\x80\x94\xe2\x80\x94");
    check_plain("\\[aq]\\0\\[aq]", "' '");
    check_plain("\\(lqquoted\\(rq", "\xe2\x80\x9cquoted\xe2\x80\x9d");
    check_plain("\\&.dot\\|thin\\^", ".dotthin");
    check_plain("\\s-1SMALL\\s0 \\s+2big\\s[10]", "SMALL big");
    check_plain("\\[u00E9]t\\[u00e9]", "\xc3\xa9t\xc3\xa9");
    check_plain("w\\h'2m'x\\w'abc'y", "wxy");
    check_plain("\\*(lqs\\*(rq", "\xe2\x80\x9cs\xe2\x80\x9d");
    check_plain("unknown \\[nosuchchar] end", "unknown  end");
    check_plain("trailing\\", "trailing");
    check_plain("\\(e", "");        /* cut short */
    check_plain("\\[unterminated", "");
    check_plain("\\fB", "");
}

/* ---- a handwritten page ---- */

static const char page_text[] =
    "'\\\" t\n"
    ".\\\" a comment: .SH NOT A SECTION\n"
    ".TH widget_open 3 2024-01-01 \"test pages\"\n"
    ".de XX\n"
    "macro body that must not show\n"
    "..\n"
    ".SH NAME\n"
    "widget_open, widget_close \\- open and close\n"
    "a widget\n"
    ".SH LIBRARY\n"
    "Widget library\n"
    ".RI ( libwidget \", \" \\-lwidget )\n"
    ".SH SYNOPSIS\n"
    ".nf\n"
    ".B #include <widget.h>\n"
    ".PP\n"
    ".BI \"int widget_open(const char *_Nullable \" name ,\n"
    ".BI \"                int \" flags );\n"
    ".BI \"void widget_close(int \" w ); \\\" trailing comment\n"
    ".PP\n"
    ".B #include <widget/extra.h>\n"
    ".PP\n"
    ".BR typedef \" /* ... */ \" widget_t;\n"
    ".BI \"int widget_long(int \" a \", int \" b \", int \" c \", int \" d \", int \" e \", int \" f \\\n"
    "\", int \" g );\n"
    ".fi\n"
    ".PP\n"
    ".RS -4\n"
    "Feature Test Macro Requirements for glibc (see\n"
    ".BR feature_test_macros (7)):\n"
    ".RE\n"
    ".SH DESCRIPTION\n"
    "The\n"
    ".BR widget_open ()\n"
    "function opens\n"
    ".IR name .\n"
    ".TS\n"
    "allbox;\n"
    "table text that must not show\n"
    ".TE\n"
    ".if n \\{\\\n"
    "conditional text that must not show\n"
    ".\\}\n"
    ".PP\n"
    "Second paragraph.\n"
    ".SS A subsection title\n"
    ".TP\n"
    ".B tag\n"
    "Body of the tag.\n"
    ".SH RETURN VALUE\n"
    "Zero on success.\n"
    ".SH SEE ALSO\n"
    ".BR other (3)\n";

static void test_parse(void) {
    man_page p;
    man_roff_parse(page_text, strlen(page_text), &p);
    CHECK_STR(p.names, "widget_open, widget_close");
    CHECK_STR(p.summary, "open and close a widget");
    CHECK_STR(p.library, "Widget library (libwidget, -lwidget)");
    CHECK(contains(p.synopsis, "#include <widget.h>\n\nint widget_open(const char *_Nullable name,\n"
                               "                int flags);\nvoid widget_close(int w);"));
    CHECK(contains(p.synopsis, "int widget_long(int a, int b, int c, int d, int e, int f, int g);"));
    CHECK(contains(p.description, "The widget_open() function opens name.\n\nSecond paragraph."));
    CHECK(contains(p.description, "tag\nBody of the tag."));
    CHECK(!strstr(p.description, "must not show") && !strstr(p.synopsis, "must not show"));
    CHECK(!strstr(p.description, "subsection title"));
    CHECK(!strstr(p.names, "NOT A SECTION"));
    CHECK_STR(p.return_value, "Zero on success.");
    char *first = man_paragraphs(p.description, 1, 1000);
    CHECK_STR(first, "The widget_open() function opens name.");
    free(first);
    char *cut = man_paragraphs("one two three four five six seven eight", 1, 20);
    CHECK(strlen(cut) <= 24 && contains(cut, "..."));
    free(cut);
    man_page_free(&p);

    /* A page without any of the parts, and an empty one. */
    man_roff_parse(".TH x 3\n.SH BUGS\nnone\n", 22, &p);
    CHECK_STR(p.names, "");
    CHECK_STR(p.summary, "");
    CHECK_STR(p.synopsis, "");
    man_page_free(&p);
    man_roff_parse("", 0, &p);
    CHECK_STR(p.description, "");
    man_page_free(&p);

    char *to = man_roff_redirect(".\\\" comment\n\n.so man3/printf.3\n", 34);
    CHECK_STR(to, "man3/printf.3");
    free(to);
    CHECK(man_roff_redirect(".TH x 3\n.so man3/y.3\n", 20) == NULL);
}

/* ---- synopsis for one name ---- */

static void test_synopsis(void) {
    man_page p;
    man_roff_parse(page_text, strlen(page_text), &p);
    man_synopsis s;
    man_synopsis_for(p.synopsis, "widget_close", &s);
    CHECK_STR(s.declarations, "void widget_close(int w);");
    CHECK_STR(s.includes, "#include <widget.h>");
    CHECK(s.n_headers == 1 && strcmp(s.headers[0], "<widget.h>") == 0);
    man_synopsis_free(&s);

    man_synopsis_for(p.synopsis, "widget_open", &s);
    CHECK_STR(s.declarations, "int widget_open(const char *name,\n                int flags);");
    man_synopsis_free(&s);

    man_synopsis_for(p.synopsis, "widget_t", &s);  /* the typedef, under its own #include */
    CHECK_STR(s.declarations, "typedef /* ... */ widget_t;");
    CHECK_STR(s.includes, "#include <widget/extra.h>");
    man_synopsis_free(&s);

    man_synopsis_for(p.synopsis, "nothing_named_so", &s);  /* every #include, no declaration */
    CHECK_STR(s.declarations, "");
    CHECK(s.n_headers == 2);
    man_synopsis_free(&s);
    man_page_free(&p);

    man_synopsis_for("#define _GNU_SOURCE\n#include <sched.h>\n\nint clone(int (*fn)(void *), void *stack);\n"
                     "#define CLONE_VM 0x100\nLink with -lfoo.\n", "CLONE_VM", &s);
    CHECK_STR(s.declarations, "#define CLONE_VM 0x100");
    CHECK_STR(s.includes, "#define _GNU_SOURCE\n#include <sched.h>");
    CHECK_STR(s.link_note, "Link with -lfoo.");
    man_synopsis_free(&s);

    man_synopsis_for("#include <signal.h>\n\nvoid (*signal(int sig, void (*func)(int)))(int);\n", "signal", &s);
    CHECK(contains(s.declarations, "signal(int sig"));
    man_synopsis_free(&s);
    man_synopsis_for(NULL, "x", &s);
    CHECK_STR(s.includes, "");
    man_synopsis_free(&s);
}

/* ---- pages on disk ---- */

static void write_gz(const char *rel, const char *text, size_t len) {
    char path[512];
    snprintf(path, sizeof path, "%s/%s", root, rel);
    gzFile f = gzopen(path, "wb");
    CHECK(f != NULL);
    if (!f) return;
    gzwrite(f, text, (unsigned)len);
    gzclose(f);
}

static void write_plain(const char *rel, const char *text, size_t len) {
    char path[512];
    snprintf(path, sizeof path, "%s/%s", root, rel);
    FILE *f = fopen(path, "wb");
    CHECK(f != NULL);
    if (!f) return;
    fwrite(text, 1, len, f);
    fclose(f);
}

static void mkdir_in_root(const char *rel) {
    char path[512];
    snprintf(path, sizeof path, "%s/%s", root, rel);
    mkdir(path, 0755);
}

#define WRITE_GZ(rel, text) write_gz(rel, text, strlen(text))

static void make_pages(void) {
    mkdir_in_root("man2");
    mkdir_in_root("man3");
    write_gz("man3/widget_open.3.gz", page_text, strlen(page_text));
    WRITE_GZ("man3/widget_close.3.gz", ".so man3/widget_open.3\n");
    WRITE_GZ("man3/loop_a.3.gz", ".so man3/loop_b.3\n");
    WRITE_GZ("man3/loop_b.3.gz", ".so man3/loop_a.3\n");
    WRITE_GZ("man3/escape.3.gz", ".so ../../../etc/passwd\n");
    WRITE_GZ("man3/dangling.3.gz", ".so man3/nowhere.3\n");
    const char two[] = ".SH NAME\nboth \\- the system call\n.SH SYNOPSIS\n.B #include <unistd.h>\n";
    write_plain("man2/both.2", two, strlen(two));  /* not compressed */
    WRITE_GZ("man3/both.3.gz", ".SH NAME\nboth \\- the library function\n");
    WRITE_GZ("man2/onlytwo.2.gz", ".SH NAME\nonlytwo \\- a system call\n");
    WRITE_GZ("man3/widget_t.3type.gz", ".SH NAME\nwidget_t \\- a type\n");
    WRITE_GZ("man3/Widget::Perl.3pm.gz", ".SH NAME\nnot a C name\n");
    const char corrupt[] = "\x1f\x8b\x08\x00garbage that is not deflate";
    write_plain("man3/corrupt.3.gz", corrupt, sizeof corrupt - 1);
    /* 8 MiB of text: read up to MAN_PAGE_MAX, quickly. */
    size_t huge_len = (size_t)8 << 20;
    char *huge = malloc(huge_len);
    CHECK(huge != NULL);
    if (!huge) return;
    memcpy(huge, ".SH NAME\nhuge \\- a big page\n.SH DESCRIPTION\n", 45);
    for (size_t i = 44; i < huge_len; i++) huge[i] = (i % 61 == 0) ? '\n' : (char)('a' + i % 26);
    write_gz("man3/huge.3.gz", huge, huge_len);
    free(huge);
}

static man_doc *find(const char *name) {
    return man_pages_find(name);
}

static void collect(void *ctx, const man_name *n) {
    char *buf = ctx;
    if (strlen(buf) + strlen(n->name) + 16 < 512) {
        strcat(buf, n->name);
        strcat(buf, "(");
        strcat(buf, n->section);
        strcat(buf, ")");
    }
}

static void test_disk(void) {
    make_pages();
    setenv("MANPATH", root, 1);
    man_pages_reset();
    man_doc *d = find("widget_close");  /* through .so */
    CHECK(d != NULL);
    if (d) {
        CHECK_STR(d->section, "3");
        CHECK_STR(d->page.summary, "open and close a widget");
        CHECK(contains(d->path, "widget_open.3"));
    }
    man_doc_free(d);
    CHECK(find("loop_a") == NULL);
    CHECK(find("escape") == NULL);
    CHECK(find("dangling") == NULL);
    d = find("corrupt");  /* nothing, or nothing readable: never a crash */
    CHECK(d == NULL || strcmp(d->page.summary, "") == 0);
    man_doc_free(d);
    CHECK(find("../man3/widget_open") == NULL);
    CHECK(find("") == NULL && find(NULL) == NULL);
    d = find("both");  /* section 3 before 2, as man does */
    CHECK(d && strcmp(d->page.summary, "the library function") == 0);
    man_doc_free(d);
    d = find("onlytwo");
    CHECK(d && strcmp(d->section, "2") == 0);
    man_doc_free(d);
    d = find("widget_t");
    CHECK(d && strcmp(d->section, "3type") == 0);
    man_doc_free(d);
    double t0 = now_ms();
    d = find("huge");
    double huge_ms = now_ms() - t0;
    CHECK(d && strcmp(d->page.summary, "a big page") == 0);
    CHECK(d && strlen(d->page.description) <= MAN_PART_MAX + 64);
    CHECK(huge_ms < 2000);
    printf("an 8 MiB page: read (capped at %zu bytes) in %.1f ms\n", MAN_PAGE_MAX, huge_ms);
    man_doc_free(d);
    t0 = now_ms();
    for (int i = 0; i < 1000; i++) man_doc_free(find("widget_close"));
    printf("1000 cached lookups: %.2f ms\n", now_ms() - t0);

    /* MANPATH with an empty entry stands for the defaults too; a missing directory is skipped. */
    char manpath[600];
    snprintf(manpath, sizeof manpath, "/nonexistent/man:%s:", root);
    setenv("MANPATH", manpath, 1);
    man_pages_reset();
    d = find("onlytwo");
    CHECK(d != NULL);
    man_doc_free(d);

    char names[512] = "";
    size_t all = man_pages_with_prefix("widget_", 10, collect, names);
    CHECK(all == 3);
    CHECK_STR(names, "widget_close(3)widget_open(3)widget_t(3type)");
    names[0] = '\0';
    CHECK(man_pages_with_prefix("bot", 10, collect, names) >= 1 && contains(names, "both(3)"));
    names[0] = '\0';
    CHECK(man_pages_with_prefix("Widget", 10, collect, names) == 0 || !strstr(names, "Perl"));
    names[0] = '\0';
    CHECK(man_pages_with_prefix("widget_", 1, collect, names) == 3 && strcmp(names, "widget_close(3)") == 0);
    CHECK(man_pages_available());
    setenv("MANPATH", "/nonexistent/man", 1);
    man_pages_reset();
    CHECK(!man_pages_available());
    CHECK(find("widget_open") == NULL);
    setenv("MANPATH", root, 1);
    man_pages_reset();
}

/* ---- inspection text and include notes ---- */

static void test_library_docs(void) {
    json_t *includes = json_pack("[s]", "#include <widget/extra.h>");
    json_t *prelude = json_pack("{s:{s:s, s:s, s:s}}", "widget_t", "kind", "type", "declaration",
                                "typedef int widget_t", "header", "<stdio.h>");
    library_context ctx = {.includes = includes, .prelude_names = prelude, .manuals = true};
    json_t *b = library_docs_manual("widget_open", 0, &ctx);
    const char *text = json_string_value(json_object_get(b, "text/plain"));
    CHECK(contains(text, "widget_open - open and close a widget"));
    CHECK(contains(text, "#include <widget.h>\n\nint widget_open(const char *name,"));
    CHECK(contains(text, "widget_open needs #include <widget.h> in a cell first"));
    CHECK(contains(text, "Library: Widget library (libwidget, -lwidget)"));
    CHECK(contains(text, "man 3 widget_open"));
    CHECK(!strstr(text, "DESCRIPTION"));
    CHECK(contains(json_string_value(json_object_get(b, "text/markdown")), "```c\n#include <widget.h>"));
    json_decref(b);
    b = library_docs_manual("widget_open", 1, &ctx);
    text = json_string_value(json_object_get(b, "text/plain"));
    CHECK(contains(text, "DESCRIPTION\nThe widget_open() function opens name."));
    CHECK(contains(text, "RETURN VALUE\nZero on success."));
    json_decref(b);

    const char *in_prelude[] = {"<stdio.h>"}, *in_notebook[] = {"<widget/extra.h>"}, *neither[] = {"<unistd.h>"};
    char *note = library_include_note("puts", in_prelude, 1, &ctx);
    CHECK(contains(note, "which the prelude includes"));
    free(note);
    note = library_include_note("wx", in_notebook, 1, &ctx);
    CHECK(contains(note, "which this notebook includes"));
    free(note);
    note = library_include_note("fork", neither, 1, &ctx);
    CHECK(contains(note, "fork needs #include <unistd.h>"));
    free(note);
    note = library_include_note("widget_t", neither, 1, &ctx);  /* the prelude declares it anyway */
    CHECK(contains(note, "the prelude's headers declare it too"));
    free(note);
    ctx.no_prelude = true;
    note = library_include_note("puts", in_prelude, 1, &ctx);
    CHECK(contains(note, "puts needs #include <stdio.h>") && contains(note, "the prelude is off"));
    free(note);
    CHECK(library_include_note("x", NULL, 0, &ctx) == NULL);
    ctx.no_prelude = false;

    b = library_docs_prelude("widget_t", &ctx);
    CHECK(contains(json_string_value(json_object_get(b, "text/plain")), "typedef int widget_t"));
    json_decref(b);
    CHECK(library_docs_prelude("nothing", &ctx) == NULL);
    ctx.manuals = false;
    CHECK(library_docs_manual("widget_open", 0, &ctx) == NULL);
    json_decref(includes);
    json_decref(prelude);
}

/* ---- random input: no crash, no hang ---- */

static void test_random_input(void) {
    static const char *const pieces[] = {
        "\\", "\\\\", "\\f", "\\fB", "\\(", "\\[", "]", "\\*", "\\s", "\\h'", "'", "\"", "\\\"",
        "\n", "\n.", ".SH ", ".SH NAME\n", ".SH SYNOPSIS\n", ".SH DESCRIPTION\n", ".TS\n", ".TE\n",
        ".de X\n", "..\n", ".if n \\{", "\\}", ".BI \"", ".B ", ".nf\n", ".fi\n", ".so ", "man3/",
        "#include <", ">", "(", ")", ";", " \\- ", "x", "printf", "\t", "\xff", "\xe2\x80", "\\[u",
        ".TP\n", ".SS\n", ".IP \\[bu]\n", "\\c", "\\e",
    };
    size_t n_pieces = sizeof pieces / sizeof *pieces;
    unsigned seed = 16;
    double t0 = now_ms();
    for (int round = 0; round < 20000; round++) {
        char buf[2048];
        size_t len = 0;
        int count = (int)(rand_r(&seed) % 80);
        for (int i = 0; i < count; i++) {
            const char *p = pieces[rand_r(&seed) % n_pieces];
            size_t n = strlen(p);
            if (len + n >= sizeof buf) break;
            memcpy(buf + len, p, n);
            len += n;
        }
        man_page p;
        man_roff_parse(buf, len, &p);  /* not NUL-terminated on purpose: len bounds it */
        man_synopsis s;
        man_synopsis_for(p.synopsis, "printf", &s);
        man_synopsis_free(&s);
        man_page_free(&p);
        free(man_roff_redirect(buf, len));
        char *plain = man_roff_plain(buf, len);
        free(plain);
    }
    printf("20000 random pages: %.1f ms\n", now_ms() - t0);
    CHECK(true);
}

/* ---- the real pages ---- */

static void check_real(const char *name, const char *section, const char *declaration, const char *header,
                       const char *summary_part) {
    man_doc *d = man_pages_find(name);
    CHECK(d != NULL);
    if (!d) {
        fprintf(stderr, "  no page for %s\n", name);
        return;
    }
    CHECK_STR(d->section, section);
    CHECK(contains(d->page.summary, summary_part));
    man_synopsis s;
    man_synopsis_for(d->page.synopsis, name, &s);
    CHECK(contains(s.declarations, declaration));
    CHECK(s.n_headers >= 1 && strcmp(s.headers[0], header) == 0);
    man_synopsis_free(&s);
    man_doc_free(d);
}

static size_t parse_all_in(const char *dir, double *worst_ms, char *worst) {
    DIR *d = opendir(dir);
    if (!d) return 0;
    struct dirent *e;
    size_t n = 0;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.') continue;
        char path[1024];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        double t0 = now_ms();
        man_doc *doc = man_pages_read("/usr/share/man", path, "x");
        double ms = now_ms() - t0;
        if (ms > *worst_ms) {
            *worst_ms = ms;
            snprintf(worst, 256, "%s", e->d_name);
        }
        if (doc) n++;
        man_doc_free(doc);
    }
    closedir(d);
    return n;
}

static void test_real_pages(void) {
    unsetenv("MANPATH");
    man_pages_reset();
    if (access("/usr/share/man/man3/printf.3.gz", R_OK) != 0) {
        printf("SKIP the real pages: manpages-dev is not installed\n");
        return;
    }
    check_real("printf", "3", "int printf(const char *restrict format, ...);", "<stdio.h>", "formatted output");
    check_real("fprintf", "3", "int fprintf(FILE *restrict stream,", "<stdio.h>", "formatted output");
    check_real("malloc", "3", "void *malloc(size_t size);", "<stdlib.h>", "allocate");
    check_real("pthread_create", "3", "void *(*start_routine)(void *),", "<pthread.h>", "create a new thread");
    check_real("fork", "2", "pid_t fork(void);", "<unistd.h>", "child process");
    check_real("sleep", "3", "unsigned int sleep(unsigned int seconds);", "<unistd.h>", "sleep");
    check_real("select", "2", "int select(int nfds, fd_set *restrict readfds,", "<sys/select.h>", "multiplexing");
    man_doc *d = man_pages_find("pthread_create");
    CHECK(d && contains(d->page.library, "-lpthread"));
    man_doc_free(d);
    double t0 = now_ms(), worst_ms = 0;
    char worst[256] = "";
    size_t parsed = parse_all_in("/usr/share/man/man2", &worst_ms, worst) +
                    parse_all_in("/usr/share/man/man3", &worst_ms, worst);
    double all_ms = now_ms() - t0;
    printf("parsed %zu real pages in %.0f ms (%.2f ms each; slowest %s, %.1f ms)\n", parsed, all_ms,
           parsed ? all_ms / (double)parsed : 0.0, worst, worst_ms);
    CHECK(parsed > 500);
    char names[512] = "";
    CHECK(man_pages_with_prefix("pthread_cr", 10, collect, names) >= 1 && contains(names, "pthread_create(3)"));
}

int main(void) {
    if (!mkdtemp(root)) {
        perror("mkdtemp");
        return 1;
    }
    test_escapes();
    test_parse();
    test_synopsis();
    test_disk();
    test_library_docs();
    test_random_input();
    test_real_pages();
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", root);
    return check_summary("test_man_pages");
}
