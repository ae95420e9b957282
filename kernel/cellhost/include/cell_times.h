/* cell_times.h — %%time: what a cell cost, printed after it as IPython prints it, plus the cores
 * it kept busy on average ((user + sys) / wall), the figure a concurrency lab is about: ~1 for
 * one busy thread or for threads under the GIL, ~2 for two busy threads on two cores. User and
 * sys time count every thread of the cell's process and the child processes it waited for. */
#ifndef CONCLAB_CELL_TIMES_H
#define CONCLAB_CELL_TIMES_H

typedef struct cell_times {
    double wall, user, sys;  /* seconds */
} cell_times;

/* The clocks now. */
void cell_times_now(cell_times *t);

/* On stdout, what passed since `started`:
 *   CPU times: user 1.98 s, sys: 4.1 ms, total: 1.99 s
 *   Wall time: 1 s
 *   Cores used: 1.99 */
void cell_times_report(const cell_times *started);

/* %timeit's engine, bound into cells as __cl_timeit: runs fn in loops of 1, 2, 5, 10, 20, ...
 * until one loop takes 0.2 s or more, then 7 such runs, and prints as IPython does:
 *   1.01 ms ± 12.3 µs per loop (mean ± std. dev. of 7 runs, 100 loops each) */
void cell_times_timeit(void (*fn)(void));

/* A duration as IPython writes one: three significant digits and a unit (ns, µs, ms, s). */
void cell_times_format(double seconds, char *out, unsigned size);

#endif
