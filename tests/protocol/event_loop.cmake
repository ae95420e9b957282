# Issue 6 seen from a notebook: the event loop in cells — tasks printing live, a task's stack
# overflow named with the state kept, a loop blocked by a task interrupted, servers gone after.
conclab_pytest(protocol_event_loop tests/protocol/test_event_loop.py TIMEOUT 300)
