/* test_history.c — history_request's three queries (tail, range, search) over a known history. */
#include <stdlib.h>

#include "check.h"
#include "history.h"

/* The reply row's parts, whichever shape it has. */
static int row_line(json_t *row) {
    return (int)json_integer_value(json_array_get(row, 1));
}

static const char *row_input(json_t *row) {
    json_t *source = json_array_get(row, 2);
    return json_is_array(source) ? json_string_value(json_array_get(source, 0)) : json_string_value(source);
}

/* "2,3,4": the lines of a reply, to compare in one check. */
static const char *lines_of(json_t *rows) {
    static char buf[256];
    size_t used = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < json_array_size(rows); i++)
        used += (size_t)snprintf(buf + used, sizeof(buf) - used, "%s%d", i ? "," : "",
                                 row_line(json_array_get(rows, i)));
    json_decref(rows);
    return buf;
}

static history *sample(void) {
    history *h = history_new();
    history_add(h, 1, "int x = 1;", NULL);
    history_add(h, 2, "printf(\"%d\\n\", x);", NULL);
    history_add(h, 3, "x", "1");
    history_add(h, 4, "x = 2;", NULL);
    history_add(h, 5, "x", "2");
    history_add(h, 6, "puts(\"caf\xc3\xa9\");", NULL);
    return h;
}

static void test_empty(void) {
    history *h = history_new();
    CHECK_STR(lines_of(history_tail(h, 10, false)), "");
    CHECK_STR(lines_of(history_range(h, 0, 1, 0, false)), "");
    CHECK_STR(lines_of(history_search(h, "*", 0, false, false)), "");
    history_free(h);
}

static void test_tail(void) {
    history *h = sample();
    CHECK_STR(lines_of(history_tail(h, 2, false)), "5,6");
    CHECK_STR(lines_of(history_tail(h, 100, false)), "1,2,3,4,5,6");
    CHECK_STR(lines_of(history_tail(h, 0, false)), "");
    CHECK_STR(lines_of(history_tail(h, -3, false)), "");

    json_t *rows = history_tail(h, 1, false);
    json_t *row = json_array_get(rows, 0);
    CHECK(json_array_size(row) == 3);
    CHECK(json_integer_value(json_array_get(row, 0)) == 1);  /* the session */
    CHECK_STR(row_input(row), "puts(\"caf\xc3\xa9\");");
    json_decref(rows);
    history_free(h);
}

static void test_output_shape(void) {
    history *h = sample();
    json_t *rows = history_range(h, 0, 3, 5, true);
    CHECK(json_array_size(rows) == 2);
    json_t *with_output = json_array_get(json_array_get(rows, 0), 2);
    CHECK(json_is_array(with_output) && json_array_size(with_output) == 2);
    CHECK_STR(json_string_value(json_array_get(with_output, 0)), "x");
    CHECK_STR(json_string_value(json_array_get(with_output, 1)), "1");
    json_t *without_output = json_array_get(json_array_get(rows, 1), 2);
    CHECK(json_is_null(json_array_get(without_output, 1)));
    json_decref(rows);
    history_free(h);
}

static void test_range(void) {
    history *h = sample();
    CHECK_STR(lines_of(history_range(h, 0, 2, 4, false)), "2,3");
    CHECK_STR(lines_of(history_range(h, 1, 2, 4, false)), "2,3");   /* the session by number */
    CHECK_STR(lines_of(history_range(h, 0, 4, 0, false)), "4,5,6"); /* no stop: to the end */
    CHECK_STR(lines_of(history_range(h, 0, -2, 0, false)), "5,6");  /* counted from the end */
    CHECK_STR(lines_of(history_range(h, 0, 5, 5, false)), "");
    CHECK_STR(lines_of(history_range(h, -1, 1, 0, false)), "");     /* earlier sessions: none here */
    CHECK_STR(lines_of(history_range(h, 2, 1, 0, false)), "");
    history_free(h);
}

static void test_search(void) {
    history *h = sample();
    CHECK_STR(lines_of(history_search(h, "x", 0, false, false)), "3,5");  /* the whole input */
    CHECK_STR(lines_of(history_search(h, "x*", 0, false, false)), "3,4,5");
    CHECK_STR(lines_of(history_search(h, "*printf*", 0, false, false)), "2");
    CHECK_STR(lines_of(history_search(h, "?", 0, false, false)), "3,5");
    CHECK_STR(lines_of(history_search(h, "[xy] = ?;", 0, false, false)), "4");
    CHECK_STR(lines_of(history_search(h, "*caf\xc3\xa9*", 0, false, false)), "6");
    CHECK_STR(lines_of(history_search(h, "x*", 2, false, false)), "4,5");  /* the last n */
    CHECK_STR(lines_of(history_search(h, "x", 0, true, false)), "5");      /* latest of each */
    CHECK_STR(lines_of(history_search(h, "*", 0, true, false)), "1,2,4,5,6");
    CHECK_STR(lines_of(history_search(h, "nothing*", 0, false, false)), "");
    history_free(h);
}

int main(void) {
    test_empty();
    test_tail();
    test_output_shape();
    test_range();
    test_search();
    return check_summary("test_history");
}
