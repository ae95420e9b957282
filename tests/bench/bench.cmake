# The speed benchmark is run by hand (see tests/bench/README.md); ctest only checks that it runs:
# both kernels start, answer kernel_info and run the trivial cell. No --check here: timed
# assertions fail on a busy machine for reasons that have nothing to do with the code.
add_test(NAME bench_kernel_smoke
  COMMAND ${CONCLAB_PYTHON} ${CMAKE_CURRENT_LIST_DIR}/bench_kernel.py --quick
          --conclab $<TARGET_FILE:conclab>
          --json ${CMAKE_CURRENT_BINARY_DIR}/bench_kernel_smoke.json
  WORKING_DIRECTORY ${CMAKE_CURRENT_LIST_DIR})
set_tests_properties(bench_kernel_smoke PROPERTIES
  TIMEOUT 180
  ENVIRONMENT "PYTHONDONTWRITEBYTECODE=1")
