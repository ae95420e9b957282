/* notebook_text.c — nbformat's multiline strings as C strings, and the tag of a cell that fails on
 * purpose (notebook_text.h). */
#include "notebook_text.h"

#include <string.h>

#include "xalloc.h"

char *notebook_multiline_text(const json_t *value) {
    if (json_is_string(value)) return xstrdup(json_string_value(value));
    if (!json_is_array(value)) return NULL;
    size_t len = 0, i;
    json_t *line;
    json_array_foreach(value, i, line) {
        if (!json_is_string(line)) return NULL;
        len += json_string_length(line);
    }
    char *text = xrealloc(NULL, len + 1), *at = text;
    json_array_foreach(value, i, line) {
        memcpy(at, json_string_value(line), json_string_length(line));
        at += json_string_length(line);
    }
    *at = '\0';
    return text;
}

bool notebook_cell_raises_on_purpose(const json_t *cell) {
    const json_t *tags = json_object_get(json_object_get(cell, "metadata"), "tags");
    size_t i;
    const json_t *tag;
    json_array_foreach(tags, i, tag) {
        if (json_is_string(tag) && strcmp(json_string_value(tag), "raises-exception") == 0) return true;
    }
    return false;
}
