/* pidfd.h — a descriptor that becomes readable when a process ends (Linux 5.3+), so a poll
 * can wait for a death beside other events. glibc 2.36 has no wrapper. */
#ifndef CONCLAB_PIDFD_H
#define CONCLAB_PIDFD_H

#include <sys/types.h>

/* The descriptor, or -1 (no such process, or a kernel without pidfds). */
int pidfd_open_compat(pid_t pid);

#endif
