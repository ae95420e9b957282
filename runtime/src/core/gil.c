/* gil.c — the emulated GIL (conclab/gil.h).
 *
 * The lock is one futex word, gil.owner, holding the kernel thread id of the holder (0: free).
 * Taking it is a compare-and-swap from 0; a thread that finds it taken sleeps on the word.
 *
 * Forced switching, after CPython 3.2's new GIL: a waiter sleeps at most one switch interval. If
 * the same thread still holds the GIL then, and the GIL has not changed hands meanwhile, the
 * waiter writes the holder's id into gil.drop_request and sends it GIL_SIGNAL. The holder's
 * signal handler drops the GIL, waits until another thread has taken it (so the waiter, not the
 * holder, gets it: that is CPython's FORCE_SWITCHING), and queues for it again. No timer thread
 * is needed: the waiters are the clock. The handler uses atomics and futex system calls only,
 * which are async-signal-safe.
 *
 * Each participant ("Python thread") has a record, reached through an initial-exec thread-local
 * pointer (no allocation on first use, so the signal handler may read it):
 *   depth    how many blocking regions (cl__blocking_begin/end) it is inside: > 0 means it is
 *            waiting, does not hold the GIL and must not take it;
 *   stopped  the last generation of "GIL on" for which it has queued for the GIL or held it:
 *            from then on it runs no code of its own without holding it;
 *   busy     it is inside this file's bookkeeping: the handler only notes `missed` and leaves,
 *            and the bookkeeping looks at what the signal wanted when it is done (leave()).
 * busy and missed are touched only by their own thread (normal code and its signal handler),
 * hence volatile sig_atomic_t; depth and stopped are also read by the thread that switches the
 * GIL on, hence atomics. The records are kept in a list, under `admin`, so switching the GIL on
 * can signal every participant that is running: each one's handler then queues for the GIL,
 * which stops it, and the switching thread waits until they all have.
 *
 * Lock order: a thread never waits for the GIL while it holds `admin` (it is busy then, so its
 * handler does not queue), while the GIL's holder may wait for `admin`.
 *
 * The invariant, restored by every entry point and by the handler: a participant that is not in
 * a blocking region runs only while it holds the GIL, whenever the GIL is on. */
#define _GNU_SOURCE /* syscall, SYS_gettid, SYS_tgkill */
#include "conclab.h"
#include "observe.h"
#include "report.h"
#include "trace_internal.h"
#include "waits_internal.h"

#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

/* Ignored by default, so a stray one (sent before the handler exists, or to a process that never
 * switched the GIL on) does nothing; the Go runtime preempts goroutines with it for that reason. */
#define GIL_SIGNAL SIGURG

#define DEFAULT_INTERVAL_NS 5000000L /* CPython's sys.getswitchinterval(): 5 ms */
#define LONGEST_INTERVAL_SECONDS 1e6 /* keeps the interval in a long of nanoseconds */

/* How long cl_gil_enable waits for running threads to stop. They stop within microseconds once
 * the signal is delivered; on a loaded machine delivery waits for the thread to be scheduled, so
 * the signal is sent again every few milliseconds. One that cannot take it at all (SIGURG
 * blocked, or under ThreadSanitizer, which delays signals to a thread blocked in
 * pthread_mutex_lock) stops whenever it does. */
#define STOP_WAIT_NS 2000000000L
#define STOP_RESEND_NS 5000000L

/* depth of a thread that is leaving: the thread switching the GIL on need not wait for it. */
#define DEPTH_LEAVING (INT_MAX / 2)

#define LOAD(x) __atomic_load_n(&(x), __ATOMIC_SEQ_CST)
#define STORE(x, v) __atomic_store_n(&(x), (v), __ATOMIC_SEQ_CST)
#define ADD(x, v) __atomic_add_fetch(&(x), (v), __ATOMIC_SEQ_CST)

typedef struct gil_thread {
    int tid; /* gettid(): what gil.owner holds and what the signal is sent to */
    int depth;
    int stopped;
    volatile sig_atomic_t busy;
    volatile sig_atomic_t missed; /* a signal came while busy */
    struct gil_thread *prev, *next;
} gil_thread;

/* Every field is read and written atomically; the futex words are ints as the kernel wants. */
static struct {
    int on;
    int generation;      /* bumped each time the GIL is switched on */
    int owner;           /* futex word: the holder's tid, 0 when free */
    int waiters;         /* threads sleeping (or about to) on owner */
    int switches;        /* futex word: bumped each time the GIL passes to another thread */
    int switch_waiters;  /* forced-out holders sleeping on switches */
    int drop_request;    /* the tid a waiter asked to let go */
    int last_holder;
    long interval_ns;
    long switch_total;   /* for cl_gil_switch_count; switches wraps, this does not in practice */
} gil = {.interval_ns = DEFAULT_INTERVAL_NS};

static __thread gil_thread *self __attribute__((tls_model("initial-exec")));

static pthread_mutex_t admin = PTHREAD_MUTEX_INITIALIZER; /* participants; switching on and off */
static gil_thread *participants;

static pthread_once_t list_once = PTHREAD_ONCE_INIT;    /* fork handlers for the list */
static pthread_once_t signal_once = PTHREAD_ONCE_INIT;  /* the handler and the adoption key */
static int signal_ready;
static pthread_key_t adopted_key; /* threads that joined through cl_gil_enable, to forget at exit */

/* ---- small system helpers (all async-signal-safe) ------------------------------------------- */

static int current_tid(void) { return (int)syscall(SYS_gettid); }

static long now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000000000L + ts.tv_nsec;
}

/* Sleeps while *word == expected, at most timeout_ns; returns early on a wake-up or a signal. */
static void futex_wait(int *word, int expected, long timeout_ns) {
    struct timespec ts = {timeout_ns / 1000000000L, timeout_ns % 1000000000L};
    syscall(SYS_futex, word, FUTEX_WAIT_PRIVATE, expected, &ts, NULL, 0);
}

static void futex_wake(int *word, int how_many) {
    syscall(SYS_futex, word, FUTEX_WAKE_PRIVATE, how_many, NULL, NULL, 0);
}

static void interrupt_thread(int tid) { syscall(SYS_tgkill, getpid(), tid, GIL_SIGNAL); }

/* ---- the lock itself (safe in the signal handler) --------------------------------------------- */

static int try_take(int me) {
    int free_value = 0;
    return __atomic_compare_exchange_n(&gil.owner, &free_value, me, 0, __ATOMIC_SEQ_CST,
                                       __ATOMIC_SEQ_CST);
}

/* Tells a thread switching the GIL on that this one runs no code of its own without holding it. */
static void note_stopped(gil_thread *t) { STORE(t->stopped, LOAD(gil.generation)); }

/* Bookkeeping of the new holder: requests were meant for whoever held it before. */
static void note_taken(int me) {
    STORE(gil.drop_request, 0);
    if (LOAD(gil.last_holder) == me) return;
    STORE(gil.last_holder, me);
    ADD(gil.switch_total, 1);
    ADD(gil.switches, 1);
    if (LOAD(gil.switch_waiters) > 0) futex_wake(&gil.switches, INT_MAX);
}

/* Waits for the GIL; every interval without a handover it asks the holder to let go.
 * Returns 1 holding it, 0 when the GIL was switched off meanwhile. */
static int wait_and_take(gil_thread *t) {
    int me = t->tid, held = 0, watched = 0, watched_switches = 0;
    long deadline = 0;
    ADD(gil.waiters, 1); /* before reading owner: a release after this will wake us */
    while (LOAD(gil.on)) {
        note_stopped(t); /* again: the GIL may have been switched off and on meanwhile */
        int holder = LOAD(gil.owner);
        if (holder == me) { /* taken for us by our own signal handler */
            held = 1;
            break;
        }
        if (holder == 0) {
            if (try_take(me)) {
                held = 1;
                break;
            }
            continue;
        }
        int switches = LOAD(gil.switches);
        long now = now_ns();
        if (holder != watched || switches != watched_switches) {
            watched = holder;
            watched_switches = switches;
            deadline = now + LOAD(gil.interval_ns);
        } else if (now >= deadline) {
            STORE(gil.drop_request, holder);
            interrupt_thread(holder);
            deadline = now + LOAD(gil.interval_ns);
        }
        futex_wait(&gil.owner, holder, deadline - now > 0 ? deadline - now : 1);
    }
    ADD(gil.waiters, -1);
    return held;
}

/* Returns 1 when the caller holds the GIL on return, 0 when the GIL is off. */
static int take(gil_thread *t) {
    if (!LOAD(gil.on)) return 0;
    note_stopped(t);
    if (LOAD(gil.owner) == t->tid) return 1;
    if (!try_take(t->tid) && !wait_and_take(t)) return 0;
    note_taken(t->tid);
    return 1;
}

/* Returns 1 if the caller held the GIL and let it go. */
static int release(gil_thread *t) {
    if (LOAD(gil.owner) != t->tid) return 0; /* the cheap test first: the usual answer */
    int mine = t->tid;
    if (!__atomic_compare_exchange_n(&gil.owner, &mine, 0, 0, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST))
        return 0;
    if (LOAD(gil.waiters) > 0) futex_wake(&gil.owner, 1);
    return 1;
}

/* Asked to let go: hand the GIL over, wait until someone else has it (at most an interval, in
 * case the asker left), then queue behind it. */
static void yield_to_waiter(gil_thread *t) {
    int before = LOAD(gil.switches);
    if (LOAD(gil.owner) != t->tid) return;
    /* Recorded before the GIL goes, so a timeline never shows two holders at once. The hook's
     * observer is not told: it need not be async-signal-safe. */
    cl__trace_probe(CL_EVENT_WAIT, "gil", &gil, 0);
    if (!release(t)) {
        cl__trace_probe(CL_EVENT_ACQUIRE, "gil", &gil, 0);
        return;
    }
    ADD(gil.switch_waiters, 1);
    long deadline = now_ns() + LOAD(gil.interval_ns);
    while (LOAD(gil.on) && LOAD(gil.switches) == before) {
        note_stopped(t);
        long left = deadline - now_ns();
        if (left <= 0) break;
        futex_wait(&gil.switches, before, left);
    }
    ADD(gil.switch_waiters, -1);
    if (take(t)) cl__trace_probe(CL_EVENT_ACQUIRE, "gil", &gil, 0);
}

/* Restores the invariant for a thread outside blocking regions: hold the GIL while it is on, and
 * hand it over when asked. Runs in the signal handler, and after busy sections that missed it. */
static void settle(gil_thread *t) {
    if (LOAD(t->depth) > 0 || !LOAD(gil.on)) return;
    note_stopped(t);
    if (LOAD(gil.owner) != t->tid) { /* switched on while we ran, or lost in a fork */
        cl__trace_probe(CL_EVENT_WAIT, "gil", &gil, 0);
        cl__trace_probe(take(t) ? CL_EVENT_ACQUIRE : CL_EVENT_TIMEOUT, "gil", &gil, 0);
    }
    else if (LOAD(gil.drop_request) == t->tid) yield_to_waiter(t);
}

static void on_gil_signal(int sig) {
    (void)sig;
    int saved_errno = errno;
    gil_thread *t = self;
    if (t && t->busy) t->missed = 1;
    else if (t) {
        t->busy = 1;
        settle(t);
        t->busy = 0;
    }
    errno = saved_errno;
}

/* ---- bookkeeping sections in normal code -------------------------------------------------- */

static void enter(gil_thread *t) {
    t->busy = 1;
    __atomic_signal_fence(__ATOMIC_SEQ_CST);
}

/* Ends a busy section, then does what any signal that came meanwhile asked for. */
static void leave(gil_thread *t) {
    for (;;) {
        __atomic_signal_fence(__ATOMIC_SEQ_CST);
        t->busy = 0;
        __atomic_signal_fence(__ATOMIC_SEQ_CST);
        if (!t->missed) return;
        t->busy = 1;
        t->missed = 0;
        settle(t);
    }
}

/* Takes the GIL from normal code, reporting a wait only when there is one. */
static void take_reporting(gil_thread *t) {
    enter(t);
    int had = LOAD(gil.owner) == t->tid;
    int quick = had || (LOAD(gil.on) && try_take(t->tid));
    if (quick && !had) note_taken(t->tid);
    if (quick) note_stopped(t);
    leave(t);
    if (quick) {
        if (!had) cl__observe(CL_EVENT_ACQUIRE, "gil", &gil);
        return;
    }
    if (!LOAD(gil.on)) return;
    cl__observe(CL_EVENT_WAIT, "gil", &gil);
    enter(t);
    int held = take(t);
    leave(t);
    if (held) cl__observe(CL_EVENT_ACQUIRE, "gil", &gil);
}

/* ---- participants ------------------------------------------------------------------------- */

/* Busy while holding `admin`: see the lock order at the top. */
static void lock_admin(gil_thread *t) {
    if (t) enter(t);
    pthread_mutex_lock(&admin);
}

static void unlock_admin(gil_thread *t) {
    pthread_mutex_unlock(&admin);
    if (t) leave(t);
}

/* The forking thread holds `admin` across fork() so the child inherits a consistent list. */
static void before_fork(void) { lock_admin(self); }

static void after_fork_in_parent(void) { unlock_admin(self); }

/* Only the forking thread lives on in the child: forget the others, and since it was running,
 * it holds the GIL if it takes part (with a new tid). */
static void after_fork_in_child(void) {
    gil_thread *me = self;
    while (participants) {
        gil_thread *p = participants;
        participants = p->next;
        if (p != me) free(p);
    }
    if (me) {
        me->tid = current_tid();
        me->prev = me->next = NULL;
        participants = me;
    }
    int holder = me && LOAD(gil.on) && LOAD(me->depth) == 0 ? me->tid : 0;
    STORE(gil.owner, holder);
    STORE(gil.last_holder, holder);
    STORE(gil.waiters, 0);
    STORE(gil.switch_waiters, 0);
    STORE(gil.drop_request, 0);
    unlock_admin(me);
}

static void set_up_list(void) {
    pthread_atfork(before_fork, after_fork_in_parent, after_fork_in_child);
}

/* Makes the calling thread a participant (not yet holding the GIL); NULL when out of memory. */
static gil_thread *join_participants(const char *call) {
    pthread_once(&list_once, set_up_list);
    gil_thread *t = calloc(1, sizeof *t);
    if (!t) {
        cl_report(call, "out of memory: this thread runs outside the emulated GIL");
        return NULL;
    }
    t->tid = current_tid();
    t->busy = 1; /* before it is published: no signal may find it half made */
    self = t;
    lock_admin(t);
    t->next = participants;
    if (participants) participants->prev = t;
    participants = t;
    unlock_admin(t);
    return t;
}

static void leave_participants(gil_thread *t) {
    enter(t);
    STORE(t->depth, DEPTH_LEAVING);
    int released = release(t);
    pthread_mutex_lock(&admin);
    if (t->prev) t->prev->next = t->next;
    else participants = t->next;
    if (t->next) t->next->prev = t->prev;
    pthread_mutex_unlock(&admin);
    self = NULL;
    __atomic_signal_fence(__ATOMIC_SEQ_CST);
    free(t);
    if (released) cl__observe(CL_EVENT_RELEASE, "gil", &gil);
}

static void forget_adopted(void *record) {
    if (record == self) leave_participants(record);
}

static void set_up_signal(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_gil_signal;
    sigemptyset(&sa.sa_mask);
    /* Interrupted system calls resume where the libc allows it; see gil.h for those that cannot.
     * On the thread's alternate signal stack where it has one: a task of the event loop runs on
     * a small stack of its own, which the handler (it may wait there for the GIL) must not eat. */
    sa.sa_flags = SA_RESTART | SA_ONSTACK;
    if (sigaction(GIL_SIGNAL, &sa, NULL) != 0) return;
    if (pthread_key_create(&adopted_key, forget_adopted) != 0) return;
    signal_ready = 1;
}

/* ---- the runtime's side (observe.h) ------------------------------------------------------- */

void cl__gil_thread_begin(void) {
    if (self) return;
    gil_thread *t = join_participants("cl_thread_start");
    if (t) take_reporting(t);
}

void cl__gil_thread_end(void) {
    if (self) leave_participants(self);
}

int cl__gil_involves_this_thread(void) { return self != NULL; }

int cl__gil_signal(void) { return GIL_SIGNAL; }

long cl__gil_holder(void) { return LOAD(gil.owner); }

void cl__blocking_begin(void) {
    gil_thread *t = self;
    if (!t) return; /* not a participant: the GIL never concerns it */
    enter(t);
    int depth = LOAD(t->depth);
    STORE(t->depth, depth + 1);
    /* The trace hears of it before the GIL goes, as in yield_to_waiter: recorded after, a thread
     * descheduled in between would still show running while the next holder does. */
    int holding = depth == 0 && LOAD(gil.owner) == t->tid;
    if (holding) cl__trace_probe(CL_EVENT_RELEASE, "gil", &gil, 0);
    int released = depth == 0 && release(t);
    if (holding && !released) cl__trace_probe(CL_EVENT_ACQUIRE, "gil", &gil, 0);  /* it stayed */
    leave(t);
    if (released) cl__observe_hook(CL_EVENT_RELEASE, "gil", &gil);
}

void cl__blocking_end(void) {
    if (cl__waits_on) cl__waits_clear(); /* the wait noted on the board of waits is over */
    gil_thread *t = self;
    if (!t) return;
    int depth = LOAD(t->depth);
    if (depth == 0) return; /* an end without a begin: nothing to undo */
    enter(t);
    STORE(t->depth, depth - 1);
    leave(t);
    if (depth == 1 && LOAD(gil.on)) take_reporting(t);
}

/* ---- the API (conclab/gil.h) -------------------------------------------------------------- */

/* Returns once every other participant is stopped: waiting in a blocking call, or queued for
 * the GIL (or holding it) since this switch-on. Called with `admin` held, so none can leave. */
static void wait_until_stopped(gil_thread *me, int generation) {
    long deadline = now_ns() + STOP_WAIT_NS, resend = now_ns() + STOP_RESEND_NS;
    struct timespec pause = {0, 10000};
    for (;;) {
        int running = 0;
        for (gil_thread *p = participants; p; p = p->next) {
            if (p == me || LOAD(p->depth) != 0 || LOAD(p->stopped) == generation) continue;
            running = 1;
            if (now_ns() >= resend) interrupt_thread(p->tid);
        }
        if (!running || now_ns() >= deadline) return;
        if (now_ns() >= resend) resend = now_ns() + STOP_RESEND_NS;
        nanosleep(&pause, NULL);
        if (pause.tv_nsec < 1000000) pause.tv_nsec *= 2;
    }
}

static int switch_on(void) {
    pthread_once(&signal_once, set_up_signal);
    if (!signal_ready) {
        cl_report("cl_gil_enable", "cannot install the GIL's signal handler");
        return LOAD(gil.on);
    }
    gil_thread *t = self;
    if (!t) {
        t = join_participants("cl_gil_enable");
        if (!t) return LOAD(gil.on);
        pthread_setspecific(adopted_key, t);
    }
    int took = 0;
    lock_admin(t);
    int was_on = LOAD(gil.on);
    if (!was_on) {
        int generation = ADD(gil.generation, 1);
        STORE(gil.on, 1);
        /* The caller holds it first, as CPython's main thread does when threads start. */
        took = LOAD(t->depth) == 0 && try_take(t->tid);
        if (took) note_taken(t->tid);
        /* Threads running now must stop and queue: their handlers do it. */
        for (gil_thread *p = participants; p; p = p->next)
            if (p != t) interrupt_thread(p->tid);
        wait_until_stopped(t, generation);
    }
    unlock_admin(t);
    if (took) cl__observe(CL_EVENT_ACQUIRE, "gil", &gil);
    else if (LOAD(t->depth) == 0) take_reporting(t);
    return was_on;
}

static int switch_off(void) {
    gil_thread *t = self;
    lock_admin(t);
    int was_on = LOAD(gil.on);
    if (was_on) {
        STORE(gil.on, 0);
        /* Nobody holds it now; waiters wake (owner changed), see it off, and leave. */
        __atomic_exchange_n(&gil.owner, 0, __ATOMIC_SEQ_CST);
        STORE(gil.drop_request, 0);
        futex_wake(&gil.owner, INT_MAX);
        futex_wake(&gil.switches, INT_MAX);
    }
    unlock_admin(t);
    return was_on;
}

void cl_gil_enable(void) { switch_on(); }

void cl_gil_disable(void) { switch_off(); }

int cl_gil_set(int on) { return on ? switch_on() : switch_off(); }

int cl_gil_enabled(void) { return LOAD(gil.on); }

int cl_gil_held(void) {
    gil_thread *t = self;
    return t && LOAD(gil.on) && LOAD(gil.owner) == t->tid;
}

int cl_gil_set_switch_interval(double seconds) {
    if (!(seconds > 0)) { /* also catches NaN */
        cl_report("cl_gil_set_switch_interval", "the interval must be > 0 seconds, got %g", seconds);
        return 0;
    }
    if (seconds > LONGEST_INTERVAL_SECONDS) {
        cl_report("cl_gil_set_switch_interval", "%g seconds is too long", seconds);
        return 0;
    }
    long ns = (long)(seconds * 1e9);
    STORE(gil.interval_ns, ns > 0 ? ns : 1);
    return 1;
}

double cl_gil_switch_interval(void) { return (double)LOAD(gil.interval_ns) * 1e-9; }

long cl_gil_switch_count(void) { return LOAD(gil.switch_total); }
