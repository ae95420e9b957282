/* sandbox_events.c — the executor's events name processes by the pids it sees; in a sandbox
 * (sandbox.h) those are its own PID namespace's, and the kernel, which checks, signals and
 * watches them from outside, turns them into its own first. A pid that names no process of the
 * sandbox becomes -1: checked as any other, it is a process that is gone, never one outside. */
#include "engine_internal.h"

void engine_translate_event_pids(const engine *eng, event *ev, pid_t *inside) {
    if (ev->kind == EV_RUNNING) *inside = ev->running.pid;
    if (!eng->opts.sandbox) return;
    if (ev->kind == EV_RUNNING) ev->running.pid = sandbox_host_pid(&eng->sandbox, ev->running.pid);
    if (ev->kind == EV_DONE) ev->done.holder = sandbox_host_pid(&eng->sandbox, ev->done.holder);
}
