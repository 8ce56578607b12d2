# trellis_add_plugin(<name> SOURCES <src>... [OUTPUT_DIRECTORY <dir>] [NO_INSTALL])
#
# Builds a Trellis plugin: a shared module named <name>.so that links only
# the SDK headers (never host symbols), with hidden visibility so plugins
# cannot clash with each other or with the host. Used in-tree and by the
# installed TrellisConfig.cmake alike.
function(trellis_add_plugin name)
  cmake_parse_arguments(PARSE_ARGV 1 arg "NO_INSTALL" "OUTPUT_DIRECTORY" "SOURCES")
  if(NOT arg_SOURCES)
    message(FATAL_ERROR "trellis_add_plugin(${name}): SOURCES is required")
  endif()
  add_library(${name} MODULE ${arg_SOURCES})
  target_link_libraries(${name} PRIVATE trellis::sdk)
  set_target_properties(${name} PROPERTIES
    PREFIX ""
    SUFFIX ".so"
    CXX_VISIBILITY_PRESET hidden
    C_VISIBILITY_PRESET hidden
    VISIBILITY_INLINES_HIDDEN ON)
  # Undefined symbols would mean the plugin expects something from the host:
  # fail at link time instead of at load time.
  target_link_options(${name} PRIVATE "LINKER:-z,defs")
  if(arg_OUTPUT_DIRECTORY)
    set_target_properties(${name} PROPERTIES LIBRARY_OUTPUT_DIRECTORY "${arg_OUTPUT_DIRECTORY}")
  elseif(DEFINED TRELLIS_PLUGIN_OUTPUT_DIRECTORY)
    set_target_properties(${name} PROPERTIES LIBRARY_OUTPUT_DIRECTORY "${TRELLIS_PLUGIN_OUTPUT_DIRECTORY}")
  endif()
  if(COMMAND trellis_set_warnings)
    trellis_set_warnings(${name})
  endif()
  if(NOT arg_NO_INSTALL AND DEFINED TRELLIS_INSTALL_PLUGINDIR)
    install(TARGETS ${name} LIBRARY DESTINATION "${TRELLIS_INSTALL_PLUGINDIR}")
  endif()
endfunction()
