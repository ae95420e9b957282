/* call_site.h — where in the caller's code a lock was taken, for the reports of the lock-order
 * checker and of hung threads. A lock's public functions note their return address (one
 * thread-local store); the reports turn it into words: through the host (a notebook cell and
 * line, conclab_host.h) or, in a program built outside the kernel, the binary and offset that
 * addr2line reads. */
#ifndef CONCLAB_RUNTIME_CALL_SITE_H
#define CONCLAB_RUNTIME_CALL_SITE_H

#include <stddef.h>

#include "observe.h"

/* The address the calling thread's last lock call returns to. */
CL_INTERNAL extern __thread const void *cl__call_site __attribute__((tls_model("initial-exec")));

/* In a public function, first thing: notes its caller. */
#define CL__NOTE_CALL_SITE() (cl__call_site = __builtin_return_address(0))

static inline const void *cl__call_site_get(void) { return cl__call_site; }

/* Describes `site` into out: 1 for the host's words ("in worker() of cell[3]"), 2 for a binary
 * and offset ("./prog+0x1234", which `addr2line -f -e ./prog 0x1234` turns into a function and
 * line), 0 when nothing is known of it. */
CL_INTERNAL int cl__call_site_describe(const void *site, char *out, size_t size);

#endif
