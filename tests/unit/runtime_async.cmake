# Async primitives, the async queue and generators (issue 6: conclab/async_sync.h,
# async_queue.h, generator.h), on the event loop of conclab/loop.h; gcc and tcc runs.
foreach(suite async_sync async_queue generator)
  conclab_runtime_suite(test_runtime_${suite} TIMEOUT 120)
endforeach()
