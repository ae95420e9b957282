/* grade_batch_pool.c — N child graders at a time, each in its own process group.
 *
 * Each submission is graded by `/proc/self/exe grade FILE --source SRC -o OUTDIR/<student>/ -q
 * ...`: a crash, a hang or a runaway submission takes down one child, never the batch. The
 * child is the leader of a new process group, so whatever it started (executors, sandboxes,
 * a student's forked processes that escaped the grader's own clean-up) is killed with it when
 * it exits, overruns the submission's time limit, or the batch is interrupted.
 *
 * Another batch over the same output (a second terminal, Slurm array tasks whose shards overlap)
 * must not grade a student at the same time: while its child runs, the batch holds a lock on the
 * student's folder (flock on OUTDIR/<student>/.grading.lock), and a batch that finds it taken
 * leaves that student to the batch that holds it. The kernel drops the lock when the batch ends,
 * however it ends, and a batch that dies takes its graders with it (PR_SET_PDEATHSIG).
 *
 * SIGCHLD, SIGINT, SIGTERM and SIGHUP are blocked and taken with sigtimedwait, so one loop waits for
 * a child to end, for Ctrl-C, and for the next redraw of the progress bar, without races. */
#define _GNU_SOURCE /* sigtimedwait, execv */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "grade_batch.h"
#include "monotonic.h"
#include "xalloc.h"

enum {
    GRADER_GRADED = 0,     /* the single grader's exit statuses (its --help) */
    GRADER_FAILED = 1,
    GRADER_USAGE = 2,
    GRADER_UNREADABLE = 3,
};

/* Seconds a stopped group gets between SIGTERM and SIGKILL. */
#define STOP_GRACE_S 2.0

typedef struct running {
    pid_t pid; /* also the process group's id */
    int lock_fd; /* the student's .grading.lock, held while the child runs (NO_LOCK: none to be had) */
    const submission *sub;
    double started, deadline;
    bool timed_out;
} running;

static int make_student_dir(const char *outdir, const char *student) {
    if (mkdir(outdir, 0777) != 0 && errno != EEXIST) return -1;
    char *dir = xasprintf("%s/%s", outdir, student);
    int rc = mkdir(dir, 0777) != 0 && errno != EEXIST ? -1 : 0;
    free(dir);
    return rc;
}

/* In the child: a group of its own, the batch's signal mask undone, its output to a log. */
static void exec_grader(const submission *sub, const pool_options *o, const sigset_t *old_mask, pid_t batch) {
    setpgid(0, 0);
    /* a batch that dies (SIGKILL, a crash) takes its graders with it, as it does its locks */
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != batch) _exit(127);
    sigprocmask(SIG_SETMASK, old_mask, NULL);
    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    signal(SIGHUP, SIG_DFL);
    char *log = student_file(o->outdir, sub->student, "grader.log");
    int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
    if (fd >= 0) {
        dup2(fd, STDOUT_FILENO);
        dup2(fd, STDERR_FILENO);
    }
    int null = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (null >= 0) dup2(null, STDIN_FILENO);
    char *outdir = xasprintf("%s/%s/", o->outdir, sub->student);
    size_t n = 0;
    char **argv = xcalloc(o->grader_argc + 10, sizeof *argv);
    argv[n++] = "conclab";
    argv[n++] = "grade";
    argv[n++] = sub->path;
    argv[n++] = "--source";
    argv[n++] = (char *)o->source;
    argv[n++] = "-o";
    argv[n++] = outdir;
    argv[n++] = "-q";
    for (size_t i = 0; i < o->grader_argc; i++) argv[n++] = o->grader_args[i];
    execv("/proc/self/exe", argv);
    fprintf(stderr, "conclab grade: cannot start the grader: %s\n", strerror(errno));
    _exit(127);
}

/* Before a regrade: the last report is moved aside (results.previous.json, feedback.previous.html),
 * so a regrade that ends without a report (killed, over its time limit, crashed) shows as an
 * error in the summary instead of the old score passing for a current one, and the student's
 * feedback page is not a stale one. */
static void retire_old_report(const pool_options *o, const submission *sub) {
    static const char *const moved[][2] = {{"results.json", "results.previous.json"},
                                           {"feedback.html", "feedback.previous.html"}};
    for (size_t i = 0; i < sizeof moved / sizeof *moved; i++) {
        char *from = student_file(o->outdir, sub->student, moved[i][0]);
        char *to = student_file(o->outdir, sub->student, moved[i][1]);
        if (rename(from, to) != 0 && errno != ENOENT)
            fprintf(stderr, "conclab grade: cannot move %s aside: %s\n", from, strerror(errno));
        free(from);
        free(to);
    }
}

/* The student's lock (close-on-exec: the grader and the submission never see it): its
 * descriptor, LOCK_HELD_ELSEWHERE, or LOCK_FAILED (reported). A file system without locks
 * (Lustre without -o flock, some NFS) is said once, and grading goes on without them. */
enum { LOCK_HELD_ELSEWHERE = -1, LOCK_FAILED = -2, NO_LOCK = -3 };

static int lock_student(const pool_options *o, const submission *sub) {
    static bool no_locks_here;
    if (no_locks_here) return NO_LOCK;
    char *path = student_file(o->outdir, sub->student, ".grading.lock");
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0666);
    if (fd < 0) fprintf(stderr, "conclab grade: cannot open %s: %s\n", path, strerror(errno));
    free(path);
    if (fd < 0) return LOCK_FAILED;
    if (flock(fd, LOCK_EX | LOCK_NB) == 0) return fd;
    int error = errno;
    close(fd);
    if (error == EWOULDBLOCK) return LOCK_HELD_ELSEWHERE;
    if (error == ENOSYS || error == EOPNOTSUPP || error == ENOLCK) {
        fprintf(stderr, "conclab grade: %s cannot lock files (%s): grading without locks, so do not run two "
                "batches on it at once\n", o->outdir, strerror(error));
        no_locks_here = true;
        return NO_LOCK;
    }
    fprintf(stderr, "conclab grade: cannot lock %s/%s: %s\n", o->outdir, sub->student, strerror(error));
    return LOCK_FAILED;
}

typedef enum start_result { STARTED, START_FAILED, STUDENT_BUSY } start_result;

static start_result start_child(running *slot, const submission *sub, const pool_options *o,
                                const sigset_t *old_mask) {
    if (make_student_dir(o->outdir, sub->student) != 0) {
        fprintf(stderr, "conclab grade: cannot create %s/%s: %s\n", o->outdir, sub->student, strerror(errno));
        return START_FAILED;
    }
    int lock_fd = lock_student(o, sub);
    if (lock_fd == LOCK_HELD_ELSEWHERE) return STUDENT_BUSY;
    if (lock_fd == LOCK_FAILED) return START_FAILED;
    retire_old_report(o, sub);
    if (grader_options_write(o->outdir, sub->student, o->grader_args, o->grader_argc) != 0) {
        if (lock_fd >= 0) close(lock_fd);
        return START_FAILED;
    }
    fflush(NULL);
    pid_t batch = getpid(), pid = fork();
    if (pid < 0) {
        fprintf(stderr, "conclab grade: cannot start a grader: %s\n", strerror(errno));
        if (lock_fd >= 0) close(lock_fd);
        return START_FAILED;
    }
    if (pid == 0) exec_grader(sub, o, old_mask, batch);
    setpgid(pid, pid); /* also here, so a kill right after fork already reaches the group */
    double now = monotonic_seconds();
    *slot = (running){.pid = pid, .lock_fd = lock_fd, .sub = sub, .started = now,
                      .deadline = now + o->submission_timeout_s};
    return STARTED;
}

/* The slot's child is reaped: its student is free for another batch. */
static void free_slot(running *slot) {
    if (slot->lock_fd >= 0) close(slot->lock_fd);
    slot->pid = 0;
}

/* The last line the grader printed, for an error that has no report to explain it. */
static char *last_log_line(const pool_options *o, const submission *sub) {
    char *log = student_file(o->outdir, sub->student, "grader.log");
    FILE *f = fopen(log, "r");
    free(log);
    if (!f) return NULL;
    char line[512], last[512] = "";
    while (fgets(line, sizeof line, f))
        if (line[0] != '\n') snprintf(last, sizeof last, "%s", line);
    fclose(f);
    last[strcspn(last, "\n")] = '\0';
    return last[0] ? xstrdup(last) : NULL;
}

static char *outcome_error(const running *r, int status, const pool_options *o) {
    if (r->timed_out)
        return xasprintf("grading took longer than the submission limit (%g s) and was stopped",
                         o->submission_timeout_s);
    if (WIFSIGNALED(status))
        return xasprintf("the grader was killed by signal %d (%s)", WTERMSIG(status), strsignal(WTERMSIG(status)));
    int code = WEXITSTATUS(status);
    if (code == GRADER_GRADED || code == GRADER_UNREADABLE) {
        char *report = student_file(o->outdir, r->sub->student, "results.json");
        bool written = access(report, F_OK) == 0;
        free(report);
        return written ? NULL : xasprintf("the grader exited with status %d but wrote no results.json", code);
    }
    char *why = last_log_line(o, r->sub);
    char *error = xasprintf("the grader failed (exit status %d)%s%s", code, why ? ": " : "", why ? why : "");
    free(why);
    return error;
}

/* A submission that left no report gets the batch's own account of it, beside where the report
 * would be; results.json is left to the grader, so a rerun grades the submission again. */
static void record_error(const pool_options *o, const grading_outcome *g) {
    char *path = student_file(o->outdir, g->sub->student, "batch-error.json");
    if (!g->error || g->exit_status == GRADER_USAGE) {
        /* a report was written (an older account of a failure no longer holds), or the
         * failure was the instructor's notebook, not this submission */
        unlink(path);
        free(path);
        return;
    }
    json_t *j = json_pack("{s:s, s:s, s:s, s:s, s:f}", "schema", "conclab-grade-batch-error/1", "submission",
                          g->sub->path, "status", "error", "error", g->error, "seconds", g->seconds);
    if (!j || json_dump_file(j, path, JSON_INDENT(1)) != 0)
        fprintf(stderr, "conclab grade: cannot write %s\n", path);
    json_decref(j);
    free(path);
}

static void stop_group(pid_t pgid, int sig) {
    if (killpg(pgid, sig) != 0 && errno != ESRCH) kill(pgid, sig);
}

/* Reaps one ended child, if any: 1 reaped (outcome filled), 0 none. The group is killed before
 * the leader is reaped, while its id cannot yet be reused. */
static int reap_one(running *slots, int jobs, grading_outcome *g, const pool_options *o) {
    siginfo_t info = {0};
    if (waitid(P_ALL, 0, &info, WEXITED | WNOHANG | WNOWAIT) != 0 || info.si_pid == 0) return 0;
    stop_group(info.si_pid, SIGKILL);
    int status = 0;
    waitpid(info.si_pid, &status, 0);
    for (int i = 0; i < jobs; i++) {
        if (slots[i].pid != info.si_pid) continue;
        *g = (grading_outcome){
            .sub = slots[i].sub,
            .exit_status = WIFEXITED(status) && !slots[i].timed_out ? WEXITSTATUS(status) : -1,
            .timed_out = slots[i].timed_out,
            .signal = WIFSIGNALED(status) ? WTERMSIG(status) : 0,
            .seconds = monotonic_seconds() - slots[i].started,
            .error = outcome_error(&slots[i], status, o),
        };
        free_slot(&slots[i]);
        return 1;
    }
    return 0; /* not one of ours (cannot happen: the batch starts no other children) */
}

static void kill_overdue(running *slots, int jobs) {
    double now = monotonic_seconds();
    for (int i = 0; i < jobs; i++) {
        if (slots[i].pid == 0 || slots[i].timed_out || now < slots[i].deadline) continue;
        slots[i].timed_out = true;
        stop_group(slots[i].pid, SIGKILL);
    }
}

static int count_running(const running *slots, int jobs) {
    int n = 0;
    for (int i = 0; i < jobs; i++) n += slots[i].pid != 0;
    return n;
}

/* Interrupted: SIGTERM to every group, SIGKILL to what is left after a grace period; every child
 * is reaped. Their reports are not counted: a grader stopped midway writes no results.json. */
static void stop_all(running *slots, int jobs) {
    for (int i = 0; i < jobs; i++)
        if (slots[i].pid) stop_group(slots[i].pid, SIGTERM);
    double until = monotonic_seconds() + STOP_GRACE_S;
    while (count_running(slots, jobs) > 0) {
        bool late = monotonic_seconds() > until;
        for (int i = 0; i < jobs; i++) {
            if (!slots[i].pid) continue;
            if (late) stop_group(slots[i].pid, SIGKILL);
            if (waitpid(slots[i].pid, NULL, WNOHANG) == slots[i].pid || (late && waitpid(slots[i].pid, NULL, 0) > 0)) {
                stop_group(slots[i].pid, SIGKILL);
                free_slot(&slots[i]);
            }
        }
        nanosleep(&(struct timespec){0, 20 * 1000 * 1000}, NULL);
    }
}

/* Waits up to 200 ms for a child to end or a stop signal: the signal taken, or 0. */
static int wait_for_event(const sigset_t *watched) {
    struct timespec tick = {0, 200 * 1000 * 1000};
    int sig = sigtimedwait(watched, NULL, &tick);
    return sig < 0 ? 0 : sig;
}

static size_t next_to_grade(const roster *r, size_t from) {
    while (from < r->count && r->items[from].state != SUBMISSION_TO_GRADE) from++;
    return from;
}

pool_result pool_run(const roster *r, const pool_options *o, progress *p, pool_counts *counts) {
    *counts = (pool_counts){0};
    sigset_t watched, old_mask;
    sigemptyset(&watched);
    sigaddset(&watched, SIGCHLD);
    sigaddset(&watched, SIGINT);
    sigaddset(&watched, SIGTERM);
    sigaddset(&watched, SIGHUP); /* the terminal closed: the graders must not run on unwatched */
    sigprocmask(SIG_BLOCK, &watched, &old_mask);

    running *slots = xcalloc((size_t)o->jobs, sizeof *slots);
    pool_result result = POOL_DONE;
    size_t next = next_to_grade(r, 0);
    for (;;) {
        for (int i = 0; i < o->jobs && next < r->count && result == POOL_DONE; i++) {
            if (slots[i].pid) continue;
            start_result started = start_child(&slots[i], &r->items[next], o, &old_mask);
            if (started == START_FAILED) {
                result = POOL_FAILED;
                break;
            }
            if (started == STUDENT_BUSY) {
                progress_skipped(p, &r->items[next], "another conclab grade is grading it now: left to it");
                counts->busy++;
                i--; /* the slot is still free */
            } else {
                progress_started(p, &r->items[next]);
            }
            next = next_to_grade(r, next + 1);
        }
        if (count_running(slots, o->jobs) == 0) break;
        int sig = wait_for_event(&watched);
        if (sig == SIGINT || sig == SIGTERM || sig == SIGHUP) {
            result = POOL_INTERRUPTED;
            stop_all(slots, o->jobs);
            break;
        }
        kill_overdue(slots, o->jobs);
        grading_outcome g;
        while (reap_one(slots, o->jobs, &g, o)) {
            record_error(o, &g);
            if (g.error || g.exit_status != GRADER_GRADED) counts->failed++;
            else counts->graded++;
            progress_finished(p, &g, o->outdir);
            if (g.exit_status == GRADER_USAGE && result == POOL_DONE) {
                /* the source or an option is bad: every other child would say the same */
                char *why = last_log_line(o, g.sub);
                fprintf(stderr, "conclab grade: the grader refused the instructor notebook or the options%s%s\n",
                        why ? ": " : "", why ? why : "");
                free(why);
                result = POOL_SOURCE_REFUSED;
            }
            free(g.error);
        }
        if (result == POOL_SOURCE_REFUSED) next = r->count; /* let the running ones finish */
        progress_tick(p);
    }
    free(slots);
    sigprocmask(SIG_SETMASK, &old_mask, NULL);
    return result;
}
