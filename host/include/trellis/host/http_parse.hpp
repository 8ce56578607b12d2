// Parsers of untrusted HTTP input: the request target, query strings, the
// Cookie header and application/x-www-form-urlencoded bodies. Plain functions
// over bytes (no Beast types), so the unit tests and the fuzz targets in
// tests/fuzz/ call exactly what the server runs.
//
// Error messages name what was wrong (which field, which byte) but never
// repeat a value: a form value may be a password, and messages reach logs.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "trellis/host/text.hpp"  // is_valid_utf8, which the parsers apply

namespace trellis::host {

/// Name/value pairs in the order they were sent (the same type as calls.hpp's).
using string_pairs = std::vector<std::pair<std::string, std::string>>;

/// A parsed value, or an error naming what was wrong.
template <class T>
struct http_parse_result {
  std::optional<T> value;
  std::string error;  ///< set when value is empty
};

/// Decodes %XX escapes (either case of hex digit), and '+' as a space when
/// `plus_as_space`. Fails on a '%' not followed by two hex digits, naming its
/// byte offset. The result may hold any byte, NUL included: callers check.
http_parse_result<std::string> percent_decode(std::string_view text, bool plus_as_space = false);

/// Bounds on a query string or form body. A field over a bound fails the whole
/// parse (a truncated form could change its meaning).
struct urlencoded_limits {
  std::size_t max_fields = 1000;           ///< name/value pairs
  std::size_t max_name_bytes = 256;        ///< of a decoded name
  std::size_t max_value_bytes = 1 << 20;   ///< of a decoded value
};

/// Parses "a=1&b=x+y&c" into decoded pairs, in order: '+' is a space, a name
/// without '=' has an empty value, duplicates are all kept (the first is the
/// one a page reads). Empty items ("a=1&&b=2", a trailing '&') are skipped.
/// Fails on a malformed escape, an empty name ("=x"), a NUL byte, a name or
/// value that is not UTF-8 once decoded, or a limit exceeded; the message
/// names the query parameter by position and, when readable, by name.
http_parse_result<string_pairs> parse_query(std::string_view query, const urlencoded_limits& limits = {});

/// Parses an application/x-www-form-urlencoded body: the syntax and rules of
/// parse_query, with messages that speak of form fields.
http_parse_result<string_pairs> parse_form(std::string_view body, const urlencoded_limits& limits = {});

/// A request target in origin form ("/path?query"), split and checked.
struct request_target {
  /// For routing: escapes of unreserved characters decoded ("%6Eew" is
  /// "new", RFC 3986 6.2.2.2); every other escape kept ("%2F" stays inside
  /// its segment, so segments keep their boundaries).
  std::string path;
  std::string query;    ///< as sent, without the '?'; empty when there is none
  string_pairs params;  ///< the query, decoded by parse_query
};

/// Parses the target of a request line. Fails when it does not start with
/// '/', holds a character RFC 3986 does not allow in a path or query (space,
/// '"', '#', '<', '\\', controls, bytes above 0x7F), or a malformed escape; and
/// when the fully decoded path ("%2F" as '/' too) holds a NUL byte, is not
/// UTF-8, or has a "." or ".." segment, so no later decoding of a segment can
/// climb out of a folder. The query is checked by parse_query.
http_parse_result<request_target> parse_request_target(std::string_view target);

/// Parses a Cookie header ("a=1; b=2") into pairs, in order, duplicates kept.
/// Lenient, as browsers send what servers set: an item that is not
/// NAME=VALUE, whose name is not an RFC 7230 token, or whose value holds a
/// control character is skipped. Whitespace around names and values
/// is dropped, and one pair of double quotes around a value. Values are not
/// percent-decoded.
string_pairs parse_cookies(std::string_view header);

}  // namespace trellis::host
