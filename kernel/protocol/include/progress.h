/* progress.h — where the running cell is, on memory the engine client and every executor
 * share: the client creates it (a memfd) and hands it to a new executor as descriptor
 * PROGRESS_PAGE_FD; the cell's generated code stores its line there before each statement
 * (codemap.h), and the runtime notes there what each thread waits for (the board of waits,
 * conclab_host.h). The client reads both to say where a cell was, and what its threads were
 * doing, when it stopped it. */
#ifndef CONCLAB_PROGRESS_H
#define CONCLAB_PROGRESS_H

#define PROGRESS_PAGE_FD 4

typedef struct progress_page {
    volatile int cell;  /* the running cell's number */
    volatile int line;  /* the top-level line it is at (1-based) */
    /* the runtime's board of waits (cl_host_share_waits): about 100 threads */
    __attribute__((aligned(64))) unsigned char waits[32768];
} progress_page;

#endif
