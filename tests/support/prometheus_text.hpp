// A strict reader of the Prometheus text exposition format 0.0.4, for the
// metrics tests: it accepts what the format allows and the host promises,
// and throws prom::parse_error naming the line for anything else.
//
// Checked: every family has # HELP and # TYPE before its samples and its
// samples are contiguous; metric and label names follow the grammar; label
// values use only the escapes \\ \" \n and are valid UTF-8; no label twice in
// a sample, no series twice; values are floats (+Inf, -Inf and NaN spelled
// so); counters end in _total and are not negative; histograms have only
// _bucket (with le), _sum and _count samples, buckets in increasing le order
// with cumulative (non-decreasing) counts ending at le="+Inf", which equals
// _count. Comments other than HELP and TYPE, blank lines, timestamps and the
// summary and untyped types are refused: the host writes none of them.
// Header-only.
#pragma once

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <map>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace prom {

struct parse_error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

using label_map = std::map<std::string, std::string>;

struct sample {
  std::string name;
  label_map labels;
  double value = 0;
};

struct family {
  std::string name;
  std::string help;
  std::string type;
  std::vector<sample> samples;
};

struct exposition {
  std::vector<family> families;

  const family* find(std::string_view name) const {
    for (const auto& f : families) {
      if (f.name == name) return &f;
    }
    return nullptr;
  }
  /// The sample `name` with exactly these labels.
  std::optional<double> value(std::string_view name, const label_map& labels = {}) const {
    for (const auto& f : families) {
      for (const auto& s : f.samples) {
        if (s.name == name && s.labels == labels) return s.value;
      }
    }
    return std::nullopt;
  }
  /// As value(), 0 when the series does not exist (yet).
  double value_or_zero(std::string_view name, const label_map& labels = {}) const {
    return value(name, labels).value_or(0);
  }
  /// Every sample `name` whose labels include `subset`.
  std::vector<const sample*> matching(std::string_view name, const label_map& subset = {}) const {
    std::vector<const sample*> out;
    for (const auto& f : families) {
      for (const auto& s : f.samples) {
        if (s.name != name) continue;
        bool all = std::all_of(subset.begin(), subset.end(), [&](const auto& kv) {
          auto it = s.labels.find(kv.first);
          return it != s.labels.end() && it->second == kv.second;
        });
        if (all) out.push_back(&s);
      }
    }
    return out;
  }
};

namespace detail {

inline bool name_char(char c, bool first, bool colon) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_') return true;
  if (colon && c == ':') return true;
  return !first && c >= '0' && c <= '9';
}

inline bool valid_utf8(std::string_view s) {
  std::size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    std::size_t len = 0;
    std::uint32_t cp = 0;
    if (c < 0x80) {
      ++i;
      continue;
    }
    if (c >= 0xC2 && c <= 0xDF) {
      len = 2;
      cp = c & 0x1Fu;
    } else if (c >= 0xE0 && c <= 0xEF) {
      len = 3;
      cp = c & 0x0Fu;
    } else if (c >= 0xF0 && c <= 0xF4) {
      len = 4;
      cp = c & 0x07u;
    } else {
      return false;
    }
    if (i + len > s.size()) return false;
    for (std::size_t k = 1; k < len; ++k) {
      const auto cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xC0u) != 0x80u) return false;
      cp = (cp << 6) | (cc & 0x3Fu);
    }
    if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10FFFF)) || (cp >= 0xD800 && cp <= 0xDFFF)) {
      return false;
    }
    i += len;
  }
  return true;
}

class line_reader {
 public:
  line_reader(std::string_view line, std::size_t number) : s_(line), number_(number) {}

  [[noreturn]] void fail(const std::string& what) const {
    throw parse_error("line " + std::to_string(number_) + ": " + what + ": '" + std::string(s_) + "'");
  }
  bool done() const { return at_ == s_.size(); }
  char peek() const { return done() ? '\0' : s_[at_]; }
  void expect(char c) {
    if (peek() != c) fail(std::string("expected '") + c + "' at column " + std::to_string(at_ + 1));
    ++at_;
  }
  bool take(char c) {
    if (peek() != c) return false;
    ++at_;
    return true;
  }
  std::string name(bool colon) {
    const std::size_t start = at_;
    while (!done() && name_char(s_[at_], at_ == start, colon)) ++at_;
    if (at_ == start)
      fail(std::string(colon ? "metric" : "label") + " name expected at column " + std::to_string(at_ + 1));
    return std::string(s_.substr(start, at_ - start));
  }
  // A quoted label value with its escapes resolved.
  std::string quoted() {
    expect('"');
    std::string out;
    for (;;) {
      if (done()) fail("unterminated label value");
      const char c = s_[at_++];
      if (c == '"') break;
      if (c == '\n') fail("raw newline in a label value");
      if (c != '\\') {
        out += c;
        continue;
      }
      if (done()) fail("dangling backslash in a label value");
      const char e = s_[at_++];
      if (e == '\\') {
        out += '\\';
      } else if (e == '"') {
        out += '"';
      } else if (e == 'n') {
        out += '\n';
      } else {
        fail(std::string("unknown escape '\\") + e + "' in a label value");
      }
    }
    if (!valid_utf8(out)) fail("label value is not valid UTF-8");
    return out;
  }
  std::string_view rest() {
    std::string_view r = s_.substr(at_);
    at_ = s_.size();
    return r;
  }

 private:
  std::string_view s_;
  std::size_t number_;
  std::size_t at_ = 0;
};

inline std::optional<double> parse_float(std::string_view t) {
  if (t == "+Inf") return std::numeric_limits<double>::infinity();
  if (t == "-Inf") return -std::numeric_limits<double>::infinity();
  if (t == "NaN") return std::numeric_limits<double>::quiet_NaN();
  if (t.empty()) return std::nullopt;
  // Digits, sign, point and exponent only: from_chars would also take "inf" and "nan".
  for (char c : t) {
    if (!((c >= '0' && c <= '9') || c == '-' || c == '+' || c == '.' || c == 'e' || c == 'E')) return std::nullopt;
  }
  std::string_view digits = t.front() == '+' ? t.substr(1) : t;
  double v = 0;
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), v);
  if (ec != std::errc{} || end != digits.data() + digits.size()) return std::nullopt;
  return v;
}

inline std::string unescape_help(line_reader& r, std::string_view text) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '\\') {
      out += text[i];
      continue;
    }
    if (i + 1 == text.size()) r.fail("dangling backslash in HELP");
    const char e = text[++i];
    if (e == '\\') {
      out += '\\';
    } else if (e == 'n') {
      out += '\n';
    } else {
      r.fail(std::string("unknown escape '\\") + e + "' in HELP");
    }
  }
  if (!valid_utf8(out)) r.fail("HELP is not valid UTF-8");
  return out;
}

// The checks that need all of a family's samples.
inline void check_family(const family& f, std::size_t line) {
  auto fail = [&](const std::string& what) {
    throw parse_error("family '" + f.name + "' (ending before line " + std::to_string(line) + "): " + what);
  };
  if (f.help.empty() && f.type.empty()) fail("no # HELP and no # TYPE");
  if (f.type != "histogram") return;
  struct group {
    std::vector<std::pair<double, double>> buckets;  // le, count, in order of appearance
    std::optional<double> sum;
    std::optional<double> count;
  };
  std::map<label_map, group> groups;
  for (const auto& s : f.samples) {
    label_map key = s.labels;
    key.erase("le");
    group& g = groups[key];
    if (s.name == f.name + "_bucket") {
      const auto le = parse_float(s.labels.at("le"));
      if (!le || std::isnan(*le)) fail("le=\"" + s.labels.at("le") + "\" is not a number");
      if (!g.buckets.empty() && !(*le > g.buckets.back().first)) fail("le bounds are not increasing");
      if (!g.buckets.empty() && s.value < g.buckets.back().second) fail("bucket counts are not cumulative");
      if (s.value < 0 || std::isnan(s.value)) fail("a bucket count is negative or NaN");
      if (!g.buckets.empty() && std::isinf(g.buckets.back().first)) fail("a bucket follows le=\"+Inf\"");
      g.buckets.emplace_back(*le, s.value);
    } else if (s.name == f.name + "_sum") {
      g.sum = s.value;
    } else {
      g.count = s.value;
    }
  }
  for (const auto& [labels, g] : groups) {
    std::string which;
    for (const auto& [k, v] : labels) which += k + "=\"" + v + "\" ";
    if (g.buckets.empty() || !std::isinf(g.buckets.back().first)) fail("series " + which + "has no le=\"+Inf\" bucket");
    if (!g.sum) fail("series " + which + "has no _sum");
    if (!g.count) fail("series " + which + "has no _count");
    if (g.buckets.back().second != *g.count) fail("series " + which + "has le=\"+Inf\" != _count");
  }
}

}  // namespace detail

/// Parses and checks `text`; throws parse_error naming the line and the rule broken.
inline exposition parse(std::string_view text) {
  exposition out;
  if (text.empty()) return out;
  if (text.back() != '\n') throw parse_error("the text does not end with a newline");
  std::set<std::string> closed;  // families already finished
  std::set<std::string> series;  // name + labels, for duplicates
  family* current = nullptr;
  bool current_has_samples = false;
  std::size_t number = 0;
  auto close_current = [&]() {
    if (current == nullptr) return;
    detail::check_family(*current, number);
    closed.insert(current->name);
  };
  std::size_t start = 0;
  while (start < text.size()) {
    const std::size_t end = text.find('\n', start);
    const std::string_view line = text.substr(start, end - start);
    start = end + 1;
    ++number;
    detail::line_reader r(line, number);
    if (line.empty()) r.fail("blank line");
    if (line.find('\r') != std::string_view::npos) r.fail("carriage return");
    if (line.front() == '#') {
      const bool help = line.rfind("# HELP ", 0) == 0;
      const bool type = line.rfind("# TYPE ", 0) == 0;
      if (!help && !type) r.fail("a comment other than # HELP or # TYPE");
      r.expect('#');
      r.expect(' ');
      (void)r.name(false);  // HELP / TYPE
      r.expect(' ');
      const std::string name = r.name(true);
      if (current == nullptr || current->name != name) {
        if (closed.count(name) != 0) r.fail("family '" + name + "' again, apart from its first lines");
        close_current();
        out.families.push_back({name, {}, {}, {}});
        current = &out.families.back();
        current_has_samples = false;
      }
      if (current_has_samples) r.fail("# HELP or # TYPE after the family's samples");
      if (help) {
        if (!current->help.empty()) r.fail("a second # HELP");
        if (!r.take(' ')) r.fail("# HELP without text");
        current->help = detail::unescape_help(r, r.rest());
        if (current->help.empty()) r.fail("empty # HELP");
      } else {
        if (!current->type.empty()) r.fail("a second # TYPE");
        r.expect(' ');
        const std::string t(r.rest());
        if (t != "counter" && t != "gauge" && t != "histogram")
          r.fail("type '" + t + "' is not counter, gauge or histogram");
        if (t == "counter" && !(name.size() > 6 && name.ends_with("_total")))
          r.fail("counter '" + name + "' does not end in _total");
        current->type = t;
      }
      continue;
    }
    sample s;
    s.name = r.name(true);
    if (r.take('{')) {
      if (!r.take('}')) {
        for (;;) {
          const std::string label = r.name(false);
          if (label.rfind("__", 0) == 0) r.fail("label name '" + label + "' starts with '__'");
          r.expect('=');
          std::string value = r.quoted();
          if (!s.labels.emplace(label, std::move(value)).second) r.fail("label '" + label + "' twice");
          if (r.take('}')) break;
          r.expect(',');
        }
      }
    }
    r.expect(' ');
    const std::string_view value_text = r.rest();
    if (value_text.find(' ') != std::string_view::npos) r.fail("a timestamp or trailing text");
    const auto value = detail::parse_float(value_text);
    if (!value) r.fail("'" + std::string(value_text) + "' is not a float");
    s.value = *value;

    if (current == nullptr) r.fail("a sample before any # TYPE");
    if (current->help.empty() || current->type.empty()) r.fail("family '" + current->name + "' lacks # HELP or # TYPE");
    const std::string& fam = current->name;
    if (current->type == "histogram") {
      const bool bucket = s.name == fam + "_bucket";
      if (!bucket && s.name != fam + "_sum" && s.name != fam + "_count")
        r.fail("'" + s.name + "' is not a sample of histogram '" + fam + "'");
      if (bucket != (s.labels.count("le") != 0)) r.fail(bucket ? "a _bucket without le" : "le outside a _bucket");
    } else if (s.name != fam) {
      r.fail("'" + s.name + "' does not belong to the family '" + fam + "' declared before it");
    }
    if (current->type == "counter" && (s.value < 0 || std::isnan(s.value))) r.fail("a counter below zero or NaN");
    std::string key = s.name;
    for (const auto& [k, v] : s.labels) key += "\x1f" + k + "\x1e" + v;
    if (!series.insert(key).second) r.fail("the same series twice");
    current->samples.push_back(std::move(s));
    current_has_samples = true;
  }
  ++number;
  close_current();
  for (const auto& f : out.families) {
    if (f.help.empty() || f.type.empty()) throw parse_error("family '" + f.name + "' lacks # HELP or # TYPE");
  }
  return out;
}

}  // namespace prom
