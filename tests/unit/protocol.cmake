# The kernel<->executor messages (kernel/protocol/messages.h): round trips of every op and event
# over a socketpair, and the refusal of every malformed one.
conclab_c_test(test_protocol SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_protocol.c LIBS conclab_protocol)
