/* stdin_bridge.h — a cell's standard input comes from the notebook. stdin is replaced by a
 * stream whose reads ask the engine client for a line (Jupyter's input_request), and cells are
 * linked against stdin_bridge_read in place of read(2) so `read(0, ...)` asks too. When the
 * request did not allow stdin, reads see end-of-file at once. */
#ifndef CONCLAB_STDIN_BRIDGE_H
#define CONCLAB_STDIN_BRIDGE_H

#include <sys/types.h>

void stdin_bridge_install(int channel_fd);
void stdin_bridge_allow(int allowed);
ssize_t stdin_bridge_read(int fd, void *buf, size_t count);

#endif
