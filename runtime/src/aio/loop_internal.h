/* loop_internal.h — the event loop's insides, shared by loop.c (the loop: ready queue, libuv,
 * timers, deadlocks), task.c (tasks: coroutines stepped by the loop), waiter.c (how a suspended
 * task is woken by futures), await.c (the awaiting calls) and task_group.c; and what other
 * runtime files need from the loop (streams: its libuv loop; pool.c: cl_task_fail).
 *
 * Threads: everything here runs on the loop's own thread, except cl__waiter's done callback,
 * which runs wherever its future completes and then hands over to the loop thread through
 * cl_loop_call_soon_threadsafe. */
#ifndef CONCLAB_RUNTIME_LOOP_INTERNAL_H
#define CONCLAB_RUNTIME_LOOP_INTERNAL_H

#include <pthread.h>
#include <uv.h>

#include "conclab/loop.h"
#include "conclab/pool.h" /* the default executor */
#include "coro.h"
#include "observe.h"

#define CL_TASK_NAME_CAP 64

typedef struct cl__task cl__task;
typedef struct cl__waiter cl__waiter;
typedef struct cl__http_multi cl__http_multi;

/* A callback due on the loop (call_soon and everything that wakes a task). */
typedef struct cl__ready {
    void (*fn)(void *arg);
    void *arg;
} cl__ready;

/* A callback posted from another thread (call_soon_threadsafe). */
typedef struct cl__posted {
    void (*fn)(void *arg);
    void *arg;
    struct cl__posted *next;
} cl__posted;

struct cl_loop {
    unsigned magic;
    uv_loop_t uv;
    uv_async_t wake;           /* woken by call_soon_threadsafe */
    uv_prepare_t before_poll;  /* lets the emulated GIL go while libuv polls ... */
    uv_check_t after_poll;     /* ... and takes it back */
    uv_idle_t keep_polling;    /* active while callbacks are ready: libuv's poll must not sleep */
    pthread_t thread;          /* the thread that made it: the only one that runs it */
    int running, stopping;
    int blocking;              /* this poll may sleep (for the hook's "loop" wait) */
    double last_poll;          /* when libuv last polled */
    /* the ready queue: a ring of callbacks in the order they were scheduled */
    cl__ready *ready;
    size_t ready_cap, ready_head, ready_count;
    /* callbacks from other threads */
    pthread_mutex_t posted_mutex;
    cl__posted *posted_head, *posted_tail;
    /* tasks */
    cl__task *tasks;           /* live (unfinished) tasks, newest first */
    long live_tasks;
    long foreign_waits;        /* attachments to futures some other thread completes */
    long attached;             /* done callbacks of waiters not yet resolved */
    struct cl_loop_timer *timers; /* call_later timers not yet run or cancelled */
    /* running until a future is done */
    cl_future *until;
    const char *run_call;      /* the public call running it, for reports */
    char *deadlock;            /* what the deadlock report said, once one was found */
    int deadlocks;             /* how many times nothing could move */
    int gave_up;               /* stuck even after cancelling: return without the result */
    int settling;              /* freeing: run until every task has finished */
    /* debug mode */
    int debug;
    double slow_callback;
    cl_pool *default_executor; /* cl_async_to_thread's threads: made on first use, freed with the loop */
    cl__http_multi *http;      /* the HTTP transfers of its tasks (http_multi.c), made on first use */
};

/* Why a suspended task was resumed. */
enum { CL_WAKE_DONE = 1, CL_WAKE_TIMEOUT, CL_WAKE_CANCELLED };

struct cl__task {
    unsigned magic;
    cl_loop *loop;
    cl_future *future;          /* the task's own future; this struct is its producer data */
    cl_coro *coro;
    void *(*fn)(void *arg);
    void *arg;
    void *result;
    char *failure;              /* cl_task_fail's message */
    int cancelling;             /* cancellation requests not cleared (Task.cancelling) */
    unsigned char must_cancel;  /* a request not yet delivered at an await */
    unsigned char started, scheduled, suspended, finished, timer_ready, timer_armed;
    unsigned char wake_reason;
    uv_timer_t timer;           /* for timed suspensions (sleep, timeouts) */
    cl__task *prev, *next;      /* the loop's live tasks */
    cl__waiter *waiter;         /* what it is suspended on, if futures */
    char name[CL_TASK_NAME_CAP];
};

/* A suspended task's link to the futures that may wake it. Reference counted: the task holds
 * one, each attached done callback one. */
struct cl__waiter {
    int refs;
    int woke;                   /* the wake condition held (maybe before the task suspended) */
    cl__task *t;                /* NULL: only keeps the loop awake (run_until_complete) */
    cl_loop *loop;
    int fired, failed;          /* attached futures done so far; of those, not successful */
    int want_fired, want_failed;/* wake once fired >= want_fired or failed >= want_failed */
    int count, cap;             /* futures attached (the waiter holds a reference to each) */
    cl_future **futs;
};

/* ---- loop.c ---- */

/* The loop running on this thread, or NULL. */
CL_INTERNAL cl_loop *cl__loop_running(void);

/* Whether the caller is on loop l's thread. */
CL_INTERNAL int cl__loop_on_thread(const cl_loop *l);
/* 1 if l is a live loop; else reports it for `call` and returns 0. */
CL_INTERNAL int cl__loop_valid(const cl_loop *l, const char *call);

/* Appends fn(arg) to loop l's ready queue (loop thread only); 0, or -1 when out of memory. */
CL_INTERNAL int cl__loop_ready(cl_loop *l, void (*fn)(void *), void *arg);

/* http_multi.c: ends loop l's HTTP transfers and the handles that drove them. */
CL_INTERNAL void cl__http_loop_free(cl_loop *l);

/* The libuv loop inside l (for streams). */
CL_INTERNAL uv_loop_t *cl__loop_uv(cl_loop *l);

/* ---- task.c ---- */

/* The task running on this thread, or NULL (reported as "call: ..." when report is set). */
CL_INTERNAL cl__task *cl__task_running(const char *report_call);

/* The task behind future f, or NULL if f is not a task's. */
CL_INTERNAL cl__task *cl__task_of(cl_future *f);

/* Suspends running task t until waiter w wakes it (NULL: none), timeout seconds pass (< 0:
 * none; 0: just lets the others run), or it is cancelled; returns a CL_WAKE_ reason. */
CL_INTERNAL int cl__task_suspend(cl__task *t, cl__waiter *w, double timeout);

/* Makes a suspended task t run again (loop thread). */
CL_INTERNAL void cl__task_wake(cl__task *t, int reason);

/* One step of task arg (a cl__task): resumes it until its next await or its end. Scheduled on
 * the ready queue; the loop's debug reports name the task when they see this function. */
CL_INTERNAL void cl__task_step(void *arg);

/* Finishes a task that will never run again (loop freed while it was stuck): cancelled. */
CL_INTERNAL void cl__task_abandon(cl__task *t);

/* For pool.c's cl_task_fail: if a loop task runs on this thread, records why it failed and
 * returns 1; else 0. */
CL_INTERNAL int cl__loop_task_fail(const char *message);

/* Describes what task t waits for into buf ("task 'Task-2', which waits for ..."). */
CL_INTERNAL void cl__task_describe_wait(cl__task *t, char *buf, size_t size);

/* ---- waiter.c ---- */

/* A waiter for task t (NULL: none) on loop l that wakes once want_fired futures are done or
 * want_failed of them failed or were cancelled; NULL when out of memory. */
CL_INTERNAL cl__waiter *cl__waiter_new(cl_loop *l, cl__task *t, int want_fired, int want_failed);

/* Attaches w to f's completion; 0, or -1 when out of memory (reported under call). */
CL_INTERNAL int cl__waiter_attach(cl__waiter *w, cl_future *f, const char *call);

/* Detaches w from every future whose callback has not run yet, drops its references to them
 * and lets it go; callbacks already on their way find it inactive. */
CL_INTERNAL void cl__waiter_release(cl__waiter *w);

#endif
