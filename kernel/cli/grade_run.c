/* grade_run.c — runs a restored submission cell by cell through the engine and scores each
 * question.
 *
 * Every cell runs once, in order, with the time limit. The engine isolates a cell: a crash, a
 * hang, a deadlock or a fork bomb comes back as that cell's error, and the notebook's state from
 * before the cell is kept (the engine runs each cell in a fork of it). In the few cases where the
 * engine says the state was lost (a cell that crashed while threads of an earlier cell ran in
 * place, tcc itself dying), the earlier cells that are not tests are run again, silently, before
 * the next cell, so later questions are graded on the same footing as everyone else's.
 *
 * A test cell that asks for more (metadata "conclab": {"repeat": N, "chaos": true, "tsan": true,
 * "lockcheck": true}, or --repeat N) and passed its plain run is run again the way the engine's
 * magics do it: under %%chaos with recorded seeds (throwaway copies of the notebook), under
 * %%tsan (right after its plain run, which it rebuilds under TSan), or with %lockcheck on during
 * its plain run. */
#define _GNU_SOURCE
#include "grade_run.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine.h"
#include "strbuf.h"
#include "xalloc.h"

enum {
    OUTPUT_CAP = 8192,      /* bytes of a question's output kept in the report */
    NOTEBOOK_CAP = 1 << 20, /* bytes of one cell's stream output kept in graded.ipynb */
    CHAOS_DEFAULT_RUNS = 20,
};

static const char LOCK_ORDER_REPORT[] = "possible deadlock: locks taken in contradicting orders";

/* What one run of a cell produced. */
typedef struct capture {
    json_t *outputs;        /* nbformat outputs */
    strbuf stream;          /* the stream being written (merged while the name stays the same) */
    char *stream_name;
    strbuf text;            /* everything shown, as text, for the report */
    size_t notebook_bytes;
    bool wrote_stderr;
    bool lock_order_report;
} capture;

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

static void capture_free(capture *c) {
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
static void run_code(engine *eng, const char *code, int count, capture *c, engine_outcome *out) {
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
static void store_outputs(json_t *cell, capture *c, const engine_outcome *out, int count) {
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

static bool state_was_lost(const engine_outcome *out) {
    if (out->ok) return false;
    if (out->ename && (strcmp(out->ename, "CompilerDied") == 0 || strcmp(out->ename, "ExecutorDied") == 0)) return true;
    return out->evalue && strstr(out->evalue, "state was lost");
}

/* ---- the extra runs a test cell may ask for ---- */

typedef struct extra {
    bool failed;
    char *ename, *evalue;
    char *note;             /* said in the message when the check could not be made */
    char *output;           /* what the failing run printed, when it is not the plain run */
} extra;

static char *prefixed(const char *magic, const char *code) { return xasprintf("%s\n%s", magic, code); }

/* s as one shell word: in single quotes, each ' written as '\'' (a file may be named
 * "o'brien; touch PWNED.ipynb"). */
static void add_shell_word(strbuf *b, const char *s) {
    strbuf_add(b, " '");
    for (const char *p = s; *p; p++) {
        if (*p == '\'') strbuf_add(b, "'\\''");
        else strbuf_addn(b, p, 1);
    }
    strbuf_add(b, "'");
}

/* The command that grades the submission again the same way: same seeds, limit and sandbox. */
static char *replay_command(const grade_run_options *o) {
    strbuf b = {0};
    strbuf_add(&b, "conclab grade");
    add_shell_word(&b, o->submission);
    strbuf_add(&b, " --source");
    add_shell_word(&b, o->source);
    strbuf_addf(&b, " --seed %llu --timeout %g", o->seed, o->timeout_s);
    if (o->repeat) strbuf_addf(&b, " --repeat %d", o->repeat);
    if (o->stderr_fails) strbuf_add(&b, " --stderr-fails");
    bool sandboxed = o->sandbox == GRADE_SANDBOX_REQUIRED || (o->sandbox == GRADE_SANDBOX_AUTO && o->sandboxed);
    strbuf_add(&b, sandboxed ? " --sandbox" : " --no-sandbox");
    return strbuf_take(&b);
}

/* Repeats under schedule perturbation: %%chaos --seed S --runs N, in throwaway copies. */
static void chaos_runs(engine *eng, const char *code, int count, int runs, grade_item *it, grade_run_options *o, extra *x) {
    char magic[96];
    snprintf(magic, sizeof magic, "%%%%chaos --seed %llu --runs %d", o->seed, runs);
    char *text = prefixed(magic, code);
    capture c;
    engine_outcome out;
    run_code(eng, text, count, &c, &out);
    free(text);
    o->seed_used = true;
    it->has_runs = true;
    it->runs = runs;
    /* the engine's summary line says how many trials ran (the time limit may end them early) */
    const char *failed_line = c.text.data ? strstr(c.text.data, "chaos: failed ") : NULL;
    const char *passed_line = c.text.data ? strstr(c.text.data, "chaos: passed ") : NULL;
    int failed = 0, ran = 0;
    unsigned long long seed = 0;
    if (failed_line && sscanf(failed_line, "chaos: failed %d of %d runs; first failing seed %llu", &failed, &ran, &seed) == 3) {
        it->runs = ran;
        it->runs_failed = failed;
        it->first_failing_seed = seed;
        it->has_failing_seed = true;
    } else if (passed_line && sscanf(passed_line, "chaos: passed %d of", &ran) == 1 && ran < runs) {
        it->runs = ran;
        x->note = xasprintf("only %d of the %d runs under schedule perturbation finished within the time limit", ran, runs);
    }
    it->replay = replay_command(o);
    if (!out.ok && out.ename && strcmp(out.ename, "ChaosUnavailable") == 0) {
        /* Passing would reward leaving a thread running to dodge the repeats: the question asked
         * for them, so a test that cannot be repeated has not passed. */
        x->failed = true;
        x->ename = xstrdup("ChaosUnavailable");
        x->evalue = xasprintf("this test must pass %d runs under schedule perturbation and could not be repeated: %s",
                              runs, out.evalue ? out.evalue : "unavailable");
        it->has_runs = false;
    } else if (!out.ok) {
        x->failed = true;
        x->ename = xstrdup("ChaosFailure");
        if (it->has_failing_seed)
            x->evalue = xasprintf("failed %d of %d runs under schedule perturbation; first failing seed %llu "
                                  "(replay that run: %%%%chaos --seed %llu in front of the cell)",
                                  it->runs_failed, it->runs, it->first_failing_seed, it->first_failing_seed);
        else
            x->evalue = xstrdup(out.evalue ? out.evalue : "failed under schedule perturbation");
        free(it->output);
        it->output = xstrdup(c.text.data ? c.text.data : "");
    }
    engine_outcome_clear(&out);
    capture_free(&c);
}

/* A %%tsan-clean run: ThreadSanitizer on the program of the notebook so far and the test cell.
 * After a plain run that passed, the notebook so far ends with the test cell, so the %%tsan cell
 * adds nothing (code NULL): the test's code again would define its names twice in that program.
 * After a plain run whose checks failed, the test cell is not part of the notebook and is sent
 * with %%tsan (code): TSan's report says why the checks failed (a data race on balance). A plain
 * run that timed out or crashed is not checked again, so a deadlock costs the time limit once
 * and its own diagnosis (who waits for what) is what the student reads. */
static const char TSAN_CELL[] = "%%tsan\n(void)0;  /* the notebook so far, the test cell last, under ThreadSanitizer */";

static void tsan_run(engine *eng, const char *code, int count, double timeout_s, extra *x) {
    capture c;
    engine_outcome out;
    char *text = code ? prefixed("%%tsan", code) : xstrdup(TSAN_CELL);
    run_code(eng, text, count, &c, &out);
    free(text);
    if (!out.ok && out.ename && strcmp(out.ename, "TsanUnavailable") == 0) {
        x->note = xasprintf("not checked with ThreadSanitizer: %s", out.evalue ? out.evalue : "unavailable");
    } else if (!out.ok && !code && out.ename && strcmp(out.ename, "TimeoutError") == 0) {
        x->failed = true;
        x->ename = xstrdup("TimeoutError");
        x->evalue = xasprintf("the test passed its plain run, but the ThreadSanitizer run (every earlier cell and this "
                              "test, built with TSan, which makes programs 5-15 times slower) did not finish within "
                              "%g s: a deadlock or slow code in an earlier cell (a demo, a long loop) runs again there",
                              timeout_s);
        x->output = xstrdup(c.text.data ? c.text.data : "");
    } else if (!out.ok) {
        x->failed = true;
        x->ename = xstrdup(out.ename ? out.ename : "ThreadSanitizer");
        x->evalue = xasprintf("ThreadSanitizer run: %s", out.evalue ? out.evalue : "it failed");
        x->output = xstrdup(c.text.data ? c.text.data : "");
    }
    engine_outcome_clear(&out);
    capture_free(&c);
}

static void extra_free(extra *x) {
    free(x->ename);
    free(x->evalue);
    free(x->note);
    free(x->output);
}

/* ---- macros that would blind the tests ---- */

/* A macro persists into every later cell, so `#define cl_check(...) 1` in an answer would make
 * every test pass. Names of the runtime and of what tests are written with may not be macros
 * defined by a student's cell: they are undefined right after it, and the report says so. */
static bool shadows_a_test_word(const char *name) {
    static const char *const words[] = {"assert", "printf", "fprintf", "puts", "exit", "abort", "strcmp",
                                        "memcmp", "if", "else", "return", "while", "for", "do", "int", "long",
                                        "double", "void", "char", "sizeof", "main", NULL};
    if (strncmp(name, "cl_", 3) == 0 || strncmp(name, "CL_", 3) == 0) return true;
    for (const char *const *w = words; *w; w++)
        if (strcmp(name, *w) == 0) return true;
    return false;
}

/* ---- the notebook ---- */

typedef struct runner {
    engine *eng;
    grade_plan *plan;
    grade_run_options *o;
    int count;
    size_t *setup;          /* cells that ran well and are not tests: what rebuilds a lost state */
    size_t n_setup;
    json_t *owners;         /* name -> index of the locked cell that defined it last */
    json_t *locked_words;   /* identifiers written in locked cells (a set) */
    char *locked_failure;   /* the first locked, ungraded cell that failed, in words */
    json_t *question_of;    /* cell number (as text) -> the grade_id of the cell it ran */
} runner;

/* ---- naming the question a message points at ---- */

/* The engine's messages say "cell[7]", a number the student never sees; the question's grade_id
 * is added after it. */
static void remember_question(runner *r, int count, size_t index) {
    char buf[160], key[24];
    int item = r->plan->item_of_cell[index];
    json_t *cell = json_array_get(json_object_get(r->plan->notebook, "cells"), index);
    const char *gid = json_string_value(json_object_get(json_object_get(json_object_get(cell, "metadata"), "nbgrader"), "grade_id"));
    if (item >= 0) gid = r->plan->items[item].grade_id;
    if (!gid) return;
    snprintf(key, sizeof key, "%d", count);
    snprintf(buf, sizeof buf, "%s", gid);
    json_object_set_new(r->question_of, key, json_string(buf));
}

static char *name_questions(const runner *r, const char *text) {
    strbuf b = {0};
    const char *at;
    while ((at = strstr(text, "cell["))) {
        char *end;
        long n = strtol(at + 5, &end, 10);
        if (end == at + 5 || *end != ']') {
            strbuf_addn(&b, text, (size_t)(at - text) + 5);
            text = at + 5;
            continue;
        }
        strbuf_addn(&b, text, (size_t)(end + 1 - text));
        char key[24];
        snprintf(key, sizeof key, "%ld", n);
        const char *gid = json_string_value(json_object_get(r->question_of, key));
        if (gid) strbuf_addf(&b, " ('%s')", gid);
        text = end + 1;
    }
    strbuf_add(&b, text);
    return strbuf_take(&b);
}

static void name_questions_in_items(const runner *r) {
    for (size_t i = 0; i < r->plan->n_items; i++) {
        grade_item *it = &r->plan->items[i];
        char *message = name_questions(r, it->message), *output = name_questions(r, it->output);
        free(it->message);
        free(it->output);
        it->message = message;
        it->output = output;
    }
}

/* ---- locked cells keep their meaning ---- */

/* A student cell runs after the instructor's setup and helpers, and its definitions replace
 * theirs: `long run_depositors(...) { return the expected total; }` would pass the race test with
 * a racy answer, and `#define run_depositors ...` would break a later helper. So names the locked
 * cells define belong to them: after a student's cell, a macro that shadows a word of a locked
 * cell (or of the runtime, or a test word) is undefined, and a locked cell whose definition was
 * replaced runs again, so the instructor's definition is the one the tests use. */

static const char *cell_label(const runner *r, size_t index, char *buf, size_t size) {
    int item = r->plan->item_of_cell[index];
    json_t *cell = json_array_get(json_object_get(r->plan->notebook, "cells"), index);
    const char *gid = json_string_value(json_object_get(json_object_get(json_object_get(cell, "metadata"), "nbgrader"), "grade_id"));
    if (item >= 0) gid = r->plan->items[item].grade_id;
    if (gid) {
        snprintf(buf, size, "'%s'", gid);
        return buf;
    }
    /* a cell the student added: its first line is what they can find it by */
    char *code = nbg_cell_source(cell);
    const char *first = code + strspn(code, " \t\r\n");
    int len = (int)strcspn(first, "\r\n");
    int shown = len > 40 ? 40 : len;
    while (shown > 0 && shown < len && ((unsigned char)first[shown] & 0xC0) == 0x80) shown--;  /* whole UTF-8 characters */
    snprintf(buf, size, "\"%.*s%s\"", shown, first, shown < len ? "..." : "");
    free(code);
    return buf;
}

static void add_words(json_t *set, const char *text) {
    for (const char *p = text; *p;) {
        if (*p == '_' || (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z')) {
            const char *start = p;
            while (*p == '_' || (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9')) p++;
            char *word = xasprintf("%.*s", (int)(p - start), start);
            json_object_set_new(set, word, json_true());
            free(word);
        } else if (*p >= '0' && *p <= '9') {
            while (*p == '_' || (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9')) p++;
        } else {
            p++;
        }
    }
}

static void collect_locked_words(runner *r) {
    r->locked_words = json_object();
    size_t i;
    json_t *cell;
    json_array_foreach(json_object_get(r->plan->notebook, "cells"), i, cell) {
        if (!r->plan->is_locked_cell[i]) continue;
        char *code = nbg_cell_source(cell);
        add_words(r->locked_words, code);
        free(code);
    }
}

/* The names cell number count defined now belong to locked cell index. */
static void claim_names(runner *r, int count, size_t index) {
    const char *name;
    json_t *sym;
    json_object_foreach((json_t *)engine_symbols(r->eng), name, sym)
        if (json_integer_value(json_object_get(sym, "cell")) == count) json_object_set_new(r->owners, name, json_integer((json_int_t)index));
}

static void run_quietly(runner *r, const char *code, engine_outcome *out) {
    capture c;
    run_code(r->eng, code, ++r->count, &c, out);
    capture_free(&c);
}

static void undo_shadowing_macros(runner *r, int count, const char *label) {
    const char *name;
    json_t *sym;
    strbuf undo = {0};
    json_object_foreach((json_t *)engine_symbols(r->eng), name, sym) {
        const char *kind = json_string_value(json_object_get(sym, "kind"));
        if (!kind || strcmp(kind, "macro") != 0 || json_integer_value(json_object_get(sym, "cell")) != count ||
            (!shadows_a_test_word(name) && !json_object_get(r->locked_words, name)))
            continue;
        strbuf_addf(&undo, "#undef %s\n", name);
        json_array_append_new(r->plan->notes, json_sprintf("cell %s (In [%d]) defined the macro %s, which would change "
                                                           "what the tests or the locked cells do; it was undefined "
                                                           "before the tests ran", label, count, name));
    }
    if (undo.len) {
        engine_outcome out;
        run_quietly(r, undo.data, &out);
        engine_outcome_clear(&out);
    }
    strbuf_free(&undo);
}

static void restore_locked_definitions(runner *r, int count, const char *label) {
    json_t *rerun = json_object();  /* locked cell index -> the names taken from it */
    const char *name;
    json_t *sym;
    json_object_foreach((json_t *)engine_symbols(r->eng), name, sym) {
        json_t *owner = json_object_get(r->owners, name);
        const char *kind = json_string_value(json_object_get(sym, "kind"));
        if (!owner || json_integer_value(json_object_get(sym, "cell")) != count || (kind && strcmp(kind, "macro") == 0)) continue;
        char key[32];
        snprintf(key, sizeof key, "%lld", (long long)json_integer_value(owner));
        if (!json_object_get(rerun, key)) json_object_set_new(rerun, key, json_array());
        json_array_append_new(json_object_get(rerun, key), json_string(name));
    }
    const char *key;
    json_t *names;
    json_object_foreach(rerun, key, names) {
        size_t index = strtoul(key, NULL, 10);
        char owner_label[160];
        cell_label(r, index, owner_label, sizeof owner_label);
        strbuf list = {0};
        size_t k;
        json_t *n;
        json_array_foreach(names, k, n) strbuf_addf(&list, "%s%s", k ? ", " : "", json_string_value(n));
        char *code = nbg_cell_source(json_array_get(json_object_get(r->plan->notebook, "cells"), index));
        engine_outcome out;
        run_quietly(r, code, &out);
        free(code);
        if (out.ok) claim_names(r, r->count, index);
        json_array_append_new(r->plan->notes, json_sprintf("cell %s (In [%d]) redefined %s, defined by the locked cell %s; "
                                                           "that cell ran again so the tests use the instructor's definition%s%s",
                                                           label, count, list.data, owner_label,
                                                           out.ok ? "" : ", and it failed: ", out.ok ? "" : (out.evalue ? out.evalue : "error")));
        engine_outcome_clear(&out);
        strbuf_free(&list);
    }
    json_decref(rerun);
}

/* After a student's cell (number count) ran. */
static void guard_locked_cells(runner *r, size_t index, int count) {
    char label[160];
    cell_label(r, index, label, sizeof label);
    undo_shadowing_macros(r, count, label);
    restore_locked_definitions(r, count, label);
}

/* A locked cell that is not a test failed: nothing scores it, so the report says it, and so do
 * the tests that fail after it. */
static void note_locked_failure(runner *r, size_t index, int count, const engine_outcome *out) {
    char label[160];
    cell_label(r, index, label, sizeof label);
    char *what = xasprintf("the locked cell %s (In [%d]) failed: %s: %s; tests that rely on it may fail for that reason",
                           label, count, out->ename ? out->ename : "Error", out->evalue ? out->evalue : "");
    json_array_append_new(r->plan->notes, json_string(what));
    if (!r->locked_failure) r->locked_failure = what;
    else free(what);
}

static void rebuild_state(runner *r) {
    if (!r->o->quiet) fprintf(stderr, "conclab grade: the notebook's state was lost; running the %zu earlier cells again\n",
                              r->n_setup);
    json_array_append_new(r->plan->notes, json_sprintf("the notebook's state was lost after In [%d]; the %zu earlier "
                                                       "cells that are not tests ran again", r->count, r->n_setup));
    for (size_t i = 0; i < r->n_setup; i++) {
        json_t *cell = json_array_get(json_object_get(r->plan->notebook, "cells"), r->setup[i]);
        char *code = nbg_cell_source(cell);
        capture c;
        engine_outcome out;
        run_code(r->eng, code, ++r->count, &c, &out);
        engine_outcome_clear(&out);
        capture_free(&c);
        free(code);
    }
}

static bool tsan_counts_as_report(const extra *tsan) {
    return tsan->failed && tsan->ename && (strcmp(tsan->ename, "DataRace") == 0 || strcmp(tsan->ename, "ThreadSanitizer") == 0);
}

/* The TSan run's output first (its report is why the test failed), then the plain run's. */
static void keep_tsan_output(grade_item *it, const extra *tsan) {
    strbuf b = {0};
    strbuf_addf(&b, "--- ThreadSanitizer run ---\n%.*s", (int)(OUTPUT_CAP * 3 / 4), tsan->output);
    strbuf_addf(&b, "\n--- plain run ---\n%s", it->output);
    if (b.len > OUTPUT_CAP) b.data[OUTPUT_CAP] = '\0';
    free(it->output);
    it->output = strbuf_take(&b);
}

static void score_test_cell(runner *r, size_t index, grade_item *it, const char *code, const engine_outcome *out,
                            capture *c, extra *tsan) {
    cell_result res = {.ok = out->ok, .ename = out->ename, .evalue = out->evalue, .wrote_stderr = c->wrote_stderr,
                       .lock_order_report = c->lock_order_report, .source = code};
    res.result_text = out->ok && out->result ? json_string_value(json_object_get(out->result, "text/plain")) : NULL;
    free(it->output);
    it->output = xstrdup(c->text.data ? c->text.data : "");
    bool checks_failed = !out->ok && out->ename && strcmp(out->ename, "CheckFailed") == 0;
    if (it->tsan && (out->ok || checks_failed)) {
        remember_question(r, ++r->count, index);
        tsan_run(r->eng, out->ok ? NULL : code, r->count, r->o->timeout_s, tsan);
    }
    if (tsan->output && (out->ok || tsan_counts_as_report(tsan))) keep_tsan_output(it, tsan);
    extra chaos = {0};
    int runs = r->o->repeat > 1 ? r->o->repeat : it->repeat > 1 ? it->repeat : it->chaos ? CHAOS_DEFAULT_RUNS : 0;
    /* the trials take a number of their own: the engine records each cell it is sent */
    if (out->ok && !tsan->failed && runs > 1) {
        remember_question(r, ++r->count, index);
        chaos_runs(r->eng, code, r->count, runs, it, r->o, &chaos);
    }
    /* after failed checks, only a TSan report tells more than the plain run's failure */
    bool tsan_counts = tsan->failed && (out->ok || tsan_counts_as_report(tsan));
    extra *failed = chaos.failed ? &chaos : tsan_counts ? tsan : NULL;
    if (failed) res.ok = false, res.ename = failed->ename, res.evalue = failed->evalue, res.result_text = NULL;
    scoring_score(it, &res, &(scoring_rules){.stderr_fails = r->o->stderr_fails});
    if (it->has_runs && !it->runs_failed && !chaos.note && strcmp(it->status, "passed") == 0) {
        char *m = xasprintf("%s (all %d runs under schedule perturbation, seeds %llu..%llu)", it->message, it->runs,
                            r->o->seed, r->o->seed + (unsigned long long)it->runs - 1);
        free(it->message);
        it->message = m;
    }
    if (r->locked_failure && strcmp(it->status, "passed") != 0) {
        char *m = xasprintf("%s (before it, %s)", it->message, r->locked_failure);
        free(it->message);
        it->message = m;
    }
    for (extra *x = &chaos; x; x = x == &chaos ? tsan : NULL)
        if (x->note) {
            char *m = xasprintf("%s; %s", it->message, x->note);
            free(it->message);
            it->message = m;
        }
    extra_free(&chaos);
}

static void run_cell(runner *r, size_t index, json_t *cell) {
    int item_index = r->plan->item_of_cell[index];
    grade_item *it = item_index >= 0 ? &r->plan->items[item_index] : NULL;
    const char *type = json_string_value(json_object_get(cell, "cell_type"));
    if (!type || strcmp(type, "code") != 0) {
        if (it) scoring_manual(it, it->unanswered);
        return;
    }
    char *code = nbg_cell_source(cell);
    if (code[strspn(code, " \t\r\n\f\v")] == '\0') {  /* an empty cell takes no number, as in Jupyter */
        if (it) {
            cell_result empty = {.ok = false, .ename = "NotAnswered", .evalue = "the cell is empty"};
            scoring_score(it, &empty, &(scoring_rules){0});
        }
        free(code);
        return;
    }
    bool lockcheck = it && it->lockcheck && strcmp(it->kind, "test") == 0;  /* asked of tests only */
    char *text = lockcheck ? prefixed("%lockcheck on", code) : xstrdup(code);
    int count = ++r->count;
    remember_question(r, count, index);
    extra tsan = {0};
    bool is_test = it && strcmp(it->kind, "test") == 0;
    capture c;
    engine_outcome out;
    run_code(r->eng, text, count, &c, &out);
    free(text);
    store_outputs(cell, &c, &out, count);
    if (lockcheck) {
        capture off;
        engine_outcome off_out;
        run_code(r->eng, "%lockcheck off", ++r->count, &off, &off_out);
        engine_outcome_clear(&off_out);
        capture_free(&off);
    }
    if (is_test) score_test_cell(r, index, it, code, &out, &c, &tsan);
    else if (it) {
        cell_result res = {.ok = out.ok, .ename = out.ename, .evalue = out.evalue, .source = code};
        scoring_score(it, &res, &(scoring_rules){0});
        free(it->output);
        it->output = xstrdup(c.text.data ? c.text.data : "");
    }
    if (out.ok && !r->plan->is_test_cell[index]) r->setup[r->n_setup++] = index;
    bool locked = r->plan->is_locked_cell[index];
    if (locked && out.ok) claim_names(r, count, index);
    if (locked && !out.ok && !is_test) note_locked_failure(r, index, count, &out);
    if (!locked) guard_locked_cells(r, index, count);
    bool lost = state_was_lost(&out);
    engine_outcome_clear(&out);
    capture_free(&c);
    free(code);
    extra_free(&tsan);
    if (lost) rebuild_state(r);
}

/* ---- being stopped ---- */

/* SIGINT, SIGTERM or SIGHUP (Ctrl-C, a batch stopping its workers): the running cell is
 * interrupted with every process it made, and grading ends without a report, so a resumed batch
 * grades the submission again. engine_interrupt is not async-signal-safe: the handler writes a
 * byte to a pipe and a watcher thread acts. */
static int stop_pipe[2] = {-1, -1};
static volatile sig_atomic_t stop_requested;

static void on_stop_signal(int sig) {
    (void)sig;
    stop_requested = 1;
    int saved = errno;
    ssize_t n = write(stop_pipe[1], "s", 1);
    (void)n;
    errno = saved;
}

static void *stop_watcher(void *arg) {
    char c;
    while (read(stop_pipe[0], &c, 1) == 1 && c == 's') engine_interrupt(arg);
    return NULL;
}

static const int STOP_SIGNALS[] = {SIGINT, SIGTERM, SIGHUP};

static bool stop_guard_start(engine *eng, pthread_t *watcher) {
    if (pipe2(stop_pipe, O_CLOEXEC) != 0) return false;
    if (pthread_create(watcher, NULL, stop_watcher, eng) != 0) {
        close(stop_pipe[0]);
        close(stop_pipe[1]);
        return false;
    }
    struct sigaction sa = {.sa_handler = on_stop_signal, .sa_flags = SA_RESTART};
    sigemptyset(&sa.sa_mask);
    for (size_t i = 0; i < sizeof STOP_SIGNALS / sizeof *STOP_SIGNALS; i++) sigaction(STOP_SIGNALS[i], &sa, NULL);
    return true;
}

/* Before engine_free: the watcher must not touch the engine once it is gone. */
static void stop_guard_end(pthread_t watcher) {
    struct sigaction sa = {.sa_handler = SIG_DFL};
    sigemptyset(&sa.sa_mask);
    for (size_t i = 0; i < sizeof STOP_SIGNALS / sizeof *STOP_SIGNALS; i++) sigaction(STOP_SIGNALS[i], &sa, NULL);
    ssize_t n = write(stop_pipe[1], "q", 1);
    (void)n;
    pthread_join(watcher, NULL);
    close(stop_pipe[0]);
    close(stop_pipe[1]);
}

/* The engine, in the sandbox unless asked otherwise; NULL with *err when none can start (or the
 * sandbox was required and cannot). Each submission gets a private, empty sandbox folder. */
static engine *start_engine(grade_run_options *o, json_t *notes, char **err) {
    engine_options eo = {.timeout_s = o->timeout_s, .sandbox = o->sandbox != GRADE_SANDBOX_OFF};
    engine *eng = engine_start(&eo, err);
    o->sandboxed = eng && eo.sandbox;
    if (eng || o->sandbox != GRADE_SANDBOX_AUTO) return eng;
    fprintf(stderr, "conclab grade: warning: graded WITHOUT a sandbox: %s\n", *err);
    json_array_append_new(notes, json_sprintf("graded without a sandbox (%s): the submission could read and "
                                              "write what the grader can", *err));
    free(*err);
    *err = NULL;
    eo.sandbox = false;
    return engine_start(&eo, err);
}

int grade_run(grade_plan *plan, grade_run_options *o, char **err) {
    engine *eng = start_engine(o, plan->notes, err);
    if (!eng) return -1;
    pthread_t watcher;
    bool guarded = stop_guard_start(eng, &watcher);
    json_t *cells = json_object_get(plan->notebook, "cells");
    runner r = {.eng = eng, .plan = plan, .o = o, .owners = json_object(), .question_of = json_object()};
    r.setup = xmalloc((json_array_size(cells) + 1) * sizeof *r.setup);
    collect_locked_words(&r);
    size_t i;
    json_t *cell;
    json_array_foreach(cells, i, cell) {
        if (stop_requested) break;
        run_cell(&r, i, cell);
    }
    free(r.setup);
    name_questions_in_items(&r);
    json_decref(r.question_of);
    json_decref(r.owners);
    json_decref(r.locked_words);
    free(r.locked_failure);
    if (guarded) stop_guard_end(watcher);
    engine_free(eng);
    if (stop_requested) {
        *err = xstrdup("interrupted: no report was written");
        return GRADE_RUN_STOPPED;
    }
    return 0;
}
