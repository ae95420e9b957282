/* coro_guard.c — turning a coroutine's stack overflow into one clear line (coro.h).
 *
 * An overflow faults in the guard page with the stack pointer at the end of the stack, so the
 * SIGSEGV handler must run elsewhere: on an alternate signal stack, which each thread that runs
 * coroutines gets unless it already has one. The handler asks coro.c whether the fault is the
 * running coroutine's overflow (coro.c prints the line if so), then hands the signal on to
 * whatever handled SIGSEGV before us, so a host's crash reporter still has its say and the
 * process dies of SIGSEGV as it would have without us. */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <ucontext.h>

#include "coro.h"

enum { ALTERNATE_STACK_SIZE = 64 << 10 };

static pthread_mutex_t install_lock = PTHREAD_MUTEX_INITIALIZER;
static struct sigaction previous; /* the SIGSEGV action in place before ours */

static __thread void *own_alternate_stack __attribute__((tls_model("initial-exec")));
static __thread int handling __attribute__((tls_model("initial-exec"))); /* a chain back to us */

static int is_function(const struct sigaction *sa) {
    if (sa->sa_flags & SA_SIGINFO) return sa->sa_sigaction != NULL;
    return sa->sa_handler != SIG_DFL && sa->sa_handler != SIG_IGN;
}

static void set_default(int sig) {
    struct sigaction dfl;
    memset(&dfl, 0, sizeof dfl);
    dfl.sa_handler = SIG_DFL;
    sigemptyset(&dfl.sa_mask);
    sigaction(sig, &dfl, NULL);
}

/* Gives the signal to the handler that was there before us, as the kernel would have.
 * A fault repeats as soon as we return; a sent signal (si_code <= 0) must be raised again. */
static void pass_on(int sig, siginfo_t *info, void *context, int overflow) {
    struct sigaction before = previous;
    int sent = info->si_code <= 0;
    if (!is_function(&before)) {
        sigaction(sig, &before, NULL);
        if (sent && before.sa_handler == SIG_DFL) raise(sig); /* pending until we return */
        return;
    }
    if (before.sa_flags & SA_RESETHAND) set_default(sig);
    if (before.sa_flags & SA_SIGINFO)
        before.sa_sigaction(sig, info, context);
    else
        before.sa_handler(sig);
    /* It returned, and the stack is still full: die of the repeated fault, do not loop. */
    if (overflow) set_default(sig);
}

static void on_segv(int sig, siginfo_t *info, void *context) {
    int saved_errno = errno;
    if (handling) { /* a handler we passed the signal to passed it back: take the default */
        set_default(sig);
        if (info->si_code <= 0) raise(sig);
        return;
    }
    handling = 1;
    const void *sp = NULL;
#if defined(__x86_64__)
    sp = (const void *)((ucontext_t *)context)->uc_mcontext.gregs[REG_RSP];
#elif defined(__aarch64__)
    sp = (const void *)((ucontext_t *)context)->uc_mcontext.sp;
#endif
    int overflow = info->si_code > 0 && cl__coro_explain_fault(info->si_addr, sp);
    pass_on(sig, info, context, overflow);
    handling = 0;
    errno = saved_errno;
}

static int is_ours(const struct sigaction *sa) {
    return (sa->sa_flags & SA_SIGINFO) && sa->sa_sigaction == on_segv;
}

/* The handler's stack: the thread's own alternate stack if it has one, else one of ours. */
static void ensure_alternate_stack(void) {
    stack_t now;
    if (sigaltstack(NULL, &now) == 0 && !(now.ss_flags & SS_DISABLE)) return;
    if (!own_alternate_stack) {
        void *p = mmap(NULL, ALTERNATE_STACK_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED) return;
        own_alternate_stack = p;
    }
    stack_t alt = {.ss_sp = own_alternate_stack, .ss_flags = 0, .ss_size = ALTERNATE_STACK_SIZE};
    sigaltstack(&alt, NULL);
}

void cl__coro_guard_install(void) {
    ensure_alternate_stack();
    pthread_mutex_lock(&install_lock);
    struct sigaction now;
    if (sigaction(SIGSEGV, NULL, &now) == 0 && !is_ours(&now)) {
        /* Our handler is not running while we write this: it is not installed (any more). */
        previous = now;
        struct sigaction ours;
        memset(&ours, 0, sizeof ours);
        ours.sa_sigaction = on_segv;
        ours.sa_flags = SA_SIGINFO | SA_ONSTACK;
        sigemptyset(&ours.sa_mask);
        sigaction(SIGSEGV, &ours, NULL);
    }
    pthread_mutex_unlock(&install_lock);
}

void cl__coro_guard_thread_exit(void) {
    if (!own_alternate_stack) return;
    stack_t now;
    if (sigaltstack(NULL, &now) == 0 && now.ss_sp == own_alternate_stack && !(now.ss_flags & SS_DISABLE)) {
        stack_t off = {.ss_sp = NULL, .ss_flags = SS_DISABLE, .ss_size = 0};
        sigaltstack(&off, NULL);
    }
    munmap(own_alternate_stack, ALTERNATE_STACK_SIZE);
    own_alternate_stack = NULL;
}
