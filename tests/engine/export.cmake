# `conclab export` and %export (issue 17, item 1): the notebook as one C program.
# test_export: each export rule on small cells, as text.
conclab_c_test(test_export SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_export.c LIBS conclab_engine conclab_common)

# The build tree's runtime, as gcc builds homework against it (pkg-config names the installed one).
set(CONCLAB_EXPORT_ENV
  "CONCLAB_BIN=$<TARGET_FILE:conclab>;CONCLAB_INCLUDE=${PROJECT_SOURCE_DIR}/runtime/include;CONCLAB_LIBDIR=$<TARGET_FILE_DIR:conclab_runtime>;CONCLAB_PC=${PROJECT_BINARY_DIR}/runtime/conclab.pc;PYTHONDONTWRITEBYTECODE=1")

# export_differential: three notebooks run by `conclab run` and exported, built by gcc and run:
# the same stdout (the kernel's Out[n] and notes aside); for the lab, whose timings vary, the same
# check lines in the same order. Exit 77 (skipped) only without gcc. RUN_SERIAL: the lab's checks
# time threads.
add_test(NAME export_differential
  COMMAND ${CONCLAB_PYTHON} ${CMAKE_CURRENT_LIST_DIR}/export_check.py differential
    ${CMAKE_CURRENT_LIST_DIR}/notebooks/export_globals.ipynb
    ${CMAKE_CURRENT_LIST_DIR}/notebooks/export_threads.ipynb
    checks:${PROJECT_SOURCE_DIR}/notebooks/solutions/12.2-threading.ipynb)
set_tests_properties(export_differential PROPERTIES ENVIRONMENT "${CONCLAB_EXPORT_ENV}" TIMEOUT 600
  SKIP_RETURN_CODE 77 RUN_SERIAL TRUE)

# export_labs: every lab notebook and solution exports and builds warning-free (nothing runs).
file(GLOB CONCLAB_LAB_NOTEBOOKS ${PROJECT_SOURCE_DIR}/notebooks/*.ipynb ${PROJECT_SOURCE_DIR}/notebooks/solutions/*.ipynb)
add_test(NAME export_labs
  COMMAND ${CONCLAB_PYTHON} ${CMAKE_CURRENT_LIST_DIR}/export_check.py build ${CONCLAB_LAB_NOTEBOOKS})
set_tests_properties(export_labs PROPERTIES ENVIRONMENT "${CONCLAB_EXPORT_ENV}" TIMEOUT 600 SKIP_RETURN_CODE 77)

# export_magic: `%export session.c` after the cells writes what `conclab export` writes.
add_test(NAME export_magic
  COMMAND ${CONCLAB_PYTHON} ${CMAKE_CURRENT_LIST_DIR}/export_check.py magic
    ${CMAKE_CURRENT_LIST_DIR}/notebooks/export_globals.ipynb ${CMAKE_CURRENT_LIST_DIR}/notebooks/export_threads.ipynb)
set_tests_properties(export_magic PROPERTIES ENVIRONMENT "${CONCLAB_EXPORT_ENV}" TIMEOUT 300 SKIP_RETURN_CODE 77)
