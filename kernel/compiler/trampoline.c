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
#include "strmap.h"

enum { STUB_SIZE = 32, PAGE_STUBS = 4096 / STUB_SIZE };

/* A stub and the name its code points at (kept here so that the name is owned somewhere). */
typedef struct stub {
    char *name;
    unsigned char *code;
} stub;

static strmap stubs;  /* name -> stub */
static unsigned char *page;
static size_t page_used = PAGE_STUBS;

/* Called (via the asm shim below) when a declared-but-undefined function is called. */
void trampoline_report_undefined(const char *name) {
    fflush(stdout);
    fprintf(stderr, "\nerror: function '%s' is declared but has no definition yet\n", name);
    fflush(stderr);
    raise(SIGABRT);
}

__asm__(".text\n"
        ".globl trampoline_undefined_shim\n"
        "trampoline_undefined_shim:\n"
        "  mov %r11, %rdi\n"
        "  and $-16, %rsp\n"
        "  call trampoline_report_undefined\n"
        "  ud2\n");
void trampoline_undefined_shim(void);

static unsigned char *new_stub(const char *name) {
    if (page_used == PAGE_STUBS) {
        page = code_arena_alloc(STUB_SIZE * PAGE_STUBS);
        if (!page) abort();  /* 2 GiB of code: the notebook cannot go on anyway */
        page_used = 0;
    }
    unsigned char *code = page + STUB_SIZE * page_used++;
    uint64_t name_ptr = (uint64_t)(uintptr_t)name;
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
    stub *s = strmap_get(&stubs, name);
    if (s) return s->code;
    s = malloc(sizeof *s);
    if (!s || !(s->name = strdup(name))) abort();  /* the stub names it for as long as it exists */
    s->code = new_stub(s->name);
    strmap_put(&stubs, name, s);
    return s->code;
}

void trampoline_bind(const char *name, void *target) {
    unsigned char *code = trampoline_for(name);
    uint64_t t = (uint64_t)(uintptr_t)target;
    __atomic_store_n((uint64_t *)(void *)(code + 16), t, __ATOMIC_SEQ_CST);
    code_arena_note_written(code + 16, 8);
}

void *trampoline_target(const char *name) {
    stub *s = strmap_get(&stubs, name);
    if (!s) return NULL;
    unsigned char *code = s->code;
    uint64_t t;
    memcpy(&t, code + 16, 8);
    return t == (uint64_t)(uintptr_t)trampoline_undefined_shim ? NULL : (void *)(uintptr_t)t;
}
