/* execute.c — one cell through the engine: its magic lines first (some need no executor at
 * all), then the execute op with the code, then the executor's events until "done", forwarding
 * output and answering input all the while, and stopping the cell at its time, output or
 * process limit. */
#define _GNU_SOURCE
#include "engine_internal.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "help_lines.h"
#include "monotonic.h"
#include "process_tree.h"

enum { CHAOS_TIMEOUT_SLACK_S = 5 };

#define CONCLAB_STRINGIFY_(x) #x
#define CONCLAB_STRINGIFY(x) CONCLAB_STRINGIFY_(x)

/* ---------------------------------------------------------------- magics that ask */

/* %threads: asks the holder for its threads. */
static void answer_threads(engine *eng, const engine_callbacks *cb) {
    event reply = {0};
    bool asked = op_send(eng->channel, &(op){.kind = OP_THREADS}, NULL, 0) == 0 &&
                 event_receive(eng->channel, &reply, NULL, NULL, NULL) == 0 && reply.kind == EV_THREADS &&
                 reply.stamp.nonce == eng->nonce && !reply.stray;
    const json_t *list = asked ? reply.threads : NULL;
    strbuf text = {0};
    if (json_array_size(list) == 0) strbuf_add(&text, "No threads are running besides the notebook's own.\n");
    else strbuf_add(&text, "Threads still running:\n");
    size_t i;
    const json_t *t;
    json_array_foreach(list, i, t) {
        const char *state = json_string_value(json_object_get(t, "state"));
        const char *what = !state ? "?" : state[0] == 'R' ? "running" : state[0] == 'S' ? "sleeping or waiting"
                         : state[0] == 'D' ? "waiting on I/O" : state;
        strbuf_addf(&text, "  thread %lld from cell [%lld]: %s (%s)\n", json_integer_value(json_object_get(t, "tid")),
                    json_integer_value(json_object_get(t, "cell")), what,
                    json_string_value(json_object_get(t, "name")));
    }
    event_clear(&reply);
    char *s = strbuf_take(&text);
    engine_say(cb, s);
    free(s);
}

/* %limits */
static void answer_limits(engine *eng, const engine_callbacks *cb) {
    strbuf text = {0};
    if (eng->settings.timeout_s > 0) strbuf_addf(&text, "time per cell:   %g s (%%timeout SECONDS)\n", eng->settings.timeout_s);
    else strbuf_add(&text, "time per cell:   none (%timeout SECONDS sets one)\n");
    strbuf_addf(&text, "output per cell: %zu bytes (CONCLAB_OUTPUT_LIMIT)\n", eng->opts.output_limit);
    strbuf_addf(&text, "memory per cell: %zu MiB more than the notebook holds (CONCLAB_MEMORY_LIMIT)\n",
                eng->opts.memory_limit >> 20);
    strbuf_addf(&text, "processes:       %d at once (CONCLAB_PROCESS_LIMIT%s)\n", eng->opts.process_limit,
                eng->processes.dir[0] ? "; threads do not count, but a pids cgroup caps processes and "
                                        "threads together at that + " CONCLAB_STRINGIFY(PROCESS_LIMIT_THREAD_ALLOWANCE)
                                      : ", counted per cell; threads do not count");
    strbuf_addf(&text, "bounds checking: %s (%%bounds on|off)\n", eng->settings.bounds ? "on" : "off");
    strbuf_addf(&text, "prelude:         %s (%%prelude on|off)\n", eng->settings.no_prelude ? "off" : "on");
    strbuf_addf(&text, "lock order:      %s (%%lockcheck on|off)\n", eng->settings.lockcheck ? "checked" : "not checked");
    char *s = strbuf_take(&text);
    engine_say(cb, s);
    free(s);
}

static bool only_blank(const char *code) { return code[strspn(code, " \t\r\n")] == '\0'; }

/* %export writes a file from the kernel process, outside the sandbox: a sandboxed notebook may
 * not. (%%tsan builds and runs its program in a sandbox of its own: tsan_cell.c.) */
static bool refused_in_sandbox(const engine *eng, const cell_magics *magics, engine_outcome *out) {
    const char *what = magics->export_file ? "%export writes its file from outside the sandbox" : NULL;
    if (!eng->opts.sandbox || !what) return false;
    char text[160];
    snprintf(text, sizeof text, "%s, so a sandboxed notebook cannot use it", what);
    engine_set_error(out, "SandboxError", text, NULL);
    return true;
}

/* Magic lines first: a settings magic is answered here, and the rest of the cell (if any) runs
 * with them. Returns true when the cell needs no executor. */
static bool handle_magics(engine *eng, char *code, const engine_callbacks *cb, cell_magics *magics,
                          engine_outcome *out) {
    char *err = NULL;
    if (magics_parse(code, &eng->settings, magics, &err) != 0) {
        engine_set_error(out, "MagicError", err ? err : "bad magic", NULL);
        free(err);
        return true;
    }
    if (refused_in_sandbox(eng, magics, out)) return true;
    engine_say(cb, magics->note);
    if (magics->query == QUERY_THREADS) answer_threads(eng, cb);
    if (magics->query == QUERY_LIMITS) answer_limits(eng, cb);
    if (magics->export_file) {
        engine_export_session(eng, magics->export_file, cb, out);
        if (out->ename) return true;
    }
    out->ok = magics->query != QUERY_NONE || (only_blank(code) && magics->timeit_line < 0);
    return out->ok;
}

/* ---------------------------------------------------------------- the executor's events */

static void answer_input(run_state *rs) {
    char *line = NULL;
    if (rs->req->allow_stdin && rs->cb && rs->cb->on_input) line = rs->cb->on_input(rs->cb->ctx, "", false);
    op reply = {.kind = OP_INPUT_REPLY, .input_reply = {line ? line : "", line == NULL}};
    op_send(rs->eng->channel, &reply, NULL, 0);
    free(line);
}

/* The first thing on the channel the executor did not send stops the cell (its process is the
 * only other writer there is); the executor's own report of its end follows. */
static void refuse(run_state *rs, const char *what) {
    if (!rs->violation[0]) snprintf(rs->violation, sizeof rs->violation, "%s", what);
    engine_stop_cell(rs->eng, STOP_CHANNEL);
}

static void handle_event(run_state *rs, event *ev, pid_t inside) {
    switch (ev->kind) {
    case EV_RUNNING: {
        /* the pid is signalled later: only one below the kernel will do (a cell that crashed
         * at once may be gone already: then there is nothing to signal) */
        process_place place = ev->running.pid == -1 && rs->eng->opts.sandbox ? PROCESS_GONE  /* none of the sandbox's */
                                                                             : process_tree_place(ev->running.pid);
        if (place == PROCESS_ELSEWHERE) {
            refuse(rs, "a \"running\" message naming a process not the notebook's");
            break;
        }
        rs->running_seen = true;
        rs->running_at = monotonic_seconds();
        rs->in_place = ev->running.in_place;
        if (place == PROCESS_BELOW) engine_note_running(rs->eng, ev->running.pid, inside);
        break;
    }
    case EV_DISPLAY:
        if (rs->cb && rs->cb->on_display) rs->cb->on_display(rs->cb->ctx, ev->display_data, NULL, NULL, false);
        break;
    case EV_INPUT_REQUEST:
        engine_drain_streams(rs->eng, rs->cb, true);  /* the prompt the cell printed goes out first */
        answer_input(rs);
        break;
    case EV_DONE:
        rs->done = *ev;  /* the reference moves to rs */
        ev->json = NULL;
        rs->has_done = true;
        engine_follow_holder(rs->eng, rs->done.done.holder);
        break;
    case EV_THREADS: break;  /* only ever asked for between cells */
    }
}

/* What makes an event one the executor did not send for this cell, or NULL when it is one:
 * the kernel acts on nothing it has not checked (a pid to signal above all). */
static const char *unexpected(const run_state *rs, const event *ev) {
    if (ev->stray) return "bytes that were not a message";
    if (ev->stamp.nonce != rs->eng->nonce) return "a message without this session's nonce";
    if (ev->stamp.cell != rs->req->cell_number) return "a message for another cell";
    switch (ev->kind) {
    case EV_RUNNING: return rs->running_seen ? "a second \"running\" message" : NULL;  /* its pid: handle_event */
    case EV_INPUT_REQUEST: return rs->running_seen ? NULL : "a message before the cell ran";
    case EV_THREADS: return "an answer to a question nobody asked";
    case EV_DONE:
        if (ev->done.ok && process_tree_place(ev->done.holder) != PROCESS_BELOW)
            return "a \"done\" message naming a process not the notebook's";
        return NULL;
    case EV_DISPLAY: return NULL;
    }
    return "an unknown message";
}

/* One event, checked. */
static void read_channel(run_state *rs) {
    event ev;
    char *payload = NULL, *err = NULL;
    size_t length = 0;
    int rc = event_receive(rs->eng->channel, &ev, &payload, &length, &err);
    if (rc == -1) rs->died = true;
    if (rc == -2) refuse(rs, "a malformed message");
    if (rc == -3) refuse(rs, "bytes that were not a message");
    free(err);
    pid_t inside = 0;
    if (rc == 0) engine_translate_event_pids(rs->eng, &ev, &inside);
    const char *wrong = rc == 0 ? unexpected(rs, &ev) : NULL;
    if (wrong) refuse(rs, wrong);
    if (rc != 0 || wrong) {
        if (rc == 0) event_clear(&ev);
        free(payload);
        return;
    }
    if (ev.kind == EV_DONE) {
        rs->definitions = payload;
        rs->definitions_length = length;
        payload = NULL;
    }
    handle_event(rs, &ev, inside);
    event_clear(&ev);
    free(payload);
}

static bool readable(int fd) {
    struct pollfd p = {fd, POLLIN, 0};
    return fd >= 0 && poll(&p, 1, 0) == 1;
}

static void wait_for_done(run_state *rs) {
    engine *eng = rs->eng;
    double deadline = rs->timeout_s > 0 ? monotonic_seconds() + rs->timeout_s : 0;
    while (!rs->has_done && !rs->died) {
        struct pollfd fds[5] = {{eng->out.fd, POLLIN, 0}, {eng->err.fd, POLLIN, 0},
                                {eng->channel, POLLIN, 0}, {eng->holder_pidfd, POLLIN, 0},
                                {eng->displays, POLLIN, 0}};
        int wait_ms = 200;
        if (deadline) {
            double left = deadline - monotonic_seconds();
            wait_ms = left <= 0 ? 0 : left < 0.2 ? (int)(left * 1000) + 1 : 200;
        }
        int n = poll(fds, 5, wait_ms);
        if (n < 0 && errno != EINTR) break;
        /* events first: the executor sends a cell's warnings before the cell runs, so they must
         * not be overtaken by output that became readable at the same moment */
        if (fds[2].revents) read_channel(rs);
        if (fds[0].revents) engine_forward_stream(eng, rs->cb, &eng->out, true);
        if (fds[1].revents) engine_forward_stream(eng, rs->cb, &eng->err, true);
        if (fds[4].revents) engine_serve_displays(eng, rs->cb, true);
        if (!rs->has_done && !rs->died && fds[3].revents) {
            /* the holder is gone: unless it handed over (a "done" already waiting), it died */
            while (!rs->has_done && !rs->died && readable(eng->channel)) read_channel(rs);
            if (!rs->has_done) rs->died = true;
        }
        if (deadline && monotonic_seconds() >= deadline) engine_stop_cell(eng, STOP_TIMEOUT);
        if (process_limit_exceeded(&eng->processes, eng->running_group)) engine_stop_cell(eng, STOP_PROCESSES);
    }
}

/* ---------------------------------------------------------------- one cell */

static void set_executing(engine *eng, bool on) {
    pthread_mutex_lock(&eng->lock);
    eng->executing = on;
    eng->running_group = eng->running_group_inside = 0;
    if (on) {
        eng->stop = STOP_NONE;
        free(eng->waits_report);
        eng->waits_report = NULL;
        eng->waits_deadlock = false;
    }
    pthread_mutex_unlock(&eng->lock);
}

static void restart_if_lost(engine *eng, const engine_callbacks *cb) {
    if (!eng->holder_lost && eng->channel >= 0) return;
    const char *note = "[conclab] the executor had died between cells; the notebook's state was lost "
                       "and a fresh one started\n";
    if (cb && cb->on_stream) cb->on_stream(cb->ctx, "stderr", note, strlen(note));
    engine_restart(eng);
}

/* A cell that did not finish (stopped, crashed, its process killed) leaves nothing running:
 * whatever it started goes, even what left its process group, which the kill of the group
 * missed. What a finished cell leaves running on purpose (a server, a pool) stays. */
static void end_what_the_cell_left(engine *eng, int cell, const process_list *before) {
    process_limit_end_cell(&eng->processes, cell);
    if (eng->opts.sandbox) {  /* what the cell left is below the keeper; a sandbox made since stays */
        process_tree_kill_new(before, eng->sandbox.bwrap);
        process_tree_kill_new_below(eng->sandbox.keeper, before, eng->holder);
    } else process_tree_kill_new(before, eng->holder);
    engine_reap_children();
}

/* Sends the cell (its code after the magics) and follows it to its end. */
static void run_in_executor(engine *eng, const engine_request *req, const engine_callbacks *cb,
                            const cell_magics *magics, const char *code, engine_outcome *out) {
    op execute = {.kind = OP_EXECUTE,
                  .execute = {req->cell_number, req->allow_stdin, req->silent, magics->bounds, !magics->no_prelude,
                              eng->opts.memory_limit, magics->time, magics->watch, magics->trace_file,
                              magics->lockcheck, magics->chaos_runs,
                              magics->chaos_seeded ? (long long)magics->chaos_seed : -1,
                              (int)(magics->timeout_s * 1000 + 0.5)}};
    process_limit_exceeded(&eng->processes, 0);  /* forget refusals from before this cell */
    process_limit_prepare_cell(&eng->processes, req->cell_number);
    engine_limit_memory(eng);
    process_list before;
    process_tree_descendants(&before);
    run_state rs = {.eng = eng, .req = req, .cb = cb, .timeout_s = magics->timeout_s};
    /* %%chaos trials keep to the time limit themselves (they stop early and say how many ran):
     * this deadline is only the backstop for an executor that does not */
    if (magics->chaos_runs >= 2 && rs.timeout_s > 0) rs.timeout_s += CHAOS_TIMEOUT_SLACK_S;
    rs.sent_at = monotonic_seconds();
    if (op_send(eng->channel, &execute, code, strlen(code)) != 0) rs.died = true;  /* the code, unescaped */
    wait_for_done(&rs);
    double ended_at = monotonic_seconds();
    engine_drain_streams(eng, cb, true);
    engine_serve_displays(eng, cb, true);
    pthread_mutex_lock(&eng->lock);
    stop_reason why = eng->stop;
    pthread_mutex_unlock(&eng->lock);
    set_executing(eng, false);
    engine_fill_outcome(eng, &rs, why, out);
    out->compile_seconds = (rs.running_seen ? rs.running_at : ended_at) - rs.sent_at;
    out->run_seconds = rs.running_seen ? ended_at - rs.running_at : 0;
    /* A cell that ran in place and reported its own failure (a failed check) is the holder
     * itself, alive, in the cell's cgroup: what it leaves is the notebook's. */
    bool holder_reported = rs.in_place && rs.has_done;
    if (!out->ok && !holder_reported) end_what_the_cell_left(eng, req->cell_number, &before);
    process_limit_tidy(&eng->processes);
    process_list_free(&before);
    event_clear(&rs.done);
    free(rs.definitions);
}

void engine_execute(engine *eng, const engine_request *req, const engine_callbacks *cb, engine_outcome *out) {
    memset(out, 0, sizeof *out);
    engine_drain_streams(eng, cb, false);  /* what background threads wrote since the last cell */
    engine_serve_displays(eng, cb, false);
    restart_if_lost(eng, cb);
    set_executing(eng, true);
    eng->cell_output = 0;
    char *code = strdup(req->code ? req->code : "");
    cell_magics magics = {0};
    help_query asked[HELP_LINES_MAX];  /* `name?` lines: blanked, answered after the cell ran */
    size_t n_asked = code ? help_lines_take(code, asked, HELP_LINES_MAX) : 0;
    bool needs_executor = code && !handle_magics(eng, code, cb, &magics, out);
    if (code && magics.tsan && !out->ename) {  /* %%tsan: built with gcc, run outside the notebook (tsan_cell.c) */
        out->ok = false;
        engine_tsan_cell(eng, req, &magics, cb, out);
        set_executing(eng, false);
    } else if (needs_executor) {
        char *timed = magics_timeit_code(&magics, code, req->cell_number);  /* %%timeit, %timeit */
        run_in_executor(eng, req, cb, &magics, timed ? timed : code, out);
        free(timed);
    }
    else set_executing(eng, false);
    if (n_asked) out->page = engine_help_page(eng, asked, n_asked < HELP_LINES_MAX ? n_asked : HELP_LINES_MAX);
    if (!code) engine_set_error(out, "MemoryError", "the kernel ran out of memory taking the cell", NULL);
    /* what %export will write; an %export cell is not part of the notebook it writes */
    /* nor is a %%tsan cell: it ran outside the notebook and changed nothing in it */
    if (code && !magics.export_file && !magics.tsan) engine_history_add(eng, req->code ? req->code : "", req->cell_number, out);
    free(code);
    cell_magics_clear(&magics);
    engine_reap_children();
}
