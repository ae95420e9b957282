/* conclab/pipe.h — a two-way channel between two processes (Python: multiprocessing.Pipe(),
 * duplex, and its Connection objects).
 * Part of <conclab.h>; see there for the conventions every runtime header keeps.
 *
 * cl_pipe_new makes two connected ends, a and b: what is sent on one end is received on the
 * other, in order, as whole messages of bytes (Python's send_bytes / recv_bytes; helpers send
 * a long, a double or a string). Make the pipe BEFORE the fork; then each process keeps the end
 * it uses and closes the other one:
 *
 *     cl_connection *parent_end, *child_end;
 *     cl_pipe_new(&parent_end, &child_end);
 *     if (fork() == 0) {                    // or cl_process_start
 *         cl_connection_close(parent_end);  // the child keeps only its end
 *         cl_connection_send_string(child_end, "hello");
 *         cl_connection_close(child_end);
 *         ...
 *     }
 *     cl_connection_close(child_end);       // the parent keeps only its end
 *
 * Closing matters: a receive sees the end of the stream (returns -1) only once every process
 * has closed the other end (or exited), exactly as with Python's Connection and POSIX pipes.
 *
 * Return values: receives return 1 (a message), 0 (the timeout passed with nothing to read) or
 * -1 (an error, reported on stderr as "cl_connection_<call>: ..."). One -1 prints nothing: the
 * other end was closed and everything it sent has been read — the end of the stream, Python's
 * EOFError. A send returns 1, or -1 (reported), for instance when the other end is closed
 * (Python's BrokenPipeError; it does not kill the process with SIGPIPE).
 * Timeouts are seconds: 0 polls, CL_FOREVER waits forever. Every wait (for a message, for the
 * other side to read) lets the emulated GIL go; waits for a message are reported to the
 * observer of <conclab/hook.h> as primitive "connection".
 *
 * Differences from Python, on purpose:
 *   - Messages are bytes; there is no pickling (send a struct, or several messages).
 *   - A send waits while the other side has not read enough of what was sent before; it has
 *     no timeout, as in Python. A receive's timeout is for the start of a message: once one
 *     begins, it is read whole.
 *   - Threads of one process may share an end: messages never interleave. Two processes
 *     sending on copies of the same end may interleave large messages (as in Python): give each
 *     process its own pipe, or use a cl_queue. For the same reason a child forked while a thread
 *     of its parent is in the middle of a message on an end must leave that end alone: the child
 *     would wait for that thread (which it does not have) to finish the message.
 *   - cl_connection_close also frees the handle (like fclose); the end is closed in the calling
 *     process only.
 */
#ifndef CONCLAB_PIPE_H
#define CONCLAB_PIPE_H

#include <stddef.h> /* size_t */

#ifdef __cplusplus
extern "C" {
#endif

#include <conclab/clock.h> /* CL_FOREVER */

/* One end of a pipe (Python: multiprocessing.connection.Connection); closed and freed by cl_connection_close. */
typedef struct cl_connection cl_connection;

/* Makes a duplex pipe: *a and *b are its two connected ends (Python: a, b = Pipe()); 1, or 0 on error. */
int cl_pipe_new(cl_connection **a, cl_connection **b);

/* Sends size bytes from data as one message, waiting while the other side is behind; 1 sent, -1 error. */
int cl_connection_send(cl_connection *c, const void *data, size_t size);

/* Receives one message, waiting at most timeout seconds: *data gets a malloc'd copy (free it), *size its length; 1, 0 nothing yet, -1 error or end of stream. */
int cl_connection_recv(cl_connection *c, void **data, size_t *size, double timeout);

/* Waits at most timeout seconds until a receive would not block (a message or the end of the stream); 1 if so, 0 if not, -1 misuse. */
int cl_connection_poll(cl_connection *c, double timeout);

/* Sends a long as a message of sizeof(long) bytes; 1 sent, -1 error. */
int cl_connection_send_long(cl_connection *c, long value);

/* Receives a message sent by cl_connection_send_long into *value; 1, 0 nothing yet, -1 error (a message of another size is taken and reported) or end of stream. */
int cl_connection_recv_long(cl_connection *c, long *value, double timeout);

/* Sends a double as a message of sizeof(double) bytes; 1 sent, -1 error. */
int cl_connection_send_double(cl_connection *c, double value);

/* Receives a message sent by cl_connection_send_double into *value; 1, 0 nothing yet, -1 error (a message of another size is taken and reported) or end of stream. */
int cl_connection_recv_double(cl_connection *c, double *value, double timeout);

/* Sends the characters of string s (without its NUL) as one message; 1 sent, -1 error. */
int cl_connection_send_string(cl_connection *c, const char *s);

/* Receives any message as a malloc'd NUL-terminated string in *s (free it); 1, 0 nothing yet, -1 error or end of stream. */
int cl_connection_recv_string(cl_connection *c, char **s, double timeout);

/* Returns the end's file descriptor, for poll/select over several ends (-1 on misuse). */
int cl_connection_fileno(cl_connection *c);

/* Closes this end in the calling process and frees the handle; 1, or 0 on misuse. NULL is ignored. */
int cl_connection_close(cl_connection *c);

#ifdef __cplusplus
}
#endif

#endif
