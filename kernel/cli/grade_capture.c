/* grade_capture.c — one run of a cell for `conclab grade`: what it printed and showed, its
 * outcome, and its outputs stored into the graded notebook.
 *
 * The report keeps the first OUTPUT_CAP bytes of what a question showed, as plain text (colour
 * codes of tracebacks taken out, the engine's %%timeout advice put in the grader's words); the
 * notebook keeps each cell's streams and displays as Jupyter would, up to NOTEBOOK_CAP bytes of
 * stream. A lock-order report is looked for in the whole stream, since the report may be cut. */
#define _GNU_SOURCE /* memmem */
#include <stdlib.h>
#include <string.h>

#include "engine.h"
#include "grade_run_internal.h"
#include "strbuf.h"
#include "xalloc.h"

enum {
    NOTEBOOK_CAP = 1 << 20, /* bytes of one cell's stream output kept in graded.ipynb */
};

static const char LOCK_ORDER_REPORT[] = "possible deadlock: locks taken in contradicting orders";

static void close_stream(capture *c) {
    if (!c->stream_name) return;
    char *text = strbuf_take(&c->stream);
    json_array_append_new(c->outputs, json_pack("{s:s, s:s, s:o}", "output_type", "stream", "name", c->stream_name,
                                                "text", grading_lines(text)));
    free(text);
    free(c->stream_name);
    c->stream_name = NULL;
}

static void add_text(capture *c, const char *text, size_t len) {
    if (c->text.len < OUTPUT_CAP) strbuf_addn(&c->text, text, len < OUTPUT_CAP - c->text.len ? len : OUTPUT_CAP - c->text.len);
}

static void on_stream(void *ctx, const char *name, const char *text, size_t len) {
    capture *c = ctx;
    if (strcmp(name, "stderr") == 0 && len) c->wrote_stderr = true;
    add_text(c, text, len);
    /* the report may be cut short; the lock-order report is looked for in the whole stream */
    if (!c->lock_order_report && memmem(text, len, LOCK_ORDER_REPORT, sizeof LOCK_ORDER_REPORT - 1))
        c->lock_order_report = true;
    if (c->stream_name && strcmp(c->stream_name, name) != 0) close_stream(c);
    if (!c->stream_name) c->stream_name = xstrdup(name);
    if (c->notebook_bytes < NOTEBOOK_CAP) {
        strbuf_addn(&c->stream, text, len);
        c->notebook_bytes += len;
    }
}

static void on_display(void *ctx, json_t *data, json_t *metadata, const char *display_id, bool update) {
    capture *c = ctx;
    (void)display_id;
    if (update) return;
    close_stream(c);
    const char *plain = json_string_value(json_object_get(data, "text/plain"));
    if (plain) {
        add_text(c, plain, strlen(plain));
        add_text(c, "\n", 1);
        if (strstr(plain, LOCK_ORDER_REPORT)) c->lock_order_report = true;
    }
    json_array_append_new(c->outputs, json_pack("{s:s, s:O, s:o}", "output_type", "display_data", "data", data,
                                                "metadata", json_is_object(metadata) ? json_deep_copy(metadata) : json_object()));
}

void capture_free(capture *c) {
    json_decref(c->outputs);
    strbuf_free(&c->stream);
    strbuf_free(&c->text);
    free(c->stream_name);
}

/* Tracebacks carry colour codes for Jupyter; the report is plain text. */
static void add_plain_line(strbuf *b, const char *s) {
    for (const char *p = s; *p; p++) {
        if (p[0] == '\033' && p[1] == '[') {
            p += 2;
            while (*p && !(*p >= 0x40 && *p <= 0x7e)) p++;
            if (!*p) break;
            continue;
        }
        strbuf_addn(b, p, 1);
    }
    strbuf_add(b, "\n");
}

/* The engine's time-out messages tell a notebook user how to raise the limit (%%timeout); in
 * grading the limit is the grader's (--timeout), so that advice is replaced. malloc'd. */
static const char TIMEOUT_ADVICE[] = " (%%timeout SECONDS changes it)";

static char *grader_words(const char *text) {
    strbuf b = {0};
    const char *at;
    while ((at = strstr(text, TIMEOUT_ADVICE))) {
        strbuf_addn(&b, text, (size_t)(at - text));
        strbuf_add(&b, " (the grader's limit per cell)");
        text = at + sizeof TIMEOUT_ADVICE - 1;
    }
    strbuf_add(&b, text);
    return strbuf_take(&b);
}

/* Runs code as cell number count; fills out and c. */
void run_code(engine *eng, const char *code, int count, capture *c, engine_outcome *out) {
    memset(c, 0, sizeof *c);
    c->outputs = json_array();
    engine_callbacks cb = {.on_stream = on_stream, .on_display = on_display, .ctx = c};
    engine_request req = {.code = code, .cell_number = count, .allow_stdin = false, .silent = false};
    memset(out, 0, sizeof *out);
    engine_execute(eng, &req, &cb, out);
    engine_pump(eng, &cb);
    close_stream(c);
    if (!out->ok) {
        strbuf tb = {0};
        size_t i;
        json_t *line;
        json_array_foreach(out->traceback, i, line) if (json_is_string(line)) {
            char *words = grader_words(json_string_value(line));
            add_plain_line(&tb, words);
            free(words);
        }
        if (out->evalue) {
            char *words = grader_words(out->evalue);
            free(out->evalue);
            out->evalue = words;
        }
        if (tb.len) add_text(c, tb.data, tb.len);
        strbuf_free(&tb);
    }
}

/* The cell's outputs and number, stored as Jupyter would. */
void store_outputs(json_t *cell, capture *c, const engine_outcome *out, int count) {
    if (out->ok && out->result)
        json_array_append_new(c->outputs, json_pack("{s:s, s:i, s:O, s:{}}", "output_type", "execute_result",
                                                    "execution_count", count, "data", out->result, "metadata"));
    else if (!out->ok)
        json_array_append_new(c->outputs, json_pack("{s:s, s:s, s:s, s:o}", "output_type", "error", "ename",
                                                    out->ename ? out->ename : "Error", "evalue",
                                                    out->evalue ? out->evalue : "", "traceback",
                                                    json_is_array(out->traceback) ? json_deep_copy(out->traceback) : json_array()));
    json_object_set(cell, "outputs", c->outputs);
    json_object_set_new(cell, "execution_count", json_integer(count));
}

bool state_was_lost(const engine_outcome *out) {
    if (out->ok) return false;
    if (out->ename && (strcmp(out->ename, "CompilerDied") == 0 || strcmp(out->ename, "ExecutorDied") == 0)) return true;
    return out->evalue && strstr(out->evalue, "state was lost");
}
