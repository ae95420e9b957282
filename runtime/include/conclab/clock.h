/* conclab/clock.h — time and the machine (Python: time.monotonic, time.sleep, os.cpu_count).
 * Part of <conclab.h>; see there for the conventions every runtime header keeps. */
#ifndef CONCLAB_CLOCK_H
#define CONCLAB_CLOCK_H

#ifdef __cplusplus
extern "C" {
#endif

/* A timeout that never expires (Python: timeout=None); every wait treats 1e9 s or more the same. */
#define CL_FOREVER 1e30

/* ---- time and machine (Python: time.monotonic, time.sleep, os.cpu_count) ----------------- */

/* Returns a monotonic clock in seconds, for measuring intervals. */
double cl_now(void);

/* Suspends the calling thread for the given number of seconds (fractions allowed). */
void cl_sleep(double seconds);

/* Returns the number of CPUs this process may run on (at least 1). */
int cl_cpu_count(void);

/* ---- what else the machine is doing (for judging a measured speed-up) ----------------------- */

/* A note of the machine's CPU use at one moment: the whole machine's and this program's. This
 * program is every process of its session: its threads, and the processes it forked (a
 * process pool's workers too). Compare two with cl_machine_others_since. */
typedef struct cl_machine_mark {
    double wall;          /* cl_now() */
    double machine_busy;  /* CPU seconds every CPU of the machine spent busy, since boot */
    double ours;          /* CPU seconds of this program's processes, reaped children included */
} cl_machine_mark;

/* Returns a note of the machine's CPU use now (machine_busy is -1 where /proc cannot be read). */
cl_machine_mark cl_machine_mark_now(void);

/* Returns how many cores other programs kept busy since mark, on average (0: the machine was ours alone), or -1 if unknown. */
double cl_machine_others_since(cl_machine_mark mark);

#ifdef __cplusplus
}
#endif

#endif
