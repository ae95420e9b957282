# conclab.h's promise, checked against the built library: every exported function is documented
# the way the kernel's completion reads it, and nothing internal is exported.
add_test(NAME header_rules
  COMMAND ${CONCLAB_PYTHON} ${CMAKE_CURRENT_LIST_DIR}/check_header_rules.py
          $<TARGET_FILE:conclab_runtime> ${PROJECT_SOURCE_DIR}/runtime/include)
set_tests_properties(header_rules PROPERTIES TIMEOUT 60 ENVIRONMENT "PYTHONDONTWRITEBYTECODE=1")
# The architecture's boundaries on every #include (README: Layout): the runtime knows nothing of
# the kernel, the transport no C, the engine and executor no ZeroMQ, jupyter/ the engine only
# through engine.h. --self-test proves each rule catches an include that breaks it.
add_test(NAME boundaries
  COMMAND ${CONCLAB_PYTHON} ${CMAKE_CURRENT_LIST_DIR}/check_boundaries.py ${PROJECT_SOURCE_DIR} --self-test)
set_tests_properties(boundaries PROPERTIES TIMEOUT 60 ENVIRONMENT "PYTHONDONTWRITEBYTECODE=1")
