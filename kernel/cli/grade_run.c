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
 * its plain run.
 *
 * The pieces: grade_capture.c (one run of a cell and its outputs), grade_extra_runs.c (chaos,
 * TSan, the replay command), grade_guard.c (locked cells, questions named in messages, a lost
 * state rebuilt); this file walks the cells, scores each, and starts and stops the engine. */
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
#include "grade_run_internal.h"
#include "xalloc.h"

enum {
    CHAOS_DEFAULT_RUNS = 20,
};

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
