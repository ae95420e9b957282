# The TCP echo benchmark (issue 6 item 10): conclab's streams against a plain libuv echo server and
# Python asyncio's (bench_echo.py), under one load generator, side by side in one run; and 10 000
# connections held at once. Run by hand for the figures (`bench_echo --json echo.json`); ctest only
# checks that it runs, with --quick and no --check.
find_package(PkgConfig REQUIRED)
pkg_check_modules(BENCH_LIBUV REQUIRED IMPORTED_TARGET libuv)
add_executable(bench_echo ${CMAKE_CURRENT_LIST_DIR}/bench_echo.c)
target_compile_options(bench_echo PRIVATE ${CONCLAB_WARNINGS} -O2)
target_compile_definitions(bench_echo PRIVATE BENCH_ECHO_PY="${CMAKE_CURRENT_LIST_DIR}/bench_echo.py")
target_link_libraries(bench_echo PRIVATE conclab_runtime PkgConfig::BENCH_LIBUV Threads::Threads)

# Plain builds only: sanitizers make every figure meaningless and the held connections slow.
if(NOT CONCLAB_SANITIZE)
  add_test(NAME bench_echo_smoke
    COMMAND bench_echo --quick -q --json ${CMAKE_CURRENT_BINARY_DIR}/bench_echo_smoke.json)
  set_tests_properties(bench_echo_smoke PROPERTIES TIMEOUT 120)
endif()
