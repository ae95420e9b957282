# libconclab: atomics and thread-locals, futures, the thread pool. Each suite runs twice: built
# by gcc, and compiled by tcc at run time against libconclab, the way notebook cells call it.
set(CONCLAB_POOL_SUITES test_runtime_atomic test_runtime_future test_runtime_pool)

foreach(suite ${CONCLAB_POOL_SUITES})
  conclab_c_test(${suite}
    SOURCES ${PROJECT_SOURCE_DIR}/tests/unit/${suite}.c
    LIBS conclab_runtime Threads::Threads)
endforeach()

# tcc code cannot load a sanitizer-instrumented library, so the tcc runs are for plain builds.
find_program(CONCLAB_TCC tcc)
if(CONCLAB_TCC AND NOT CONCLAB_SANITIZE)
  foreach(suite ${CONCLAB_POOL_SUITES})
    add_test(NAME ${suite}_tcc
      COMMAND ${CONCLAB_TCC}
        -I${PROJECT_SOURCE_DIR}/runtime/include -I${PROJECT_SOURCE_DIR}/tests/unit
        -L$<TARGET_FILE_DIR:conclab_runtime> -lconclab -lpthread
        -run ${PROJECT_SOURCE_DIR}/tests/unit/${suite}.c)
    set_tests_properties(${suite}_tcc PROPERTIES TIMEOUT 60)
  endforeach()
endif()
