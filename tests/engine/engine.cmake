# Engine tests: the cell splitter, the JIT's state rules in-process, and the engine client with a
# real executor process (the test binary doubles as the executor, as `conclab executor` does).
conclab_c_test(test_cell SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_cell.c LIBS conclab_lang)
conclab_c_test(test_strmap SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_strmap.c LIBS conclab_common)
conclab_c_test(test_jit SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_jit.c LIBS conclab_compiler conclab_cellhost conclab_runtime m
               TIMEOUT 120)
target_link_options(test_jit PRIVATE -Wl,--no-as-needed)
conclab_c_test(test_engine SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_engine.c LIBS conclab_engine conclab_executor conclab_runtime m
               TIMEOUT 180)
target_link_options(test_engine PRIVATE -Wl,--no-as-needed)
