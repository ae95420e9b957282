# What a cell costs as the notebook grows (issue 10 item 8): the trivial cell at 0/1000/5000
# definitions, executor memory per cell, a 5000-line cell against `tcc -c`, and a cell after a
# 4 GB state. Run by hand for the figures (tests/bench/README.md); ctest runs --quick, without
# the large state, to check that it works: timed assertions fail on a busy machine for reasons
# that have nothing to do with the code.
add_executable(bench_cells ${CMAKE_CURRENT_LIST_DIR}/bench_cells.c ${CMAKE_CURRENT_LIST_DIR}/bench_stats.c)
target_compile_options(bench_cells PRIVATE ${CONCLAB_WARNINGS} -O2)
target_compile_definitions(bench_cells PRIVATE CONCLAB_TCC_BINARY="/usr/bin/tcc")
target_link_libraries(bench_cells PRIVATE conclab_engine conclab_executor conclab_common conclab_runtime m)
target_link_options(bench_cells PRIVATE -Wl,--no-as-needed)

add_test(NAME bench_cells_smoke
  COMMAND bench_cells --quick --skip-large-state --json ${CMAKE_CURRENT_BINARY_DIR}/bench_cells_smoke.json)
set_tests_properties(bench_cells_smoke PROPERTIES TIMEOUT 300)
