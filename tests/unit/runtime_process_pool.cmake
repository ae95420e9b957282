# libconclab's process pool (issue 5); gcc and tcc runs (a worker is a fork running cell code).
conclab_runtime_suite(test_runtime_process_pool TIMEOUT 300)
