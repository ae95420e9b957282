/* strmap.h — a hash map from strings to pointers: how the engine finds a name among thousands
 * of definitions without walking them all. Keys are copied; values are the caller's. Allocation
 * failure aborts, as in strbuf.h. */
#ifndef CONCLAB_STRMAP_H
#define CONCLAB_STRMAP_H

#include <stdbool.h>
#include <stddef.h>

typedef struct strmap_slot {
    char *key;     /* NULL: empty; or a marker of a removed key, which keeps probe chains intact */
    void *value;
    size_t hash;
} strmap_slot;

typedef struct strmap {
    strmap_slot *slots;
    size_t cap;    /* a power of two, or 0 */
    size_t count;  /* live keys */
    size_t used;   /* live and removed keys: what the probe chains hold */
} strmap;

/* The value for key, or NULL. `len` bytes of key are compared (no terminating NUL needed). */
void *strmap_getn(const strmap *m, const char *key, size_t len);
void *strmap_get(const strmap *m, const char *key);
bool strmap_has(const strmap *m, const char *key);

/* Sets key to value (replacing an old value). */
void strmap_put(strmap *m, const char *key, void *value);

/* Removes key; returns its value, or NULL when it was not there. */
void *strmap_remove(strmap *m, const char *key);

/* Calls fn for every key, in no particular order. */
void strmap_each(const strmap *m, void (*fn)(void *ctx, const char *key, void *value), void *ctx);

void strmap_free(strmap *m);

#endif
