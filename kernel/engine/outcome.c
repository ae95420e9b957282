/* outcome.c — how a cell ended, in words a student can act on (engine_outcome): what the
 * executor's "done" event says, or why the client stopped the cell (interrupt, time, output,
 * processes), or that the executor died; with the cell's own line where one is known. */
#include "engine_internal.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "diagnostics.h"
#include "monotonic.h"

void engine_set_error(engine_outcome *out, const char *ename, const char *evalue, json_t *traceback) {
    out->ok = false;
    free(out->ename);
    free(out->evalue);
    out->ename = strdup(ename);
    out->evalue = strdup(evalue);
    json_decref(out->traceback);
    out->traceback = traceback ? traceback : json_pack("[s]", evalue);
}

void engine_say(const engine_callbacks *cb, const char *text) {
    if (cb && cb->on_stream && text) cb->on_stream(cb->ctx, "stdout", text, strlen(text));
}

void engine_outcome_clear(engine_outcome *out) {
    free(out->ename);
    free(out->evalue);
    json_decref(out->traceback);
    json_decref(out->result);
    json_decref(out->page);
    memset(out, 0, sizeof *out);
}

/* Where the cell was when it ended: the executor's note after a crash, else the progress page
 * the cell's code keeps up to date (an interrupted or timed-out cell leaves no note). */
static void locate(engine *eng, run_state *rs) {
    const char *where = rs->has_done ? rs->done.done.where : NULL;
    if (where) snprintf(rs->at, sizeof rs->at, " at %s", where);
    else if (eng->progress && eng->progress->cell == rs->req->cell_number && eng->progress->line > 0)
        snprintf(rs->at, sizeof rs->at, " at cell[%d], line %d", eng->progress->cell, eng->progress->line);
}

/* The notebook frames the executor listed: its traceback without the first and last lines. */
static json_t *frames_of(const run_state *rs) {
    json_t *tb = rs->has_done ? rs->done.done.traceback : NULL;
    json_t *frames = json_array();
    for (size_t i = 1; i + 1 < json_array_size(tb); i++) json_array_append(frames, json_array_get(tb, i));
    return frames;
}

/* After the traceback's first line, the cell's line named by "cell[N], line L" in `where`, as
 * Python shows the line a traceback points at. */
static void show_source_line(json_t *tb, const run_state *rs, const char *where) {
    int cell = 0, line = 0;
    const char *at = where ? strstr(where, "cell[") : NULL;
    if (!at || sscanf(at, "cell[%d], line %d", &cell, &line) != 2 || cell != rs->req->cell_number) return;
    json_t *source = diagnostics_source_line(rs->req->code, cell, line);
    for (size_t i = json_array_size(source); i > 0; i--) json_array_insert(tb, 1, json_array_get(source, i - 1));
    json_decref(source);
}

static const char *stop_ename(stop_reason why) {
    switch (why) {
    case STOP_TIMEOUT: return "TimeoutError";
    case STOP_PROCESSES: return "ProcessLimitExceeded";
    case STOP_OUTPUT: return "OutputLimitExceeded";
    case STOP_CHANNEL: return "ChannelError";
    default: return "Interrupted";
    }
}

static void describe_stop(engine *eng, const run_state *rs, stop_reason why, const char *kept, char *evalue,
                          size_t size) {
    const char *at = rs->at;
    int limit = eng->opts.process_limit;
    if (why == STOP_INTERRUPT) snprintf(evalue, size, "the cell was interrupted%s; %s", at, kept);
    else if (why == STOP_TIMEOUT)
        snprintf(evalue, size, "the cell ran longer than its time limit of %g s (%%%%timeout SECONDS changes it)%s; %s",
                 rs->timeout_s, at, kept);
    else if (why == STOP_PROCESSES && eng->processes.backstop_hit)
        snprintf(evalue, size, "the cell tried to run more than %d processes at once, more than %d with their "
                 "threads (a fork bomb?), and was stopped with every process it made (CONCLAB_PROCESS_LIMIT "
                 "sets the limit)%s; %s", limit, limit + PROCESS_LIMIT_THREAD_ALLOWANCE, at, kept);
    else if (why == STOP_PROCESSES)
        snprintf(evalue, size, "the cell tried to run more than %d processes at once (a fork bomb?) and was "
                 "stopped with every process it made (CONCLAB_PROCESS_LIMIT sets the limit)%s; %s", limit, at, kept);
    else if (why == STOP_CHANNEL)
        snprintf(evalue, size, "the cell wrote into conclab's private channel (fd %d): %s came where only the "
                 "executor writes, so the cell was stopped%s; %s", eng->executor_channel_fd, rs->violation, at, kept);
    else
        snprintf(evalue, size, "the cell wrote more than %zu bytes of output%s; %s", eng->opts.output_limit, at, kept);
}

/* After the frames: what the cell's threads were doing when it was stopped (engine.c read the
 * board of waits just before the kill), one traceback line per line of the report. */
static void show_waits(const engine *eng, json_t *tb) {
    const char *text = eng->waits_report;
    for (const char *line = text; line && *line;) {
        size_t n = strcspn(line, "\n");
        json_array_append_new(tb, json_stringn(line, n));
        line += n + (line[n] == '\n');
    }
}

/* Why the client stopped the cell, when it did: that is the error the student should see. */
static void explain_stop(engine *eng, const run_state *rs, stop_reason why, bool state_lost, engine_outcome *out) {
    char evalue[1024];
    const char *kept = !state_lost ? "the notebook's state from before this cell is intact"
                     : rs->in_place ? "the notebook's state was lost (threads were running, so the cell "
                                      "could not run in a fork) and a fresh one started"
                                    : "the notebook's state was lost and a fresh one started";
    describe_stop(eng, rs, why, kept, evalue, sizeof evalue);
    if (eng->waits_deadlock) {  /* the cycle is the news: say it first */
        size_t used = strlen(evalue), cycle = strcspn(eng->waits_report, "\n");
        if (used + 2 < sizeof evalue)
            snprintf(evalue + used, sizeof evalue - used, "; %.*s", (int)cycle, eng->waits_report);
    }
    const char *ename = stop_ename(why);
    json_t *tb = json_array();
    json_array_append_new(tb, json_sprintf("%s: %s", ename, evalue));
    json_t *frames = frames_of(rs);
    json_array_extend(tb, frames);
    json_decref(frames);
    show_source_line(tb, rs, rs->at);
    show_waits(eng, tb);
    engine_set_error(out, ename, evalue, tb);
}

/* "2 threads started by cell [3] are still running": shown when that picture changes. Not on
 * stderr, which graders count as a failure: as a display. */
static void notice_threads(engine *eng, const engine_callbacks *cb, const json_t *by_cell) {
    strbuf text = {0};
    size_t i;
    const json_t *group;
    json_array_foreach(by_cell, i, group) {
        long long count = json_integer_value(json_object_get(group, "count"));
        strbuf_addf(&text, "%s%lld thread%s started by cell [%lld] %s still running",
                    text.len ? "; " : "[conclab] ", count, count == 1 ? "" : "s",
                    json_integer_value(json_object_get(group, "cell")), count == 1 ? "is" : "are");
    }
    if (text.len) strbuf_add(&text, " (%threads lists them)");
    char *now = strbuf_take(&text);
    bool changed = strcmp(now, eng->thread_notice ? eng->thread_notice : "") != 0;
    if (changed && now[0] && cb && cb->on_display) {
        json_t *data = json_pack("{s:s}", "text/plain", now);
        cb->on_display(cb->ctx, data, NULL, NULL, false);
        json_decref(data);
    }
    free(eng->thread_notice);
    eng->thread_notice = now;
}

/* The holder's end may be noticed (its socket closing) a moment before it can be reaped. */
static bool wait_for_holder(engine *eng, int *status) {
    double deadline = monotonic_seconds() + 0.5;
    for (;;) {
        pid_t got = waitpid(eng->holder, status, WNOHANG);
        if (got == eng->holder) return true;
        if (got < 0 || monotonic_seconds() > deadline) return false;
        usleep(1000);
    }
}

/* The holder died, or its channel broke, with no "done" to say how: in place (threads were
 * running, so no fork kept the state), or killed from outside, or a channel the cell broke. Says
 * which, as far as can be known, and starts a fresh executor. */
static void explain_death(engine *eng, run_state *rs, stop_reason why, engine_outcome *out) {
    int status = 0;
    bool reaped = wait_for_holder(eng, &status);
    char what[200], evalue[400];
    if (reaped && WIFSIGNALED(status))
        snprintf(what, sizeof what, "the executor was killed by signal %d (%s)", WTERMSIG(status),
                 strsignal(WTERMSIG(status)));
    else if (reaped && WIFEXITED(status))
        snprintf(what, sizeof what, "the executor ended with exit status %d", WEXITSTATUS(status));
    else if (eng->opts.sandbox)  /* its parent inside reaped it: how it ended is not seen from here */
        snprintf(what, sizeof what, "the executor died or closed its channel to the kernel (in the sandbox, "
                 "how it ended cannot be seen from outside)");
    else
        snprintf(what, sizeof what, "the executor's channel to the kernel closed (did the cell close "
                 "descriptors it had not opened?)");
    snprintf(evalue, sizeof evalue, "%s%s; the notebook's state was lost and a fresh one started", what,
             rs->in_place ? " while the cell ran in place (threads were running, so no fork kept the state)" : "");
    engine_restart(eng);
    if (why != STOP_NONE) explain_stop(eng, rs, why, true, out);
    else engine_set_error(out, "ExecutorDied", evalue, NULL);
}

/* What the executor said about a cell that failed. */
static void explain_failure(const run_state *rs, const event_done *d, engine_outcome *out) {
    if (d->errors) {  /* it did not compile */
        char *explained;
        json_t *tb;
        diagnostics_compile_error(d->errors, rs->req->code, rs->req->cell_number, &explained, &tb);
        engine_set_error(out, d->ename ? d->ename : "CompileError", explained, tb);
        free(explained);
        return;
    }
    json_t *tb = d->traceback ? json_deep_copy(d->traceback) : json_pack("[s]", d->evalue ? d->evalue : "");
    show_source_line(tb, rs, d->where);
    engine_set_error(out, d->ename ? d->ename : "Error", d->evalue ? d->evalue : "", tb);
}

void engine_fill_outcome(engine *eng, run_state *rs, stop_reason why, engine_outcome *out) {
    locate(eng, rs);
    if (rs->died || !rs->has_done) {
        explain_death(eng, rs, why, out);
        return;
    }
    const event_done *d = &rs->done.done;
    engine_keep_definitions(eng, rs->definitions, rs->definitions_length);
    if (d->state_lost) engine_restart(eng);  /* the executor ended itself */
    if (d->ok) {
        notice_threads(eng, rs->cb, d->threads);
        out->ok = true;
        if (d->result) out->result = json_pack("{s:s}", "text/plain", d->result);
        return;
    }
    if (why != STOP_NONE) explain_stop(eng, rs, why, false, out);
    else explain_failure(rs, d, out);
}
