// Semantic versions and version ranges for plugin dependencies.
//
// Written here because no Debian-packaged C++ library offers semver ranges;
// the grammar is the npm/Cargo comparator subset: ">=1.2.0 <2.0.0", "^1.2",
// "~1.2.3", "=1.0.0", "1.x", "*"; comparators separated by spaces or commas
// are ANDed, alternatives separated by "||" are ORed.
#pragma once

#include <compare>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace trellis::host {

struct semver {
  unsigned long major = 0;
  unsigned long minor = 0;
  unsigned long patch = 0;
  std::string prerelease;  ///< after '-', empty for a release

  /// Parses "1.2.3", "1.2.3-rc.1" and "1.2.3+build"; nullopt on anything else.
  static std::optional<semver> parse(std::string_view text);
  std::string str() const;
  std::strong_ordering operator<=>(const semver& other) const;
  bool operator==(const semver& other) const { return (*this <=> other) == 0; }
};

/// A set of versions. parse() fails with a message naming the bad comparator.
class version_range {
 public:
  struct parse_result;
  static parse_result parse(std::string_view text);
  bool contains(const semver& v) const;
  const std::string& text() const { return text_; }

 private:
  enum class op { eq, lt, le, gt, ge };
  struct comparator {
    op kind;
    semver version;
  };
  std::string text_;
  std::vector<std::vector<comparator>> alternatives_;  // OR of ANDs
};

struct version_range::parse_result {
  std::optional<version_range> range;
  std::string error;
};

}  // namespace trellis::host
