/* coro.h — stackful coroutines: the ground the event loop's tasks stand on (issue 6). Internal.
 *
 * A coroutine runs a function on a stack of its own. cl__coro_resume runs it until it yields or
 * returns; cl__coro_yield, called inside it, goes back to whoever resumed it. Resuming works from
 * a thread's own stack or from inside another coroutine (nesting, like a generator that drives
 * another generator); a coroutine that is running, or waiting for one it resumed, cannot be
 * resumed again (Python: "generator already executing").
 *
 * Threads: a coroutine belongs to the thread that created it and is resumed only there (as an
 * asyncio task belongs to its loop's thread). It may be freed from any thread.
 *
 * Stacks: one mapping per coroutine, [guard page][stack ... its record], from mmap. The default
 * stack is CL_CORO_DEFAULT_STACK, 16 KiB (20 KiB with the guard page), so 100 000 live
 * coroutines take about 2 GiB of address space, well under a notebook cell's 4 GiB RLIMIT_AS.
 * That is room for ordinary C (printf with floating point takes about 2-3 KiB), not for big
 * local arrays or deep recursion: ask for a larger stack per coroutine. Sizes round up to whole
 * pages, at least 8 KiB. The coroutine's record (about 200 bytes; 1.2 KiB with the ucontext
 * fallback) sits at the top of its stack, so creating one allocates nothing else; each thread
 * keeps up to CL_CORO_STACK_CACHE (256: 5 MiB of address space) default-sized stacks of freed
 * coroutines for the next ones, so a loop with hundreds of tasks alive does not map and unmap a
 * stack per task.
 *
 * Guard pages, and the kernel's map count: a page made PROT_NONE with mprotect splits the mapping
 * in two, and Linux allows 65 530 mappings per process by default (vm.max_map_count), so 100 000
 * guarded stacks cannot exist that way. Where the kernel has MADV_GUARD_INSTALL (Linux 6.13 and
 * later) the guard costs no mapping and every stack has one. Elsewhere (Debian 12's 6.1 kernel)
 * stacks get an mprotect guard while those use at most a quarter of vm.max_map_count; beyond that
 * a stack has a canary instead, checked each time its coroutine switches out, which catches an
 * overflow later and less surely than a guard page does.
 *
 * Stack overflow: a fault in the guard page of the running coroutine (or with its stack pointer
 * below its stack) prints one line on stderr, "stack overflow in task 'name' (16 KiB stack)",
 * then the process dies of SIGSEGV as it would have without us: the previously installed SIGSEGV
 * handler (the kernel's crash reporter, kernel/cellhost/crash.c) still runs. The handler runs on an
 * alternate signal stack that every thread gets when it first creates a coroutine, unless it
 * already has one. Other faults go to the previous handler untouched. */
#ifndef CONCLAB_RUNTIME_CORO_H
#define CONCLAB_RUNTIME_CORO_H

#include <stddef.h>

#include "context.h" /* CL_INTERNAL, CL_ASAN, CL_TSAN */

/* Sanitized code needs far more stack per frame (redzones, bigger frames). */
#if defined(CL_ASAN) || defined(CL_TSAN)
#define CL_CORO_DEFAULT_STACK (64 * 1024)
#else
#define CL_CORO_DEFAULT_STACK (16 * 1024)
#endif
#define CL_CORO_MIN_STACK (8 * 1024)
#define CL_CORO_STACK_CACHE 256
#define CL_CORO_NAME_CAP 64 /* longer names are cut to 63 bytes */

typedef struct cl_coro cl_coro;
typedef void (*cl_coro_fn)(void *arg);

/* Creates a suspended coroutine that will run fn(arg); NULL name means "Task-N"; stack_size 0 means the default. NULL with errno set when out of memory. */
CL_INTERNAL cl_coro *cl__coro_create(cl_coro_fn fn, void *arg, const char *name, size_t stack_size);

/* Runs the coroutine until it yields or returns; 0, or -1 (reported) when it cannot be resumed. */
CL_INTERNAL int cl__coro_resume(cl_coro *c);

/* Inside a coroutine: suspends it and returns to its resumer; 0 once resumed, -1 (reported) outside any coroutine. */
CL_INTERNAL int cl__coro_yield(void);

/* Whether the coroutine's function has returned. */
CL_INTERNAL int cl__coro_done(const cl_coro *c);

/* The coroutine running on this thread, or NULL on the thread's own stack. */
CL_INTERNAL cl_coro *cl__coro_current(void);

/* The coroutine's name. */
CL_INTERNAL const char *cl__coro_name(const cl_coro *c);

/* Renames the coroutine (cut to 63 bytes), so a later overflow report uses the new name. */
CL_INTERNAL void cl__coro_rename(cl_coro *c, const char *name);

/* The usable size of the coroutine's stack in bytes (its record included). */
CL_INTERNAL size_t cl__coro_stack_size(const cl_coro *c);

/* Frees a coroutine that is not running; a suspended one is dropped without unwinding its stack. */
CL_INTERNAL void cl__coro_free(cl_coro *c);

/* Makes sure this thread's stack overflows are caught: an alternate signal stack and our SIGSEGV handler in front (again, if something replaced it). Creating a coroutine does this when it maps a new stack; an event loop calls it when it starts. */
CL_INTERNAL void cl__coro_guard_install(void);

/* ---- between coro.c and coro_guard.c ---- */

/* From the SIGSEGV handler (async-signal-safe): if a fault at addr with the stack pointer at sp is the running coroutine overflowing its stack, says so on stderr and returns 1. */
CL_INTERNAL int cl__coro_explain_fault(const void *addr, const void *sp);

/* A thread that created coroutines ends: lets go of its alternate signal stack. */
CL_INTERNAL void cl__coro_guard_thread_exit(void);

/* For tests: pretend the kernel has no MADV_GUARD_INSTALL (use_madvise 0) and allow at most mprotect_budget mprotect guards (negative: a quarter of vm.max_map_count). */
CL_INTERNAL void cl__coro_test_guard_policy(int use_madvise, long mprotect_budget);

#endif
