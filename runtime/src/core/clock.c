/* clock.c — time and machine facts: cl_now, cl_sleep, cl_cpu_count. */
#define _GNU_SOURCE /* sched_getaffinity, CPU_COUNT */
#include "conclab.h"
#include "observe.h"
#include "report.h"

#include <errno.h>
#include <sched.h>
#include <time.h>
#include <unistd.h>

/* Longer than any lab runs; keeps the double-to-time_t conversion defined. */
#define LONGEST_SLEEP_SECONDS 1e9

double cl_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

void cl_sleep(double seconds) {
    if (!(seconds >= 0)) { /* also catches NaN */
        cl_report("cl_sleep", "seconds must be >= 0, got %g", seconds);
        return;
    }
    if (seconds > LONGEST_SLEEP_SECONDS) {
        cl_report("cl_sleep", "%g seconds is too long", seconds);
        return;
    }
    struct timespec left;
    left.tv_sec = (time_t)seconds;
    left.tv_nsec = (long)((seconds - (double)left.tv_sec) * 1e9);
    if (left.tv_nsec > 999999999) left.tv_nsec = 999999999;
    /* Like time.sleep, a sleep lets the emulated GIL go while it lasts. The hook sees a "sleep"
     * wait that ends in a timeout: nothing is acquired, the time simply runs out. */
    cl__observe(CL_EVENT_WAIT, "sleep", NULL);
    cl__blocking_begin();
    /* A signal handler (a profiler, a debugger, the GIL's) must not cut the sleep short: like
     * time.sleep, carry on with what is left. */
    while (nanosleep(&left, &left) != 0 && errno == EINTR)
        ;
    cl__blocking_end();
    cl__observe(CL_EVENT_TIMEOUT, "sleep", NULL);
}

int cl_cpu_count(void) {
    /* The CPUs this process may use (taskset, cgroups), not every CPU in the machine: that is
     * the number a lab should size its thread pool by. */
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) == 0 && CPU_COUNT(&set) > 0) return CPU_COUNT(&set);
    long online = sysconf(_SC_NPROCESSORS_ONLN);
    return online > 0 ? (int)online : 1;
}
