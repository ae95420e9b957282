/* process_worker.c — the worker side of a process pool: the loop a worker process runs (read a
 * task, run it, send its answer back), how a task answers (cl_task_return and helpers, and
 * cl_task_fail through pool.c), and the socket helpers both sides use.
 *
 * A worker process has one thread (fork keeps only the thread that forked), so the task being
 * run is plain process-wide state. */
#define _GNU_SOURCE /* prctl */
#include "conclab.h"
#include "process_pool_internal.h"
#include "report.h"
#include "trace_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>

/* ---- the socket ----------------------------------------------------------------------------- */

/* A socket timeout (SO_RCVTIMEO / SO_SNDTIMEO) ran out: ask whether to keep waiting. */
static int keep_waiting(int (*peer_alive)(void *), void *arg) {
    return peer_alive && peer_alive(arg);
}

int cl__wire_send(int fd, const void *data, size_t len, int (*peer_alive)(void *), void *arg) {
    const char *p = data;
    while (len > 0) {
        ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
        if (n > 0) {
            p += n;
            len -= (size_t)n;
        } else if (n < 0 && errno == EINTR) {
            continue;
        } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            if (!keep_waiting(peer_alive, arg)) return 0;
        } else {
            return 0; /* EPIPE, ECONNRESET: the other side is gone */
        }
    }
    return 1;
}

int cl__wire_recv(int fd, void *data, size_t len, int (*peer_alive)(void *), void *arg) {
    char *p = data;
    while (len > 0) {
        ssize_t n = recv(fd, p, len, 0);
        if (n > 0) {
            p += n;
            len -= (size_t)n;
        } else if (n == 0) {
            return 0; /* EOF */
        } else if (errno == EINTR) {
            continue;
        } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
            if (!keep_waiting(peer_alive, arg)) return 0;
        } else {
            return 0;
        }
    }
    return 1;
}

/* ---- the task being run ------------------------------------------------------------------- */

static struct {
    int in_task;     /* a task runs in this (worker) process now */
    void *result;    /* malloc'd copy from cl_task_return */
    size_t size;
    char *failure;   /* malloc'd message from cl_task_fail */
    int no_memory;   /* an answer could not be copied */
} current;

int cl_task_return(const void *data, size_t size) {
    if (!current.in_task) {
        cl_report("cl_task_return", "not inside a task run by a cl_process_pool worker");
        return -1;
    }
    if (!data && size > 0) {
        cl_report("cl_task_return", "data is NULL but size is %zu", size);
        return -1;
    }
    void *copy = malloc(size ? size : 1);
    if (!copy) {
        cl_report("cl_task_return", "out of memory for a result of %zu bytes", size);
        current.no_memory = 1;
        return -1;
    }
    if (size) memcpy(copy, data, size);
    free(current.result); /* a later answer replaces an earlier one */
    current.result = copy;
    current.size = size;
    return 0;
}

int cl_task_return_long(long x) {
    if (!current.in_task) {
        cl_report("cl_task_return_long", "not inside a task run by a cl_process_pool worker");
        return -1;
    }
    return cl_task_return(&x, sizeof x);
}

int cl_task_return_double(double x) {
    if (!current.in_task) {
        cl_report("cl_task_return_double", "not inside a task run by a cl_process_pool worker");
        return -1;
    }
    return cl_task_return(&x, sizeof x);
}

int cl_task_return_string(const char *s) {
    if (!current.in_task) {
        cl_report("cl_task_return_string", "not inside a task run by a cl_process_pool worker");
        return -1;
    }
    if (!s) {
        cl_report("cl_task_return_string", "s is NULL");
        return -1;
    }
    return cl_task_return(s, strlen(s) + 1);
}

int cl__process_task_fail(const char *message) {
    if (!current.in_task) return 0;
    if (current.failure) return 1; /* the first reason stands, as the first raise would */
    current.failure = strdup(message ? message : "task failed");
    if (!current.failure) current.no_memory = 1;
    return 1;
}

/* ---- replies -------------------------------------------------------------------------------- */

/* The records of one message, grown as tasks answer. */
typedef struct reply_buffer {
    char *data;
    size_t len, cap;
} reply_buffer;

static int buffer_append(reply_buffer *b, const void *data, size_t len) {
    if (b->len + len > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + len) cap *= 2;
        char *grown = realloc(b->data, cap);
        if (!grown) return 0;
        b->data = grown;
        b->cap = cap;
    }
    if (len) memcpy(b->data + b->len, data, len);
    b->len += len;
    return 1;
}

/* Appends the answer of the task that just ran, and forgets it. */
static int append_answer(reply_buffer *b) {
    static const char no_memory[] = "out of memory in the worker process";
    const void *bytes = current.result;
    wire_record r = {current.size, RECORD_OK, 0};
    if (current.failure || current.no_memory) {
        bytes = current.failure ? current.failure : no_memory;
        r.size = strlen(bytes) + 1;
        r.status = RECORD_FAILED;
    }
    int ok = buffer_append(b, &r, sizeof r) && buffer_append(b, bytes, (size_t)r.size);
    free(current.result);
    free(current.failure);
    memset(&current, 0, sizeof current);
    return ok;
}

static void run_one(cl_process_task fn, const void *arg, size_t size) {
    current.in_task = 1;
    cl__trace_probe(CL__TR_POOL_RUN, "process_pool", NULL, 0);
    fn(arg, size);
    cl__trace_probe(CL__TR_POOL_DONE, "process_pool", NULL, 0);
    current.in_task = 0;
    fflush(NULL); /* the task's output shows now, not when the worker ends */
}

/* A reply that could not be built: the whole message fails with one message per record. */
static int send_failure(int fd, uint32_t count, const char *message) {
    reply_buffer b = {0};
    wire_record r = {strlen(message) + 1, RECORD_FAILED, 0};
    int ok = 1;
    for (uint32_t i = 0; i < count && ok; i++)
        ok = buffer_append(&b, &r, sizeof r) && buffer_append(&b, message, (size_t)r.size);
    wire_reply h = {b.len, ok ? count : 0, 0};
    ok = cl__wire_send(fd, &h, sizeof h, NULL, NULL) && cl__wire_send(fd, b.data, b.len, NULL, NULL);
    free(b.data);
    return ok;
}

/* A single task's answer goes out without being copied into a buffer: it may be 64 MB. */
static int send_single(int fd) {
    static const char no_memory[] = "out of memory in the worker process";
    const void *bytes = current.result;
    wire_record r = {current.size, RECORD_OK, 0};
    if (current.failure || current.no_memory) {
        bytes = current.failure ? current.failure : no_memory;
        r.size = strlen(bytes) + 1;
        r.status = RECORD_FAILED;
    }
    wire_reply h = {sizeof r + r.size, 1, 0};
    char head[sizeof h + sizeof r];
    memcpy(head, &h, sizeof h);
    memcpy(head + sizeof h, &r, sizeof r);
    int ok = cl__wire_send(fd, head, sizeof head, NULL, NULL) &&
             cl__wire_send(fd, bytes, (size_t)r.size, NULL, NULL);
    free(current.result);
    free(current.failure);
    memset(&current, 0, sizeof current);
    return ok;
}

/* Runs the tasks of one message and answers it; 0 when the parent is gone. */
static int serve(int fd, const wire_task *t, const char *payload) {
    if (t->count == 1) {
        run_one(t->fn, payload, (size_t)t->arg_size);
        return send_single(fd);
    }
    reply_buffer b = {0};
    int ok = 1;
    for (uint32_t i = 0; i < t->count; i++) {
        run_one(t->fn, payload + i * t->arg_size, (size_t)t->arg_size);
        ok = ok && append_answer(&b);
    }
    if (!ok) {
        free(b.data);
        return send_failure(fd, t->count, "out of memory in the worker process");
    }
    wire_reply h = {b.len, t->count, 0};
    ok = cl__wire_send(fd, &h, sizeof h, NULL, NULL) && cl__wire_send(fd, b.data, b.len, NULL, NULL);
    free(b.data);
    return ok;
}

/* ---- the worker's life ---------------------------------------------------------------------- */

__attribute__((noreturn)) static void worker_exit(int code) {
    fflush(NULL);
    cl__trace_probe(CL__TR_PROCESS_END, "process", NULL, 0);
    _exit(code); /* never exit(): the parent program's atexit handlers are not ours to run */
}

void cl__process_worker_main(int fd, pid_t parent, const sigset_t *mask) {
    pthread_sigmask(SIG_SETMASK, mask, NULL);
    /* No orphans: die with the parent. The check after it closes the race where the parent
     * died before the request was made. */
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) worker_exit(1);
    cl__trace_named(CL__TR_PROCESS_START, "process", NULL, "process pool worker");
    for (;;) {
        wire_task t;
        cl__trace_probe(CL_EVENT_WAIT, "process_pool", NULL, 0); /* idle, until the next task */
        int got = cl__wire_recv(fd, &t, sizeof t, NULL, NULL);
        cl__trace_probe(CL_EVENT_ACQUIRE, "process_pool", NULL, 0);
        if (!got || t.kind != WIRE_RUN) break;
        char *payload = malloc(t.payload_size ? (size_t)t.payload_size : 1);
        if (!payload) {
            /* Drain the arguments we cannot hold, so the stream stays in step. */
            char sink[4096];
            for (uint64_t left = t.payload_size; left > 0;) {
                size_t chunk = left < sizeof sink ? (size_t)left : sizeof sink;
                if (!cl__wire_recv(fd, sink, chunk, NULL, NULL)) worker_exit(0);
                left -= chunk;
            }
            if (!send_failure(fd, t.count, "out of memory in the worker process")) break;
            continue;
        }
        int ok = cl__wire_recv(fd, payload, (size_t)t.payload_size, NULL, NULL) &&
                 serve(fd, &t, payload);
        free(payload);
        if (!ok) break;
    }
    worker_exit(0);
}
