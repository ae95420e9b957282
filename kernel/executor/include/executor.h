/* executor.h — the process that holds a notebook's state: JIT code, globals and heap. It reads
 * requests from the engine client on `fd` and runs each cell in a fork of itself when that is
 * safe, so a crash, an interrupt or a time limit drops the child and keeps the pre-cell state. */
#ifndef CONCLAB_EXECUTOR_H
#define CONCLAB_EXECUTOR_H

/* `conclab executor FD` (internal). Returns the process exit code. */
int executor_main(int fd);

/* `conclab executor-keeper FD` (internal): in a sandbox, starts `conclab executor FD` and stays
 * until the sandbox is torn down (sandbox_keeper.c). */
int executor_keeper_main(int fd);

#endif
