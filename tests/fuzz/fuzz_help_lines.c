/* fuzz_help_lines.c — finding `name?` lines must take any cell: no crash, the cell keeps its
 * length and its newlines (so line numbers hold), only spaces replace what was taken, and each
 * name asked for is a non-empty ASCII name. */
#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "help_lines.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char *code = malloc(size + 1), *before = malloc(size + 1);
    if (!code || !before) abort();
    memcpy(code, data, size);
    code[size] = '\0';  /* cells arrive as NUL-terminated JSON strings */
    memcpy(before, code, size + 1);
    help_query q[HELP_LINES_MAX];
    size_t n = help_lines_take(code, q, HELP_LINES_MAX);
    if (strlen(code) != strlen(before)) abort();
    for (size_t i = 0; before[i]; i++)
        if (code[i] != before[i] && (code[i] != ' ' || before[i] == '\n')) abort();
    for (size_t i = 0; i < n && i < HELP_LINES_MAX; i++) {
        if (!q[i].name[0] || (q[i].detail != 0 && q[i].detail != 1)) abort();
        for (const char *c = q[i].name; *c; c++)
            if (!isalnum((unsigned char)*c) && !strchr("_.->", *c)) abort();
    }
    free(code);
    free(before);
    return 0;
}
