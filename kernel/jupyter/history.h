/* history.h — the notebook's input history for history_request: every stored cell with its
 * session, line (execution count) and text output, kept in memory for the kernel's lifetime.
 *
 * Queries answer with the protocol's own shapes: a JSON array of [session, line, input], or of
 * [session, line, [input, output]] when output is asked for (output null when there was none).
 * A kernel process lives for one session, number 1: a restart starts a new process. In
 * history_range, session 0 also means the current one, and a negative session (an earlier one,
 * counted back as IPython does) was never seen by this process and gives nothing. */
#ifndef CONCLAB_HISTORY_H
#define CONCLAB_HISTORY_H

#include <jansson.h>
#include <stdbool.h>

typedef struct history history;

history *history_new(void);
void history_free(history *h);

/* Records one executed cell of the current session. output may be NULL. */
void history_add(history *h, int line, const char *input, const char *output);

/* The last n entries, oldest first (n <= 0: none). New reference. */
json_t *history_tail(const history *h, int n, bool output);

/* Entries of one session with start <= line < stop; stop <= 0 means to the end, a negative start
 * counts back from the session's last line. New reference. */
json_t *history_range(const history *h, int session, int start, int stop, bool output);

/* Entries whose input matches the glob pattern as a whole (`*`, `?`, `[...]`), oldest first; the
 * last n of them when n > 0; with unique, only the latest entry of each distinct input.
 * New reference. */
json_t *history_search(const history *h, const char *pattern, int n, bool unique, bool output);

#endif
