/* tsan_cell.c — `%%tsan`: the notebook so far and this cell, built with ThreadSanitizer and run
 * outside the notebook (issue 17, item 2).
 *
 * TSan cannot instrument the code tcc generates, so the cell is not run by the executor: the
 * cells this session ran (what %export writes, session_export.c) and this one are exported as
 * one program (export_program.h), built in a private temporary directory with
 *   gcc -g -O0 -fsanitize=thread -fdebug-prefix-map=DIR=. notebook.c conclab_tsan.c \
 *       -I<runtime include> -L<runtime lib> -Wl,-rpath,<runtime lib> -Wl,--wrap=... -lconclab
 * against the same runtime the kernel runs (-O0: gcc would remove the timing loops labs rely
 * on) plus the shim that tells TSan about the runtime's synchronization (tsan_shim.h), and run
 * with the cell's time limit. Its stdout is the cell's output; TSan's reports become the cell's
 * error (tsan_report.h); the rest of its stderr is the cell's stderr. The notebook's state is
 * not touched: nothing of this cell is defined afterwards, as the first line of output says. */
#define _GNU_SOURCE
#include "engine_internal.h"

#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include "export_program.h"
#include "monotonic.h"
#include "runtime_paths.h"
#include "sandbox.h"
#include "tsan_report.h"
#include "tsan_shim.h"
#include "text_file.h"
#include "xalloc.h"

extern char **environ;

#define TSAN_DEFAULT_TIMEOUT_S 60.0  /* when the notebook sets no time limit */
#define TSAN_BUILD_TIMEOUT_S 120.0
#define TSAN_EXIT_CODE 66            /* what the program exits with when TSan reported something */

static const char unexpected_mapping[] = "unexpected memory mapping";

/* ---------------------------------------------------------------- finding the tools */

/* An executable named `name` on PATH (or the path itself when it has a slash), or false. */
static bool find_program(const char *name, char *found, size_t size) {
    if (strchr(name, '/')) {
        snprintf(found, size, "%s", name);
        return access(found, X_OK) == 0;
    }
    const char *path = getenv("PATH");
    char *dirs = xstrdup(path ? path : "/usr/bin:/bin");
    bool ok = false;
    for (char *save = NULL, *dir = strtok_r(dirs, ":", &save); dir && !ok; dir = strtok_r(NULL, ":", &save)) {
        snprintf(found, size, "%s/%s", dir, name);
        ok = access(found, X_OK) == 0;
    }
    free(dirs);
    return ok;
}

/* The folder of the libconclab the kernel itself runs on, so the program links the same one. */
static bool runtime_library_dir(char *dir, size_t size) {
    const char *env = getenv("CONCLAB_RUNTIME_LIBDIR");
    if (env && *env) {
        snprintf(dir, size, "%s", env);
        return true;
    }
    Dl_info info;
    void *symbol = dlsym(RTLD_DEFAULT, "cl_hook_set");
    if (!symbol || !dladdr(symbol, &info) || !info.dli_fname) return false;
    char resolved[PATH_MAX];
    if (!realpath(info.dli_fname, resolved)) return false;
    char *slash = strrchr(resolved, '/');
    if (!slash) return false;
    *slash = '\0';
    snprintf(dir, size, "%s", resolved);
    return true;
}

/* ---------------------------------------------------------------- running a child */

typedef enum child_end { CHILD_EXITED, CHILD_TIMED_OUT, CHILD_INTERRUPTED, CHILD_NOT_STARTED } child_end;

typedef struct child {
    char *const *argv;
    char *const *envp;
    const char *dir;             /* where it runs; NULL: the kernel's own directory */
    const char *sandbox_dir;     /* for a sandboxed notebook: the one folder it may write, where it runs */
    double timeout_s;
    const engine_callbacks *cb;  /* its stdout goes to the cell as it comes when set */
    strbuf out, err;             /* what it wrote (stdout only when not streamed) */
    int status;                  /* waitpid's */
} child;

static void forward(child *c, int fd, bool is_out) {
    char buf[4096];
    ssize_t n = read(fd, buf, sizeof buf);
    if (n <= 0) return;
    if (is_out && c->cb && c->cb->on_stream) c->cb->on_stream(c->cb->ctx, "stdout", buf, (size_t)n);
    else strbuf_addn(is_out ? &c->out : &c->err, buf, (size_t)n);
}

static bool stopped(engine *eng) {
    pthread_mutex_lock(&eng->lock);
    bool stop = eng->stop != STOP_NONE;
    pthread_mutex_unlock(&eng->lock);
    return stop;
}

/* Its own process group, which engine_interrupt kills, as it kills a cell's. */
static void follow_group(engine *eng, pid_t pid) {
    pthread_mutex_lock(&eng->lock);
    eng->running_group = pid;
    bool stop_now = eng->stop != STOP_NONE;
    pthread_mutex_unlock(&eng->lock);
    if (stop_now) kill(-pid, SIGKILL);
}

static child_end run_child(engine *eng, child *c) {
    int out[2], err[2];
    if (pipe2(out, O_CLOEXEC) != 0) return CHILD_NOT_STARTED;
    if (pipe2(err, O_CLOEXEC) != 0) {
        close(out[0]), close(out[1]);
        return CHILD_NOT_STARTED;
    }
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, out[1], 1);
    posix_spawn_file_actions_adddup2(&actions, err[1], 2);
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
    if (c->dir) posix_spawn_file_actions_addchdir_np(&actions, c->dir);
    posix_spawnattr_t attr;
    posix_spawnattr_init(&attr);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP);
    /* a sandboxed notebook's build and program run in the same sandbox as its cells (sandbox.h):
     * gcc would otherwise show the lines of any file an #include names */
    sandbox_plan plan = {0};
    char *const *argv = c->argv;
    if (eng->opts.sandbox) {
        char *why = NULL;
        if (sandbox_plan_command(&plan, eng->bwrap, c->sandbox_dir, c->argv, sandbox_tmpfs_size(eng->opts.memory_limit),
                                 &why) != 0) {
            free(why);
            posix_spawn_file_actions_destroy(&actions);
            posix_spawnattr_destroy(&attr);
            close(out[0]), close(out[1]), close(err[0]), close(err[1]);
            return CHILD_NOT_STARTED;
        }
        argv = plan.argv;
    }
    pid_t pid;
    int rc = posix_spawn(&pid, argv[0], &actions, &attr, argv, c->envp);
    sandbox_plan_free(&plan);
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attr);
    close(out[1]), close(err[1]);
    if (rc != 0) {
        close(out[0]), close(err[0]);
        return CHILD_NOT_STARTED;
    }
    follow_group(eng, pid);
    double deadline = monotonic_seconds() + c->timeout_s;
    child_end end = CHILD_EXITED;
    struct pollfd fds[2] = {{out[0], POLLIN, 0}, {err[0], POLLIN, 0}};
    while (fds[0].fd >= 0 || fds[1].fd >= 0) {
        if (poll(fds, 2, 100) < 0 && errno != EINTR) break;
        for (int i = 0; i < 2; i++) {
            if (!fds[i].revents) continue;
            if (fds[i].revents & POLLIN) forward(c, fds[i].fd, i == 0);
            else close(fds[i].fd), fds[i].fd = -1;
        }
        if (end == CHILD_EXITED && (monotonic_seconds() > deadline || stopped(eng))) {
            end = stopped(eng) ? CHILD_INTERRUPTED : CHILD_TIMED_OUT;
            kill(-pid, SIGKILL);
        }
    }
    for (int i = 0; i < 2; i++)
        if (fds[i].fd >= 0) close(fds[i].fd);
    while (waitpid(pid, &c->status, 0) < 0 && errno == EINTR) {}
    kill(-pid, SIGKILL);  /* whatever it forked and left behind */
    follow_group(eng, 0);
    return end;
}

/* ---------------------------------------------------------------- the cell */

typedef struct tsan_job {
    engine *eng;
    const engine_request *req;
    const cell_magics *magics;
    const engine_callbacks *cb;
    engine_outcome *out;
    char dir[PATH_MAX];     /* the private temporary directory */
    char gcc[PATH_MAX];
} tsan_job;

static void fail(tsan_job *job, const char *ename, const char *evalue, json_t *more) {
    json_t *tb = json_array();
    json_array_append_new(tb, json_sprintf("%s: %s", ename, evalue));
    if (more) json_array_extend(tb, more);
    json_decref(more);
    engine_set_error(job->out, ename, evalue, tb);
}

static void remove_dir(const char *dir) {
    DIR *d = opendir(dir);
    if (!d) return;
    for (struct dirent *e; (e = readdir(d));) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
        unlinkat(dirfd(d), e->d_name, 0);
    }
    closedir(d);
    rmdir(dir);
}

/* gcc, and its TSan runtime: missing ones are said plainly, with the packages that bring them. */
static bool toolchain_ready(tsan_job *job) {
    const char *cc = getenv("CONCLAB_TSAN_CC");
    if (!find_program(cc && *cc ? cc : "gcc", job->gcc, sizeof job->gcc)) {
        fail(job, "ToolMissing", "%%tsan builds the notebook with gcc, which is not installed here; install the "
             "Debian packages gcc and libtsan2 (apt-get install gcc libtsan2), or ask whoever runs this Jupyter", NULL);
        return false;
    }
    char *argv[] = {job->gcc, "-print-file-name=libtsan.so", NULL};
    child c = {.argv = argv, .envp = environ, .timeout_s = 30};  /* before job->dir exists */
    bool found = run_child(job->eng, &c) == CHILD_EXITED && c.out.data && strchr(c.out.data, '/');
    strbuf_free(&c.out);
    strbuf_free(&c.err);
    if (!found)
        fail(job, "ToolMissing", "gcc is installed but its ThreadSanitizer runtime is not; install the Debian "
             "package libtsan2 (apt-get install libtsan2)", NULL);
    return found;
}

/* This cell as the program runs it: its %%tsan line blanked (the line numbers stay), since the
 * export leaves %%tsan cells out (they change nothing in the notebook). */
static char *without_tsan_line(const char *code) {
    char *copy = xstrdup(code);
    for (char *line = copy; *line; line += strcspn(line, "\n") + (line[strcspn(line, "\n")] == '\n')) {
        const char *text = line + strspn(line, " \t");
        if (strncmp(text, "%%tsan", 6) == 0) {
            memset(line, ' ', strcspn(line, "\n"));
            break;
        }
    }
    return copy;
}

/* The cells this session ran, then this one, as one program in job->dir. */
static bool write_program(tsan_job *job) {
    engine *eng = job->eng;
    size_t n = eng->history ? json_array_size(eng->history) : 0;
    export_cell *cells = xcalloc(n + 1, sizeof *cells);
    for (size_t i = 0; i < n; i++) {
        json_t *h = json_array_get(eng->history, i);
        cells[i].source = json_string_value(json_object_get(h, "code"));
        cells[i].number = (int)json_integer_value(json_object_get(h, "number"));
        cells[i].definitions_only = job->magics->tsan_only_this_cell;
    }
    char *this_cell = without_tsan_line(job->req->code);
    cells[n].source = this_cell;
    cells[n].number = job->req->cell_number;
    char *notes = NULL;
    char *program = export_program(cells, n + 1, "notebook.c", &notes);
    free(cells);
    free(this_cell);
    if (notes[0] && job->cb && job->cb->on_stream) job->cb->on_stream(job->cb->ctx, "stderr", notes, strlen(notes));
    bool ok = text_file_write_in(job->dir, "notebook.c", program) == 0 &&
              text_file_write_in(job->dir, "conclab_tsan.c", tsan_shim_source) == 0;
    free(notes);
    free(program);
    if (!ok) fail(job, "TsanError", "could not write the program to a temporary directory", NULL);
    return ok;
}

/* gcc's messages, one traceback line each; they name cell[k]:line through the #line directives. */
static json_t *lines_of(const char *text) {
    json_t *lines = json_array();
    for (const char *line = text; *line;) {
        size_t len = strcspn(line, "\n");
        json_array_append_new(lines, json_sprintf("%.*s", (int)len, line));
        line += len + (line[len] == '\n');
    }
    return lines;
}

static bool build(tsan_job *job) {
    char prefix_map[PATH_MAX + 32], include[PATH_MAX + 3], libdir[PATH_MAX], link_dir[PATH_MAX + 3],
        rpath[PATH_MAX + 16], output[PATH_MAX + 16];
    if (!runtime_library_dir(libdir, sizeof libdir)) {
        fail(job, "TsanError", "cannot tell where the runtime library (libconclab.so) the kernel runs on is", NULL);
        return false;
    }
    snprintf(prefix_map, sizeof prefix_map, "-fdebug-prefix-map=%s=.", job->dir);
    snprintf(include, sizeof include, "-I%s", runtime_include_dir());
    snprintf(link_dir, sizeof link_dir, "-L%s", libdir);
    snprintf(rpath, sizeof rpath, "-Wl,-rpath,%s", libdir);
    snprintf(output, sizeof output, "%s/notebook", job->dir);
    /* built in its directory, so the debug information's paths are ./cell[k] once mapped */
    char *argv[] = {job->gcc, "-g", "-O0", "-fsanitize=thread", prefix_map, "-pthread", include, "notebook.c",
                    "conclab_tsan.c", "-o", output, link_dir, rpath, (char *)tsan_link_wraps, "-lconclab", "-lm", NULL};
    child c = {.argv = argv, .envp = environ, .dir = job->dir, .sandbox_dir = job->dir, .timeout_s = TSAN_BUILD_TIMEOUT_S};
    child_end end = run_child(job->eng, &c);
    bool built = end == CHILD_EXITED && WIFEXITED(c.status) && WEXITSTATUS(c.status) == 0;
    const char *said = c.err.data ? c.err.data : "";
    if (!built && end == CHILD_INTERRUPTED) fail(job, "Interrupted", "the %%tsan build was interrupted", NULL);
    else if (!built && end != CHILD_EXITED) fail(job, "TsanError", "gcc did not finish building the program", NULL);
    else if (!built) {
        const char *first = strstr(said, "error: ");
        char *evalue = xasprintf("gcc could not build the notebook + this cell with ThreadSanitizer%s%.*s",
                                 first ? ": " : "", first ? (int)strcspn(first + 7, "\n") : 0, first ? first + 7 : "");
        fail(job, "CompileError", evalue, lines_of(said));
        free(evalue);
    } else if (said[0] && job->cb && job->cb->on_stream) {
        job->cb->on_stream(job->cb->ctx, "stderr", said, strlen(said));  /* warnings */
    }
    strbuf_free(&c.out);
    strbuf_free(&c.err);
    return built;
}

/* The environment with TSAN_OPTIONS set for a report per race and a known exit status. */
static char **program_environment(void) {
    size_t n = 0;
    while (environ[n]) n++;
    char **envp = xcalloc(n + 2, sizeof *envp);
    size_t k = 0;
    const char *user = getenv("TSAN_OPTIONS");
    for (size_t i = 0; i < n; i++)
        if (strncmp(environ[i], "TSAN_OPTIONS=", 13) != 0) envp[k++] = xstrdup(environ[i]);
    envp[k++] = xasprintf("TSAN_OPTIONS=exitcode=%d halt_on_error=0 history_size=4 color=never %s", TSAN_EXIT_CODE,
                          user ? user : "");
    return envp;
}

static void free_environment(char **envp) {
    for (size_t i = 0; envp[i]; i++) free(envp[i]);
    free(envp);
}

/* Runs it; when TSan refuses the address-space layout, once more without ASLR (setarch -R). */
static child_end run_program(tsan_job *job, child *c, bool *without_aslr) {
    char program[PATH_MAX + 16], setarch[PATH_MAX];
    snprintf(program, sizeof program, "%s/notebook", job->dir);
    char **envp = program_environment();
    char *plain[] = {program, NULL};
    double timeout = job->magics->timeout_s > 0 ? job->magics->timeout_s : TSAN_DEFAULT_TIMEOUT_S;
    *c = (child){.argv = plain, .envp = envp, .sandbox_dir = job->dir, .timeout_s = timeout, .cb = job->cb};
    child_end end = run_child(job->eng, c);
    *without_aslr = false;
    struct utsname machine;
    if (end == CHILD_EXITED && c->err.data && strstr(c->err.data, unexpected_mapping) &&
        find_program("setarch", setarch, sizeof setarch) && uname(&machine) == 0) {
        char *no_aslr[] = {setarch, machine.machine, "-R", program, NULL};
        strbuf_free(&c->err);
        strbuf_free(&c->out);
        *c = (child){.argv = no_aslr, .envp = envp, .sandbox_dir = job->dir, .timeout_s = timeout, .cb = job->cb};
        end = run_child(job->eng, c);
        *without_aslr = true;
    }
    free_environment(envp);
    return end;
}

/* How the program ended, when TSan reported nothing. */
static void judge_quiet_end(tsan_job *job, child_end end, const child *c) {
    char evalue[256];
    double timeout = job->magics->timeout_s > 0 ? job->magics->timeout_s : TSAN_DEFAULT_TIMEOUT_S;
    if (end == CHILD_INTERRUPTED) fail(job, "Interrupted", "the %%tsan program was interrupted", NULL);
    else if (end == CHILD_TIMED_OUT) {
        snprintf(evalue, sizeof evalue, "the %%%%tsan program ran longer than %g s and was stopped (%%%%timeout "
                 "SECONDS changes it; TSan makes programs 5-15 times slower)", timeout);
        fail(job, "TimeoutError", evalue, NULL);
    } else if (WIFSIGNALED(c->status)) {
        snprintf(evalue, sizeof evalue, "the %%%%tsan program was killed by signal %d (%s)", WTERMSIG(c->status),
                 strsignal(WTERMSIG(c->status)));
        fail(job, "ProgramCrashed", evalue, NULL);
    } else if (WEXITSTATUS(c->status) != 0) {
        char *said = xasprintf("[tsan] the program exited with status %d\n", WEXITSTATUS(c->status));
        engine_say(job->cb, said);
        free(said);
    }
}

static void run_and_report(tsan_job *job) {
    child c;
    bool without_aslr;
    child_end end = run_program(job, &c, &without_aslr);
    const char *err = c.err.data ? c.err.data : "";
    if (end == CHILD_NOT_STARTED) {
        fail(job, "TsanError", "could not start the program gcc built", NULL);
    } else if (strstr(err, unexpected_mapping)) {
        char *evalue = xasprintf("ThreadSanitizer refused this machine's address-space layout (%s, even with "
                                 "ASLR off under setarch -R): the kernel's mmap randomization is higher than "
                                 "this TSan supports (sysctl vm.mmap_rnd_bits=28 lowers it)",
                                 without_aslr ? "\"FATAL: ThreadSanitizer: unexpected memory mapping\"" : "no setarch");
        fail(job, "TsanUnavailable", evalue, lines_of(err));
        free(evalue);
    } else {
        tsan_findings f;
        tsan_read_reports(err, &f);
        if (f.rest[0] && job->cb && job->cb->on_stream) job->cb->on_stream(job->cb->ctx, "stderr", f.rest, strlen(f.rest));
        if (f.reports) {
            const char *ename = f.races == f.reports ? "DataRace" : "ThreadSanitizer";
            char *evalue = f.races == f.reports
                ? xasprintf("%d data race%s in the notebook + this cell; the first: %s", f.races,
                            f.races == 1 ? "" : "s", f.first)
                : xasprintf("%d ThreadSanitizer report%s (%d data race%s) in the notebook + this cell; the first: %s",
                            f.reports, f.reports == 1 ? "" : "s", f.races, f.races == 1 ? "" : "s", f.first);
            fail(job, ename, evalue, json_incref(f.traceback));
            free(evalue);
        } else {
            judge_quiet_end(job, end, &c);
        }
        tsan_findings_clear(&f);
    }
    strbuf_free(&c.out);
    strbuf_free(&c.err);
}

void engine_tsan_cell(engine *eng, const engine_request *req, const cell_magics *magics, const engine_callbacks *cb,
                      engine_outcome *out) {
    tsan_job job = {.eng = eng, .req = req, .magics = magics, .cb = cb, .out = out};
    if (!toolchain_ready(&job)) return;
    const char *tmp = getenv("TMPDIR");
    snprintf(job.dir, sizeof job.dir, "%s/conclab-tsan-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(job.dir)) {
        fail(&job, "TsanError", "could not make a temporary directory for the program", NULL);
        return;
    }
    size_t n = eng->history ? json_array_size(eng->history) : 0;
    char *said = xasprintf("[tsan] %s %zu cell%s run so far + this one, built with ThreadSanitizer and run "
                           "outside the notebook: nothing this cell defines or changes stays in it\n",
                           magics->tsan_only_this_cell ? "the definitions of the" : "the", n, n == 1 ? "" : "s");
    engine_say(cb, said);
    free(said);
    if (write_program(&job) && build(&job)) run_and_report(&job);
    else if (!out->ename) fail(&job, "TsanError", "the program could not be built", NULL);
    if (!out->ename) out->ok = true;
    remove_dir(job.dir);
}
