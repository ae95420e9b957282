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
    char *err = NULL;
    if (cell_split(code, NULL, &c, &err) == 0) {
        for (size_t i = 0; i < c.n_items; i++) {
            const cell_item *it = &c.items[i];
            if (!it->text || it->line < 1) abort();
            if (it->prototype && it->name_offset > strlen(it->prototype)) abort();
            if (it->kind == ITEM_VARIABLE && (!it->specifiers || !it->declarator || !it->name)) abort();
        }
        cell_free(&c);
    } else if (!err) {
        abort();  /* a refusal always says why */
    }
    free(err);
    free(code);
    return 0;
}
