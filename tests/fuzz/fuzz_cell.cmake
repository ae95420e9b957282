include(${CMAKE_CURRENT_LIST_DIR}/fuzz.cmake)
conclab_fuzz_target(cell ${CMAKE_CURRENT_LIST_DIR}/fuzz_cell.c LIBS conclab_lang)
