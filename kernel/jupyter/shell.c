/* shell.c — the shell channel's requests: a table from msg_type to handler, each request
 * bracketed by busy/idle on iopub, and the drain that aborts queued cells after a failure. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kernel_state.h"

static void reply(kernel *k, const wire_msg *msg, const char *type, json_t *content) {
    server_send(k->srv, CHANNEL_SHELL, msg, type, content, NULL);
}

static void on_execute(kernel *k, const wire_msg *msg) {
    execute_request(k, msg);
}

static void on_kernel_info(kernel *k, const wire_msg *msg) {
    reply(k, msg, "kernel_info_reply", kernel_info_content());
}

static void on_is_complete(kernel *k, const wire_msg *msg) {
    char indent[64] = "";
    json_t *content;
    switch (engine_check_complete(content_string(msg, "code", ""), indent, sizeof(indent))) {
    case ENGINE_COMPLETE:
        content = json_pack("{s:s}", "status", "complete");
        break;
    case ENGINE_INCOMPLETE:
        content = json_pack("{s:s, s:s}", "status", "incomplete", "indent", indent);
        break;
    default:
        content = json_pack("{s:s}", "status", "invalid");
        break;
    }
    reply(k, msg, "is_complete_reply", content);
}

/* The protocol counts cursor positions in code points; without one, the cursor is at the end. */
static int cursor_of(const wire_msg *msg, const char *code) {
    long long pos = content_int(msg, "cursor_pos", -1);
    if (pos >= 0) return pos > 0x7fffffff ? 0x7fffffff : (int)pos;
    int points = 0;
    for (const unsigned char *p = (const unsigned char *)code; *p; p++)
        if ((*p & 0xC0) != 0x80) points++;
    return points;
}

static void on_complete(kernel *k, const wire_msg *msg) {
    const char *code = content_string(msg, "code", "");
    int cursor = cursor_of(msg, code);
    json_t *content = engine_complete(k->eng, code, cursor);
    if (!content)
        content = json_pack("{s:[], s:i, s:i, s:{}}", "matches", "cursor_start", cursor,
                            "cursor_end", cursor, "metadata");
    json_object_set_new(content, "status", json_string("ok"));
    reply(k, msg, "complete_reply", content);
}

static void on_inspect(kernel *k, const wire_msg *msg) {
    const char *code = content_string(msg, "code", "");
    int detail = content_int(msg, "detail_level", 0) > 0 ? 1 : 0;
    json_t *data = engine_inspect_bundle(k->eng, code, cursor_of(msg, code), detail);
    bool found = data != NULL;
    reply(k, msg, "inspect_reply",
          json_pack("{s:s, s:b, s:o, s:{}}", "status", "ok", "found", found, "data", found ? data : json_object(),
                    "metadata"));
}

static void on_history(kernel *k, const wire_msg *msg) {
    const char *access = content_string(msg, "hist_access_type", "tail");
    bool output = content_bool(msg, "output", false);
    json_t *entries;
    if (strcmp(access, "range") == 0)
        entries = history_range(k->hist, (int)content_int(msg, "session", 0),
                                (int)content_int(msg, "start", 1), (int)content_int(msg, "stop", 0),
                                output);
    else if (strcmp(access, "search") == 0)
        entries = history_search(k->hist, content_string(msg, "pattern", "*"),
                                 (int)content_int(msg, "n", 0), content_bool(msg, "unique", false),
                                 output);
    else
        entries = history_tail(k->hist, (int)content_int(msg, "n", 10), output);
    reply(k, msg, "history_reply", json_pack("{s:s, s:o}", "status", "ok", "history", entries));
}

static void on_comm_info(kernel *k, const wire_msg *msg) {
    reply(k, msg, "comm_info_reply", json_pack("{s:s, s:{}}", "status", "ok", "comms"));
}

/* This kernel has no comm targets: opening, messages and closing are dropped, as ipykernel does
 * for a target it does not know. */
static void on_comm(kernel *k, const wire_msg *msg) {
    (void)k;
    (void)msg;
}

static void on_shutdown(kernel *k, const wire_msg *msg) {
    kernel_reply_shutdown(k, CHANNEL_SHELL, msg);
}

typedef struct shell_handler {
    const char *msg_type;
    void (*handle)(kernel *k, const wire_msg *msg);
} shell_handler;

static const shell_handler handlers[] = {
    {"execute_request", on_execute},
    {"kernel_info_request", on_kernel_info},
    {"is_complete_request", on_is_complete},
    {"complete_request", on_complete},
    {"inspect_request", on_inspect},
    {"history_request", on_history},
    {"comm_info_request", on_comm_info},
    {"comm_open", on_comm},
    {"comm_msg", on_comm},
    {"comm_close", on_comm},
    {"shutdown_request", on_shutdown},
};

void shell_dispatch(kernel *k, const wire_msg *msg) {
    const char *type = wire_msg_type(msg);
    const shell_handler *handler = NULL;
    for (size_t i = 0; i < sizeof(handlers) / sizeof(handlers[0]); i++)
        if (strcmp(handlers[i].msg_type, type) == 0) handler = &handlers[i];

    server_publish_status(k->srv, msg, "busy");
    if (handler)
        handler->handle(k, msg);
    else  /* as ipykernel: log it and keep serving; the client gets no reply */
        fprintf(stderr, "conclab: ignoring unknown shell message type '%s'\n", type);
    server_publish_status(k->srv, msg, "idle");
    if (handler && handler->handle == on_shutdown) kernel_stop(k);
}

static void reply_aborted(kernel *k, const wire_msg *msg) {
    server_publish_status(k->srv, msg, "busy");
    server_send(k->srv, CHANNEL_SHELL, msg, "execute_reply", json_pack("{s:s}", "status", "aborted"),
                json_pack("{s:s}", "status", "aborted"));
    server_publish_status(k->srv, msg, "idle");
}

/* When the client sent a request, from its header's date (UTC, ISO 8601); -1 if unreadable. */
static double sent_at(const wire_msg *msg) {
    const char *date = json_string_value(json_object_get(msg->header, "date"));
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    double seconds = 0;
    if (!date || sscanf(date, "%d-%d-%dT%d:%d:%lf", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour,
                        &tm.tm_min, &seconds) != 6)
        return -1;
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    const char *time_part = strchr(date, 'T');
    const char *zone = time_part + strcspn(time_part, "Zz+-");  /* after the date's own dashes */
    double offset = 0;
    int zh = 0, zm = 0;
    if ((*zone == '+' || *zone == '-') && sscanf(zone + 1, "%d:%d", &zh, &zm) >= 1)
        offset = (*zone == '-' ? -1 : 1) * (zh * 3600.0 + zm * 60.0);
    return (double)timegm(&tm) + seconds - offset;
}

/* After a cell fails with stop_on_error, the cells sent behind it are not run (Run All stops at
 * the failure); other requests are answered as usual. Run All sends its requests back to back,
 * but on a loaded machine the later ones can reach us after the failure was answered: so for a
 * short window, an execute_request the client sent before it could have seen the failure is
 * aborted too, and one sent after (the student's next cell) runs. */
enum { ABORT_WINDOW_MS = 200 };

void shell_abort_queued(kernel *k) {
    k->abort_queued = false;
    double failed_at = k->failed_at;
    wire_msg msg = {0};
    for (int waited = 0; !atomic_load(&k->stopping);) {
        int slice = waited < ABORT_WINDOW_MS ? 10 : 0;
        int got = server_recv_shell(k->srv, slice, &msg);
        if (got < 0) break;
        if (got == 0) {
            if (!slice) break;
            waited += slice;
            continue;
        }
        double sent = sent_at(&msg);
        bool behind_failure = sent < 0 ? waited == 0 : sent <= failed_at;
        if (strcmp(wire_msg_type(&msg), "execute_request") == 0 && behind_failure) {
            reply_aborted(k, &msg);
        } else {
            shell_dispatch(k, &msg);
            if (k->abort_queued) {  /* that one failed too: the window starts again from it */
                k->abort_queued = false;
                failed_at = k->failed_at;
                waited = 0;
            }
        }
        wire_msg_clear(&msg);
        memset(&msg, 0, sizeof(msg));
    }
}
