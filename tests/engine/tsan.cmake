# %%tsan (issue 17, item 2). test_tsan_report: TSan's stderr retold (tsan_report.h) and the magic's
# parsing, as text; the whole magic through the kernel is tests/protocol/test_tsan.py.
conclab_c_test(test_tsan_report SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_tsan_report.c
  LIBS conclab_engine conclab_common INCLUDES ${PROJECT_SOURCE_DIR}/kernel/engine)
