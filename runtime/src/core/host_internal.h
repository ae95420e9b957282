/* host_internal.h — the host's hooks (conclab_host.h) as the runtime's own threads call them. */
#ifndef CONCLAB_HOST_INTERNAL_H
#define CONCLAB_HOST_INTERNAL_H

/* On a thread the runtime starts, first thing: the host's thread_started hook, if any. */
void cl__host_thread_started(void) __attribute__((visibility("hidden")));

#endif
