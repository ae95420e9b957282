# Threads and synchronization primitives (issue 4: Thread, Lock, RLock, Semaphore, Event,
# Condition, Barrier, the `with` macros and their hook events); gcc and tcc runs.
foreach(suite thread sync)
  conclab_runtime_suite(test_runtime_${suite} TIMEOUT 120)
endforeach()
