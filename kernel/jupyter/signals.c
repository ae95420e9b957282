/* signals.c — signals to the kernel process. Jupyter interrupts a kernel whose kernelspec says
 * interrupt_mode "signal" with SIGINT, and stops it with SIGTERM when a shutdown request was
 * not enough. A handler may only do async-signal-safe work, so it writes one byte to a pipe
 * and a small thread does the rest (the self-pipe trick). The same thread watches the process
 * that launched the kernel: if it dies without a shutdown request (a crashed notebook server),
 * the kernel stops too, as ipykernel does, instead of running forever with nobody to serve. */
#define _GNU_SOURCE  /* pipe2 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "kernel_state.h"
#include "pidfd.h"

enum { SIG_BYTE_INTERRUPT = 'i', SIG_BYTE_TERMINATE = 't', SIG_BYTE_QUIT = 'q' };

static int signal_pipe[2] = {-1, -1};
static pthread_t signal_thread;
static bool signal_thread_running;

static void on_signal(int signo) {
    int saved = errno;
    char byte = signo == SIGINT ? SIG_BYTE_INTERRUPT : SIG_BYTE_TERMINATE;
    ssize_t ignored = write(signal_pipe[1], &byte, 1);  /* a full pipe already holds a request */
    (void)ignored;
    errno = saved;
}

static int launcher_pidfd = -1;

static void *serve_signals(void *arg) {
    kernel *k = arg;
    char byte;
    for (;;) {
        struct pollfd fds[2] = {{signal_pipe[0], POLLIN, 0}, {launcher_pidfd, POLLIN, 0}};
        if (poll(fds, 2, -1) < 0) {
            if (errno == EINTR) continue;
            break;
        }
        if (fds[1].revents) {
            fprintf(stderr, "conclab kernel: the process that started the kernel is gone; shutting down\n");
            close(launcher_pidfd);
            launcher_pidfd = -1;
            kernel_stop(k);
            continue;
        }
        ssize_t got = read(signal_pipe[0], &byte, 1);
        if (got < 0 && errno == EINTR) continue;
        if (got != 1 || byte == SIG_BYTE_QUIT) break;
        if (byte == SIG_BYTE_INTERRUPT) kernel_interrupt(k);
        if (byte == SIG_BYTE_TERMINATE) kernel_stop(k);
    }
    return NULL;
}

int signals_start(kernel *k) {
    signal(SIGPIPE, SIG_IGN);  /* a vanished peer is an error return, not a dead kernel */
    if (pipe2(signal_pipe, O_CLOEXEC) != 0) return -1;
    if (getppid() > 1) launcher_pidfd = pidfd_open_compat(getppid());
    fcntl(signal_pipe[1], F_SETFL, O_NONBLOCK);
    if (pthread_create(&signal_thread, NULL, serve_signals, k) != 0) return -1;
    signal_thread_running = true;

    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    return 0;
}

void signals_stop(void) {
    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    if (signal_thread_running) {
        char quit = SIG_BYTE_QUIT;
        ssize_t ignored = write(signal_pipe[1], &quit, 1);
        (void)ignored;
        pthread_join(signal_thread, NULL);
        signal_thread_running = false;
    }
    for (int i = 0; i < 2; i++)
        if (signal_pipe[i] >= 0) close(signal_pipe[i]);
    signal_pipe[0] = signal_pipe[1] = -1;
}
