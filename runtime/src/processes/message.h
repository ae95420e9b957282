/* message.h — the typed helpers of the byte-message channels (queue.c, pipe.c): a long, a
 * double or a string sent as a message and turned back into one on receipt. Internal. */
#ifndef CONCLAB_RUNTIME_MESSAGE_H
#define CONCLAB_RUNTIME_MESSAGE_H

#include <stddef.h>

#include "observe.h"

/* Copies a received message of exactly `size` bytes into out and frees it. One of another size
 * cannot be the `what` the caller asked for: it is dropped and reported. Returns 1 or -1. */
CL_INTERNAL int cl__message_to_fixed(void *data, size_t got, void *out, size_t size,
                                     const char *what, const char *call);

/* Turns a received message into a NUL-terminated string in *s (the caller frees it); on failure
 * the message is dropped and reported. Returns 1 or -1. */
CL_INTERNAL int cl__message_to_string(void *data, size_t size, char **s, const char *call);

#endif
