# Tracing (issue 13 items 3 and 7): what cl_trace_save writes for threads, names, semaphores, the
# emulated GIL, forked processes, pools, event-loop tasks, a flood; gcc and tcc runs. Then the same
# files loaded as JSON, the way Perfetto and chrome://tracing read them.
conclab_runtime_suite(test_runtime_trace TIMEOUT 120)

add_test(NAME trace_chrome_json
  COMMAND ${CONCLAB_PYTHON} ${CMAKE_CURRENT_LIST_DIR}/check_trace_json.py $<TARGET_FILE:test_runtime_trace>)
set_tests_properties(trace_chrome_json PROPERTIES TIMEOUT 120 ENVIRONMENT "PYTHONDONTWRITEBYTECODE=1")

# The Chrome trace writer on a model made by hand (CPU counters included, which only the picture
# side fills): the writer is internal to libconclab, so it is compiled in.
conclab_c_test(test_trace_chrome
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_trace_chrome.c
          ${PROJECT_SOURCE_DIR}/runtime/src/trace/chrome.c
          ${PROJECT_SOURCE_DIR}/runtime/src/trace/tl_model.c
  INCLUDES ${PROJECT_SOURCE_DIR}/runtime/src/trace ${PROJECT_SOURCE_DIR}/runtime/src/charts
           ${PROJECT_SOURCE_DIR}/runtime/src/core ${PROJECT_SOURCE_DIR}/runtime/include)
