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
