#include "trellis/host/elf_reader.hpp"
// The header under test comes first: it must compile on its own.

#include <elf.h>
#include <gtest/gtest.h>
#include <trellis/abi.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <ostream>
#include <string>
#include <vector>

// Readable failure messages: errors print by name, not as bytes.
namespace trellis::host {
void PrintTo(elf_error e, std::ostream* os) {
  switch (e) {
    case elf_error::none:
      *os << "none";
      return;
    case elf_error::unreadable:
      *os << "unreadable";
      return;
    case elf_error::not_elf:
      *os << "not_elf";
      return;
    case elf_error::wrong_class:
      *os << "wrong_class";
      return;
    case elf_error::not_shared:
      *os << "not_shared";
      return;
    case elf_error::truncated:
      *os << "truncated";
      return;
    case elf_error::no_section:
      *os << "no_section";
      return;
  }
  *os << "elf_error(" << static_cast<int>(e) << ")";
}
}  // namespace trellis::host

namespace {

namespace fs = std::filesystem;
using trellis::host::elf_error;
using trellis::host::elf_section_result;
using trellis::host::read_elf_section;

const std::string manifest_section = TRELLIS_MANIFEST_SECTION;

#define EXPECT_CONTAINS(haystack, needle)                          \
  EXPECT_NE(std::string(haystack).find(needle), std::string::npos) \
      << "expected to find \"" << (needle) << "\" in \"" << (haystack) << "\""

std::vector<char> read_bytes(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  EXPECT_TRUE(in) << "cannot open " << file;
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// A scratch directory per test, removed afterwards.
class ElfReader : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = fs::temp_directory_path() /
           ("trellis-unit-elf-" + std::to_string(::getpid()) + "-" + info->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  fs::path write(const std::string& name, const std::vector<char>& bytes) {
    fs::path file = dir_ / name;
    std::ofstream out(file, std::ios::binary);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    EXPECT_TRUE(out.good());
    return file;
  }
  fs::path write(const std::string& name, std::string_view text) {
    return write(name, std::vector<char>(text.begin(), text.end()));
  }

  // The sample library's bytes, with its headers at hand for patching.
  struct sample {
    std::vector<char> bytes;
    Elf64_Ehdr eh{};
    Elf64_Shdr section_header(std::size_t i) const {
      Elf64_Shdr sh{};
      std::memcpy(&sh, bytes.data() + eh.e_shoff + i * sizeof sh, sizeof sh);
      return sh;
    }
    void set_section_header(std::size_t i, const Elf64_Shdr& sh) {
      std::memcpy(bytes.data() + eh.e_shoff + i * sizeof sh, &sh, sizeof sh);
    }
    void set_header(const Elf64_Ehdr& h) {
      eh = h;
      std::memcpy(bytes.data(), &eh, sizeof eh);
    }
    // Index of the section called `name`.
    std::size_t find(const std::string& name) const {
      const Elf64_Shdr names = section_header(eh.e_shstrndx);
      for (std::size_t i = 0; i < eh.e_shnum; ++i) {
        const char* n = bytes.data() + names.sh_offset + section_header(i).sh_name;
        if (name == n) return i;
      }
      ADD_FAILURE() << "sample has no section " << name;
      return 0;
    }
  };
  static sample load_sample() {
    sample s;
    s.bytes = read_bytes(TRELLIS_TEST_SAMPLE_SO);
    EXPECT_GE(s.bytes.size(), sizeof s.eh);
    if (s.bytes.size() >= sizeof s.eh) std::memcpy(&s.eh, s.bytes.data(), sizeof s.eh);
    return s;
  }

  fs::path dir_;
};

}  // namespace

// The manifest section of a real shared library comes back byte for byte.
TEST_F(ElfReader, ReadsManifestSectionOfSharedLibrary) {
  elf_section_result r = read_elf_section(TRELLIS_TEST_SAMPLE_SO, manifest_section);
  ASSERT_TRUE(r.contents.has_value()) << r.message;
  EXPECT_EQ(r.error, elf_error::none);
  EXPECT_EQ(r.message, "");
  // TRELLIS_MANIFEST embeds a C string: header, JSON, one NUL.
  const std::string expected = std::string(TRELLIS_MANIFEST_HEADER) +
                               R"({"id": "elf-sample", "version": "1.2.3",)"
                               R"( "contributions": {"commands": ["sample"]}})";
  ASSERT_GE(r.contents->size(), expected.size() + 1);
  EXPECT_EQ(r.contents->substr(0, expected.size()), expected);
  EXPECT_EQ(r.contents->find_first_not_of('\0', expected.size()), std::string::npos)
      << "only NUL padding follows the manifest";
}

// Any other named section can be read too, e.g. the section name table.
TEST_F(ElfReader, ReadsOtherSections) {
  elf_section_result r = read_elf_section(TRELLIS_TEST_SAMPLE_SO, ".shstrtab");
  ASSERT_TRUE(r.contents.has_value()) << r.message;
  EXPECT_CONTAINS(*r.contents, manifest_section);
  EXPECT_CONTAINS(*r.contents, ".text");
}

// A library without the section reports no_section, naming the section.
TEST_F(ElfReader, ReportsMissingSection) {
  elf_section_result r = read_elf_section(TRELLIS_TEST_PLAIN_SO, manifest_section);
  EXPECT_FALSE(r.contents.has_value());
  EXPECT_EQ(r.error, elf_error::no_section);
  EXPECT_EQ(r.message, "no section 'trellis_manifest'");
  // A prefix of an existing name is not a match.
  r = read_elf_section(TRELLIS_TEST_SAMPLE_SO, "trellis_manifes");
  EXPECT_EQ(r.error, elf_error::no_section);
  r = read_elf_section(TRELLIS_TEST_SAMPLE_SO, "trellis_manifest_");
  EXPECT_EQ(r.error, elf_error::no_section);
}

// A file that does not exist is unreadable.
TEST_F(ElfReader, ReportsMissingFile) {
  elf_section_result r = read_elf_section(dir_ / "absent.so", manifest_section);
  EXPECT_FALSE(r.contents.has_value());
  EXPECT_EQ(r.error, elf_error::unreadable);
  EXPECT_EQ(r.message, "cannot open file");
}

// A text file is not ELF at all.
TEST_F(ElfReader, RejectsTextFile) {
  fs::path file = write("notes.so", "This is not a shared library, just some text.\n");
  elf_section_result r = read_elf_section(file, manifest_section);
  EXPECT_FALSE(r.contents.has_value());
  EXPECT_EQ(r.error, elf_error::not_elf);
  EXPECT_EQ(r.message, "not a shared library (no ELF header)");
}

// An empty file is not ELF either, and reading it does not crash.
TEST_F(ElfReader, RejectsEmptyFile) {
  fs::path file = write("empty.so", std::string_view{});
  elf_section_result r = read_elf_section(file, manifest_section);
  EXPECT_FALSE(r.contents.has_value());
  EXPECT_EQ(r.error, elf_error::not_elf);
}

// Copies of the library cut short anywhere past the identification bytes are truncated.
TEST_F(ElfReader, RejectsTruncatedCopies) {
  const std::vector<char> bytes = read_bytes(TRELLIS_TEST_SAMPLE_SO);
  ASSERT_GT(bytes.size(), 4096u);
  for (std::size_t n : {std::size_t{EI_NIDENT}, std::size_t{40}, sizeof(Elf64_Ehdr),
                        std::size_t{100}, std::size_t{4096}, bytes.size() / 2, bytes.size() - 1}) {
    SCOPED_TRACE("first " + std::to_string(n) + " bytes");
    fs::path file = write("cut-" + std::to_string(n) + ".so",
                          std::vector<char>(bytes.begin(), bytes.begin() + static_cast<long>(n)));
    elf_section_result r = read_elf_section(file, manifest_section);
    EXPECT_FALSE(r.contents.has_value());
    EXPECT_EQ(r.error, elf_error::truncated) << r.message;
    EXPECT_CONTAINS(r.message, "truncated file");
  }
}

// A copy cut inside the 16 identification bytes, after the ELF magic, is truncated.
TEST_F(ElfReader, RejectsCopyCutInsideIdentAsTruncated) {
  // DISABLED until fixed: read_elf_section reports not_elf whenever size < EI_NIDENT,
  // even when the magic matched.
  const std::vector<char> bytes = read_bytes(TRELLIS_TEST_SAMPLE_SO);
  fs::path file = write("cut-8.so", std::vector<char>(bytes.begin(), bytes.begin() + 8));
  EXPECT_EQ(read_elf_section(file, manifest_section).error, elf_error::truncated);
}

// A non-PIE executable (ET_EXEC) is refused as not a shared library, even with the section.
TEST_F(ElfReader, RejectsExecutable) {
  elf_section_result r = read_elf_section(TRELLIS_TEST_EXE, manifest_section);
  EXPECT_FALSE(r.contents.has_value());
  EXPECT_EQ(r.error, elf_error::not_shared);
  EXPECT_EQ(r.message, "not a shared library (ELF type 2)");
}

// The running test binary, a position-independent executable, is not a shared library.
TEST_F(ElfReader, RejectsPositionIndependentExecutable) {
  // DISABLED until fixed: a PIE has ELF type ET_DYN like a library; read_elf_section
  // does not look at DT_FLAGS_1 & DF_1_PIE and reports no_section instead.
  elf_section_result r = read_elf_section("/proc/self/exe", manifest_section);
  EXPECT_EQ(r.error, elf_error::not_shared) << r.message;
}

// A relocatable object file (ET_REL) is refused as not a shared library.
TEST_F(ElfReader, RejectsObjectFile) {
  elf_section_result r = read_elf_section(TRELLIS_TEST_OBJECT, manifest_section);
  EXPECT_FALSE(r.contents.has_value());
  EXPECT_EQ(r.error, elf_error::not_shared);
  EXPECT_EQ(r.message, "not a shared library (ELF type 1)");
}

// 32-bit and big-endian ELF files are the wrong class.
TEST_F(ElfReader, RejectsWrongClassOrByteOrder) {
  sample s = load_sample();
  std::vector<char> elf32 = s.bytes;
  elf32[EI_CLASS] = ELFCLASS32;
  elf_section_result r = read_elf_section(write("elf32.so", elf32), manifest_section);
  EXPECT_EQ(r.error, elf_error::wrong_class);
  EXPECT_EQ(r.message, "not a 64-bit little-endian ELF library");

  std::vector<char> big = s.bytes;
  big[EI_DATA] = ELFDATA2MSB;
  r = read_elf_section(write("big.so", big), manifest_section);
  EXPECT_EQ(r.error, elf_error::wrong_class);
}

// A library built for another machine is refused, naming the machine number.
TEST_F(ElfReader, RejectsOtherMachine) {
  sample s = load_sample();
  Elf64_Ehdr h = s.eh;
  h.e_machine = EM_RISCV;
  s.set_header(h);
  elf_section_result r = read_elf_section(write("riscv.so", s.bytes), manifest_section);
  EXPECT_FALSE(r.contents.has_value());
  EXPECT_EQ(r.error, elf_error::wrong_class);
  EXPECT_EQ(r.message, "built for another machine (ELF machine " + std::to_string(EM_RISCV) + ")");
}

// A section whose data lies past the end of the file is reported, not read.
TEST_F(ElfReader, RejectsSectionPastEndOfFile) {
  sample s = load_sample();
  std::size_t index = s.find(manifest_section);
  Elf64_Shdr sh = s.section_header(index);
  sh.sh_offset = s.bytes.size() - 4;
  s.set_section_header(index, sh);
  elf_section_result r = read_elf_section(write("past-end.so", s.bytes), manifest_section);
  EXPECT_FALSE(r.contents.has_value());
  EXPECT_EQ(r.error, elf_error::truncated);
  EXPECT_EQ(r.message, "truncated file: section 'trellis_manifest' past end of file");

  // A size large enough to wrap around when added to the offset.
  sh.sh_offset = 64;
  sh.sh_size = ~Elf64_Xword{0} - 32;
  s.set_section_header(index, sh);
  r = read_elf_section(write("wraps.so", s.bytes), manifest_section);
  EXPECT_EQ(r.error, elf_error::truncated);
}

// Section headers or the name table pointing outside the file are reported as truncation.
TEST_F(ElfReader, RejectsHeadersPointingOutsideFile) {
  const sample original = load_sample();

  sample s = original;
  Elf64_Ehdr h = s.eh;
  h.e_shoff = ~Elf64_Off{0} - 8;  // would wrap around when the table size is added
  s.set_header(h);
  elf_section_result r = read_elf_section(write("shoff.so", s.bytes), manifest_section);
  EXPECT_EQ(r.error, elf_error::truncated) << r.message;

  s = original;
  h = s.eh;
  h.e_shstrndx = static_cast<Elf64_Half>(h.e_shnum + 3);
  s.set_header(h);
  r = read_elf_section(write("shstrndx.so", s.bytes), manifest_section);
  EXPECT_EQ(r.error, elf_error::truncated);
  EXPECT_EQ(r.message, "bad section name table index");

  s = original;
  Elf64_Shdr names = s.section_header(s.eh.e_shstrndx);
  names.sh_size = s.bytes.size();
  s.set_section_header(s.eh.e_shstrndx, names);
  r = read_elf_section(write("names.so", s.bytes), manifest_section);
  EXPECT_EQ(r.error, elf_error::truncated);
  EXPECT_EQ(r.message, "truncated file: section name table past end of file");

  s = original;
  h = s.eh;
  h.e_shnum = 0;
  s.set_header(h);
  r = read_elf_section(write("noshdr.so", s.bytes), manifest_section);
  EXPECT_EQ(r.error, elf_error::truncated);
  EXPECT_EQ(r.message, "no section header table");
}

// A section name offset past the name table is skipped, not read out of bounds.
TEST_F(ElfReader, SkipsSectionWithNameOutsideNameTable) {
  sample s = load_sample();
  std::size_t index = s.find(manifest_section);
  Elf64_Shdr sh = s.section_header(index);
  sh.sh_name = 0x7fffffff;
  s.set_section_header(index, sh);
  elf_section_result r = read_elf_section(write("badname.so", s.bytes), manifest_section);
  EXPECT_EQ(r.error, elf_error::no_section);
}
