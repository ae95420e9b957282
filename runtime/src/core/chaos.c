/* chaos.c — schedule perturbation with a replayable seed (conclab/chaos.h).
 *
 * Every scheduling point of the runtime (cl__observe's events, the atomics, the loop's choice of
 * the next ready task) asks cl__chaos_point whether the calling thread should be held back
 * there. The answer comes from the thread's own random stream, seeded from the run's seed and
 * the thread's number (threads are numbered in the order they were started since
 * cl_chaos_start), never from a shared one: what one thread draws does not depend on how the
 * others were scheduled, so the same seed makes the same decisions again.
 *
 * The decisions follow PCT's idea: a thread runs at a priority from 0 (never held back) to 3
 * (held back at every point), and at a few change points of each run its priority is
 * drawn again. A thread held back mostly sleeps 20–400 µs, long enough for another thread to run
 * through a racy window, else yields the CPU; it lets the emulated GIL go meanwhile, which makes
 * the hold-up a GIL hand-off too. Sleeps are rationed (SLEEP_BUDGET per thread and run): a loop
 * of 100 000 lock operations would otherwise take minutes, and the first interleavings are the
 * ones a short racy window needs. */
#include "conclab.h"
#include "chaos_internal.h"
#include "hook_internal.h"

#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define PRIORITIES 4           /* 0: never held back ... 3: held back at every point */
#define CHANGE_EVERY 48        /* a priority change point comes every 1..2*CHANGE_EVERY points */
#define SLEEP_MIN_NS 20000L    /* a hold-up that sleeps: between these */
#define SLEEP_MAX_NS 400000L
#define SLEEP_BUDGET 64        /* sleeps per thread per run; later hold-ups only yield */

static unsigned long long run_seed;  /* set before the listener's bit: atomics only */
static unsigned run_epoch;           /* bumped by every cl_chaos_start: threads re-seed */
static unsigned next_ordinal;        /* the number the next started thread gets */
static unsigned long delays;         /* hold-ups injected since the start */

typedef struct chaos_thread {
    unsigned epoch;       /* run_epoch when this stream was seeded; 0: never */
    unsigned ordinal;     /* this thread's number in the run (0: the one that started it) */
    int has_ordinal;      /* set by cl__chaos_thread_begin; else drawn at its first point */
    uint64_t state;       /* splitmix64 */
    unsigned long points; /* scheduling points met in this run */
    unsigned long next_change;
    int priority;
    int sleeps_left;      /* SLEEP_BUDGET at the start of a run */
    int inside;           /* a hold-up is under way: its own GIL hand-off is not another point */
} chaos_thread;

static __thread chaos_thread me;

/* splitmix64: a tiny generator with good streams from consecutive seeds. */
static uint64_t next_random(uint64_t *state) {
    uint64_t z = (*state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static unsigned below(unsigned n) { return (unsigned)(next_random(&me.state) % n); }

static void seed_stream(unsigned ordinal) {
    me.epoch = __atomic_load_n(&run_epoch, __ATOMIC_ACQUIRE);
    me.ordinal = ordinal;
    me.state = __atomic_load_n(&run_seed, __ATOMIC_RELAXED) ^ (0x2545f4914f6cdd1dull * (ordinal + 1));
    next_random(&me.state);
    me.points = 0;
    me.sleeps_left = SLEEP_BUDGET;
    me.priority = (int)below(PRIORITIES);
    me.next_change = 1 + below(2 * CHANGE_EVERY);
}

/* The calling thread's stream for this run, seeded on first use. */
static void ensure_stream(void) {
    if (me.epoch == __atomic_load_n(&run_epoch, __ATOMIC_ACQUIRE)) return;
    unsigned ordinal = me.has_ordinal ? me.ordinal : __atomic_fetch_add(&next_ordinal, 1, __ATOMIC_RELAXED);
    seed_stream(ordinal);
}

unsigned cl__chaos_ordinal_next(void) {
    return cl__chaos_on() ? __atomic_fetch_add(&next_ordinal, 1, __ATOMIC_RELAXED) : 0;
}

void cl__chaos_thread_begin(unsigned ordinal) {
    me.has_ordinal = cl__chaos_on();
    me.ordinal = ordinal;
    me.epoch = 0;
}

static void hold_up(void) {
    __atomic_add_fetch(&delays, 1, __ATOMIC_RELAXED);
    me.inside = 1;
    cl__blocking_begin();  /* the GIL, if held, goes to another thread meanwhile */
    if (me.sleeps_left == 0 || below(4) == 0) {
        sched_yield();
    } else {
        me.sleeps_left--;
        long ns = SLEEP_MIN_NS + (long)below((unsigned)(SLEEP_MAX_NS - SLEEP_MIN_NS));
        struct timespec pause = {0, ns};
        nanosleep(&pause, NULL);
    }
    cl__blocking_end();
    me.inside = 0;
}

void cl__chaos_point(void) {
    if (me.inside) return;
    ensure_stream();
    if (++me.points >= me.next_change) {  /* a PCT change point: a new priority from here */
        me.priority = (int)below(PRIORITIES);
        me.next_change = me.points + 1 + below(2 * CHANGE_EVERY);
    }
    /* priority p holds back at p/3 of the points: never, 1/3, 2/3, always */
    if (me.priority > 0 && below(3) < (unsigned)me.priority) hold_up();
}

size_t cl__chaos_pick(size_t n) {
    if (n < 2 || !cl__chaos_on()) return 0;
    ensure_stream();
    return (size_t)(next_random(&me.state) % n);
}

/* A forked child goes on with its own streams: the fork's parent thread re-seeds as a new
 * ordinal, so parent and child do not draw the same numbers. */
static void after_fork_in_child(void) {
    if (!cl__chaos_on()) return;
    me.has_ordinal = 1;
    me.ordinal = __atomic_fetch_add(&next_ordinal, 1, __ATOMIC_RELAXED) + 1000;
    me.epoch = 0;
}

void cl_chaos_start(unsigned long long seed) {
    __atomic_store_n(&run_seed, seed, __ATOMIC_RELAXED);
    __atomic_store_n(&next_ordinal, 1, __ATOMIC_RELAXED);
    __atomic_store_n(&delays, 0, __ATOMIC_RELAXED);
    __atomic_add_fetch(&run_epoch, 1, __ATOMIC_RELEASE);
    me.has_ordinal = 1;  /* the caller is thread 0 of the run */
    me.ordinal = 0;
    me.epoch = 0;
    cl__observers_set(CL__OBSERVED_BY_CHAOS, 1);
}

void cl_chaos_stop(void) { cl__observers_set(CL__OBSERVED_BY_CHAOS, 0); }

int cl_chaos_active(unsigned long long *seed) {
    int on = cl__chaos_on();
    if (on && seed) *seed = __atomic_load_n(&run_seed, __ATOMIC_RELAXED);
    return on;
}

unsigned long cl_chaos_delays(void) { return __atomic_load_n(&delays, __ATOMIC_RELAXED); }

/* CONCLAB_CHAOS_SEED=N: chaos from the start, for programs built outside the kernel. */
__attribute__((constructor)) static void chaos_from_environment(void) {
    pthread_atfork(NULL, NULL, after_fork_in_child);
    const char *text = getenv("CONCLAB_CHAOS_SEED");
    if (!text || !*text) return;
    char *end;
    unsigned long long seed = strtoull(text, &end, 0);
    if (*end == '\0') cl_chaos_start(seed);
}
