/* conclab/chaos.h — schedule perturbation with a replayable seed, and lock-order checking: the
 * runtime's tools for finding concurrency bugs that a quiet 2-core machine hides.
 * Part of <conclab.h>; see there for the conventions every runtime header keeps.
 *
 * Chaos. A racy program gives the right answer most of the time because its threads rarely meet
 * inside the racy window. With chaos on, every scheduling point of the runtime (a thread's start,
 * every lock, rlock, semaphore, condition, event, barrier, queue and future operation, every
 * atomic, the GIL's hand-offs, the event loop's task switches) may delay the calling thread, so
 * that the others run ahead of it there. Which threads are delayed, where and for how long is
 * drawn from the seed, in the spirit of PCT (probabilistic concurrency testing): each thread gets
 * a priority, lower ones are delayed more often, and a few points of each run change a thread's
 * priority. The same seed makes the same decisions again (each thread draws from its own stream,
 * numbered by the order threads were started in), so a failing run can be replayed; the
 * operating system still schedules, so a replay fails again very often, not always.
 * The event loop takes ready tasks in a seeded random order instead of first-come first-served.
 *
 * Outside a notebook, CONCLAB_CHAOS_SEED=N in the environment turns chaos on with seed N when the
 * program starts, and CONCLAB_LOCKCHECK=1 turns lock-order checking on (in a notebook: %%chaos
 * and %lockcheck).
 *
 * Lock-order checking (Linux's lockdep, for locks a student takes). With it on, the runtime
 * remembers, for every pair of locks a thread held at once, which was taken first. The first time
 * some thread takes two locks in the opposite order of an earlier one (or closes a longer cycle:
 * a before b, b before c, c before a), it prints a report on stderr naming the locks, the two
 * orders, the threads and where each lock was taken: those threads could deadlock, even if this
 * run did not. Locks, rlocks (their first acquisition) and shared locks take part, and a
 * condition's wait re-takes its lock like any acquire; async locks do not (they are held by
 * tasks, which share their loop's thread). Each cycle is reported once.
 */
#ifndef CONCLAB_CHAOS_H
#define CONCLAB_CHAOS_H

#ifdef __cplusplus
extern "C" {
#endif

/* Threads started after cl_chaos_start are numbered from 1 in the run (the caller is 0); each
 * draws its decisions from its own stream of the seed. */
/* Turns chaos on in this process with seed (the same seed, the same decisions), for every thread. */
void cl_chaos_start(unsigned long long seed);

/* Turns chaos off. */
void cl_chaos_stop(void);

/* 1 while chaos is on; its seed in *seed when seed is not NULL. */
int cl_chaos_active(unsigned long long *seed);

/* How many delays chaos has injected in this process since cl_chaos_start. */
unsigned long cl_chaos_delays(void);

/* Turning lock-order checking on forgets the orders seen before. */
/* Turns lock-order checking on (1) or off (0) in this process. */
void cl_lockcheck_enable(int on);

/* 1 while lock-order checking is on. */
int cl_lockcheck_enabled(void);

/* How many potential deadlocks (lock-order cycles) were reported since checking was turned on. */
int cl_lockcheck_reports(void);

#ifdef __cplusplus
}
#endif

#endif
