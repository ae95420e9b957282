/* client.c — the engine client: spawns the executor, sends it cells, forwards what they write,
 * answers their reads, and stops them. Runs in the kernel process, which never runs user code.
 *
 * The executor's stdout and stderr are pipes read here; its requests and events travel on a
 * socketpair as framed JSON (framing.h). The holder of the state changes pid with every cell
 * that runs in a fork (executor.c), so the client follows it through the "done" events, and
 * watches it with a pidfd to notice when it dies. */
#define _GNU_SOURCE
#include "engine.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "codemap.h"
#include "diagnostics.h"
#include "framing.h"
#include "jit.h"
#include "magics.h"
#include "process_limit.h"

#define CONCLAB_STRINGIFY_(x) #x
#define CONCLAB_STRINGIFY(x) CONCLAB_STRINGIFY_(x)
#include "strbuf.h"
#include "utf8.h"

enum { DEFAULT_OUTPUT_LIMIT = 4 << 20, DEFAULT_PROCESS_LIMIT = 256, READ_CHUNK = 64 << 10 };
#define DEFAULT_MEMORY_LIMIT ((size_t)4 << 30)

typedef enum stop_reason { STOP_NONE, STOP_INTERRUPT, STOP_TIMEOUT, STOP_OUTPUT, STOP_PROCESSES } stop_reason;

typedef struct output_stream {
    int fd;
    const char *name;
    unsigned char carry[4];  /* the start of a UTF-8 sequence cut by the last read */
    size_t n_carry;
} output_stream;

struct engine {
    engine_options opts;
    pid_t holder;
    int holder_pidfd;
    int channel;
    output_stream out, err;
    json_t *symbols, *includes;
    strbuf unmerged;         /* definitions records (jit.h) not yet in symbols: merged when asked */
    pid_t *groups;           /* process groups cells ran in, to clean up on restart */
    size_t n_groups;
    size_t cell_output;      /* bytes forwarded for the running cell */
    bool holder_lost;        /* the holder died between cells */
    notebook_settings settings; /* what line magics set */
    process_limit processes;
    int progress_fd;             /* shared with every executor: where the running cell is */
    codemap_progress *progress;
    char *thread_notice;     /* the last "threads still running" notice shown */

    pthread_mutex_t lock;    /* guards the fields below, touched by engine_interrupt */
    bool executing;
    pid_t running_group;
    stop_reason stop;
};

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int pidfd_open_compat(pid_t pid) { return (int)syscall(SYS_pidfd_open, pid, 0); }

static void reap_children(void) {
    while (waitpid(-1, NULL, WNOHANG) > 0) {
    }
}

/* After killing the executor's processes, wait (briefly) until they are gone, so none is left
 * as a zombie for an init that may never reap it. */
static void reap_until_gone(double seconds) {
    double deadline = now_s() + seconds;
    while (now_s() < deadline) {
        pid_t pid = waitpid(-1, NULL, WNOHANG);
        if (pid < 0) return;  /* no children left */
        if (pid == 0) usleep(1000);
    }
}

/* ---------------------------------------------------------------- the executor process */

static void remember_group(engine *eng, pid_t group);

/* The executor's environment: ours, with glibc's malloc asked to back its heap and its large
 * blocks with transparent huge pages. The compiler's heap then grows 2 MiB per page fault
 * instead of 4 KiB (a 5000-line cell compiles twice as fast on a fresh notebook), and a cell that
 * fills gigabytes leaves few page-table entries for the fork of the next cell to copy (4 GB:
 * ~2000 instead of ~1 000 000). Where THP is off this changes nothing. Built before fork, since
 * the child of a threaded process must not allocate. */
static char **executor_environment(void) {
    extern char **environ;
    size_t n = 0;
    while (environ[n]) n++;
    char **env = calloc(n + 2, sizeof *env);
    if (!env) return NULL;
    size_t k = 0;
    const char *old = NULL;
    for (size_t i = 0; i < n; i++) {
        if (strncmp(environ[i], "GLIBC_TUNABLES=", 15) == 0) old = environ[i] + 15;
        else env[k++] = environ[i];
    }
    if (asprintf(&env[k], "GLIBC_TUNABLES=%s%sglibc.malloc.hugetlb=1", old ? old : "", old && *old ? ":" : "") < 0) {
        free(env);
        return NULL;
    }
    return env;
}

static void free_environment(char **env) {
    if (!env) return;
    size_t n = 0;
    while (env[n]) n++;
    free(env[n - 1]);  /* the one string of our own: GLIBC_TUNABLES, always last */
    free(env);
}

static int spawn_executor(engine *eng, char **err) {
    int sv[2], out[2], errp[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0 || pipe2(out, O_CLOEXEC) != 0 ||
        pipe2(errp, O_CLOEXEC) != 0) {
        if (err && asprintf(err, "cannot create executor channels: %s", strerror(errno)) < 0) *err = NULL;
        return -1;
    }
    char **env = executor_environment();
    pid_t pid = fork();
    if (pid < 0) {
        free_environment(env);
        if (err && asprintf(err, "cannot start the executor: %s", strerror(errno)) < 0) *err = NULL;
        return -1;
    }
    if (pid == 0) {
        setpgid(0, 0);  /* SIGINT sent to the kernel's group must not reach user code */
        /* lift the channel and the progress page above 4 first: either may sit at 3 or 4 */
        int channel = fcntl(sv[1], F_DUPFD_CLOEXEC, 10), progress = fcntl(eng->progress_fd, F_DUPFD_CLOEXEC, 10);
        int devnull = open("/dev/null", O_RDONLY);
        dup2(devnull, 0);
        dup2(out[1], 1);
        dup2(errp[1], 2);
        dup2(channel, 3);
        if (progress >= 0) dup2(progress, 4);
        process_limit_join(&eng->processes);
        if (env) execle("/proc/self/exe", "conclab", "executor", "3", (char *)NULL, env);
        else execl("/proc/self/exe", "conclab", "executor", "3", (char *)NULL);
        _exit(127);
    }
    free_environment(env);
    setpgid(pid, pid);
    remember_group(eng, pid);  /* the executor's first group, which its compiler stays in */
    close(sv[1]);
    close(out[1]);
    close(errp[1]);
    fcntl(out[0], F_SETFL, O_NONBLOCK);
    fcntl(errp[0], F_SETFL, O_NONBLOCK);
    eng->channel = sv[0];
    eng->out = (output_stream){out[0], "stdout", {0}, 0};
    eng->err = (output_stream){errp[0], "stderr", {0}, 0};
    eng->holder = pid;
    eng->holder_pidfd = pidfd_open_compat(pid);
    eng->holder_lost = false;
    return 0;
}

static void kill_groups(engine *eng) {
    for (size_t i = 0; i < eng->n_groups; i++) kill(-eng->groups[i], SIGKILL);
    eng->n_groups = 0;
    if (eng->holder > 0) kill(-eng->holder, SIGKILL);
    if (eng->holder > 0) kill(eng->holder, SIGKILL);
}

static void close_executor(engine *eng) {
    kill_groups(eng);
    if (eng->channel >= 0) close(eng->channel);
    if (eng->out.fd >= 0) close(eng->out.fd);
    if (eng->err.fd >= 0) close(eng->err.fd);
    if (eng->holder_pidfd >= 0) close(eng->holder_pidfd);
    eng->channel = eng->out.fd = eng->err.fd = eng->holder_pidfd = -1;
    eng->holder = 0;
    reap_until_gone(0.5);
}

static void remember_group(engine *eng, pid_t group) {
    for (size_t i = 0; i < eng->n_groups; i++)
        if (eng->groups[i] == group) return;
    pid_t *grown = realloc(eng->groups, (eng->n_groups + 1) * sizeof *grown);
    if (!grown) return;
    eng->groups = grown;
    eng->groups[eng->n_groups++] = group;
}

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

engine *engine_start(const engine_options *opts, char **err) {
    engine *eng = calloc(1, sizeof *eng);
    if (!eng) return NULL;
    if (opts) eng->opts = *opts;
    if (!eng->opts.output_limit) eng->opts.output_limit = DEFAULT_OUTPUT_LIMIT;
    eng->settings.timeout_s = eng->opts.timeout_s;
    if (!eng->opts.memory_limit) eng->opts.memory_limit = size_from_env("CONCLAB_MEMORY_LIMIT", DEFAULT_MEMORY_LIMIT);
    if (!eng->opts.process_limit)
        eng->opts.process_limit = (int)size_from_env("CONCLAB_PROCESS_LIMIT", DEFAULT_PROCESS_LIMIT);
    process_limit_init(&eng->processes, eng->opts.process_limit);
    eng->channel = eng->out.fd = eng->err.fd = eng->holder_pidfd = -1;
    eng->progress_fd = memfd_create("conclab-progress", MFD_CLOEXEC);
    if (eng->progress_fd >= 0 && ftruncate(eng->progress_fd, sizeof *eng->progress) == 0) {
        void *page = mmap(NULL, sizeof *eng->progress, PROT_READ | PROT_WRITE, MAP_SHARED, eng->progress_fd, 0);
        if (page != MAP_FAILED) eng->progress = page;
    }
    eng->symbols = json_object();
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
    json_object_clear(eng->symbols);
    json_array_clear(eng->includes);
    strbuf_free(&eng->unmerged);
    return spawn_executor(eng, NULL);
}

void engine_free(engine *eng) {
    if (!eng) return;
    if (eng->channel >= 0) {
        json_t *bye = json_pack("{s:s}", "op", "shutdown");
        framing_send(eng->channel, bye);
        json_decref(bye);
    }
    close_executor(eng);
    process_limit_free(&eng->processes);
    if (eng->progress) munmap(eng->progress, sizeof *eng->progress);
    if (eng->progress_fd >= 0) close(eng->progress_fd);
    json_decref(eng->symbols);
    json_decref(eng->includes);
    strbuf_free(&eng->unmerged);
    free(eng->groups);
    free(eng->thread_notice);
    pthread_mutex_destroy(&eng->lock);
    free(eng);
}

/* ---------------------------------------------------------------- stopping a cell */

static void stop_running_cell(engine *eng, stop_reason why) {
    pthread_mutex_lock(&eng->lock);
    pid_t group = 0;
    if (eng->executing && eng->stop == STOP_NONE) {
        eng->stop = why;
        group = eng->running_group;
    }
    pthread_mutex_unlock(&eng->lock);
    if (group > 0) kill(-group, SIGKILL);  /* the cell, its threads and every process it forked */
}

void engine_interrupt(engine *eng) { stop_running_cell(eng, STOP_INTERRUPT); }

static void note_running(engine *eng, pid_t group) {
    pthread_mutex_lock(&eng->lock);
    eng->running_group = group;
    bool stop_now = eng->stop != STOP_NONE;
    pthread_mutex_unlock(&eng->lock);
    remember_group(eng, group);
    if (stop_now) kill(-group, SIGKILL);  /* interrupted before the cell had even started */
}

/* ---------------------------------------------------------------- output */

static void emit(engine *eng, const engine_callbacks *cb, const output_stream *s, const char *text, size_t len) {
    (void)eng;
    if (len && cb && cb->on_stream) cb->on_stream(cb->ctx, s->name, text, len);
}

/* Reads what is available on one stream and forwards it as valid UTF-8. Returns bytes read. */
static size_t forward_stream(engine *eng, const engine_callbacks *cb, output_stream *s, bool counted) {
    static unsigned char raw[READ_CHUNK + 4];
    static char clean[3 * (READ_CHUNK + 4) + 1];
    if (s->fd < 0) return 0;
    memcpy(raw, s->carry, s->n_carry);
    ssize_t n = read(s->fd, raw + s->n_carry, READ_CHUNK);
    if (n <= 0) return 0;
    size_t total = s->n_carry + (size_t)n, written;
    size_t used = utf8_sanitize(raw, total, 0, clean, &written);
    s->n_carry = total - used;
    memcpy(s->carry, raw + used, s->n_carry);
    if (!counted) {
        emit(eng, cb, s, clean, written);
        return (size_t)n;
    }
    size_t limit = eng->opts.output_limit;
    if (eng->cell_output >= limit) return (size_t)n;  /* already cut off: drain and drop */
    size_t room = limit - eng->cell_output;
    eng->cell_output += written;
    if (written <= room) {
        emit(eng, cb, s, clean, written);
        return (size_t)n;
    }
    while (room > 0 && ((unsigned char)clean[room] & 0xC0) == 0x80) room--;  /* whole characters */
    emit(eng, cb, s, clean, room);
    char note[200];
    int len = snprintf(note, sizeof note,
                       "\n[conclab] output limit reached: the cell wrote more than %zu bytes and was "
                       "stopped (CONCLAB_OUTPUT_LIMIT sets the limit)\n", limit);
    output_stream *errs = &eng->err;
    emit(eng, cb, errs, note, (size_t)len);
    stop_running_cell(eng, STOP_OUTPUT);
    return (size_t)n;
}

static void drain_streams(engine *eng, const engine_callbacks *cb, bool counted) {
    while (forward_stream(eng, cb, &eng->out, counted) > 0) {
    }
    while (forward_stream(eng, cb, &eng->err, counted) > 0) {
    }
}

void engine_pump(engine *eng, const engine_callbacks *cb) {
    drain_streams(eng, cb, false);
    reap_children();
    struct pollfd p = {eng->holder_pidfd, POLLIN, 0};
    if (eng->holder_pidfd >= 0 && poll(&p, 1, 0) == 1) eng->holder_lost = true;
}

/* ---------------------------------------------------------------- running a cell */

typedef struct run_state {
    engine *eng;
    const engine_request *req;
    const engine_callbacks *cb;
    double timeout_s;
    json_t *done;
    char *definitions;  /* the done event's payload: what the cell defined (jit.h) */
    bool died;
    char at[64];  /* " at cell[4], line 3": where the cell was when it stopped, or "" */
} run_state;

static void follow_holder(engine *eng, pid_t holder) {
    if (holder <= 0 || holder == eng->holder) return;
    if (eng->holder_pidfd >= 0) close(eng->holder_pidfd);
    eng->holder = holder;
    eng->holder_pidfd = pidfd_open_compat(holder);
}

static void remember_include(engine *eng, const char *line) {
    size_t k;
    json_t *have;
    json_array_foreach(eng->includes, k, have) if (strcmp(json_string_value(have), line) == 0) return;
    json_array_append_new(eng->includes, json_string(line));
}

/* The cell's definitions (jit.h: records of name, kind, cell, declaration) into the symbols that
 * completion and inspection read. */
static void merge_definitions(engine *eng, const char *defs) {
    const char *p = defs;
    while (p && *p) {
        const char *field[4];
        size_t len[4];
        for (int f = 0; f < 4; f++) {
            const char *end = strchr(p, JIT_FIELD_END);
            if (!end) return;
            field[f] = p;
            len[f] = (size_t)(end - p);
            p = end + 1;
        }
        if (*p == JIT_RECORD_END) p++;
        char *name = strndup(field[0], len[0]), *kind = strndup(field[1], len[1]);
        if (name && kind && strcmp(kind, "include") == 0) remember_include(eng, name);
        else if (name && kind)
            json_object_set_new(eng->symbols, name, json_pack("{s:s, s:s%, s:i}", "kind", kind, "declaration",
                                                              field[3], len[3], "cell", atoi(field[2])));
        free(name);
        free(kind);
    }
}

static void answer_input(run_state *rs) {
    char *line = NULL;
    if (rs->req->allow_stdin && rs->cb && rs->cb->on_input) line = rs->cb->on_input(rs->cb->ctx, "", false);
    json_t *reply = line ? json_pack("{s:s, s:s}", "op", "input_reply", "value", line)
                         : json_pack("{s:s, s:s, s:b}", "op", "input_reply", "value", "", "eof", 1);
    framing_send(rs->eng->channel, reply);
    json_decref(reply);
    free(line);
}

/* One event from the executor. */
static void handle_event(run_state *rs, json_t *ev) {
    const char *kind = json_string_value(json_object_get(ev, "ev"));
    if (!kind) kind = "";
    if (strcmp(kind, "running") == 0) {
        note_running(rs->eng, (pid_t)json_integer_value(json_object_get(ev, "pid")));
    } else if (strcmp(kind, "display") == 0) {
        if (rs->cb && rs->cb->on_display) rs->cb->on_display(rs->cb->ctx, json_object_get(ev, "data"), NULL);
    } else if (strcmp(kind, "input_request") == 0) {
        drain_streams(rs->eng, rs->cb, true);  /* the prompt the cell printed goes out first */
        answer_input(rs);
    } else if (strcmp(kind, "clear_output") == 0) {
        drain_streams(rs->eng, rs->cb, true);  /* what was written before the clear goes first */
        if (rs->cb && rs->cb->on_clear) rs->cb->on_clear(rs->cb->ctx, json_is_true(json_object_get(ev, "wait")));
        json_t *ack = json_pack("{s:s}", "op", "clear_ack");
        framing_send(rs->eng->channel, ack);
        json_decref(ack);
    } else if (strcmp(kind, "done") == 0) {
        rs->done = json_incref(ev);
        size_t len;
        rs->definitions = framing_recv_payload(rs->eng->channel, ev, &len);
        follow_holder(rs->eng, (pid_t)json_integer_value(json_object_get(ev, "holder")));
    }
}

static bool readable(int fd) {
    struct pollfd p = {fd, POLLIN, 0};
    return fd >= 0 && poll(&p, 1, 0) == 1;
}

static void read_channel(run_state *rs) {
    json_t *ev = framing_recv(rs->eng->channel);
    if (!ev) {
        rs->died = true;
        return;
    }
    handle_event(rs, ev);
    json_decref(ev);
}

static void wait_for_done(run_state *rs) {
    engine *eng = rs->eng;
    double deadline = rs->timeout_s > 0 ? now_s() + rs->timeout_s : 0;
    while (!rs->done && !rs->died) {
        struct pollfd fds[4] = {{eng->out.fd, POLLIN, 0}, {eng->err.fd, POLLIN, 0},
                                {eng->channel, POLLIN, 0}, {eng->holder_pidfd, POLLIN, 0}};
        int wait_ms = 200;
        if (deadline) {
            double left = deadline - now_s();
            wait_ms = left <= 0 ? 0 : left < 0.2 ? (int)(left * 1000) + 1 : 200;
        }
        int n = poll(fds, 4, wait_ms);
        if (n < 0 && errno != EINTR) break;
        /* events first: the executor sends a cell's warnings before the cell runs, so they must
         * not be overtaken by output that became readable at the same moment */
        if (fds[2].revents) read_channel(rs);
        if (fds[0].revents) forward_stream(eng, rs->cb, &eng->out, true);
        if (fds[1].revents) forward_stream(eng, rs->cb, &eng->err, true);
        if (!rs->done && !rs->died && fds[3].revents) {
            /* the holder is gone: unless it handed over (a "done" already waiting), it died */
            while (!rs->done && !rs->died && readable(eng->channel)) read_channel(rs);
            if (!rs->done) rs->died = true;
        }
        if (deadline && now_s() >= deadline) stop_running_cell(eng, STOP_TIMEOUT);
        if (process_limit_exceeded(&eng->processes, eng->running_group)) stop_running_cell(eng, STOP_PROCESSES);
    }
}

static void set_error(engine_outcome *out, const char *ename, const char *evalue, json_t *traceback) {
    out->ok = false;
    free(out->ename);
    free(out->evalue);
    out->ename = strdup(ename);
    out->evalue = strdup(evalue);
    json_decref(out->traceback);
    out->traceback = traceback ? traceback : json_pack("[s]", evalue);
}

/* Where the cell was when it ended: the executor's note after a crash, else the progress page
 * the cell's code keeps up to date (an interrupted or timed-out cell leaves no note). */
static void locate(engine *eng, run_state *rs) {
    const char *where = rs->done ? json_string_value(json_object_get(rs->done, "where")) : NULL;
    if (where) snprintf(rs->at, sizeof rs->at, " at %s", where);
    else if (eng->progress && eng->progress->cell == rs->req->cell_number && eng->progress->line > 0)
        snprintf(rs->at, sizeof rs->at, " at cell[%d], line %d", eng->progress->cell, eng->progress->line);
}

/* The notebook frames the executor listed: its traceback without the first and last lines. */
static json_t *frames_of(const run_state *rs) {
    json_t *tb = rs->done ? json_object_get(rs->done, "traceback") : NULL;
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

/* Why the client stopped the cell, when it did: that is the error the student should see. */
static void explain_stop(engine *eng, const run_state *rs, stop_reason why, bool state_lost, engine_outcome *out) {
    char evalue[1024];
    const char *at = rs->at;
    const char *kept = state_lost ? "the notebook's state was lost (threads were running, so the cell "
                                    "could not run in a fork) and a fresh one started"
                                  : "the notebook's state from before this cell is intact";
    const char *ename = "Interrupted";
    if (why == STOP_INTERRUPT) snprintf(evalue, sizeof evalue, "the cell was interrupted%s; %s", at, kept);
    else if (why == STOP_TIMEOUT) {
        ename = "TimeoutError";
        snprintf(evalue, sizeof evalue, "the cell ran longer than its time limit of %g s (%%%%timeout "
                 "SECONDS changes it)%s; %s", rs->timeout_s, at, kept);
    } else if (why == STOP_PROCESSES) {
        ename = "ProcessLimitExceeded";
        if (eng->processes.backstop_hit)
            snprintf(evalue, sizeof evalue, "the cell tried to run more than %d processes at once, more than %d "
                     "with their threads (a fork bomb?), and was stopped with every process it made "
                     "(CONCLAB_PROCESS_LIMIT sets the limit)%s; %s", eng->opts.process_limit,
                     eng->opts.process_limit + PROCESS_LIMIT_THREAD_ALLOWANCE, at, kept);
        else
            snprintf(evalue, sizeof evalue, "the cell tried to run more than %d processes at once (a fork bomb?) and "
                     "was stopped with every process it made (CONCLAB_PROCESS_LIMIT sets the limit)%s; %s",
                     eng->opts.process_limit, at, kept);
    } else {
        ename = "OutputLimitExceeded";
        snprintf(evalue, sizeof evalue, "the cell wrote more than %zu bytes of output%s; %s",
                 eng->opts.output_limit, at, kept);
    }
    json_t *tb = json_array();
    json_array_append_new(tb, json_sprintf("%s: %s", ename, evalue));
    json_t *frames = frames_of(rs);
    json_array_extend(tb, frames);
    json_decref(frames);
    show_source_line(tb, rs, at);
    set_error(out, ename, evalue, tb);
}

static void say(const engine_callbacks *cb, const char *text) {
    if (cb && cb->on_stream && text) cb->on_stream(cb->ctx, "stdout", text, strlen(text));
}

/* "2 threads started by cell [3] are still running": shown when that picture changes. Not on
 * stderr, which graders count as a failure: as a display. */
static void notice_threads(engine *eng, const engine_callbacks *cb, json_t *by_cell) {
    strbuf text = {0};
    size_t i;
    json_t *group;
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
        cb->on_display(cb->ctx, data, NULL);
        json_decref(data);
    }
    free(eng->thread_notice);
    eng->thread_notice = now;
}

/* The holder's end may be noticed (its socket closing) a moment before it can be reaped. */
static bool wait_for_holder(engine *eng, int *status) {
    double deadline = now_s() + 0.5;
    for (;;) {
        pid_t got = waitpid(eng->holder, status, WNOHANG);
        if (got == eng->holder) return true;
        if (got < 0 || now_s() > deadline) return false;
        usleep(1000);
    }
}

static void fill_outcome(engine *eng, run_state *rs, stop_reason why, engine_outcome *out) {
    locate(eng, rs);
    if (rs->died) {
        int status = 0;
        char evalue[300];
        if (wait_for_holder(eng, &status) && WIFSIGNALED(status))
            snprintf(evalue, sizeof evalue, "the executor died from signal %d (%s) while the cell ran in "
                     "place (threads were running); the notebook's state was lost and a fresh one started",
                     WTERMSIG(status), strsignal(WTERMSIG(status)));
        else
            snprintf(evalue, sizeof evalue, "the executor ended while the cell ran in place (threads were "
                     "running); the notebook's state was lost and a fresh one started");
        engine_restart(eng);
        if (why != STOP_NONE) explain_stop(eng, rs, why, true, out);
        else set_error(out, "ExecutorDied", evalue, NULL);
        return;
    }
    json_t *done = rs->done;
    if (rs->definitions) strbuf_add(&eng->unmerged, rs->definitions);
    if (json_is_true(json_object_get(done, "state_lost"))) engine_restart(eng);  /* the executor ended itself */
    if (json_is_true(json_object_get(done, "ok"))) {
        notice_threads(eng, rs->cb, json_object_get(done, "threads"));
        out->ok = true;
        const char *value = json_string_value(json_object_get(done, "result"));
        if (value) out->result = json_pack("{s:s}", "text/plain", value);
        return;
    }
    if (why != STOP_NONE) {
        explain_stop(eng, rs, why, false, out);
        return;
    }
    const char *ename = json_string_value(json_object_get(done, "ename"));
    const char *evalue = json_string_value(json_object_get(done, "evalue"));
    const char *errors = json_string_value(json_object_get(done, "errors"));
    if (errors) {  /* it did not compile */
        char *explained;
        json_t *tb;
        diagnostics_compile_error(errors, rs->req->code, rs->req->cell_number, &explained, &tb);
        set_error(out, ename ? ename : "CompileError", explained, tb);
        free(explained);
        return;
    }
    json_t *tb = json_deep_copy(json_object_get(done, "traceback"));
    if (!tb) tb = json_pack("[s]", evalue ? evalue : "");
    show_source_line(tb, rs, json_string_value(json_object_get(done, "where")));
    set_error(out, ename ? ename : "Error", evalue ? evalue : "", tb);
}

/* %threads: asks the holder for its threads. */
static void answer_threads(engine *eng, const engine_callbacks *cb) {
    json_t *ask = json_pack("{s:s}", "op", "threads");
    json_t *reply = framing_send(eng->channel, ask) == 0 ? framing_recv(eng->channel) : NULL;
    json_decref(ask);
    json_t *list = json_object_get(reply, "threads");
    strbuf text = {0};
    if (json_array_size(list) == 0) strbuf_add(&text, "No threads are running besides the notebook's own.\n");
    else strbuf_add(&text, "Threads still running:\n");
    size_t i;
    json_t *t;
    json_array_foreach(list, i, t) {
        const char *state = json_string_value(json_object_get(t, "state"));
        const char *what = !state ? "?" : state[0] == 'R' ? "running" : state[0] == 'S' ? "sleeping or waiting"
                         : state[0] == 'D' ? "waiting on I/O" : state;
        strbuf_addf(&text, "  thread %lld from cell [%lld]: %s (%s)\n", json_integer_value(json_object_get(t, "tid")),
                    json_integer_value(json_object_get(t, "cell")), what,
                    json_string_value(json_object_get(t, "name")));
    }
    json_decref(reply);
    char *s = strbuf_take(&text);
    say(cb, s);
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
    char *s = strbuf_take(&text);
    say(cb, s);
    free(s);
}

static bool only_blank(const char *code) { return code[strspn(code, " \t\r\n")] == '\0'; }

/* Magic lines first: a settings magic is answered here, and the rest of the cell (if any) runs
 * with them. Returns true when the cell needs no executor. */
static bool handle_magics(engine *eng, char *code, const engine_callbacks *cb, cell_magics *magics,
                          engine_outcome *out) {
    char *err = NULL;
    if (magics_parse(code, &eng->settings, magics, &err) != 0) {
        set_error(out, "MagicError", err ? err : "bad magic", NULL);
        free(err);
        return true;
    }
    say(cb, magics->note);
    if (magics->query == QUERY_THREADS) answer_threads(eng, cb);
    if (magics->query == QUERY_LIMITS) answer_limits(eng, cb);
    out->ok = magics->query != QUERY_NONE || only_blank(code);
    return out->ok;
}

int engine_execute(engine *eng, const engine_request *req, const engine_callbacks *cb, engine_outcome *out) {
    memset(out, 0, sizeof *out);
    drain_streams(eng, cb, false);  /* what background threads wrote since the last cell */
    if (eng->holder_lost || eng->channel < 0) {
        const char *note = "[conclab] the executor had died between cells; the notebook's state was lost "
                           "and a fresh one started\n";
        if (cb && cb->on_stream) cb->on_stream(cb->ctx, "stderr", note, strlen(note));
        engine_restart(eng);
    }
    pthread_mutex_lock(&eng->lock);
    eng->executing = true;
    eng->stop = STOP_NONE;
    eng->running_group = 0;
    pthread_mutex_unlock(&eng->lock);
    eng->cell_output = 0;

    char *code = strdup(req->code ? req->code : "");
    cell_magics magics = {0};
    if (!code || handle_magics(eng, code, cb, &magics, out)) {
        free(code);
        cell_magics_clear(&magics);
        pthread_mutex_lock(&eng->lock);
        eng->executing = false;
        pthread_mutex_unlock(&eng->lock);
        return 0;
    }
    json_t *msg = json_pack("{s:s, s:i, s:b, s:b, s:b, s:b, s:I}", "op", "execute", "cell", req->cell_number,
                            "allow_stdin", req->allow_stdin, "silent", req->silent, "bounds", magics.bounds,
                            "prelude", !magics.no_prelude,
                            "memory_limit", (json_int_t)eng->opts.memory_limit);
    process_limit_exceeded(&eng->processes, 0);  /* forget refusals from before this cell */
    run_state rs = {.eng = eng, .req = req, .cb = cb, .timeout_s = magics.timeout_s};
    cell_magics_clear(&magics);
    if (framing_send_payload(eng->channel, msg, code, strlen(code)) != 0) rs.died = true;  /* the code, unescaped */
    free(code);
    json_decref(msg);
    wait_for_done(&rs);
    drain_streams(eng, cb, true);

    pthread_mutex_lock(&eng->lock);
    stop_reason why = eng->stop;
    eng->executing = false;
    eng->running_group = 0;
    pthread_mutex_unlock(&eng->lock);
    fill_outcome(eng, &rs, why, out);
    json_decref(rs.done);
    free(rs.definitions);
    reap_children();
    return 0;
}

void engine_outcome_clear(engine_outcome *out) {
    free(out->ename);
    free(out->evalue);
    json_decref(out->traceback);
    json_decref(out->result);
    memset(out, 0, sizeof *out);
}

/* What cells defined reaches the symbols only when completion or inspection asks for them: a
 * cell of thousands of definitions does not wait for it. */
static void merge_unmerged(engine *eng) {
    if (!eng->unmerged.len) return;
    merge_definitions(eng, eng->unmerged.data);
    strbuf_free(&eng->unmerged);
}

const json_t *engine_symbols(engine *eng) {
    merge_unmerged(eng);
    return eng->symbols;
}
int engine_executor_pid(const engine *eng) { return (int)eng->holder; }
const json_t *engine_includes(engine *eng) {
    merge_unmerged(eng);
    return eng->includes;
}
