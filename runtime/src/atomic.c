/* atomic.c — atomics as functions, because tcc 0.9.27 (which compiles notebook cells) has no
 * <stdatomic.h> and no __atomic builtins. All sequentially consistent: labs reason about
 * interleavings, not about memory-order subtleties. */
#include "conclab.h"
#include "report.h"

long cl_atomic_add(long *p, long v) {
    if (!p) {
        cl_report("cl_atomic_add", "pointer is NULL");
        return 0;
    }
    return __atomic_add_fetch(p, v, __ATOMIC_SEQ_CST);
}

long cl_atomic_load(long *p) {
    if (!p) {
        cl_report("cl_atomic_load", "pointer is NULL");
        return 0;
    }
    return __atomic_load_n(p, __ATOMIC_SEQ_CST);
}

void cl_atomic_store(long *p, long v) {
    if (!p) {
        cl_report("cl_atomic_store", "pointer is NULL");
        return;
    }
    __atomic_store_n(p, v, __ATOMIC_SEQ_CST);
}

int cl_atomic_cas(long *p, long expected, long desired) {
    if (!p) {
        cl_report("cl_atomic_cas", "pointer is NULL");
        return 0;
    }
    return __atomic_compare_exchange_n(p, &expected, desired, 0, __ATOMIC_SEQ_CST,
                                       __ATOMIC_SEQ_CST);
}
