/* lane_builder.c — see lane_builder.h. */
#define _GNU_SOURCE
#include "lane_builder.h"

#include <stdlib.h>
#include <string.h>

void lane_begin(lane_builder *b, double start, tl_state state, const char *what) {
    b->lane.start = start;
    b->lane.end = start;
    b->state = state;
    b->what = what;
    b->since = start;
    b->open = 1;
}

static int same_text(const char *a, const char *b) {
    return a == b || (a && b && strcmp(a, b) == 0);
}

/* Closes the open span at `time`; 0 when out of memory. */
static int close_span(lane_builder *b, double time) {
    if (time <= b->since) return 1;
    if (b->lane.n_spans == b->cap) {
        size_t more = b->cap ? b->cap * 2 : 16;
        tl_span *grown = realloc(b->lane.spans, more * sizeof *grown);
        if (!grown) return 0;
        b->lane.spans = grown;
        b->cap = more;
    }
    tl_span *s = &b->lane.spans[b->lane.n_spans];
    s->start = b->since;
    s->end = time;
    s->state = b->state;
    s->what = b->what ? strdup(b->what) : NULL;
    b->lane.n_spans++;
    b->since = time;
    return 1;
}

int lane_set(lane_builder *b, double time, tl_state state, const char *what) {
    if (!b->open || b->ended) return 1;
    if (time < b->since) time = b->since; /* clocks of different CPUs, a hair apart */
    if (state == b->state && same_text(what, b->what)) return 1;
    int ok = close_span(b, time);
    b->state = state;
    b->what = what;
    return ok;
}

int lane_end(lane_builder *b, double time) {
    if (!b->open || b->ended) return 1;
    if (time < b->since) time = b->since;
    int ok = close_span(b, time);
    b->lane.end = time;
    b->ended = 1;
    return ok;
}
