/* process_pool.c — cl_process_pool: worker processes fed from one FIFO queue of futures.
 *
 * Each worker process has a parent-side thread of its own: a plain pthread (not a runtime
 * thread, not a GIL participant, all signals blocked) that forks the worker, then takes a task
 * from the queue, sends it on the worker's socket, reads the answer and completes the future.
 * The thread also forks the worker's replacement when it dies, and reaps it at the end. Forking
 * from that thread matters: PR_SET_PDEATHSIG fires when the *thread* that forked a worker ends,
 * and this one outlives its worker.
 *
 * A task is a future whose producer data (future_internal.h) holds the function and the message
 * to send (wire header and argument bytes, copied at submit: the worker gets them, as Python
 * pickles arguments). The pool holds its own reference to each future until it is completed.
 *
 * Sockets and forks. Anyone may fork while a pool runs (a cl_process, another pool's worker, the
 * kernel's executor): every process forked afterwards would keep copies of the pool's sockets,
 * so a worker would not see EOF when its parent dies, and a parent would not see EOF when a
 * worker dies. A pthread_atfork child handler closes every pool socket in every forked child
 * (a new worker keeps its own end only). As a second line, socket calls time out every 100 ms
 * to check that the worker still lives, and workers also die with their parent (PDEATHSIG).
 *
 * Reaping: a worker is waited for with WNOWAIT first, its pid cleared under the pool's mutex,
 * and only then reaped, so terminate never signals a pid that could have been reused. */
#define _GNU_SOURCE /* sigabbrev_np */
#include "conclab.h"
#include "future_internal.h"
#include "process_pool_internal.h"
#include "report.h"
#include "thread_internal.h"
#include "wait.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#define POOL_MAGIC 0x50504f4cu /* "PPOL": a live process pool */
#define ITER_MAGIC 0x50504954u /* "PPIT": a live imap_unordered iterator */
#define DEAD_MAGIC 0xdead9002u /* written when freed, so using it again is caught */

/* How often a socket call blocked on a worker checks that the worker still lives. */
#define LIVENESS_CHECK_USEC 100000

static const char terminated_message[] = "the pool was terminated";

/* A task's producer data, stored behind its future. */
typedef struct ptask {
    char *message;         /* wire_task and the argument bytes; freed once sent */
    size_t message_size;
    uint32_t count;        /* arguments: more than 1 for a map chunk */
    int raw_records;       /* the result is the reply's records as they came (map parses them) */
    int index;             /* imap_unordered: the argument's index */
    cl_future *next;       /* in the pool's queue */
} ptask;

enum { STARTING, READY, FAILED };

typedef struct worker {
    cl_process_pool *pool;
    pthread_t thread;
    pid_t pid;   /* the worker process, 0 when none: written by its thread under pool->mutex */
    int fd;      /* the parent's end of its socket, -1 when none; its thread's alone */
    int state;   /* STARTING, READY or FAILED: the first fork's outcome, under pool->mutex */
} worker;

struct cl_process_pool {
    unsigned magic;
    pid_t creator;            /* the process whose threads serve the pool */
    sigset_t task_mask;       /* the creator's signal mask: the workers run tasks with it */
    pthread_mutex_t mutex;    /* guards everything below and each worker's pid and state */
    pthread_cond_t work;      /* a task was queued, or the pool was closed or terminated */
    pthread_cond_t changed;   /* a worker thread started or ended */
    cl_future *head, *tail;   /* queued tasks, oldest first */
    int closed;               /* takes no more tasks */
    int terminated;
    int broken;               /* every worker thread ended early: no worker can be started */
    int live_threads;         /* worker threads that have not ended */
    int joined;               /* the threads were pthread_joined (by the first joiner) */
    int count;
    worker *workers;
};

/* The pool whose worker thread this is: a done callback must not wait for its own pool. */
static __thread cl_process_pool *own_pool;

static int valid(const cl_process_pool *p, const char *call) {
    if (!p) {
        cl_report(call, "pool is NULL (did cl_process_pool_new fail?)");
        return 0;
    }
    if (p->magic != POOL_MAGIC) {
        cl_report(call, "not a live cl_process_pool (freed already?)");
        return 0;
    }
    if (p->creator != getpid()) {
        cl_report(call, "the pool belongs to process %d; a forked child cannot use it",
                  (int)p->creator);
        return 0;
    }
    return 1;
}

static ptask *task_of(cl_future *f) {
    return cl__future_extra(f);
}

static void cond_init_monotonic(pthread_cond_t *c) {
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(c, &attr);
    pthread_condattr_destroy(&attr);
}

/* Waits on c until signalled or the deadline passes; 0 once it has passed. */
static int cond_wait_deadline(pthread_cond_t *c, pthread_mutex_t *m, const cl__deadline *d) {
    if (d->forever) return pthread_cond_wait(c, m), 1;
    return pthread_cond_timedwait(c, m, &d->at) != ETIMEDOUT;
}

/* Seconds left until d (CL_FOREVER for none), for calls that take a timeout. */
static double seconds_left(const cl__deadline *d) {
    if (d->forever) return CL_FOREVER;
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    double left = (double)(d->at.tv_sec - now.tv_sec) + (double)(d->at.tv_nsec - now.tv_nsec) / 1e9;
    return left > 0 ? left : 0;
}

/* ---- the registry of pool sockets, closed in every forked child ---------------------------- */

static pthread_mutex_t registry_mutex = PTHREAD_MUTEX_INITIALIZER;
static int *registry;
static int registry_len, registry_cap;
static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;
/* The socket end a worker being forked by this thread keeps. */
static __thread int keep_fd = -1;

static void before_fork(void) { pthread_mutex_lock(&registry_mutex); }

static void after_fork_in_parent(void) { pthread_mutex_unlock(&registry_mutex); }

static void after_fork_in_child(void) {
    for (int i = 0; i < registry_len; i++) {
        if (registry[i] != keep_fd) close(registry[i]);
    }
    registry_len = 0; /* the child's pools, if it makes any, start afresh */
    pthread_mutex_unlock(&registry_mutex);
}

static void install_atfork(void) {
    pthread_atfork(before_fork, after_fork_in_parent, after_fork_in_child);
}

static int registry_add(int fd) {
    pthread_mutex_lock(&registry_mutex);
    int ok = 1;
    if (registry_len == registry_cap) {
        int cap = registry_cap ? registry_cap * 2 : 16;
        int *grown = realloc(registry, (size_t)cap * sizeof *grown);
        if (grown) {
            registry = grown;
            registry_cap = cap;
        } else {
            ok = 0;
        }
    }
    if (ok) registry[registry_len++] = fd;
    pthread_mutex_unlock(&registry_mutex);
    return ok;
}

static void registry_remove(int fd) {
    pthread_mutex_lock(&registry_mutex);
    for (int i = 0; i < registry_len; i++) {
        if (registry[i] == fd) {
            registry[i] = registry[--registry_len];
            break;
        }
    }
    pthread_mutex_unlock(&registry_mutex);
}

static void close_socket(int fd) {
    registry_remove(fd);
    close(fd);
}

/* ---- worker processes: fork, liveness, reaping --------------------------------------------- */

/* Blocked socket calls wake up now and then to ask worker_alive. */
static void set_socket_timeouts(int fd) {
    struct timeval tv = {0, LIVENESS_CHECK_USEC};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
}

/* Forks w's worker process; 1, or 0 after reporting. */
static int spawn(worker *w) {
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
        cl_report("cl_process_pool", "cannot make a socket for a worker: %s", strerror(errno));
        return 0;
    }
    if (!registry_add(sv[0]) || !registry_add(sv[1])) {
        close_socket(sv[0]);
        close_socket(sv[1]);
        cl_report("cl_process_pool", "out of memory");
        return 0;
    }
    fflush(NULL); /* or what is buffered now would print twice */
    pid_t parent = getpid();
    keep_fd = sv[1];
    pid_t pid = fork();
    if (pid == 0) cl__process_worker_main(sv[1], parent, &w->pool->task_mask);
    int fork_errno = errno;
    keep_fd = -1;
    close_socket(sv[1]);
    if (pid < 0) {
        close_socket(sv[0]);
        cl_report("cl_process_pool", "cannot fork a worker process: %s", strerror(fork_errno));
        return 0;
    }
    set_socket_timeouts(sv[0]);
    w->fd = sv[0];
    pthread_mutex_lock(&w->pool->mutex);
    w->pid = pid;
    pthread_mutex_unlock(&w->pool->mutex);
    return 1;
}

/* Whether w's worker process still runs (a zombie does not); for the socket calls' timeouts. */
static int worker_alive(void *opaque) {
    worker *w = opaque;
    siginfo_t info;
    memset(&info, 0, sizeof info);
    if (waitid(P_PID, (id_t)w->pid, &info, WEXITED | WNOHANG | WNOWAIT) != 0) return 0;
    return info.si_pid == 0;
}

/* Ends w's worker process: kills it first if kill, waits until it has ended, clears w->pid and
 * reaps it. Returns its wait status, or -1 if it was reaped by someone else. */
static int reap(worker *w, int kill_first) {
    pid_t pid = w->pid;
    if (w->fd >= 0) {
        close_socket(w->fd);
        w->fd = -1;
    }
    if (kill_first) kill(pid, SIGKILL); /* ours until reaped, so never someone else's pid */
    siginfo_t info;
    while (waitid(P_PID, (id_t)pid, &info, WEXITED | WNOWAIT) != 0 && errno == EINTR) {}
    pthread_mutex_lock(&w->pool->mutex);
    w->pid = 0;
    pthread_mutex_unlock(&w->pool->mutex);
    int status;
    pid_t got;
    while ((got = waitpid(pid, &status, 0)) < 0 && errno == EINTR) {}
    return got == pid ? status : -1;
}

/* Says how worker pid ended, for the future of the task it was running. */
static void describe_end(char *out, size_t len, pid_t pid, int status) {
    if (status == -1) {
        snprintf(out, len, "worker process %d ended while running this task", (int)pid);
    } else if (WIFSIGNALED(status)) {
        const char *name = sigabbrev_np(WTERMSIG(status));
        snprintf(out, len, "worker process %d died of SIG%s while running this task", (int)pid,
                 name ? name : "?");
    } else {
        snprintf(out, len, "worker process %d exited with status %d while running this task",
                 (int)pid, WEXITSTATUS(status));
    }
}

static int is_terminated(cl_process_pool *p) {
    pthread_mutex_lock(&p->mutex);
    int t = p->terminated;
    pthread_mutex_unlock(&p->mutex);
    return t;
}

/* The worker stopped answering f (it died, or broke the protocol): reap it and fail f. */
static void worker_lost(worker *w, cl_future *f) {
    pid_t pid = w->pid;
    int status = reap(w, 1);
    char message[160];
    if (is_terminated(w->pool)) snprintf(message, sizeof message, "%s", terminated_message);
    else describe_end(message, sizeof message, pid, status);
    cl_future_set_error(f, message);
}

/* ---- one task's round trip ------------------------------------------------------------------ */

/* Reads and drops len bytes (an answer we have no memory for). */
static int discard(worker *w, uint64_t len) {
    char sink[4096];
    while (len > 0) {
        size_t n = len < sizeof sink ? (size_t)len : sizeof sink;
        if (!cl__wire_recv(w->fd, sink, n, worker_alive, w)) return 0;
        len -= n;
    }
    return 1;
}

/* Reads len bytes into a new buffer (*out; NULL when out of memory, the bytes dropped). */
static int receive_bytes(worker *w, uint64_t len, char **out) {
    *out = malloc(len ? (size_t)len : 1);
    if (!*out) return discard(w, len);
    if (cl__wire_recv(w->fd, *out, (size_t)len, worker_alive, w)) return 1;
    free(*out);
    *out = NULL;
    return 0;
}

/* Reads the answer to f and completes f; 0 when the worker is gone or broke the protocol. */
static int receive_answer(worker *w, cl_future *f) {
    ptask *t = task_of(f);
    wire_reply h;
    if (!cl__wire_recv(w->fd, &h, sizeof h, worker_alive, w) || h.count != t->count) return 0;
    char *data;
    if (t->raw_records) {
        if (!receive_bytes(w, h.payload_size, &data)) return 0;
        if (data) cl__future_adopt_bytes(f, data, (size_t)h.payload_size);
        else cl_future_set_error(f, "out of memory for the results");
        return 1;
    }
    wire_record r;
    if (!cl__wire_recv(w->fd, &r, sizeof r, worker_alive, w) || h.payload_size != sizeof r + r.size)
        return 0;
    if (!receive_bytes(w, r.size, &data)) return 0;
    if (!data) {
        cl_future_set_error(f, "out of memory for the result");
    } else if (r.status == RECORD_OK) {
        if (r.size == 0) {
            free(data);
            data = NULL; /* no answer: Python's None */
        }
        cl__future_adopt_bytes(f, data, (size_t)r.size);
    } else {
        if (r.size > 0) data[r.size - 1] = '\0';
        cl_future_set_error(f, r.size > 0 ? data : "task failed");
        free(data);
    }
    return 1;
}

/* Runs f on w's worker and completes f, whatever happens to the worker. */
static void run_remote(worker *w, cl_future *f) {
    ptask *t = task_of(f);
    int sent = cl__wire_send(w->fd, t->message, t->message_size, worker_alive, w);
    free(t->message);
    t->message = NULL;
    /* the link thread only waits while its worker computes: a timeline draws it waiting */
    if (sent) cl__observe(CL_EVENT_WAIT, "future", f);
    int answered = sent && receive_answer(w, f);
    if (sent) cl__observe(answered ? CL_EVENT_ACQUIRE : CL_EVENT_TIMEOUT, "future", f);
    if (!answered) worker_lost(w, f);
}

/* ---- worker threads ------------------------------------------------------------------------- */

/* The oldest queued task, waiting for one; NULL once the pool is terminated, or closed and
 * drained. */
static cl_future *next_task(cl_process_pool *p) {
    pthread_mutex_lock(&p->mutex);
    int waited = !p->head && !p->closed && !p->terminated;
    if (waited) { /* told outside the mutex: the tracer, or a user's hook, may take locks */
        pthread_mutex_unlock(&p->mutex);
        cl__observe(CL_EVENT_WAIT, "process_pool", p);
        pthread_mutex_lock(&p->mutex);
    }
    while (!p->head && !p->closed && !p->terminated) pthread_cond_wait(&p->work, &p->mutex);
    cl_future *f = NULL;
    if (!p->terminated && p->head) {
        f = p->head;
        p->head = task_of(f)->next;
        if (!p->head) p->tail = NULL;
    }
    pthread_mutex_unlock(&p->mutex);
    if (waited) cl__observe(CL_EVENT_ACQUIRE, "process_pool", p);
    return f;
}

/* Lets w's worker go: asked to stop when idle, killed when the pool was terminated. */
static void stop_worker(worker *w) {
    int kill_first = is_terminated(w->pool);
    if (!kill_first) {
        wire_task stop = {WIRE_STOP, 0, NULL, 0, 0};
        kill_first = !cl__wire_send(w->fd, &stop, sizeof stop, worker_alive, w);
    }
    reap(w, kill_first);
}

/* Fails every future of the list (tasks that will never run) with message, and drops them. */
static void fail_all(cl_future *f, const char *message) {
    while (f) {
        cl_future *next = task_of(f)->next;
        free(task_of(f)->message);
        task_of(f)->message = NULL;
        cl_future_set_error(f, message);
        cl_future_free(f); /* the pool's reference */
        f = next;
    }
}

/* A worker thread ends; the last one to end early leaves a broken pool whose queued tasks fail. */
static void thread_ended(cl_process_pool *p) {
    pthread_mutex_lock(&p->mutex);
    cl_future *orphans = NULL;
    if (--p->live_threads == 0 && !p->terminated) {
        p->broken = !p->closed; /* after close, ending is the plan, not a failure */
        orphans = p->head;      /* none, unless the last workers could not be replaced */
        p->head = p->tail = NULL;
    }
    pthread_cond_broadcast(&p->changed);
    pthread_mutex_unlock(&p->mutex);
    fail_all(orphans, "no worker process is left in the pool (a new one could not be started)");
}

static void announce(worker *w, int state) {
    pthread_mutex_lock(&w->pool->mutex);
    w->state = state;
    pthread_cond_broadcast(&w->pool->changed);
    pthread_mutex_unlock(&w->pool->mutex);
}

static void *worker_thread(void *opaque) {
    worker *w = opaque;
    cl_process_pool *p = w->pool;
    char name[48];
    snprintf(name, sizeof name, "link to process-pool worker %d", (int)(w - p->workers) + 1);
    cl__thread_name_self(name); /* its lane in a timeline, rather than "Dummy-N" */
    own_pool = p;
    int ok = spawn(w);
    announce(w, ok ? READY : FAILED);
    cl_future *f;
    while (ok && (f = next_task(p))) {
        if (cl_future_set_running(f) == 1) {
            run_remote(w, f);
        } else { /* cancelled while queued */
            free(task_of(f)->message);
            task_of(f)->message = NULL;
        }
        cl_future_free(f); /* the pool's reference */
        if (w->pid == 0) ok = !is_terminated(p) && spawn(w); /* replace a lost worker */
    }
    if (w->pid != 0) stop_worker(w);
    thread_ended(p);
    return NULL;
}

/* ---- creating, submitting ------------------------------------------------------------------- */

static void release(cl_process_pool *p) {
    p->magic = DEAD_MAGIC;
    pthread_cond_destroy(&p->changed);
    pthread_cond_destroy(&p->work);
    pthread_mutex_destroy(&p->mutex);
    free(p->workers);
    free(p);
}

/* Starts one parent-side thread per worker, with every signal blocked (signals are for the
 * user's threads); returns how many started. */
static int start_threads(cl_process_pool *p) {
    sigset_t all;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &p->task_mask);
    int started = 0;
    for (; started < p->count; started++) {
        worker *w = &p->workers[started];
        w->pool = p;
        w->fd = -1;
        pthread_mutex_lock(&p->mutex);
        p->live_threads++;
        pthread_mutex_unlock(&p->mutex);
        int err = pthread_create(&w->thread, NULL, worker_thread, w);
        if (err) {
            pthread_mutex_lock(&p->mutex);
            p->live_threads--;
            pthread_mutex_unlock(&p->mutex);
            cl_report("cl_process_pool_new", "cannot start a thread for worker %d of %d: %s",
                      started + 1, p->count, strerror(err));
            break;
        }
    }
    pthread_sigmask(SIG_SETMASK, &p->task_mask, NULL);
    return started;
}

/* Waits until every started worker has forked its process (or failed to); returns how many run. */
static int await_workers(cl_process_pool *p, int started) {
    cl__blocking_begin();
    pthread_mutex_lock(&p->mutex);
    int ready = 0;
    for (int i = 0; i < started; i++) {
        while (p->workers[i].state == STARTING) pthread_cond_wait(&p->changed, &p->mutex);
        ready += p->workers[i].state == READY;
    }
    pthread_mutex_unlock(&p->mutex);
    cl__blocking_end();
    return ready;
}

static void join_threads(cl_process_pool *p, int started);

cl_process_pool *cl_process_pool_new(int workers) {
    if (workers < 0) {
        cl_report("cl_process_pool_new", "workers must be >= 0 (0: one per CPU), got %d", workers);
        return NULL;
    }
    if (workers == 0) workers = cl_cpu_count();
    pthread_once(&atfork_once, install_atfork);
    cl_process_pool *p = calloc(1, sizeof *p);
    if (p) p->workers = calloc((size_t)workers, sizeof *p->workers);
    if (!p || !p->workers) {
        free(p);
        cl_report("cl_process_pool_new", "out of memory");
        return NULL;
    }
    pthread_mutex_init(&p->mutex, NULL);
    pthread_cond_init(&p->work, NULL);
    cond_init_monotonic(&p->changed);
    p->creator = getpid();
    p->count = workers;
    p->magic = POOL_MAGIC;
    int started = start_threads(p);
    if (await_workers(p, started) == workers) return p;
    /* Some worker could not start: end the others and report (each failure said why). */
    pthread_mutex_lock(&p->mutex);
    p->terminated = p->closed = 1;
    pthread_cond_broadcast(&p->work);
    pthread_mutex_unlock(&p->mutex);
    join_threads(p, started);
    release(p);
    cl_report("cl_process_pool_new", "could not start %d worker processes", workers);
    return NULL;
}

int cl_process_pool_workers(cl_process_pool *p) {
    return valid(p, "cl_process_pool_workers") ? p->count : -1;
}

/* A pending task of count arguments of arg_size bytes at args; NULL after reporting. */
static cl_future *make_task(cl_process_task fn, const void *args, size_t arg_size, uint32_t count,
                            const char *call) {
    size_t bytes = arg_size * count;
    cl_future *f = cl__future_alloc(sizeof(ptask), 2); /* the caller's reference and the pool's */
    char *message = malloc(sizeof(wire_task) + bytes);
    if (!f || !message) {
        free(message);
        if (f) cl_future_free(f), cl_future_free(f);
        cl_report(call, "out of memory for %zu bytes of arguments", bytes);
        return NULL;
    }
    wire_task h = {WIRE_RUN, count, fn, arg_size, bytes};
    memcpy(message, &h, sizeof h);
    if (bytes) memcpy(message + sizeof h, args, bytes);
    ptask *t = task_of(f);
    t->message = message;
    t->message_size = sizeof h + bytes;
    t->count = count;
    return f;
}

/* Queues f; 1, or 0 after reporting when the pool takes no tasks (f is then freed). */
static int enqueue(cl_process_pool *p, cl_future *f, const char *call) {
    pthread_mutex_lock(&p->mutex);
    int closed = p->closed, broken = p->broken;
    if (!closed && !broken) {
        if (p->tail) task_of(p->tail)->next = f;
        else p->head = f;
        p->tail = f;
        pthread_cond_signal(&p->work);
    }
    pthread_mutex_unlock(&p->mutex);
    if (!closed && !broken) return 1;
    free(task_of(f)->message);
    cl_future_free(f);
    cl_future_free(f);
    if (broken) cl_report(call, "the pool is broken: no worker process could be started");
    else cl_report(call, "the pool is closed; it takes no new tasks");
    return 0;
}

static cl_future *submit(cl_process_pool *p, cl_process_task fn, const void *arg, size_t size,
                         const char *call) {
    if (!valid(p, call)) return NULL;
    if (!fn) {
        cl_report(call, "fn is NULL");
        return NULL;
    }
    if (!arg && size > 0) {
        cl_report(call, "arg is NULL but size is %zu", size);
        return NULL;
    }
    cl_future *f = make_task(fn, arg, size, 1, call);
    return f && enqueue(p, f, call) ? f : NULL;
}

cl_future *cl_process_pool_submit(cl_process_pool *p, cl_process_task fn, const void *arg,
                                  size_t size) {
    return submit(p, fn, arg, size, "cl_process_pool_submit");
}

cl_future *cl_process_pool_apply_async(cl_process_pool *p, cl_process_task fn, const void *arg,
                                       size_t size) {
    return submit(p, fn, arg, size, "cl_process_pool_apply_async");
}

/* ---- ending ---------------------------------------------------------------------------------- */

int cl_process_pool_close(cl_process_pool *p) {
    if (!valid(p, "cl_process_pool_close")) return -1;
    pthread_mutex_lock(&p->mutex);
    p->closed = 1;
    pthread_cond_broadcast(&p->work);
    pthread_mutex_unlock(&p->mutex);
    return 0;
}

int cl_process_pool_terminate(cl_process_pool *p) {
    if (!valid(p, "cl_process_pool_terminate")) return -1;
    pthread_mutex_lock(&p->mutex);
    cl_future *queued = p->head;
    p->head = p->tail = NULL;
    p->terminated = p->closed = 1;
    for (int i = 0; i < p->count; i++) {
        if (p->workers[i].pid != 0) kill(p->workers[i].pid, SIGKILL);
    }
    pthread_cond_broadcast(&p->work);
    pthread_mutex_unlock(&p->mutex);
    /* Running tasks fail on their threads, which see their workers die. */
    fail_all(queued, terminated_message);
    return 0;
}

/* pthread_joins the started threads once they have all ended; the first caller does it. */
static void join_threads(cl_process_pool *p, int started) {
    pthread_mutex_lock(&p->mutex);
    while (p->live_threads > 0) pthread_cond_wait(&p->changed, &p->mutex);
    int first = !p->joined;
    p->joined = 1;
    pthread_mutex_unlock(&p->mutex);
    if (first) {
        for (int i = 0; i < started; i++) pthread_join(p->workers[i].thread, NULL);
    }
}

int cl_process_pool_join(cl_process_pool *p, double timeout) {
    const char *call = "cl_process_pool_join";
    cl__deadline d;
    if (!valid(p, call) || !cl__deadline_init(&d, timeout, call)) return -1;
    if (own_pool == p) {
        cl_report(call, "a done callback on the pool's own thread cannot wait for the pool");
        return -1;
    }
    pthread_mutex_lock(&p->mutex);
    int running = !p->closed && !p->terminated;
    int ended = p->live_threads == 0;
    pthread_mutex_unlock(&p->mutex);
    if (running) {
        cl_report(call, "the pool is still running: close or terminate it first (Python: "
                        "ValueError)");
        return -1;
    }
    if (!ended) {
        cl__observe(CL_EVENT_WAIT, "process_pool", p);
        cl__blocking_begin();
        pthread_mutex_lock(&p->mutex);
        int in_time = 1;
        while (p->live_threads > 0 && in_time) in_time = cond_wait_deadline(&p->changed, &p->mutex, &d);
        ended = p->live_threads == 0;
        pthread_mutex_unlock(&p->mutex);
        cl__blocking_end();
        cl__observe(ended ? CL_EVENT_ACQUIRE : CL_EVENT_TIMEOUT, "process_pool", p);
    }
    if (ended) join_threads(p, p->count);
    return ended;
}

int cl_process_pool_shutdown(cl_process_pool *p, int wait, int cancel_pending) {
    if (!valid(p, "cl_process_pool_shutdown")) return -1;
    pthread_mutex_lock(&p->mutex);
    p->closed = 1;
    cl_future *queued = NULL;
    if (cancel_pending) {
        queued = p->head;
        p->head = p->tail = NULL;
    }
    pthread_cond_broadcast(&p->work);
    pthread_mutex_unlock(&p->mutex);
    while (queued) {
        cl_future *next = task_of(queued)->next;
        free(task_of(queued)->message);
        task_of(queued)->message = NULL;
        cl_future_cancel(queued);
        cl_future_free(queued); /* the pool's reference */
        queued = next;
    }
    if (!wait) return 0;
    return cl_process_pool_join(p, CL_FOREVER) == 1 ? 0 : -1;
}

void cl_process_pool_free(cl_process_pool *p) {
    if (!p) return; /* like free(NULL) */
    if (!valid(p, "cl_process_pool_free")) return;
    if (own_pool == p) {
        cl_report("cl_process_pool_free", "a done callback cannot free its own pool");
        return;
    }
    if (cl_process_pool_shutdown(p, 1, 0) != 0) return;
    release(p);
}

/* ---- map and starmap ------------------------------------------------------------------------ */

/* Python's Pool.map chunksize: the tasks in about four chunks per worker. */
static int chunk_size(int n, int workers) {
    int chunks = workers * 4;
    int size = n / chunks + (n % chunks != 0);
    return size > 0 ? size : 1;
}

static int valid_map(cl_process_pool *p, cl_process_task fn, const void *args, size_t arg_size,
                     int n, const char *call) {
    if (!valid(p, call)) return 0;
    if (!fn) cl_report(call, "fn is NULL");
    else if (n < 0) cl_report(call, "n must be >= 0, got %d", n);
    else if (n > 0 && arg_size > 0 && !args) cl_report(call, "args is NULL");
    else if (arg_size > 0 && (size_t)n > ((size_t)-1 - sizeof(wire_task)) / arg_size)
        cl_report(call, "%d arguments of %zu bytes do not fit in memory", n, arg_size);
    else return 1;
    return 0;
}

/* Copies the records of one chunk (tasks first..first+count-1) into results; 0 after reporting
 * the first failure, a result of the wrong size, or a malformed reply. */
static int collect(const char *call, const char *data, size_t len, int first, int count,
                   char *results, size_t result_size) {
    size_t at = 0;
    for (int i = 0; i < count; i++) {
        wire_record r;
        if (at + sizeof r > len) break;
        memcpy(&r, data + at, sizeof r);
        at += sizeof r;
        if (r.size > len - at) break;
        if (r.status != RECORD_OK) {
            cl_report(call, "task %d failed: %.*s", first + i, (int)(r.size ? r.size - 1 : 0),
                      data + at);
            return 0;
        }
        if (results && r.size != result_size) {
            cl_report(call, "task %d returned %llu bytes, but result_size is %zu", first + i,
                      (unsigned long long)r.size, result_size);
            return 0;
        }
        if (results) memcpy(results + (size_t)(first + i) * result_size, data + at, result_size);
        at += r.size;
        if (i == count - 1) return 1;
    }
    cl_report(call, "tasks %d to %d: the worker's reply is malformed", first, first + count - 1);
    return 0;
}

/* Waits for chunk c (tasks first..first+count-1) and stores its results; 0 after reporting. */
static int await_chunk(const char *call, cl_future *f, const cl__deadline *d, int first, int count,
                       char *results, size_t result_size) {
    void *value;
    cl_future_status s = cl_future_result(f, seconds_left(d), &value);
    const char *what = count == 1 ? "task" : "tasks";
    char which[48];
    if (count == 1) snprintf(which, sizeof which, "%d", first);
    else snprintf(which, sizeof which, "%d to %d", first, first + count - 1);
    switch (s) {
    case CL_FUTURE_OK:
        return collect(call, value, cl_future_result_size(f), first, count, results, result_size);
    case CL_FUTURE_TIMEOUT:
        cl_report(call, "%s %s timed out", what, which);
        return 0;
    case CL_FUTURE_CANCELLED:
        cl_report(call, "%s %s: cancelled", what, which);
        return 0;
    default:
        cl_report(call, "%s %s failed: %s", what, which,
                  cl_future_error(f) ? cl_future_error(f) : "?");
        return 0;
    }
}

static int map(const char *call, cl_process_pool *p, cl_process_task fn, const void *args,
               size_t arg_size, int n, void *results, size_t result_size, double timeout) {
    cl__deadline d;
    if (!cl__deadline_init(&d, timeout, call) || !valid_map(p, fn, args, arg_size, n, call))
        return -1;
    if (n == 0) return 0;
    int chunk = chunk_size(n, p->count);
    int chunks = (n + chunk - 1) / chunk;
    cl_future **futs = calloc((size_t)chunks, sizeof *futs);
    if (!futs) {
        cl_report(call, "out of memory");
        return -1;
    }
    int submitted = 0, ok = 1;
    for (; submitted < chunks && ok; submitted++) {
        int first = submitted * chunk, count = n - first < chunk ? n - first : chunk;
        const char *at = (const char *)args + (size_t)first * arg_size;
        cl_future *f = make_task(fn, at, arg_size, (uint32_t)count, call);
        if (f) task_of(f)->raw_records = 1;
        ok = f && enqueue(p, f, call);
        futs[submitted] = ok ? f : NULL;
    }
    /* Results in order, as Python's map gives them; after the first failure the rest are
     * cancelled (chunks already running finish on their own). */
    for (int c = 0; c < submitted; c++) {
        if (!futs[c]) continue;
        int first = c * chunk, count = n - first < chunk ? n - first : chunk;
        if (ok) ok = await_chunk(call, futs[c], &d, first, count, results, result_size);
        else cl_future_cancel(futs[c]);
        cl_future_free(futs[c]);
    }
    free(futs);
    return ok ? 0 : -1;
}

int cl_process_pool_map(cl_process_pool *p, cl_process_task fn, const void *args, size_t arg_size,
                        int n, void *results, size_t result_size, double timeout) {
    return map("cl_process_pool_map", p, fn, args, arg_size, n, results, result_size, timeout);
}

int cl_process_pool_starmap(cl_process_pool *p, cl_process_task fn, const void *args,
                            size_t arg_size, int n, void *results, size_t result_size,
                            double timeout) {
    return map("cl_process_pool_starmap", p, fn, args, arg_size, n, results, result_size, timeout);
}

/* ---- imap_unordered ------------------------------------------------------------------------- */

/* Each future tells the iterator when it is done (a done callback), so results come in the
 * order the tasks finished. The iterator lives until its owner freed it and every callback ran. */
struct cl_process_pool_iter {
    unsigned magic;
    pthread_mutex_t mutex;
    pthread_cond_t arrived;
    int refs;          /* the owner's, and one per callback still to run */
    int n, given, done;
    cl_future **futs;  /* by argument index */
    int *order;        /* argument indices in the order they finished */
};

static void iter_release(cl_process_pool_iter *it) {
    it->magic = DEAD_MAGIC;
    pthread_cond_destroy(&it->arrived);
    pthread_mutex_destroy(&it->mutex);
    free(it->futs);
    free(it->order);
    free(it);
}

static void iter_unref(cl_process_pool_iter *it) {
    pthread_mutex_lock(&it->mutex);
    int left = --it->refs;
    pthread_mutex_unlock(&it->mutex);
    if (left == 0) iter_release(it);
}

static void on_task_done(cl_future *f, void *arg) {
    cl_process_pool_iter *it = arg;
    pthread_mutex_lock(&it->mutex);
    it->order[it->done++] = task_of(f)->index;
    pthread_cond_broadcast(&it->arrived);
    pthread_mutex_unlock(&it->mutex);
    iter_unref(it);
}

cl_process_pool_iter *cl_process_pool_imap_unordered(cl_process_pool *p, cl_process_task fn,
                                                     const void *args, size_t arg_size, int n) {
    const char *call = "cl_process_pool_imap_unordered";
    if (!valid_map(p, fn, args, arg_size, n, call)) return NULL;
    cl_process_pool_iter *it = calloc(1, sizeof *it);
    if (it) {
        it->futs = calloc((size_t)(n > 0 ? n : 1), sizeof *it->futs);
        it->order = calloc((size_t)(n > 0 ? n : 1), sizeof *it->order);
    }
    if (!it || !it->futs || !it->order) {
        if (it) free(it->futs), free(it->order);
        free(it);
        cl_report(call, "out of memory");
        return NULL;
    }
    pthread_mutex_init(&it->mutex, NULL);
    cond_init_monotonic(&it->arrived);
    it->refs = 1;
    it->magic = ITER_MAGIC;
    for (int i = 0; i < n; i++) {
        cl_future *f = make_task(fn, (const char *)args + (size_t)i * arg_size, arg_size, 1, call);
        if (!f) break;
        task_of(f)->index = i;
        if (!enqueue(p, f, call)) break;
        it->futs[i] = f;
        it->n = i + 1;
        pthread_mutex_lock(&it->mutex);
        it->refs++;
        pthread_mutex_unlock(&it->mutex);
        cl_future_add_done_callback(f, on_task_done, it);
    }
    if (it->n < n) { /* reported: keep none of it */
        cl_process_pool_iter_free(it);
        return NULL;
    }
    return it;
}

static int valid_iter(const cl_process_pool_iter *it, const char *call) {
    if (!it) {
        cl_report(call, "iterator is NULL (did cl_process_pool_imap_unordered fail?)");
        return 0;
    }
    if (it->magic != ITER_MAGIC) {
        cl_report(call, "not a live cl_process_pool_iter (freed already?)");
        return 0;
    }
    return 1;
}

/* Waits until a result arrived that was not given yet; its index, or -1 at the deadline. */
static int iter_wait(cl_process_pool_iter *it, const cl__deadline *d, int poll) {
    pthread_mutex_lock(&it->mutex);
    int arrived = it->done > it->given;
    pthread_mutex_unlock(&it->mutex);
    if (!arrived && poll) return -1;
    if (!arrived) {
        cl__observe(CL_EVENT_WAIT, "process_pool", it);
        cl__blocking_begin();
        pthread_mutex_lock(&it->mutex);
        int in_time = 1;
        while (!(arrived = it->done > it->given) && in_time)
            in_time = cond_wait_deadline(&it->arrived, &it->mutex, d);
        pthread_mutex_unlock(&it->mutex);
        cl__blocking_end();
        cl__observe(arrived ? CL_EVENT_ACQUIRE : CL_EVENT_TIMEOUT, "process_pool", it);
        if (!arrived) return -1;
    }
    pthread_mutex_lock(&it->mutex);
    int index = it->order[it->given++];
    pthread_mutex_unlock(&it->mutex);
    return index;
}

int cl_process_pool_iter_next(cl_process_pool_iter *it, double timeout, int *index,
                              const void **result, size_t *size) {
    const char *call = "cl_process_pool_iter_next";
    cl__deadline d;
    if (index) *index = -1;
    if (result) *result = NULL;
    if (size) *size = 0;
    if (!valid_iter(it, call) || !cl__deadline_init(&d, timeout, call)) return -1;
    if (it->given == it->n) return 0; /* only the owner's thread moves `given` */
    int i = iter_wait(it, &d, timeout == 0);
    if (i < 0) return 0;
    if (index) *index = i;
    cl_future *f = it->futs[i];
    void *value;
    cl_future_status s = cl_future_result(f, 0, &value);
    if (s == CL_FUTURE_OK) {
        if (result) *result = value;
        if (size) *size = cl_future_result_size(f);
        return 1;
    }
    if (s == CL_FUTURE_CANCELLED) cl_report(call, "task %d was cancelled", i);
    else cl_report(call, "task %d failed: %s", i, cl_future_error(f) ? cl_future_error(f) : "?");
    return -1;
}

int cl_process_pool_iter_remaining(cl_process_pool_iter *it) {
    if (!valid_iter(it, "cl_process_pool_iter_remaining")) return -1;
    return it->n - it->given;
}

void cl_process_pool_iter_free(cl_process_pool_iter *it) {
    if (!it) return; /* like free(NULL) */
    if (!valid_iter(it, "cl_process_pool_iter_free")) return;
    it->magic = DEAD_MAGIC; /* the owner's handle is dead; pending callbacks do not look */
    for (int i = 0; i < it->n; i++) cl_future_free(it->futs[i]);
    iter_unref(it);
}
