/* chaos_trials.c — a cell under chaos and lock-order checking, once or as throwaway trials
 * (chaos_trials.h). */
#define _GNU_SOURCE
#include "chaos_trials.h"

#include <conclab/chaos.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/wait.h>
#include <unistd.h>

#include "crash.h"
#include "monotonic.h"
#include "pidfd.h"

/* ---------------------------------------------------------------- around one ordinary cell */

void cell_checks_off(void) {
    cl_chaos_stop();
    cl_lockcheck_enable(0);
}

void cell_checks_begin(const cell_checks *checks) {
    /* only on a change: turning it on forgets the orders earlier cells' threads showed */
    if (cl_lockcheck_enabled() != (int)checks->lockcheck) cl_lockcheck_enable(checks->lockcheck);
    if (checks->chaos) cl_chaos_start(checks->seed);
}

void cell_checks_end(const cell_checks *checks) {
    if (checks->chaos) cl_chaos_stop();
}

unsigned long long chaos_fresh_seed(void) {
    unsigned int r = 0;
    if (getrandom(&r, sizeof r, GRND_NONBLOCK) != (ssize_t)sizeof r) r = (unsigned)getpid() ^ (unsigned)monotonic_ms();
    return 1 + r % 999999;  /* 1 .. 999999: a seed a student can retype */
}

/* ---------------------------------------------------------------- one trial */

/* What a trial that ran to its end sends its runner. */
typedef struct trial_verdict {
    int lock_reports;
    unsigned long delays;
} trial_verdict;

/* In the trial's process: the cell under seed, its output into out_fd, its verdict into
 * verdict_fd. Never returns. A failed check ends it from the executor's check hook (exit 1). */
_Noreturn static void trial_main(const chaos_plan *plan, unsigned long long seed, pid_t runner, int out_fd,
                                 int verdict_fd) {
    setpgid(0, 0);  /* its own group: a hung trial is killed with whatever it started */
    prctl(PR_SET_PDEATHSIG, SIGKILL);  /* an interrupted runner takes its trial along */
    if (getppid() != runner) _exit(127);
    dup2(out_fd, STDOUT_FILENO);
    dup2(out_fd, STDERR_FILENO);
    close(out_fd);
    crash_note_check_failed("");
    crash_note_death_reported(false);  /* a trial's death is told from its output */
    crash_arm(plan->cell);
    cl_lockcheck_enable(1);
    cl_chaos_start(seed);
    plan->run();
    fflush(NULL);
    trial_verdict v = {cl_lockcheck_reports(), cl_chaos_delays()};
    cl_chaos_stop();
    if (write(verdict_fd, &v, sizeof v) != (ssize_t)sizeof v) _exit(126);
    _exit(0);
}

/* A trial's captured output: the first CHAOS_TRIAL_OUTPUT_MAX bytes, and how many more came. */
typedef struct capture {
    char *text;
    size_t length, dropped;
} capture;

static void capture_read(capture *cap, int fd) {
    char chunk[8192];
    ssize_t n;
    while ((n = read(fd, chunk, sizeof chunk)) > 0) {
        size_t room = CHAOS_TRIAL_OUTPUT_MAX - cap->length, keep = (size_t)n < room ? (size_t)n : room;
        memcpy(cap->text + cap->length, chunk, keep);
        cap->length += keep;
        cap->dropped += (size_t)n - keep;
    }
}

/* Follows the trial to its end, reading its output, until `deadline` (monotonic seconds; 0:
 * none). Returns false when the deadline came first (the trial is still running). */
static bool follow_trial(pid_t trial, int out_fd, double deadline, capture *cap) {
    int pidfd = pidfd_open_compat(trial);
    struct pollfd fds[2] = {{out_fd, POLLIN, 0}, {pidfd, POLLIN, 0}};
    bool ended = false;
    while (!ended) {
        int wait_ms = -1;
        if (deadline > 0) {
            double left = deadline - monotonic_seconds();
            if (left <= 0) break;
            wait_ms = (int)(left * 1000) + 1;
        }
        int n = poll(fds, 2, wait_ms);
        if (n < 0 && errno != EINTR) break;
        if (n > 0 && fds[0].revents) capture_read(cap, out_fd);
        if (n > 0 && fds[0].revents & (POLLHUP | POLLERR)) fds[0].fd = -1;  /* every writer is gone */
        ended = (n > 0 && fds[1].revents) || (pidfd < 0 && fds[0].fd < 0);
    }
    if (pidfd >= 0) close(pidfd);
    capture_read(cap, out_fd);  /* what is left (non-blocking: what it forked may hold it open) */
    return ended;
}

/* One trial's result. */
typedef struct trial_result {
    trial_failure why;
    int status;              /* the signal or exit status */
    bool cut_short;          /* the magic's own time ran out during it: no verdict */
    trial_verdict verdict;
} trial_result;

static void judge(int status, bool finished, const trial_verdict *v, trial_result *r) {
    if (crash_check_failed()[0]) r->why = TRIAL_CHECK;
    else if (WIFSIGNALED(status)) r->why = TRIAL_SIGNAL, r->status = WTERMSIG(status);
    else if (WIFEXITED(status) && WEXITSTATUS(status) != 0) r->why = TRIAL_EXIT, r->status = WEXITSTATUS(status);
    else if (finished && v->lock_reports > 0) r->why = TRIAL_LOCK_ORDER;
    else r->why = TRIAL_PASSED;  /* exit(0) from the cell included */
}

/* Runs trial `seed` in a fork, until `deadline`; hung_counts: being cut at the deadline is the
 * trial's failure (its own limit), not the magic's time running out. */
static void run_trial(const chaos_plan *plan, unsigned long long seed, double deadline, bool hung_counts,
                      capture *cap, trial_result *r) {
    int out[2], verdict[2];
    memset(r, 0, sizeof *r);
    cap->length = cap->dropped = 0;
    if (pipe2(out, O_CLOEXEC) != 0) out[0] = out[1] = -1;
    if (pipe2(verdict, O_CLOEXEC) != 0) verdict[0] = verdict[1] = -1;
    fflush(NULL);
    crash_prepare();
    pid_t runner = getpid(), trial = fork();
    if (trial == 0) trial_main(plan, seed, runner, out[1], verdict[1]);
    close(out[1]);
    close(verdict[1]);
    fcntl(out[0], F_SETFL, O_NONBLOCK);
    fcntl(verdict[0], F_SETFL, O_NONBLOCK);
    bool ended = trial > 0 && follow_trial(trial, out[0], deadline, cap);
    int status = 0;
    if (trial > 0) {
        kill(-trial, SIGKILL);  /* a hung trial, or what an ended one left running */
        while (waitpid(trial, &status, 0) < 0 && errno == EINTR) {
        }
    }
    bool finished = read(verdict[0], &r->verdict, sizeof r->verdict) == (ssize_t)sizeof r->verdict;
    close(out[0]);
    close(verdict[0]);
    if (trial < 0) r->why = TRIAL_EXIT, r->status = 127;
    else if (!ended && hung_counts) r->why = TRIAL_HUNG;
    else if (!ended) r->cut_short = true;
    else judge(status, finished, &r->verdict, r);
}

/* ---------------------------------------------------------------- all of them */

/* The first failure, kept for the report. */
static void keep_first_failure(chaos_outcome *out, int index, unsigned long long seed, const trial_result *r,
                               const capture *cap) {
    out->first_index = index;
    out->first_seed = seed;
    out->why = r->why;
    out->status = r->status;
    out->output = malloc(cap->length + 80);
    if (out->output) {
        memcpy(out->output, cap->text, cap->length);
        out->output[cap->length] = '\0';
        if (cap->dropped)
            snprintf(out->output + cap->length, 80, "\n[... %zu more bytes of output not kept]\n", cap->dropped);
    }
    const char *where = crash_note();  /* "cell[3], line 2\n  in f() from cell[2]\n..." */
    int where_length = (int)strcspn(where, "\n");
    if (r->why == TRIAL_CHECK && asprintf(&out->detail, "%s%s%.*s", crash_check_failed(), where[0] ? " at " : "",
                                          where_length, where) < 0)
        out->detail = NULL;
    if (r->why == TRIAL_SIGNAL && where[0]) out->detail = strndup(where, (size_t)where_length);
}

void chaos_trials_run(const chaos_plan *plan, chaos_outcome *out) {
    memset(out, 0, sizeof *out);
    capture cap = {malloc(CHAOS_TRIAL_OUTPUT_MAX), 0, 0};
    double start = monotonic_seconds();
    double per_trial = plan->limit_s > 0 ? plan->limit_s : CHAOS_TRIAL_DEFAULT_LIMIT_S;
    for (int i = 0; i < plan->runs && cap.text; i++) {
        double now = monotonic_seconds(), deadline = now + per_trial;
        bool hung_counts = true;
        if (plan->limit_s > 0 && start + plan->limit_s <= deadline) {  /* the magic's own time ends first */
            deadline = start + plan->limit_s;
            hung_counts = i == 0;  /* the first trial has the whole limit: its own */
        }
        if (deadline <= now) {
            out->stopped_early = true;
            break;
        }
        trial_result r;
        run_trial(plan, plan->seed + (unsigned long long)i, deadline, hung_counts, &cap, &r);
        if (r.cut_short) {
            out->stopped_early = true;
            break;
        }
        out->ran++;
        out->delays += r.verdict.delays;
        if (r.why != TRIAL_PASSED && out->failed++ == 0) keep_first_failure(out, i, plan->seed + (unsigned)i, &r, &cap);
    }
    out->seconds = monotonic_seconds() - start;
    free(cap.text);
}

void chaos_outcome_clear(chaos_outcome *out) {
    free(out->output);
    free(out->detail);
    out->output = out->detail = NULL;
}
