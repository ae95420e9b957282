#include "monotonic.h"

#include <time.h>

double monotonic_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

double monotonic_ms(void) { return monotonic_seconds() * 1e3; }
