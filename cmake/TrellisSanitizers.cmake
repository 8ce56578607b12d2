# Sanitizers apply to the whole build (host, plugins, tests), so a plugin and
# the host share one runtime.
if(TRELLIS_ENABLE_ASAN AND TRELLIS_ENABLE_TSAN)
  message(FATAL_ERROR "TRELLIS_ENABLE_ASAN and TRELLIS_ENABLE_TSAN cannot be combined")
endif()
if(TRELLIS_ENABLE_ASAN)
  add_compile_options(-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined)
  add_link_options(-fsanitize=address,undefined)
endif()
if(TRELLIS_ENABLE_TSAN)
  add_compile_options(-fsanitize=thread -fno-omit-frame-pointer)
  add_link_options(-fsanitize=thread)
endif()
# The fuzz build (`make fuzz`): everything gets libFuzzer's coverage
# instrumentation and ASan+UBSan; only the fuzz targets link libFuzzer's main.
# A UBSan report aborts, so libFuzzer counts it as a finding.
if(TRELLIS_FUZZ)
  if(NOT CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
    message(FATAL_ERROR "TRELLIS_FUZZ needs clang (-DCMAKE_CXX_COMPILER=clang++ -DCMAKE_C_COMPILER=clang)")
  endif()
  if(TRELLIS_ENABLE_ASAN OR TRELLIS_ENABLE_TSAN)
    message(FATAL_ERROR "TRELLIS_FUZZ brings its own sanitizers; leave TRELLIS_ENABLE_ASAN/TSAN off")
  endif()
  add_compile_options(-fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer
                      -fno-sanitize-recover=undefined)
  add_link_options(-fsanitize=address,undefined)
endif()
