# The emulated GIL (issue 4 item 5): exclusion, forced switching, sleeps letting it go, switching
# it on and off under running threads, fork. The tcc run matters: the GIL must preempt tcc code.
# Timing targets live in the benchmark (tests/bench/bench_runtime.c); these bounds are generous.
conclab_runtime_suite(test_runtime_gil TIMEOUT 90)
