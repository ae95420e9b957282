# The transport: wire format, connection files, and the live ZeroMQ server.
conclab_c_test(test_wire SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_wire.c LIBS conclab_server)
conclab_c_test(test_connection SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_connection.c LIBS conclab_server)
conclab_c_test(test_server SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_server.c
  LIBS conclab_server PkgConfig::ZMQ Threads::Threads TIMEOUT 60)
conclab_c_test(test_digest_history SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_digest_history.c
  LIBS conclab_server INCLUDES ${PROJECT_SOURCE_DIR}/kernel/server)
