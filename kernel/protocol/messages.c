/* messages.c — building and parsing the messages between the engine client and the executor
 * (messages.h). Each message's fields are listed once, in a table the parser checks; the builder
 * next to it writes the same names. */
#include "messages.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error_text.h"
#include "framing.h"

typedef enum field_type { F_INT, F_BOOL, F_STRING, F_OBJECT, F_ARRAY } field_type;

typedef struct field {
    const char *name;
    field_type type;
    bool required;
} field;

static const char *const type_names[] = {"an integer", "true or false", "a string", "an object", "an array"};

static bool has_type(const json_t *value, field_type type) {
    switch (type) {
    case F_INT: return json_is_integer(value);
    case F_BOOL: return json_is_boolean(value);
    case F_STRING: return json_is_string(value);
    case F_OBJECT: return json_is_object(value);
    case F_ARRAY: return json_is_array(value);
    }
    return false;
}

/* Every listed field present when required, and of its type when present. */
static int check_fields(const json_t *msg, const char *what, const field *fields, char **err) {
    for (const field *f = fields; f && f->name; f++) {
        const json_t *value = json_object_get(msg, f->name);
        if (value && json_is_null(value) && !f->required) continue;  /* an optional field left out */
        if (!value && f->required) {
            error_set(err, "%s: the field \"%s\" is missing", what, f->name);
            return -1;
        }
        if (value && !has_type(value, f->type)) {
            error_set(err, "%s: the field \"%s\" should be %s", what, f->name, type_names[f->type]);
            return -1;
        }
    }
    return 0;
}

static int get_int(const json_t *msg, const char *name) { return (int)json_integer_value(json_object_get(msg, name)); }
static bool get_bool(const json_t *msg, const char *name) { return json_is_true(json_object_get(msg, name)); }
static const char *get_string(const json_t *msg, const char *name) {
    return json_string_value(json_object_get(msg, name));  /* NULL when absent or null */
}

/* Which message msg is: the index of its `key` ("op" or "ev") in names[1..last], or 0 with *err
 * set when msg is no object, has no such name, or an unknown one. */
static int kind_of(const json_t *msg, const char *key, const char *what, const char *const *names, int last,
                   char **err) {
    if (!json_is_object(msg)) {
        error_set(err, "an %s should be a JSON object", what);
        return 0;
    }
    const char *name = get_string(msg, key);
    for (int k = 1; name && k <= last; k++)
        if (strcmp(name, names[k]) == 0) return k;
    if (name) error_set(err, "unknown %s \"%s\"", what, name);
    else error_set(err, "a message without \"%s\"", key);
    return 0;
}

/* ---------------------------------------------------------------- ops */

static const char *const op_names[] = {NULL, "execute", "threads", "input_reply", "shutdown"};

static const field execute_fields[] = {
    {"cell", F_INT, true},          {"allow_stdin", F_BOOL, true}, {"silent", F_BOOL, true},
    {"bounds", F_BOOL, true},       {"prelude", F_BOOL, true},     {"memory_limit", F_INT, true},
    {"time", F_BOOL, false},        {"watch", F_INT, false},       {"trace_file", F_STRING, false},
    {"lockcheck", F_BOOL, false},   {"chaos_runs", F_INT, false},  {"chaos_seed", F_INT, false},
    {"chaos_limit_ms", F_INT, false}, {NULL, 0, false},
};
static const field input_reply_fields[] = {{"value", F_STRING, true}, {"eof", F_BOOL, false}, {NULL, 0, false}};

static const field *const op_fields[] = {NULL, execute_fields, NULL, input_reply_fields, NULL};

const char *op_name(op_kind kind) {
    return kind >= OP_EXECUTE && kind <= OP_SHUTDOWN ? op_names[kind] : "?";
}

json_t *op_build(const op *o) {
    switch (o->kind) {
    case OP_EXECUTE: {
        const op_execute *x = &o->execute;
        json_t *msg = json_pack("{s:s, s:i, s:b, s:b, s:b, s:b, s:I, s:b, s:i}", "op", "execute", "cell", x->cell,
                                "allow_stdin", x->allow_stdin, "silent", x->silent, "bounds", x->bounds, "prelude",
                                x->prelude, "memory_limit", (json_int_t)x->memory_limit, "time", x->time, "watch",
                                (int)x->watch);
        if (msg && x->trace_file) json_object_set_new(msg, "trace_file", json_string(x->trace_file));
        if (msg && (x->lockcheck || x->chaos_runs))
            json_object_update_new(msg, json_pack("{s:b, s:i, s:I, s:i}", "lockcheck", x->lockcheck, "chaos_runs",
                                                  x->chaos_runs, "chaos_seed", (json_int_t)x->chaos_seed,
                                                  "chaos_limit_ms", x->chaos_limit_ms));
        return msg;
    }
    case OP_INPUT_REPLY:
        return json_pack("{s:s, s:s, s:b}", "op", "input_reply", "value",
                         o->input_reply.value ? o->input_reply.value : "", "eof", o->input_reply.eof);
    case OP_THREADS:
    case OP_SHUTDOWN:
        return json_pack("{s:s}", "op", op_names[o->kind]);
    }
    return NULL;
}

int op_parse(json_t *msg, op *out, char **err) {
    memset(out, 0, sizeof *out);
    op_kind kind = (op_kind)kind_of(msg, "op", "op", op_names, OP_SHUTDOWN, err);
    if (!kind || check_fields(msg, op_names[kind], op_fields[kind], err) != 0) return -1;
    out->kind = kind;
    if (kind == OP_EXECUTE) {
        json_int_t limit = json_integer_value(json_object_get(msg, "memory_limit"));
        out->execute = (op_execute){get_int(msg, "cell"), get_bool(msg, "allow_stdin"), get_bool(msg, "silent"),
                                    get_bool(msg, "bounds"), get_bool(msg, "prelude"),
                                    limit > 0 ? (size_t)limit : 0, get_bool(msg, "time"),
                                    (unsigned)get_int(msg, "watch"), get_string(msg, "trace_file"),
                                    get_bool(msg, "lockcheck"), get_int(msg, "chaos_runs"),
                                    json_integer_value(json_object_get(msg, "chaos_seed")),
                                    get_int(msg, "chaos_limit_ms")};
    } else if (kind == OP_INPUT_REPLY) {
        out->input_reply = (op_input_reply){get_string(msg, "value"), get_bool(msg, "eof")};
    }
    out->json = json_incref(msg);
    return 0;
}

void op_clear(op *o) {
    json_decref(o->json);
    memset(o, 0, sizeof *o);
}

/* ---------------------------------------------------------------- events */

static const char *const event_names[] = {NULL, "running", "display", "input_request", "threads",
                                          "done"};

static const field stamp_fields[] = {{"nonce", F_STRING, true}, {"cell", F_INT, true}, {NULL, 0, false}};
static const field running_fields[] = {{"pid", F_INT, true}, {"in_place", F_BOOL, false}, {NULL, 0, false}};
static const field display_fields[] = {{"data", F_OBJECT, true}, {NULL, 0, false}};
static const field input_request_fields[] = {{"prompt", F_STRING, true}, {"password", F_BOOL, false}, {NULL, 0, false}};
static const field threads_fields[] = {{"threads", F_ARRAY, true}, {NULL, 0, false}};
static const field done_fields[] = {
    {"ok", F_BOOL, true},        {"holder", F_INT, false},     {"threads", F_ARRAY, false},
    {"result", F_STRING, false}, {"ename", F_STRING, false},   {"evalue", F_STRING, false},
    {"errors", F_STRING, false}, {"traceback", F_ARRAY, false}, {"where", F_STRING, false},
    {"status", F_INT, false},    {"state_lost", F_BOOL, false}, {NULL, 0, false},
};
static const field done_ok_fields[] = {{"holder", F_INT, true}, {"threads", F_ARRAY, true}, {NULL, 0, false}};
static const field done_error_fields[] = {{"ename", F_STRING, true}, {NULL, 0, false}};

static const field *const event_fields[] = {NULL, running_fields, display_fields, input_request_fields,
                                            threads_fields, done_fields};

const char *event_name(event_kind kind) {
    return kind >= EV_RUNNING && kind <= EV_DONE ? event_names[kind] : "?";
}

static event_stamp own_stamp;

void event_stamp_set(event_stamp stamp) { own_stamp = stamp; }

/* The stamp as text: JSON integers are signed, and a nonce uses all 64 bits. */
static json_t *stamped(json_t *msg) {
    char nonce[17];
    snprintf(nonce, sizeof nonce, "%016llx", (unsigned long long)own_stamp.nonce);
    if (msg) {
        json_object_set_new(msg, "nonce", json_string(nonce));
        json_object_set_new(msg, "cell", json_integer(own_stamp.cell));
    }
    return msg;
}

static bool read_stamp(const json_t *msg, event_stamp *stamp, char **err) {
    const char *nonce = get_string(msg, "nonce");
    char *end = NULL;
    unsigned long long value = nonce ? strtoull(nonce, &end, 16) : 0;
    if (!nonce || strlen(nonce) != 16 || *end) {
        error_set(err, "the field \"nonce\" should be 16 hexadecimal digits");
        return false;
    }
    *stamp = (event_stamp){(uint64_t)value, get_int(msg, "cell")};
    return true;
}

/* Adds key: value when value is set. */
static void put_string(json_t *msg, const char *key, const char *value) {
    if (value) json_object_set_new(msg, key, json_string(value));
}
static void put_json(json_t *msg, const char *key, json_t *value) {
    if (value) json_object_set(msg, key, value);
}

static json_t *build_done(const event_done *d) {
    json_t *msg = json_pack("{s:s, s:b}", "ev", "done", "ok", d->ok);
    if (d->ok) {
        json_object_set_new(msg, "holder", json_integer(d->holder));
        if (d->threads) put_json(msg, "threads", d->threads);
        else json_object_set_new(msg, "threads", json_array());
        put_string(msg, "result", d->result);
        return msg;
    }
    put_string(msg, "ename", d->ename ? d->ename : "Error");
    put_string(msg, "evalue", d->evalue);
    put_string(msg, "errors", d->errors);
    put_json(msg, "traceback", d->traceback);
    put_string(msg, "where", d->where);
    if (d->status) json_object_set_new(msg, "status", json_integer(d->status));
    if (d->state_lost) json_object_set_new(msg, "state_lost", json_true());
    return msg;
}

static json_t *build_unstamped(const event *e) {
    switch (e->kind) {
    case EV_RUNNING:
        return json_pack("{s:s, s:i, s:b}", "ev", "running", "pid", e->running.pid, "in_place", e->running.in_place);
    case EV_DISPLAY: return json_pack("{s:s, s:O}", "ev", "display", "data", e->display_data);
    case EV_INPUT_REQUEST:
        return json_pack("{s:s, s:s, s:b}", "ev", "input_request", "prompt",
                         e->input_request.prompt ? e->input_request.prompt : "", "password", e->input_request.password);
    case EV_THREADS: return json_pack("{s:s, s:O}", "ev", "threads", "threads", e->threads);
    case EV_DONE: return build_done(&e->done);
    }
    return NULL;
}

json_t *event_build(const event *e) { return stamped(build_unstamped(e)); }

static int parse_done(json_t *msg, event_done *d, char **err) {
    bool ok = get_bool(msg, "ok");
    if (check_fields(msg, ok ? "done" : "done (an error)", ok ? done_ok_fields : done_error_fields, err) != 0)
        return -1;
    *d = (event_done){.ok = ok,
                      .holder = get_int(msg, "holder"),
                      .threads = json_object_get(msg, "threads"),
                      .result = get_string(msg, "result"),
                      .ename = get_string(msg, "ename"),
                      .evalue = get_string(msg, "evalue"),
                      .errors = get_string(msg, "errors"),
                      .traceback = json_object_get(msg, "traceback"),
                      .where = get_string(msg, "where"),
                      .status = get_int(msg, "status"),
                      .state_lost = get_bool(msg, "state_lost")};
    if (d->threads && !json_is_array(d->threads)) d->threads = NULL;      /* null */
    if (d->traceback && !json_is_array(d->traceback)) d->traceback = NULL;
    return 0;
}

int event_parse(json_t *msg, event *out, char **err) {
    memset(out, 0, sizeof *out);
    event_kind kind = (event_kind)kind_of(msg, "ev", "event", event_names, EV_DONE, err);
    if (!kind || check_fields(msg, event_names[kind], stamp_fields, err) != 0 ||
        check_fields(msg, event_names[kind], event_fields[kind], err) != 0)
        return -1;
    event_stamp stamp;
    if (!read_stamp(msg, &stamp, err)) return -1;
    switch (kind) {
    case EV_RUNNING:
        out->running.pid = get_int(msg, "pid");
        out->running.in_place = get_bool(msg, "in_place");
        break;
    case EV_DISPLAY: out->display_data = json_object_get(msg, "data"); break;
    case EV_INPUT_REQUEST:
        out->input_request.prompt = get_string(msg, "prompt");
        out->input_request.password = get_bool(msg, "password");
        break;
    case EV_THREADS: out->threads = json_object_get(msg, "threads"); break;
    case EV_DONE:
        if (parse_done(msg, &out->done, err) != 0) {
            memset(out, 0, sizeof *out);
            return -1;
        }
        break;
    }
    out->kind = kind;
    out->stamp = stamp;
    out->json = json_incref(msg);
    return 0;
}

void event_clear(event *e) {
    json_decref(e->json);
    memset(e, 0, sizeof *e);
}

/* ---------------------------------------------------------------- on a descriptor */

static int send_message(int fd, json_t *msg, const void *payload, size_t length) {
    if (!msg) return -1;
    int rc = length ? framing_send_payload(fd, msg, payload, length) : framing_send(fd, msg);
    json_decref(msg);
    return rc;
}

int op_send(int fd, const op *o, const void *payload, size_t length) {
    return send_message(fd, op_build(o), payload, length);
}

int event_send(int fd, const event *e, const void *payload, size_t length) {
    return send_message(fd, event_build(e), payload, length);
}

/* A refused message's payload is read past, not handed out. */
static void drop_payload(char **payload, size_t *length) {
    if (payload) {
        free(*payload);
        *payload = NULL;
    }
    if (length) *length = 0;
}

/* One frame and the payload it announced. 0, -1 (gone), -2 (malformed, *err says so). */
static int receive_message(int fd, json_t **msg, size_t *stray, char **payload, size_t *length, char **err) {
    if (payload) *payload = NULL;
    if (length) *length = 0;
    int rc = framing_receive(fd, msg, stray);
    if (rc == -2) error_set(err, "a frame that is not JSON");
    if (rc == -3) error_set(err, "%zu bytes that were not a message", *stray);
    if (rc != 0) return rc;
    const json_t *announced = json_object_get(*msg, "payload");
    if (announced && (!json_is_integer(announced) || json_integer_value(announced) < 0)) {
        error_set(err, "the field \"payload\" should be a byte count");
        json_decref(*msg);
        return -2;  /* what follows is read past as stray bytes, up to the next frame */
    }
    size_t got = 0;
    char *bytes = framing_recv_payload(fd, *msg, &got);
    if (json_integer_value(announced) > 0 && !bytes) {
        json_decref(*msg);
        return -1;
    }
    if (payload) *payload = bytes;
    else free(bytes);
    if (length) *length = got;
    return 0;
}

/* A message received and parsed by parse into out (cleared first); *stray as framing_receive. */
static int receive_parsed(int fd, void *out, size_t out_size, int (*parse)(json_t *, void *, char **),
                          size_t *stray, char **payload, size_t *length, char **err) {
    json_t *msg = NULL;
    memset(out, 0, out_size);
    int rc = receive_message(fd, &msg, stray, payload, length, err);
    if (rc != 0) return rc;
    rc = parse(msg, out, err) == 0 ? 0 : -2;
    json_decref(msg);
    if (rc != 0) drop_payload(payload, length);
    return rc;
}

static int parse_op(json_t *msg, void *out, char **err) { return op_parse(msg, out, err); }
static int parse_event(json_t *msg, void *out, char **err) { return event_parse(msg, out, err); }

int op_receive(int fd, op *out, char **payload, size_t *length, char **err) {
    size_t stray = 0;
    int rc = receive_parsed(fd, out, sizeof *out, parse_op, &stray, payload, length, err);
    if (rc == 0) out->stray = stray;
    return rc;
}

int event_receive(int fd, event *out, char **payload, size_t *length, char **err) {
    size_t stray = 0;
    int rc = receive_parsed(fd, out, sizeof *out, parse_event, &stray, payload, length, err);
    if (rc == 0) out->stray = stray;
    return rc;
}
