/* trampoline.c — x86-64 stubs in the code arena (so the executor receives them with the cells'
 * code, code_arena.h):
 *
 *     movabs r11, <name>      ; the name, for the undefined-function handler
 *     jmp    [rip + 0]        ; jump through the slot that follows
 *     .quad  <target>
 *
 * r11 is a scratch register in the System V ABI, free at a call boundary. */
#define _GNU_SOURCE
#include "trampoline.h"

#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "code_arena.h"
#include "crash.h"
#include "strmap.h"

enum { STUB_SIZE = 32, PAGE_STUBS = 4096 / STUB_SIZE };

static strmap stubs;  /* name -> its stub's code */
static unsigned char *page;
static size_t page_used = PAGE_STUBS;

/* Called (via the asm shim below) when a declared-but-undefined function is called, with the
 * caller's return address and frame. The cell's process leaves the name and the caller's frames
 * for its error (crash.h); a process it forked says it on stderr. */
void trampoline_report_undefined(const char *name, uintptr_t called_from, uintptr_t caller_frame) {
    fflush(stdout);
    if (crash_note_undefined_function(name)) {
        crash_note_stopped_at(called_from, caller_frame);
    } else {
        fprintf(stderr, "\nerror: function '%s' is declared but has no definition yet\n", name);
        fflush(stderr);
    }
    raise(SIGABRT);
    abort();  /* the cell caught SIGABRT and returned: the call still cannot be made */
}

/* The stub jumped here rather than calling, so the top of the stack is still the return address
 * into the caller, and rbp the caller's frame. */
__asm__(".text\n"
        ".globl trampoline_undefined_shim\n"
        "trampoline_undefined_shim:\n"
        "  mov %r11, %rdi\n"
        "  mov (%rsp), %rsi\n"
        "  mov %rbp, %rdx\n"
        "  and $-16, %rsp\n"
        "  call trampoline_report_undefined\n"
        "  ud2\n");
void trampoline_undefined_shim(void);

/* The handler runs in the executor, which receives the arena's bytes but not this process's
 * heap: the name a stub hands it is copied into the arena, names packed one after another. */
static const char *name_in_arena(const char *name) {
    static char *names;
    static size_t names_left;
    size_t size = strlen(name) + 1;
    if (size > names_left) {
        size_t block = size > 4096 ? size : 4096;
        names = code_arena_alloc(block);
        if (!names) abort();  /* as for the stubs' pages */
        names_left = block;
    }
    char *copy = names;
    memcpy(copy, name, size);
    code_arena_note_written(copy, size);
    names += size;
    names_left -= size;
    return copy;
}

static unsigned char *new_stub(const char *name) {
    if (page_used == PAGE_STUBS) {
        page = code_arena_alloc(STUB_SIZE * PAGE_STUBS);
        if (!page) abort();  /* 2 GiB of code: the notebook cannot go on anyway */
        page_used = 0;
    }
    unsigned char *code = page + STUB_SIZE * page_used++;
    uint64_t name_ptr = (uint64_t)(uintptr_t)name_in_arena(name);
    code[0] = 0x49, code[1] = 0xBB;  /* movabs r11, imm64 */
    memcpy(code + 2, &name_ptr, 8);
    code[10] = 0xFF, code[11] = 0x25;  /* jmp [rip+0] */
    memset(code + 12, 0, 4);
    uint64_t target = (uint64_t)(uintptr_t)trampoline_undefined_shim;
    memcpy(code + 16, &target, 8);
    code_arena_note_written(code, STUB_SIZE);
    return code;
}

void *trampoline_for(const char *name) {
    unsigned char *code = strmap_get(&stubs, name);
    if (code) return code;
    code = new_stub(name);
    strmap_put(&stubs, name, code);
    return code;
}

void trampoline_bind(const char *name, void *target) {
    unsigned char *code = trampoline_for(name);
    uint64_t t = (uint64_t)(uintptr_t)target;
    __atomic_store_n((uint64_t *)(void *)(code + 16), t, __ATOMIC_SEQ_CST);
    code_arena_note_written(code + 16, 8);
}

void *trampoline_target(const char *name) {
    unsigned char *code = strmap_get(&stubs, name);
    if (!code) return NULL;
    uint64_t t;
    memcpy(&t, code + 16, 8);
    return t == (uint64_t)(uintptr_t)trampoline_undefined_shim ? NULL : (void *)(uintptr_t)t;
}
