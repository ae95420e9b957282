"""test_gil_blocking.py — a cell's plain blocking libc calls under the emulated GIL behave as
CPython's do: they let the GIL go while they wait, and the GIL's signal never cuts them short.

Before, `usleep(500000)` in a runtime thread with the GIL on returned after 10-15 ms (the signal
a waiting thread sends interrupted it), so an I/O-bound example "proved" that I/O takes no time.
"""
import pytest

from kernel_session import describe_failure, stream_text

SLEEPERS = r"""
double gb_began[3], gb_ended[3];
void *gb_sleeper(void *arg) {
    long i = (long)arg;
    gb_began[i] = cl_now();
    %(call)s;
    gb_ended[i] = cl_now();
    return NULL;
}
cl_gil_enable();
double gb_start = cl_now();
cl_thread *gb_threads[3];
for (long i = 0; i < 3; i++) gb_threads[i] = cl_thread_start(gb_sleeper, (void *)i);
for (int i = 0; i < 3; i++) cl_thread_join(gb_threads[i]);
double gb_total = cl_now() - gb_start;
cl_gil_disable();
for (int i = 0; i < 3; i++) printf("slept %%.3f\n", gb_ended[i] - gb_began[i]);
printf("total %%.3f\n", gb_total);
"""

CALLS = {
    "usleep": "usleep(500000)",
    "nanosleep": "nanosleep(&(struct timespec){0, 500000000}, NULL)",
    "clock_nanosleep": "clock_nanosleep(CLOCK_MONOTONIC, 0, &(struct timespec){0, 500000000}, NULL)",
    "poll": "poll(NULL, 0, 500)",
    "select": "select(0, NULL, NULL, NULL, &(struct timeval){0, 500000})",
}


@pytest.mark.parametrize("name", sorted(CALLS))
def test_three_threads_sleeping_half_a_second_overlap_under_the_gil(k, name):
    code = "#include <poll.h>\n#include <sys/select.h>\n#include <time.h>\n#include <unistd.h>\n" + (
        SLEEPERS % {"call": CALLS[name]}).replace("gb_", "gb_%s_" % name)
    content, msgs = k.run(code, timeout=30)
    assert content["status"] == "ok", describe_failure(code, content, msgs)
    lines = stream_text(msgs).split()
    slept = [float(lines[i + 1]) for i in range(0, 6, 2)]
    total = float(lines[7])
    assert all(s >= 0.5 for s in slept), "a %s ended early: %r" % (name, slept)
    assert total < 0.9, "the three %s calls did not overlap: %.3f s in all" % (name, total)


def test_a_sleeping_thread_lets_a_computing_one_run(k):
    """The main thread computes with the GIL on while a thread usleeps: the sleep lets the GIL
    go, so the computation is not held up by it."""
    code = r"""
void *gs_nap(void *arg) { (void)arg; usleep(300000); return NULL; }
cl_gil_enable();
cl_thread *gs_t = cl_thread_start(gs_nap, NULL);
double gs_start = cl_now();
volatile long gs_sum = 0;
while (cl_now() - gs_start < 0.2) gs_sum++;
double gs_spent = cl_now() - gs_start;
cl_thread_join(gs_t);
double gs_joined = cl_now() - gs_start;
cl_gil_disable();
printf("%d %d\n", gs_spent < 0.25, gs_joined >= 0.29);
"""
    content, msgs = k.run(code, timeout=30)
    assert content["status"] == "ok", describe_failure(code, content, msgs)
    assert stream_text(msgs) == "1 1\n", stream_text(msgs)


def test_a_contended_pthread_mutex_lets_the_gil_go(k):
    """A thread blocked in pthread_mutex_lock must not keep the GIL from the one that holds the
    mutex and needs the GIL to finish and unlock it."""
    code = r"""
#include <pthread.h>
pthread_mutex_t gm_mutex = PTHREAD_MUTEX_INITIALIZER;
long gm_count = 0;
void *gm_worker(void *arg) {
    (void)arg;
    for (int i = 0; i < 20000; i++) {
        pthread_mutex_lock(&gm_mutex);
        gm_count++;
        pthread_mutex_unlock(&gm_mutex);
    }
    return NULL;
}
cl_gil_enable();
cl_thread *gm_a = cl_thread_start(gm_worker, NULL), *gm_b = cl_thread_start(gm_worker, NULL);
cl_thread_join(gm_a);
cl_thread_join(gm_b);
cl_gil_disable();
gm_count
"""
    content, msgs = k.run(code, timeout=60)
    assert content["status"] == "ok", describe_failure(code, content, msgs)
