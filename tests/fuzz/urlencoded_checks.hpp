// Checks shared by the query-string and form-body targets: what a parsed
// list of pairs must satisfy, whatever the input.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_check.hpp"
#include "trellis/host/http_parse.hpp"

namespace trellis::fuzz {

// UTF-8 decoded the long way (code point, then its range), independent of
// the table of second-byte ranges in is_valid_utf8, so they check each other.
inline bool reference_utf8(std::string_view s) {
  std::size_t i = 0;
  while (i < s.size()) {
    const auto lead = static_cast<unsigned char>(s[i]);
    std::size_t more = 0;
    std::uint32_t cp = 0;
    std::uint32_t min = 0;
    if (lead < 0x80) {
      ++i;
      continue;
    }
    if ((lead >> 5) == 0x6) {
      more = 1, cp = lead & 0x1fU, min = 0x80;
    } else if ((lead >> 4) == 0xe) {
      more = 2, cp = lead & 0x0fU, min = 0x800;
    } else if ((lead >> 3) == 0x1e) {
      more = 3, cp = lead & 0x07U, min = 0x10000;
    } else {
      return false;
    }
    if (s.size() - i - 1 < more) return false;
    for (std::size_t k = 1; k <= more; ++k) {
      const auto b = static_cast<unsigned char>(s[i + k]);
      if ((b >> 6) != 0x2) return false;
      cp = (cp << 6) | (b & 0x3fU);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
    i += more + 1;
  }
  return true;
}

// Whether a '%' anywhere is not followed by two hex digits.
inline bool has_malformed_escape(std::string_view s) {
  auto hex = [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); };
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && (i + 2 >= s.size() || !hex(s[i + 1]) || !hex(s[i + 2]))) return true;
  }
  return false;
}

// Form encoding: unreserved bytes as they are, space as '+', the rest as %XX.
inline std::string encode_component(std::string_view s) {
  static constexpr char hex[] = "0123456789ABCDEF";
  std::string out;
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    const bool plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
                       c == '.' || c == '_' || c == '~';
    if (plain) {
      out += c;
    } else if (c == ' ') {
      out += '+';
    } else {
      out += '%';
      out += hex[u >> 4];
      out += hex[u & 0xf];
    }
  }
  return out;
}

inline std::string encode_pairs(const host::string_pairs& pairs) {
  std::string out;
  for (const auto& [name, value] : pairs) {
    if (!out.empty()) out += '&';
    out += encode_component(name);
    out += '=';
    out += encode_component(value);
  }
  return out;
}

// What every successful parse must give: names and values that a page can
// use as they are, within the limits.
inline void check_pairs(const host::string_pairs& pairs, const host::urlencoded_limits& limits) {
  FUZZ_CHECK(pairs.size() <= limits.max_fields, "more pairs than max_fields");
  for (const auto& [name, value] : pairs) {
    FUZZ_CHECK(!name.empty(), "an empty name was accepted");
    FUZZ_CHECK(name.find('\0') == std::string::npos, "a NUL in a name was accepted");
    FUZZ_CHECK(value.find('\0') == std::string::npos, "a NUL in a value was accepted");
    FUZZ_CHECK(name.size() <= limits.max_name_bytes, "a name over max_name_bytes was accepted");
    FUZZ_CHECK(value.size() <= limits.max_value_bytes, "a value over max_value_bytes was accepted");
    FUZZ_CHECK(reference_utf8(name), "a name that is not UTF-8 was accepted");
    FUZZ_CHECK(reference_utf8(value), "a value that is not UTF-8 was accepted");
  }
}

// Encoding what was parsed and parsing it again gives the same pairs.
template <class Parse>
void check_round_trip(const host::string_pairs& pairs, const host::urlencoded_limits& limits, Parse parse) {
  const std::string encoded = encode_pairs(pairs);
  const auto again = parse(encoded, limits);
  FUZZ_CHECK(again.value.has_value(), again.error.c_str());
  FUZZ_CHECK(*again.value == pairs, "encoding the parsed pairs and parsing them again changed them");
}

// Errors are one line, and never the whole input (values may be secrets).
inline void check_error(const std::string& error) {
  FUZZ_CHECK(!error.empty(), "a failure without a message");
  FUZZ_CHECK(error.find('\n') == std::string::npos, "a message of several lines");
  for (char c : error) {
    const auto u = static_cast<unsigned char>(c);
    FUZZ_CHECK(u >= 0x20 && u < 0x7f, "a message with a control or non-ASCII byte");
  }
}

}  // namespace trellis::fuzz
