/* executor.c — the process that holds the notebook's state.
 *
 * Each cell is compiled by the compiler process (compiler.h) and its code copied into the holder
 * here, so its definitions stay even if running it fails. Then, when the holder has no other
 * threads (so fork is safe), the cell runs in a forked child in a process group of its own:
 *
 *   - the child finishes: it reports "done" and becomes the new holder; the old holder exits.
 *   - the child dies (crash, exit(), interrupt, time limit): the old holder is still the
 *     pre-cell snapshot; it reports what happened, kills what the child left, and carries on.
 *
 * When threads are alive (a cell left some running) the cell runs in place, and if it crashes
 * the engine client sees the holder die and starts a fresh one.
 *
 * The fork is made ahead of time when it can be (spare.h): an idle holder forks the next cell's
 * process, and the cell is handed to it once compiled. */
#define _GNU_SOURCE
#include "executor.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <semaphore.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cell_cgroup.h"
#include "chaos_trials.h"
#include "cgroup.h"
#include "codemap.h"
#include "compiler.h"
#include "conclab_host.h"
#include "cell_watch.h"
#include "crash.h"
#include "descriptors.h"
#include "display_bridge.h"
#include "messages.h"
#include "jit.h"
#include "memory_guard.h"
#include "render.h"
#include "spare.h"
#include "stdin_bridge.h"
#include "strbuf.h"
#include "thread_census.h"
#include "pidfd.h"

static int channel;      /* the socket to the engine client */
static struct stat channel_identity;  /* what it is, to tell when a cell closed or replaced it */
static uint64_t session_nonce;        /* stamped on every event (messages.h) */
static cell_watch watching;           /* %%time, %%timeline, %%cpu around the running cell */
static cell_checks checks;            /* %lockcheck, %%chaos --seed N around it (chaos_trials.h) */
static int kernel_pidfd; /* becomes readable when the kernel process dies */
static int compiler_fd = -1;  /* the socket to the compiler process (compiler.h), or -1: compile here */
static pid_t compiler_pid;
static pid_t *groups;    /* process groups of the cells that became holders (inherited by forks) */
static size_t n_groups;

/* Ends every process the notebook's cells left behind, and this one. */
_Noreturn static void end_everything(void) {
    if (compiler_pid > 0) kill(compiler_pid, SIGKILL);
    spare_kill();
    /* the notebook's cgroup first, where there is one: it holds what left the groups below, and
     * one of those groups is this process's own, whose kill ends this function */
    const char *notebook = getenv(CELL_CGROUPS_ENV);
    if (notebook) cgroup_kill(notebook, true, getpid());
    for (size_t i = 0; i < n_groups; i++)
        if (groups[i] != getpgrp()) kill(-groups[i], SIGKILL);
    kill(-getpgrp(), SIGKILL);
    _exit(0);
}

static void remember_own_group(void) {
    pid_t *grown = realloc(groups, (n_groups + 1) * sizeof *grown);
    if (!grown) return;
    groups = grown;
    groups[n_groups++] = getpid();
}

static int thread_count(void) {
    DIR *d = opendir("/proc/self/task");
    if (!d) return 1;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (e->d_name[0] != '.') n++;
    closedir(d);
    return n;
}

static void send_event(const event *ev) { event_send(channel, ev, NULL, 0); }

static json_t *lines_array(const char *text) {
    json_t *arr = json_array();
    const char *p = text;
    while (p && *p) {
        const char *eol = strchr(p, '\n');
        size_t n = eol ? (size_t)(eol - p) : strlen(p);
        json_array_append_new(arr, json_stringn(p, n));
        p = eol ? eol + 1 : NULL;
    }
    return arr;
}

static bool running_in_place;  /* the running cell has no fork: ending it would end the notebook */

/* A replay's error says it ran under chaos, so a student knows how to see it again. */
static void add_chaos_note(json_t *tb) {
    if (checks.chaos)
        json_array_append_new(tb, json_sprintf("It ran under chaos seed %llu with lock-order checking on "
                                               "(%%%%chaos --seed %llu runs it so again).", checks.seed, checks.seed));
}

/* cl_check's claim did not hold: the cell ends, and its holder names the claim (report_death).
 * A cell running in place cannot end without the notebook: it goes on, and fails at its end. */
static void check_failed_hook(void *ctx, const char *message) {
    (void)ctx;
    if (crash_check_failed()[0] == '\0') crash_note_check_failed(message);  /* the first one */
    if (!running_in_place) exit(1);
}


/* The "done" event, with the cell's definitions (definition_records.h) as its payload. */
static void send_done(const event_done *done, const jit_cell *c) {
    event ev = {.kind = EV_DONE, .done = *done};
    event_send(channel, &ev, c->definitions, c->definitions_length);
}

/* Compiler warnings as a display of their own, muted and apart from the cell's output (and never
 * on stderr, which graders count as failure); plain text for front ends without HTML. */
static json_t *warnings_bundle(const char *warnings) {
    strbuf html = {0};
    strbuf_add(&html, "<pre class=\"conclab-warnings\" style=\"color:#7a6a3a;background:rgba(240,173,78,0.08);"
                      "border-left:3px solid rgba(240,173,78,0.6);padding:4px 8px;margin:0;font-size:90%\">");
    for (const char *p = warnings; *p; p++) {
        switch (*p) {
        case '<': strbuf_add(&html, "&lt;"); break;
        case '>': strbuf_add(&html, "&gt;"); break;
        case '&': strbuf_add(&html, "&amp;"); break;
        default: strbuf_addn(&html, p, 1);
        }
    }
    strbuf_add(&html, "</pre>");
    char *text = strbuf_take(&html);
    json_t *bundle = json_pack("{s:s, s:s}", "text/plain", warnings, "text/html", text);
    free(text);
    return bundle;
}

/* tcc's messages as they are: the client makes them into the error shown (diagnostics.h). */
static void report_compile_error(const jit_cell *c) {
    event_done done = {.ename = "CompileError", .errors = c->errors ? c->errors : "compilation failed"};
    send_event(&(event){.kind = EV_DONE, .done = done});
}

/* A cell that ran in place to its end after a failed check: the error, its state kept. */
static void report_check_failed_in_place(const jit_cell *c) {
    char evalue[600];
    snprintf(evalue, sizeof evalue, "%s (the cell ran on to its end: threads of earlier cells were running, "
             "so it ran in place)", crash_check_failed());
    json_t *tb = json_array();
    json_array_append_new(tb, json_sprintf("CheckFailed: %s", evalue));
    add_chaos_note(tb);
    event_done done = {.ename = "CheckFailed", .evalue = evalue, .traceback = tb};
    send_done(&done, c);
    json_decref(tb);
}

static void report_success(const jit_cell *c, int number) {
    char *value = c->has_value ? render_take() : NULL;
    thread_census_take(number);
    json_t *threads = thread_census_by_cell();
    event_done done = {.ok = true, .holder = (int)getpid(), .threads = threads, .result = value};
    send_done(&done, c);
    json_decref(threads);
    free(value);
}

/* The child's end: what killed it, in words a student can act on. */
static void report_death(const jit_cell *c, int status, bool bounds) {
    char evalue[512];
    const char *ename;
    bool bounds_stop = bounds && ((WIFSIGNALED(status) && WTERMSIG(status) == SIGSEGV) ||
                                  (WIFEXITED(status) && WEXITSTATUS(status) == 255));
    size_t failed = crash_failed_allocation();
    int files_limit = 0;
    int lost = crash_lost_descriptor(), left_open = crash_descriptors_left(&files_limit);
    if (left_open > 0) {
        ename = "DescriptorLimitReached";
        snprintf(evalue, sizeof evalue, "the cell left %d descriptors open, at this process's limit of %d "
                 "(RLIMIT_NOFILE, ulimit -n): the cells after it would have none; close what you open",
                 left_open, files_limit);
    } else if (lost >= 0) {
        ename = "DescriptorClosed";
        snprintf(evalue, sizeof evalue, "the cell closed or replaced descriptor %d, conclab's own channel to "
                 "the kernel, so its process could not go on holding the notebook (close only what you opened)",
                 lost);
    } else if (crash_undefined_function()[0] && WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT) {
        ename = "UndefinedFunction";
        snprintf(evalue, sizeof evalue, "function '%s', declared but not defined yet, was called",
                 crash_undefined_function());
    } else if (crash_check_failed()[0] && WIFEXITED(status)) {
        ename = "CheckFailed";
        snprintf(evalue, sizeof evalue, "%s", crash_check_failed());
    } else if (failed && !bounds_stop) {
        ename = "MemoryLimitExceeded";
        snprintf(evalue, sizeof evalue, "the cell reached its memory limit (an allocation of %zu bytes failed) "
                 "and then died (%s)", failed,
                 WIFSIGNALED(status) ? strsignal(WTERMSIG(status)) : "it exited");
    } else if (bounds_stop) {
        ename = "BoundsError";
        snprintf(evalue, sizeof evalue, "bounds checking stopped the cell: an access outside its object, "
                 "a use after free or a bad free (the BCHECK line above has the address)");
    } else if (WIFSIGNALED(status)) {
        int sig = WTERMSIG(status);
        ename = sigabbrev_np(sig) ? sigabbrev_np(sig) : "Signal";
        snprintf(evalue, sizeof evalue, "the cell was stopped by signal %d (SIG%s: %s)", sig,
                 ename, strsignal(sig));
        static char name[32];
        snprintf(name, sizeof name, "SIG%s", ename);
        ename = name;
    } else {
        ename = "Exit";
        snprintf(evalue, sizeof evalue, "the cell ended the process with exit status %d",
                 WEXITSTATUS(status));
    }
    json_t *tb = json_array();
    const char *where = crash_note();
    if (where[0]) {  /* "cell[3], line 2\n  in fib() from cell[2]\n..." */
        size_t n = strcspn(where, "\n");
        size_t len = strlen(evalue);
        snprintf(evalue + len, sizeof evalue - len, " at %.*s", (int)n, where);
    }
    json_array_append_new(tb, json_sprintf("%s: %s", ename, evalue));
    if (where[0] && where[strcspn(where, "\n")]) {
        json_t *frames = lines_array(where + strcspn(where, "\n") + 1);
        json_array_extend(tb, frames);
        json_decref(frames);
    }
    add_chaos_note(tb);
    json_array_append_new(tb, json_string("The notebook's state from before this cell is intact."));
    char *first_line = where[0] ? strndup(where, strcspn(where, "\n")) : NULL;
    event_done done = {.ename = ename, .evalue = evalue, .traceback = tb, .status = status, .where = first_line};
    send_done(&done, c);
    free(first_line);
    json_decref(tb);
}

/* Into the cell's own cgroup, before its code runs, so that every process it makes is found
 * there whatever it does (cell_cgroup.h). Where the notebook has no cgroup, nothing. */
static void join_cell_cgroup(int number) {
    const char *notebook = getenv(CELL_CGROUPS_ENV);
    char dir[PATH_MAX];
    if (notebook && snprintf(dir, sizeof dir, CELL_CGROUP_FORMAT, notebook, number) < (int)sizeof dir)
        cgroup_join(dir);  /* failing, it stays in the notebook's cgroup: still ended at restart */
}

static void run_cell(const jit_cell *c, int number, int allow_stdin, bool in_place) {
    running_in_place = in_place;
    crash_note_death_reported(!in_place);
    crash_note_check_failed("");  /* a claim only this cell may fail */
    join_cell_cgroup(number);
    crash_arm(number);  /* before "running": from then on the client may send a snapshot signal */
    send_event(&(event){.kind = EV_RUNNING, .running = {(int)getpid(), in_place}});
    stdin_bridge_allow(allow_stdin);
    cell_watch_begin(&watching, number);
    cell_checks_begin(&checks);
    c->run();
    fflush(NULL);
    cell_checks_end(&checks);
    cell_watch_end(&watching);
    stdin_bridge_allow(0);
}

/* Waits for the child to either hand over (a byte on the commit pipe) or die. If the kernel
 * dies meanwhile, nobody will ever read the cell's output: stop it and everything else. */
static int wait_for_child(pid_t child, int commit_fd, int *status) {
    int pidfd = pidfd_open_compat(child);
    struct pollfd fds[3] = {{commit_fd, POLLIN, 0}, {pidfd, POLLIN, 0}, {kernel_pidfd, POLLIN, 0}};
    for (;;) {
        int n = poll(fds, 3, -1);
        if (n < 0 && errno == EINTR) continue;
        if (fds[2].revents) {
            kill(-child, SIGKILL);
            end_everything();
        }
        if (fds[0].revents) {
            char byte;
            if (read(commit_fd, &byte, 1) == 1) return 1;  /* handed over */
            fds[0].fd = -1;                                /* the child is gone */
        }
        if (fds[1].revents || fds[0].fd < 0) break;
    }
    if (pidfd >= 0) close(pidfd);
    while (waitpid(child, status, 0) < 0 && errno == EINTR) {
    }
    return 0;
}

/* The first of the kernel's descriptors in this process (the channel, the commit pipe, the
 * display socket) that the cell closed or replaced with something else, or -1 when they are
 * all as they were. */
static int lost_descriptor(int commit_fd) {
    struct stat now;
    if (fstat(channel, &now) != 0 || now.st_ino != channel_identity.st_ino || now.st_dev != channel_identity.st_dev)
        return channel;
    if (fstat(commit_fd, &now) != 0 || !S_ISFIFO(now.st_mode)) return commit_fd;
    return display_bridge_lost();
}

/* In the cell's fork: runs it; when it finishes, this process is the holder from now on. */
static void run_as_next_holder(const jit_cell *c, int number, int allow_stdin, size_t memory_limit, int commit_fd) {
    memory_guard_limit(memory_limit);
    run_cell(c, number, allow_stdin, false);
    int lost = lost_descriptor(commit_fd);
    if (lost >= 0) {  /* no way to report or hand over: the old holder says what happened */
        crash_note_lost_descriptor(lost);
        _exit(1);
    }
    int limit = 0, open = descriptors_open(&limit);
    if (open >= 0 && open > limit - DESCRIPTORS_RESERVE) {  /* later cells would find none */
        crash_note_descriptors_left(open, limit);
        _exit(1);
    }
    report_success(c, number);
    remember_own_group();
    if (write(commit_fd, "c", 1) != 1) _exit(1);  /* the old holder is gone: so is the notebook */
    close(commit_fd);
}

/* In the holder, once the cell's fork runs: it hands over (this process ends) or dies (this
 * process is still the pre-cell snapshot, and says what happened). */
static void await_cell(pid_t child, int commit_fd, const jit_cell *c, bool bounds) {
    int status = 0;
    if (wait_for_child(child, commit_fd, &status)) _exit(0);
    kill(-child, SIGKILL);  /* whatever the cell forked dies with it */
    report_death(c, status, bounds);
}

static void run_forked(const jit_cell *c, int number, int allow_stdin, bool bounds, size_t memory_limit) {
    int commit[2];
    fflush(NULL);
    crash_prepare();
    if (pipe2(commit, O_CLOEXEC) != 0) {
        run_cell(c, number, allow_stdin, true);
        report_success(c, number);
        return;
    }
    commit[0] = descriptor_move_high(commit[0]);
    commit[1] = descriptor_move_high(commit[1]);
    pid_t child = fork();
    if (child == 0) {
        setpgid(0, 0);
        close(commit[0]);
        run_as_next_holder(c, number, allow_stdin, memory_limit, commit[1]);
        return;  /* this process is the holder now */
    }
    close(commit[1]);
    if (child > 0) {
        await_cell(child, commit[0], c, bounds);
    } else {  /* no fork to be had (the process limit): in place, as with threads */
        run_cell(c, number, allow_stdin, true);
        report_success(c, number);
    }
    close(commit[0]);
}

/* A cell running in place (threads were alive, so no fork) has no parent process watching the
 * kernel for it; a thread does, since this process has threads anyway. */
static void *watch_kernel(void *arg) {
    sem_t *started = arg;
    thread_census_exclude_self();
    sem_post(started);
    struct pollfd p = {kernel_pidfd, POLLIN, 0};
    while (poll(&p, 1, -1) < 0 && errno == EINTR) {
    }
    end_everything();
}

static pid_t watchdog_started_in; /* the process whose watchdog thread runs, if any */

static void start_kernel_watchdog(void) {
    if (watchdog_started_in == getpid() || kernel_pidfd < 0) return;
    pthread_t t;
    sem_t started;
    sem_init(&started, 0, 0);
    if (pthread_create(&t, NULL, watch_kernel, &started) == 0) {
        sem_wait(&started);  /* registered as ours before any census can count it */
        pthread_detach(t);
        watchdog_started_in = getpid();
    }
    sem_destroy(&started);
}

/* Threads of the cells' own still alive here. The watchdog does not count: it holds no lock
 * and the forked child does not need it (its parent watches the kernel for it), so once the
 * cells' threads have ended, cells fork again and a crash loses nothing. */
static int cell_threads(void) {
    return thread_count() - 1 - (watchdog_started_in == getpid());
}

/* Where the cell's functions are, for crash reports (jit.h: the code map's lines). */
static void note_code_map(const char *map) {
    for (const char *line = map; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
        unsigned long start, size;
        int cell = 0, used = 0;
        if (sscanf(line, "R %lx %lx", &start, &size) == 2) {
            codemap_add_region(start, size);
        } else if (sscanf(line, "F %lx %d%n", &start, &cell, &used) == 2) {
            const char *name = line + used + (line[used] == ' ');
            size_t len = strcspn(name, "\n");
            char function[64];
            snprintf(function, sizeof function, "%.*s", (int)(len < sizeof function ? len : sizeof function - 1), name);
            codemap_add_function(start, len ? function : NULL, cell);
        }
    }
}

/* The compiler crashed: the notebook's definitions went with it, so this executor cannot go
 * on. The cell fails saying so, and the client starts a fresh notebook before the next one. */
_Noreturn static void report_compiler_death(const jit_cell *c) {
    json_t *tb = json_pack("[s]", c->errors ? c->errors : "");
    event_done done = {.ename = "CompilerDied",
                       .evalue = "the compiler (tcc) crashed while compiling this cell; the notebook's state was "
                                 "lost and a fresh one starts with the next cell",
                       .traceback = tb, .state_lost = true};
    send_event(&(event){.kind = EV_DONE, .done = done});
    end_everything();
}

/* Compiles the cell: in the compiler process, whose reply is kept in *raw to be applied where
 * the cell runs (compiler_apply), or here, where it takes effect at once (raw->reply NULL). */
static void compile(jit *j, const char *code, int number, const compile_options *opts, jit_cell *c,
                    compiler_reply *raw) {
    memset(raw, 0, sizeof *raw);
    if (compiler_fd >= 0) {
        if (compiler_ask(compiler_fd, code, number, opts, raw, c) != 0) report_compiler_death(c);
        return;
    }
    jit_set_bounds(j, opts->bounds);
    jit_set_prelude(j, opts->prelude);
    jit_compile(j, code, number, opts->want_value, c);
    if (c->code_map) note_code_map(c->code_map);
}

/* The compiler's reply into place in this process: code, definitions, code map. */
static void apply(compiler_reply *raw, jit_cell *c) {
    if (!raw->reply) return;
    if (compiler_apply(compiler_fd, raw, c) != 0) report_compiler_death(c);
    if (c->code_map) note_code_map(c->code_map);
}

/* ---- %%chaos --runs K (chaos_trials.h): trials in a runner, a fork of the holder in its own
 * process group (an interrupt or the time limit kills it, its trials die with it). The runner
 * prints the report and hands the holder the error (if any) through a pipe; the holder alone
 * sends "done", so a runner killed as it ends cannot leave a second one behind. It never becomes
 * the holder: the notebook's state does not change. */

_Noreturn static void runner_main(const jit_cell *c, int number, const op_execute *x, int verdict_fd) {
    setpgid(0, 0);
    running_in_place = false;  /* a failed check ends its trial */
    memory_guard_limit(x->memory_limit);
    join_cell_cgroup(number);
    send_event(&(event){.kind = EV_RUNNING, .running = {(int)getpid(), false}});
    chaos_plan plan = {number, c->run, x->chaos_runs,
                       x->chaos_seed >= 0 ? (unsigned long long)x->chaos_seed : chaos_fresh_seed(),
                       x->chaos_limit_ms / 1000.0};
    chaos_outcome out;
    chaos_trials_run(&plan, &out);
    char *text = chaos_report_text(&plan, &out), *error = chaos_report_error(&plan, &out);
    fputs(text, stdout);
    fflush(stdout);
    const char *verdict = error ? error : "";
    if (write(verdict_fd, verdict, strlen(verdict) + 1) != (ssize_t)(strlen(verdict) + 1)) _exit(1);
    _exit(0);
}

/* The holder's "done" for the trials: the runner's verdict ("" when all passed). */
static void report_trials(const jit_cell *c, const char *verdict) {
    if (!verdict[0]) {
        send_done(&(event_done){.ok = true, .holder = (int)getpid()}, c);
        return;
    }
    json_t *tb = json_pack("[s+, s]", "ChaosFailure: ", verdict,
                           "The notebook's state is unchanged: each run was a throwaway copy of it.");
    send_done(&(event_done){.ename = "ChaosFailure", .evalue = verdict, .traceback = tb}, c);
    json_decref(tb);
}

/* The cell's code is applied here (the spare, forked before it, would not have it: it goes). */
static void run_trials(compiler_reply *raw, jit_cell *c, int number, const op_execute *x) {
    if (spare_waiting()) {
        pid_t spare = spare_pid();
        spare_kill();
        waitpid(spare, NULL, 0);
        spare_forget();
    }
    apply(raw, c);
    if (cell_threads() > 0) {
        event_done done = {.ename = "ChaosUnavailable",
                           .evalue = "%%chaos cannot run trials while threads of earlier cells are still running "
                                     "(%threads lists them): each trial is a copy of the notebook's process, and "
                                     "copying a process with threads is not safe. Let them end, or restart."};
        send_done(&done, c);
        return;
    }
    int verdict[2] = {-1, -1};
    if (pipe2(verdict, O_CLOEXEC) == 0) fcntl(verdict[0], F_SETFL, O_NONBLOCK);
    fflush(NULL);
    pid_t runner = fork();
    if (runner == 0) runner_main(c, number, x, verdict[1]);
    close(verdict[1]);
    int status = 0;
    char text[1024] = "";
    if (runner > 0) wait_for_child(runner, -1, &status);
    if (runner > 0) kill(-runner, SIGKILL);
    bool reported = runner > 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0 &&
                    read(verdict[0], text, sizeof text - 1) > 0;
    close(verdict[0]);
    if (reported) report_trials(c, text);
    else report_death(c, status, false);
}

/* The cell goes to the spare forked ahead (spare.h), the compile's payload straight from the
 * compiler to it; false when there is no spare to take it. */
static bool run_in_spare(compiler_reply *raw, jit_cell *c, int number, int allow_stdin, bool bounds,
                         size_t memory_limit) {
    if (!raw->reply || !spare_waiting()) return false;
    fflush(NULL);
    crash_prepare();
    spare_order order = {number, allow_stdin, memory_limit, *raw, watching, checks};
    size_t moved = 0;
    if (spare_hand(&order, compiler_fd, &moved) != 0) {  /* gone: the cell forks now */
        if (moved && compiler_refetch(compiler_fd, raw, raw->unread - moved) != 0) report_compiler_death(c);
        return false;
    }
    pid_t child = spare_pid();
    int status = 0;
    if (wait_for_child(child, spare_commit_fd(), &status)) _exit(0);  /* handed over */
    spare_forget();
    kill(-child, SIGKILL);
    /* the cell's definitions stay though it died: the compiler's reply once more, here */
    if (compiler_refetch(compiler_fd, raw, 0) != 0) report_compiler_death(c);
    apply(raw, c);
    report_death(c, status, bounds);
    return true;
}

static void execute(jit *j, const op_execute *x, const char *code) {
    int number = x->cell, allow_stdin = x->allow_stdin;
    /* forks made from here on inherit it; the spare gets it in its order */
    watching = (cell_watch){.time = x->time, .watch = x->watch};
    snprintf(watching.trace_file, sizeof watching.trace_file, "%s", x->trace_file ? x->trace_file : "");
    event_stamp_set((event_stamp){session_nonce, number});
    checks = (cell_checks){x->lockcheck, x->chaos_runs == 1, (unsigned long long)x->chaos_seed};
    bool bounds = x->bounds;
    compile_options opts = {.want_value = !x->silent, .bounds = bounds, .prelude = x->prelude};
    size_t memory_limit = x->memory_limit;
    jit_cell c;
    compiler_reply raw;
    compile(j, code ? code : "", number, &opts, &c, &raw);
    if (c.warnings) {
        json_t *bundle = warnings_bundle(c.warnings);
        send_event(&(event){.kind = EV_DISPLAY, .display_data = bundle});
        json_decref(bundle);
    }
    if (!c.ok) {
        apply(&raw, &c);  /* trampolines made on the way stay */
        report_compile_error(&c);
    } else if (x->chaos_runs >= 2) {
        run_trials(&raw, &c, number, x);
    } else if (cell_threads() > 0) {
        apply(&raw, &c);
        start_kernel_watchdog();
        run_cell(&c, number, allow_stdin, true);
        if (crash_check_failed()[0]) report_check_failed_in_place(&c);
        else report_success(&c, number);
    } else if (!run_in_spare(&raw, &c, number, allow_stdin, bounds, memory_limit)) {
        apply(&raw, &c);
        run_forked(&c, number, allow_stdin, bounds, memory_limit);
    }
    compiler_reply_clear(&raw);
    jit_cell_clear(&c);
}

/* In the spare once it has a cell: the compile's results into place, then the cell. */
static void run_order(spare_order *order) {
    event_stamp_set((event_stamp){session_nonce, order->cell});
    watching = order->watch;
    checks = order->checks;
    jit_cell c;
    compiler_read_outcome(&order->reply, &c);
    if (compiler_apply(-1, &order->reply, &c) != 0) _exit(1);  /* the holder reports it as a death */
    if (c.code_map) note_code_map(c.code_map);
    run_as_next_holder(&c, order->cell, order->allow_stdin, order->memory_limit, spare_own_commit_fd());
    compiler_reply_clear(&order->reply);
    jit_cell_clear(&c);
}

/* Between cells, with nothing else to do: the next cell's process, forked now rather than when
 * the cell comes (spare.h). Returns in that process too, once it ran its cell as the holder. */
static void prepare_next_cell(void) {
    spare_order order;
    while (compiler_fd >= 0 && !spare_waiting() && cell_threads() == 0) {
        fflush(NULL);
        crash_prepare();  /* the shared page exists before the fork */
        if (!spare_fork(&order)) return;
        run_order(&order);  /* in the spare, now the holder: it forks its own next */
    }
}

/* The page the engine client reads to tell where a stopped cell was (progress.h), when it gave one. */
static void share_progress(void) {
    void *page = mmap(NULL, sizeof(progress_page), PROT_READ | PROT_WRITE, MAP_SHARED, PROGRESS_PAGE_FD, 0);
    if (page != MAP_FAILED) {
        codemap_use_progress(page);
        cl_host_share_waits(((progress_page *)page)->waits, sizeof ((progress_page *)page)->waits);
    }
    close(PROGRESS_PAGE_FD);
}

/* A malformed op cannot be answered in kind: a "done" event names the problem, so the client
 * (which always waits for one after an execute) shows it rather than waiting forever. */
static void refuse_op(const char *why) {
    char evalue[512];
    snprintf(evalue, sizeof evalue, "the executor received a malformed message: %s", why ? why : "?");
    send_event(&(event){.kind = EV_DONE, .done = {.ename = "ProtocolError", .evalue = evalue}});
}

/* Reads the next op and does what it says. */
static void serve_one_op(jit *j, int fd) {
    op o;
    char *code = NULL, *err = NULL;
    int rc = op_receive(fd, &o, &code, NULL, &err);
    if (rc == -1 || (rc == 0 && o.kind == OP_SHUTDOWN)) end_everything();  /* asked to, or the kernel is gone */
    if (rc == -2) refuse_op(err);
    else if (o.kind == OP_EXECUTE) execute(j, &o.execute, code ? code : "");
    else if (o.kind == OP_THREADS) {
        json_t *threads = thread_census_list();
        send_event(&(event){.kind = EV_THREADS, .threads = threads});
        json_decref(threads);
    }
    op_clear(&o);
    free(code);
    free(err);
}

int executor_main(int fd) {
    channel = descriptor_move_high(fd);  /* out of a cell's way (descriptors.h) */
    fstat(channel, &channel_identity);
    char *nonce = getenv(CHANNEL_NONCE_ENV);
    session_nonce = nonce ? strtoull(nonce, NULL, 16) : 0;
    if (nonce) memset(nonce, '0', strlen(nonce));  /* out of /proc/self/environ too: cells have no use for it */
    unsetenv(CHANNEL_NONCE_ENV);
    event_stamp_set((event_stamp){session_nonce, 0});
    share_progress();
    kernel_pidfd = descriptor_move_high(pidfd_open_compat(getppid()));
    signal(SIGPIPE, SIG_IGN);
    signal(SIGINT, SIG_IGN);  /* interrupts arrive as kills of the cell's process group */
    memory_guard_lock();      /* the memory limit is the engine client's to set (memory_guard.h) */
    setvbuf(stdout, NULL, _IOLBF, 0);
    stdin_bridge_install(channel);
    display_bridge_open();
    cl_host_hooks hooks = {.clear_output = display_bridge_clear, .display = display_bridge_show,
                           .thread_started = crash_thread_started, .check_failed = check_failed_hook,
                           .describe_code = codemap_describe};
    cl_host_set_hooks(&hooks);
    cell_checks_off();  /* the kernel's own environment turns nothing on: only the magics do */
    compiler_pid = compiler_start(&compiler_fd, kernel_pidfd);
    compiler_fd = descriptor_move_high(compiler_fd);
    /* what %threads and ps show for this process's threads; it also tells the engine client the
     * executor is set up (its code arena reserved, its compiler started): cells may be limited */
    prctl(PR_SET_NAME, EXECUTOR_READY_NAME);
    jit *j = compiler_pid > 0 ? NULL : jit_new();  /* without a compiler process, compile here */
    for (;;) {
        prepare_next_cell();
        serve_one_op(j, channel);
    }
}
