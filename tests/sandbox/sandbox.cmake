# The sandbox for submissions (issue 18, item 3): `conclab run --sandbox` against each escape a
# submission may try (reading or writing outside, the host's loopback, signalling or listing
# processes outside, forged messages, a fork bomb, a memory hog, an output flood, a hang) and a
# normal cell that must still work. Skipped (exit 77) only where bwrap cannot run.
add_test(NAME cli_sandbox
  COMMAND ${CONCLAB_PYTHON} ${CMAKE_CURRENT_LIST_DIR}/run_sandbox_tests.py
  WORKING_DIRECTORY ${PROJECT_SOURCE_DIR})
set_tests_properties(cli_sandbox PROPERTIES
  ENVIRONMENT "CONCLAB_BIN=$<TARGET_FILE:conclab>;PYTHONDONTWRITEBYTECODE=1"
  TIMEOUT 300 SKIP_RETURN_CODE 77)
