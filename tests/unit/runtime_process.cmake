# Processes and shared memory (issue 5: Process, Value, Array, shared Lock, Semaphore, Event).
# Each suite runs as gcc code and, in plain builds, once more compiled by tcc at run time: cells
# are tcc code, and a child forked from a cell runs JIT-compiled code.
find_program(CONCLAB_TCC tcc)
foreach(suite process shared)
  conclab_c_test(test_runtime_${suite}
    SOURCES ${PROJECT_SOURCE_DIR}/tests/unit/test_runtime_${suite}.c
    LIBS conclab_runtime Threads::Threads
    TIMEOUT 120)
  # tcc code cannot load a sanitizer-instrumented library, so the tcc runs are for plain builds.
  if(CONCLAB_TCC AND NOT CONCLAB_SANITIZE)
    add_test(NAME test_runtime_${suite}_tcc
      COMMAND ${CONCLAB_TCC}
        -I${PROJECT_SOURCE_DIR}/runtime/include -I${PROJECT_SOURCE_DIR}/tests/unit
        -L$<TARGET_FILE_DIR:conclab_runtime> -lconclab -lpthread
        -run ${PROJECT_SOURCE_DIR}/tests/unit/test_runtime_${suite}.c)
    set_tests_properties(test_runtime_${suite}_tcc PROPERTIES TIMEOUT 120)
  endif()
endforeach()
