#include "trellis/host/elf_reader.hpp"

#include <elf.h>

#include <cstring>
#include <fstream>
#include <iterator>
#include <vector>

namespace trellis::host {
namespace {

elf_section_result fail(elf_error e, std::string message) {
  return {std::nullopt, e, std::move(message)};
}

#if defined(__x86_64__)
constexpr Elf64_Half host_machine = EM_X86_64;
#elif defined(__aarch64__)
constexpr Elf64_Half host_machine = EM_AARCH64;
#else
#error "unsupported machine: add its EM_ value"
#endif

}  // namespace

elf_section_result read_elf_section(const std::filesystem::path& file, const std::string& name) {
  std::ifstream in(file, std::ios::binary);
  if (!in) return fail(elf_error::unreadable, "cannot open file");
  std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) return fail(elf_error::unreadable, "cannot read file");
  const std::size_t size = bytes.size();

  if (size < SELFMAG || std::memcmp(bytes.data(), ELFMAG, SELFMAG) != 0) {
    return fail(elf_error::not_elf, "not a shared library (no ELF header)");
  }
  if (size < EI_NIDENT) {
    return fail(elf_error::truncated, "truncated file: " + std::to_string(size) + " bytes, inside the ELF header");
  }
  if (bytes[EI_CLASS] != ELFCLASS64 || bytes[EI_DATA] != ELFDATA2LSB) {
    return fail(elf_error::wrong_class, "not a 64-bit little-endian ELF library");
  }
  if (size < sizeof(Elf64_Ehdr)) {
    return fail(elf_error::truncated, "truncated file: " + std::to_string(size) +
                                          " bytes, shorter than the ELF header");
  }
  Elf64_Ehdr eh;
  std::memcpy(&eh, bytes.data(), sizeof eh);
  if (eh.e_type != ET_DYN) {
    return fail(elf_error::not_shared, "not a shared library (ELF type " +
                                           std::to_string(eh.e_type) + ")");
  }
  if (eh.e_machine != host_machine) {
    return fail(elf_error::wrong_class,
                "built for another machine (ELF machine " + std::to_string(eh.e_machine) + ")");
  }
  // A position-independent executable is ET_DYN too; DF_1_PIE tells it apart.
  if (eh.e_phoff != 0 && eh.e_phentsize == sizeof(Elf64_Phdr) &&
      eh.e_phoff + static_cast<std::uint64_t>(eh.e_phnum) * sizeof(Elf64_Phdr) <= size) {
    for (std::size_t i = 0; i < eh.e_phnum; ++i) {
      Elf64_Phdr ph;
      std::memcpy(&ph, bytes.data() + eh.e_phoff + i * sizeof(Elf64_Phdr), sizeof ph);
      if (ph.p_type != PT_DYNAMIC || ph.p_offset > size || ph.p_filesz > size - ph.p_offset) continue;
      for (std::uint64_t off = ph.p_offset; off + sizeof(Elf64_Dyn) <= ph.p_offset + ph.p_filesz;
           off += sizeof(Elf64_Dyn)) {
        Elf64_Dyn dyn;
        std::memcpy(&dyn, bytes.data() + off, sizeof dyn);
        if (dyn.d_tag == DT_NULL) break;
        if (dyn.d_tag == DT_FLAGS_1 && (dyn.d_un.d_val & DF_1_PIE) != 0) {
          return fail(elf_error::not_shared, "an executable (PIE), not a shared library");
        }
      }
    }
  }
  if (eh.e_shentsize != sizeof(Elf64_Shdr) || eh.e_shnum == 0) {
    return fail(elf_error::truncated, "no section header table");
  }
  const std::uint64_t table_end =
      eh.e_shoff + static_cast<std::uint64_t>(eh.e_shnum) * sizeof(Elf64_Shdr);
  if (eh.e_shoff > size || table_end > size) {
    return fail(elf_error::truncated,
                "truncated file: section headers end at byte " + std::to_string(table_end) +
                    " but the file has " + std::to_string(size));
  }
  auto section = [&](std::size_t i) {
    Elf64_Shdr sh;
    std::memcpy(&sh, bytes.data() + eh.e_shoff + i * sizeof(Elf64_Shdr), sizeof sh);
    return sh;
  };
  if (eh.e_shstrndx >= eh.e_shnum) return fail(elf_error::truncated, "bad section name table index");
  const Elf64_Shdr names = section(eh.e_shstrndx);
  if (names.sh_offset > size || names.sh_size > size - names.sh_offset) {
    return fail(elf_error::truncated, "truncated file: section name table past end of file");
  }
  for (std::size_t i = 0; i < eh.e_shnum; ++i) {
    const Elf64_Shdr sh = section(i);
    if (sh.sh_name >= names.sh_size) continue;
    const char* sname = bytes.data() + names.sh_offset + sh.sh_name;
    const std::size_t max_len = names.sh_size - sh.sh_name;
    if (strnlen(sname, max_len) != name.size() || std::memcmp(sname, name.data(), name.size()) != 0) {
      continue;
    }
    if (sh.sh_type == SHT_NOBITS || sh.sh_offset > size || sh.sh_size > size - sh.sh_offset) {
      return fail(elf_error::truncated, "truncated file: section '" + name + "' past end of file");
    }
    return {std::string(bytes.data() + sh.sh_offset, sh.sh_size), elf_error::none, {}};
  }
  return fail(elf_error::no_section, "no section '" + name + "'");
}

}  // namespace trellis::host
