# Tracing (issue 13 items 3 and 7): what cl_trace_save writes for threads, names, semaphores, the
# emulated GIL, forked processes, pools, event-loop tasks, a flood; gcc and tcc runs. Then the same
# files loaded as JSON, the way Perfetto and chrome://tracing read them.
conclab_runtime_suite(test_runtime_trace TIMEOUT 120)

add_test(NAME trace_chrome_json
  COMMAND ${CONCLAB_PYTHON} ${CMAKE_CURRENT_LIST_DIR}/check_trace_json.py $<TARGET_FILE:test_runtime_trace>)
set_tests_properties(trace_chrome_json PROPERTIES TIMEOUT 120 ENVIRONMENT "PYTHONDONTWRITEBYTECODE=1")
