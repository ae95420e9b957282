/* sandbox.h — the executor run inside bubblewrap (bwrap), for submissions that must not reach
 * anything but their own folder (engine_options.sandbox).
 *
 * The sandbox has no network (its own loopback only), its own PID, IPC and UTS namespaces, a
 * private /tmp and /dev/shm, the system read-only, and of the rest of the file system only the
 * submission's folder (read-write, its working directory) and, read-only, what the executor
 * itself needs: the conclab binary, the shared objects it runs with and the runtime's headers.
 * The time, memory, output and process limits stay the engine's, applied from outside.
 *
 *   sandbox.c        can it run here (sandbox_probe), and the bwrap command line (sandbox_plan)
 *   sandbox_paths.c  which files outside the system folders the executor needs
 *   sandbox_pids.c   pids as the sandbox numbers them, turned into the kernel's own */
#ifndef CONCLAB_SANDBOX_H
#define CONCLAB_SANDBOX_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* The working directory inside when the caller names none: an empty tmpfs. */
#define SANDBOX_PRIVATE_DIR "/sandbox"

/* Is bwrap on PATH? Writes its path to bwrap (PATH_MAX bytes) and returns true, or returns false
 * with *why saying what is missing (malloc'd). Cheap: every sandbox start asks. */
bool sandbox_find(char *bwrap, char **why);

/* sandbox_find, then can bwrap make the namespaces (it runs `bwrap --unshare-all ... true`, about
 * 0.1 s)? Asked only when a sandbox failed to start, to say why. */
bool sandbox_probe(char *bwrap, char **why);

/* The whole argv to exec: bwrap, its options, then `conclab executor-keeper FD` (which starts
 * the executor and stays: bwrap ends the sandbox when the process it started exits). Built before fork (the
 * child of a threaded process must not allocate). */
typedef struct sandbox_plan {
    char **argv;
    size_t n, cap;
    char workdir[4096];  /* the working directory inside (and HOME) */
} sandbox_plan;

/* dir: the folder the submission may read and write (NULL: a private empty one); info_fd: where
 * bwrap writes the sandbox's first pid; tmpfs_size: bytes each private tmpfs may hold. -1 with
 * *err on failure (a folder that does not exist, no memory). */
int sandbox_plan_build(sandbox_plan *plan, const char *bwrap, const char *dir, const char *executor_path,
                       int channel_fd, int info_fd, size_t tmpfs_size, char **err);
void sandbox_plan_free(sandbox_plan *plan);

/* What each private tmpfs (/tmp, /dev/shm, the private folder) may hold: the memory limit, at
 * most 1 GiB (what is written there is memory too). */
size_t sandbox_tmpfs_size(size_t memory_limit);

/* The running conclab binary's path (the executor the sandbox starts, and its files to bind);
 * -1 with *err when /proc cannot say. */
int sandbox_conclab_binary(char exe[PATH_MAX], char **err);

/* The same sandbox around any command (argv, NULL-terminated; argv[0] a path inside): for the
 * programs the kernel runs for a sandboxed notebook itself (%%tsan's gcc and its build). dir is
 * the folder it may read and write and runs in. -1 with *err on failure. */
int sandbox_plan_command(sandbox_plan *plan, const char *bwrap, const char *dir, char *const *argv,
                         size_t tmpfs_size, char **err);

/* Read-only binds for the files outside the system folders that the executor needs: adds
 * `--ro-bind P P` to plan for each. -1 on no memory. */
int sandbox_bind_own_files(sandbox_plan *plan, const char *executor_path);
int sandbox_plan_add(sandbox_plan *plan, const char *arg);  /* one argument, copied; -1: no memory */

/* ---- pids: the sandbox has its own PID namespace; the kernel signals and watches by its own */

typedef struct sandbox_pids {
    pid_t bwrap;            /* the bwrap process the kernel started (outside the sandbox) */
    pid_t init;             /* the sandbox's pid 1 (bwrap's), as the kernel numbers it; 0: none */
    pid_t keeper;           /* its child, the keeper: a subreaper, parent of the executor and of
                             * every process orphaned in the sandbox */
    unsigned long long ns;  /* the inode of its PID namespace */
} sandbox_pids;

/* Reads bwrap's info (its child's pid) from info_fd, waiting at most `seconds`; then the pid of the
 * executor (the child of the keeper bwrap started), as the kernel numbers it. -1 when bwrap
 * failed first. */
pid_t sandbox_pids_attach(sandbox_pids *sp, int info_fd, double seconds);

/* The kernel's pid of the process the sandbox calls inside_pid; -1 when no process of this
 * sandbox has that number (gone, or never the sandbox's: a forged message). */
pid_t sandbox_host_pid(const sandbox_pids *sp, pid_t inside_pid);

/* Is the thread the sandbox numbers inside_tid, of its process inside_pid, alive? (The board of
 * waits, conclab_host.h, names threads by the sandbox's numbers.) */
bool sandbox_thread_alive(const sandbox_pids *sp, pid_t inside_pid, pid_t inside_tid);

#endif
