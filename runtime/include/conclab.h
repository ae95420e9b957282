/* conclab.h — the conclab runtime: threads, synchronization, atomics, clocks and output for labs.
 *
 * Names follow Python's threading, time, os and IPython.display modules under one prefix, cl_,
 * so a notebook reads side by side with its chapter. Handles are opaque and come in
 * create/destroy pairs. A call that fails prints a line naming itself to stderr
 * ("cl_thread_join: ...") and returns NULL or 0 as its summary says.
 *
 * This header is read by three audiences, so it keeps three rules:
 *   - it compiles under tcc 0.9.27, which JIT-compiles notebook cells: no _Atomic, no __thread,
 *     no compiler builtins, no structs passed by value;
 *   - every function is declared on one line, right after a one-line summary comment, in each
 *     of the conclab/ headers gathered here: the kernel reads those pairs for completion and
 *     inspection (and follows the #include lines below);
 *   - it stands alone: homework builds with `gcc hw.c $(pkg-config --cflags --libs conclab)`.
 */
#ifndef CONCLAB_H
#define CONCLAB_H

/* One header per concern, all under the cl_ prefix. */
#include <conclab/thread.h>
#include <conclab/sync.h>
#include <conclab/atomic.h>
#include <conclab/local.h>
#include <conclab/future.h>
#include <conclab/pool.h>
#include <conclab/process.h>
#include <conclab/shared.h>
#include <conclab/queue.h>
#include <conclab/pipe.h>
#include <conclab/process_pool.h>
#include <conclab/loop.h>
#include <conclab/async_sync.h>
#include <conclab/async_queue.h>
#include <conclab/generator.h>
#include <conclab/stream.h>
#include <conclab/http.h>
#include <conclab/clock.h>
#include <conclab/output.h>
#include <conclab/display.h>
#include <conclab/chart.h>
#include <conclab/timeline.h>
#include <conclab/check.h>
#include <conclab/hook.h>
#include <conclab/gil.h>
#include <conclab/trace.h>
#include <conclab/chaos.h>

#endif
