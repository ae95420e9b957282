# Issue 3 proved through jupyter_client: crashes, interrupts, limits, bounds checking, restart and
# threads left running keep the kernel alive and (where promised) the notebook's state.
conclab_pytest(protocol_faults tests/protocol/test_faults.py TIMEOUT 600)
