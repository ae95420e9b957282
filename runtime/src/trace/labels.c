/* labels.c — objects' labels for the model (labels.h): a hash table keyed by address, and a
 * counter per kind for the default numbers. Labels are never freed before the table is, since
 * the lanes being built point at them until their spans are copied. */
#define _GNU_SOURCE
#include "labels.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct kind_count {
    const char *primitive;
    int n;
} kind_count;

struct trace_labels {
    trace_object *slots;     /* open addressing; object NULL marks a free slot */
    size_t cap, used;
    trace_object none;       /* the record for NULL objects (sleeps) */
    kind_count *kinds;
    size_t n_kinds, kinds_cap;
    char **kept;             /* every label made, freed at the end */
    size_t n_kept, kept_cap;
};

trace_labels *trace_labels_new(void) {
    trace_labels *t = calloc(1, sizeof *t);
    if (!t) return NULL;
    t->cap = 256;
    t->slots = calloc(t->cap, sizeof *t->slots);
    if (!t->slots) {
        free(t);
        return NULL;
    }
    return t;
}

void trace_labels_free(trace_labels *t) {
    if (!t) return;
    for (size_t i = 0; i < t->cap; i++) {
        free(t->slots[i].name);
        free(t->slots[i].queued);
    }
    free(t->none.name);
    for (size_t i = 0; i < t->n_kept; i++) free(t->kept[i]);
    free(t->kept);
    free(t->kinds);
    free(t->slots);
    free(t);
}

const char *trace_labels_keep(trace_labels *t, char *owned) {
    if (!owned) return NULL;
    if (t->n_kept == t->kept_cap) {
        size_t more = t->kept_cap ? t->kept_cap * 2 : 64;
        char **grown = realloc(t->kept, more * sizeof *grown);
        if (!grown) {
            free(owned);
            return NULL;
        }
        t->kept = grown;
        t->kept_cap = more;
    }
    t->kept[t->n_kept++] = owned;
    return owned;
}

static size_t slot_of(const void *object, size_t cap) {
    uintptr_t h = (uintptr_t)object;
    h ^= h >> 17;
    h *= 0x9E3779B97F4A7C15ull;
    return (size_t)(h >> 20) & (cap - 1);
}

static int grow(trace_labels *t) {
    size_t cap = t->cap * 2;
    trace_object *slots = calloc(cap, sizeof *slots);
    if (!slots) return 0;
    for (size_t i = 0; i < t->cap; i++) {
        if (!t->slots[i].object) continue;
        size_t j = slot_of(t->slots[i].object, cap);
        while (slots[j].object) j = (j + 1) & (cap - 1);
        slots[j] = t->slots[i];
    }
    free(t->slots);
    t->slots = slots;
    t->cap = cap;
    return 1;
}

trace_object *trace_labels_find(trace_labels *t, const void *object, const char *primitive) {
    if (!object) {
        (void)primitive; /* no kind kept: different waits share this record */
        return &t->none;
    }
    if (t->used * 2 >= t->cap && !grow(t)) return NULL;
    size_t i = slot_of(object, t->cap);
    while (t->slots[i].object && t->slots[i].object != object) i = (i + 1) & (t->cap - 1);
    trace_object *o = &t->slots[i];
    if (!o->object) {
        o->object = object;
        t->used++;
    }
    if (!o->primitive && primitive) o->primitive = primitive;
    return o;
}

void trace_labels_name(trace_labels *t, trace_object *o, const char *name) {
    (void)t;
    free(o->name);
    o->name = name ? strdup(name) : NULL;
    o->label = NULL;
}

void trace_labels_forget(trace_labels *t, trace_object *o) {
    (void)t;
    free(o->name);
    o->name = NULL;
    o->label = NULL;
    o->primitive = NULL;
    o->has_release = 0;
    o->queued_head = o->n_queued = 0;
    o->task_actor = 0;
}

static int next_number(trace_labels *t, const char *primitive) {
    for (size_t i = 0; i < t->n_kinds; i++)
        if (strcmp(t->kinds[i].primitive, primitive) == 0) return ++t->kinds[i].n;
    if (t->n_kinds == t->kinds_cap) {
        size_t more = t->kinds_cap ? t->kinds_cap * 2 : 16;
        kind_count *grown = realloc(t->kinds, more * sizeof *grown);
        if (!grown) return 0;
        t->kinds = grown;
        t->kinds_cap = more;
    }
    t->kinds[t->n_kinds++] = (kind_count){primitive, 1};
    return 1;
}

/* Kinds the timeline names by themselves, not as "<kind> <number>". */
static const char *fixed_label(const char *primitive) {
    if (strcmp(primitive, "gil") == 0) return "GIL";
    if (strcmp(primitive, "sleep") == 0) return "sleep";
    if (strcmp(primitive, "loop") == 0) return "event loop (poll)";
    return NULL;
}

const char *trace_labels_label(trace_labels *t, trace_object *o, const char *event_primitive) {
    if (!o->object) { /* a wait on no object in particular: a sleep, an HTTP request */
        const char *fixed = fixed_label(event_primitive ? event_primitive : "object");
        return fixed ? fixed : event_primitive ? event_primitive : "object";
    }
    if (o->label) return o->label;
    const char *primitive = o->primitive ? o->primitive : event_primitive ? event_primitive : "object";
    const char *fixed = fixed_label(primitive);
    if (fixed) return fixed;
    char *text = NULL;
    int made = o->name ? asprintf(&text, "%s \"%s\"", primitive, o->name)
                       : asprintf(&text, "%s %d", primitive, next_number(t, primitive));
    if (made < 0) return primitive;
    o->label = (char *)trace_labels_keep(t, text);
    return o->label ? o->label : primitive;
}
