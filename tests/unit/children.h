/* children.h — waiting for the child processes a test forks, without ever hanging the test:
 * a child that runs too long is killed and the test fails instead. Plain POSIX plus cl_now and
 * cl_sleep, so the same test compiles with gcc and with tcc. */
#ifndef CONCLAB_TEST_CHILDREN_H
#define CONCLAB_TEST_CHILDREN_H

#include <conclab.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <sys/wait.h>

/* Waits at most seconds for the child; its exit code, 128 + signal if killed, or -1 if it had
 * to be killed for running too long (so a broken primitive fails the test instead of hanging). */
static inline int reap(pid_t pid, double seconds) {
    double until = cl_now() + seconds;
    int status;
    for (;;) {
        pid_t r = waitpid(pid, &status, WNOHANG);
        if (r == pid) return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        if (r < 0) return -1;
        if (cl_now() > until) {
            kill(pid, SIGKILL);
            waitpid(pid, &status, 0);
            fprintf(stderr, "child %d did not finish in %.0f s\n", (int)pid, seconds);
            return -1;
        }
        cl_sleep(0.002);
    }
}

/* 1 if this process has no child left, finished or not (no zombies). */
static inline int no_children_left(void) {
    return waitpid(-1, NULL, WNOHANG) < 0 && errno == ECHILD;
}

#endif
