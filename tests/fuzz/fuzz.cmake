# Fuzz targets. Each one is a libFuzzer entry point (LLVMFuzzerTestOneInput) built two ways:
#
#   fuzz_<name>_driver  always: the entry point with fuzz_main.c, run by ctest as fuzz_<name>_smoke
#                       over the seeds and a fixed sequence of mutations of them (well under a
#                       second), so gcc builds and sanitizer builds exercise every target too.
#   fuzz_<name>         with -DCONCLAB_FUZZ=ON and clang: a real libFuzzer binary, with the
#                       libraries it tests rebuilt with coverage instrumentation; ctest runs it
#                       for 20 s as fuzz_<name>_libfuzzer.
#
#   conclab_fuzz_target(<name> <source> LIBS <libs>... [SEEDS <dir>] [ITERATIONS <n>])
#
# Seeds default to tests/fuzz/seeds/<name>/. Other fragments that run before this one (the glob
# includes fragments in name order) include it first:  include(${CMAKE_CURRENT_LIST_DIR}/fuzz.cmake)
include_guard(GLOBAL)

set(CONCLAB_FUZZ_DIR ${CMAKE_CURRENT_LIST_DIR})
set(CONCLAB_LIBFUZZER_FLAGS -fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer)

if(CONCLAB_FUZZ AND CMAKE_C_COMPILER_ID STREQUAL "Clang")
  set(CONCLAB_LIBFUZZER ON)
else()
  set(CONCLAB_LIBFUZZER OFF)
  if(CONCLAB_FUZZ)
    message(WARNING "CONCLAB_FUZZ needs clang (configure with CC=clang); building only the fuzz smoke drivers")
  endif()
endif()

# A copy of one of our static libraries compiled for libFuzzer: coverage feedback has to come
# from the code under test, not just from the harness. Anything else (imported targets, plain
# library names) is passed through unchanged.
function(_conclab_fuzz_instrumented lib out_var)
  set(${out_var} ${lib} PARENT_SCOPE)
  if(NOT TARGET ${lib})
    return()
  endif()
  get_target_property(type ${lib} TYPE)
  get_target_property(imported ${lib} IMPORTED)
  if(imported OR NOT type STREQUAL "STATIC_LIBRARY")
    return()
  endif()
  set(twin ${lib}_libfuzzer)
  if(NOT TARGET ${twin})
    get_target_property(sources ${lib} SOURCES)
    get_target_property(source_dir ${lib} SOURCE_DIR)
    list(TRANSFORM sources PREPEND "${source_dir}/" REGEX "^[^/$]")
    add_library(${twin} STATIC EXCLUDE_FROM_ALL ${sources})
    foreach(prop INCLUDE_DIRECTORIES COMPILE_DEFINITIONS COMPILE_OPTIONS LINK_LIBRARIES
                 INTERFACE_INCLUDE_DIRECTORIES INTERFACE_COMPILE_DEFINITIONS INTERFACE_LINK_LIBRARIES)
      get_target_property(value ${lib} ${prop})
      if(value)
        set_property(TARGET ${twin} PROPERTY ${prop} "${value}")
      endif()
    endforeach()
    target_compile_options(${twin} PRIVATE ${CONCLAB_LIBFUZZER_FLAGS})
  endif()
  set(${out_var} ${twin} PARENT_SCOPE)
endfunction()

function(conclab_fuzz_target name source)
  cmake_parse_arguments(F "" "SEEDS;ITERATIONS" "LIBS" ${ARGN})
  if(NOT F_SEEDS)
    set(F_SEEDS ${CONCLAB_FUZZ_DIR}/seeds/${name})
  endif()
  if(NOT F_ITERATIONS)
    set(F_ITERATIONS 20000)
  endif()

  set(driver fuzz_${name}_driver)
  add_executable(${driver} ${source} ${CONCLAB_FUZZ_DIR}/fuzz_main.c)
  target_compile_options(${driver} PRIVATE ${CONCLAB_WARNINGS})
  target_link_libraries(${driver} PRIVATE ${F_LIBS})
  add_test(NAME fuzz_${name}_smoke COMMAND ${driver} -n ${F_ITERATIONS} ${F_SEEDS})
  set_tests_properties(fuzz_${name}_smoke PROPERTIES TIMEOUT 60)

  if(CONCLAB_LIBFUZZER)
    set(libs "")
    foreach(lib ${F_LIBS})
      _conclab_fuzz_instrumented(${lib} instrumented)
      list(APPEND libs ${instrumented})
    endforeach()
    add_executable(fuzz_${name} ${source})
    target_compile_options(fuzz_${name} PRIVATE ${CONCLAB_WARNINGS} -fsanitize=fuzzer,address,undefined
                           -fno-omit-frame-pointer)
    target_link_options(fuzz_${name} PRIVATE -fsanitize=fuzzer,address,undefined)
    target_link_libraries(fuzz_${name} PRIVATE ${libs})
    # New inputs go to the build tree; the seeds in the source tree are only read.
    set(corpus ${CMAKE_BINARY_DIR}/fuzz-corpus/${name})
    file(MAKE_DIRECTORY ${corpus})
    add_test(NAME fuzz_${name}_libfuzzer
      COMMAND fuzz_${name} -max_total_time=20 -timeout=10 -rss_limit_mb=2048 -print_final_stats=1
              ${corpus} ${F_SEEDS})
    set_tests_properties(fuzz_${name}_libfuzzer PROPERTIES TIMEOUT 120)
  endif()
endfunction()

# The wire parser: everything a client (or a stranger) can send to the kernel's ports.
conclab_fuzz_target(wire ${CONCLAB_FUZZ_DIR}/fuzz_wire.c LIBS conclab_server)
