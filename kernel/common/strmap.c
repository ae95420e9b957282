/* strmap.c — open addressing with linear probing, FNV-1a hashes, grown at 3/4 full. */
#include "strmap.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static char gone_marker;
#define STRMAP_GONE (&gone_marker)

static size_t hash_of(const char *key, size_t len) {
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < len; i++) {
        h ^= (unsigned char)key[i];
        h *= 1099511628211ULL;
    }
    return (size_t)h;
}

static bool same_key(const strmap_slot *s, size_t hash, const char *key, size_t len) {
    return s->key != STRMAP_GONE && s->hash == hash && strncmp(s->key, key, len) == 0 && s->key[len] == '\0';
}

/* The slot holding key, or NULL. */
static strmap_slot *find(const strmap *m, const char *key, size_t len, size_t hash) {
    if (!m->cap) return NULL;
    for (size_t i = hash & (m->cap - 1);; i = (i + 1) & (m->cap - 1)) {
        strmap_slot *s = &m->slots[i];
        if (!s->key) return NULL;
        if (same_key(s, hash, key, len)) return s;
    }
}

void *strmap_getn(const strmap *m, const char *key, size_t len) {
    strmap_slot *s = find(m, key, len, hash_of(key, len));
    return s ? s->value : NULL;
}

void *strmap_get(const strmap *m, const char *key) { return strmap_getn(m, key, strlen(key)); }

bool strmap_has(const strmap *m, const char *key) {
    size_t len = strlen(key);
    return find(m, key, len, hash_of(key, len)) != NULL;
}

static void insert_fresh(strmap *m, char *key, void *value, size_t hash) {
    size_t i = hash & (m->cap - 1);
    while (m->slots[i].key) i = (i + 1) & (m->cap - 1);
    m->slots[i] = (strmap_slot){key, value, hash};
}

/* Rebuilds the table at a size that leaves room, dropping removed keys. */
static void grow(strmap *m) {
    size_t cap = m->cap ? m->cap : 16;
    while ((m->count + 1) * 4 >= cap * 3) cap *= 2;
    strmap_slot *old = m->slots;
    size_t old_cap = m->cap;
    m->slots = calloc(cap, sizeof *m->slots);
    if (!m->slots) abort();
    m->cap = cap;
    m->used = m->count;
    for (size_t i = 0; i < old_cap; i++)
        if (old[i].key && old[i].key != STRMAP_GONE) insert_fresh(m, old[i].key, old[i].value, old[i].hash);
    free(old);
}

void strmap_put(strmap *m, const char *key, void *value) {
    size_t len = strlen(key), hash = hash_of(key, len);
    strmap_slot *s = find(m, key, len, hash);
    if (s) {
        s->value = value;
        return;
    }
    if ((m->used + 1) * 4 >= m->cap * 3) grow(m);
    char *copy = strdup(key);
    if (!copy) abort();
    insert_fresh(m, copy, value, hash);
    m->count++;
    m->used++;
}

void *strmap_remove(strmap *m, const char *key) {
    size_t len = strlen(key);
    strmap_slot *s = find(m, key, len, hash_of(key, len));
    if (!s) return NULL;
    void *value = s->value;
    free(s->key);
    s->key = STRMAP_GONE;
    s->value = NULL;
    m->count--;
    return value;
}

void strmap_each(const strmap *m, void (*fn)(void *ctx, const char *key, void *value), void *ctx) {
    for (size_t i = 0; i < m->cap; i++)
        if (m->slots[i].key && m->slots[i].key != STRMAP_GONE) fn(ctx, m->slots[i].key, m->slots[i].value);
}

void strmap_free(strmap *m) {
    for (size_t i = 0; i < m->cap; i++)
        if (m->slots[i].key != STRMAP_GONE) free(m->slots[i].key);
    free(m->slots);
    memset(m, 0, sizeof *m);
}
