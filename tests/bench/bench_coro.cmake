# The coroutine core's benchmark (issue 6 item 10: context switch, task create -> complete)
# against swapcontext, side by side in one run. Its API is internal to libconclab, so the
# runtime's own files are compiled in. Run by hand for the figures (tests/bench/README.md); ctest
# only checks that it runs, with --quick and no --check.
add_executable(bench_coro ${CMAKE_CURRENT_LIST_DIR}/bench_coro.c ${CMAKE_CURRENT_LIST_DIR}/bench_stats.c
  ${PROJECT_SOURCE_DIR}/runtime/src/aio/context.c
  ${PROJECT_SOURCE_DIR}/runtime/src/aio/coro.c
  ${PROJECT_SOURCE_DIR}/runtime/src/aio/coro_guard.c
  ${PROJECT_SOURCE_DIR}/runtime/src/core/report.c)
target_include_directories(bench_coro PRIVATE ${PROJECT_SOURCE_DIR}/runtime/src/aio ${PROJECT_SOURCE_DIR}/runtime/src/core ${PROJECT_SOURCE_DIR}/runtime/include)
target_compile_options(bench_coro PRIVATE ${CONCLAB_WARNINGS} -O2)
target_link_libraries(bench_coro PRIVATE Threads::Threads m)

# Plain builds only: the swapcontext anchor switches stacks behind the sanitizers' backs (our own
# switch is annotated and covered under them by test_runtime_coro).
if(NOT CONCLAB_SANITIZE)
  add_test(NAME bench_coro_smoke
    COMMAND bench_coro --quick --json ${CMAKE_CURRENT_BINARY_DIR}/bench_coro_smoke.json)
  set_tests_properties(bench_coro_smoke PROPERTIES TIMEOUT 120)
endif()
