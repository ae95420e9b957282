# Async primitives, the async queue and generators (issue 6: conclab/async_sync.h,
# async_queue.h, generator.h), on the event loop of conclab/loop.h. Each suite runs as gcc code
# and, in plain builds, once more compiled by tcc at run time, the way notebook cells call the
# runtime. Names start with test_runtime_ so CI's TSan stage runs them.
set(CONCLAB_ASYNC_SUITES test_runtime_async_sync test_runtime_async_queue test_runtime_generator)

foreach(suite ${CONCLAB_ASYNC_SUITES})
  conclab_c_test(${suite}
    SOURCES ${PROJECT_SOURCE_DIR}/tests/unit/${suite}.c
    LIBS conclab_runtime Threads::Threads
    TIMEOUT 120)
endforeach()

# tcc code cannot load a sanitizer-instrumented library, so the tcc runs are for plain builds.
find_program(CONCLAB_TCC tcc)
if(CONCLAB_TCC AND NOT CONCLAB_SANITIZE)
  foreach(suite ${CONCLAB_ASYNC_SUITES})
    add_test(NAME ${suite}_tcc
      COMMAND ${CONCLAB_TCC}
        -I${PROJECT_SOURCE_DIR}/runtime/include -I${PROJECT_SOURCE_DIR}/tests/unit
        -L$<TARGET_FILE_DIR:conclab_runtime> -lconclab -lpthread
        -run ${PROJECT_SOURCE_DIR}/tests/unit/${suite}.c)
    set_tests_properties(${suite}_tcc PROPERTIES TIMEOUT 120)
  endforeach()
endif()
