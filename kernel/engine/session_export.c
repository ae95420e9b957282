/* session_export.c — `%export FILE.c`: the notebook so far as one C program.
 *
 * "So far" is what this session's notebook state holds: the cells executed since the kernel
 * started (or last restarted, or lost its state), in execution order, the way the kernel read
 * them. A cell that failed to compile changed nothing and is left out; a cell that ran and then
 * failed (a crash, a failed check) is kept, since its definitions stay. Re-running a cell
 * appends it again, as the kernel ran it again. The %export cell itself is not part of it. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine_internal.h"
#include "export_program.h"
#include "text_file.h"
#include "xalloc.h"

void engine_history_add(engine *eng, const char *code, int number, const engine_outcome *out) {
    if (!out->ok && out->ename && (strcmp(out->ename, "CompileError") == 0 || strcmp(out->ename, "MagicError") == 0))
        return;
    if (!eng->history) eng->history = json_array();
    json_array_append_new(eng->history, json_pack("{s:s, s:i}", "code", code, "number", number));
}

void engine_history_clear(engine *eng) {
    if (eng->history) json_array_clear(eng->history);
}

void engine_export_session(engine *eng, const char *path, const engine_callbacks *cb, engine_outcome *out) {
    size_t n = eng->history ? json_array_size(eng->history) : 0;
    export_cell *cells = xcalloc(n ? n : 1, sizeof *cells);
    for (size_t i = 0; i < n; i++) {
        json_t *h = json_array_get(eng->history, i);
        cells[i].source = json_string_value(json_object_get(h, "code"));
        cells[i].number = (int)json_integer_value(json_object_get(h, "number"));
    }
    const char *base = strrchr(path, '/');
    char *notes = NULL;
    char *program = export_program(cells, n, base ? base + 1 : path, &notes);
    free(cells);
    if (text_file_write(path, program) != 0) {
        char *why = xasprintf("cannot write %s: %s", path, strerror(errno));
        engine_set_error(out, "ExportError", why, NULL);
        free(why);
    } else {
        char *said = xasprintf("Wrote the %zu cell%s run so far as one C program to %s.\n"
                               "Build it with: gcc -Wall %s $(pkg-config --cflags --libs conclab)\n",
                               n, n == 1 ? "" : "s", path, path);
        engine_say(cb, said);
        free(said);
        if (notes[0] && cb && cb->on_stream) cb->on_stream(cb->ctx, "stderr", notes, strlen(notes));
    }
    free(notes);
    free(program);
}
