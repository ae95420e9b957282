/* descriptors.h — the kernel's own descriptors kept out of a cell's way. A cell runs in a fork
 * of the executor and so holds every descriptor the executor has; the low numbers are the ones a
 * student's code closes, dup2()s over or writes to by mistake ("close every fd from 3 up",
 * write(3, ...) after closing a file). The kernel's are moved up, close-on-exec, where nothing
 * lands by accident. */
#ifndef CONCLAB_DESCRIPTORS_H
#define CONCLAB_DESCRIPTORS_H

/* Moves fd to a high free number (DESCRIPTORS_HIGH or the top of RLIMIT_NOFILE, whichever is
 * lower, and up from there), close-on-exec; the old number is closed. Returns the new number,
 * or fd itself when it cannot be moved. */
#define DESCRIPTORS_HIGH 900
int descriptor_move_high(int fd);

/* Where descriptor_move_high starts looking: the lowest high number. */
int descriptor_high_floor(void);

/* How many descriptors this process has open, counted without opening one (a process at its
 * limit has none to spare), and the limit (RLIMIT_NOFILE). -1 when the limit is too large to
 * look through (over 65536: a leak stops long before it matters). */
int descriptors_open(int *limit);

/* Descriptors the kernel's processes need for a cell (pipes, a fork's sockets): a cell that
 * leaves fewer than this free cannot hand the notebook on. */
#define DESCRIPTORS_RESERVE 32

#endif
