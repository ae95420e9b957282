/* display_socket.h — how displays (conclab/display.h) and clears travel from a cell to the kernel.
 *
 * The cell's process, the threads it starts and the processes it forks may all show something at
 * the same moment, so displays cannot take the channel (messages.h), which has one writer. They
 * go as datagrams on a SOCK_SEQPACKET socketpair: one request per datagram, so requests from many
 * writers never interleave. Its end is DISPLAY_SOCKET_FD when the executor starts; the executor
 * moves it high (descriptors.h) and every cell inherits it.
 *
 * A request is a small header, the display id and the bundle (a JSON object of representations);
 * a bundle too big for a datagram travels in a memfd instead. Every request carries its own answer
 * socket (SCM_RIGHTS): the kernel forwards whatever the cell printed before it, sends the display
 * on, and only then answers ("" or a reason for refusing). The writer waits for that answer, so a
 * display keeps its place among the output of the thread that made it. */
#ifndef CONCLAB_DISPLAY_SOCKET_H
#define CONCLAB_DISPLAY_SOCKET_H

#include <stddef.h>

#define DISPLAY_SOCKET_FD 5

/* Bigger bundles than this go in a memfd; the largest accepted is DISPLAY_MAX_BUNDLE. */
#define DISPLAY_INLINE_MAX (32u << 10)
#define DISPLAY_MAX_BUNDLE (64u << 20)
#define DISPLAY_MAX_ID 64

typedef enum display_kind {
    DISPLAY_SHOW = 1,   /* a new display (the id names it for later updates) */
    DISPLAY_UPDATE,     /* replaces what display `id` shows */
    DISPLAY_CLEAR,      /* cl_clear_output(0): clear the cell's output now */
    DISPLAY_CLEAR_WAIT  /* cl_clear_output(1): clear it when new output arrives */
} display_kind;

typedef struct display_request {
    display_kind kind;
    char id[DISPLAY_MAX_ID + 1];
    char *bundle;        /* malloc'd, NUL-terminated; NULL for clears */
    size_t size;
    int answer_fd;       /* where the answer goes; -1 once answered */
    const char *malformed;  /* set (and kind 0) when the datagram was not a request */
} display_request;

/* The cell's side: sends a request and waits up to timeout_s (<= 0: as long as the kernel lives)
 * for the kernel's answer. 0 when the kernel took it; -1 with a reason in why (the kernel's
 * refusal, or what went wrong) if not. */
int display_request_send(int sock, display_kind kind, const char *id, const char *bundle, size_t size,
                         double timeout_s, char *why, size_t why_size);

/* The kernel's side: the next request, without waiting. 1 when *req was filled (check
 * req->malformed), 0 when none is waiting, -1 when the socket is closed or failed. */
int display_request_receive(int sock, display_request *req);

/* Answers a request (refusal NULL: taken) and closes its answer socket. */
void display_request_answer(display_request *req, const char *refusal);

/* Frees what a received request holds, answering it as refused if it was not answered. */
void display_request_clear(display_request *req);

#endif
