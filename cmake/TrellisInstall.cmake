# Installs the package config so third-party plugins build with
#   find_package(Trellis 0.1 REQUIRED)
#   trellis_add_plugin(my_plugin SOURCES my_plugin.cpp)
include(CMakePackageConfigHelpers)
set(TRELLIS_CMAKE_DIR "${CMAKE_INSTALL_LIBDIR}/cmake/Trellis")

install(EXPORT TrellisTargets NAMESPACE trellis:: DESTINATION "${TRELLIS_CMAKE_DIR}")
configure_package_config_file(
  "${PROJECT_SOURCE_DIR}/cmake/TrellisConfig.cmake.in"
  "${PROJECT_BINARY_DIR}/TrellisConfig.cmake"
  INSTALL_DESTINATION "${TRELLIS_CMAKE_DIR}")
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
