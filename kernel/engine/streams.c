/* streams.c — the executor's stdout and stderr, forwarded to the front end as they come: cut
 * into valid UTF-8 (a character split by a read waits for its end), counted against the cell's
 * output limit, which stops the cell once passed (displays.c counts what cells show too). Output of threads or processes a cell left
 * running arrives between cells (engine_pump). */
#include "engine_internal.h"

#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "utf8.h"

enum { READ_CHUNK = 64 << 10 };

static void emit(const engine_callbacks *cb, const output_stream *s, const char *text, size_t len) {
    if (len && cb && cb->on_stream) cb->on_stream(cb->ctx, s->name, text, len);
}

/* Past the limit: the part that fits (whole characters), a note, and the cell is stopped. */
static void cut_off(engine *eng, const engine_callbacks *cb, const output_stream *s, const char *clean, size_t room) {
    while (room > 0 && ((unsigned char)clean[room] & 0xC0) == 0x80) room--;
    emit(cb, s, clean, room);
    engine_cut_off(eng, cb);
}

void engine_cut_off(engine *eng, const engine_callbacks *cb) {
    char note[200];
    int len = snprintf(note, sizeof note,
                       "\n[conclab] output limit reached: the cell wrote more than %zu bytes and was "
                       "stopped (CONCLAB_OUTPUT_LIMIT sets the limit)\n", eng->opts.output_limit);
    if (len > 0 && cb && cb->on_stream) cb->on_stream(cb->ctx, eng->err.name, note, (size_t)len);
    engine_stop_cell(eng, STOP_OUTPUT);
}

size_t engine_forward_stream(engine *eng, const engine_callbacks *cb, output_stream *s, bool counted) {
    static unsigned char raw[READ_CHUNK + 4];
    static char clean[3 * (READ_CHUNK + 4) + 1];
    if (s->fd < 0) return 0;
    memcpy(raw, s->carry, s->n_carry);
    ssize_t n = read(s->fd, raw + s->n_carry, READ_CHUNK);
    if (n <= 0) return 0;
    size_t total = s->n_carry + (size_t)n, written;
    size_t used = utf8_sanitize(raw, total, 0, clean, &written);
    s->n_carry = total - used;
    memcpy(s->carry, raw + used, s->n_carry);
    if (!counted) {
        emit(cb, s, clean, written);
        return (size_t)n;
    }
    size_t limit = eng->opts.output_limit;
    if (eng->cell_output > limit) return (size_t)n;  /* already cut off: drain and drop */
    size_t room = limit - eng->cell_output;
    if (written <= room) {
        /* Exactly at the limit is still within it: the next byte, whenever it comes, cuts. */
        eng->cell_output += written;
        emit(cb, s, clean, written);
    } else {
        eng->cell_output = limit + 1;
        cut_off(eng, cb, s, clean, room);
    }
    return (size_t)n;
}

void engine_drain_streams(engine *eng, const engine_callbacks *cb, bool counted) {
    while (engine_forward_stream(eng, cb, &eng->out, counted) > 0) {
    }
    while (engine_forward_stream(eng, cb, &eng->err, counted) > 0) {
    }
}

void engine_pump(engine *eng, const engine_callbacks *cb) {
    engine_drain_streams(eng, cb, false);
    engine_serve_displays(eng, cb, false);
    engine_reap_children();
    struct pollfd p = {eng->holder_pidfd, POLLIN, 0};
    if (eng->holder_pidfd >= 0 && poll(&p, 1, 0) == 1) eng->holder_lost = true;
}
