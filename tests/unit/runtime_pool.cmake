# libconclab: atomics and thread-locals, futures, the thread pool; gcc and tcc runs.
foreach(suite atomic future pool)
  conclab_runtime_suite(test_runtime_${suite})
endforeach()
