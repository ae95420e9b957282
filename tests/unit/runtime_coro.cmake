# The coroutine core under the event loop (issue 6): context switch, coroutines and their stacks,
# stack-overflow reports. Its API is internal (hidden in libconclab), so the test compiles the
# runtime's own files in. Names start with test_runtime_ so CI's TSan stage runs them.
set(CONCLAB_CORO_SOURCES
  ${PROJECT_SOURCE_DIR}/runtime/src/aio/context.c
  ${PROJECT_SOURCE_DIR}/runtime/src/aio/coro.c
  ${PROJECT_SOURCE_DIR}/runtime/src/aio/coro_guard.c
  ${PROJECT_SOURCE_DIR}/runtime/src/core/report.c)

function(conclab_coro_test name)
  conclab_c_test(${name}
    SOURCES ${PROJECT_SOURCE_DIR}/tests/unit/test_runtime_coro.c ${CONCLAB_CORO_SOURCES}
    LIBS Threads::Threads m ${ARGN}
    TIMEOUT 120)
  target_include_directories(${name} PRIVATE
    ${PROJECT_SOURCE_DIR}/runtime/src/aio ${PROJECT_SOURCE_DIR}/runtime/src/core ${PROJECT_SOURCE_DIR}/runtime/include)
  # gcc -O2 as the runtime itself is built, whatever the build type
  target_compile_options(${name} PRIVATE -O2)
endfunction()

conclab_coro_test(test_runtime_coro)

# The ucontext fallback that other architectures get, on this one.
conclab_coro_test(test_runtime_coro_ucontext)
target_compile_definitions(test_runtime_coro_ucontext PRIVATE CL_CONTEXT_FORCE_UCONTEXT)

# Code compiled by tcc (what a notebook cell is) on coroutine stacks: suspended inside tcc
# frames, and overflowing. tcc's code is not instrumented, so plain builds only.
if(NOT CONCLAB_SANITIZE)
  conclab_coro_test(test_runtime_coro_tcc ${TCC_LIBRARY} ${CMAKE_DL_LIBS})
  target_include_directories(test_runtime_coro_tcc PRIVATE ${TCC_INCLUDE_DIR})
  target_compile_definitions(test_runtime_coro_tcc PRIVATE CONCLAB_TEST_TCC)
endif()
