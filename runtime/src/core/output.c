/* output.c — output calls that mean something to Jupyter, carried there by the host's hooks
 * (conclab_host.h), with terminal fallbacks for homework run outside notebooks. */
#include "conclab.h"
#include "conclab_host.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "host_internal.h"

/* Set once by the host before cells run; forked cells inherit it. */
static cl_host_hooks host_hooks;

void cl_host_set_hooks(const cl_host_hooks *hooks) {
    if (hooks) host_hooks = *hooks;
    else host_hooks = (cl_host_hooks){0};
}

void cl__host_thread_started(void) {
    if (host_hooks.thread_started) host_hooks.thread_started(host_hooks.ctx);
}

int cl__host_can_display(void) { return host_hooks.display != NULL; }

void cl__host_check_failed(const char *message) {
    if (host_hooks.check_failed) host_hooks.check_failed(host_hooks.ctx, message);
    else exit(1);
}

int cl__host_describe_code(const void *address, char *out, unsigned long size) {
    return host_hooks.describe_code && host_hooks.describe_code(host_hooks.ctx, address, out, size);
}

int cl__host_display(const char *bundle, unsigned long size, const char *id, int update, char *why, unsigned long why_size) {
    return host_hooks.display(host_hooks.ctx, bundle, size, id, update, why, why_size);
}

void cl_clear_output(int wait) {
    fflush(stdout);
    fflush(stderr);
    if (host_hooks.clear_output) {
        host_hooks.clear_output(host_hooks.ctx, wait);
        return;
    }
    /* In a terminal: home the cursor and erase the screen. Into a file or pipe there is nothing
     * to clear, and escape codes there would only be noise. */
    if (isatty(STDOUT_FILENO)) {
        static const char clear_screen[] = "\033[H\033[2J";
        ssize_t written = write(STDOUT_FILENO, clear_screen, sizeof clear_screen - 1);
        (void)written; /* a terminal that will not take it has nothing to clear */
    }
}
