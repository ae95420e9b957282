/* cpu_sampler.h — CPU use over time (tl_cpu, timeline_model.h), sampled from /proc/stat (per
 * core) and /proc/self/stat (the process and the children it waited for) plus the stat files of
 * the children still running, by a thread of its own.
 *
 * The thread is a plain pthread, not a cl_thread: the hook does not see it (it would show up
 * as a lane of its own in every timeline) and the emulated GIL does not concern it (gil.c only
 * stops threads that joined its participants), so it samples on time even while the cell's
 * threads queue for the GIL. It blocks every signal, so none meant for the cell lands on it.
 *
 * Sample 0 is the moment sampling started: an empty interval, so its values are 0 and pictures
 * draw sample i over (times[i-1], times[i]]. /proc counts in clock ticks (10 ms on most
 * kernels), so one 50 ms sample is only good to about 20 %; the means over a run are better. */
#ifndef CONCLAB_RUNTIME_CPU_SAMPLER_H
#define CONCLAB_RUNTIME_CPU_SAMPLER_H

#include "timeline_model.h"

#define CL_CPU_SAMPLER_INTERNAL __attribute__((visibility("hidden")))

#define CL_CPU_DEFAULT_INTERVAL 0.05

typedef struct cl__cpu_sampler cl__cpu_sampler;

/* Takes the first sample now and starts sampling every `interval` seconds (<= 0: the default);
 * NULL when /proc cannot be read or no thread can be started. */
CL_CPU_SAMPLER_INTERNAL cl__cpu_sampler *cl__cpu_sampler_start(double interval);
/* A copy of the samples so far, while sampling goes on (for a live view); free with cl__cpu_free. */
CL_CPU_SAMPLER_INTERNAL tl_cpu *cl__cpu_sampler_snapshot(cl__cpu_sampler *s);
/* Takes a last sample, stops the thread, frees the sampler and returns its samples. */
CL_CPU_SAMPLER_INTERNAL tl_cpu *cl__cpu_sampler_stop(cl__cpu_sampler *s);
/* Frees samples (NULL is fine). */
CL_CPU_SAMPLER_INTERNAL void cl__cpu_free(tl_cpu *c);

#endif
