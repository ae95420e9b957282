# Streams and HTTP on the event loop (issue 6 item 5): TCP streams (conclab/stream.h) and the
# small HTTP client and server (conclab/http.h), all on 127.0.0.1. Each suite runs twice: built by
# gcc, and compiled by tcc at run time against libconclab, the way notebook cells call it. Names
# start with test_runtime_ so CI's TSan stage runs them.
set(CONCLAB_STREAM_SUITES test_runtime_stream test_runtime_http)

foreach(suite ${CONCLAB_STREAM_SUITES})
  conclab_c_test(${suite}
    SOURCES ${PROJECT_SOURCE_DIR}/tests/unit/${suite}.c
    LIBS conclab_runtime Threads::Threads
    TIMEOUT 120)
endforeach()

# tcc code cannot load a sanitizer-instrumented library, so the tcc runs are for plain builds.
find_program(CONCLAB_TCC tcc)
if(CONCLAB_TCC AND NOT CONCLAB_SANITIZE)
  foreach(suite ${CONCLAB_STREAM_SUITES})
    add_test(NAME ${suite}_tcc
      COMMAND ${CONCLAB_TCC}
        -I${PROJECT_SOURCE_DIR}/runtime/include -I${PROJECT_SOURCE_DIR}/tests/unit
        -L$<TARGET_FILE_DIR:conclab_runtime> -lconclab -lpthread
        -run ${PROJECT_SOURCE_DIR}/tests/unit/${suite}.c)
    set_tests_properties(${suite}_tcc PROPERTIES TIMEOUT 120)
  endforeach()
endif()
