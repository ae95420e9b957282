/* test_runtime_check.c — cl_check outside a notebook: ✓ and the text, 1, when the claim holds; ✗
 * and the text, then exit status 1, when it does not (a homework program fails as a cell does).
 * Inside the kernel: tests/protocol/test_check.py. Built by gcc and run by tcc. */
#include <conclab.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"

/* Runs cl_check(ok, ...) in a child whose stdout is a pipe; its output and exit status. */
static int checked_in_child(int ok, char *out, size_t size) {
    int pipe_fds[2];
    if (pipe(pipe_fds) != 0) return -1;
    fflush(stdout);
    pid_t child = fork();
    if (child == 0) {
        dup2(pipe_fds[1], 1);
        close(pipe_fds[0]);
        int r = cl_check(ok, "measured %.2f s, want < %d s", 1.25, 2);
        printf("returned %d\n", r);
        fflush(stdout);
        _exit(0);
    }
    close(pipe_fds[1]);
    ssize_t n, got = 0;
    while ((n = read(pipe_fds[0], out + got, size - 1 - (size_t)got)) > 0) got += n;
    out[got] = '\0';
    close(pipe_fds[0]);
    int status = 0;
    waitpid(child, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

int main(void) {
    char out[256];
    CHECK(checked_in_child(1, out, sizeof out) == 0);
    CHECK_STR(out, "\xe2\x9c\x93 measured 1.25 s, want < 2 s\nreturned 1\n");
    CHECK(checked_in_child(0, out, sizeof out) == 1);
    CHECK_STR(out, "\xe2\x9c\x97 measured 1.25 s, want < 2 s\n"); /* and nothing after it */
    return check_summary("test_runtime_check");
}
