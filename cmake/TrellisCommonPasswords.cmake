# trellis_common_passwords(<target>): compiles into <target> the 10,000 most
# common passwords, which the auth store refuses (docs/security.md). The list
# is zxcvbn's, from Debian's python3-zxcvbn (scripts/install-deps installs it);
# TrellisCommonPasswordsRun.cmake turns it into a sorted C++ array at build
# time, so no copy of the list lives in this repository.
set(TRELLIS_COMMON_PASSWORD_COUNT 10000)
find_file(TRELLIS_ZXCVBN_FREQUENCY_LISTS frequency_lists.py
          PATHS /usr/lib/python3/dist-packages/zxcvbn NO_DEFAULT_PATH
          DOC "zxcvbn's frequency_lists.py (Debian package python3-zxcvbn)")
if(NOT TRELLIS_ZXCVBN_FREQUENCY_LISTS)
  message(FATAL_ERROR "frequency_lists.py of python3-zxcvbn was not found in "
                      "/usr/lib/python3/dist-packages/zxcvbn: run scripts/install-deps, or set "
                      "TRELLIS_ZXCVBN_FREQUENCY_LISTS to the file")
endif()

function(trellis_common_passwords target)
  set(out "${CMAKE_CURRENT_BINARY_DIR}/common_passwords.cpp")
  set(script "${PROJECT_SOURCE_DIR}/cmake/TrellisCommonPasswordsRun.cmake")
  add_custom_command(
    OUTPUT "${out}"
    COMMAND ${CMAKE_COMMAND} "-DINPUT=${TRELLIS_ZXCVBN_FREQUENCY_LISTS}" "-DOUT=${out}"
            -DCOUNT=${TRELLIS_COMMON_PASSWORD_COUNT} -P "${script}"
    DEPENDS "${TRELLIS_ZXCVBN_FREQUENCY_LISTS}" "${script}"
    COMMENT "Extracting the ${TRELLIS_COMMON_PASSWORD_COUNT} most common passwords"
    VERBATIM)
  target_sources(${target} PRIVATE "${out}")
endfunction()
