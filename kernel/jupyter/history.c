/* history.c — the in-memory input history behind history_request. */
#include "history.h"

#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>

/* A kernel process serves one session; a restart is a fresh process. */
#define HISTORY_SESSION 1

typedef struct history_entry {
    int line;
    char *input;
    char *output;  /* NULL when the cell showed no result */
} history_entry;

struct history {
    history_entry *entries;
    size_t n, cap;
};

static char *dup_or_null(const char *s) {
    return s ? strdup(s) : NULL;
}

history *history_new(void) {
    return calloc(1, sizeof(history));
}

void history_free(history *h) {
    if (!h) return;
    for (size_t i = 0; i < h->n; i++) {
        free(h->entries[i].input);
        free(h->entries[i].output);
    }
    free(h->entries);
    free(h);
}

void history_add(history *h, int line, const char *input, const char *output) {
    if (h->n == h->cap) {
        size_t cap = h->cap ? h->cap * 2 : 64;
        history_entry *grown = realloc(h->entries, cap * sizeof(*grown));
        if (!grown) return;  /* history is a convenience: losing an entry beats failing a cell */
        h->entries = grown;
        h->cap = cap;
    }
    history_entry *e = &h->entries[h->n++];
    e->line = line;
    e->input = strdup(input ? input : "");
    e->output = dup_or_null(output);
}

/* One reply row: [session, line, input] or [session, line, [input, output]]. */
static json_t *entry_json(const history_entry *e, bool output) {
    json_t *source = json_string(e->input);
    if (!source) source = json_string("");  /* invalid UTF-8 cannot reach JSON */
    if (output)
        source = json_pack("[o, o]", source, e->output ? json_string(e->output) : json_null());
    return json_pack("[i, i, o]", HISTORY_SESSION, e->line, source);
}

static json_t *rows(const history *h, size_t from, size_t to, bool output) {
    json_t *out = json_array();
    for (size_t i = from; i < to; i++) json_array_append_new(out, entry_json(&h->entries[i], output));
    return out;
}

json_t *history_tail(const history *h, int n, bool output) {
    if (n <= 0) return json_array();
    size_t from = (size_t)n >= h->n ? 0 : h->n - (size_t)n;
    return rows(h, from, h->n, output);
}

json_t *history_range(const history *h, int session, int start, int stop, bool output) {
    json_t *out = json_array();
    if (session != 0 && session != HISTORY_SESSION) return out;
    int last = h->n ? h->entries[h->n - 1].line : 0;
    if (start < 0) start += last + 1;
    for (size_t i = 0; i < h->n; i++) {
        const history_entry *e = &h->entries[i];
        if (e->line >= start && (stop <= 0 || e->line < stop))
            json_array_append_new(out, entry_json(e, output));
    }
    return out;
}

/* Whether a later entry (index > i) holds the same input: unique keeps only the latest. */
static bool repeated_later(const history *h, size_t i) {
    for (size_t j = i + 1; j < h->n; j++)
        if (strcmp(h->entries[j].input, h->entries[i].input) == 0) return true;
    return false;
}

json_t *history_search(const history *h, const char *pattern, int n, bool unique, bool output) {
    /* Walk newest to oldest so "the last n" is a count, then reverse into oldest-first order. */
    size_t *hits = malloc((h->n ? h->n : 1) * sizeof(*hits));
    size_t n_hits = 0;
    if (!hits) return json_array();
    for (size_t i = h->n; i-- > 0;) {
        if (n > 0 && n_hits == (size_t)n) break;
        if (fnmatch(pattern ? pattern : "*", h->entries[i].input, FNM_NOESCAPE) != 0) continue;
        if (unique && repeated_later(h, i)) continue;
        hits[n_hits++] = i;
    }
    json_t *out = json_array();
    while (n_hits > 0) json_array_append_new(out, entry_json(&h->entries[hits[--n_hits]], output));
    free(hits);
    return out;
}
