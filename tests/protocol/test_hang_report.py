"""A hung cell says what its threads were doing (issue 17, item 5).

A real two-lock deadlock, stopped by an interrupt after a second and by its time limit: the error
names both threads, both locks and the wait-for cycle, and the main thread's join. A cell whose
thread computes (no wait) says so instead of inventing a deadlock.
"""
import time

DEFINE = r'''
#include <conclab.h>
cl_lock *left, *right;
void *left_then_right(void *arg) { cl_lock_acquire(left); cl_sleep(0.1); cl_lock_acquire(right); return NULL; }
void *right_then_left(void *arg) { cl_lock_acquire(right); cl_sleep(0.1); cl_lock_acquire(left); return NULL; }
left = cl_lock_new(); right = cl_lock_new();
cl_lock_set_name(left, "left"); cl_lock_set_name(right, "right");
'''

DEADLOCK = r'''
cl_thread *one = cl_thread_start_named("diner-1", left_then_right, NULL);
cl_thread *two = cl_thread_start_named("diner-2", right_then_left, NULL);
cl_thread_join(one);
cl_thread_join(two);
'''


def traceback_text(content):
    return "\n".join(content.get("traceback", []))


def check_deadlock_report(content):
    text = traceback_text(content)
    assert "Deadlock: diner-" in content["evalue"], content["evalue"]
    assert "waits for lock `right` held by diner-2" in text, text
    assert "waits for lock `left` held by diner-1" in text, text
    assert "waits for thread 'diner-1' to end" in text, text  # the cell's main thread
    assert "in left_then_right() of cell[" in text and "in right_then_left() of cell[" in text, text


def test_interrupted_deadlock_names_threads_locks_and_cycle(fresh_kernel):
    k = fresh_kernel
    k.run_ok(DEFINE)
    msg_id = k.execute(DEADLOCK)
    time.sleep(1.0)
    k.km.interrupt_kernel()
    reply = k.wait_for_reply(msg_id, timeout=15)["content"]
    assert reply["ename"] == "Interrupted", reply
    check_deadlock_report(reply)
    # the notebook goes on: the locks are as they were before the cell
    k.run_ok('cl_check(!cl_lock_locked(left) && !cl_lock_locked(right), "locks free again");')


def test_timed_out_deadlock_is_reported_too(fresh_kernel):
    k = fresh_kernel
    k.run_ok(DEFINE)
    content, _ = k.run("%%timeout 1\n" + DEADLOCK, timeout=20)
    assert content["ename"] == "TimeoutError", content
    check_deadlock_report(content)


def test_a_computing_thread_is_not_called_deadlocked(fresh_kernel):
    k = fresh_kernel
    content, _ = k.run(r'''%%timeout 1
#include <conclab.h>
void *spin(void *arg) { for (volatile long i = 0;; i++) {} return NULL; }
cl_thread *worker = cl_thread_start_named("spinner", spin, NULL);
cl_thread_join(worker);
''', timeout=20)
    text = traceback_text(content)
    assert content["ename"] == "TimeoutError", content
    assert "Deadlock" not in text, text
    assert "spinner: running, not waiting for anything the runtime knows" in text, text
    assert "waits for thread 'spinner' to end" in text, text


def test_processes_deadlocked_on_shared_locks_are_named_with_their_process(fresh_kernel):
    k = fresh_kernel
    k.run_ok(r'''
#include <conclab.h>
cl_shared_lock *x, *y;
int x_then_y(void *arg) { cl_shared_lock_acquire(x); cl_sleep(0.2); cl_shared_lock_acquire(y); return 0; }
int y_then_x(void *arg) { cl_shared_lock_acquire(y); cl_sleep(0.2); cl_shared_lock_acquire(x); return 0; }
x = cl_shared_lock_new(); y = cl_shared_lock_new();
cl_shared_lock_set_name(x, "x"); cl_shared_lock_set_name(y, "y");
''')
    content, _ = k.run(r'''%%timeout 1.5
cl_process *left = cl_process_start_named("left", x_then_y, NULL);
cl_process *right = cl_process_start_named("right", y_then_x, NULL);
cl_process_join(left);
cl_process_join(right);
''', timeout=20)
    text = traceback_text(content)
    assert content["ename"] == "TimeoutError", content
    assert "Deadlock: main of process '" in content["evalue"], content["evalue"]
    assert "main of process 'left' (pid " in text and "main of process 'right' (pid " in text, text
    assert "waits for shared lock `y` held by main of process 'right'" in text, text
    assert "waits for shared lock `x` held by main of process 'left'" in text, text
    assert "main: waits for process 'left' to end (a join)" in text, text
