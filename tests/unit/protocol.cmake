# The kernel<->executor messages (kernel/protocol/messages.h): round trips of every op and event
# over a socketpair, and the refusal of every malformed one.
conclab_c_test(test_protocol SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_protocol.c LIBS conclab_protocol)
# Displays from cells (kernel/protocol/display_socket.h): round trips inline and through a memfd,
# answers, and the refusal of datagrams that are not requests.
conclab_c_test(test_display_socket SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_display_socket.c LIBS conclab_protocol Threads::Threads)
