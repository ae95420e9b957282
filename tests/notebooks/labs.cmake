# The lab notebooks (notebooks/ and their solved copies in notebooks/solutions/): each one clean
# (no outputs, conclab's kernelspec) and run both ways a student runs it, through Jupyter
# (nbclient) and through `conclab run`, with no error, no failed check and within a lab's time.
# labs_harness first proves the harness catches what it must, on fixtures.
add_test(NAME labs_harness
  COMMAND ${CONCLAB_PYTHON} ${CMAKE_CURRENT_LIST_DIR}/run_labs.py --conclab $<TARGET_FILE:conclab> --self-test
  WORKING_DIRECTORY ${PROJECT_SOURCE_DIR})
set_tests_properties(labs_harness PROPERTIES TIMEOUT 300 ENVIRONMENT "PYTHONDONTWRITEBYTECODE=1")

file(GLOB CONCLAB_LAB_NOTEBOOKS CONFIGURE_DEPENDS
  ${PROJECT_SOURCE_DIR}/notebooks/*.ipynb ${PROJECT_SOURCE_DIR}/notebooks/solutions/*.ipynb)
foreach(lab ${CONCLAB_LAB_NOTEBOOKS})
  file(RELATIVE_PATH name ${PROJECT_SOURCE_DIR}/notebooks ${lab})
  string(REGEX REPLACE "[/.]" "_" name "lab_${name}")
  add_test(NAME ${name}
    COMMAND ${CONCLAB_PYTHON} ${CMAKE_CURRENT_LIST_DIR}/run_labs.py --conclab $<TARGET_FILE:conclab> ${lab}
    WORKING_DIRECTORY ${PROJECT_SOURCE_DIR})
  # a lab measures how many cores its threads keep busy: it needs the machine to itself
  set_tests_properties(${name} PROPERTIES TIMEOUT 300 RUN_SERIAL TRUE ENVIRONMENT "PYTHONDONTWRITEBYTECODE=1")
endforeach()
