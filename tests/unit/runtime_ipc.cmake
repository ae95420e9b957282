# Inter-process communication (issue 5): cl_queue (Python's multiprocessing.Queue) and cl_pipe /
# cl_connection (multiprocessing.Pipe), across threads and forked processes. Each suite runs as
# gcc code and, in plain builds, once more compiled by tcc at run time, the way notebook cells
# call the runtime (a forked child then runs JIT code too).
find_program(CONCLAB_TCC tcc)
foreach(suite queue pipe)
  conclab_c_test(test_runtime_${suite}
    SOURCES ${PROJECT_SOURCE_DIR}/tests/unit/test_runtime_${suite}.c
    LIBS conclab_runtime Threads::Threads m
    TIMEOUT 180)
  # tcc code cannot load a sanitizer-instrumented library, so the tcc runs are for plain builds.
  if(CONCLAB_TCC AND NOT CONCLAB_SANITIZE)
    add_test(NAME test_runtime_${suite}_tcc
      COMMAND ${CONCLAB_TCC}
        -I${PROJECT_SOURCE_DIR}/runtime/include -I${PROJECT_SOURCE_DIR}/tests/unit
        -L$<TARGET_FILE_DIR:conclab_runtime> -lconclab -lpthread -lm
        -run ${PROJECT_SOURCE_DIR}/tests/unit/test_runtime_${suite}.c)
    set_tests_properties(test_runtime_${suite}_tcc PROPERTIES TIMEOUT 180)
  endif()
endforeach()
