/* monotonic.h — the time that only goes forward (CLOCK_MONOTONIC), for deadlines and durations. */
#ifndef CONCLAB_MONOTONIC_H
#define CONCLAB_MONOTONIC_H

double monotonic_seconds(void);
double monotonic_ms(void);

#endif
