# libconclab's process pool (issue 5): run twice, built by gcc and compiled by tcc at run time
# against libconclab, the way notebook cells call it (a worker is a fork running cell code).
conclab_c_test(test_runtime_process_pool
  SOURCES ${PROJECT_SOURCE_DIR}/tests/unit/test_runtime_process_pool.c
  LIBS conclab_runtime Threads::Threads
  TIMEOUT 300)

# tcc code cannot load a sanitizer-instrumented library, so the tcc run is for plain builds.
find_program(CONCLAB_TCC tcc)
if(CONCLAB_TCC AND NOT CONCLAB_SANITIZE)
  add_test(NAME test_runtime_process_pool_tcc
    COMMAND ${CONCLAB_TCC}
      -I${PROJECT_SOURCE_DIR}/runtime/include -I${PROJECT_SOURCE_DIR}/tests/unit
      -L$<TARGET_FILE_DIR:conclab_runtime> -lconclab -lpthread
      -run ${PROJECT_SOURCE_DIR}/tests/unit/test_runtime_process_pool.c)
  set_tests_properties(test_runtime_process_pool_tcc PROPERTIES TIMEOUT 300)
endif()
