# The runtime benchmark (issue 4 item 8): libconclab against raw pthreads, and the emulated GIL's
# experiments, side by side in one run. Run by hand for the figures (tests/bench/README.md);
# ctest only checks that it runs, with --quick and no --check: timed assertions fail on a busy
# machine for reasons that have nothing to do with the code.
add_executable(bench_runtime ${CMAKE_CURRENT_LIST_DIR}/bench_runtime.c ${CMAKE_CURRENT_LIST_DIR}/bench_stats.c)
target_compile_options(bench_runtime PRIVATE ${CONCLAB_WARNINGS} -O2)
target_link_libraries(bench_runtime PRIVATE conclab_runtime Threads::Threads m)

add_test(NAME bench_runtime_smoke
  COMMAND bench_runtime --quick --json ${CMAKE_CURRENT_BINARY_DIR}/bench_runtime_smoke.json)
set_tests_properties(bench_runtime_smoke PROPERTIES TIMEOUT 300)
