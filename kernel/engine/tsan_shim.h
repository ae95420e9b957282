/* tsan_shim.h — what %%tsan adds to the exported notebook so ThreadSanitizer understands the
 * runtime (tsan_cell.c builds it).
 *
 * libconclab is not built with -fsanitize=thread, and its locks, semaphores and events wait on
 * futexes, which TSan does not see: a counter every thread updates under cl_lock would be
 * reported as a race. The shim tells TSan about each synchronization instead, using only the
 * runtime's public API: an observer (conclab/hook.h) turns every reported acquire into
 * __tsan_acquire(handle) and every release into __tsan_release(handle), and -Wl,--wrap
 * wrappers cover the calls whose release the runtime reports late or not at all (event set,
 * semaphore release, barriers, queues, cl_atomic_*). Wrapping cl_thread_start also puts the
 * cell's line into TSan's "created by ... at" stacks. A program that installs its own observer
 * (cl_hook_set) still gets it: the shim calls it after its own. */
#ifndef CONCLAB_TSAN_SHIM_H
#define CONCLAB_TSAN_SHIM_H

extern const char tsan_shim_source[];  /* a C file, built with the program */
extern const char tsan_link_wraps[];   /* the one gcc argument that links it: -Wl,--wrap=...,... */

#endif
