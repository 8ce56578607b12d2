#include "trellis/host/http_parse.hpp"

#include <algorithm>

namespace trellis::host {
namespace {

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// ASCII only: std::isalnum would follow the locale.
bool is_alnum(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'); }

// RFC 3986 section 2.3.
bool is_unreserved(char c) { return is_alnum(c) || c == '-' || c == '.' || c == '_' || c == '~'; }

// A pchar other than a %-escape (RFC 3986 section 3.3): unreserved, sub-delims, ':' and '@'.
bool is_pchar(char c) {
  constexpr std::string_view sub_delims = "!$&'()*+,;=";
  return is_unreserved(c) || sub_delims.find(c) != std::string_view::npos || c == ':' || c == '@';
}

// RFC 7230 section 3.2.6: the characters of a token (a cookie name).
bool is_tchar(char c) {
  constexpr std::string_view extra = "!#$%&'*+-.^_`|~";
  return is_alnum(c) || extra.find(c) != std::string_view::npos;
}

bool is_control(char c) {
  const auto u = static_cast<unsigned char>(c);
  return u < 0x20 || u == 0x7f;
}

std::string byte_hex(char c) {
  static constexpr char digits[] = "0123456789ABCDEF";
  const auto u = static_cast<unsigned char>(c);
  return {'0', 'x', digits[u >> 4], digits[u & 0xf]};
}

// A name for a message: controls, quotes, backslashes and non-ASCII bytes as
// \xHH, at most 64 bytes of input, so a log line stays one readable line.
std::string printable(std::string_view s) {
  constexpr std::size_t max = 64;
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (i == max) {
      out += "...";
      break;
    }
    const char c = s[i];
    const auto u = static_cast<unsigned char>(c);
    if (is_control(c) || u >= 0x80 || c == '\'' || c == '\\') {
      out += "\\x";
      out += byte_hex(c).substr(2);
    } else {
      out += c;
    }
  }
  return out;
}

std::string_view trim_ows(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

template <class T>
http_parse_result<T> failure(std::string message) {
  http_parse_result<T> r;
  r.error = std::move(message);
  return r;
}

// What a decoded name or value must be; empty when it is fine.
std::string check_decoded(std::string_view text, std::string_view what, std::size_t max_bytes) {
  if (text.find('\0') != std::string_view::npos) return "the " + std::string(what) + " contains a NUL byte (%00)";
  if (text.size() > max_bytes) {
    return "the " + std::string(what) + " is " + std::to_string(text.size()) + " bytes, more than the " +
           std::to_string(max_bytes) + " allowed";
  }
  if (!is_valid_utf8(text)) return "the " + std::string(what) + " is not valid UTF-8";
  return {};
}

// The shared grammar of query strings and form bodies. `noun` names one
// pair in messages ("query parameter"), `whole` the text ("query").
http_parse_result<string_pairs> parse_urlencoded(std::string_view text, const urlencoded_limits& limits,
                                                 std::string_view noun, std::string_view whole) {
  string_pairs out;
  std::size_t index = 0;  // 1-based position among the non-empty items, for messages
  std::size_t start = 0;
  while (start < text.size()) {
    std::size_t end = text.find('&', start);
    if (end == std::string_view::npos) end = text.size();
    const std::string_view item = text.substr(start, end - start);
    start = end + 1;
    if (item.empty()) continue;
    ++index;
    std::string label = std::string(noun) + " " + std::to_string(index);
    if (out.size() == limits.max_fields) {
      return failure<string_pairs>("the " + std::string(whole) + " has more than " +
                                   std::to_string(limits.max_fields) + " " + std::string(noun) + "s");
    }
    const std::size_t eq = item.find('=');
    const std::string_view raw_name = item.substr(0, eq);
    const std::string_view raw_value = eq == std::string_view::npos ? std::string_view{} : item.substr(eq + 1);

    auto name = percent_decode(raw_name, true);
    if (!name.value) return failure<string_pairs>(label + ": " + name.error + " of the name");
    if (name.value->empty()) return failure<string_pairs>(label + " has an empty name");
    if (std::string problem = check_decoded(*name.value, "name", limits.max_name_bytes); !problem.empty()) {
      return failure<string_pairs>(label + ": " + problem);
    }
    label += " ('" + printable(*name.value) + "')";

    auto value = percent_decode(raw_value, true);
    if (!value.value) return failure<string_pairs>(label + ": " + value.error + " of the value");
    if (std::string problem = check_decoded(*value.value, "value", limits.max_value_bytes); !problem.empty()) {
      return failure<string_pairs>(label + ": " + problem);
    }
    out.emplace_back(std::move(*name.value), std::move(*value.value));
  }
  http_parse_result<string_pairs> r;
  r.value = std::move(out);
  return r;
}

// RFC 3986 section 6.2.2.2: "%6E" and "n" name the same path, so escapes of
// unreserved characters are decoded before routing. Other escapes ("%2F",
// "%20") stay, so path segments keep their boundaries. Escapes are known to
// be well-formed here.
std::string normalize_path(std::string_view path) {
  std::string out;
  out.reserve(path.size());
  for (std::size_t i = 0; i < path.size(); ++i) {
    if (path[i] == '%' && i + 2 < path.size()) {
      const char c = static_cast<char>(hex_value(path[i + 1]) * 16 + hex_value(path[i + 2]));
      if (is_unreserved(c)) {
        out += c;
        i += 2;
        continue;
      }
    }
    out += path[i];
  }
  return out;
}

// Checks the characters of a path or query as sent; `extra` are allowed
// besides pchars and escapes. Empty when they are fine.
std::string check_characters(std::string_view text, std::string_view extra, std::string_view what) {
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '%') {
      if (i + 2 >= text.size() || hex_value(text[i + 1]) < 0 || hex_value(text[i + 2]) < 0) {
        return "malformed %-escape at byte " + std::to_string(i) + " of the " + std::string(what);
      }
      i += 2;
    } else if (!is_pchar(c) && extra.find(c) == std::string_view::npos) {
      return "byte " + std::to_string(i) + " (" + byte_hex(c) + ") of the " + std::string(what) +
             " is not allowed in a URL";
    }
  }
  return {};
}

bool has_dot_segment(std::string_view path) {
  std::size_t start = 0;
  while (start <= path.size()) {
    std::size_t end = path.find('/', start);
    if (end == std::string_view::npos) end = path.size();
    const std::string_view segment = path.substr(start, end - start);
    if (segment == "." || segment == "..") return true;
    start = end + 1;
  }
  return false;
}

}  // namespace

http_parse_result<std::string> percent_decode(std::string_view text, bool plus_as_space) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '%') {
      if (i + 2 >= text.size() || hex_value(text[i + 1]) < 0 || hex_value(text[i + 2]) < 0) {
        return failure<std::string>("malformed %-escape at byte " + std::to_string(i));
      }
      out += static_cast<char>(hex_value(text[i + 1]) * 16 + hex_value(text[i + 2]));
      i += 2;
    } else if (c == '+' && plus_as_space) {
      out += ' ';
    } else {
      out += c;
    }
  }
  http_parse_result<std::string> r;
  r.value = std::move(out);
  return r;
}

http_parse_result<string_pairs> parse_query(std::string_view query, const urlencoded_limits& limits) {
  return parse_urlencoded(query, limits, "query parameter", "query");
}

http_parse_result<string_pairs> parse_form(std::string_view body, const urlencoded_limits& limits) {
  return parse_urlencoded(body, limits, "form field", "form");
}

http_parse_result<request_target> parse_request_target(std::string_view target) {
  if (target.empty() || target.front() != '/') {
    return failure<request_target>("the request target must start with '/'");
  }
  const std::size_t question = target.find('?');
  const std::string_view path = target.substr(0, question);
  if (std::string problem = check_characters(path, "/", "path"); !problem.empty()) {
    return failure<request_target>(problem);
  }
  // Every escape decoded, "%2F" included: what a handler that decodes a
  // segment could end up with. Escapes are well-formed, checked above.
  const std::string decoded = percent_decode(path).value.value_or(std::string());
  if (decoded.find('\0') != std::string::npos) return failure<request_target>("the path contains a NUL byte (%00)");
  if (!is_valid_utf8(decoded)) return failure<request_target>("the path is not valid UTF-8 once decoded");
  if (has_dot_segment(decoded)) {
    return failure<request_target>("the path has a '.' or '..' segment (after decoding)");
  }

  request_target out;
  out.path = normalize_path(path);
  if (question != std::string_view::npos) {
    out.query = std::string(target.substr(question + 1));
    if (std::string problem = check_characters(out.query, "/?", "query"); !problem.empty()) {
      return failure<request_target>(problem);
    }
    auto params = parse_query(out.query);
    if (!params.value) return failure<request_target>(std::move(params.error));
    out.params = std::move(*params.value);
  }
  http_parse_result<request_target> r;
  r.value = std::move(out);
  return r;
}

string_pairs parse_cookies(std::string_view header) {
  string_pairs out;
  std::size_t start = 0;
  while (start < header.size()) {
    std::size_t end = header.find(';', start);
    if (end == std::string_view::npos) end = header.size();
    const std::string_view item = header.substr(start, end - start);
    start = end + 1;
    const std::size_t eq = item.find('=');
    if (eq == std::string_view::npos) continue;
    const std::string_view name = trim_ows(item.substr(0, eq));
    std::string_view value = trim_ows(item.substr(eq + 1));
    if (name.empty() || !std::all_of(name.begin(), name.end(), is_tchar)) continue;
    if (value.size() >= 2 && value.front() == '"' && value.back() == '"') value = value.substr(1, value.size() - 2);
    if (std::any_of(value.begin(), value.end(), is_control)) continue;
    out.emplace_back(std::string(name), std::string(value));
  }
  return out;
}

}  // namespace trellis::host
