/* regions.c — the marked regions of an instructor's cell: BEGIN/END SOLUTION and BEGIN/END
 * HIDDEN TESTS, written as a C comment (`// BEGIN SOLUTION`, or the same words in a block comment) or, in a
 * markdown answer, as nbgrader writes it there (`### BEGIN SOLUTION`). A marker is a line of its
 * own: only the comment or heading leaders may surround the words, so a string that happens to
 * contain them is not a marker. */
#include "grading.h"

#include <stdlib.h>
#include <string.h>

#include "strbuf.h"
#include "xalloc.h"

const char GRADING_CODE_STUB[] = "cl_check(0, \"not answered yet: replace this line with your code\");";
const char GRADING_ANSWER_STUB[] = "YOUR ANSWER HERE";

enum marker { NOT_A_MARKER, BEGIN, END };

/* Whether [p, end) is blank or only comment/heading punctuation. */
static bool only_decoration(const char *p, const char *end) {
    for (; p < end; p++)
        if (!strchr(" \t\r/*#", *p)) return false;
    return true;
}

/* What the line [line, end) is for the region `what` ("SOLUTION", "HIDDEN TESTS"). */
static enum marker marker_of(const char *line, const char *end, const char *what) {
    static const char *const words[] = {"BEGIN ", "END "};
    for (int kind = 0; kind < 2; kind++) {
        size_t wlen = strlen(words[kind]), what_len = strlen(what);
        for (const char *p = line; p + wlen + what_len <= end; p++) {
            if (strncmp(p, words[kind], wlen) != 0 || strncmp(p + wlen, what, what_len) != 0) continue;
            if (only_decoration(line, p) && only_decoration(p + wlen + what_len, end)) return kind == 0 ? BEGIN : END;
        }
    }
    return NOT_A_MARKER;
}

/* The source without the regions of `what` (markers included), each replaced by stub when one
 * is given; *regions counts them. NULL and *err on unbalanced markers. */
static char *transform(const char *source, const char *what, const char *stub, int *regions, char **err) {
    strbuf b = {0};
    bool inside = false;
    int count = 0, line_no = 0, begin_line = 0;
    const char *line = source;
    while (*line) {
        const char *nl = strchr(line, '\n');
        const char *end = nl ? nl : line + strlen(line);
        const char *next = nl ? nl + 1 : end;
        line_no++;
        enum marker m = marker_of(line, end, what);
        if (m == BEGIN) {
            if (inside) {
                *err = xasprintf("line %d: BEGIN %s inside the region begun on line %d", line_no, what, begin_line);
                strbuf_free(&b);
                return NULL;
            }
            inside = true;
            begin_line = line_no;
            count++;
            if (stub) {
                strbuf_addn(&b, line, strspn(line, " \t"));  /* keep the marker's indentation */
                strbuf_add(&b, stub);
                strbuf_add(&b, "\n");
            }
        } else if (m == END) {
            if (!inside) {
                *err = xasprintf("line %d: END %s without a BEGIN %s", line_no, what, what);
                strbuf_free(&b);
                return NULL;
            }
            inside = false;
        } else if (!inside) {
            strbuf_addn(&b, line, (size_t)(next - line));
        }
        line = next;
    }
    if (inside) {
        *err = xasprintf("line %d: BEGIN %s is never ended (END %s)", begin_line, what, what);
        strbuf_free(&b);
        return NULL;
    }
    if (regions) *regions = count;
    char *text = strbuf_take(&b);
    /* A region at the very end leaves the stub's newline where the source had none. */
    size_t len = strlen(text);
    if (len && text[len - 1] == '\n' && source[0] && source[strlen(source) - 1] != '\n') text[len - 1] = '\0';
    return text;
}

char *regions_clear_solution(const char *source, bool is_code, char **err) {
    const char *stub = is_code ? GRADING_CODE_STUB : GRADING_ANSWER_STUB;
    int regions = 0;
    char *text = transform(source, "SOLUTION", stub, &regions, err);
    if (text && regions == 0) {  /* no markers: the whole cell is the answer */
        free(text);
        text = xstrdup(stub);
    }
    return text;
}

char *regions_remove_hidden(const char *source, bool *had_hidden, char **err) {
    int regions = 0;
    char *text = transform(source, "HIDDEN TESTS", NULL, &regions, err);
    if (had_hidden) *had_hidden = regions > 0;
    return text;
}

bool regions_has_marker(const char *source, const char *what) {
    const char *line = source;
    while (*line) {
        const char *nl = strchr(line, '\n');
        const char *end = nl ? nl : line + strlen(line);
        if (marker_of(line, end, what) != NOT_A_MARKER) return true;
        line = nl ? nl + 1 : end;
    }
    return false;
}

char *regions_hidden_text(const char *source) {
    strbuf b = {0};
    bool inside = false;
    const char *line = source;
    while (*line) {
        const char *nl = strchr(line, '\n');
        const char *end = nl ? nl : line + strlen(line);
        const char *next = nl ? nl + 1 : end;
        enum marker m = marker_of(line, end, "HIDDEN TESTS");
        if (m != NOT_A_MARKER) inside = m == BEGIN;
        else if (inside) strbuf_addn(&b, line, (size_t)(next - line));
        line = next;
    }
    return strbuf_take(&b);
}

/* The line [p, end) without its leading and trailing blanks. */
static void trim(const char **p, const char **end) {
    while (*p < *end && strchr(" \t\r", **p)) (*p)++;
    while (*end > *p && strchr(" \t\r", (*end)[-1])) (*end)--;
}

/* Whether the line [p, end) shows one of the hidden lines (a traceback quotes the line it
 * stopped at). Hidden lines shorter than 4 characters ("}", "x;") say nothing worth hiding. */
static bool shows_hidden_line(const char *p, const char *end, const char *hidden) {
    const char *h = hidden;
    while (*h) {
        const char *nl = strchr(h, '\n');
        const char *h_end = nl ? nl : h + strlen(h), *h_next = nl ? nl + 1 : h_end;
        const char *hp = h;
        trim(&hp, &h_end);
        size_t n = (size_t)(h_end - hp);
        if (n >= 4)
            for (const char *q = p; q + n <= end; q++)
                if (memcmp(q, hp, n) == 0) return true;
        h = h_next;
    }
    return false;
}

char *regions_redact(const char *text, const char *hidden) {
    strbuf b = {0};
    const char *line = text ? text : "";
    while (*line) {
        const char *nl = strchr(line, '\n');
        const char *end = nl ? nl : line + strlen(line);
        const char *next = nl ? nl + 1 : end;
        if (shows_hidden_line(line, end, hidden)) {
            strbuf_addn(&b, line, strspn(line, " \t"));
            strbuf_add(&b, "[a line of a hidden test]");
            if (nl) strbuf_add(&b, "\n");
        } else {
            strbuf_addn(&b, line, (size_t)(next - line));
        }
        line = next;
    }
    return strbuf_take(&b);
}
