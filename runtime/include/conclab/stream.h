/* conclab/stream.h — TCP streams for tasks of the event loop (Python: asyncio.open_connection,
 * asyncio.start_server, StreamReader and StreamWriter in one handle).
 * Part of <conclab.h>; see there for the conventions every runtime header keeps.
 *
 *     void echo(cl_stream *s, void *arg) {                 // async def echo(reader, writer):
 *         char line[256];
 *         long n;
 *         while ((n = cl_stream_readline(s, line, sizeof line)) > 0) {  // line = await reader.readline()
 *             cl_stream_write(s, line, (size_t)n);         //     writer.write(line)
 *             cl_stream_drain(s);                          //     await writer.drain()
 *         }
 *     }                                                    // (the server closes s afterwards)
 *     void *main_task(void *arg) {
 *         cl_stream_server *srv = cl_stream_start_server("127.0.0.1", 0, echo, NULL);
 *         cl_stream *c = cl_stream_open_connection("127.0.0.1", cl_stream_server_port(srv), 5.0);
 *         ...
 *         cl_stream_close(c); cl_stream_wait_closed(c); cl_stream_free(c);
 *         cl_stream_server_close(srv); cl_stream_server_wait_closed(srv); cl_stream_server_free(srv);
 *         return NULL;
 *     }
 *
 * Every call that may wait is an await: call it from a task (cl_async_create_task, or the main
 * task of cl_async_run); outside one it reports and fails. Incoming bytes are read by the loop
 * into the stream's own buffer (reading pauses above 128 KiB until the task takes some), so a
 * task cancelled in the middle of a read or drain leaves nothing behind that points into its
 * memory: the bytes wait in the stream for the next read.
 *
 * Results of the reading calls: a byte count (> 0), 0 at end of stream, or one of the negative
 * CL_STREAM_ statuses below. Errors (a reset connection, an incomplete readexactly, misuse) are
 * reported on stderr naming the call; a timeout or a cancellation is not reported: it is the
 * task's ordinary control flow (Python: TimeoutError, CancelledError).
 *
 * Timeouts ("nothing waits forever"): each stream has one timeout, in seconds, for every read,
 * readline, readexactly and drain; a call that waits longer returns CL_STREAM_TIMEOUT and the
 * stream stays usable. cl_stream_open_connection's timeout bounds the connect and becomes the
 * stream's timeout; a server's streams start with CL_FOREVER; cl_stream_set_timeout changes it.
 *
 * Ownership: a cl_stream from cl_stream_open_connection is yours to cl_stream_free (which also
 * closes it); the stream a server hands to its handler belongs to the server, which closes and
 * frees it when the handler returns. cl_stream_close + cl_stream_wait_closed mirror
 * writer.close(); await writer.wait_closed(): bytes already written are sent first.
 *
 * SIGPIPE: once the first stream exists, SIGPIPE is ignored (if it still had its default action),
 * as Python does from startup: a write to a connection the peer closed fails ("broken pipe",
 * reported by cl_stream_write or cl_stream_drain) instead of killing the process.
 *
 * Differences from Python: one handle for reader and writer; reads fill the caller's buffer
 * instead of returning bytes; statuses instead of exceptions; the per-stream timeout; at most one
 * task may wait to read a stream at a time, and one to drain it (as asyncio: a second is misuse);
 * start_server takes numeric addresses (and "localhost") only, open_connection also names. */
#ifndef CONCLAB_STREAM_H
#define CONCLAB_STREAM_H

#include <stddef.h> /* size_t */

#include <conclab/clock.h> /* CL_FOREVER */

#ifdef __cplusplus
extern "C" {
#endif

/* A TCP connection (Python: a StreamReader and StreamWriter pair); opaque, released by cl_stream_free. */
typedef struct cl_stream cl_stream;

/* A listening TCP server (Python: asyncio.Server); opaque, released by cl_stream_server_free. */
typedef struct cl_stream_server cl_stream_server;

/* Negative results of the stream calls (a byte count is >= 0). */
#define CL_STREAM_ERROR (-1)     /* failed, reported on stderr (reset, incomplete read, misuse) */
#define CL_STREAM_TIMEOUT (-2)   /* the stream's timeout passed (Python: TimeoutError) */
#define CL_STREAM_CANCELLED (-3) /* the task was cancelled while it waited (Python: CancelledError) */

/* ---- connecting (Python: asyncio.open_connection) ------------------------------------------ */

/* Connects to host:port within timeout seconds (awaits); returns the stream, yours to free, or NULL (reported unless cancelled). */
cl_stream *cl_stream_open_connection(const char *host, int port, double timeout);

/* ---- reading (Python: StreamReader.read, readline, readexactly, at_eof) -------------------- */

/* Reads up to n bytes into buf (awaits until some arrive); returns how many, 0 at end of stream, or a CL_STREAM_ status. */
long cl_stream_read(cl_stream *s, void *buf, size_t n);

/* Reads one line through its '\n' (or up to end of stream) into buf as a C string; returns its length, 0 at end of stream, or a CL_STREAM_ status (a line that does not fit in size-1 bytes is an error). */
long cl_stream_readline(cl_stream *s, char *buf, size_t size);

/* Reads exactly n bytes into buf; returns n, or a CL_STREAM_ status (end of stream first: "incomplete read", an error). */
long cl_stream_readexactly(cl_stream *s, void *buf, size_t n);

/* Returns 1 if the peer closed its side and every byte it sent was read, else 0 (StreamReader.at_eof). */
int cl_stream_at_eof(cl_stream *s);

/* ---- writing (Python: StreamWriter.write, drain, write_eof, get_write_buffer_size) ---------- */

/* Queues n bytes from buf to send (does not wait; the bytes are copied if they cannot go at once); returns 0, or CL_STREAM_ERROR. */
int cl_stream_write(cl_stream *s, const void *buf, size_t n);

/* Awaits until the bytes queued to send fall below the high-water mark (64 KiB); returns 0 or a CL_STREAM_ status (a lost connection is an error). */
int cl_stream_drain(cl_stream *s);

/* Returns how many written bytes wait to be sent (get_write_buffer_size). */
size_t cl_stream_write_buffer_size(cl_stream *s);

/* Closes the sending side after the queued bytes (write_eof); returns 0 or CL_STREAM_ERROR. */
int cl_stream_write_eof(cl_stream *s);

/* ---- closing and details (Python: close, wait_closed, is_closing, get_extra_info) ----------- */

/* Starts closing s: queued bytes are sent first, then the connection closes; s stays valid until cl_stream_free (writer.close). */
void cl_stream_close(cl_stream *s);

/* Awaits until s is closed (closing it if needed); returns 0 or a CL_STREAM_ status (writer.wait_closed). */
int cl_stream_wait_closed(cl_stream *s);

/* Returns 1 if s is closed or closing, else 0 (writer.is_closing). */
int cl_stream_is_closing(cl_stream *s);

/* Closes s if needed and releases it; its memory goes once the loop is done with the socket (NULL is ignored). */
void cl_stream_free(cl_stream *s);

/* Sets the timeout in seconds of every later wait on s (CL_FOREVER: none); returns 0, or -1 on misuse. */
int cl_stream_set_timeout(cl_stream *s, double seconds);

/* Writes the peer's address as "ip:port" into buf (get_extra_info("peername")); returns 0, or -1 if unknown. */
int cl_stream_peer_address(cl_stream *s, char *buf, size_t size);

/* ---- serving (Python: asyncio.start_server, Server.serve_forever, close, wait_closed) ------- */

/* Listens on host:port (port 0 picks a free one) and runs handler(stream, arg) in a task of its own for each connection; returns the server or NULL (reported). */
cl_stream_server *cl_stream_start_server(const char *host, int port, void (*handler)(cl_stream *s, void *arg), void *arg);

/* Returns the port server srv listens on (Server.sockets[0].getsockname()[1]), or -1. */
int cl_stream_server_port(cl_stream_server *srv);

/* Awaits until srv is closed by cl_stream_server_close; returns 0, or CL_STREAM_CANCELLED (Server.serve_forever). */
int cl_stream_server_serve_forever(cl_stream_server *srv);

/* Stops accepting connections; connections already open are served to their end (Server.close). */
void cl_stream_server_close(cl_stream_server *srv);

/* Cancels the handler tasks of the connections still open (Server.close_clients, Python 3.13). */
void cl_stream_server_close_clients(cl_stream_server *srv);

/* Awaits until srv is closed and every handler task has returned; returns 0 or a CL_STREAM_ status (Server.wait_closed). */
int cl_stream_server_wait_closed(cl_stream_server *srv);

/* Returns how many connections srv has accepted so far. */
long cl_stream_server_connections(cl_stream_server *srv);

/* Closes srv if needed and releases it; handler tasks still running keep what they use (NULL is ignored). */
void cl_stream_server_free(cl_stream_server *srv);

#ifdef __cplusplus
}
#endif

#endif
