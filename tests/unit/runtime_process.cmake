# Processes and shared memory (issue 5: Process, Value, Array, shared Lock, Semaphore, Event);
# gcc and tcc runs (a child forked from a cell runs JIT-compiled code).
foreach(suite process shared)
  conclab_runtime_suite(test_runtime_${suite} TIMEOUT 120)
endforeach()
