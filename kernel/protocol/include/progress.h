/* progress.h — where the running cell is, on a page of memory the engine client and every
 * executor share: the client creates it (a memfd) and hands it to a new executor as descriptor
 * PROGRESS_PAGE_FD; the cell's generated code stores its line there before each statement
 * (codemap.h). The client reads it to say where a cell was when it stopped it. */
#ifndef CONCLAB_PROGRESS_H
#define CONCLAB_PROGRESS_H

#define PROGRESS_PAGE_FD 4

typedef struct progress_page {
    volatile int cell;  /* the running cell's number */
    volatile int line;  /* the top-level line it is at (1-based) */
} progress_page;

#endif
