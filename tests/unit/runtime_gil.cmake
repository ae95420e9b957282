# The emulated GIL (issue 4 item 5): exclusion, forced switching, sleeps letting it go, switching
# it on and off under running threads, fork. Runs as gcc code and, compiled by tcc at run time,
# as notebook cells do: the GIL must preempt tcc code too. Timing targets live in the benchmark
# (tests/bench/bench_runtime.c); these bounds are generous.
conclab_c_test(test_runtime_gil
  SOURCES ${PROJECT_SOURCE_DIR}/tests/unit/test_runtime_gil.c
  LIBS conclab_runtime Threads::Threads
  TIMEOUT 90)

# tcc code cannot load a sanitizer-instrumented library, so the tcc run is for plain builds.
find_program(CONCLAB_TCC tcc)
if(CONCLAB_TCC AND NOT CONCLAB_SANITIZE)
  add_test(NAME test_runtime_gil_tcc
    COMMAND ${CONCLAB_TCC}
      -I${PROJECT_SOURCE_DIR}/runtime/include -I${PROJECT_SOURCE_DIR}/tests/unit
      -L$<TARGET_FILE_DIR:conclab_runtime> -lconclab -lpthread
      -run ${PROJECT_SOURCE_DIR}/tests/unit/test_runtime_gil.c)
  set_tests_properties(test_runtime_gil_tcc PROPERTIES TIMEOUT 90)
endif()
