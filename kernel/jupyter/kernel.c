/* kernel.c — `conclab kernel -f CONNECTION_FILE`: starts the engine and the server, then serves
 * the shell channel on the main thread until a shutdown request or SIGTERM.
 *
 * Between requests the loop wakes every PUMP_INTERVAL_MS to forward output that threads and
 * processes left running by earlier cells still write; it belongs to the last executed cell. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <time.h>

#include "kernel.h"
#include "kernel_state.h"
#include "monotonic.h"

#define PUMP_INTERVAL_MS 50
#define DEFAULT_OUTPUT_LIMIT ((size_t)4 << 20)

void kernel_interrupt(kernel *k) {
    atomic_fetch_add(&k->interrupts, 1);
    engine_interrupt(k->eng);
}

void kernel_stop(kernel *k) {
    atomic_store(&k->stopping, true);
    engine_interrupt(k->eng);  /* a running cell must return for the main thread to see the stop */
    server_request_stop(k->srv);
}

/* Jupyter restarts a kernel by shutting this process down (restart: true) and starting a new
 * one, so both kinds of shutdown end the process; the flag is only echoed. */
void kernel_reply_shutdown(kernel *k, server_channel ch, const wire_msg *msg) {
    bool restart = content_bool(msg, "restart", false);
    server_send(k->srv, ch, msg, "shutdown_reply", json_pack("{s:s, s:b}", "status", "ok", "restart", restart),
                NULL);
    server_send(k->srv, CHANNEL_IOPUB, msg, "shutdown_reply",
                json_pack("{s:s, s:b}", "status", "ok", "restart", restart), NULL);
}

static engine_options options_from_env(void) {
    engine_options opts = {.output_limit = DEFAULT_OUTPUT_LIMIT, .timeout_s = 0};
    const char *limit = getenv("CONCLAB_OUTPUT_LIMIT");
    const char *timeout = getenv("CONCLAB_TIMEOUT");
    char *end;
    if (limit && *limit) {
        unsigned long long bytes = strtoull(limit, &end, 10);
        if (*end == '\0' && bytes > 0) opts.output_limit = (size_t)bytes;
        else fprintf(stderr, "conclab: ignoring CONCLAB_OUTPUT_LIMIT='%s' (want bytes)\n", limit);
    }
    if (timeout && *timeout) {
        double seconds = strtod(timeout, &end);
        if (*end == '\0' && seconds >= 0) opts.timeout_s = seconds;
        else fprintf(stderr, "conclab: ignoring CONCLAB_TIMEOUT='%s' (want seconds)\n", timeout);
    }
    return opts;
}

static void pump_output(kernel *k) {
    output_route route = {k, k->has_last_execute ? &k->last_execute : NULL};
    engine_callbacks cb = output_callbacks(&route);
    cb.on_input = NULL;  /* no cell is running: nobody to prompt for */
    engine_pump(k->eng, &cb);
}

static void serve_shell(kernel *k) {
    double last_pump = monotonic_ms();
    while (!atomic_load(&k->stopping)) {
        wire_msg msg = {0};
        int got = server_recv_shell(k->srv, PUMP_INTERVAL_MS, &msg);
        if (got < 0) break;
        if (got > 0) {
            shell_dispatch(k, &msg);
            wire_msg_clear(&msg);
            if (k->abort_queued) shell_abort_queued(k);
        }
        /* A steady stream of requests must not starve the background output. */
        if (got == 0 || monotonic_ms() - last_pump >= PUMP_INTERVAL_MS) {
            pump_output(k);
            last_pump = monotonic_ms();
        }
    }
}

static int fail(const char *what, char *err) {
    fprintf(stderr, "conclab kernel: %s: %s\n", what, err ? err : "failed");
    free(err);
    return 1;
}

int kernel_main(const char *connection_file) {
    connection_info ci;
    char *err = NULL;
    if (connection_load(connection_file, &ci, &err) != 0) return fail(connection_file, err);

    kernel k;
    memset(&k, 0, sizeof(k));
    atomic_init(&k.interrupts, 0);
    atomic_init(&k.stopping, false);
    engine_options opts = options_from_env();
    k.eng = engine_start(&opts, &err);
    if (!k.eng) return fail("cannot start the executor", err);
    k.hist = history_new();
    k.srv = server_start(&ci, control_dispatch, &k, &err);
    if (!k.srv) {
        engine_free(k.eng);
        history_free(k.hist);
        return fail("cannot serve the connection", err);
    }
    if (signals_start(&k) != 0) fprintf(stderr, "conclab kernel: signals will not interrupt\n");

    server_publish_status(k.srv, NULL, "starting");
    serve_shell(&k);

    signals_stop();
    server_free(k.srv);  /* joins the control thread, the other user of k */
    engine_free(k.eng);
    history_free(k.hist);
    if (k.has_last_execute) wire_msg_clear(&k.last_execute);
    return 0;
}
