# libconclab's first suite: threads, locks and the rest of issue 4's basics, as gcc code and as
# tcc code (conclab_runtime_suite in tests/CMakeLists.txt).
conclab_runtime_suite(test_runtime)
