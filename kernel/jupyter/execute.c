/* execute.c — execute_request: the execution count, execute_input, running the cell through the
 * engine, execute_result or error, user_expressions, history, and the execute_reply. */
#include <stdlib.h>
#include <string.h>

#include "kernel_state.h"

/* Output that threads of this cell print after it returns is published under this request, so
 * the kernel keeps a copy of its header (the only part an iopub parent needs). */
static void remember_parent(kernel *k, const wire_msg *msg) {
    if (k->has_last_execute) wire_msg_clear(&k->last_execute);
    memset(&k->last_execute, 0, sizeof(k->last_execute));
    k->last_execute.header = json_deep_copy(msg->header);
    k->last_execute.parent_header = json_object();
    k->last_execute.metadata = json_object();
    k->last_execute.content = json_object();
    k->has_last_execute = true;
}

/* The traceback's first line (what went wrong, and where) in red, as front ends show errors;
 * the rest (the frames, whether the state was kept) as it is. */
static json_t *colored_traceback(const json_t *traceback) {
    json_t *copy = traceback ? json_deep_copy(traceback) : json_array();
    const char *first = json_string_value(json_array_get(copy, 0));
    if (first) json_array_set_new(copy, 0, json_sprintf("\x1b[0;31m%s\x1b[0m", first));
    return copy;
}

static json_t *error_fields(const engine_outcome *out) {
    return json_pack("{s:s, s:s, s:o}",
                     "ename", out->ename ? out->ename : "Error",
                     "evalue", out->evalue ? out->evalue : "",
                     "traceback", colored_traceback(out->traceback));
}

/* An expression is evaluated as a cell of its own: its text without the trailing ';' that would
 * turn it into a statement with no value. */
static char *expression_cell(const char *expr) {
    size_t len = strlen(expr);
    while (len > 0 && (strchr(" \t\r\n;", expr[len - 1]) != NULL)) len--;
    return strndup(expr, len);
}

/* A user expression is a front end's quiet question (a variable for a status bar, say): its
 * output and compiler warnings are not the notebook's to see, so no callbacks. */
static json_t *evaluate_expression(kernel *k, const char *expr) {
    char *code = expression_cell(expr);
    engine_callbacks cb = {0};
    engine_request req = {.code = code, .cell_number = k->execution_count};
    engine_outcome out = {0};
    engine_execute(k->eng, &req, &cb, &out);
    json_t *value;
    if (out.ok) {
        value = json_pack("{s:s, s:O, s:{}}", "status", "ok",
                          "data", out.result ? out.result : json_object(), "metadata");
    } else {
        value = error_fields(&out);
        json_object_set_new(value, "status", json_string("error"));
    }
    engine_outcome_clear(&out);
    free(code);
    return value;
}

static json_t *evaluate_user_expressions(kernel *k, const wire_msg *msg) {
    json_t *results = json_object();
    json_t *exprs = json_object_get(msg->content, "user_expressions");
    const char *key;
    json_t *expr;
    json_object_foreach(exprs, key, expr) {
        if (json_is_string(expr))
            json_object_set_new(results, key, evaluate_expression(k, json_string_value(expr)));
    }
    return results;
}

static void publish_result(kernel *k, const wire_msg *msg, int count, json_t *result) {
    json_t *content = json_pack("{s:i, s:O, s:{}}", "execution_count", count, "data", result,
                                "metadata");
    server_send(k->srv, CHANNEL_IOPUB, msg, "execute_result", content, NULL);
}

static const char *result_text(const engine_outcome *out) {
    return out->result ? json_string_value(json_object_get(out->result, "text/plain")) : NULL;
}

/* The answer to the cell's `name?` lines goes where IPython puts it: a "page" payload of the
 * reply, which Notebook shows in its pager and JupyterLab under the cell. */
static json_t *page_payload(const engine_outcome *out) {
    json_t *payload = json_array();
    if (out->page)
        json_array_append_new(payload, json_pack("{s:s, s:O, s:i}", "source", "page", "data", out->page, "start", 0));
    return payload;
}

void execute_request(kernel *k, const wire_msg *msg) {
    const char *code = content_string(msg, "code", "");
    bool silent = content_bool(msg, "silent", false);
    bool store_history = !silent && content_bool(msg, "store_history", true);
    bool stop_on_error = content_bool(msg, "stop_on_error", true);

    if (store_history) k->execution_count++;
    int count = k->execution_count;
    remember_parent(k, msg);
    if (!silent)
        server_send(k->srv, CHANNEL_IOPUB, msg, "execute_input",
                    json_pack("{s:s, s:i}", "code", code, "execution_count", count), NULL);

    output_route route = {k, msg};
    engine_callbacks cb = output_callbacks(&route);
    engine_request req = {
        .code = code,
        .cell_number = count,
        .allow_stdin = content_bool(msg, "allow_stdin", false),
        .silent = silent,
    };
    engine_outcome out = {0};
    engine_execute(k->eng, &req, &cb, &out);

    json_t *reply;
    if (out.ok) {
        if (out.result && !silent) publish_result(k, msg, count, out.result);
        reply = json_pack("{s:s, s:i, s:o, s:o}", "status", "ok", "execution_count", count,
                          "user_expressions", evaluate_user_expressions(k, msg), "payload", page_payload(&out));
    } else {
        /* before the client can see the failure: a request it sends after that must run */
        k->failed_at = wall_clock_now();
        server_send(k->srv, CHANNEL_IOPUB, msg, "error", error_fields(&out), NULL);
        reply = error_fields(&out);
        json_object_update_new(reply, json_pack("{s:s, s:i, s:{}, s:o}", "status", "error",
                                                "execution_count", count, "user_expressions",
                                                "payload", page_payload(&out)));
        k->abort_queued = stop_on_error;
    }
    if (store_history) history_add(k->hist, count, code, result_text(&out));
    /* the cell's times, as a front end or a grader may want them (seconds) */
    server_send(k->srv, CHANNEL_SHELL, msg, "execute_reply", reply,
                json_pack("{s:s, s:{s:f, s:f}}", "status", out.ok ? "ok" : "error", "conclab", "compile_seconds",
                          out.compile_seconds, "run_seconds", out.run_seconds));
    engine_outcome_clear(&out);
}
