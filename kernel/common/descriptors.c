/* descriptors.c — moving the kernel's descriptors out of a cell's way (descriptors.h). */
#define _GNU_SOURCE
#include "descriptors.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/resource.h>
#include <unistd.h>

int descriptor_high_floor(void) {
    int floor = DESCRIPTORS_HIGH;
    struct rlimit r;
    if (getrlimit(RLIMIT_NOFILE, &r) == 0 && r.rlim_cur != RLIM_INFINITY && r.rlim_cur < (rlim_t)floor + 64)
        floor = r.rlim_cur > 128 ? (int)r.rlim_cur - 64 : 64;  /* still above what a cell opens first */
    return floor;
}

int descriptors_open(int *limit) {
    struct rlimit r;
    if (getrlimit(RLIMIT_NOFILE, &r) != 0 || r.rlim_cur == RLIM_INFINITY || r.rlim_cur > 65536) return -1;
    *limit = (int)r.rlim_cur;
    int open = 0;
    struct pollfd chunk[1024];
    for (int base = 0; base < *limit; base += 1024) {
        int n = *limit - base < 1024 ? *limit - base : 1024;
        for (int i = 0; i < n; i++) chunk[i] = (struct pollfd){base + i, 0, 0};
        if (poll(chunk, (nfds_t)n, 0) < 0) return -1;
        for (int i = 0; i < n; i++) open += !(chunk[i].revents & POLLNVAL);
    }
    return open;
}

int descriptor_move_high(int fd) {
    if (fd < 0) return fd;
    int floor = descriptor_high_floor();
    if (fd >= floor) {
        fcntl(fd, F_SETFD, FD_CLOEXEC);
        return fd;
    }
    int moved = fcntl(fd, F_DUPFD_CLOEXEC, floor);
    if (moved < 0) return fd;
    close(fd);
    return moved;
}
