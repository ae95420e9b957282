# The event loop's benchmark (issue 6 item 10: task create -> complete, target median <= 1 us)
# against Python's asyncio doing the same operations, side by side in one run. Run by hand for
# the figures (tests/bench/README.md); ctest only checks that it runs, with --quick, no --check.
add_executable(bench_loop ${CMAKE_CURRENT_LIST_DIR}/bench_loop.c)
target_compile_options(bench_loop PRIVATE ${CONCLAB_WARNINGS} -O2)
target_link_libraries(bench_loop PRIVATE conclab_runtime Threads::Threads)

if(NOT CONCLAB_SANITIZE)
  add_test(NAME bench_loop_smoke
    COMMAND bench_loop --quick --json ${CMAKE_CURRENT_BINARY_DIR}/bench_loop_smoke.json)
  set_tests_properties(bench_loop_smoke PROPERTIES TIMEOUT 120)
endif()
