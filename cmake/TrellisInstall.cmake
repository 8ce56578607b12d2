# Installs the package config so third-party plugins build with
#   find_package(Trellis 0.1 REQUIRED)
#   trellis_add_plugin(my_plugin SOURCES my_plugin.cpp)
include(CMakePackageConfigHelpers)
set(TRELLIS_CMAKE_DIR "${CMAKE_INSTALL_LIBDIR}/cmake/Trellis")

install(EXPORT TrellisTargets NAMESPACE trellis:: DESTINATION "${TRELLIS_CMAKE_DIR}")
# The ABI version, read from the header so it is written in one place.
file(STRINGS "${PROJECT_SOURCE_DIR}/sdk/include/trellis/abi.h" abi_lines
     REGEX "^#define TRELLIS_ABI_(MAJOR|MINOR) [0-9]+$")
foreach(line IN LISTS abi_lines)
  if(line MATCHES "^#define (TRELLIS_ABI_(MAJOR|MINOR)) ([0-9]+)$")
    set(${CMAKE_MATCH_1} ${CMAKE_MATCH_3})
  endif()
endforeach()
configure_package_config_file(
  "${PROJECT_SOURCE_DIR}/cmake/TrellisConfig.cmake.in"
  "${PROJECT_BINARY_DIR}/TrellisConfig.cmake"
  INSTALL_DESTINATION "${TRELLIS_CMAKE_DIR}"
  PATH_VARS TRELLIS_INSTALL_PLUGINDIR)
write_basic_package_version_file(
  "${PROJECT_BINARY_DIR}/TrellisConfigVersion.cmake"
  VERSION ${PROJECT_VERSION}
  COMPATIBILITY SameMajorVersion
  ARCH_INDEPENDENT)
install(FILES
  "${PROJECT_BINARY_DIR}/TrellisConfig.cmake"
  "${PROJECT_BINARY_DIR}/TrellisConfigVersion.cmake"
  "${PROJECT_SOURCE_DIR}/cmake/TrellisPlugin.cmake"
  DESTINATION "${TRELLIS_CMAKE_DIR}")

configure_file("${PROJECT_SOURCE_DIR}/cmake/trellis-sdk.pc.in"
               "${PROJECT_BINARY_DIR}/trellis-sdk.pc" @ONLY)
install(FILES "${PROJECT_BINARY_DIR}/trellis-sdk.pc"
        DESTINATION "${CMAKE_INSTALL_DATADIR}/pkgconfig")
