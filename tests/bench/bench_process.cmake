# The process benchmark (issue 5): cl_process start+join against fork+waitpid, the process
# pool's per-task overhead against Python's multiprocessing.Pool.map, and the benchmark post's
# workload on a pool of 16 against a sequential loop, side by side in one run. Run by hand for
# the figures (tests/bench/README.md); ctest only checks that it runs (--quick, no --check).
add_executable(bench_process ${CMAKE_CURRENT_LIST_DIR}/bench_process.c ${CMAKE_CURRENT_LIST_DIR}/bench_stats.c)
target_compile_options(bench_process PRIVATE ${CONCLAB_WARNINGS} -O2)
target_compile_definitions(bench_process PRIVATE CONCLAB_BENCH_DIR="${CMAKE_CURRENT_LIST_DIR}")
target_link_libraries(bench_process PRIVATE conclab_runtime Threads::Threads m)

add_test(NAME bench_process_smoke
  COMMAND bench_process --quick --python ${CONCLAB_PYTHON}
          --json ${CMAKE_CURRENT_BINARY_DIR}/bench_process_smoke.json)
set_tests_properties(bench_process_smoke PROPERTIES TIMEOUT 300)
