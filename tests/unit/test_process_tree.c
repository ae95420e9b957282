/* test_process_tree.c — the engine's view of the processes below it (kernel/engine/process_tree.h):
 * which pids a message may name (only the kernel's own descendants), and the sweeps that end what
 * a cell left, including processes that left their process group or lost their parents. */
#define _GNU_SOURCE
#include <signal.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "process_tree.h"

static bool alive(pid_t pid) {
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f) return false;
    char buf[512];
    bool running = fgets(buf, sizeof buf, f) && strrchr(buf, ')') && strrchr(buf, ')')[2] != 'Z';
    fclose(f);
    return running;
}

/* A grandchild that calls setsid() and whose parent exits: it comes up to us (a subreaper). */
static pid_t escapee(int report[2]) {
    pid_t child = fork();
    if (child == 0) {
        if (fork() == 0) {
            setsid();
            pid_t me = getpid();
            if (write(report[1], &me, sizeof me) != sizeof me) _exit(1);
            for (;;) pause();
        }
        _exit(0);
    }
    waitpid(child, NULL, 0);
    pid_t grandchild = 0;
    if (read(report[0], &grandchild, sizeof grandchild) != sizeof grandchild) return 0;
    return grandchild;
}

static void wait_gone(pid_t pid) {
    for (int i = 0; i < 500 && alive(pid); i++) {
        while (waitpid(-1, NULL, WNOHANG) > 0) {
        }
        usleep(2000);
    }
}

int main(void) {
    prctl(PR_SET_CHILD_SUBREAPER, 1);
    int report[2];
    CHECK(pipe(report) == 0);

    CHECK(process_tree_place(1) == PROCESS_ELSEWHERE);
    CHECK(process_tree_place(getppid()) == PROCESS_ELSEWHERE);
    CHECK(process_tree_place(getpid()) == PROCESS_ELSEWHERE);
    CHECK(process_tree_place(0) == PROCESS_ELSEWHERE && process_tree_place(-5) == PROCESS_ELSEWHERE);

    pid_t old = escapee(report);  /* "before the cell": must survive kill_new */
    CHECK(old > 0 && process_tree_place(old) == PROCESS_BELOW);
    process_list before;
    process_tree_descendants(&before);
    CHECK(before.n >= 1);

    pid_t keep = fork();  /* stands for the holder */
    if (keep == 0)
        for (;;) pause();
    pid_t fresh = escapee(report);  /* what "the cell" left */
    CHECK(fresh > 0 && process_tree_place(fresh) == PROCESS_BELOW);
    CHECK(process_tree_kill_new(&before, keep) >= 1);
    wait_gone(fresh);
    CHECK(!alive(fresh));
    CHECK(alive(old) && alive(keep));
    process_list_free(&before);

    CHECK(process_tree_kill_all() >= 2);
    wait_gone(old);
    wait_gone(keep);
    CHECK(!alive(old) && !alive(keep));
    CHECK(process_tree_place(old) == PROCESS_GONE);
    return check_summary("test_process_tree");
}
