/* engine_internal.h — what the engine client's files share (engine.h is the door; this is the
 * room behind it): the engine's state, and the calls one part makes into another.
 *
 *   engine.c    the executor process: start, restart, stop, the process groups cells ran in
 *   streams.c   the executor's stdout and stderr, forwarded as valid UTF-8 under the output limit
 *   displays.c  what cells show (conclab/display.h) and their clears, from the display socket
 *   execute.c   one cell: magics, the execute op, the events until "done"
 *   outcome.c   how the cell ended, in words: engine_outcome
 *   symbols.c   what the notebook defined, for completion and inspection
 *   sandbox*.c  the executor in a bubblewrap sandbox (sandbox.h), its pids turned into ours */
#ifndef CONCLAB_ENGINE_INTERNAL_H
#define CONCLAB_ENGINE_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <sys/types.h>

#include "display_socket.h"
#include "engine.h"
#include "magics.h"
#include "messages.h"
#include "process_limit.h"
#include "progress.h"
#include "sandbox.h"
#include "strbuf.h"

typedef enum stop_reason { STOP_NONE, STOP_INTERRUPT, STOP_TIMEOUT, STOP_OUTPUT, STOP_PROCESSES, STOP_CHANNEL } stop_reason;

typedef struct output_stream {
    int fd;
    const char *name;
    unsigned char carry[4];  /* the start of a UTF-8 sequence cut by the last read */
    size_t n_carry;
} output_stream;

struct engine {
    engine_options opts;
    pid_t holder;             /* the process holding the notebook: it changes as cells run */
    int holder_pidfd;
    int channel;              /* the socketpair to the executor (messages.h) */
    int executor_channel_fd;  /* its number in the executor and its cells */
    int displays;             /* where cells' displays and clears arrive (display_socket.h) */
    json_t *display_ids;      /* every display id shown this session: the ones updates may name */
    uint64_t nonce;           /* stamped on the executor's events (messages.h) */
    output_stream out, err;
    json_t *symbols, *includes;
    json_t *history;          /* the cells run this session, for %export (session_export.c) */
    strbuf unmerged;          /* definition records not yet in symbols: merged when asked */
    pid_t *groups;            /* process groups cells ran in, to clean up on restart */
    size_t n_groups;
    size_t cell_output;       /* bytes forwarded for the running cell; past the limit once cut off */
    bool holder_lost;         /* the holder died between cells */
    notebook_settings settings;  /* what line magics set */
    process_limit processes;
    int progress_fd;          /* shared with every executor: where the running cell is */
    progress_page *progress;
    char *thread_notice;      /* the last "threads still running" notice shown */
    char bwrap[4096];         /* with opts.sandbox: bwrap's path (sandbox.h) */
    sandbox_pids sandbox;     /* with opts.sandbox: the running sandbox's PID namespace */

    pthread_mutex_t lock;     /* guards the fields below, touched by engine_interrupt */
    bool executing;
    pid_t running_group;
    pid_t running_group_inside;  /* the same as the executor numbers it (differs in a sandbox) */
    stop_reason stop;
    char *waits_report;       /* what the cell's threads were doing when it was stopped, or NULL */
    bool waits_deadlock;      /* ... and they were in a wait-for cycle */
};

/* One cell on its way (execute.c), and what outcome.c reads of it. */
typedef struct run_state {
    engine *eng;
    const engine_request *req;
    const engine_callbacks *cb;
    double timeout_s;
    event done;               /* the "done" event, once it came */
    bool has_done;
    char *definitions;        /* its payload: what the cell defined (definition_records.h) */
    size_t definitions_length;
    bool died;                /* the holder died, or the channel broke */
    bool in_place;            /* the cell ran in the holder itself (threads were running) */
    bool running_seen;        /* its "running" event came */
    double sent_at, running_at;  /* when the cell was sent, and when it began to run (monotonic s) */
    char violation[120];      /* what came on the channel that the executor did not send, or "" */
    char at[64];              /* " at cell[4], line 3": where the cell was when it stopped, or "" */
} run_state;

/* engine.c */
void engine_stop_cell(engine *eng, stop_reason why);   /* kills the running cell's group */
void engine_note_running(engine *eng, pid_t group, pid_t group_inside);  /* the "running" event */
void engine_follow_holder(engine *eng, pid_t holder);  /* a cell handed the notebook over */
void engine_reap_children(void);
void engine_limit_memory(engine *eng);                    /* before each cell (memory_guard.h) */

/* sandbox_events.c: the pids an event names, as the kernel numbers them (sandbox.h); the
 * running cell's pid as the executor numbers it goes to *inside */
void engine_translate_event_pids(const engine *eng, event *ev, pid_t *inside);

/* streams.c */
size_t engine_forward_stream(engine *eng, const engine_callbacks *cb, output_stream *s, bool counted);
void engine_drain_streams(engine *eng, const engine_callbacks *cb, bool counted);
void engine_cut_off(engine *eng, const engine_callbacks *cb);  /* the output limit was passed */

/* displays.c: requests waiting on the display socket, served in order */
void engine_serve_displays(engine *eng, const engine_callbacks *cb, bool counted);

/* outcome.c */
void engine_fill_outcome(engine *eng, run_state *rs, stop_reason why, engine_outcome *out);
void engine_set_error(engine_outcome *out, const char *ename, const char *evalue, json_t *traceback);
void engine_say(const engine_callbacks *cb, const char *text);  /* a line on the cell's stdout */

/* symbols.c */
void engine_keep_definitions(engine *eng, const char *records, size_t length);
void engine_forget_definitions(engine *eng);

/* session_export.c */
void engine_history_add(engine *eng, const char *code, int number, const engine_outcome *out);
void engine_history_clear(engine *eng);
void engine_export_session(engine *eng, const char *path, const engine_callbacks *cb, engine_outcome *out);
bool engine_prelude_off(const engine *eng);

/* tsan_cell.c: a %%tsan cell, built with ThreadSanitizer and run outside the notebook */
void engine_tsan_cell(engine *eng, const engine_request *req, const cell_magics *magics, const engine_callbacks *cb,
                      engine_outcome *out);  /* `%prelude off` is in force: inspection's include notes */

/* inspect.c: the page answering a cell's `name?` lines (help_lines.h) */
struct help_query;
json_t *engine_help_page(engine *eng, const struct help_query *queries, size_t n);

#endif
