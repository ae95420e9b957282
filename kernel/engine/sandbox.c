/* sandbox.c — whether bubblewrap can run here, and the bwrap command line that puts the executor
 * in its sandbox (sandbox.h). */
#define _GNU_SOURCE
#include "sandbox.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "error_text.h"

extern char **environ;

/* ---------------------------------------------------------------- is it there */

static bool find_on_path(const char *name, char *out) {
    const char *path = getenv("PATH");
    if (!path || !*path) path = "/usr/local/bin:/usr/bin:/bin";
    while (*path) {
        size_t len = strcspn(path, ":");
        if (len > 0 && snprintf(out, PATH_MAX, "%.*s/%s", (int)len, path, name) < PATH_MAX && access(out, X_OK) == 0)
            return true;
        path += len + (path[len] == ':');
    }
    return false;
}

/* Runs `bwrap --unshare-all --ro-bind / / true`: the namespaces the sandbox needs, nothing else.
 * Its stderr (what it says when user namespaces are off) goes to msg. */
static bool bwrap_works(const char *bwrap, char *msg, size_t size) {
    int err[2];
    if (pipe2(err, O_CLOEXEC) != 0) return snprintf(msg, size, "%s", strerror(errno)), false;
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_adddup2(&actions, err[1], 2);
    char *argv[] = {(char *)bwrap, "--unshare-all", "--die-with-parent", "--ro-bind", "/", "/", "true", NULL};
    pid_t pid;
    int rc = posix_spawn(&pid, bwrap, &actions, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&actions);
    close(err[1]);
    size_t got = 0;
    msg[0] = '\0';
    if (rc == 0) {
        ssize_t n;
        while (got + 1 < size && (n = read(err[0], msg + got, size - 1 - got)) > 0) got += (size_t)n;
        msg[got] = '\0';
        msg[strcspn(msg, "\n")] = '\0';
    } else snprintf(msg, size, "%s", strerror(rc));
    close(err[0]);
    int status = 0;
    if (rc == 0 && waitpid(pid, &status, 0) < 0) return false;
    return rc == 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

bool sandbox_find(char *bwrap, char **why) {
    if (find_on_path("bwrap", bwrap)) return true;
    error_set(why, "the sandbox needs bubblewrap, and `bwrap` is not on PATH (Debian: apt-get install bubblewrap)");
    return false;
}

bool sandbox_probe(char *bwrap, char **why) {
    if (!sandbox_find(bwrap, why)) return false;
    char msg[512];
    if (!bwrap_works(bwrap, msg, sizeof msg)) {
        error_set(why, "the sandbox needs user namespaces, and `bwrap --unshare-all` cannot make them here (%s); "
                       "on Debian: sysctl kernel.unprivileged_userns_clone=1, or run in a container that allows them",
                  msg[0] ? msg : "it failed");
        return false;
    }
    return true;
}

/* ---------------------------------------------------------------- the command line */

int sandbox_plan_add(sandbox_plan *plan, const char *arg) {
    if (plan->n + 2 > plan->cap) {
        size_t cap = plan->cap ? plan->cap * 2 : 64;
        char **grown = realloc(plan->argv, cap * sizeof *grown);
        if (!grown) return -1;
        plan->argv = grown;
        plan->cap = cap;
    }
    char *copy = strdup(arg);
    if (!copy) return -1;
    plan->argv[plan->n++] = copy;
    plan->argv[plan->n] = NULL;
    return 0;
}

static int add_all(sandbox_plan *plan, const char *const *args) {
    for (; *args; args++)
        if (sandbox_plan_add(plan, *args) != 0) return -1;
    return 0;
}

/* /bin, /lib, ...: a symlink into /usr on a merged-/usr system, a folder elsewhere. */
static int add_system_folder(sandbox_plan *plan, const char *dir) {
    char target[PATH_MAX];
    ssize_t n = readlink(dir, target, sizeof target - 1);
    if (n > 0) {
        target[n] = '\0';
        return add_all(plan, (const char *[]){"--symlink", target, dir, NULL});
    }
    struct stat st;
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) return 0;
    return add_all(plan, (const char *[]){"--ro-bind", dir, dir, NULL});
}

/* The system, read-only; of /etc not the password hashes (the sandbox may run as root). */
static int add_system(sandbox_plan *plan) {
    static const char *const folders[] = {"/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", NULL};
    if (add_all(plan, (const char *[]){"--ro-bind", "/usr", "/usr", "--ro-bind", "/etc", "/etc", NULL}) != 0) return -1;
    static const char *const secrets[] = {"/etc/shadow", "/etc/gshadow", "/etc/shadow-", "/etc/gshadow-", NULL};
    for (const char *const *s = secrets; *s; s++)
        if (access(*s, F_OK) == 0 && add_all(plan, (const char *[]){"--ro-bind", "/dev/null", *s, NULL}) != 0) return -1;
    for (const char *const *f = folders; *f; f++)
        if (add_system_folder(plan, *f) != 0) return -1;
    /* how many CPUs there are (sysconf reads it here); nothing else of /sys */
    return add_all(plan, (const char *[]){"--ro-bind-try", "/sys/devices/system/cpu", "/sys/devices/system/cpu", NULL});
}

/* A private tmpfs of at most size bytes at dir. */
static int add_tmpfs(sandbox_plan *plan, const char *dir, size_t size) {
    char bytes[32];
    snprintf(bytes, sizeof bytes, "%zu", size);
    return add_all(plan, (const char *[]){"--size", bytes, "--tmpfs", dir, NULL});
}

/* The submission's folder, read-write, where it starts; or an empty private one. */
static int add_workdir(sandbox_plan *plan, const char *dir, size_t tmpfs_size, char **err) {
    if (!dir) {
        snprintf(plan->workdir, sizeof plan->workdir, "%s", SANDBOX_PRIVATE_DIR);
        if (add_tmpfs(plan, SANDBOX_PRIVATE_DIR, tmpfs_size) != 0) return -1;
    } else {
        struct stat st;
        if (!realpath(dir, plan->workdir) || stat(plan->workdir, &st) != 0 || !S_ISDIR(st.st_mode)) {
            error_set(err, "the sandbox folder %s is not a folder: %s", dir, errno ? strerror(errno) : "not a directory");
            return -1;
        }
        if (add_all(plan, (const char *[]){"--bind", plan->workdir, plan->workdir, NULL}) != 0) return -1;
    }
    return add_all(plan, (const char *[]){"--chdir", plan->workdir, NULL});
}

/* Everything up to the command: the namespaces, the system, /proc, /dev, the private /tmp and
 * /dev/shm, the executor's own files and the working folder. info_fd < 0: no --info-fd. */
static int add_sandbox(sandbox_plan *plan, const char *bwrap, const char *dir, const char *executor_path, int info_fd,
                       size_t tmpfs_size, char **err) {
    int rc = add_all(plan, (const char *[]){bwrap, "--unshare-all", "--die-with-parent", "--new-session",
                                            "--cap-drop", "ALL", "--hostname", "conclab-sandbox", NULL});
    if (rc == 0 && info_fd >= 0) {
        char info[16];
        snprintf(info, sizeof info, "%d", info_fd);
        rc = add_all(plan, (const char *[]){"--info-fd", info, NULL});
    }
    if (rc == 0) rc = add_system(plan);
    if (rc == 0) rc = add_all(plan, (const char *[]){"--proc", "/proc", "--dev", "/dev", NULL});
    /* the private /tmp first: the executor's own files may live under /tmp (a build tree), and
     * their binds must go on top of it, not under it */
    if (rc == 0) rc = add_tmpfs(plan, "/dev/shm", tmpfs_size);
    if (rc == 0) rc = add_tmpfs(plan, "/tmp", tmpfs_size);
    if (rc == 0) rc = sandbox_bind_own_files(plan, executor_path);
    if (rc == 0) rc = add_workdir(plan, dir, tmpfs_size, err);
    return rc;
}

static int finish(sandbox_plan *plan, int rc, char **err) {
    if (rc == 0) return 0;
    if (err && !*err) error_set(err, "cannot build the sandbox's command line: out of memory");
    sandbox_plan_free(plan);
    return -1;
}

int sandbox_plan_build(sandbox_plan *plan, const char *bwrap, const char *dir, const char *executor_path,
                       int channel_fd, int info_fd, size_t tmpfs_size, char **err) {
    memset(plan, 0, sizeof *plan);
    char channel[16];
    snprintf(channel, sizeof channel, "%d", channel_fd);
    int rc = add_sandbox(plan, bwrap, dir, executor_path, info_fd, tmpfs_size, err);
    if (rc == 0) rc = add_all(plan, (const char *[]){"--", executor_path, "executor-keeper", channel, NULL});
    return finish(plan, rc, err);
}

int sandbox_conclab_binary(char exe[PATH_MAX], char **err) {
    ssize_t n = readlink("/proc/self/exe", exe, PATH_MAX - 1);
    if (n <= 0) {
        error_set(err, "cannot find the conclab binary for the sandbox: %s", strerror(errno));
        return -1;
    }
    exe[n] = '\0';
    return 0;
}

int sandbox_plan_command(sandbox_plan *plan, const char *bwrap, const char *dir, char *const *argv,
                         size_t tmpfs_size, char **err) {
    memset(plan, 0, sizeof *plan);
    char exe[PATH_MAX];
    if (sandbox_conclab_binary(exe, err) != 0) return -1;
    int rc = add_sandbox(plan, bwrap, dir, exe, -1, tmpfs_size, err);
    if (rc == 0) rc = sandbox_plan_add(plan, "--");
    for (; rc == 0 && *argv; argv++) rc = sandbox_plan_add(plan, *argv);
    return finish(plan, rc, err);
}

size_t sandbox_tmpfs_size(size_t memory_limit) {
    const size_t most = (size_t)1 << 30;
    return memory_limit && memory_limit < most ? memory_limit : most;
}

void sandbox_plan_free(sandbox_plan *plan) {
    for (size_t i = 0; i < plan->n; i++) free(plan->argv[i]);
    free(plan->argv);
    plan->argv = NULL;
    plan->n = plan->cap = 0;
}
