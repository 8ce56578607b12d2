# trellis_embed_files(<out.cpp> <namespace> <file>...): generates a C++ source
# with each file's bytes and a lookup function
#   std::optional<std::pair<std::string_view, std::string_view>> <ns>::find(name)
# returning (bytes, mime type). Used for the host's CSS and JS, so the binary
# needs no files beside it.
function(trellis_embed_files out namespace)
  set(files ${ARGN})
  add_custom_command(
    OUTPUT "${out}"
    COMMAND ${CMAKE_COMMAND} -DOUT=${out} -DNAMESPACE=${namespace} "-DFILES=${files}"
            -P "${PROJECT_SOURCE_DIR}/cmake/TrellisEmbedRun.cmake"
    DEPENDS ${files} "${PROJECT_SOURCE_DIR}/cmake/TrellisEmbedRun.cmake"
    COMMENT "Embedding ${namespace} assets"
    VERBATIM)
endfunction()
