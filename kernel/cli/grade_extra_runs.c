/* grade_extra_runs.c — the extra runs a test cell may ask for in `conclab grade`.
 *
 * A test that passed its plain run and asks for more (metadata "conclab": {"repeat": N, "chaos":
 * true, "tsan": true}, or --repeat N) runs again the way the engine's magics do it: under %%chaos
 * with recorded seeds (throwaway copies of the notebook), or under %%tsan. Here: those runs, the
 * replay command a failing chaos run is reported with (its file names quoted for the shell), and
 * how a ThreadSanitizer report is kept in the item's output. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"
#include "grade_run_internal.h"
#include "strbuf.h"
#include "xalloc.h"

char *prefixed(const char *magic, const char *code) { return xasprintf("%s\n%s", magic, code); }

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
void chaos_runs(engine *eng, const char *code, int count, int runs, grade_item *it, grade_run_options *o, extra *x) {
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

void tsan_run(engine *eng, const char *code, int count, double timeout_s, extra *x) {
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

void extra_free(extra *x) {
    free(x->ename);
    free(x->evalue);
    free(x->note);
    free(x->output);
}

bool tsan_counts_as_report(const extra *tsan) {
    return tsan->failed && tsan->ename && (strcmp(tsan->ename, "DataRace") == 0 || strcmp(tsan->ename, "ThreadSanitizer") == 0);
}

/* The TSan run's output first (its report is why the test failed), then the plain run's. */
void keep_tsan_output(grade_item *it, const extra *tsan) {
    strbuf b = {0};
    strbuf_addf(&b, "--- ThreadSanitizer run ---\n%.*s", (int)(OUTPUT_CAP * 3 / 4), tsan->output);
    strbuf_addf(&b, "\n--- plain run ---\n%s", it->output);
    if (b.len > OUTPUT_CAP) b.data[OUTPUT_CAP] = '\0';
    free(it->output);
    it->output = strbuf_take(&b);
}
