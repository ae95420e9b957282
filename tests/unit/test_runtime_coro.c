/* test_runtime_coro.c — the coroutine core under the event loop (issue 6): runtime/src/aio/context.c,
 * coro.c and coro_guard.c. Their API is internal (hidden in libconclab), so this test compiles
 * those files into itself (runtime_coro.cmake) and drives them from the outside of coro.h.
 *
 * Crashes (stack overflows, stray faults) run in forked children whose stderr and fate the
 * parent checks. With CONCLAB_TEST_TCC the same executable also runs tcc-compiled code (what a
 * notebook cell is) on coroutine stacks. */
#define _GNU_SOURCE
#include <errno.h>
#include <fenv.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "capture_stderr.h"
#include "check.h"
#include "coro.h"

#ifdef CONCLAB_TEST_TCC
#include <libtcc.h>
#endif

/* Sanitized runs keep the shape of each test with fewer coroutines (TSan keeps state per fiber). */
#if defined(CL_TSAN)
enum { MANY = 2000 };
#elif defined(CL_ASAN)
enum { MANY = 20000 };
#else
enum { MANY = 100000 };
#endif

#ifdef CL_ASAN
/* The overflow tests need the process to die of SIGSEGV through our handler, not ASan's. */
const char *__asan_default_options(void);
const char *__asan_default_options(void) { return "handle_segv=0:allocator_may_return_null=1"; }
#endif
#ifdef CL_TSAN
const char *__tsan_default_options(void);
const char *__tsan_default_options(void) { return "handle_segv=0"; }
#endif

/* ---- forked children -------------------------------------------------------------------------- */

typedef struct outcome {
    int exit_status;  /* -1 when killed */
    int signal;       /* 0 when exited */
    char err[8192];   /* what the child wrote on stderr */
} outcome;

static void show(const char *what, const outcome *o) {
    if (getenv("CORO_TEST_VERBOSE"))
        fprintf(stderr, "[%s] exit %d signal %d stderr:\n%s---\n", what, o->exit_status, o->signal, o->err);
}

static outcome in_child(void (*body)(void)) {
    outcome o = {-1, 0, ""};
    int pipefd[2];
    if (pipe(pipefd) != 0) return o;
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid == 0) {
        dup2(pipefd[1], 2);
        close(pipefd[0]);
        close(pipefd[1]);
        body();
        _exit(0);
    }
    close(pipefd[1]);
    size_t got = 0;
    ssize_t n;
    while ((n = read(pipefd[0], o.err + got, sizeof o.err - 1 - got)) > 0) got += (size_t)n;
    o.err[got] = '\0';
    close(pipefd[0]);
    int status = 0;
    waitpid(pid, &status, 0);
    if (WIFEXITED(status)) o.exit_status = WEXITSTATUS(status);
    if (WIFSIGNALED(status)) o.signal = WTERMSIG(status);
    return o;
}

/* ---- ping-pong -------------------------------------------------------------------------------- */

typedef struct player {
    char who;
    int rounds;
    char *log;
    int *at;
    cl_coro *self_seen;
} player;

static void play(void *arg) {
    player *p = arg;
    p->self_seen = cl__coro_current();
    for (int i = 0; i < p->rounds; i++) {
        p->log[(*p->at)++] = p->who;
        cl__coro_yield();
    }
}

static void test_ping_pong(void) {
    char log[32] = "";
    int at = 0;
    player a = {'a', 3, log, &at, NULL}, b = {'b', 3, log, &at, NULL};
    cl_coro *ca = cl__coro_create(play, &a, "ping", 0);
    cl_coro *cb = cl__coro_create(play, &b, "pong", 0);
    CHECK(ca && cb);
    if (!ca || !cb) return;
    CHECK(cl__coro_current() == NULL);
    CHECK_STR(cl__coro_name(ca), "ping");
    CHECK_STR(cl__coro_name(cb), "pong");
    while (!cl__coro_done(ca) || !cl__coro_done(cb)) {
        if (!cl__coro_done(ca)) CHECK(cl__coro_resume(ca) == 0);
        if (!cl__coro_done(cb)) CHECK(cl__coro_resume(cb) == 0);
    }
    CHECK_STR(log, "ababab");
    CHECK(a.self_seen == ca && b.self_seen == cb);
    CHECK(cl__coro_current() == NULL);
    cl__coro_free(ca);
    cl__coro_free(cb);
}

/* ---- nesting and misuse ----------------------------------------------------------------------- */

typedef struct nest {
    cl_coro *outer, *inner;
    char log[32];
    int at;
    int resume_outer_from_inner, resume_self, current_in_inner, current_after_inner;
} nest;

static void inner_body(void *arg) {
    nest *n = arg;
    n->current_in_inner = cl__coro_current() == n->inner;
    n->log[n->at++] = 'i';
    capture_begin();
    n->resume_outer_from_inner = cl__coro_resume(n->outer);
    n->resume_self = cl__coro_resume(n->inner);
    capture_end();
    cl__coro_yield(); /* back to outer, not to main */
    n->log[n->at++] = 'j';
}

static void outer_body(void *arg) {
    nest *n = arg;
    n->log[n->at++] = 'o';
    cl__coro_resume(n->inner);
    n->current_after_inner = cl__coro_current() == n->outer;
    n->log[n->at++] = 'p';
    cl__coro_yield(); /* back to main */
    cl__coro_resume(n->inner);
    n->log[n->at++] = 'q';
}

static void test_nesting(void) {
    nest n = {0};
    n.outer = cl__coro_create(outer_body, &n, "outer", 0);
    n.inner = cl__coro_create(inner_body, &n, "inner", 0);
    CHECK(cl__coro_resume(n.outer) == 0);
    CHECK_STR(n.log, "oip");
    CHECK(n.current_in_inner && n.current_after_inner);
    CHECK(n.resume_outer_from_inner == -1 && n.resume_self == -1);
    CHECK(!cl__coro_done(n.outer) && !cl__coro_done(n.inner));
    CHECK(cl__coro_resume(n.outer) == 0);
    CHECK_STR(n.log, "oipjq");
    CHECK(cl__coro_done(n.outer) && cl__coro_done(n.inner));

    capture_begin();
    CHECK(cl__coro_resume(n.outer) == -1);
    CHECK(starts_with(captured_so_far(), "cl__coro_resume: coroutine 'outer' has already finished"));
    capture_end();
    capture_begin();
    CHECK(cl__coro_yield() == -1);
    CHECK(starts_with(captured_so_far(), "cl__coro_yield: not inside a coroutine"));
    CHECK(cl__coro_resume(NULL) == -1);
    CHECK(cl__coro_create(NULL, NULL, "x", 0) == NULL);
    CHECK(strstr(captured_so_far(), "cl__coro_create: no function to run") != NULL);
    capture_end();
    cl__coro_free(n.outer);
    cl__coro_free(n.inner);
}

static cl_coro *freeing_self;
static int free_running_refused;

static void free_myself(void *arg) {
    (void)arg;
    capture_begin();
    cl__coro_free(freeing_self);
    free_running_refused = strstr(captured_so_far(), "is running: it cannot be freed") != NULL;
    capture_end();
}

static void test_free_running_is_refused(void) {
    freeing_self = cl__coro_create(free_myself, NULL, "selfish", 0);
    CHECK(cl__coro_resume(freeing_self) == 0);
    CHECK(free_running_refused);
    CHECK(cl__coro_done(freeing_self));
    cl__coro_free(freeing_self);
}

static void nothing(void *arg) { (void)arg; }

static void test_default_names(void) {
    cl_coro *a = cl__coro_create(nothing, NULL, NULL, 0);
    cl_coro *b = cl__coro_create(nothing, NULL, NULL, 0);
    CHECK(starts_with(cl__coro_name(a), "Task-") && starts_with(cl__coro_name(b), "Task-"));
    CHECK(strtol(cl__coro_name(b) + 5, NULL, 10) == strtol(cl__coro_name(a) + 5, NULL, 10) + 1);
    char long_name[200];
    memset(long_name, 'n', sizeof long_name - 1);
    long_name[sizeof long_name - 1] = '\0';
    cl_coro *c = cl__coro_create(nothing, NULL, long_name, 0);
    CHECK(strlen(cl__coro_name(c)) == CL_CORO_NAME_CAP - 1);
    CHECK(cl__coro_stack_size(a) == CL_CORO_DEFAULT_STACK);
    cl_coro *big = cl__coro_create(nothing, NULL, "big", 1 << 20);
    cl_coro *tiny = cl__coro_create(nothing, NULL, "tiny", 100);
    CHECK(cl__coro_stack_size(big) == 1 << 20);
    CHECK(cl__coro_stack_size(tiny) == CL_CORO_MIN_STACK);
    cl_coro *all[] = {a, b, c, big, tiny};
    for (int i = 0; i < 5; i++) {
        CHECK(cl__coro_resume(all[i]) == 0 && cl__coro_done(all[i]));
        cl__coro_free(all[i]);
    }
}

/* ---- many at once ----------------------------------------------------------------------------- */

typedef struct sleeper {
    long id, seen;
} sleeper;

static void sleep_once(void *arg) {
    sleeper *s = arg;
    volatile long on_my_stack = s->id * 7 + 1; /* must survive while all the others run */
    cl__coro_yield();
    s->seen = on_my_stack;
}

/* count coroutines alive at once, each resumed once (so suspended mid-body), then finished. */
static int run_many(long count) {
    cl_coro **all = calloc((size_t)count, sizeof *all);
    sleeper *state = calloc((size_t)count, sizeof *state);
    int ok = all && state;
    long made = 0;
    for (; ok && made < count; made++) {
        state[made].id = made;
        all[made] = cl__coro_create(sleep_once, &state[made], NULL, 0);
        if (!all[made] || cl__coro_resume(all[made]) != 0) ok = 0;
    }
    if (getenv("CORO_TEST_VERBOSE")) {
        FILE *maps = fopen("/proc/self/maps", "r");
        long lines = 0;
        for (int ch; maps && (ch = fgetc(maps)) != EOF;) lines += ch == '\n';
        if (maps) fclose(maps);
        long size = 0, resident = 0;
        FILE *statm = fopen("/proc/self/statm", "r");
        if (statm && fscanf(statm, "%ld %ld", &size, &resident) != 2) resident = 0;
        if (statm) fclose(statm);
        fprintf(stderr, "run_many: %ld coroutines alive, %ld mappings, %ld MiB resident\n", made, lines,
                resident * 4096 >> 20);
    }
    if (!ok) fprintf(stderr, "run_many: failed at coroutine %ld of %ld: %s\n", made, count, strerror(errno));
    for (long i = 0; i < made; i++) {
        if (!all[i]) continue;
        if (cl__coro_done(all[i])) ok = 0;
        cl__coro_resume(all[i]);
        if (!cl__coro_done(all[i]) || state[i].seen != i * 7 + 1) ok = 0;
        cl__coro_free(all[i]);
    }
    free(all);
    free(state);
    return ok;
}

static void test_many_alive(void) { CHECK(run_many(MANY)); }

/* Debian 12's kernel has no MADV_GUARD_INSTALL: guards are mprotect'ed up to the map-count
 * budget and canaries past it, and as many coroutines must still fit. */
static void many_without_madvise(void) {
    cl__coro_test_guard_policy(0, -1);
    _exit(run_many(MANY) ? 0 : 1);
}

static void test_many_alive_without_madvise(void) {
    outcome o = in_child(many_without_madvise);
    CHECK(o.exit_status == 0);
    if (o.err[0]) fprintf(stderr, "%s", o.err);
}

/* ---- registers and floating-point state ------------------------------------------------------- */

#ifdef __x86_64__
/* Each helper loads its own values into every callee-saved register, calls across a switch and
 * stores what the registers hold when it comes back: a switch that forgot one shows here. */
void resume_with_marked_registers(cl_coro *c, uint64_t out[6]);
void yield_with_marked_registers(uint64_t out[6]);
#define MARK_AND_CALL(name, mark, target)                                                         \
    ".text\n.globl " name "\n.type " name ",@function\n" name ":\n"                              \
    "  pushq %rbx\n  pushq %rbp\n  pushq %r12\n  pushq %r13\n  pushq %r14\n  pushq %r15\n"        \
    "  pushq %rsi\n"                                                                            \
    "  movq $" mark "1, %rbx\n  movq $" mark "2, %rbp\n  movq $" mark "3, %r12\n"                \
    "  movq $" mark "4, %r13\n  movq $" mark "5, %r14\n  movq $" mark "6, %r15\n"               \
    "  call " target "\n"                                                                       \
    "  popq %rsi\n"                                                                             \
    "  movq %rbx, 0(%rsi)\n  movq %rbp, 8(%rsi)\n  movq %r12, 16(%rsi)\n"                       \
    "  movq %r13, 24(%rsi)\n  movq %r14, 32(%rsi)\n  movq %r15, 40(%rsi)\n"                     \
    "  popq %r15\n  popq %r14\n  popq %r13\n  popq %r12\n  popq %rbp\n  popq %rbx\n  ret\n"
/* rdi (the coroutine) passes straight through to cl__coro_resume; yield takes no argument, so
 * the helper moves out into rsi first. */
__asm__(MARK_AND_CALL("resume_with_marked_registers", "0x1111", "cl__coro_resume"));
__asm__(".text\n.globl yield_with_marked_registers\nyield_with_marked_registers:\n"
        "  movq %rdi, %rsi\n  jmp yield_marked_inner\n"
        MARK_AND_CALL("yield_marked_inner", "0x2222", "cl__coro_yield"));

static uint64_t coro_registers[6];

static void keep_registers(void *arg) {
    (void)arg;
    yield_with_marked_registers(coro_registers);
}

static void test_callee_saved_registers(void) {
    uint64_t main_registers[6] = {0};
    cl_coro *c = cl__coro_create(keep_registers, NULL, "registers", 0);
    resume_with_marked_registers(c, main_registers); /* the coroutine marked its own and yielded */
    for (int i = 0; i < 6; i++) CHECK(main_registers[i] == 0x11111 + (uint64_t)i);
    memset(main_registers, 0, sizeof main_registers);
    resume_with_marked_registers(c, main_registers); /* the coroutine comes back and finishes */
    for (int i = 0; i < 6; i++) CHECK(coro_registers[i] == 0x22221 + (uint64_t)i);
    for (int i = 0; i < 6; i++) CHECK(main_registers[i] == 0x11111 + (uint64_t)i);
    CHECK(cl__coro_done(c));
    cl__coro_free(c);
}

static unsigned mxcsr_now(void) {
    unsigned v;
    __asm__ volatile("stmxcsr %0" : "=m"(v));
    return v;
}

static unsigned x87_now(void) {
    unsigned short v;
    __asm__ volatile("fnstcw %0" : "=m"(v));
    return v;
}

typedef struct fpu_probe {
    unsigned mxcsr_at_start, x87_at_start, mxcsr_after_yield, x87_after_yield, mine_mxcsr, mine_x87;
} fpu_probe;

static void change_rounding(void *arg) {
    fpu_probe *p = arg;
    p->mxcsr_at_start = mxcsr_now();
    p->x87_at_start = x87_now();
    fesetround(FE_TOWARDZERO); /* both MXCSR and the x87 control word */
    p->mine_mxcsr = mxcsr_now();
    p->mine_x87 = x87_now();
    cl__coro_yield();
    p->mxcsr_after_yield = mxcsr_now();
    p->x87_after_yield = x87_now();
    fesetround(FE_TONEAREST);
}

static void test_floating_point_state(void) {
    fesetround(FE_UPWARD);
    unsigned main_mxcsr = mxcsr_now(), main_x87 = x87_now();
    fpu_probe p = {0};
    cl_coro *c = cl__coro_create(change_rounding, &p, "rounding", 0);
    cl__coro_resume(c);
    CHECK(p.mxcsr_at_start == main_mxcsr && p.x87_at_start == main_x87); /* inherited at creation */
    CHECK(p.mine_mxcsr != main_mxcsr && p.mine_x87 != main_x87);
    CHECK(mxcsr_now() == main_mxcsr && x87_now() == main_x87); /* its mode did not leak */
    CHECK(fegetround() == FE_UPWARD);
    volatile double one = 1.0, three = 3.0;
    double up = one / three;
    __asm__ volatile("" : "+x"(up)); /* computed here, not after the next fesetround */
    fesetround(FE_DOWNWARD); /* and ours does not leak into it */
    double down = one / three;
    __asm__ volatile("" : "+x"(down));
    CHECK(up > down);
    cl__coro_resume(c);
    CHECK(p.mxcsr_after_yield == p.mine_mxcsr && p.x87_after_yield == p.mine_x87);
    CHECK(fegetround() == FE_DOWNWARD);
    fesetround(FE_TONEAREST);
    cl__coro_free(c);
}
#endif

/* ---- stack reuse ------------------------------------------------------------------------------ */

static void note_stack(void *arg) {
    volatile char here = 0;
    *(uintptr_t *)arg = (uintptr_t)&here;
    cl__coro_yield();
}

static void test_stack_reuse(void) {
    uintptr_t first = 0, second = 0, third = 0;
    cl_coro *a = cl__coro_create(note_stack, &first, "a", 0);
    cl__coro_resume(a);
    cl__coro_resume(a);
    CHECK(cl__coro_done(a));
    cl__coro_free(a);
    cl_coro *b = cl__coro_create(note_stack, &second, "b", 0);
    CHECK(b == a); /* the record sits at the top of its stack: same record, same stack */
    cl__coro_resume(b);
    CHECK(second == first);
    cl__coro_free(b); /* suspended: dropped without finishing */
    cl_coro *c = cl__coro_create(note_stack, &third, "c", 0);
    CHECK(c == a);
    CHECK_STR(cl__coro_name(c), "c");
    CHECK(!cl__coro_done(c));
    cl__coro_resume(c);
    cl__coro_resume(c);
    CHECK(third == first && cl__coro_done(c));
    cl__coro_free(c);
}

/* ---- threads ---------------------------------------------------------------------------------- */

typedef struct thread_job {
    int finished, refused;
    cl_coro *foreign;
} thread_job;

static void count_up(void *arg) {
    int *n = arg;
    for (int i = 0; i < 100; i++, cl__coro_yield()) (*n)++;
}

static void *thread_body(void *arg) {
    thread_job *job = arg;
    int counts[8] = {0};
    cl_coro *mine[8];
    for (int i = 0; i < 8; i++) mine[i] = cl__coro_create(count_up, &counts[i], NULL, 0);
    for (int round = 0; round < 101; round++)
        for (int i = 0; i < 8; i++)
            if (!cl__coro_done(mine[i])) cl__coro_resume(mine[i]);
    for (int i = 0; i < 8; i++) {
        job->finished += cl__coro_done(mine[i]) && counts[i] == 100;
        cl__coro_free(mine[i]);
    }
    if (job->foreign) {
        capture_begin();
        job->refused = cl__coro_resume(job->foreign) == -1 &&
                       strstr(captured_so_far(), "belongs to another thread") != NULL;
        capture_end();
    }
    return NULL;
}

static void test_threads(void) {
    thread_job jobs[2] = {{0, 0, NULL}, {0, 0, NULL}};
    cl_coro *mine = cl__coro_create(nothing, NULL, "main's", 0);
    jobs[1].foreign = mine;
    pthread_t t[2];
    pthread_create(&t[0], NULL, thread_body, &jobs[0]);
    pthread_join(t[0], NULL); /* one after the other: capture_begin swaps the process's fd 2 */
    pthread_create(&t[1], NULL, thread_body, &jobs[1]);
    pthread_join(t[1], NULL);
    CHECK(jobs[0].finished == 8 && jobs[1].finished == 8);
    CHECK(jobs[1].refused);
    CHECK(cl__coro_resume(mine) == 0 && cl__coro_done(mine));
    cl__coro_free(mine);
}

static void *run_concurrently(void *arg) {
    (void)arg;
    int counts[8] = {0};
    cl_coro *mine[8];
    for (int i = 0; i < 8; i++) mine[i] = cl__coro_create(count_up, &counts[i], NULL, 0);
    for (int round = 0; round < 101; round++)
        for (int i = 0; i < 8; i++)
            if (!cl__coro_done(mine[i])) cl__coro_resume(mine[i]);
    long ok = 1;
    for (int i = 0; i < 8; i++) {
        ok &= cl__coro_done(mine[i]) && counts[i] == 100;
        cl__coro_free(mine[i]);
    }
    return (void *)ok;
}

static void test_threads_concurrently(void) {
    pthread_t t[4];
    for (int i = 0; i < 4; i++) pthread_create(&t[i], NULL, run_concurrently, NULL);
    for (int i = 0; i < 4; i++) {
        void *ok = NULL;
        pthread_join(t[i], &ok);
        CHECK(ok == (void *)1);
    }
}

/* ---- stack overflow --------------------------------------------------------------------------- */

static volatile int bottomless = 1 << 30; /* a base case the compiler cannot see through */

static int dive(int depth) {
    volatile char frame[256];
    frame[0] = (char)depth;
    return depth > bottomless ? 0 : dive(depth + 1) + frame[0];
}

static void recurse_forever(void *arg) {
    (void)arg;
    dive(0);
}

static void overflow_by_recursion(void) {
    cl_coro *c = cl__coro_create(recurse_forever, NULL, "deep-diver", 16 * 1024);
    cl__coro_resume(c);
    fprintf(stderr, "survived\n");
}

/* The handler's decision, asked directly: a stack pointer below the stack is an overflow even
 * when the fault is not in the guard page (one big frame can jump over it; where it lands is
 * luck, so the fault itself cannot be staged reliably). */
typedef struct verdicts {
    int far_frame, ordinary;
} verdicts;

static void ask_about_faults(void *arg) {
    verdicts *v = arg;
    static int somewhere;
    char here = 0;
    const char *sp = &here;
    v->far_frame = cl__coro_explain_fault(&somewhere, sp - 2 * cl__coro_stack_size(cl__coro_current()));
    v->ordinary = cl__coro_explain_fault(&somewhere, sp);
}

static void test_overflow_verdicts(void) {
    verdicts v = {-1, -1};
    cl_coro *c = cl__coro_create(ask_about_faults, &v, "judged", 0);
    capture_begin();
    cl__coro_resume(c);
    const char *said = capture_end();
    CHECK(v.far_frame == 1 && v.ordinary == 0);
    CHECK(strstr(said, "stack overflow in task 'judged' (") != NULL);
    CHECK(cl__coro_explain_fault(&v, &v) == 0); /* not in a coroutine */
    cl__coro_free(c);
}

static void test_overflow_reported(void) {
    outcome o = in_child(overflow_by_recursion);
    show("recursion", &o);
    CHECK(o.signal == SIGSEGV);
    CHECK(strstr(o.err, "stack overflow in task 'deep-diver' (16 KiB stack)\n") != NULL);
    CHECK(strstr(o.err, "survived") == NULL);
}

/* A crash reporter like the kernel's (kernel/cellhost/crash.c): SA_RESETHAND, writes, returns. */
static void host_reporter(int sig, siginfo_t *info, void *context) {
    (void)sig, (void)info, (void)context;
    static const char line[] = "host reporter ran\n";
    ssize_t w = write(2, line, sizeof line - 1);
    (void)w;
}

/* Installed after ours, as the kernel arms its reporter before every cell: the event loop puts
 * ours back in front when it starts (cl__coro_guard_install), as this does. */
static void install_host_reporter(int flags) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = host_reporter;
    sa.sa_flags = SA_SIGINFO | flags;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGSEGV, &sa, NULL);
    cl__coro_guard_install();
}

static void overflow_with_host_reporter(void) {
    install_host_reporter(SA_RESETHAND | SA_ONSTACK);
    overflow_by_recursion();
}

/* A host handler that returns without SA_RESETHAND must not make the overflow loop forever. */
static void overflow_with_returning_reporter(void) {
    install_host_reporter(0);
    overflow_by_recursion();
}

static void stray_fault(void *arg) {
    (void)arg;
    static volatile uintptr_t address = 16; /* a null-ish pointer the compiler cannot see */
    *(volatile int *)address = 1;
}

static void host_exits(int sig) {
    (void)sig;
    static const char line[] = "host handler saw the fault\n";
    ssize_t w = write(2, line, sizeof line - 1);
    (void)w;
    _exit(42);
}

static void fault_elsewhere(void) {
    signal(SIGSEGV, host_exits);
    cl__coro_guard_install();
    cl_coro *c = cl__coro_create(stray_fault, NULL, "stray", 0);
    cl__coro_resume(c);
}

static void test_overflow_chains_to_host(void) {
    outcome o = in_child(overflow_with_host_reporter);
    show("host reporter", &o);
    CHECK(o.signal == SIGSEGV);
    const char *ours = strstr(o.err, "stack overflow in task 'deep-diver' (16 KiB stack)\n");
    const char *theirs = strstr(o.err, "host reporter ran\n");
    CHECK(ours && theirs && ours < theirs);

    o = in_child(overflow_with_returning_reporter);
    show("returning reporter", &o);
    CHECK(o.signal == SIGSEGV);
    CHECK(strstr(o.err, "host reporter ran\n") != NULL);

    o = in_child(fault_elsewhere);
    show("fault elsewhere", &o);
    CHECK(o.exit_status == 42);
    CHECK(strstr(o.err, "host handler saw the fault\n") != NULL);
    CHECK(strstr(o.err, "stack overflow") == NULL);
}

/* Past the guard budget a stack has a canary: an overflow that stays within the page below the
 * stack is found when the coroutine switches out. */
static void overrun_a_little(void *arg) {
    (void)arg;
    volatile char spill[20 * 1024 + 1024];
    for (size_t i = 0; i < sizeof spill; i += 64) spill[i] = 1;
    cl__coro_yield();
}

static void overflow_canary_stack(void) {
    cl__coro_test_guard_policy(0, 0);
    cl_coro *c = cl__coro_create(overrun_a_little, NULL, "spiller", 20 * 1024); /* not cached */
    cl__coro_resume(c);
    fprintf(stderr, "survived\n");
}

static void test_overflow_canary(void) {
    outcome o = in_child(overflow_canary_stack);
    show("canary", &o);
    CHECK(o.signal == SIGSEGV);
    CHECK(strstr(o.err, "stack overflow in task 'spiller' (20 KiB stack)\n") != NULL);
    CHECK(strstr(o.err, "survived") == NULL);
}

/* ---- tcc-compiled code on coroutine stacks ---------------------------------------------------- */

#ifdef CONCLAB_TEST_TCC
static const char cell_source[] =
    "void cl__coro_yield(void);\n"
    "long fib(long n) { return n < 2 ? n : fib(n - 1) + fib(n - 2); }\n"
    "double cell(long n) {\n"
    "    long a = fib(n); double x = a / 3.0;\n"
    "    cl__coro_yield();\n"
    "    return x + (double)fib(n);\n"
    "}\n"
    "int dive(int d) { volatile char frame[512]; frame[0] = (char)d; return dive(d + 1) + frame[0]; }\n";

typedef struct tcc_job {
    double (*cell)(long);
    double result;
} tcc_job;

static void run_cell(void *arg) {
    tcc_job *job = arg;
    job->result = job->cell(20);
}

static TCCState *compile_cell(void) {
    TCCState *s = tcc_new();
    if (!s) return NULL;
    tcc_set_output_type(s, TCC_OUTPUT_MEMORY);
    tcc_add_symbol(s, "cl__coro_yield", (const void *)cl__coro_yield);
    if (tcc_compile_string(s, cell_source) != 0 || tcc_relocate(s, TCC_RELOCATE_AUTO) < 0) {
        tcc_delete(s);
        return NULL;
    }
    return s;
}

static void test_tcc_code_in_coroutines(void) {
    TCCState *s = compile_cell();
    CHECK(s != NULL);
    if (!s) return;
    tcc_job jobs[3];
    cl_coro *c[3];
    for (int i = 0; i < 3; i++) {
        jobs[i] = (tcc_job){(double (*)(long))tcc_get_symbol(s, "cell"), 0};
        c[i] = cl__coro_create(run_cell, &jobs[i], "tcc", 0);
        cl__coro_resume(c[i]); /* each is suspended inside tcc code */
    }
    for (int i = 2; i >= 0; i--) {
        cl__coro_resume(c[i]);
        CHECK(cl__coro_done(c[i]));
        CHECK(jobs[i].result == 6765 / 3.0 + 6765);
        cl__coro_free(c[i]);
    }
    tcc_delete(s);
}

static void tcc_overflow(void) {
    TCCState *s = compile_cell();
    if (!s) _exit(3);
    int (*dive_tcc)(int) = (int (*)(int))tcc_get_symbol(s, "dive");
    cl_coro *c = cl__coro_create((cl_coro_fn)(void (*)(void))dive_tcc, NULL, "tcc-diver", 32 * 1024);
    cl__coro_resume(c);
}

static void test_tcc_overflow_reported(void) {
    outcome o = in_child(tcc_overflow);
    CHECK(o.signal == SIGSEGV);
    CHECK(strstr(o.err, "stack overflow in task 'tcc-diver' (32 KiB stack)\n") != NULL);
}
#endif

int main(void) {
    test_ping_pong();
    test_nesting();
    test_free_running_is_refused();
    test_default_names();
    test_many_alive();
    test_many_alive_without_madvise();
#ifdef __x86_64__
    test_callee_saved_registers();
    test_floating_point_state();
#endif
    test_stack_reuse();
    test_threads();
    test_threads_concurrently();
    test_overflow_reported();
    test_overflow_verdicts();
    test_overflow_chains_to_host();
    test_overflow_canary();
#ifdef CONCLAB_TEST_TCC
    test_tcc_code_in_coroutines();
    test_tcc_overflow_reported();
#endif
    return check_summary("test_runtime_coro");
}
