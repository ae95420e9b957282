/* shared_value.c — cl_value and cl_array, Python's multiprocessing.Value and Array: bytes in a
 * shared mapping, with an optional re-entrant lock that survives the death of its holder.
 *
 * Both are the same thing underneath, a block: a header, the lock, the shape, then the data
 * on a 64-byte boundary (suitably aligned for any type, and on its own cache line). The typed
 * conveniences check the element size, so reading a double block as a long is reported. */
#include "conclab.h"
#include "report.h"
#include "shared_object.h"

#include <stdint.h>
#include <string.h>

#define VALUE_MAGIC 0x56414c55u /* "VALU" */
#define ARRAY_MAGIC 0x41525259u /* "ARRY" */
#define DATA_ALIGN 64

typedef struct block {
    cl__shared_header header;
    cl__owned_lock lock;
    int with_lock;
    size_t elem_size;
    size_t length;
    size_t data_offset;
} block;

struct cl_value {
    block b;
};

struct cl_array {
    block b;
};

static unsigned char *data_of(block *b) {
    return (unsigned char *)b + b->data_offset;
}

static block *block_new(size_t elem_size, size_t length, int with_lock, uint32_t magic,
                        const char *call) {
    if (elem_size == 0) {
        cl_report(call, "element size must be > 0");
        return NULL;
    }
    if (length > (SIZE_MAX - 2 * DATA_ALIGN - sizeof(block)) / elem_size) {
        cl_report(call, "%zu elements of %zu bytes do not fit in memory", length, elem_size);
        return NULL;
    }
    size_t offset = (sizeof(block) + DATA_ALIGN - 1) / DATA_ALIGN * DATA_ALIGN;
    block *b = cl__shared_object_new(offset + elem_size * length, magic, call);
    if (!b) return NULL;
    b->elem_size = elem_size;
    b->length = length;
    b->data_offset = offset;
    b->with_lock = with_lock != 0;
    /* Re-entrant, like the RLock Python gives a Value: cl_value_get_long inside CL_WITH_VALUE. */
    if (b->with_lock && !cl__owned_lock_init(&b->lock, 1, call)) {
        cl__shared_object_retire(b);
        return NULL;
    }
    return b;
}

static int lock_block(block *b, const char *call, const char *what) {
    if (!b->with_lock) {
        cl_report(call, "the %s was created without a lock (with_lock = 0)", what);
        return 0;
    }
    cl__deadline forever;
    cl__deadline_forever(&forever);
    return cl__owned_lock_acquire(&b->lock, &forever, 1, call, what, b, "its lock");
}

static int unlock_block(block *b, const char *call, const char *what) {
    if (!b->with_lock) {
        cl_report(call, "the %s was created without a lock (with_lock = 0)", what);
        return 0;
    }
    return cl__owned_lock_release(&b->lock, call, what, b);
}

static int free_block(block *b, const char *call, const char *what) {
    if (b->with_lock && cl__owned_lock_mine(&b->lock)) {
        cl_report(call, "this thread holds the %s's lock; release it first", what);
        return 0;
    }
    cl__shared_object_retire(b);
    return 1;
}

/* Copies one element in or out under the block's lock (if any): the typed get/set. */
static int access_element(block *b, size_t i, void *io, size_t elem_size, int write,
                          const char *call, const char *what) {
    if (b->elem_size != elem_size) {
        cl_report(call, "the %s holds elements of %zu bytes, not %zu", what, b->elem_size, elem_size);
        return 0;
    }
    if (i >= b->length) {
        cl_report(call, "index %zu out of range (the %s has %zu elements)", i, what, b->length);
        return 0;
    }
    if (b->with_lock && !lock_block(b, call, what)) return 0;
    unsigned char *slot = data_of(b) + i * elem_size;
    if (write) memcpy(slot, io, elem_size);
    else memcpy(io, slot, elem_size);
    if (b->with_lock) cl__owned_lock_release(&b->lock, call, what, b);
    return 1;
}

/* ---- Value ---------------------------------------------------------------------------------- */

#define VALUE_OK(v, call) cl__shared_object_valid((v), VALUE_MAGIC, (call), "value")

cl_value *cl_value_new(size_t size, int with_lock) {
    if (size == 0) {
        cl_report("cl_value_new", "size must be > 0");
        return NULL;
    }
    return (cl_value *)block_new(size, 1, with_lock, VALUE_MAGIC, "cl_value_new");
}

cl_value *cl_value_new_long(long initial, int with_lock) {
    cl_value *v = (cl_value *)block_new(sizeof(long), 1, with_lock, VALUE_MAGIC, "cl_value_new_long");
    if (v) memcpy(data_of(&v->b), &initial, sizeof initial);
    return v;
}

cl_value *cl_value_new_double(double initial, int with_lock) {
    cl_value *v = (cl_value *)block_new(sizeof(double), 1, with_lock, VALUE_MAGIC, "cl_value_new_double");
    if (v) memcpy(data_of(&v->b), &initial, sizeof initial);
    return v;
}

void *cl_value_ptr(cl_value *v) {
    return VALUE_OK(v, "cl_value_ptr") ? data_of(&v->b) : NULL;
}

size_t cl_value_size(cl_value *v) {
    return VALUE_OK(v, "cl_value_size") ? v->b.elem_size : 0;
}

long cl_value_get_long(cl_value *v) {
    long x = 0;
    if (VALUE_OK(v, "cl_value_get_long"))
        access_element(&v->b, 0, &x, sizeof x, 0, "cl_value_get_long", "value");
    return x;
}

int cl_value_set_long(cl_value *v, long x) {
    return VALUE_OK(v, "cl_value_set_long") &&
           access_element(&v->b, 0, &x, sizeof x, 1, "cl_value_set_long", "value");
}

double cl_value_get_double(cl_value *v) {
    double x = 0;
    if (VALUE_OK(v, "cl_value_get_double"))
        access_element(&v->b, 0, &x, sizeof x, 0, "cl_value_get_double", "value");
    return x;
}

int cl_value_set_double(cl_value *v, double x) {
    return VALUE_OK(v, "cl_value_set_double") &&
           access_element(&v->b, 0, &x, sizeof x, 1, "cl_value_set_double", "value");
}

int cl_value_lock(cl_value *v) {
    return VALUE_OK(v, "cl_value_lock") && lock_block(&v->b, "cl_value_lock", "value");
}

int cl_value_unlock(cl_value *v) {
    return VALUE_OK(v, "cl_value_unlock") && unlock_block(&v->b, "cl_value_unlock", "value");
}

int cl_value_free(cl_value *v) {
    if (!v) return 1; /* like free(NULL) */
    return VALUE_OK(v, "cl_value_free") && free_block(&v->b, "cl_value_free", "value");
}

/* ---- Array ---------------------------------------------------------------------------------- */

#define ARRAY_OK(a, call) cl__shared_object_valid((a), ARRAY_MAGIC, (call), "array")

cl_array *cl_array_new(size_t elem_size, size_t length, int with_lock) {
    return (cl_array *)block_new(elem_size, length, with_lock, ARRAY_MAGIC, "cl_array_new");
}

cl_array *cl_array_new_long(size_t length, int with_lock) {
    return (cl_array *)block_new(sizeof(long), length, with_lock, ARRAY_MAGIC, "cl_array_new_long");
}

cl_array *cl_array_new_double(size_t length, int with_lock) {
    return (cl_array *)block_new(sizeof(double), length, with_lock, ARRAY_MAGIC, "cl_array_new_double");
}

void *cl_array_ptr(cl_array *a) {
    return ARRAY_OK(a, "cl_array_ptr") ? data_of(&a->b) : NULL;
}

size_t cl_array_length(cl_array *a) {
    return ARRAY_OK(a, "cl_array_length") ? a->b.length : 0;
}

size_t cl_array_elem_size(cl_array *a) {
    return ARRAY_OK(a, "cl_array_elem_size") ? a->b.elem_size : 0;
}

long cl_array_get_long(cl_array *a, size_t i) {
    long x = 0;
    if (ARRAY_OK(a, "cl_array_get_long"))
        access_element(&a->b, i, &x, sizeof x, 0, "cl_array_get_long", "array");
    return x;
}

int cl_array_set_long(cl_array *a, size_t i, long x) {
    return ARRAY_OK(a, "cl_array_set_long") &&
           access_element(&a->b, i, &x, sizeof x, 1, "cl_array_set_long", "array");
}

double cl_array_get_double(cl_array *a, size_t i) {
    double x = 0;
    if (ARRAY_OK(a, "cl_array_get_double"))
        access_element(&a->b, i, &x, sizeof x, 0, "cl_array_get_double", "array");
    return x;
}

int cl_array_set_double(cl_array *a, size_t i, double x) {
    return ARRAY_OK(a, "cl_array_set_double") &&
           access_element(&a->b, i, &x, sizeof x, 1, "cl_array_set_double", "array");
}

int cl_array_lock(cl_array *a) {
    return ARRAY_OK(a, "cl_array_lock") && lock_block(&a->b, "cl_array_lock", "array");
}

int cl_array_unlock(cl_array *a) {
    return ARRAY_OK(a, "cl_array_unlock") && unlock_block(&a->b, "cl_array_unlock", "array");
}

int cl_array_free(cl_array *a) {
    if (!a) return 1; /* like free(NULL) */
    return ARRAY_OK(a, "cl_array_free") && free_block(&a->b, "cl_array_free", "array");
}
