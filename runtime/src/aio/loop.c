/* loop.c — cl_loop: the event loop (asyncio's BaseEventLoop) on top of libuv.
 *
 * One iteration runs the callbacks that were ready when it began (those they schedule wait for
 * the next one, as asyncio's _run_once does), then lets libuv poll: without sleeping if more is
 * ready, else until a timer, I/O or another thread's call_soon_threadsafe wakes it. The emulated
 * GIL is let go around that poll (a prepare handle runs just before it, a check handle just
 * after), so other threads run while the loop sleeps.
 *
 * Deadlocks: when the loop is about to sleep while running until a future is done, and nothing
 * could ever wake it — no ready callbacks, no libuv handles or requests of anyone else (timers,
 * streams), no futures awaited that another thread completes, nothing posted — the future can
 * never complete. The loop reports it once, cancels every task so their cleanup runs, and the
 * main task then fails with the report; if still nothing moves, it gives up. */
#include "chaos_internal.h"
#include "conclab.h"
#include "future_internal.h"
#include "loop_internal.h"
#include "report.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define LOOP_MAGIC 0x4c4f4f50u  /* "LOOP" */
#define TIMER_MAGIC 0x54494d52u /* "TIMR" */
#define DEAD_MAGIC 0xdeadf00du

#define POLL_EVERY 50e-6 /* while callbacks are ready, libuv polls at least this often */

struct cl_loop_timer {
    unsigned magic;
    uv_timer_t handle;
    cl_loop *loop;
    void (*fn)(void *arg);
    void *arg;
    struct cl_loop_timer *prev, *next; /* the loop's pending timers */
};

static __thread cl_loop *running_loop;

cl_loop *cl__loop_running(void) { return running_loop; }

void *cl__loop_running_here(void) { return running_loop; }

cl_loop *cl_loop_current(void) { return running_loop; }

int cl__loop_on_thread(const cl_loop *l) { return pthread_equal(l->thread, pthread_self()); }

uv_loop_t *cl__loop_uv(cl_loop *l) { return &l->uv; }

int cl__loop_valid(const cl_loop *l, const char *call) {
    if (!l) {
        cl_report(call, "loop is NULL (did cl_loop_new fail?)");
        return 0;
    }
    if (l->magic != LOOP_MAGIC) {
        cl_report(call, "not a live cl_loop (freed already?)");
        return 0;
    }
    return 1;
}

/* One line on stderr without a call's name in front: asyncio's own wording. */
static void say(const char *fmt, ...) {
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof line - 1, fmt, ap);
    va_end(ap);
    if (n > (int)sizeof line - 2) n = (int)sizeof line - 2;
    line[n++] = '\n';
    fflush(stderr);
    ssize_t written = write(STDERR_FILENO, line, (size_t)n);
    (void)written;
}

/* ---- the ready queue ------------------------------------------------------------------------ */

static int ready_grow(cl_loop *l) {
    size_t cap = l->ready_cap ? l->ready_cap * 2 : 256;
    cl__ready *ring = malloc(cap * sizeof *ring);
    if (!ring) return -1;
    for (size_t i = 0; i < l->ready_count; i++)
        ring[i] = l->ready[(l->ready_head + i) % l->ready_cap];
    free(l->ready);
    l->ready = ring;
    l->ready_cap = cap;
    l->ready_head = 0;
    return 0;
}

static void keep_polling(uv_idle_t *h);

int cl__loop_ready(cl_loop *l, void (*fn)(void *), void *arg) {
    if (l->ready_count == l->ready_cap && ready_grow(l) != 0) return -1;
    /* scheduled from inside libuv (a timer, I/O): the poll that follows must not sleep */
    if (l->ready_count == 0) uv_idle_start(&l->keep_polling, keep_polling);
    size_t at = l->ready_head + l->ready_count;
    if (at >= l->ready_cap) at -= l->ready_cap;
    l->ready[at] = (cl__ready){fn, arg};
    l->ready_count++;
    return 0;
}

static void keep_polling(uv_idle_t *h) {
    (void)h; /* being active is its whole job */
}

/* The oldest ready entry, or under chaos (conclab/chaos.h) a seeded random one among the first
 * `among`, swapped to the head first: the tasks that were ready together run in another order. */
static cl__ready ready_pop(cl_loop *l, size_t among) {
    size_t pick = cl__chaos_pick(among);
    if (pick) {
        size_t at = (l->ready_head + pick) % l->ready_cap;
        cl__ready head = l->ready[l->ready_head];
        l->ready[l->ready_head] = l->ready[at];
        l->ready[at] = head;
    }
    cl__ready r = l->ready[l->ready_head];
    if (++l->ready_head == l->ready_cap) l->ready_head = 0;
    l->ready_count--;
    return r;
}

/* A task step is named by its task in debug reports; anything else by its address. */

static void report_slow(cl__ready r, double took) {
    if (r.fn == cl__task_step)
        say("Executing <Task '%s'> took %.3f seconds", ((cl__task *)r.arg)->name, took);
    else
        say("Executing <callback %p(%p)> took %.3f seconds", (void *)(size_t)r.fn, r.arg, took);
}

/* Runs the callbacks that are ready now, not those they schedule. */
static void run_ready(cl_loop *l) {
    for (size_t n = l->ready_count; n > 0 && l->ready_count > 0; n--) {
        cl__ready r = ready_pop(l, n < l->ready_count ? n : l->ready_count);
        if (!l->debug) {
            r.fn(r.arg);
            continue;
        }
        double start = cl_now();
        r.fn(r.arg);
        double took = cl_now() - start;
        if (took >= l->slow_callback) report_slow(r, took);
    }
}

/* ---- libuv handles -------------------------------------------------------------------------- */

static void on_wake(uv_async_t *h) {
    cl_loop *l = h->data;
    pthread_mutex_lock(&l->posted_mutex);
    cl__posted *p = l->posted_head;
    l->posted_head = l->posted_tail = NULL;
    pthread_mutex_unlock(&l->posted_mutex);
    while (p) {
        cl__posted *next = p->next;
        if (cl__loop_ready(l, p->fn, p->arg) != 0) p->fn(p->arg); /* out of memory: now */
        free(p);
        p = next;
    }
}

static void on_before_poll(uv_prepare_t *h) {
    cl_loop *l = h->data;
    if (l->blocking) cl__observe(CL_EVENT_WAIT, "loop", l);
    cl__blocking_begin();
}

static void on_after_poll(uv_check_t *h) {
    cl_loop *l = h->data;
    cl__blocking_end();
    if (l->blocking) cl__observe(CL_EVENT_ACQUIRE, "loop", l);
}

/* ---- creating and freeing ------------------------------------------------------------------- */

cl_loop *cl_loop_new(void) {
    cl_loop *l = calloc(1, sizeof *l);
    if (!l || uv_loop_init(&l->uv) != 0) {
        free(l);
        cl_report("cl_loop_new", "out of memory (or libuv could not start)");
        return NULL;
    }
    l->thread = pthread_self();
    l->slow_callback = 0.1;
    pthread_mutex_init(&l->posted_mutex, NULL);
    uv_async_init(&l->uv, &l->wake, on_wake);
    uv_prepare_init(&l->uv, &l->before_poll);
    uv_check_init(&l->uv, &l->after_poll);
    uv_idle_init(&l->uv, &l->keep_polling);
    l->wake.data = l->before_poll.data = l->after_poll.data = l;
    uv_prepare_start(&l->before_poll, on_before_poll);
    uv_check_start(&l->after_poll, on_after_poll);
    /* These two must not count as "something could still happen" in the deadlock test; the
     * async handle does count, and is subtracted there. */
    uv_unref((uv_handle_t *)&l->before_poll);
    uv_unref((uv_handle_t *)&l->after_poll);
    l->magic = LOOP_MAGIC;
    return l;
}

static int run_until(cl_loop *l, cl_future *f, const char *call);

static void timer_closed(uv_handle_t *h) {
    struct cl_loop_timer *t = h->data;
    t->magic = DEAD_MAGIC;
    free(t);
}

static void timer_unlink(struct cl_loop_timer *t) {
    if (t->prev) t->prev->next = t->next;
    else t->loop->timers = t->next;
    if (t->next) t->next->prev = t->prev;
    t->prev = t->next = NULL;
}

/* Cancels every task and runs the loop until they have finished their cleanup; tasks still
 * stuck after that are abandoned (their stacks dropped without unwinding). */
static void settle_tasks(cl_loop *l, const char *call) {
    for (cl__task *t = l->tasks; t; t = t->next) cl_task_cancel(t->future);
    l->settling = 1;
    run_until(l, NULL, call);
    l->settling = 0;
    while (l->tasks) cl__task_abandon(l->tasks);
    /* Done callbacks still on their way from other threads point at this loop: wait for them
     * (like asyncio.run waiting for the default executor's threads). */
    l->settling = 2;
    if (l->attached > 0) run_until(l, NULL, call);
    l->settling = 0;
}

void cl_loop_free(cl_loop *l) {
    if (!l) return;
    if (!cl__loop_valid(l, "cl_loop_free")) return;
    if (l->running) {
        cl_report("cl_loop_free", "the loop is running (stop it first: Python: Cannot close a running event loop)");
        return;
    }
    if (!cl__loop_on_thread(l)) {
        cl_report("cl_loop_free", "the loop belongs to another thread");
        return;
    }
    settle_tasks(l, "cl_loop_free");
    /* Like asyncio's shutdown_default_executor: let what runs there finish, then end its threads. */
    if (l->default_executor) cl_pool_free(l->default_executor);
    l->default_executor = NULL;
    cl__http_loop_free(l);
    while (l->ready_count > 0) run_ready(l); /* steps of finished tasks: they drop references */
    while (l->timers) {
        struct cl_loop_timer *t = l->timers;
        timer_unlink(t);
        uv_close((uv_handle_t *)&t->handle, timer_closed);
    }
    uv_close((uv_handle_t *)&l->wake, NULL);
    uv_close((uv_handle_t *)&l->before_poll, NULL);
    uv_close((uv_handle_t *)&l->after_poll, NULL);
    uv_close((uv_handle_t *)&l->keep_polling, NULL);
    uv_run(&l->uv, UV_RUN_DEFAULT); /* runs the close callbacks */
    if (uv_loop_close(&l->uv) != 0) cl_report("cl_loop_free", "libuv handles are still open (a stream not closed?)");
    for (cl__posted *p = l->posted_head, *next; p; p = next) {
        next = p->next;
        free(p);
    }
    pthread_mutex_destroy(&l->posted_mutex);
    free(l->ready);
    free(l->deadlock);
    l->magic = DEAD_MAGIC;
    free(l);
}

/* ---- deadlocks ------------------------------------------------------------------------------ */

/* Whether anything could still make progress once the loop sleeps. */
static int could_progress(cl_loop *l) {
    if (l->ready_count > 0 || l->foreign_waits > 0) return 1;
    /* handles that are active and referenced (ours is the async one), requests in flight, and
     * handles still closing: a close callback may complete what a task awaits */
    if (l->uv.active_handles > 1 || l->uv.active_reqs.count > 0 || l->uv.closing_handles) return 1;
    pthread_mutex_lock(&l->posted_mutex);
    int posted = l->posted_head != NULL;
    pthread_mutex_unlock(&l->posted_mutex);
    return posted;
}

static void describe_future(cl_future *f, char *buf, size_t size) {
    cl__task *t = cl__task_of(f);
    if (t) snprintf(buf, size, "task '%s'", t->name);
    else snprintf(buf, size, "a future that nothing on the loop can complete");
}

/* The first time: report, cancel every task, let them clean up. The second: give up. */
static void on_deadlock(cl_loop *l, const char *call) {
    if (l->deadlocks++ > 0 || l->settling) {
        l->gave_up = 1;
        return;
    }
    char what[480];
    cl__task *main_task = cl__task_of(l->until);
    if (main_task) {
        char waits[360];
        cl__task_describe_wait(main_task, waits, sizeof waits);
        snprintf(what, sizeof what, "main task '%s' waits for %s", main_task->name, waits);
    } else {
        describe_future(l->until, what, sizeof what);
    }
    char line[640];
    snprintf(line, sizeof line, "deadlock: %s, and nothing left on the loop can wake it; "
                                "cancelling the waiting tasks", what);
    cl_report(call, "%s", line);
    l->deadlock = strdup(line);
    for (cl__task *t = l->tasks; t; t = t->next) cl_task_cancel(t->future);
}

/* ---- running -------------------------------------------------------------------------------- */

static int finished(cl_loop *l, cl_future *f) {
    if (l->gave_up) return 1;
    if (f) return cl_future_done(f);
    if (l->settling == 1) return l->live_tasks == 0;
    if (l->settling == 2) return l->attached == 0;
    return l->stopping;
}

static void run_once(cl_loop *l, cl_future *f, const char *call) {
    run_ready(l);
    if (l->ready_count == 0) uv_idle_stop(&l->keep_polling);
    int sleep = l->ready_count == 0 && !finished(l, f) && !l->stopping;
    if (sleep && (f || l->settling == 1) && !could_progress(l)) {
        on_deadlock(l, call);
        return;
    }
    if (!sleep && l->ready_count > 0) {
        /* Busy with ready callbacks: a poll that cannot sleep costs a system call, more than a
         * task step; poll every POLL_EVERY seconds meanwhile, so timers and I/O still come in. */
        double now = cl_now();
        if (now - l->last_poll < POLL_EVERY) return;
        l->last_poll = now;
    }
    l->blocking = sleep;
    uv_run(&l->uv, sleep ? UV_RUN_ONCE : UV_RUN_NOWAIT);
    l->blocking = 0;
    if (sleep) l->last_poll = cl_now();
}

static int begin_run(cl_loop *l, const char *call) {
    if (!cl__loop_valid(l, call)) return -1;
    if (!cl__loop_on_thread(l)) {
        cl_report(call, "the loop belongs to another thread (one loop per thread)");
        return -1;
    }
    if (l->running) {
        cl_report(call, "this loop is already running (Python: RuntimeError)");
        return -1;
    }
    if (running_loop) {
        cl_report(call, "another loop is running on this thread (Python: Cannot run the event loop while another loop is running)");
        return -1;
    }
    l->running = 1;
    running_loop = l;
    cl__coro_guard_install(); /* the kernel may have replaced the SIGSEGV handler since */
    return 0;
}

static void end_run(cl_loop *l) {
    l->running = 0;
    l->stopping = 0;
    running_loop = NULL;
}

/* Runs l until f is done (f NULL: until stopped, or settled when freeing). */
static int run_until(cl_loop *l, cl_future *f, const char *call) {
    if (begin_run(l, call) != 0) return -1;
    cl__waiter *w = NULL;
    if (f) {
        /* a future completed on another thread must wake the sleeping loop */
        w = cl__waiter_new(l, NULL, 1, 1);
        if (w) cl__waiter_attach(w, f, call);
    }
    l->until = f;
    l->run_call = call;
    l->deadlocks = 0;
    l->gave_up = 0;
    while (!finished(l, f)) run_once(l, f, call);
    if (w) cl__waiter_release(w);
    l->until = NULL;
    end_run(l);
    return 0;
}

cl_future_status cl_loop_run_until_complete(cl_loop *l, cl_future *f, void **result) {
    const char *call = "cl_loop_run_until_complete";
    if (result) *result = NULL;
    if (!cl__loop_valid(l, call) || !cl__future_check(f, call)) return CL_FUTURE_ERROR;
    if (run_until(l, f, call) != 0) return CL_FUTURE_ERROR;
    if (!cl_future_done(f)) return CL_FUTURE_ERROR; /* gave up after a deadlock, or stopped */
    return cl_future_result(f, 0, result);
}

int cl_loop_run_forever(cl_loop *l) {
    return run_until(l, NULL, "cl_loop_run_forever");
}

static void stop_now(void *arg) {
    ((cl_loop *)arg)->stopping = 1;
}

void cl_loop_stop(cl_loop *l) {
    if (!cl__loop_valid(l, "cl_loop_stop")) return;
    /* asyncio's stop runs as a callback: what is ready now still runs first */
    if (cl__loop_on_thread(l)) cl__loop_ready(l, stop_now, l);
    else cl_loop_call_soon_threadsafe(l, stop_now, l);
}

/* ---- asyncio.run ---------------------------------------------------------------------------- */

cl_future_status cl_async_run(void *(*main_fn)(void *arg), void *arg, void **result) {
    const char *call = "cl_async_run";
    if (result) *result = NULL;
    if (!main_fn) {
        cl_report(call, "main_fn is NULL");
        return CL_FUTURE_ERROR;
    }
    if (running_loop) {
        cl_report(call, "cannot be called from a running event loop (Python: RuntimeError); await instead");
        return CL_FUTURE_ERROR;
    }
    cl_loop *l = cl_loop_new();
    if (!l) return CL_FUTURE_ERROR;
    running_loop = l; /* so the main task is created on it */
    cl_future *main_task = cl_async_create_task(main_fn, arg);
    running_loop = NULL;
    cl_future_status status = CL_FUTURE_ERROR;
    if (main_task) {
        if (run_until(l, main_task, call) == 0 && cl_future_done(main_task)) {
            status = cl_future_result(main_task, 0, result);
            /* Python prints the exception that escaped asyncio.run; a deadlock was said already */
            if (status == CL_FUTURE_ERROR && !l->deadlock)
                cl_report(call, "main task '%s' failed: %s", cl_task_name(main_task), cl_future_error(main_task));
        }
        cl_future_free(main_task);
    }
    cl_loop_free(l);
    return status;
}

/* ---- callbacks ------------------------------------------------------------------------------ */

int cl_loop_call_soon(cl_loop *l, void (*fn)(void *arg), void *arg) {
    const char *call = "cl_loop_call_soon";
    if (!cl__loop_valid(l, call)) return -1;
    if (!fn) {
        cl_report(call, "fn is NULL");
        return -1;
    }
    if (!cl__loop_on_thread(l)) {
        cl_report(call, "called from another thread than the loop's; use cl_loop_call_soon_threadsafe");
        return -1;
    }
    if (cl__loop_ready(l, fn, arg) != 0) {
        cl_report(call, "out of memory");
        return -1;
    }
    return 0;
}

int cl_loop_call_soon_threadsafe(cl_loop *l, void (*fn)(void *arg), void *arg) {
    const char *call = "cl_loop_call_soon_threadsafe";
    if (!cl__loop_valid(l, call)) return -1;
    if (!fn) {
        cl_report(call, "fn is NULL");
        return -1;
    }
    cl__posted *p = malloc(sizeof *p);
    if (!p) {
        cl_report(call, "out of memory");
        return -1;
    }
    *p = (cl__posted){fn, arg, NULL};
    pthread_mutex_lock(&l->posted_mutex);
    if (l->posted_tail) l->posted_tail->next = p;
    else l->posted_head = p;
    l->posted_tail = p;
    pthread_mutex_unlock(&l->posted_mutex);
    uv_async_send(&l->wake);
    return 0;
}

static void timer_fired(uv_timer_t *h) {
    struct cl_loop_timer *t = h->data;
    cl_loop *l = t->loop;
    timer_unlink(t);
    /* asyncio moves due timers to the ready queue; running it here keeps its order among
     * the timers due at once, and debug mode still times it */
    void (*fn)(void *) = t->fn;
    void *arg = t->arg;
    t->magic = DEAD_MAGIC; /* from here on cancelling it says 0: it ran */
    uv_close((uv_handle_t *)&t->handle, timer_closed);
    if (cl__loop_ready(l, fn, arg) != 0) fn(arg);
}

cl_loop_timer *cl_loop_call_later(cl_loop *l, double delay, void (*fn)(void *arg), void *arg) {
    const char *call = "cl_loop_call_later";
    if (!cl__loop_valid(l, call)) return NULL;
    if (!fn) {
        cl_report(call, "fn is NULL");
        return NULL;
    }
    if (!(delay >= 0)) {
        cl_report(call, "delay must be >= 0 seconds, got %g", delay);
        return NULL;
    }
    if (!cl__loop_on_thread(l)) {
        cl_report(call, "called from another thread than the loop's; use cl_loop_call_soon_threadsafe");
        return NULL;
    }
    struct cl_loop_timer *t = calloc(1, sizeof *t);
    if (!t) {
        cl_report(call, "out of memory");
        return NULL;
    }
    t->magic = TIMER_MAGIC;
    t->loop = l;
    t->fn = fn;
    t->arg = arg;
    uv_timer_init(&l->uv, &t->handle);
    t->handle.data = t;
    uv_update_time(&l->uv); /* libuv's "now" is the iteration's start; delays count from now */
    uint64_t ms = (uint64_t)ceil(delay * 1000.0);
    uv_timer_start(&t->handle, timer_fired, ms, 0);
    t->next = l->timers;
    if (l->timers) l->timers->prev = t;
    l->timers = t;
    return t;
}

int cl_loop_timer_cancel(cl_loop_timer *t) {
    if (!t) {
        cl_report("cl_loop_timer_cancel", "timer is NULL");
        return 0;
    }
    if (t->magic != TIMER_MAGIC) return 0; /* it ran (the handle lives until the next iteration) */
    timer_unlink(t);
    t->magic = DEAD_MAGIC;
    uv_timer_stop(&t->handle);
    uv_close((uv_handle_t *)&t->handle, timer_closed);
    return 1;
}

double cl_loop_time(cl_loop *l) {
    (void)l;
    return cl_now();
}

void cl_loop_set_debug(cl_loop *l, int on) {
    if (cl__loop_valid(l, "cl_loop_set_debug")) l->debug = on != 0;
}

void cl_loop_set_slow_callback_duration(cl_loop *l, double seconds) {
    if (!cl__loop_valid(l, "cl_loop_set_slow_callback_duration")) return;
    if (!(seconds >= 0)) {
        cl_report("cl_loop_set_slow_callback_duration", "seconds must be >= 0, got %g", seconds);
        return;
    }
    l->slow_callback = seconds;
}
