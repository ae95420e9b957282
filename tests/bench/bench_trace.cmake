# What tracing costs (issue 13 item 3): per event while recording, the uncontended lock with
# tracing compiled in and off against a raw pthread mutex, a task switch off and on; the CPU
# model in the header. Run by hand for the figures (tests/bench/README.md); ctest only checks that
# it runs, with --quick and no --check.
add_executable(bench_trace ${CMAKE_CURRENT_LIST_DIR}/bench_trace.c ${CMAKE_CURRENT_LIST_DIR}/bench_stats.c)
target_compile_options(bench_trace PRIVATE ${CONCLAB_WARNINGS} -O2)
target_link_libraries(bench_trace PRIVATE conclab_runtime Threads::Threads m)

add_test(NAME bench_trace_smoke
  COMMAND bench_trace --quick --json ${CMAKE_CURRENT_BINARY_DIR}/bench_trace_smoke.json)
set_tests_properties(bench_trace_smoke PROPERTIES TIMEOUT 120)
