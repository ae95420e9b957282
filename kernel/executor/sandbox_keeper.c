/* sandbox_keeper.c — `conclab executor-keeper FD` (internal): the process bubblewrap starts in
 * a sandbox (kernel/engine/sandbox.h), which starts the executor and then only stays.
 *
 * bwrap's pid 1 ends the whole sandbox as soon as the process it started exits. The executor
 * does exit early: its first cell forks, and the child becomes the holder of the notebook while
 * the executor goes. So bwrap starts this keeper instead, which forks the executor and waits,
 * reaping (it is the sandbox's subreaper), until the sandbox is torn down from outside (the kernel kills it, or bwrap's
 * --die-with-parent does when the kernel dies). It keeps none of the executor's descriptors,
 * so the kernel still sees the executor's channel close when the executor dies. */
#define _GNU_SOURCE
#include "executor.h"

#include <fcntl.h>
#include <stdio.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

int executor_keeper_main(int fd) {
    /* the orphans of the sandbox come here, not to bwrap's pid 1: the kernel ends those a stopped
     * cell left by finding them below the keeper (process_tree.h) */
    prctl(PR_SET_CHILD_SUBREAPER, 1);
    char fd_text[16];
    snprintf(fd_text, sizeof fd_text, "%d", fd);
    pid_t child = fork();
    if (child < 0) return 127;
    if (child == 0) {
        execl("/proc/self/exe", "conclab", "executor", fd_text, (char *)NULL);
        _exit(127);
    }
    int devnull = open("/dev/null", O_RDWR);
    for (int i = 0; i <= 2; i++) dup2(devnull, i);
    close_range(3, ~0U, 0);
    for (;;)
        if (waitpid(-1, NULL, 0) < 0) pause();  /* nothing left to reap: wait for the end */
}
