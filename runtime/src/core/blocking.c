/* blocking.c — the blocking libc calls that cells make, as CPython makes them: the emulated GIL
 * is let go while the call waits (Py_BEGIN_ALLOW_THREADS), and the GIL's signal is held back
 * meanwhile, so no other thread's request to switch can cut a sleep or a poll short. The kernel
 * binds these in place of libc's names for cell code (conclab_host.h); libconclab itself calls
 * libc directly.
 *
 * Only threads taking part in the GIL pay for any of it; for the others each call is libc's. */
#define _GNU_SOURCE
#include "conclab_host.h"
#include "observe.h"
#include "trace_internal.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* While a thread waits in libc: the GIL let go, its signal blocked (restored afterwards). */
typedef struct waiting {
    int involved;
    sigset_t old_mask;
} waiting;

static void begin_wait(waiting *w) {
    w->involved = cl__gil_involves_this_thread();
    if (!w->involved) return;
    cl__blocking_begin();
    sigset_t gil_signal;
    sigemptyset(&gil_signal);
    sigaddset(&gil_signal, cl__gil_signal());
    pthread_sigmask(SIG_BLOCK, &gil_signal, &w->old_mask);
}

static void end_wait(waiting *w) {
    if (!w->involved) return;
    pthread_sigmask(SIG_SETMASK, &w->old_mask, NULL);
    cl__blocking_end();
}

/* `return call;` with the GIL let go around it, errno kept from the call. */
#define WAITING(type, call)                     \
    do {                                        \
        waiting waiting_state;                  \
        begin_wait(&waiting_state);             \
        type call_result = call;                \
        int call_errno = errno;                 \
        end_wait(&waiting_state);               \
        errno = call_errno;                     \
        return call_result;                     \
    } while (0)

/* The same, seen by the tracer as a wait named `what` (a libc call has no object: its name is
 * what a timeline shows). Writes and sends are left out: they seldom wait, and every printf
 * would draw one. */
#define TRACED_WAITING(what, type, call)                          \
    do {                                                          \
        cl__trace_probe(CL_EVENT_WAIT, what, NULL, 0);            \
        waiting waiting_state;                                    \
        begin_wait(&waiting_state);                               \
        type call_result = call;                                  \
        int call_errno = errno;                                   \
        end_wait(&waiting_state);                                 \
        cl__trace_probe(CL_EVENT_ACQUIRE, what, NULL, 0);         \
        errno = call_errno;                                       \
        return call_result;                                       \
    } while (0)

static unsigned int gil_sleep(unsigned int seconds) { TRACED_WAITING("sleep", unsigned int, sleep(seconds)); }
static int gil_usleep(useconds_t usec) { TRACED_WAITING("sleep", int, usleep(usec)); }
static int gil_nanosleep(const struct timespec *req, struct timespec *rem) { TRACED_WAITING("sleep", int, nanosleep(req, rem)); }
static int gil_clock_nanosleep(clockid_t clock, int flags, const struct timespec *req, struct timespec *rem) {
    TRACED_WAITING("sleep", int, clock_nanosleep(clock, flags, req, rem));
}
static ssize_t gil_read(int fd, void *buf, size_t n) { TRACED_WAITING("read", ssize_t, read(fd, buf, n)); }
static ssize_t gil_write(int fd, const void *buf, size_t n) { WAITING(ssize_t, write(fd, buf, n)); }
static ssize_t gil_recv(int fd, void *buf, size_t n, int flags) { TRACED_WAITING("recv", ssize_t, recv(fd, buf, n, flags)); }
static ssize_t gil_send(int fd, const void *buf, size_t n, int flags) { WAITING(ssize_t, send(fd, buf, n, flags)); }
static ssize_t gil_recvfrom(int fd, void *buf, size_t n, int flags, struct sockaddr *from, socklen_t *len) {
    TRACED_WAITING("recv", ssize_t, recvfrom(fd, buf, n, flags, from, len));
}
static ssize_t gil_sendto(int fd, const void *buf, size_t n, int flags, const struct sockaddr *to, socklen_t len) {
    WAITING(ssize_t, sendto(fd, buf, n, flags, to, len));
}
static int gil_accept(int fd, struct sockaddr *addr, socklen_t *len) { TRACED_WAITING("accept", int, accept(fd, addr, len)); }
static int gil_accept4(int fd, struct sockaddr *addr, socklen_t *len, int flags) {
    TRACED_WAITING("accept", int, accept4(fd, addr, len, flags));
}
static int gil_connect(int fd, const struct sockaddr *addr, socklen_t len) { TRACED_WAITING("connect", int, connect(fd, addr, len)); }
static int gil_poll(struct pollfd *fds, nfds_t n, int timeout) { TRACED_WAITING("poll", int, poll(fds, n, timeout)); }
static int gil_select(int n, fd_set *r, fd_set *w, fd_set *e, struct timeval *timeout) {
    TRACED_WAITING("select", int, select(n, r, w, e, timeout));
}
static pid_t gil_waitpid(pid_t pid, int *status, int options) { TRACED_WAITING("waitpid", pid_t, waitpid(pid, status, options)); }
static pid_t gil_wait(int *status) { TRACED_WAITING("waitpid", pid_t, wait(status)); }
static int gil_system(const char *command) { TRACED_WAITING("system", int, system(command)); }
static int gil_pthread_join(pthread_t t, void **result) { TRACED_WAITING("pthread_join", int, pthread_join(t, result)); }
static int gil_sem_wait(sem_t *s) { TRACED_WAITING("sem_wait", int, sem_wait(s)); }
static int gil_sem_timedwait(sem_t *s, const struct timespec *at) { TRACED_WAITING("sem_wait", int, sem_timedwait(s, at)); }
static int gil_pthread_cond_wait(pthread_cond_t *c, pthread_mutex_t *m) { TRACED_WAITING("pthread_cond_wait", int, pthread_cond_wait(c, m)); }
static int gil_pthread_cond_timedwait(pthread_cond_t *c, pthread_mutex_t *m, const struct timespec *at) {
    TRACED_WAITING("pthread_cond_wait", int, pthread_cond_timedwait(c, m, at));
}

/* A free mutex is taken at once, as CPython takes an uncontended lock without letting go. */
static int gil_pthread_mutex_lock(pthread_mutex_t *m) {
    int rc = pthread_mutex_trylock(m);
    if (rc != EBUSY) return rc;
    TRACED_WAITING("pthread_mutex_lock", int, pthread_mutex_lock(m));
}

static const cl_host_blocking_call calls[] = {
    {"sleep", (void *)gil_sleep},
    {"usleep", (void *)gil_usleep},
    {"nanosleep", (void *)gil_nanosleep},
    {"clock_nanosleep", (void *)gil_clock_nanosleep},
    {"read", (void *)gil_read},
    {"write", (void *)gil_write},
    {"recv", (void *)gil_recv},
    {"send", (void *)gil_send},
    {"recvfrom", (void *)gil_recvfrom},
    {"sendto", (void *)gil_sendto},
    {"accept", (void *)gil_accept},
    {"accept4", (void *)gil_accept4},
    {"connect", (void *)gil_connect},
    {"poll", (void *)gil_poll},
    {"select", (void *)gil_select},
    {"waitpid", (void *)gil_waitpid},
    {"wait", (void *)gil_wait},
    {"system", (void *)gil_system},
    {"pthread_join", (void *)gil_pthread_join},
    {"pthread_mutex_lock", (void *)gil_pthread_mutex_lock},
    {"sem_wait", (void *)gil_sem_wait},
    {"sem_timedwait", (void *)gil_sem_timedwait},
    {"pthread_cond_wait", (void *)gil_pthread_cond_wait},
    {"pthread_cond_timedwait", (void *)gil_pthread_cond_timedwait},
    {NULL, NULL},
};

const cl_host_blocking_call *cl_host_blocking_calls(void) { return calls; }
