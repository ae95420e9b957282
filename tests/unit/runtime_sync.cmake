# Threads and synchronization primitives (issue 4: Thread, Lock, RLock, Semaphore, Event,
# Condition, Barrier, the `with` macros and their hook events); gcc and tcc runs.
foreach(suite thread sync)
  conclab_runtime_suite(test_runtime_${suite} TIMEOUT 120)
endforeach()

# Finding concurrency bugs (issue 17): lock-order checking, chaos and its seeds, the board of
# waits that hung cells report from; gcc and tcc runs.
conclab_runtime_suite(test_runtime_chaos TIMEOUT 120)
