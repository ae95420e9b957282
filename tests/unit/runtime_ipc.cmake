# Inter-process communication (issue 5): cl_queue (Python's multiprocessing.Queue) and cl_pipe /
# cl_connection (multiprocessing.Pipe), across threads and forked processes; gcc and tcc runs
# (a child forked from tcc code runs JIT code too).
foreach(suite queue pipe)
  conclab_runtime_suite(test_runtime_${suite} TIMEOUT 180)
endforeach()
