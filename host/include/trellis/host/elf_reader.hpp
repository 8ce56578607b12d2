// Reads a named section out of a shared library file without loading it.
//
// Written by hand over glibc's <elf.h> because Boost.DLL's library_info lists
// section names but cannot return their contents, and reading the manifest
// must not run any plugin code (no dlopen). Every offset is bounds-checked,
// which is also how a truncated file is told apart from a broken one.
#pragma once

#include <filesystem>
#include <optional>
#include <string>

namespace trellis::host {

enum class elf_error {
  none,
  unreadable,        ///< cannot open or read the file
  not_elf,           ///< no ELF magic: not a shared library at all
  wrong_class,       ///< 32-bit or big-endian, or another machine
  not_shared,        ///< an executable or object file, not a shared library
  truncated,         ///< a header or table points past the end of the file
  no_section,        ///< the section does not exist
};

struct elf_section_result {
  std::optional<std::string> contents;  ///< set when found
  elf_error error = elf_error::none;
  std::string message;  ///< what was wrong, for a person
};

/// Returns the bytes of section `name` of the ELF shared library at `file`.
/// Fails with the reason when the file is not a readable 64-bit ELF shared
/// library for this machine, is truncated, or lacks the section.
elf_section_result read_elf_section(const std::filesystem::path& file, const std::string& name);

}  // namespace trellis::host
