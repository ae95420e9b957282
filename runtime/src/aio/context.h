/* context.h — the machine-level switch under the runtime's coroutines (coro.h): save where one
 * stack is, jump to another. Internal; nothing here knows about names, states or stack caches.
 *
 * On x86-64 the switch is a dozen instructions of our own (context.c): it saves the callee-saved
 * registers (rbx, rbp, r12-r15), the stack pointer, MXCSR and the x87 control word, which is
 * everything the SysV ABI says a function call preserves. Elsewhere, or when built with
 * -DCL_CONTEXT_FORCE_UCONTEXT, it falls back to getcontext/makecontext/swapcontext.
 *
 * Under ASan and TSan every switch is announced to the sanitizer (fiber annotations), so both
 * follow the program from one stack to another instead of reporting false errors.
 *
 * Lifetimes: a thread's own context describes the stack the thread started on; a made context
 * runs a function on a stack the caller owns. The function must never return: when it is done it
 * leaves with cl__context_exit. A made context is released (cl__context_release) only while it
 * is not running. */
#ifndef CONCLAB_RUNTIME_CONTEXT_H
#define CONCLAB_RUNTIME_CONTEXT_H

#include <stddef.h>

#include "observe.h" /* CL_INTERNAL */

#if defined(__x86_64__) && !defined(CL_CONTEXT_FORCE_UCONTEXT)
#define CL_CONTEXT_ASSEMBLY 1
#else
#define CL_CONTEXT_ASSEMBLY 0
#include <ucontext.h>
#endif

/* Built with a sanitizer that must be told about switches (gcc defines the macros, clang the
 * features). */
#if defined(__SANITIZE_ADDRESS__)
#define CL_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define CL_ASAN 1
#endif
#endif
#if defined(__SANITIZE_THREAD__)
#define CL_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define CL_TSAN 1
#endif
#endif

typedef void (*cl_context_fn)(void *arg);

typedef struct cl_context {
#if CL_CONTEXT_ASSEMBLY
    void *sp;              /* the saved stack pointer; the registers are on that stack */
#else
    ucontext_t uc;
#endif
    cl_context_fn fn;      /* what a made context runs, and its argument */
    void *arg;
    void *stack_lo;        /* lowest usable byte of the stack (learnt on the fly for a thread's) */
    size_t stack_size;
    void *asan_fake_stack; /* ASan's fake frames of this context while it is switched out */
    void *tsan_fiber;      /* TSan's view of this context */
} cl_context;

/* Describes the calling thread's own stack, to switch away from and back to. */
CL_INTERNAL void cl__context_init_thread(cl_context *ctx);

/* Prepares ctx to run fn(arg) on [stack_lo, stack_lo + stack_size) at its first switch. */
CL_INTERNAL void cl__context_make(cl_context *ctx, void *stack_lo, size_t stack_size, cl_context_fn fn, void *arg);

/* Saves the running context into from and continues to; returns when something switches back.
 * Without sanitizers to tell, on x86-64, it is the assembly swap itself, inlined into callers. */
#if CL_CONTEXT_ASSEMBLY && !defined(CL_ASAN) && !defined(CL_TSAN)
#define CL_CONTEXT_INLINE_SWITCH 1
CL_INTERNAL void cl__context_swap(void **save_sp, void *load_sp);
static inline void cl__context_switch(cl_context *from, cl_context *to) { cl__context_swap(&from->sp, to->sp); }
#else
#define CL_CONTEXT_INLINE_SWITCH 0
CL_INTERNAL void cl__context_switch(cl_context *from, cl_context *to);
#endif

/* Like cl__context_switch, for a context that will never run again (its function is finished). */
CL_INTERNAL void cl__context_exit(cl_context *from, cl_context *to) __attribute__((noreturn));

/* Lets go of what the sanitizers keep for a made context; its stack is the caller's to reuse. */
CL_INTERNAL void cl__context_release(cl_context *ctx);

#endif
