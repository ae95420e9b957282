# The event loop (conclab/loop.h, issue 6): tasks, awaits, cancellation, deadlock and other
# reports. Built by gcc, and compiled by tcc at run time against libconclab, the way notebook
# cells call it. Names start with test_runtime_ so CI's TSan stage runs them.
conclab_c_test(test_runtime_loop
  SOURCES ${PROJECT_SOURCE_DIR}/tests/unit/test_runtime_loop.c
  LIBS conclab_runtime Threads::Threads
  TIMEOUT 120)

# tcc code cannot load a sanitizer-instrumented library, so the tcc run is for plain builds.
find_program(CONCLAB_TCC tcc)
if(CONCLAB_TCC AND NOT CONCLAB_SANITIZE)
  add_test(NAME test_runtime_loop_tcc
    COMMAND ${CONCLAB_TCC}
      -I${PROJECT_SOURCE_DIR}/runtime/include -I${PROJECT_SOURCE_DIR}/tests/unit
      -L$<TARGET_FILE_DIR:conclab_runtime> -lconclab -lpthread
      -run ${PROJECT_SOURCE_DIR}/tests/unit/test_runtime_loop.c)
  set_tests_properties(test_runtime_loop_tcc PROPERTIES TIMEOUT 120)
endif()
