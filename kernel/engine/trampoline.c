/* trampoline.c — x86-64 stubs in an executable page:
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
#include <sys/mman.h>
#include <unistd.h>

enum { STUB_SIZE = 32, PAGE_STUBS = 4096 / STUB_SIZE };

typedef struct stub_entry {
    char *name;
    unsigned char *code;
} stub_entry;

static stub_entry *entries;
static size_t n_entries, cap_entries;
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

static stub_entry *find(const char *name) {
    for (size_t i = 0; i < n_entries; i++)
        if (strcmp(entries[i].name, name) == 0) return &entries[i];
    return NULL;
}

static unsigned char *new_stub(const char *name) {
    if (page_used == PAGE_STUBS) {
        page = mmap(NULL, 4096, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (page == MAP_FAILED) abort();
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
    return code;
}

void *trampoline_for(const char *name) {
    stub_entry *e = find(name);
    if (e) return e->code;
    if (n_entries == cap_entries) {
        cap_entries = cap_entries ? cap_entries * 2 : 64;
        stub_entry *grown = realloc(entries, cap_entries * sizeof *grown);
        if (!grown) abort();
        entries = grown;
    }
    e = &entries[n_entries++];
    e->name = strdup(name);
    e->code = new_stub(e->name);
    return e->code;
}

void trampoline_bind(const char *name, void *target) {
    unsigned char *code = trampoline_for(name);
    uint64_t t = (uint64_t)(uintptr_t)target;
    __atomic_store_n((uint64_t *)(void *)(code + 16), t, __ATOMIC_SEQ_CST);
}

void *trampoline_target(const char *name) {
    stub_entry *e = find(name);
    if (!e) return NULL;
    uint64_t t;
    memcpy(&t, e->code + 16, 8);
    return t == (uint64_t)(uintptr_t)trampoline_undefined_shim ? NULL : (void *)(uintptr_t)t;
}
