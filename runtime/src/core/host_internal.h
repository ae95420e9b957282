/* host_internal.h — the host's hooks (conclab_host.h) as the runtime's own threads call them. */
#ifndef CONCLAB_HOST_INTERNAL_H
#define CONCLAB_HOST_INTERNAL_H

/* On a thread the runtime starts, first thing: the host's thread_started hook, if any. */
void cl__host_thread_started(void) __attribute__((visibility("hidden")));

/* cl_check failed: the host's hook ends the cell (or notes it, when the cell cannot end alone);
 * without a host, the program exits 1. */
void cl__host_check_failed(const char *message) __attribute__((visibility("hidden")));

/* Whether a host shows displays, and the host's display hook (conclab_host.h). */
int cl__host_can_display(void) __attribute__((visibility("hidden")));
int cl__host_display(const char *bundle, unsigned long size, const char *id, int update, char *why, unsigned long why_size) __attribute__((visibility("hidden")));

/* The host's words for an address in the caller's code (conclab_host.h); 0 when it has none. */
int cl__host_describe_code(const void *address, char *out, unsigned long size) __attribute__((visibility("hidden")));

#endif
