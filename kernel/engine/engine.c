/* engine.c — the engine client's executor process: starting it, following the holder of the
 * notebook as it changes with every cell, stopping cells, restarting. Runs in the kernel
 * process, which never runs user code.
 *
 * The executor is this binary run as `conclab executor 3`: descriptor 3 the socketpair its
 * messages travel on (messages.h), PROGRESS_PAGE_FD the shared page where its cells note their
 * line (progress.h), its stdout and stderr pipes read by streams.c. The holder of the state
 * changes pid with every cell that runs in a fork (executor.c), so the client follows it through
 * the "done" events and watches it with a pidfd to notice when it dies.
 *
 * With opts.sandbox the child execs bwrap instead (sandbox.h), which runs `conclab
 * executor-keeper FD` in the sandbox, which runs the executor: the same descriptors go through,
 * and the pids the executor reports are its namespace's, turned into ours (sandbox_events.c). */
#define _GNU_SOURCE
#include "engine_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cell.h"
#include "conclab_host.h"
#include "cell_cgroup.h"
#include "descriptors.h"
#include "error_text.h"
#include "monotonic.h"
#include "pidfd.h"
#include "process_tree.h"

enum { DEFAULT_OUTPUT_LIMIT = 4 << 20, DEFAULT_PROCESS_LIMIT = 256 };
/* The sandbox: where bwrap's child reports its pid (a number bwrap leaves alone, clear of the
 * executor's 0-5), how long bwrap may take to set up, how much each private tmpfs may hold */
enum { SANDBOX_INFO_FD = 6 };
#define SANDBOX_START_S 10.0
#define DEFAULT_MEMORY_LIMIT ((size_t)4 << 30)

void engine_reap_children(void) {
    while (waitpid(-1, NULL, WNOHANG) > 0) {
    }
}

/* After killing the executor's processes, wait (briefly) until they are gone, so none is left
 * as a zombie for an init that may never reap it. */
static void reap_until_gone(double seconds) {
    double deadline = monotonic_seconds() + seconds;
    while (monotonic_seconds() < deadline) {
        pid_t pid = waitpid(-1, NULL, WNOHANG);
        if (pid < 0) return;  /* no children left */
        if (pid == 0) usleep(1000);
    }
}

static void close_all(const int *fds, int n) {
    for (int i = 0; i < n; i++) close(fds[i]);
}

static void remember_group(engine *eng, pid_t group) {
    for (size_t i = 0; i < eng->n_groups; i++)
        if (eng->groups[i] == group) return;
    pid_t *grown = realloc(eng->groups, (eng->n_groups + 1) * sizeof *grown);
    if (!grown) return;
    eng->groups = grown;
    eng->groups[eng->n_groups++] = group;
}

/* ---------------------------------------------------------------- the executor process */

static void free_environment(char **env, size_t own) {
    if (!env) return;
    for (size_t i = own; env[i]; i++) free(env[i]);
    free(env);
}

/* What of our environment a sandboxed executor sees: no secrets a grader may hold (tokens,
 * paths), only what C programs and the runtime read. */
static bool passes_into_sandbox(const char *entry) {
    static const char *const kept[] = {"PATH=", "LANG=", "LC_", "TERM=", "TZ=", "CONCLAB_", "LD_LIBRARY_PATH=", NULL};
    for (const char *const *k = kept; *k; k++)
        if (strncmp(entry, *k, strlen(*k)) == 0) return true;
    return false;
}

/* The executor's environment: ours, with glibc's malloc asked to back its heap and its large
 * blocks with transparent huge pages. The compiler's heap then grows 2 MiB per page fault
 * instead of 4 KiB (a 5000-line cell compiles twice as fast on a fresh notebook), and a cell that
 * fills gigabytes leaves few page-table entries for the fork of the next cell to copy (4 GB:
 * ~2000 instead of ~1 000 000). Where THP is off this changes nothing. Where the notebook has a
 * cgroup, the executor is told where its cells' go (cell_cgroup.h). In a sandbox (sandbox_home not
 * NULL) only what passes_into_sandbox keeps, with HOME the sandbox's folder. Built before fork, since
 * the child of a threaded process must not allocate. The strings of our own come last, from
 * *own on. */
static char **executor_environment(const engine *eng, const char *sandbox_home, size_t *own) {
    extern char **environ;
    size_t n = 0;
    while (environ[n]) n++;
    char **env = calloc(n + 6, sizeof *env);
    if (!env) return NULL;
    size_t k = 0;
    const char *old = NULL;
    for (size_t i = 0; i < n; i++) {
        if (strncmp(environ[i], "GLIBC_TUNABLES=", 15) == 0) old = environ[i] + 15;
        else if (sandbox_home && !passes_into_sandbox(environ[i])) continue;
        else if (strncmp(environ[i], CELL_CGROUPS_ENV "=", sizeof CELL_CGROUPS_ENV) != 0 &&
                 strncmp(environ[i], CHANNEL_NONCE_ENV "=", sizeof CHANNEL_NONCE_ENV) != 0)
            env[k++] = environ[i];
    }
    *own = k;
    if (asprintf(&env[k], "GLIBC_TUNABLES=%s%sglibc.malloc.hugetlb=1", old ? old : "", old && *old ? ":" : "") < 0) {
        env[k] = NULL;
        free_environment(env, *own);
        return NULL;
    }
    k++;
    if (asprintf(&env[k], "%s=%016llx", CHANNEL_NONCE_ENV, (unsigned long long)eng->nonce) < 0) {
        env[k] = NULL;
        return env;
    }
    k++;
    if (sandbox_home) {
        if (asprintf(&env[k], "HOME=%s", sandbox_home) < 0) {
            env[k] = NULL;
            return env;
        }
        k++;
        if (!(env[k] = strdup("TMPDIR=/tmp"))) return env;
        k++;
    }
    if (eng->processes.dir[0] && asprintf(&env[k], "%s=%s", CELL_CGROUPS_ENV, eng->processes.dir) < 0) env[k] = NULL;
    return env;
}

/* In the child, before exec: the descriptors the executor expects, and nothing of the terminal. */
_Noreturn static void become_executor(engine *eng, int channel_end, int display_end, int out, int err, char **env,
                                      const sandbox_plan *plan, int info_end) {
    setpgid(0, 0);  /* SIGINT sent to the kernel's group must not reach user code */
    /* lift the channel and the progress page above 4 first: either may sit at 3 or 4 */
    int channel = fcntl(channel_end, F_DUPFD_CLOEXEC, 10), progress = fcntl(eng->progress_fd, F_DUPFD_CLOEXEC, 10);
    int display = fcntl(display_end, F_DUPFD_CLOEXEC, 10), info = fcntl(info_end, F_DUPFD_CLOEXEC, 10);
    int devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);  /* only its copy at 0 goes on */
    dup2(devnull, 0);
    dup2(out, 1);
    dup2(err, 2);
    /* the channel where cells do not stumble on it (descriptors.h); 3 if the limit is too low */
    int at = dup2(channel, eng->executor_channel_fd) == eng->executor_channel_fd ? eng->executor_channel_fd
                                                                                 : dup2(channel, 3);
    if (progress >= 0) dup2(progress, PROGRESS_PAGE_FD);
    if (display >= 0) dup2(display, DISPLAY_SOCKET_FD);
    process_limit_join(&eng->processes);
    if (plan) {  /* bwrap keeps what is open without close-on-exec, and runs `conclab executor FD` */
        if (at != eng->executor_channel_fd || dup2(info, SANDBOX_INFO_FD) != SANDBOX_INFO_FD) _exit(127);
        execve(plan->argv[0], plan->argv, env);
        _exit(127);
    }
    char fd_text[16];
    snprintf(fd_text, sizeof fd_text, "%d", at);
    if (env) execle("/proc/self/exe", "conclab", "executor", fd_text, (char *)NULL, env);
    else execl("/proc/self/exe", "conclab", "executor", fd_text, (char *)NULL);
    _exit(127);
}

/* A fresh executor's nonce (messages.h): random, never 0. */
static uint64_t new_nonce(void) {
    uint64_t nonce = 0;
    while (nonce == 0)
        if (getrandom(&nonce, sizeof nonce, 0) != sizeof nonce) nonce = (uint64_t)monotonic_ms() ^ (uint64_t)getpid() << 32;
    return nonce;
}

/* With opts.sandbox: the bwrap command line, and the pipe bwrap reports its first pid on. */
static int plan_sandbox(engine *eng, sandbox_plan *plan, int info[2], char **err) {
    char exe[PATH_MAX];
    if (sandbox_conclab_binary(exe, err) != 0) return -1;
    if (pipe2(info, O_CLOEXEC) != 0) {
        error_set(err, "cannot create the sandbox's info pipe: %s", strerror(errno));
        return -1;
    }
    size_t tmpfs = sandbox_tmpfs_size(eng->opts.memory_limit);
    if (sandbox_plan_build(plan, eng->bwrap, eng->opts.sandbox_dir, exe, eng->executor_channel_fd, SANDBOX_INFO_FD,
                           tmpfs, err) != 0) {
        close(info[0]);
        close(info[1]);
        return -1;
    }
    return 0;
}

/* After the fork: the executor's pid as we number it, once bwrap has made the sandbox (or why it
 * could not: no namespaces here, or what bwrap said, its first line on the executor's stderr). */
static pid_t attach_sandbox(engine *eng, int info, int errp, char **err) {
    pid_t executor = sandbox_pids_attach(&eng->sandbox, info, SANDBOX_START_S);
    close(info);
    if (executor > 0) return executor;
    char said[512] = "";
    ssize_t got = read(errp, said, sizeof said - 1);  /* nonblocking: bwrap has exited or hung */
    said[got > 0 ? got : 0] = '\0';
    said[strcspn(said, "\n")] = '\0';
    char bwrap[PATH_MAX];
    if (!sandbox_probe(bwrap, err)) return -1;  /* no namespaces here, say */
    error_set(err, "the sandbox did not start: %s", said[0] ? said : "bwrap gave no reason");
    return -1;
}

static int spawn_executor(engine *eng, char **err) {
    int sv[2], displays[2], out[2], errp[2], info[2] = {-1, -1};
    sandbox_plan plan = {0};
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0 ||
        socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, displays) != 0 || pipe2(out, O_CLOEXEC) != 0 ||
        pipe2(errp, O_CLOEXEC) != 0) {
        error_set(err, "cannot create executor channels: %s", strerror(errno));
        return -1;
    }
    eng->nonce = new_nonce();
    eng->executor_channel_fd = descriptor_high_floor();
    eng->sandbox = (sandbox_pids){0};
    if (eng->opts.sandbox && plan_sandbox(eng, &plan, info, err) != 0) {
        close_all((int[]){sv[0], sv[1], displays[0], displays[1], out[0], out[1], errp[0], errp[1]}, 8);
        return -1;
    }
    size_t own = 0;
    char **env = executor_environment(eng, eng->opts.sandbox ? plan.workdir : NULL, &own);
    pid_t pid = fork();
    if (pid < 0) {
        sandbox_plan_free(&plan);
        free_environment(env, own);
        error_set(err, "cannot start the executor: %s", strerror(errno));
        return -1;
    }
    if (pid == 0) become_executor(eng, sv[1], displays[1], out[1], errp[1], env, eng->opts.sandbox ? &plan : NULL, info[1]);
    free_environment(env, own);
    sandbox_plan_free(&plan);
    if (info[1] >= 0) close(info[1]);
    setpgid(pid, pid);
    remember_group(eng, pid);  /* the executor's first group, which its compiler stays in */
    close(sv[1]);
    close(displays[1]);
    close(out[1]);
    close(errp[1]);
    fcntl(out[0], F_SETFL, O_NONBLOCK);
    fcntl(errp[0], F_SETFL, O_NONBLOCK);
    eng->channel = sv[0];
    eng->displays = displays[0];
    eng->out = (output_stream){out[0], "stdout", {0}, 0};
    eng->err = (output_stream){errp[0], "stderr", {0}, 0};
    pid_t executor = pid;
    eng->sandbox.bwrap = pid;
    if (eng->opts.sandbox && (executor = attach_sandbox(eng, info[0], errp[0], err)) < 0) {
        eng->holder = pid;  /* bwrap itself, for close_executor to end */
        return -1;
    }
    eng->holder = executor;
    eng->holder_pidfd = pidfd_open_compat(executor);
    eng->holder_lost = false;
    return 0;
}

static void kill_groups(engine *eng) {
    for (size_t i = 0; i < eng->n_groups; i++) kill(-eng->groups[i], SIGKILL);
    eng->n_groups = 0;
    if (eng->holder > 0) kill(-eng->holder, SIGKILL);
    if (eng->holder > 0) kill(eng->holder, SIGKILL);
}

/* Everything the notebook ran ends with it: the executor's groups, then whatever left them
 * (cgroups where there are some, and everything below this process). */
static void close_executor(engine *eng) {
    kill_groups(eng);
    process_limit_end_all(&eng->processes);
    process_tree_kill_all();
    if (eng->channel >= 0) close(eng->channel);
    if (eng->displays >= 0) close(eng->displays);
    if (eng->out.fd >= 0) close(eng->out.fd);
    if (eng->err.fd >= 0) close(eng->err.fd);
    if (eng->holder_pidfd >= 0) close(eng->holder_pidfd);
    eng->channel = eng->displays = eng->out.fd = eng->err.fd = eng->holder_pidfd = -1;
    eng->holder = 0;
    reap_until_gone(0.5);
}

void engine_follow_holder(engine *eng, pid_t holder) {
    if (holder <= 0 || holder == eng->holder) return;
    if (eng->holder_pidfd >= 0) close(eng->holder_pidfd);
    eng->holder = holder;
    eng->holder_pidfd = pidfd_open_compat(holder);
}

/* ---------------------------------------------------------------- start, restart, end */

/* "4G", "512M", "100000": a size from the environment, or fallback. */
static size_t size_from_env(const char *name, size_t fallback) {
    const char *text = getenv(name);
    if (!text || !*text) return fallback;
    char *end;
    double v = strtod(text, &end);
    size_t scale = *end == 'K' || *end == 'k' ? 1u << 10 : *end == 'M' || *end == 'm' ? 1u << 20
                 : *end == 'G' || *end == 'g' ? 1u << 30 : 1;
    return v > 0 ? (size_t)(v * (double)scale) : fallback;
}

/* The page every executor notes its running cell's line on (progress.h). */
static void share_progress_page(engine *eng) {
    eng->progress_fd = memfd_create("conclab-progress", MFD_CLOEXEC);
    if (eng->progress_fd < 0 || ftruncate(eng->progress_fd, sizeof *eng->progress) != 0) return;
    void *page = mmap(NULL, sizeof *eng->progress, PROT_READ | PROT_WRITE, MAP_SHARED, eng->progress_fd, 0);
    if (page != MAP_FAILED) eng->progress = page;
}

engine *engine_start(const engine_options *opts, char **err) {
    engine *eng = calloc(1, sizeof *eng);
    if (!eng) return NULL;
    if (opts) eng->opts = *opts;
    if (!eng->opts.output_limit) eng->opts.output_limit = DEFAULT_OUTPUT_LIMIT;
    eng->settings.timeout_s = eng->opts.timeout_s;
    if (!eng->opts.memory_limit) eng->opts.memory_limit = size_from_env("CONCLAB_MEMORY_LIMIT", DEFAULT_MEMORY_LIMIT);
    if (!eng->opts.process_limit)
        eng->opts.process_limit = (int)size_from_env("CONCLAB_PROCESS_LIMIT", DEFAULT_PROCESS_LIMIT);
    if (eng->opts.sandbox && !sandbox_find(eng->bwrap, err)) {
        free(eng);
        return NULL;
    }
    process_limit_init(&eng->processes, eng->opts.process_limit);
    eng->channel = eng->displays = eng->out.fd = eng->err.fd = eng->holder_pidfd = -1;
    share_progress_page(eng);
    eng->symbols = json_object();
    eng->display_ids = json_object();
    eng->includes = json_array();
    pthread_mutex_init(&eng->lock, NULL);
    /* cells hand the state to forked children whose parents exit: adopt them so they are reaped */
    prctl(PR_SET_CHILD_SUBREAPER, 1);
    signal(SIGPIPE, SIG_IGN);
    if (spawn_executor(eng, err) != 0) {
        engine_free(eng);
        return NULL;
    }
    return eng;
}

int engine_restart(engine *eng) {
    close_executor(eng);
    eng->settings = (notebook_settings){.timeout_s = eng->opts.timeout_s};
    free(eng->thread_notice);
    eng->thread_notice = NULL;
    engine_forget_definitions(eng);
    engine_history_clear(eng);
    return spawn_executor(eng, NULL);
}

void engine_free(engine *eng) {
    if (!eng) return;
    if (eng->channel >= 0) op_send(eng->channel, &(op){.kind = OP_SHUTDOWN}, NULL, 0);
    close_executor(eng);
    process_limit_free(&eng->processes);
    if (eng->progress) munmap(eng->progress, sizeof *eng->progress);
    if (eng->progress_fd >= 0) close(eng->progress_fd);
    engine_forget_definitions(eng);
    json_decref(eng->symbols);
    json_decref(eng->history);
    json_decref(eng->display_ids);
    json_decref(eng->includes);
    free(eng->groups);
    free(eng->thread_notice);
    free(eng->waits_report);
    pthread_mutex_destroy(&eng->lock);
    free(eng);
}

int engine_executor_pid(const engine *eng) { return (int)eng->holder; }

/* ---------------------------------------------------------------- the memory limit */

/* The limit for the next cell (memory_guard.h): `limit` more than pid maps now, as a soft limit
 * set from here; the executor's processes cannot change it (a seccomp filter). */
static void limit_memory_of(pid_t pid, size_t limit) {
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/statm", (int)pid);
    FILE *f = fopen(path, "r");
    unsigned long pages = 0;
    if (!f) return;
    bool read = fscanf(f, "%lu", &pages) == 1;
    fclose(f);
    struct rlimit now;
    if (!read || prlimit(pid, RLIMIT_AS, NULL, &now) != 0) return;
    rlim_t want = (rlim_t)pages * (rlim_t)sysconf(_SC_PAGESIZE) + (rlim_t)limit;
    if (now.rlim_max != RLIM_INFINITY && want > now.rlim_max) want = now.rlim_max;
    struct rlimit next = {want, now.rlim_max};
    prlimit(pid, RLIMIT_AS, &next, NULL);
}

/* A fresh executor sets itself up (its code arena, its compiler) before it takes its name:
 * limited earlier, it would have no room to. Waits for that, briefly. */
static bool executor_ready(pid_t holder) {
    char path[64], name[32] = "";
    snprintf(path, sizeof path, "/proc/%d/comm", (int)holder);
    for (double deadline = monotonic_seconds() + 5.0; monotonic_seconds() < deadline; usleep(1000)) {
        FILE *f = fopen(path, "r");
        if (!f) return false;
        bool named = fgets(name, sizeof name, f) && strncmp(name, EXECUTOR_READY_NAME, strlen(EXECUTOR_READY_NAME)) == 0;
        fclose(f);
        if (named) return true;
    }
    return false;
}

void engine_limit_memory(engine *eng) {
    if (!eng->opts.memory_limit || eng->holder <= 0 || !executor_ready(eng->holder)) return;
    limit_memory_of(eng->holder, eng->opts.memory_limit);
    process_list spares;
    process_tree_children_named(eng->holder, EXECUTOR_SPARE_NAME, &spares);
    for (size_t i = 0; i < spares.n; i++) limit_memory_of(spares.items[i].pid, eng->opts.memory_limit);
    process_list_free(&spares);
}

/* ---------------------------------------------------------------- stopping a cell */

/* In a sandbox the board names threads by the sandbox's pids and tids (sandbox.h). */
static int thread_in_sandbox_alive(int pid, int tid, void *ctx) {
    const engine *eng = ctx;
    return sandbox_thread_alive(&eng->sandbox, pid, tid);
}

/* Before a hung cell is killed: what its threads wait for, from the board of waits the runtime
 * keeps in the progress page (conclab_host.h). Only for the stops where a cell may be stuck.
 * group is the cell's pid as the cell itself saw it. */

static void read_waits(engine *eng, stop_reason why, pid_t group) {
    if (!eng->progress || group <= 0 || (why != STOP_INTERRUPT && why != STOP_TIMEOUT)) return;
    char text[8192];
    int deadlock = 0;
    if (!cl_host_waits_report_alive(eng->progress->waits, (int)group, text, sizeof text, &deadlock,
                                    eng->opts.sandbox ? thread_in_sandbox_alive : NULL, eng))
        return;
    eng->waits_report = strdup(text);
    eng->waits_deadlock = deadlock != 0;
}

void engine_stop_cell(engine *eng, stop_reason why) {
    pthread_mutex_lock(&eng->lock);
    pid_t group = 0;
    if (eng->executing && eng->stop == STOP_NONE) {
        eng->stop = why;
        group = eng->running_group;
        read_waits(eng, why, eng->running_group_inside);  /* the board has the pids the cell saw */
    }
    pthread_mutex_unlock(&eng->lock);
    if (group > 0) kill(-group, SIGKILL);  /* the cell, its threads and every process it forked */
}

void engine_interrupt(engine *eng) { engine_stop_cell(eng, STOP_INTERRUPT); }

void engine_note_running(engine *eng, pid_t group, pid_t group_inside) {
    pthread_mutex_lock(&eng->lock);
    eng->running_group = group;
    eng->running_group_inside = group_inside;
    bool stop_now = eng->stop != STOP_NONE;
    pthread_mutex_unlock(&eng->lock);
    remember_group(eng, group);
    if (stop_now) kill(-group, SIGKILL);  /* interrupted before the cell had even started */
}

/* ---------------------------------------------------------------- the language, no executor */

engine_completeness engine_check_complete(const char *code, char *indent, size_t indent_size) {
    switch (cell_check_complete(code, indent, indent_size)) {
    case CELL_COMPLETE: return ENGINE_COMPLETE;
    case CELL_INCOMPLETE: return ENGINE_INCOMPLETE;
    default: return ENGINE_INVALID;
    }
}
