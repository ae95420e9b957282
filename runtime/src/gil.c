/* gil.c — the emulated GIL. (Placeholder until the GIL lands: everything is a no-op, which is
 * exactly the GIL-off behaviour.) */
#include "observe.h"

void cl__blocking_begin(void) {}
void cl__blocking_end(void) {}
void cl__gil_thread_begin(void) {}
void cl__gil_thread_end(void) {}
