#include "trellis/host/semver.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>

namespace trellis::host {
namespace {

bool parse_number(std::string_view s, unsigned long& out) {
  if (s.empty() || (s.size() > 1 && s[0] == '0')) return false;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc{} && ptr == s.data() + s.size();
}

std::vector<std::string_view> split(std::string_view s, std::string_view sep) {
  std::vector<std::string_view> parts;
  std::size_t start = 0;
  while (true) {
    std::size_t at = s.find(sep, start);
    parts.push_back(s.substr(start, at == std::string_view::npos ? std::string_view::npos : at - start));
    if (at == std::string_view::npos) break;
    start = at + sep.size();
  }
  return parts;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

// A partial version as written in a range: "1", "1.2", "1.2.3", "1.x".
struct partial {
  semver v;
  int parts = 0;  // how many of major/minor/patch were given
};

std::optional<partial> parse_partial(std::string_view s) {
  partial p;
  if (s == "*" || s == "x" || s == "X") return p;
  std::string_view core = s;
  std::size_t dash = s.find('-');
  if (dash != std::string_view::npos) {
    auto full = semver::parse(s);
    if (!full) return std::nullopt;
    return partial{*full, 3};
  }
  auto fields = split(core, ".");
  if (fields.size() > 3) return std::nullopt;
  unsigned long* targets[] = {&p.v.major, &p.v.minor, &p.v.patch};
  for (std::size_t i = 0; i < fields.size(); ++i) {
    if (fields[i] == "x" || fields[i] == "X" || fields[i] == "*") break;
    if (!parse_number(fields[i], *targets[i])) return std::nullopt;
    p.parts = static_cast<int>(i) + 1;
  }
  return p;
}

semver bump(const semver& v, int part) {
  semver r;
  if (part == 0) r.major = v.major + 1;
  if (part == 1) { r.major = v.major; r.minor = v.minor + 1; }
  if (part == 2) { r.major = v.major; r.minor = v.minor; r.patch = v.patch + 1; }
  return r;
}

}  // namespace

std::optional<semver> semver::parse(std::string_view text) {
  semver v;
  std::size_t plus = text.find('+');
  if (plus != std::string_view::npos) text = text.substr(0, plus);
  std::size_t dash = text.find('-');
  if (dash != std::string_view::npos) {
    v.prerelease = std::string(text.substr(dash + 1));
    if (v.prerelease.empty()) return std::nullopt;
    text = text.substr(0, dash);
  }
  auto fields = split(text, ".");
  if (fields.size() != 3) return std::nullopt;
  if (!parse_number(fields[0], v.major) || !parse_number(fields[1], v.minor) ||
      !parse_number(fields[2], v.patch)) {
    return std::nullopt;
  }
  return v;
}

std::string semver::str() const {
  std::string s = std::to_string(major) + "." + std::to_string(minor) + "." + std::to_string(patch);
  if (!prerelease.empty()) s += "-" + prerelease;
  return s;
}

std::strong_ordering semver::operator<=>(const semver& o) const {
  if (auto c = major <=> o.major; c != 0) return c;
  if (auto c = minor <=> o.minor; c != 0) return c;
  if (auto c = patch <=> o.patch; c != 0) return c;
  // A pre-release sorts before its release; pre-releases compare as text,
  // which is enough for the "rc.1 < rc.2" cases plugins use.
  if (prerelease == o.prerelease) return std::strong_ordering::equal;
  if (prerelease.empty()) return std::strong_ordering::greater;
  if (o.prerelease.empty()) return std::strong_ordering::less;
  // Semver 2.0.0 section 11: dot-separated identifiers; numeric ones compare
  // as numbers and sort before alphanumeric ones; a shorter list sorts first.
  auto a = split(prerelease, ".");
  auto b = split(o.prerelease, ".");
  for (std::size_t i = 0; i < a.size() && i < b.size(); ++i) {
    unsigned long na = 0;
    unsigned long nb = 0;
    bool a_num = parse_number(a[i], na) || a[i] == "0";
    bool b_num = parse_number(b[i], nb) || b[i] == "0";
    if (a_num && b_num) {
      if (auto c = na <=> nb; c != 0) return c;
    } else if (a_num != b_num) {
      return a_num ? std::strong_ordering::less : std::strong_ordering::greater;
    } else if (int c = a[i].compare(b[i]); c != 0) {
      return c < 0 ? std::strong_ordering::less : std::strong_ordering::greater;
    }
  }
  return a.size() <=> b.size();
}

version_range::parse_result version_range::parse(std::string_view text) {
  version_range range;
  range.text_ = std::string(trim(text));
  if (range.text_.empty()) return {std::nullopt, "empty version range"};
  for (std::string_view alt : split(text, "||")) {
    std::vector<comparator> all;
    std::string normalized(alt);
    for (char& c : normalized) {
      if (c == ',') c = ' ';
    }
    std::string_view rest = normalized;
    std::vector<std::string_view> tokens;
    for (std::string_view tok : split(rest, " ")) {
      if (!trim(tok).empty()) tokens.push_back(trim(tok));
    }
    if (tokens.empty()) return {std::nullopt, "empty alternative in version range '" + range.text_ + "'"};
    // Join an operator written apart from its version (">= 1.2.0").
    std::vector<std::string> merged;
    for (std::size_t i = 0; i < tokens.size(); ++i) {
      std::string tok(tokens[i]);
      bool op_only = tok.find_first_not_of("<>=^~") == std::string::npos;
      if (op_only && i + 1 < tokens.size()) tok += std::string(tokens[++i]);
      merged.push_back(tok);
    }
    for (const std::string& tok : merged) {
      std::string_view t = tok;
      std::string_view opstr;
      for (std::string_view candidate : {">=", "<=", ">", "<", "=", "^", "~"}) {
        if (t.substr(0, candidate.size()) == candidate) {
          opstr = candidate;
          break;
        }
      }
      t.remove_prefix(opstr.size());
      auto p = parse_partial(t);
      if (!p) return {std::nullopt, "bad version '" + std::string(t) + "' in range '" + range.text_ + "'"};
      const semver& v = p->v;
      if (opstr == "^") {
        // Compatible with: same left-most non-zero part.
        int part = v.major != 0 || p->parts <= 1 ? 0 : (v.minor != 0 || p->parts <= 2 ? 1 : 2);
        all.push_back({op::ge, v});
        all.push_back({op::lt, bump(v, part)});
      } else if (opstr == "~") {
        all.push_back({op::ge, v});
        all.push_back({op::lt, bump(v, p->parts >= 2 ? 1 : 0)});
      } else if (p->parts == 3 || p->parts == 0) {
        if (p->parts == 0) {
          if (!opstr.empty() && opstr != "=" && opstr != ">=") {
            return {std::nullopt, "comparator '" + tok + "' excludes every version"};
          }
          continue;  // "*": anything
        }
        op kind = opstr == ">=" ? op::ge : opstr == "<=" ? op::le : opstr == ">" ? op::gt
                : opstr == "<" ? op::lt : op::eq;
        all.push_back({kind, v});
      } else {
        // Partial "1.2" as X-range: [1.2.0, 1.3.0); with operators, by bounds.
        semver upper = bump(v, p->parts - 1);
        if (opstr.empty() || opstr == "=") {
          all.push_back({op::ge, v});
          all.push_back({op::lt, upper});
        } else if (opstr == ">=") {
          all.push_back({op::ge, v});
        } else if (opstr == ">") {
          all.push_back({op::ge, upper});
        } else if (opstr == "<") {
          all.push_back({op::lt, v});
        } else {  // "<="
          all.push_back({op::lt, upper});
        }
      }
    }
    range.alternatives_.push_back(std::move(all));
  }
  return {std::move(range), {}};
}

bool version_range::contains(const semver& v) const {
  for (const auto& alt : alternatives_) {
    // As npm does: a pre-release only satisfies a range that names a
    // pre-release of the same major.minor.patch, so "^1.2" never picks 2.0.0-rc.1.
    if (!v.prerelease.empty()) {
      bool named = std::any_of(alt.begin(), alt.end(), [&](const comparator& c) {
        return !c.version.prerelease.empty() && c.version.major == v.major && c.version.minor == v.minor &&
               c.version.patch == v.patch;
      });
      if (!named) continue;
    }
    bool ok = true;
    for (const comparator& c : alt) {
      switch (c.kind) {
        case op::eq: ok = v == c.version; break;
        case op::lt: ok = v < c.version; break;
        case op::le: ok = v <= c.version; break;
        case op::gt: ok = v > c.version; break;
        case op::ge: ok = v >= c.version; break;
      }
      if (!ok) break;
    }
    if (ok) return true;
  }
  return false;
}

}  // namespace trellis::host
