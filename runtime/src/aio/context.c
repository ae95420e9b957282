/* context.c — the switch from one stack to another; see context.h.
 *
 * x86-64: cl__context_swap pushes the callee-saved registers on the running stack, then one
 * 8-byte slot with MXCSR (4 bytes) and the x87 control word (2 bytes), stores the stack pointer,
 * loads the other one and undoes the same steps in reverse. Loading MXCSR and the control word
 * costs more than all the rest (ldmxcsr and fldcw are slow), and the two stacks nearly always hold
 * the same values, so the loads are skipped when the two slots are equal. A fresh context is a
 * stack laid out
 * as if it had been switched away from just before entering cl__context_entry, the trampoline
 * that calls fn(arg) with r12 = fn and r13 = arg.
 *
 *     saved sp ->  [ MXCSR | x87 CW | pad ]   (8 bytes)
 *                  [ r15 ] [ r14 ] [ r13 = arg ] [ r12 = fn ] [ rbx ] [ rbp = 0 ]
 *                  [ return address = cl__context_entry ]
 *        top   ->  [ 0 ]  16-byte aligned: after the jump the trampoline's rsp is 16-aligned, so its
 *                         `call` leaves the callee at rsp = 8 (mod 16), as the SysV ABI wants.
 *
 * The swap leaves by popping the return address and jumping to it, not by `ret`: a `ret` is
 * predicted from the return stack buffer, which holds the call site on the stack being left,
 * so every switch mispredicted (about 10 ns of the 24 a switch took on an AMD EPYC); an indirect
 * jump is predicted from its own history, which learns the ping-pong of a resume and a yield.
 * rcx is free to use there: the caller does not expect it preserved.
 *
 * rbp = 0 and a null slot above the trampoline end frame-pointer walks (gdb, the sanitizers, the
 * kernel's crash reporter) at the coroutine's first frame, and `.cfi_undefined rip` tells
 * DWARF unwinders the same thing. */
#define _GNU_SOURCE
#include "context.h"

#include <stdint.h>
#include <stdlib.h>

/* ---- sanitizers (CL_ASAN / CL_TSAN come from context.h) ------------------------------------ */

#ifdef CL_ASAN
#include <sanitizer/common_interface_defs.h>
#endif
#ifdef CL_TSAN
#include <sanitizer/tsan_interface.h>
#endif

#ifdef CL_ASAN
/* The context being switched away from, so the one arriving can tell ASan's answer about the
 * stack it left to its owner: that is how a thread's own stack bounds become known. */
static __thread cl_context *leaving;
#endif

/* Just before the jump. finishing: the context left will never run again (ASan frees its fake
 * frames instead of keeping them). */
static void announce_switch(cl_context *from, cl_context *to, int finishing) {
#ifdef CL_ASAN
    leaving = from;
    __sanitizer_start_switch_fiber(finishing ? NULL : &from->asan_fake_stack, to->stack_lo, to->stack_size);
#else
    (void)from, (void)finishing;
#endif
#ifdef CL_TSAN
    __tsan_switch_to_fiber(to->tsan_fiber, 0); /* 0: fibers on one thread run one after another */
#else
    (void)to;
#endif
}

/* First thing on the stack switched to. */
static void announce_arrival(cl_context *self) {
#ifdef CL_ASAN
    const void *bottom = NULL;
    size_t size = 0;
    __sanitizer_finish_switch_fiber(self ? self->asan_fake_stack : NULL, &bottom, &size);
    if (leaving && !leaving->stack_lo) {
        leaving->stack_lo = (void *)bottom;
        leaving->stack_size = size;
    }
#else
    (void)self;
#endif
}

/* ---- the switch itself ------------------------------------------------------------------------ */

#if CL_CONTEXT_ASSEMBLY

#if !CL_CONTEXT_INLINE_SWITCH
CL_INTERNAL void cl__context_swap(void **save_sp, void *load_sp);
#endif
CL_INTERNAL void cl__context_entry(void);

__asm__(
    ".text\n"
    ".globl cl__context_swap\n"
    ".hidden cl__context_swap\n"
    ".type cl__context_swap, @function\n"
    ".p2align 4\n"
    "cl__context_swap:\n"           /* rdi = where to save our sp, rsi = the sp to load */
    "    pushq %rbp\n"
    "    pushq %rbx\n"
    "    pushq %r12\n"
    "    pushq %r13\n"
    "    pushq %r14\n"
    "    pushq %r15\n"
    "    pushq $0\n"               /* the controls' slot, padding zeroed for the compare */
    "    stmxcsr (%rsp)\n"
    "    fnstcw 4(%rsp)\n"
    "    movq %rsp, (%rdi)\n"
    "    movq (%rsp), %rax\n"      /* our controls, to compare with the ones to load */
    "    movq %rsi, %rsp\n"
    "    cmpq (%rsp), %rax\n"      /* the same (nearly always): skip the slow loads */
    "    jne 1f\n"
    "    addq $8, %rsp\n"
    "    popq %r15\n"
    "    popq %r14\n"
    "    popq %r13\n"
    "    popq %r12\n"
    "    popq %rbx\n"
    "    popq %rbp\n"
    "    popq %rcx\n"             /* not ret: see the top of the file */
    "    jmpq *%rcx\n"
    "1:  ldmxcsr (%rsp)\n"
    "    fldcw 4(%rsp)\n"
    "    addq $8, %rsp\n"
    "    popq %r15\n"
    "    popq %r14\n"
    "    popq %r13\n"
    "    popq %r12\n"
    "    popq %rbx\n"
    "    popq %rbp\n"
    "    popq %rcx\n"             /* not ret: see the top of the file */
    "    jmpq *%rcx\n"
    ".size cl__context_swap, .-cl__context_swap\n"
    "\n"
    ".globl cl__context_entry\n"
    ".hidden cl__context_entry\n"
    ".type cl__context_entry, @function\n"
    ".p2align 4\n"
    "cl__context_entry:\n"          /* reached by the swap's jump on a fresh stack */
    "    .cfi_startproc\n"
    "    .cfi_undefined rip\n"
    "    movq %r13, %rdi\n"
    "    callq *%r12\n"
    "    ud2\n"                     /* the function must not return (see context.h) */
    "    .cfi_endproc\n"
    ".size cl__context_entry, .-cl__context_entry\n");

static void jump(cl_context *from, cl_context *to) { cl__context_swap(&from->sp, to->sp); }

/* The floating-point control state a new context starts with: the creator's, as a new thread
 * inherits its creator's floating-point environment. */
static uint64_t current_fpu_controls(void) {
    uint32_t mxcsr;
    uint16_t x87;
    __asm__ volatile("stmxcsr %0" : "=m"(mxcsr));
    __asm__ volatile("fnstcw %0" : "=m"(x87));
    return (uint64_t)mxcsr | (uint64_t)x87 << 32;
}

static void lay_out_stack(cl_context *ctx, void (*start)(void *)) {
    uintptr_t top = ((uintptr_t)ctx->stack_lo + ctx->stack_size) & ~(uintptr_t)15;
    uint64_t *slot = (uint64_t *)top - 2;
    slot[0] = 0;                                 /* top: nothing above the trampoline */
    *--slot = (uint64_t)(uintptr_t)cl__context_entry;
    *--slot = 0;                                 /* rbp */
    *--slot = 0;                                 /* rbx */
    *--slot = (uint64_t)(uintptr_t)start;        /* r12 */
    *--slot = (uint64_t)(uintptr_t)ctx;          /* r13 */
    *--slot = 0;                                 /* r14 */
    *--slot = 0;                                 /* r15 */
    *--slot = current_fpu_controls();
    ctx->sp = slot;
}

#else /* ucontext fallback */

static void jump(cl_context *from, cl_context *to) { swapcontext(&from->uc, &to->uc); }

static void start(void *arg);

/* makecontext passes ints: the context's address travels in two halves. */
static void ucontext_entry(unsigned hi, unsigned lo) {
    start((void *)(((uintptr_t)hi << 16 << 16) | (uintptr_t)lo));
}

static void lay_out_stack(cl_context *ctx, void (*entry)(void *)) {
    uintptr_t p = (uintptr_t)ctx;
    (void)entry; /* always start(), reached through ucontext_entry */
    getcontext(&ctx->uc);
    ctx->uc.uc_stack.ss_sp = ctx->stack_lo;
    ctx->uc.uc_stack.ss_size = ctx->stack_size;
    ctx->uc.uc_link = NULL;
    makecontext(&ctx->uc, (void (*)(void))ucontext_entry, 2, (unsigned)(p >> 16 >> 16), (unsigned)p);
}

#endif

/* ---- the interface ---------------------------------------------------------------------------- */

/* Where every made context starts: finish the sanitizers' side of the switch, then run. */
static void start(void *arg) {
    cl_context *ctx = arg;
    announce_arrival(NULL);
    ctx->fn(ctx->arg);
    abort(); /* fn must leave with cl__context_exit (see context.h) */
}

void cl__context_init_thread(cl_context *ctx) {
    *ctx = (cl_context){0};
#ifdef CL_TSAN
    ctx->tsan_fiber = __tsan_get_current_fiber();
#endif
}

void cl__context_make(cl_context *ctx, void *stack_lo, size_t stack_size, cl_context_fn fn, void *arg) {
    *ctx = (cl_context){.fn = fn, .arg = arg, .stack_lo = stack_lo, .stack_size = stack_size};
#ifdef CL_TSAN
    ctx->tsan_fiber = __tsan_create_fiber(0);
#endif
    lay_out_stack(ctx, start);
}

#if !CL_CONTEXT_INLINE_SWITCH
void cl__context_switch(cl_context *from, cl_context *to) {
    announce_switch(from, to, 0);
    jump(from, to);
    announce_arrival(from);
}
#endif

void cl__context_exit(cl_context *from, cl_context *to) {
    announce_switch(from, to, 1);
    jump(from, to);
    abort(); /* nothing switches back to a finished context */
}

void cl__context_release(cl_context *ctx) {
#ifdef CL_TSAN
    if (ctx->tsan_fiber) __tsan_destroy_fiber(ctx->tsan_fiber);
#endif
    ctx->tsan_fiber = NULL;
}
