/* local.c — cl_local: a pthread key whose values are also listed, so freeing the local can
 * destroy the values of threads that are still alive (pthread_key_delete alone would leak them;
 * Python's threading.local drops them). Each thread's value lives in a slot that the key points
 * to; the slot is linked into its local's list on the thread's first set and unlinked when the
 * thread ends. */
#include "conclab.h"
#include "report.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define LOCAL_MAGIC 0x4c4f434cu /* "LOCL": a live cl_local */
#define DEAD_MAGIC 0xdeadf1eeu  /* written by cl_local_free, so a second free is caught */

typedef struct slot {
    struct cl_local *owner;
    void *value;              /* written only by the slot's thread */
    struct slot *prev, *next; /* in owner->slots, under owner->mutex */
} slot;

struct cl_local {
    unsigned magic;
    pthread_key_t key;
    void (*destructor)(void *);
    pthread_mutex_t mutex; /* guards slots */
    slot *slots;
};

/* A usable local, or a report naming call. */
static int valid(const cl_local *l, const char *call) {
    if (!l) {
        cl_report(call, "local is NULL (did cl_local_new fail?)");
        return 0;
    }
    if (l->magic != LOCAL_MAGIC) {
        cl_report(call, "not a live cl_local (freed already?)");
        return 0;
    }
    return 1;
}

static void unlink_slot(cl_local *l, slot *s) {
    if (s->prev) s->prev->next = s->next;
    else l->slots = s->next;
    if (s->next) s->next->prev = s->prev;
}

/* pthread calls this on a thread that ends with a slot in the key. */
static void thread_ended(void *opaque) {
    slot *s = opaque;
    cl_local *l = s->owner;
    pthread_mutex_lock(&l->mutex);
    unlink_slot(l, s);
    pthread_mutex_unlock(&l->mutex);
    if (s->value && l->destructor) l->destructor(s->value);
    free(s);
}

cl_local *cl_local_new(void (*destructor)(void *)) {
    cl_local *l = calloc(1, sizeof *l);
    if (!l) {
        cl_report("cl_local_new", "out of memory");
        return NULL;
    }
    int err = pthread_key_create(&l->key, thread_ended);
    if (err) {
        free(l);
        cl_report("cl_local_new", "cannot create a thread-local key: %s", strerror(err));
        return NULL;
    }
    pthread_mutex_init(&l->mutex, NULL);
    l->destructor = destructor;
    l->magic = LOCAL_MAGIC;
    return l;
}

void *cl_local_get(cl_local *l) {
    if (!valid(l, "cl_local_get")) return NULL;
    slot *s = pthread_getspecific(l->key);
    return s ? s->value : NULL;
}

/* The calling thread's slot, created and listed on first use. */
static slot *own_slot(cl_local *l) {
    slot *s = pthread_getspecific(l->key);
    if (s) return s;
    s = calloc(1, sizeof *s);
    if (!s) return NULL;
    s->owner = l;
    pthread_mutex_lock(&l->mutex);
    s->next = l->slots;
    if (l->slots) l->slots->prev = s;
    l->slots = s;
    pthread_mutex_unlock(&l->mutex);
    if (pthread_setspecific(l->key, s) != 0) {
        pthread_mutex_lock(&l->mutex);
        unlink_slot(l, s);
        pthread_mutex_unlock(&l->mutex);
        free(s);
        return NULL;
    }
    return s;
}

int cl_local_set(cl_local *l, void *value) {
    if (!valid(l, "cl_local_set")) return -1;
    if (!value && !pthread_getspecific(l->key)) return 0; /* NULL is what an unset slot reads */
    slot *s = own_slot(l);
    if (!s) {
        cl_report("cl_local_set", "out of memory");
        return -1;
    }
    s->value = value;
    return 0;
}

void cl_local_free(cl_local *l) {
    if (!l) return; /* like free(NULL) */
    if (!valid(l, "cl_local_free")) return;
    l->magic = DEAD_MAGIC;
    /* Deleted first: from here on no ending thread calls thread_ended for this local. */
    pthread_key_delete(l->key);
    pthread_mutex_lock(&l->mutex);
    slot *s = l->slots;
    l->slots = NULL;
    pthread_mutex_unlock(&l->mutex);
    while (s) {
        slot *next = s->next;
        if (s->value && l->destructor) l->destructor(s->value);
        free(s);
        s = next;
    }
    pthread_mutex_destroy(&l->mutex);
    free(l);
}
