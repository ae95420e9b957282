# The kernel core's pure logic (history) and the language side's completion and inspection.
conclab_c_test(test_history
  SOURCES ${PROJECT_SOURCE_DIR}/tests/unit/test_history.c ${PROJECT_SOURCE_DIR}/kernel/jupyter/history.c
  LIBS PkgConfig::JANSSON INCLUDES ${PROJECT_SOURCE_DIR}/kernel/jupyter)
conclab_c_test(test_complete
  SOURCES ${PROJECT_SOURCE_DIR}/tests/unit/test_complete.c
  LIBS conclab_engine conclab_runtime INCLUDES ${PROJECT_SOURCE_DIR}/kernel/engine)
