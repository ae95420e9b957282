# libconclab tests. test_runtime runs the suite as gcc code; test_runtime_tcc compiles the same
# file with tcc at run time and links it against libconclab, the way notebook cells use it.
conclab_c_test(test_runtime
  SOURCES ${PROJECT_SOURCE_DIR}/tests/unit/test_runtime.c
  LIBS conclab_runtime Threads::Threads)

# tcc code cannot load a sanitizer-instrumented library, so the tcc run is for plain builds.
find_program(CONCLAB_TCC tcc)
if(CONCLAB_TCC AND NOT CONCLAB_SANITIZE)
  add_test(NAME test_runtime_tcc
    COMMAND ${CONCLAB_TCC}
      -I${PROJECT_SOURCE_DIR}/runtime/include -I${PROJECT_SOURCE_DIR}/tests/unit
      -L$<TARGET_FILE_DIR:conclab_runtime> -lconclab -lpthread
      -run ${PROJECT_SOURCE_DIR}/tests/unit/test_runtime.c)
  set_tests_properties(test_runtime_tcc PROPERTIES TIMEOUT 60)
endif()
