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
    enum { CHUNK = 1024 };
    struct pollfd chunk[CHUNK];
    for (unsigned base = 0; base < (unsigned)*limit; base += CHUNK) {
        unsigned left = (unsigned)*limit - base;
        nfds_t n = left < CHUNK ? left : CHUNK;
        for (nfds_t i = 0; i < n; i++) chunk[i] = (struct pollfd){(int)(base + i), 0, 0};
        if (poll(chunk, n, 0) < 0) return -1;
        for (nfds_t i = 0; i < n; i++) open += !(chunk[i].revents & POLLNVAL);
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
