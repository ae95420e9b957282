#define _GNU_SOURCE
#include "pidfd.h"

#include <sys/syscall.h>
#include <unistd.h>

int pidfd_open_compat(pid_t pid) { return (int)syscall(SYS_pidfd_open, pid, 0); }
