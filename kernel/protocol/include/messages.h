/* messages.h — every message between the engine client (the kernel process) and the executor,
 * in one place: what each carries, one builder and one parser for each, used by both sides.
 *
 * They travel on the socketpair the client made (descriptor 3 in the executor), framed by
 * framing.h; a message may carry bytes after it (its payload). The client sends ops, one at a
 * time; the executor answers with events:
 *
 *   op execute         cell, allow_stdin, silent, bounds, prelude, memory_limit, time, watch,
 *                      trace_file, lockcheck, chaos_runs, chaos_seed, chaos_limit_ms;
 *                      payload: the cell's code
 *                      -> events running, display, input_request, then done
 *   op threads         -> event threads (%threads)
 *   op input_reply     value, eof: the answer to an input_request
 *   op shutdown        the executor ends, with every process of the notebook
 *
 *   event running        pid, in_place: the cell's process (its process group) runs now;
 *                        in_place when it is the holder itself (threads were running)
 *   event display        data: a mimebundle to show (compiler warnings)
 *   event input_request  prompt, password: the cell reads standard input
 *   event threads        threads: [{tid, cell, state, name}] of the holder
 *   event done           the cell's end; payload: what it defined (definition_records.h)
 *
 * Every event also carries "nonce" and "cell" (event_stamp below). What a cell shows with
 * conclab/display.h, and its clears, go their own way: display_socket.h.
 *
 * A parser takes a message as received and checks every field it needs is there with its type;
 * anything else (no "op"/"ev", an unknown one, a missing or mistyped field) is refused with a
 * sentence saying what was wrong, never half-read. Fields it returns are borrowed from the
 * message, which the parsed struct keeps a reference to until *_clear. */
#ifndef CONCLAB_MESSAGES_H
#define CONCLAB_MESSAGES_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---------------------------------------------------------------- ops: client -> executor */

typedef enum op_kind { OP_EXECUTE = 1, OP_THREADS, OP_INPUT_REPLY, OP_SHUTDOWN } op_kind;

typedef struct op_execute {
    int cell;              /* execution count: names like cell[3] */
    bool allow_stdin;      /* the front end can answer input requests */
    bool silent;           /* no trailing-expression value */
    bool bounds;           /* compile with bounds checking (%%bounds) */
    bool prelude;          /* the common headers without #include (%prelude) */
    size_t memory_limit;   /* address space the cell may add, in bytes */
    bool time;             /* %%time: the cell's times printed after it */
    unsigned watch;        /* WATCH_* below: the pictures drawn of the cell's run */
    const char *trace_file;  /* %%timeline --save FILE: where its trace goes, or NULL */
    bool lockcheck;        /* lock-order checking on while it runs (%lockcheck, %%chaos) */
    int chaos_runs;        /* %%chaos: 0 none; 1 one ordinary run under chaos_seed; >= 2 trials */
    long long chaos_seed;  /* the (first) seed; -1: the executor draws one */
    int chaos_limit_ms;    /* trials: the cell's time limit in ms (0: none), per trial and in all */
} op_execute;

/* What %%timeline and %%cpu ask for (op_execute.watch). */
enum {
    WATCH_TIMELINE = 1,      /* a timeline of the cell's threads, processes and tasks after it */
    WATCH_LIVE = 2,          /* ... redrawn while it runs */
    WATCH_TIMELINE_CPU = 4,  /* ... with the cores' use under it */
    WATCH_CPU = 8            /* a chart of every core's use while it ran (%%cpu) */
};

typedef struct op_input_reply {
    const char *value;     /* the line, without its newline */
    bool eof;              /* no more input */
} op_input_reply;

typedef struct op {
    op_kind kind;
    union {
        op_execute execute;
        op_input_reply input_reply;
    };
    json_t *json;          /* the message the fields borrow from (parsed ops) */
    size_t stray;          /* received: bytes before it that were not a frame (framing.h) */
} op;

/* ---------------------------------------------------------------- events: executor -> client */

/* Whose an event is: the session (a random nonce the client chose) and the cell. */
typedef struct event_stamp {
    uint64_t nonce;
    int cell;
} event_stamp;

typedef enum event_kind {
    EV_RUNNING = 1, EV_DISPLAY, EV_INPUT_REQUEST, EV_THREADS, EV_DONE
} event_kind;

/* How a cell ended. ok: it ran (holder, threads, result). Otherwise ename says which error:
 * "CompileError" (errors: tcc's messages), a death in its fork ("SIGSEGV", "Exit",
 * "MemoryLimitExceeded", ...: evalue, traceback, status, where), or "CompilerDied"
 * (state_lost: the executor ends and the client starts a fresh one). */
typedef struct event_done {
    bool ok;
    int holder;            /* ok: the process holding the notebook from now on */
    json_t *threads;       /* ok: [{cell, count}] of the cells' threads still running */
    const char *result;    /* ok: the trailing expression's value as text, or NULL */
    const char *ename;     /* not ok */
    const char *evalue;    /* not ok, or NULL */
    const char *errors;    /* CompileError: tcc's messages, or NULL */
    json_t *traceback;     /* not ok: lines, or NULL */
    const char *where;     /* a death: "cell[3], line 2", or NULL */
    int status;            /* a death: the wait status of the cell's process */
    bool state_lost;       /* the executor is ending: the notebook's state is gone */
} event_done;

typedef struct event {
    event_kind kind;
    union {
        struct {
            int pid;                          /* the cell's process (its process group) */
            bool in_place;                    /* in the holder itself (threads were running) */
        } running;                            /* EV_RUNNING */
        json_t *display_data;                 /* EV_DISPLAY: a mimebundle */
        struct {
            const char *prompt;
            bool password;
        } input_request;                      /* EV_INPUT_REQUEST */
        json_t *threads;                      /* EV_THREADS: [{tid, cell, state, name}] */
        event_done done;                      /* EV_DONE */
    };
    event_stamp stamp;     /* received: whose it says it is */
    json_t *json;          /* the message the fields borrow from (parsed events) */
    size_t stray;          /* received: bytes before it that were not a frame (framing.h) */
} event;

/* Every event carries the session's nonce and its cell's number, so the client can tell the
 * executor's events from bytes a cell wrote into the channel that happen to make a frame (bytes
 * that do not are caught by framing.h's magic). The executor states them once per cell, in each
 * process that sends; event_build stamps every event with them. */
void event_stamp_set(event_stamp stamp);

/* How the client hands the executor the nonce: in its environment, as 16 hexadecimal digits. */
#define CHANNEL_NONCE_ENV "CONCLAB_CHANNEL_NONCE"

/* The executor's process names (prctl PR_SET_NAME), which the client reads in /proc: the holder
 * takes EXECUTOR_READY_NAME once it is set up, the next cell's process forked ahead of time is
 * EXECUTOR_SPARE_NAME until its cell comes. */
#define EXECUTOR_READY_NAME "conclab-cell"
#define EXECUTOR_SPARE_NAME "conclab-spare"

/* ---------------------------------------------------------------- building and parsing */

/* The message for o or e (a new reference; json fields of e are copied by reference). */
json_t *op_build(const op *o);
json_t *event_build(const event *e);

/* Reads a received message into *out, which keeps a reference to it. 0, or -1 with *err set
 * (malloc'd: what was wrong) and *out empty. */
int op_parse(json_t *msg, op *out, char **err);
int event_parse(json_t *msg, event *out, char **err);

void op_clear(op *o);
void event_clear(event *e);

/* The name on the wire ("execute", "done", ...), or "?" */
const char *op_name(op_kind kind);
const char *event_name(event_kind kind);

/* ---------------------------------------------------------------- on a descriptor */

/* Sends a message and, after it, `length` bytes of payload (none when length is 0). 0, or -1
 * when the peer is gone. */
int op_send(int fd, const op *o, const void *payload, size_t length);
int event_send(int fd, const event *e, const void *payload, size_t length);

/* Receives one message and the payload it announced (malloc'd, NUL-terminated, or NULL when
 * none; *length its size). 0; -1 when the peer is gone; -2 when the message was malformed
 * (*err says how; the stream may still be read on); -3 when bytes that were not a message came
 * (framing.h; *err says how many; the stream may still be read on). payload and length may be NULL when the
 * caller expects none (a payload then is read and dropped). */
int op_receive(int fd, op *out, char **payload, size_t *length, char **err);
int event_receive(int fd, event *out, char **payload, size_t *length, char **err);

#endif
