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

#ifdef __cplusplus
}
#endif

#endif
