# kernel/grading's pure parts (issue 18): MD5, nbgrader's checksum, solution and hidden-test
# regions, refusing a bad assignment.
conclab_c_test(test_grading SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_grading.c LIBS conclab_grading conclab_common)
