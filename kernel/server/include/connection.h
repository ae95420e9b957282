/* connection.h — the connection file Jupyter hands a kernel: where to bind and how to sign. */
#ifndef CONCLAB_CONNECTION_H
#define CONCLAB_CONNECTION_H

typedef struct connection_info {
    char transport[16];        /* "tcp" or "ipc" */
    char ip[64];
    char key[512];             /* HMAC key; empty means messages are not signed */
    char signature_scheme[32]; /* only "hmac-sha256" is accepted */
    int shell_port, iopub_port, stdin_port, control_port, hb_port;
} connection_info;

/* Reads and validates a connection file. Returns 0, or -1 with *err set to a malloc'd message. */
int connection_load(const char *path, connection_info *out, char **err);

/* Formats the ZeroMQ endpoint of one port, e.g. "tcp://127.0.0.1:5555" (ipc: "ipc://IP-PORT"). */
void connection_endpoint(const connection_info *ci, int port, char *buf, int size);

#endif
