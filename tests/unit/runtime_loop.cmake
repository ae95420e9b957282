# The event loop (conclab/loop.h, issue 6): tasks, awaits, cancellation, deadlock and other
# reports; gcc and tcc runs.
conclab_runtime_suite(test_runtime_loop TIMEOUT 120)
