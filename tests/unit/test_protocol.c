/* test_protocol.c — the messages between the engine client and the executor (messages.h), from
 * the outside: every op and event goes through a socketpair and comes back with the same fields
 * and payload; every way a message can be wrong (not JSON, not an object, no or an unknown
 * "op"/"ev", each required field missing, each field of the wrong type) is refused with a
 * sentence naming what was wrong, leaves the parsed struct empty, and leaves the stream readable
 * when the frame itself was whole. Run under ASan, the refusals also prove they leak nothing. */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "check.h"
#include "framing.h"
#include "messages.h"

static int channel[2];  /* [0] one side, [1] the other */

static void open_channel(void) {
    CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, channel) == 0);
}

static void close_channel(void) {
    close(channel[0]);
    close(channel[1]);
}

static bool all_zero(const void *p, size_t n) {
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++)
        if (b[i]) return false;
    return true;
}

/* ---------------------------------------------------------------- round trips */

/* Sends o with the payload and receives it on the other side. */
static op op_round_trip(const op *o, const char *payload, char **got_payload, size_t *got_length) {
    CHECK(op_send(channel[0], o, payload, payload ? strlen(payload) : 0) == 0);
    op back;
    char *err = NULL;
    CHECK(op_receive(channel[1], &back, got_payload, got_length, &err) == 0);
    CHECK(err == NULL);
    free(err);
    CHECK(back.kind == o->kind);
    return back;
}

static void test_ops_round_trip(void) {
    open_channel();
    /* execute, with every flag both ways and a payload holding the bytes a cell may hold */
    const char *code = "int x = 1;\n\x1f\x1e \"quoted\" \\ \xc3\xa9\n";
    for (int flags = 0; flags < 16; flags++) {
        op o = {.kind = OP_EXECUTE,
                .execute = {.cell = 1000 + flags, .allow_stdin = flags & 1, .silent = flags & 2,
                            .bounds = flags & 4, .prelude = flags & 8,
                            .memory_limit = (size_t)flags << 33, .time = flags & 1, .watch = (unsigned)flags,
                            .trace_file = flags & 2 ? "runs/trace \"1\".json" : NULL}};
        char *payload = NULL;
        size_t length = 0;
        op back = op_round_trip(&o, code, &payload, &length);
        CHECK(back.execute.cell == 1000 + flags);
        CHECK(back.execute.allow_stdin == (bool)(flags & 1) && back.execute.silent == (bool)(flags & 2));
        CHECK(back.execute.bounds == (bool)(flags & 4) && back.execute.prelude == (bool)(flags & 8));
        CHECK(back.execute.memory_limit == (size_t)flags << 33 && back.execute.time == (bool)(flags & 1));
        CHECK(back.execute.watch == (unsigned)flags);
        if (flags & 2) CHECK_STR(back.execute.trace_file, "runs/trace \"1\".json");
        else CHECK(back.execute.trace_file == NULL);
        CHECK(length == strlen(code) && payload && memcmp(payload, code, length) == 0 && payload[length] == 0);
        free(payload);
        op_clear(&back);
    }
    /* input_reply: a line, an empty line, end of file */
    const char *lines[] = {"forty-two", "", "tab\there \xe2\x9c\x93"};
    for (size_t i = 0; i < 3; i++) {
        op o = {.kind = OP_INPUT_REPLY, .input_reply = {lines[i], i == 1}};
        char *payload = (char *)1;
        op back = op_round_trip(&o, NULL, &payload, NULL);
        CHECK(payload == NULL);
        CHECK_STR(back.input_reply.value, lines[i]);
        CHECK(back.input_reply.eof == (i == 1));
        op_clear(&back);
    }
    /* the ops without fields */
    op_kind bare[] = {OP_THREADS, OP_SHUTDOWN};
    for (size_t i = 0; i < 2; i++) {
        op o = {.kind = bare[i]};
        op back = op_round_trip(&o, NULL, NULL, NULL);
        CHECK(back.json != NULL);
        op_clear(&back);
        CHECK(back.json == NULL && back.kind == 0);
    }
    CHECK_STR(op_name(OP_EXECUTE), "execute");
    CHECK_STR(op_name(OP_SHUTDOWN), "shutdown");
    CHECK_STR(op_name((op_kind)99), "?");
    close_channel();
}

static event event_round_trip(const event *e, const char *payload, char **got_payload, size_t *got_length) {
    CHECK(event_send(channel[1], e, payload, payload ? strlen(payload) : 0) == 0);
    event back;
    char *err = NULL;
    CHECK(event_receive(channel[0], &back, got_payload, got_length, &err) == 0);
    if (err) fprintf(stderr, "  event_receive: %s\n", err);
    CHECK(err == NULL);
    free(err);
    CHECK(back.kind == e->kind);
    CHECK(back.stamp.nonce == 0x0123456789abcdefull && back.stamp.cell == 42);
    return back;
}

static void test_simple_events_round_trip(void) {
    open_channel();
    for (int in_place = 0; in_place < 2; in_place++) {
        event running = {.kind = EV_RUNNING, .running = {4194303, in_place}};
        event back = event_round_trip(&running, NULL, NULL, NULL);
        CHECK(back.running.pid == 4194303 && back.running.in_place == in_place);
        event_clear(&back);
    }
    event back;

    json_t *bundle = json_pack("{s:s, s:s}", "text/plain", "warning: x", "text/html", "<b>x</b>");
    event display = {.kind = EV_DISPLAY, .display_data = bundle};
    back = event_round_trip(&display, NULL, NULL, NULL);
    CHECK(json_equal(back.display_data, bundle));
    event_clear(&back);
    json_decref(bundle);

    for (int password = 0; password < 2; password++) {
        event request = {.kind = EV_INPUT_REQUEST, .input_request = {"Your name: ", password}};
        back = event_round_trip(&request, NULL, NULL, NULL);
        CHECK_STR(back.input_request.prompt, "Your name: ");
        CHECK(back.input_request.password == password);
        event_clear(&back);
    }
    json_t *threads = json_pack("[{s:i, s:i, s:s, s:s}]", "tid", 77, "cell", 3, "state", "sleeping", "name", "worker");
    event census = {.kind = EV_THREADS, .threads = threads};
    back = event_round_trip(&census, NULL, NULL, NULL);
    CHECK(json_equal(back.threads, threads));
    event_clear(&back);
    json_decref(threads);
    CHECK_STR(event_name(EV_DONE), "done");
    CHECK_STR(event_name((event_kind)0), "?");
    close_channel();
}

static void test_done_round_trip(void) {
    open_channel();
    /* a cell that ran: the holder, its threads, its value, and what it defined as payload */
    json_t *threads = json_pack("[{s:i, s:i}]", "cell", 2, "count", 4);
    event ok = {.kind = EV_DONE, .done = {.ok = true, .holder = 12345, .threads = threads, .result = "3.5"}};
    char *payload = NULL;
    size_t length = 0;
    const char *records = "x\x1fvariable\x1f" "2\x1f" "double x\x1f\x1e";
    event back = event_round_trip(&ok, records, &payload, &length);
    CHECK(back.done.ok && back.done.holder == 12345);
    CHECK(json_equal(back.done.threads, threads));
    CHECK_STR(back.done.result, "3.5");
    CHECK(back.done.ename == NULL && back.done.traceback == NULL && !back.done.state_lost);
    CHECK(length == strlen(records) && payload && memcmp(payload, records, length) == 0);
    free(payload);
    event_clear(&back);
    json_decref(threads);

    /* no threads and no value: threads comes back as an empty array, result as NULL */
    event plain = {.kind = EV_DONE, .done = {.ok = true, .holder = 9}};
    back = event_round_trip(&plain, NULL, NULL, NULL);
    CHECK(json_is_array(back.done.threads) && json_array_size(back.done.threads) == 0);
    CHECK(back.done.result == NULL);
    event_clear(&back);

    /* a compile error, a death with every field, and the compiler gone */
    event compile = {.kind = EV_DONE, .done = {.ename = "CompileError", .evalue = "1 error", .errors = "<cell>:1: x"}};
    back = event_round_trip(&compile, NULL, NULL, NULL);
    CHECK(!back.done.ok);
    CHECK_STR(back.done.ename, "CompileError");
    CHECK_STR(back.done.evalue, "1 error");
    CHECK_STR(back.done.errors, "<cell>:1: x");
    CHECK(back.done.where == NULL && back.done.status == 0 && back.done.traceback == NULL);
    event_clear(&back);

    json_t *traceback = json_pack("[s, s]", "#0 f at cell[3]:2", "#1 main");
    event death = {.kind = EV_DONE,
                   .done = {.ename = "SIGSEGV", .evalue = "invalid read at 0x0", .traceback = traceback,
                            .where = "cell[3], line 2", .status = 139}};
    back = event_round_trip(&death, NULL, NULL, NULL);
    CHECK_STR(back.done.ename, "SIGSEGV");
    CHECK(json_equal(back.done.traceback, traceback));
    CHECK_STR(back.done.where, "cell[3], line 2");
    CHECK(back.done.status == 139 && !back.done.state_lost);
    event_clear(&back);
    json_decref(traceback);

    event lost = {.kind = EV_DONE, .done = {.ename = "CompilerDied", .state_lost = true}};
    back = event_round_trip(&lost, NULL, NULL, NULL);
    CHECK_STR(back.done.ename, "CompilerDied");
    CHECK(back.done.state_lost);
    event_clear(&back);

    /* an error without a name still says it is one */
    event nameless = {.kind = EV_DONE};
    back = event_round_trip(&nameless, NULL, NULL, NULL);
    CHECK(!back.done.ok);
    CHECK_STR(back.done.ename, "Error");
    event_clear(&back);
    close_channel();
}

/* ---------------------------------------------------------------- malformed messages */

typedef int (*parser)(json_t *msg, void *out, char **err);
static int parse_op(json_t *msg, void *out, char **err) { return op_parse(msg, out, err); }
static int parse_event(json_t *msg, void *out, char **err) { return event_parse(msg, out, err); }

/* msg (stolen) must be refused with an error containing each of the words. */
static void expect_refused(parser parse, json_t *msg, const char *word1, const char *word2, int line) {
    union {
        op o;
        event e;
    } out;
    memset(&out, 0xAB, sizeof out);  /* garbage in, so "left empty" is really checked */
    char *err = NULL;
    int rc = parse(msg, &out, &err);
    bool said = err && (!word1 || strstr(err, word1)) && (!word2 || strstr(err, word2));
    if (rc != -1 || !said) {
        char *text = json_dumps(msg, JSON_COMPACT | JSON_ENCODE_ANY);
        fprintf(stderr, "  (line %d: %s gave %d, \"%s\")\n", line, text, rc, err ? err : "(no error)");
        free(text);
    }
    CHECK(rc == -1);
    CHECK(said);
    CHECK(parse == parse_op ? all_zero(&out.o, sizeof out.o) : all_zero(&out.e, sizeof out.e));
    free(err);
    json_decref(msg);
}
#define REFUSED(parse, msg, w1, w2) expect_refused(parse, msg, w1, w2, __LINE__)

static void expect_accepted(parser parse, json_t *msg, int line) {
    union {
        op o;
        event e;
    } out;
    char *err = NULL;
    int rc = parse(msg, &out, &err);
    if (rc != 0) fprintf(stderr, "  (line %d: refused: %s)\n", line, err ? err : "(no error)");
    CHECK(rc == 0 && err == NULL);
    free(err);
    if (rc == 0) {
        if (parse == parse_op) op_clear(&out.o);
        else event_clear(&out.e);
    }
    json_decref(msg);
}

/* A value of another type than v's, for each JSON type. */
static json_t *other_type(const json_t *v) {
    if (json_is_string(v)) return json_integer(7);
    if (json_is_integer(v)) return json_string("seven");
    if (json_is_boolean(v)) return json_integer(1);
    if (json_is_object(v)) return json_array();
    if (json_is_array(v)) return json_object();
    return json_string("?");
}

/* The generated matrix: from a good message, every field left out (refused when required,
 * accepted otherwise), set to null (the same) and set to a value of another type (refused,
 * naming the field). */
static void check_fields_of(parser parse, const char *good_text, const char *required) {
    json_t *good = json_loads(good_text, 0, NULL);
    CHECK(good != NULL);
    expect_accepted(parse, json_deep_copy(good), __LINE__);
    const char *key;
    json_t *value;
    json_object_foreach(good, key, value) {
        if (strcmp(key, "op") == 0 || strcmp(key, "ev") == 0) continue;
        char quoted[64];
        snprintf(quoted, sizeof quoted, "\"%s\"", key);
        bool is_required = strstr(required, quoted) != NULL;

        json_t *without = json_deep_copy(good);
        json_object_del(without, key);
        if (is_required) REFUSED(parse, without, quoted, "missing");
        else expect_accepted(parse, without, __LINE__);

        json_t *nulled = json_deep_copy(good);
        json_object_set_new(nulled, key, json_null());
        if (is_required) REFUSED(parse, nulled, quoted, "should be");
        else expect_accepted(parse, nulled, __LINE__);

        json_t *mistyped = json_deep_copy(good);
        json_object_set_new(mistyped, key, other_type(value));
        REFUSED(parse, mistyped, quoted, "should be");
    }
    json_decref(good);
}

static void test_malformed_messages(void) {
    /* not an object, no name, a name of the wrong type, an unknown name */
    REFUSED(parse_op, json_pack("[s]", "execute"), "JSON object", NULL);
    REFUSED(parse_op, json_string("execute"), "JSON object", NULL);
    REFUSED(parse_op, json_pack("{s:i}", "cell", 1), "without \"op\"", NULL);
    REFUSED(parse_op, json_pack("{s:i}", "op", 1), "without \"op\"", NULL);
    REFUSED(parse_op, json_pack("{s:s}", "op", "exec"), "unknown op", "\"exec\"");
    REFUSED(parse_op, json_pack("{s:s}", "ev", "done"), "without \"op\"", NULL);  /* an event is no op */
    REFUSED(parse_event, json_null(), "JSON object", NULL);
    REFUSED(parse_event, json_pack("{s:s}", "op", "execute"), "without \"ev\"", NULL);
    REFUSED(parse_event, json_pack("{s:s}", "ev", "finished"), "unknown event", "\"finished\"");

    /* every field of every message, from a good one */
    check_fields_of(parse_op,
                    "{\"op\":\"execute\",\"cell\":3,\"allow_stdin\":true,\"silent\":false,\"bounds\":false,"
                    "\"prelude\":true,\"memory_limit\":1073741824}",
                    "\"cell\" \"allow_stdin\" \"silent\" \"bounds\" \"prelude\" \"memory_limit\"");
    check_fields_of(parse_op, "{\"op\":\"input_reply\",\"value\":\"x\",\"eof\":false}", "\"value\"");
    check_fields_of(parse_event, "{\"ev\":\"running\",\"nonce\":\"00000000000000ab\",\"cell\":3,\"pid\":12,\"in_place\":false}", "\"pid\" \"nonce\" \"cell\"");
    check_fields_of(parse_event, "{\"ev\":\"display\",\"nonce\":\"00000000000000ab\",\"cell\":3,\"data\":{\"text/plain\":\"w\"}}", "\"data\" \"nonce\" \"cell\"");
    check_fields_of(parse_event, "{\"ev\":\"input_request\",\"nonce\":\"00000000000000ab\",\"cell\":3,\"prompt\":\"> \",\"password\":false}", "\"prompt\" \"nonce\" \"cell\"");
    check_fields_of(parse_event, "{\"ev\":\"threads\",\"nonce\":\"00000000000000ab\",\"cell\":3,\"threads\":[]}", "\"threads\" \"nonce\" \"cell\"");
    check_fields_of(parse_event, "{\"ev\":\"done\",\"nonce\":\"00000000000000ab\",\"cell\":3,\"ok\":true,\"holder\":5,\"threads\":[],\"result\":\"1\"}",
                    "\"ok\" \"holder\" \"threads\" \"nonce\" \"cell\"");
    check_fields_of(parse_event,
                    "{\"ev\":\"done\",\"nonce\":\"00000000000000ab\",\"cell\":3,\"ok\":false,\"ename\":\"SIGSEGV\",\"evalue\":\"v\",\"errors\":\"e\","
                    "\"traceback\":[\"a\"],\"where\":\"cell[1], line 1\",\"status\":11,\"state_lost\":false}",
                    "\"ok\" \"ename\" \"nonce\" \"cell\"");
}

/* ---------------------------------------------------------------- on the stream */

static const char magic[4] = FRAMING_MAGIC;

static void send_raw_frame(int fd, const char *text) {
    uint32_t length = (uint32_t)strlen(text);
    CHECK(framing_send_bytes(fd, magic, 4) == 0);
    CHECK(framing_send_bytes(fd, &length, 4) == 0);
    CHECK(framing_send_bytes(fd, text, length) == 0);
}

/* After a refused message the next one still arrives. */
static void expect_next_op_is_shutdown(void) {
    op next;
    char *err = NULL;
    CHECK(op_receive(channel[1], &next, NULL, NULL, &err) == 0);
    CHECK(next.kind == OP_SHUTDOWN && err == NULL);
    free(err);
    op_clear(&next);
}

static void test_stream(void) {
    open_channel();
    const op shutdown_op = {.kind = OP_SHUTDOWN};
    op out;
    char *err = NULL, *payload = NULL;
    size_t length = 0;

    /* a frame that is not JSON: refused (-2), the stream goes on */
    send_raw_frame(channel[0], "{\"op\": \"execute\", ");
    op_send(channel[0], &shutdown_op, NULL, 0);
    CHECK(op_receive(channel[1], &out, NULL, NULL, &err) == -2);
    CHECK(err && strstr(err, "not JSON"));
    CHECK(all_zero(&out, sizeof out));
    free(err);
    err = NULL;
    expect_next_op_is_shutdown();

    /* an unknown op carrying a payload: refused, the payload is read past, not returned */
    json_t *odd = json_pack("{s:s}", "op", "compile");
    CHECK(framing_send_payload(channel[0], odd, "int y;", 6) == 0);
    json_decref(odd);
    op_send(channel[0], &shutdown_op, NULL, 0);
    CHECK(op_receive(channel[1], &out, &payload, &length, &err) == -2);
    CHECK(err && strstr(err, "unknown op \"compile\""));
    CHECK(payload == NULL && length == 0);
    free(err);
    err = NULL;
    expect_next_op_is_shutdown();

    /* a payload announced but not given as a byte count: refused; what follows is found by its magic */
    send_raw_frame(channel[0], "{\"op\":\"threads\",\"payload\":\"many\"}");
    op_send(channel[0], &shutdown_op, NULL, 0);
    CHECK(op_receive(channel[1], &out, NULL, NULL, &err) == -2);
    CHECK(err && strstr(err, "byte count"));
    free(err);
    err = NULL;
    expect_next_op_is_shutdown();

    /* bytes that are not a frame (a cell wrote into the channel), some like a magic's start:
     * reported at once (-3) with how many, and the frame after them still arrives */
    const char junk[] = "junk CL CLF CLF0 more junk\n";
    CHECK(framing_send_bytes(channel[0], junk, sizeof junk - 1) == 0);
    CHECK(op_receive(channel[1], &out, NULL, NULL, &err) == -3);
    CHECK(err && strstr(err, "bytes that were not a message") && all_zero(&out, sizeof out));
    free(err);
    err = NULL;
    op_send(channel[0], &shutdown_op, NULL, 0);
    expect_next_op_is_shutdown();

    /* junk with a frame right behind it in the same read: the junk first, then the frame */
    CHECK(framing_send_bytes(channel[0], "xyz", 3) == 0);
    op_send(channel[0], &shutdown_op, NULL, 0);
    CHECK(op_receive(channel[1], &out, NULL, NULL, &err) == -3);
    free(err);
    err = NULL;
    expect_next_op_is_shutdown();

    /* a frame claiming more than FRAMING_MAX is not waited for: refused at once, as junk */
    uint32_t huge = FRAMING_MAX + 1;
    CHECK(framing_send_bytes(channel[0], magic, 4) == 0 && framing_send_bytes(channel[0], &huge, 4) == 0);
    CHECK(op_receive(channel[1], &out, NULL, NULL, &err) == -3);
    free(err);
    err = NULL;
    op_send(channel[0], &shutdown_op, NULL, 0);
    expect_next_op_is_shutdown();

    /* events carry the stamp their sender set, and a stamp that is not 16 hex digits is refused */
    event_stamp_set((event_stamp){0xfeedbeefcafe1234ull, 77});
    CHECK(event_send(channel[0], &(event){.kind = EV_INPUT_REQUEST, .input_request = {"> ", false}}, NULL, 0) == 0);
    event ev;
    CHECK(event_receive(channel[1], &ev, NULL, NULL, &err) == 0);
    CHECK(ev.stamp.nonce == 0xfeedbeefcafe1234ull && ev.stamp.cell == 77 && ev.stray == 0);
    event_clear(&ev);
    send_raw_frame(channel[0], "{\"ev\":\"input_request\",\"prompt\":\"> \",\"nonce\":\"feed\",\"cell\":1}");
    CHECK(event_receive(channel[1], &ev, NULL, NULL, &err) == -2);
    CHECK(err && strstr(err, "16 hexadecimal digits"));
    free(err);
    err = NULL;
    close_channel();

    /* a frame cut short, a payload cut short, the peer gone */
    const char *cut[] = {NULL, "{\"op\":\"shut", NULL};
    for (int i = 1; i < 4; i++) {
        open_channel();
        if (i == 1) {
            uint32_t length = 100;
            CHECK(framing_send_bytes(channel[0], magic, 4) == 0);
            CHECK(framing_send_bytes(channel[0], &length, 4) == 0);
            CHECK(framing_send_bytes(channel[0], cut[1], strlen(cut[1])) == 0);
        } else if (i == 2) {
            send_raw_frame(channel[0], "{\"op\":\"threads\",\"payload\":50}");
            CHECK(framing_send_bytes(channel[0], "short", 5) == 0);
        }
        shutdown(channel[0], SHUT_WR);
        CHECK(op_receive(channel[1], &out, &payload, &length, &err) == -1);
        CHECK(payload == NULL && length == 0 && all_zero(&out, sizeof out));
        free(err);
        err = NULL;
        close_channel();
    }
    /* sending to a peer that is gone fails instead of killing the sender with SIGPIPE */
    open_channel();
    close(channel[1]);
    CHECK(op_send(channel[0], &shutdown_op, NULL, 0) == -1);
    close(channel[0]);
}

int main(void) {
    event_stamp_set((event_stamp){0x0123456789abcdefull, 42});
    test_ops_round_trip();
    test_simple_events_round_trip();
    test_done_round_trip();
    test_malformed_messages();
    test_stream();
    return check_summary("test_protocol");
}
