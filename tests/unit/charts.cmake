# The runtime's pictures (issue 13: %%timeline, %%cpu, cl_chart_bars). The charts' functions are
# hidden in libconclab, so the test compiles their sources (and the few helpers they use) itself
# and takes only public calls (cl_now, cl_display_svg) from the library.
set(CONCLAB_CHART_SOURCES
  ${PROJECT_SOURCE_DIR}/runtime/src/charts/svg.c
  ${PROJECT_SOURCE_DIR}/runtime/src/charts/axis.c
  ${PROJECT_SOURCE_DIR}/runtime/src/charts/timeline_svg.c
  ${PROJECT_SOURCE_DIR}/runtime/src/charts/cpu_chart_svg.c
  ${PROJECT_SOURCE_DIR}/runtime/src/charts/cpu_sampler.c
  ${PROJECT_SOURCE_DIR}/runtime/src/charts/cpu_record.c
  ${PROJECT_SOURCE_DIR}/runtime/src/charts/bars_svg.c
  ${PROJECT_SOURCE_DIR}/runtime/src/display/bundle.c
  ${PROJECT_SOURCE_DIR}/runtime/src/core/report.c)
conclab_c_test(test_charts
  SOURCES ${PROJECT_SOURCE_DIR}/tests/unit/test_charts.c ${CONCLAB_CHART_SOURCES}
  LIBS conclab_runtime Threads::Threads m
  INCLUDES ${PROJECT_SOURCE_DIR}/runtime/src/charts ${PROJECT_SOURCE_DIR}/runtime/src/display
           ${PROJECT_SOURCE_DIR}/runtime/src/core)

# Every picture written, parsed as XML and checked against what its model says it must show.
add_test(NAME charts_svg
  COMMAND ${CONCLAB_PYTHON} ${CMAKE_CURRENT_LIST_DIR}/check_svg.py $<TARGET_FILE:test_charts>
          ${CMAKE_BINARY_DIR}/tests/charts_svg)
set_tests_properties(charts_svg PROPERTIES TIMEOUT 60 ENVIRONMENT "PYTHONDONTWRITEBYTECODE=1")

# The public calls as cells make them: built by gcc against libconclab, and run by tcc.
conclab_runtime_suite(test_runtime_chart)
