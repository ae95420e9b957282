/* process.c — cl_process, Python's multiprocessing.Process with the fork start method: a child
 * that runs fn(arg) in a copy of this process and exits with what fn returns.
 *
 * Every handle not yet freed lives in a registry (a short list under a guard), as thread handles
 * do in thread.c: calls look their handle up first, so a freed handle is reported instead of
 * read. The registry also finds the children that ended unjoined, which the next start reaps, as
 * Python's _cleanup does, so none stays a zombie. A forked child inherits a copy of the registry:
 * the entries it did not start itself carry another creator pid and refuse join and signals.
 *
 * Waiting for a child uses a pidfd (Linux 5.3+), which poll() reports readable when the child
 * ends: a join with a timeout then sleeps in the kernel instead of polling waitpid. The reap
 * itself is always waitpid(pid, WNOHANG) under the guard, so two threads joining the same
 * child cannot both collect it. Without pidfds (older kernels, seccomp) joins poll every few ms. */
#define _GNU_SOURCE
#include "conclab.h"
#include "observe.h"
#include "report.h"
#include "trace_internal.h"
#include "wait.h"
#include "waits_internal.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define NAME_CAP 64
#define IDENTITY_CAP 48
#define FALLBACK_POLL_NS 2000000L /* 2 ms between looks at a child when there is no pidfd */

struct cl_process {
    pid_t pid;
    pid_t creator;  /* getpid() of the process that started it: the only one that may reap it */
    int pidfd;      /* readable once the child ended; -1 when the kernel offers none */
    int reaped;     /* the rest is guarded by registry_guard */
    int exitcode;   /* once reaped */
    int joiners;    /* threads inside a join: the handle cannot be freed meanwhile */
    cl_process *prev, *next;
    char name[NAME_CAP];
};

static uint32_t registry_guard;
static cl_process *registry;
static long processes_named;              /* the N of "Process-N" */
static char identity[IDENTITY_CAP];       /* "" in the main process, "N:M..." in children */
static char current_name[NAME_CAP] = "MainProcess";

/* ---- the registry (call with registry_guard held) ---------------------------------------- */

static void registry_add(cl_process *p) {
    p->prev = NULL;
    p->next = registry;
    if (registry) registry->prev = p;
    registry = p;
}

static void registry_remove(cl_process *p) {
    if (p->prev) p->prev->next = p->next;
    else registry = p->next;
    if (p->next) p->next->prev = p->prev;
}

static int registered(const cl_process *p, const char *call) {
    if (!p) {
        cl_report(call, "process is NULL (did cl_process_start fail?)");
        return 0;
    }
    for (const cl_process *r = registry; r; r = r->next)
        if (r == p) return 1;
    cl_report(call, "not a process handle: it was freed already, or it did not come from "
                    "cl_process_start");
    return 0;
}

/* 1 if the calling process started p, so it may wait for and signal it; else reports. */
static int is_my_child(const cl_process *p, const char *call) {
    if (p->creator == getpid()) return 1;
    if (p->pid == getpid()) cl_report(call, "a process cannot wait for or signal itself this way");
    else cl_report(call, "can only use a child process: this handle belongs to the process "
                         "that started it (pid %d)", (int)p->creator);
    return 0;
}

static int exitcode_of(int status) {
    if (WIFEXITED(status)) return WEXITSTATUS(status);
    if (WIFSIGNALED(status)) return -WTERMSIG(status);
    return CL_PROCESS_ERROR;
}

/* Reaps p if it ended; 1 when it has ended (now or before), 0 while it runs. */
static int reap_if_ended(cl_process *p, const char *call) {
    if (p->reaped) return 1;
    int status;
    pid_t r;
    do r = waitpid(p->pid, &status, WNOHANG);
    while (r < 0 && errno == EINTR);
    if (r == 0) return 0;
    p->reaped = 1;
    if (r == p->pid) {
        p->exitcode = exitcode_of(status);
    } else {
        p->exitcode = CL_PROCESS_ERROR;
        cl_report(call, "process %d was reaped by someone else (waitpid(-1) elsewhere, or SIGCHLD "
                        "ignored): its exit code is lost", (int)p->pid);
    }
    return 1;
}

/* Looks p up as a live handle of a child of this process (guard held); else reports why not. */
static int claim_child(cl_process *p, const char *call) {
    return registered(p, call) && is_my_child(p, call);
}

/* ---- fork ---------------------------------------------------------------------------------- */

/* Any fork, ours or another's (a pool's workers, the executor's cells), may catch another thread
 * inside the registry: the child has only the forking thread, so nobody there holds the guard. */
static void after_fork_in_child(void) {
    registry_guard = 0;
}

__attribute__((constructor)) static void watch_forks(void) {
    pthread_atfork(NULL, NULL, after_fork_in_child);
}

/* The child's side of cl_process_start: becomes "Process-N", runs fn, leaves without running the
 * parent program's atexit handlers (they belong to the parent). */
__attribute__((noreturn)) static void child_main(long number, const char *name,
                                                 int (*fn)(void *), void *arg) {
    char mine[IDENTITY_CAP + 24]; /* room for ":N"; a deep family tree is cut at IDENTITY_CAP */
    if (identity[0]) snprintf(mine, sizeof mine, "%s:%ld", identity, number);
    else snprintf(mine, sizeof mine, "%ld", number);
    mine[IDENTITY_CAP - 1] = '\0';
    memcpy(identity, mine, IDENTITY_CAP);
    processes_named = 0;
    memcpy(current_name, name, NAME_CAP);
    cl__trace_named(CL__TR_PROCESS_START, "process", NULL, name);
    int code = fn(arg);
    fflush(NULL);
    cl__trace_probe(CL__TR_PROCESS_END, "process", NULL, 0);
    _exit(code);
}

static int open_pidfd(pid_t pid) {
#ifdef SYS_pidfd_open
    return (int)syscall(SYS_pidfd_open, pid, 0); /* close-on-exec by default */
#else
    (void)pid;
    return -1;
#endif
}

/* Reaps the children this process started that ended unjoined (guard held). */
static void reap_ended_children(void) {
    for (cl_process *r = registry; r; r = r->next)
        if (r->creator == getpid()) reap_if_ended(r, "cl_process_start");
}

static cl_process *start(const char *call, const char *name, int (*fn)(void *), void *arg) {
    if (!fn) {
        cl_report(call, "fn is NULL");
        return NULL;
    }
    cl_process *p = calloc(1, sizeof *p);
    if (!p) {
        cl_report(call, "out of memory");
        return NULL;
    }
    long number = __atomic_add_fetch(&processes_named, 1, __ATOMIC_RELAXED);
    if (name && name[0]) snprintf(p->name, NAME_CAP, "%s", name);
    else if (identity[0]) snprintf(p->name, NAME_CAP, "Process-%s:%ld", identity, number);
    else snprintf(p->name, NAME_CAP, "Process-%ld", number);
    /* Whatever sits in stdio buffers now would be printed by both processes. */
    fflush(NULL);
    cl__guard_lock(&registry_guard);
    reap_ended_children();
    pid_t pid = fork();
    if (pid == 0) child_main(number, p->name, fn, arg);
    if (pid < 0) {
        int err = errno;
        cl__guard_unlock(&registry_guard);
        free(p);
        cl_report(call, "cannot start a process: %s", strerror(err));
        return NULL;
    }
    p->pid = pid;
    p->creator = getpid();
    cl__trace_named(CL__TR_NAME, "process", p, p->name); /* for joins: process "Process-1" */
    p->pidfd = open_pidfd(pid);
    registry_add(p);
    cl__guard_unlock(&registry_guard);
    return p;
}

cl_process *cl_process_start(int (*fn)(void *arg), void *arg) {
    return start("cl_process_start", NULL, fn, arg);
}

cl_process *cl_process_start_named(const char *name, int (*fn)(void *arg), void *arg) {
    return start("cl_process_start_named", name, fn, arg);
}

/* ---- joining ------------------------------------------------------------------------------- */

/* Milliseconds from now until d for poll(): -1 for no limit, at least 1 while it is ahead. */
static int poll_ms_until(const cl__deadline *d) {
    if (d->forever) return -1;
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    double left = (double)(d->at.tv_sec - now.tv_sec) + (double)(d->at.tv_nsec - now.tv_nsec) / 1e9;
    if (left <= 0) return 0;
    if (left > 1e6) return 1000000000; /* about 11 days: poll again after that */
    return (int)(left * 1000.0) + 1;
}

/* Sleeps until p may have ended or d passes (no guard held; the caller re-checks). */
static void wait_for_end(cl_process *p, const cl__deadline *d) {
    if (p->pidfd >= 0) {
        struct pollfd pfd = {.fd = p->pidfd, .events = POLLIN};
        poll(&pfd, 1, poll_ms_until(d));
        return;
    }
    struct timespec pause = {0, FALLBACK_POLL_NS};
    nanosleep(&pause, NULL);
}

static int join_until(cl_process *p, const cl__deadline *d, const char *call) {
    cl__guard_lock(&registry_guard);
    if (!claim_child(p, call)) {
        cl__guard_unlock(&registry_guard);
        return -1;
    }
    int ended = reap_if_ended(p, call);
    if (!ended) p->joiners++;
    cl__guard_unlock(&registry_guard);
    if (ended) {
        cl__observe(CL_EVENT_ACQUIRE, "process", p);
        return 1;
    }
    cl__observe(CL_EVENT_WAIT, "process", p);
    cl__blocking_begin();
    for (;;) {
        wait_for_end(p, d);
        cl__guard_lock(&registry_guard);
        ended = reap_if_ended(p, call);
        if (ended || cl__deadline_passed(d)) p->joiners--;
        cl__guard_unlock(&registry_guard);
        if (ended || cl__deadline_passed(d)) break;
    }
    cl__blocking_end();
    cl__observe(ended ? CL_EVENT_ACQUIRE : CL_EVENT_TIMEOUT, "process", p);
    return ended;
}

int cl_process_join(cl_process *p) {
    cl__deadline forever;
    cl__deadline_forever(&forever);
    return join_until(p, &forever, "cl_process_join");
}

int cl_process_join_timeout(cl_process *p, double seconds) {
    cl__deadline d;
    if (!cl__deadline_init(&d, seconds, "cl_process_join_timeout")) return -1;
    return join_until(p, &d, "cl_process_join_timeout");
}

/* ---- state and signals --------------------------------------------------------------------- */

int cl_process_exitcode(cl_process *p) {
    const char *call = "cl_process_exitcode";
    cl__guard_lock(&registry_guard);
    int code = CL_PROCESS_ERROR;
    if (claim_child(p, call)) code = reap_if_ended(p, call) ? p->exitcode : CL_PROCESS_RUNNING;
    cl__guard_unlock(&registry_guard);
    return code;
}

int cl_process_is_alive(cl_process *p) {
    const char *call = "cl_process_is_alive";
    cl__guard_lock(&registry_guard);
    int alive = 0;
    if (registered(p, call)) {
        if (p->pid == getpid()) alive = 1; /* a child asking about itself, as Python allows */
        else if (is_my_child(p, call)) alive = !reap_if_ended(p, call);
    }
    cl__guard_unlock(&registry_guard);
    return alive;
}

/* Sends sig unless the child was reaped already (its pid may belong to someone else by now;
 * until the reap, which needs this guard, the pid stays ours even after the child ended). */
static int send_signal(cl_process *p, int sig, const char *call) {
    cl__guard_lock(&registry_guard);
    int ok = claim_child(p, call);
    if (ok && !p->reaped && kill(p->pid, sig) != 0) {
        cl_report(call, "cannot signal process %d: %s", (int)p->pid, strerror(errno));
        ok = 0;
    }
    cl__guard_unlock(&registry_guard);
    return ok;
}

int cl_process_terminate(cl_process *p) {
    return send_signal(p, SIGTERM, "cl_process_terminate");
}

int cl_process_kill(cl_process *p) {
    return send_signal(p, SIGKILL, "cl_process_kill");
}

int cl_process_pid(cl_process *p) {
    cl__guard_lock(&registry_guard);
    int pid = registered(p, "cl_process_pid") ? (int)p->pid : -1;
    cl__guard_unlock(&registry_guard);
    return pid;
}

const char *cl__process_name_of(const void *process) { return ((const cl_process *)process)->name; }

const char *cl_process_name(cl_process *p) {
    cl__guard_lock(&registry_guard);
    const char *name = registered(p, "cl_process_name") ? p->name : NULL;
    cl__guard_unlock(&registry_guard);
    return name;
}

int cl_process_free(cl_process *p) {
    const char *call = "cl_process_free";
    if (!p) return 1; /* like free(NULL) */
    cl__guard_lock(&registry_guard);
    int ok = registered(p, call);
    /* Another process's handle is only a copy here: dropping it touches nobody. */
    if (ok && p->creator == getpid()) {
        if (p->joiners > 0) {
            cl_report(call, "a thread is joining the process; wait for its join to return");
            ok = 0;
        } else if (!reap_if_ended(p, call)) {
            cl_report(call, "the process is still running: join it (or terminate and join it) "
                            "first");
            ok = 0;
        }
    }
    if (ok) registry_remove(p);
    cl__guard_unlock(&registry_guard);
    if (!ok) return 0;
    if (p->pidfd >= 0) close(p->pidfd);
    free(p);
    return 1;
}

int cl_process_active_children(void) {
    cl__guard_lock(&registry_guard);
    int running = 0;
    for (cl_process *r = registry; r; r = r->next)
        if (r->creator == getpid() && !reap_if_ended(r, "cl_process_active_children")) running++;
    cl__guard_unlock(&registry_guard);
    return running;
}

const char *cl_process_current_name(void) {
    return current_name;
}
