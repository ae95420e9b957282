/* kernel.h — the Jupyter kernel core: dispatches shell and control requests to handlers, keeps the
 * execution count and history, and drives the engine. Joins the server (transport) and the engine
 * (language) without either knowing the other. */
#ifndef CONCLAB_KERNEL_H
#define CONCLAB_KERNEL_H

/* Runs `conclab kernel -f CONNECTION_FILE` until shutdown. Returns the process exit code. */
int kernel_main(const char *connection_file);

#endif
