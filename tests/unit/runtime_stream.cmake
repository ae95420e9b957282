# Streams and HTTP on the event loop (issue 6 item 5): TCP streams (conclab/stream.h) and the
# small HTTP client and server (conclab/http.h), all on 127.0.0.1; gcc and tcc runs.
foreach(suite stream http)
  conclab_runtime_suite(test_runtime_${suite} TIMEOUT 120)
endforeach()
