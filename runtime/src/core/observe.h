/* observe.h — how the runtime's primitives report to the hook (conclab/hook.h) and cooperate with
 * the emulated GIL (gil.c). Internal: every blocking call follows the same pattern,
 *
 *     cl__observe(CL_EVENT_WAIT, "lock", l);
 *     cl__blocking_begin();          // the GIL, if on and held, is let go while we wait
 *     ... wait ...
 *     cl__blocking_end();            // and taken back before we return to the caller
 *     cl__observe(CL_EVENT_ACQUIRE, "lock", l);
 */
#ifndef CONCLAB_RUNTIME_OBSERVE_H
#define CONCLAB_RUNTIME_OBSERVE_H

#include "conclab/hook.h"

#define CL_INTERNAL __attribute__((visibility("hidden")))

/* Reports one event to the observer, if there is one (a cheap test when there is none). */
CL_INTERNAL void cl__observe(cl_event_kind kind, const char *primitive, const void *object);

/* Reports to the user's observer alone, for an event the tracer recorded already (at the moment
 * it happens, where the observer may not be called: inside the GIL's busy sections). */
CL_INTERNAL void cl__observe_hook(cl_event_kind kind, const char *primitive, const void *object);

/* Around every wait that may block: release the emulated GIL if this thread holds it, and take
 * it back afterwards. No-ops while the GIL is off. */
CL_INTERNAL void cl__blocking_begin(void);
CL_INTERNAL void cl__blocking_end(void);

/* Is the calling thread one the GIL holds back (so a blocking call should let it go), and which
 * signal does the GIL interrupt threads with? For blocking.c's libc calls. */
CL_INTERNAL int cl__gil_involves_this_thread(void);
CL_INTERNAL int cl__gil_signal(void);

/* A runtime-started thread begins and ends: it must hold the GIL to run while the GIL is on. */
CL_INTERNAL void cl__gil_thread_begin(void);
CL_INTERNAL void cl__gil_thread_end(void);

#endif
