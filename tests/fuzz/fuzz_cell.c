/* fuzz_cell.c — the cell splitter and the completeness check must take any bytes: no crash, no
 * read out of bounds, no leak, and every item they return must be well formed. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cell.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char *code = malloc(size + 1);
    if (!code) return 0;
    memcpy(code, data, size);
    code[size] = '\0';  /* cells arrive as NUL-terminated JSON strings */
    char indent[64];
    cell_check_complete(code, indent, sizeof indent);
    cell c;
    cell_error err = {0, ""};
    if (cell_split(code, NULL, &c, &err) == 0) {
        for (size_t i = 0; i < c.n_items; i++) {
            const cell_item *it = &c.items[i];
            if (!it->text || it->line < 1) abort();
            if (it->prototype && it->name_offset > strlen(it->prototype)) abort();
            if (it->kind == ITEM_VARIABLE && (!it->specifiers || !it->declarator || !it->name)) abort();
        }
        cell_free(&c);
    } else if (err.line < 1 || !err.text[0] || !memchr(err.text, 0, sizeof err.text) || c.items || c.n_items) {
        abort();  /* a refusal always says where and why, and leaves nothing behind */
    }
    free(code);
    return 0;
}
