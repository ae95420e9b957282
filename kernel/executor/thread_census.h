/* thread_census.h — which threads are alive in the holder and which cell started each, so the
 * kernel can say "2 threads from cell [3] are still running" and %threads can list them.
 * Threads are seen through /proc/self/task: those started by the runtime and by plain
 * pthread_create alike. The table lives in the holder's memory and so follows it across forks. */
#ifndef CONCLAB_THREAD_CENSUS_H
#define CONCLAB_THREAD_CENSUS_H

#include <jansson.h>

/* The calling thread is the executor's own (a watchdog), never a cell's. */
void thread_census_exclude_self(void);

/* After cell `cell` ran: threads not seen before are credited to it; gone ones are forgotten. */
void thread_census_take(int cell);

/* [{"cell": 3, "count": 2}, ...] for the threads alive now (other than the main thread). */
json_t *thread_census_by_cell(void);

/* [{"tid", "cell", "state", "name"}, ...] for %threads. */
json_t *thread_census_list(void);

#endif
