/* atomic.c — atomics as functions, because tcc 0.9.27 (which compiles notebook cells) has no
 * <stdatomic.h> and no __atomic builtins. All sequentially consistent: labs reason about
 * interleavings, not about memory-order subtleties. */
#include "conclab.h"
#include "chaos_internal.h"
#include "report.h"

#include <stddef.h>
#include <stdint.h>

/* Every call checks its address first: a NULL pointer is the one misuse we can catch here. */
static int null_address(const void *p, const char *call) {
    cl__chaos_maybe(); /* every atomic is a scheduling point (conclab/chaos.h) */
    if (p) return 0;
    cl_report(call, "pointer is NULL");
    return 1;
}

/* One family of integer atomics, named name_add, name_load, ... over type. Generated because
 * the int and long families (and the long family's short spellings) differ only in names. */
#define INTEGER_ATOMICS(add, load, store, exchange, cas, type)                                    \
    type add(type *p, type v) {                                                                   \
        if (null_address(p, #add)) return 0;                                                      \
        return __atomic_add_fetch(p, v, __ATOMIC_SEQ_CST);                                        \
    }                                                                                             \
    type load(type *p) {                                                                          \
        if (null_address(p, #load)) return 0;                                                     \
        return __atomic_load_n(p, __ATOMIC_SEQ_CST);                                              \
    }                                                                                             \
    void store(type *p, type v) {                                                                 \
        if (null_address(p, #store)) return;                                                      \
        __atomic_store_n(p, v, __ATOMIC_SEQ_CST);                                                 \
    }                                                                                             \
    type exchange(type *p, type v) {                                                             \
        if (null_address(p, #exchange)) return 0;                                                 \
        return __atomic_exchange_n(p, v, __ATOMIC_SEQ_CST);                                       \
    }                                                                                             \
    int cas(type *p, type expected, type desired) {                                               \
        if (null_address(p, #cas)) return 0;                                                      \
        return __atomic_compare_exchange_n(p, &expected, desired, 0, __ATOMIC_SEQ_CST,            \
                                           __ATOMIC_SEQ_CST);                                     \
    }

INTEGER_ATOMICS(cl_atomic_add, cl_atomic_load, cl_atomic_store, cl_atomic_exchange, cl_atomic_cas,
                long)
INTEGER_ATOMICS(cl_atomic_long_add, cl_atomic_long_load, cl_atomic_long_store,
                cl_atomic_long_exchange, cl_atomic_long_cas, long)
INTEGER_ATOMICS(cl_atomic_int_add, cl_atomic_int_load, cl_atomic_int_store,
                cl_atomic_int_exchange, cl_atomic_int_cas, int)

/* Pointer arithmetic is in bytes, as gcc's builtins do it on pointers; going through uintptr_t
 * says so and keeps the compiler from scaling by an element size void does not have. */
void *cl_atomic_ptr_add(void **p, long bytes) {
    if (null_address(p, "cl_atomic_ptr_add")) return NULL;
    return (void *)__atomic_add_fetch((uintptr_t *)p, (uintptr_t)bytes, __ATOMIC_SEQ_CST);
}

void *cl_atomic_ptr_load(void **p) {
    if (null_address(p, "cl_atomic_ptr_load")) return NULL;
    return __atomic_load_n(p, __ATOMIC_SEQ_CST);
}

void cl_atomic_ptr_store(void **p, void *v) {
    if (null_address(p, "cl_atomic_ptr_store")) return;
    __atomic_store_n(p, v, __ATOMIC_SEQ_CST);
}

void *cl_atomic_ptr_exchange(void **p, void *v) {
    if (null_address(p, "cl_atomic_ptr_exchange")) return NULL;
    return __atomic_exchange_n(p, v, __ATOMIC_SEQ_CST);
}

int cl_atomic_ptr_cas(void **p, void *expected, void *desired) {
    if (null_address(p, "cl_atomic_ptr_cas")) return 0;
    return __atomic_compare_exchange_n(p, &expected, desired, 0, __ATOMIC_SEQ_CST,
                                       __ATOMIC_SEQ_CST);
}
