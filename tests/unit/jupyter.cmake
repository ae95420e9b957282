# The kernel core's pure logic (history) and the language side's completion and inspection.
conclab_c_test(test_history
  SOURCES ${PROJECT_SOURCE_DIR}/tests/unit/test_history.c ${PROJECT_SOURCE_DIR}/kernel/jupyter/history.c
  LIBS PkgConfig::JANSSON INCLUDES ${PROJECT_SOURCE_DIR}/kernel/jupyter)
conclab_c_test(test_complete
  SOURCES ${PROJECT_SOURCE_DIR}/tests/unit/test_complete.c
  LIBS conclab_engine conclab_runtime INCLUDES ${PROJECT_SOURCE_DIR}/kernel/engine)
# The engine's view of the processes below it: which pids a message may name, and the sweeps.
conclab_c_test(test_process_tree
  SOURCES ${PROJECT_SOURCE_DIR}/tests/unit/test_process_tree.c
  LIBS conclab_engine INCLUDES ${PROJECT_SOURCE_DIR}/kernel/engine TIMEOUT 60)
# The manual page reader (roff, synopsis, pages on disk, include notes) and `name?` lines.
conclab_c_test(test_man_pages
  SOURCES ${PROJECT_SOURCE_DIR}/tests/unit/test_man_pages.c
  LIBS conclab_engine ZLIB::ZLIB INCLUDES ${PROJECT_SOURCE_DIR}/kernel/engine TIMEOUT 120)
conclab_c_test(test_help_lines
  SOURCES ${PROJECT_SOURCE_DIR}/tests/unit/test_help_lines.c
  LIBS conclab_engine INCLUDES ${PROJECT_SOURCE_DIR}/kernel/engine)
