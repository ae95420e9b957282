/* names.c — the names users give primitives (cl_lock_set_name, ...: conclab/trace.h).
 *
 * A name lives in a side table keyed by the object's address rather than in each handle: the
 * handles stay as they are, and a name costs nothing to objects that have none. The table is
 * small (labs name a handful of objects), so a list under a mutex does. While recording, every
 * naming is also written into the trace, and cl_trace_start replays the table, so the model
 * knows a name even when the object is gone by the time it is built. Freeing an object forgets
 * its name (its address may come back as another object). */
#include "conclab.h"
#include "report.h"
#include "lockcheck_internal.h"
#include "trace_internal.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct named {
    const void *object;
    const char *primitive;
    char *name;
} named;

static pthread_mutex_t guard = PTHREAD_MUTEX_INITIALIZER;
static named *table;
static size_t count, cap; /* count is read without the guard as a hint: atomics only */

static named *find(const void *object) {
    for (size_t i = 0; i < count; i++)
        if (table[i].object == object) return &table[i];
    return NULL;
}

static void remove_entry(named *n) {
    free(n->name);
    *n = table[count - 1];
    __atomic_store_n(&count, count - 1, __ATOMIC_RELAXED);
}

/* Returns 0 when out of memory. */
static int add_entry(const char *primitive, const void *object, char *copy) {
    if (count == cap) {
        size_t more = cap ? cap * 2 : 16;
        named *grown = realloc(table, more * sizeof *grown);
        if (!grown) return 0;
        table = grown;
        cap = more;
    }
    table[count] = (named){object, primitive, copy};
    __atomic_store_n(&count, count + 1, __ATOMIC_RELAXED);
    return 1;
}

void cl__name_set(const char *primitive, const void *object, const char *name) {
    if (!object) return;
    char *copy = name ? strdup(name) : NULL;
    if (name && !copy) {
        cl_report("cl_lock_set_name", "out of memory");
        return;
    }
    pthread_mutex_lock(&guard);
    named *n = find(object);
    if (n && copy) {
        free(n->name);
        n->name = copy;
        n->primitive = primitive;
    } else if (n) {
        remove_entry(n);
    } else if (copy && !add_entry(primitive, object, copy)) {
        free(copy);
        copy = NULL;
    }
    pthread_mutex_unlock(&guard);
    if (name) cl__trace_named(CL__TR_NAME, primitive, object, name);
    else cl__trace_probe(CL__TR_FORGET, primitive, object, 0);
}

void cl__name_forget(const void *object) {
    cl__trace_probe(CL__TR_FORGET, NULL, object, 0);
    cl__lockcheck_forget(object);
    if (!__atomic_load_n(&count, __ATOMIC_RELAXED)) return;
    pthread_mutex_lock(&guard);
    named *n = find(object);
    if (n) remove_entry(n);
    pthread_mutex_unlock(&guard);
}

int cl__name_copy(const void *object, char *out, size_t size) {
    if (!__atomic_load_n(&count, __ATOMIC_RELAXED) || !size) return 0;
    pthread_mutex_lock(&guard);
    named *n = find(object);
    if (n) snprintf(out, size, "%s", n->name);
    pthread_mutex_unlock(&guard);
    return n != NULL;
}

void cl__names_replay(void) {
    pthread_mutex_lock(&guard);
    for (size_t i = 0; i < count; i++)
        cl__trace_named(CL__TR_NAME, table[i].primitive, table[i].object, table[i].name);
    pthread_mutex_unlock(&guard);
}

/* ---- the API: one setter per kind, so a wrong handle type is a compile error ------------------ */

void cl_lock_set_name(cl_lock *l, const char *name) { cl__name_set("lock", l, name); }
void cl_rlock_set_name(cl_rlock *l, const char *name) { cl__name_set("rlock", l, name); }
void cl_semaphore_set_name(cl_semaphore *s, const char *name) { cl__name_set("semaphore", s, name); }
void cl_condition_set_name(cl_condition *c, const char *name) { cl__name_set("condition", c, name); }
void cl_event_set_name(cl_event *e, const char *name) { cl__name_set("event", e, name); }
void cl_barrier_set_name(cl_barrier *b, const char *name) { cl__name_set("barrier", b, name); }
void cl_queue_set_name(cl_queue *q, const char *name) { cl__name_set("queue", q, name); }
void cl_async_lock_set_name(cl_async_lock *l, const char *name) { cl__name_set("async_lock", l, name); }
void cl_async_semaphore_set_name(cl_async_semaphore *s, const char *name) { cl__name_set("async_semaphore", s, name); }
void cl_async_event_set_name(cl_async_event *e, const char *name) { cl__name_set("async_event", e, name); }
void cl_async_condition_set_name(cl_async_condition *c, const char *name) { cl__name_set("async_condition", c, name); }
void cl_async_queue_set_name(cl_async_queue *q, const char *name) { cl__name_set("async_queue", q, name); }
void cl_shared_lock_set_name(cl_shared_lock *l, const char *name) { cl__name_set("shared_lock", l, name); }
void cl_shared_semaphore_set_name(cl_shared_semaphore *s, const char *name) { cl__name_set("shared_semaphore", s, name); }
void cl_shared_event_set_name(cl_shared_event *e, const char *name) { cl__name_set("shared_event", e, name); }
