/* test_runtime_display.c — conclab/display.h from the runtime's side: the bundles a host is
 * handed (every kind, the text/plain summary, PNG as base64, JSON as JSON, escaping), display
 * ids, updates, refusals of bad input, cl_progress from threads and a forked child, and the
 * fallback of a program outside a notebook (text printed, pictures written to files). The
 * kernel's side is tests/protocol/test_display.py. Built by gcc and run by tcc. */
#include <conclab.h>
#include <conclab_host.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "capture_stderr.h"
#include "check.h"

/* ---- a host that records what it is handed ----------------------------------------------- */

static char last_bundle[1 << 16], last_id[80];
static int shown, updates, refuse_next;
static cl_host_hooks recording;

static int record_display(void *ctx, const char *bundle, unsigned long size, const char *id, int update, char *why,
                          unsigned long why_size) {
    (void)ctx;
    if (refuse_next) {
        snprintf(why, why_size, "refused for the test");
        refuse_next = 0;
        return -1;
    }
    snprintf(last_bundle, sizeof last_bundle, "%.*s", (int)size, bundle);
    snprintf(last_id, sizeof last_id, "%s", id);
    if (update) updates++;
    else shown++;
    return 0;
}

static void host_on(void) {
    memset(&recording, 0, sizeof recording);
    recording.display = record_display;
    cl_host_set_hooks(&recording);
}

static void test_each_kind_reaches_the_host_as_a_bundle(void) {
    host_on();
    CHECK(cl_display_svg("<svg/>") != 0);
    CHECK_STR(last_bundle, "{\"image/svg+xml\":\"<svg/>\",\"text/plain\":\"<image/svg+xml, 6 bytes>\"}");
    cl_display_markdown("*a* \"q\"\n\tb\\");
    CHECK_STR(last_bundle, "{\"text/markdown\":\"*a* \\\"q\\\"\\n\\tb\\\\\",\"text/plain\":\"*a* \\\"q\\\"\\n\\tb\\\\\"}");
    cl_display_json("{\"n\": [1, 2]}");
    CHECK_STR(last_bundle, "{\"application/json\":{\"n\": [1, 2]},\"text/plain\":\"{\\\"n\\\": [1, 2]}\"}");
    cl_display_text("plain\x01");
    CHECK_STR(last_bundle, "{\"text/plain\":\"plain\\u0001\"}");
    cl_display_latex("$x^2$");
    CHECK(strstr(last_bundle, "\"text/latex\":\"$x^2$\"") != NULL);
    cl_display_printf("text/html", "<b>%d</b>", 42);
    CHECK(strstr(last_bundle, "\"text/html\":\"<b>42</b>\"") != NULL);
    static const unsigned char png[] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n', 0, 1};
    cl_display_png(png, sizeof png);
    CHECK(strstr(last_bundle, "\"image/png\":\"iVBORw0KGgoAAQ==\"") != NULL);
    cl_mime both[2] = {{"text/html", "<i>x</i>", 0}, {"text/plain", "x", 0}};
    cl_display(both, 2);
    CHECK_STR(last_bundle, "{\"text/html\":\"<i>x</i>\",\"text/plain\":\"x\"}");
    CHECK(shown == 8 && updates == 0);
    cl_host_set_hooks(NULL);
}

static void test_ids_are_distinct_and_updates_name_them(void) {
    host_on();
    cl_display_id a = cl_display_text("a"), b = cl_display_text("b");
    CHECK(a != 0 && b != 0 && a != b);
    char a_text[80];
    snprintf(a_text, sizeof a_text, "%s", last_id);  /* b's */
    CHECK(cl_update_text(a, "a2") == 0);
    CHECK(updates == 1);
    CHECK(strcmp(last_id, a_text) != 0);  /* a's id, not b's */
    char want[80];
    snprintf(want, sizeof want, "cl-%d-", (int)getpid());
    CHECK(starts_with(last_id, want));
    CHECK(cl_update_printf(b, "text/markdown", "**%s**", "b2") == 0);
    CHECK_STR(last_id, a_text);
    cl_host_set_hooks(NULL);
}

static void test_bad_input_is_refused_with_a_reason(void) {
    host_on();
    int before = shown;
    capture_begin();
    CHECK(cl_display_svg(NULL) == 0);
    CHECK(cl_display_png("GIF89a....", 10) == 0);
    CHECK(cl_display_png_file("/nonexistent/x.png") == 0);
    CHECK(cl_update_text(0, "x") == -1);
    cl_mime typeless = {"", "x", 0};
    CHECK(cl_display(&typeless, 1) == 0);
    refuse_next = 1;
    CHECK(cl_display_text("x") == 0);
    const char *err = capture_end();
    CHECK(strstr(err, "cl_display_svg: nothing to show") != NULL);
    CHECK(strstr(err, "cl_display_png: not a PNG image") != NULL);
    CHECK(strstr(err, "cl_display_png_file: cannot open /nonexistent/x.png") != NULL);
    CHECK(strstr(err, "cl_update_text: no such display") != NULL);
    CHECK(strstr(err, "cl_display: an item without a proper MIME type") != NULL);
    CHECK(strstr(err, "cl_display_text: refused for the test") != NULL);
    CHECK(shown == before);
    cl_host_set_hooks(NULL);
}

/* ---- cl_progress ------------------------------------------------------------------------- */

static cl_progress *bar;

static void *advance_ten(void *arg) {
    (void)arg;
    for (int i = 0; i < 10; i++) {
        cl_progress_advance(bar, 1);
        cl_sleep(0.02);
    }
    return NULL;
}

static void test_progress_counts_threads_and_children(void) {
    host_on();
    int before_shown = shown, before_updates = updates;
    double started = cl_now();
    bar = cl_progress_new("work", 50);
    CHECK(bar != NULL && shown == before_shown + 1);
    cl_thread *t[4];
    for (int i = 0; i < 4; i++) t[i] = cl_thread_start(advance_ten, NULL);
    for (int i = 0; i < 4; i++) cl_thread_join(t[i]);
    CHECK(updates - before_updates >= 1);             /* it redrew while they ran (~0.2 s) */
    /* A child's steps count in the shared page; the redraws it makes are its own process's,
     * which this recording host does not see: so it runs after the threads were counted. */
    pid_t child = fork();
    if (child == 0) {
        advance_ten(NULL);
        _exit(0);
    }
    waitpid(child, NULL, 0);
    cl_progress_done(bar);
    CHECK(strstr(last_bundle, "50/50") != NULL);      /* the child's steps counted */
    CHECK(strstr(last_bundle, "100%") != NULL);
    int redraws = updates - before_updates;
    double took = cl_now() - started;                 /* ~0.2 s, longer on a loaded machine */
    CHECK(redraws >= 2);                              /* while they ran, and at the end */
    CHECK(redraws <= (int)(took / 0.1) + 2);          /* at most 10 a second, and the final one */
    cl_host_set_hooks(NULL);
}

/* ---- outside a notebook ------------------------------------------------------------------ */

static void test_fallback_prints_text_and_writes_pictures(void) {
    char dir[] = "/tmp/conclab-display-test-XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    setenv("CONCLAB_DISPLAY_DIR", dir, 1);
    fflush(stdout);
    FILE *out = tmpfile();
    int saved = dup(1);
    dup2(fileno(out), 1);
    cl_display_markdown("# Title");
    cl_display_id svg = cl_display_svg("<svg>1</svg>");
    cl_update_svg(svg, "<svg>2</svg>");
    cl_progress *p = cl_progress_new("steps", 3);
    for (int i = 0; i < 3; i++) cl_progress_advance(p, 1);
    cl_progress_done(p);
    cl_trace_begin("a region of a program");  /* %%timeline's picture, outside a notebook */
    cl_sleep(0.01);
    cl_display_id region = cl_trace_end();
    fflush(stdout);
    dup2(saved, 1);
    close(saved);
    char text[2048] = "";
    ssize_t n = pread(fileno(out), text, sizeof text - 1, 0);
    text[n > 0 ? n : 0] = '\0';
    fclose(out);
    char path[256];
    snprintf(path, sizeof path, "%s/conclab-display-%d-%u.svg", dir, (int)getpid(), (unsigned)(svg & 0xffffffff));
    CHECK(starts_with(text, "# Title\n[display: "));
    CHECK(strstr(text, path) != NULL);                 /* the file's name is printed once */
    CHECK(strstr(text, "steps |") != NULL && strstr(text, "3/3") != NULL);  /* a file: only the final line */
    FILE *f = fopen(path, "r");
    char content[64] = "";
    CHECK(f != NULL);
    if (f) {
        CHECK(fgets(content, sizeof content, f) != NULL);
        fclose(f);
        unlink(path);
    }
    CHECK_STR(content, "<svg>2</svg>");                /* the update rewrote it */
    char timeline[256];
    snprintf(timeline, sizeof timeline, "%s/conclab-display-%d-%u.svg", dir, (int)getpid(), (unsigned)(region & 0xffffffff));
    CHECK(region != 0 && strstr(text, timeline) != NULL);
    f = fopen(timeline, "r");
    char head[256] = "";
    CHECK(f != NULL);
    if (f) {
        size_t n_head = fread(head, 1, sizeof head - 1, f);
        head[n_head] = '\0';
        fclose(f);
        unlink(timeline);
    }
    CHECK(strstr(head, "<svg") != NULL && strstr(head, "conclab-timeline") != NULL);
    rmdir(dir);
    unsetenv("CONCLAB_DISPLAY_DIR");
}

int main(void) {
    test_each_kind_reaches_the_host_as_a_bundle();
    test_ids_are_distinct_and_updates_name_them();
    test_bad_input_is_refused_with_a_reason();
    test_progress_counts_threads_and_children();
    test_fallback_prints_text_and_writes_pictures();
    return check_summary("test_runtime_display");
}
