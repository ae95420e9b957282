include(${CMAKE_CURRENT_LIST_DIR}/fuzz.cmake)
# The kernel<->executor messages: the bytes a cell scribbling on the channel can make either side read.
conclab_fuzz_target(protocol ${CMAKE_CURRENT_LIST_DIR}/fuzz_protocol.c LIBS conclab_protocol)
