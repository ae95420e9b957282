/* output.c — the engine's callbacks in Jupyter terms: stream, display_data and clear_output on
 * iopub, and input_request on stdin answered by the front end's input_reply. */
#include <stdlib.h>
#include <string.h>

#include "utf8.h"
#include "kernel_state.h"

/* How often a pending prompt looks up from the stdin socket to see an interrupt or shutdown. */
#define INPUT_POLL_MS 100

/* The engine promises valid UTF-8; should a chunk still be refused by jansson, its invalid
 * bytes become U+FFFD rather than the output being lost. */
static json_t *text_json(const char *text, size_t len) {
    json_t *s = json_stringn(text, len);
    if (s) return s;
    char *valid = malloc(3 * len + 1);
    if (!valid) return json_string("");
    size_t valid_len = 0;
    utf8_sanitize((const unsigned char *)text, len, 1, valid, &valid_len);
    s = json_stringn(valid, valid_len);
    free(valid);
    return s ? s : json_string("");
}

static void publish_stream(void *ctx, const char *stream_name, const char *text, size_t len) {
    output_route *r = ctx;
    json_t *content = json_pack("{s:s, s:o}", "name", stream_name, "text", text_json(text, len));
    server_send(r->k->srv, CHANNEL_IOPUB, r->parent, "stream", content, NULL);
}

/* A display with an id can be updated later: the id travels in "transient", and an update is
 * its own message type, which front ends apply to every output showing that id. */
static void publish_display(void *ctx, json_t *data, json_t *metadata, const char *display_id, bool update) {
    output_route *r = ctx;
    json_t *transient = display_id ? json_pack("{s:s}", "display_id", display_id) : json_object();
    json_t *content = json_pack("{s:O, s:o, s:o}", "data", data,
                                "metadata", metadata ? json_incref(metadata) : json_object(),
                                "transient", transient);
    server_send(r->k->srv, CHANNEL_IOPUB, r->parent, update ? "update_display_data" : "display_data", content, NULL);
}

static void publish_clear(void *ctx, bool wait) {
    output_route *r = ctx;
    server_send(r->k->srv, CHANNEL_IOPUB, r->parent, "clear_output", json_pack("{s:b}", "wait", wait), NULL);
}

/* Replies to an earlier prompt that was abandoned must not answer this one. */
static void discard_stale_replies(server *srv) {
    wire_msg stale = {0};
    while (server_recv_stdin(srv, 0, &stale) == 1) wire_msg_clear(&stale);
}

static char *prompt_user(void *ctx, const char *prompt, bool password) {
    output_route *r = ctx;
    kernel *k = r->k;
    if (!r->parent) return NULL;
    discard_stale_replies(k->srv);
    unsigned interrupts = atomic_load(&k->interrupts);
    json_t *content = json_pack("{s:s, s:b}", "prompt", prompt ? prompt : "", "password", password);
    if (server_send(k->srv, CHANNEL_STDIN, r->parent, "input_request", content, NULL) != 0) return NULL;

    /* Wait in slices: an interrupt or a shutdown must be able to end the wait, and what the
     * cell's other threads show meanwhile must not wait for the answer. */
    engine_callbacks meanwhile = output_callbacks(r);
    meanwhile.on_input = NULL;
    while (atomic_load(&k->interrupts) == interrupts && !atomic_load(&k->stopping)) {
        engine_serve_while_waiting(k->eng, &meanwhile);
        wire_msg reply = {0};
        int got = server_recv_stdin(k->srv, INPUT_POLL_MS, &reply);
        if (got < 0) return NULL;
        if (got == 0) continue;
        char *line = NULL;
        if (strcmp(wire_msg_type(&reply), "input_reply") == 0)
            line = strdup(content_string(&reply, "value", ""));
        wire_msg_clear(&reply);
        if (line) return line;
    }
    return NULL;
}

engine_callbacks output_callbacks(output_route *route) {
    engine_callbacks cb = {
        .on_stream = publish_stream,
        .on_display = publish_display,
        .on_input = prompt_user,
        .on_clear = publish_clear,
        .ctx = route,
    };
    return cb;
}
