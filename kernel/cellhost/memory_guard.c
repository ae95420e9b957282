#define _GNU_SOURCE
#include "memory_guard.h"

#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "crash.h"

static size_t allowed;  /* the extra address space granted to this cell, for the message */

void memory_guard_limit(size_t bytes) { allowed = bytes; }

/* The filter: setrlimit(RLIMIT_AS, ...) and prlimit64(..., RLIMIT_AS, new, ...) fail with EPERM;
 * every other call goes through. glibc's setrlimit is prlimit64 with pid 0. */
#if defined(__x86_64__)
#define GUARD_ARCH AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define GUARD_ARCH AUDIT_ARCH_AARCH64
#endif

int memory_guard_lock(void) {
#if defined(GUARD_ARCH) && defined(__NR_setrlimit) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    enum { ALLOW = 14, DENY = 15 };  /* the last two instructions; jumps count from the next one */
    struct sock_filter code[] = {
        /*  0 */ BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
        /*  1 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, GUARD_ARCH, 1, 0),
        /*  2 */ BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),  /* another ABI: not ours to judge */
        /*  3 */ BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
        /*  4 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_setrlimit, 0, 2),
        /*  5 */ BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[0])),
        /*  6 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, RLIMIT_AS, DENY - 7, ALLOW - 7),
        /*  7 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_prlimit64, 0, ALLOW - 8),
        /*  8 */ BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[1])),
        /*  9 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, RLIMIT_AS, 0, ALLOW - 10),
        /* only a new limit is refused: reading one (new == NULL, both halves 0) is fine */
        /* 10 */ BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[2])),
        /* 11 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0, 0, DENY - 12),
        /* 12 */ BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[2]) + 4),
        /* 13 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0, ALLOW - 14, DENY - 14),
        /* 14 */ BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
        /* 15 */ BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM),
    };
    struct sock_fprog program = {sizeof code / sizeof code[0], code};
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) return -1;
    return prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &program);
#else
    return -1;
#endif
}

/* Says so once per cell, on stderr, where the failure belongs. */
static void refused(size_t bytes) {
    static int told;
    crash_note_failed_allocation(bytes);
    if (told++) return;
    fprintf(stderr, "\n[conclab] memory limit reached: an allocation of %zu bytes failed (the cell may use "
            "about %zu MiB more; CONCLAB_MEMORY_LIMIT sets it)\n", bytes, allowed >> 20);
}

void *memory_guard_malloc(size_t size) {
    void *p = malloc(size);
    if (!p && size) refused(size);
    return p;
}

void *memory_guard_calloc(size_t count, size_t size) {
    void *p = calloc(count, size);
    if (!p && count && size) refused(count * size);
    return p;
}

void *memory_guard_realloc(void *ptr, size_t size) {
    void *p = realloc(ptr, size);
    if (!p && size) refused(size);
    return p;
}
