// Named parameters (`:name`) in SQL text, found the way a database would:
// not inside string literals (also E'...' with backslash escapes), quoted
// identifiers, comments (nested /* */ too) or PostgreSQL dollar-quoted
// strings, and not in `::type` casts. Drivers whose API only
// has positional markers (ODBC's `?`) use it to rewrite the statement; the
// host uses it to check a named query's declared parameters.
//
// Written by hand: no Debian-packaged library tokenizes SQL across dialects,
// and the rules needed here are few.
#ifndef TRELLIS_SQL_HPP
#define TRELLIS_SQL_HPP

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace trellis::sql {

/// One occurrence of `:name`; `offset` is where the ':' is, `length` counts it.
struct named_parameter {
  std::string_view name;
  std::size_t offset = 0;
  std::size_t length = 0;
};

/// What a scan finds: the named parameters, and the offsets of bare `?`
/// markers (positional parameters, which Trellis does not use; an ODBC driver
/// would count them as markers of its own).
struct scan_result {
  std::vector<named_parameter> named;
  std::vector<std::size_t> positional;
};

namespace detail {
inline bool ident_start(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}
inline bool ident_char(char c) { return ident_start(c) || (c >= '0' && c <= '9'); }
// PostgreSQL identifiers may hold '$' too, which matters for dollar quotes.
inline bool word_char(char c) { return ident_char(c) || c == '$' || static_cast<unsigned char>(c) >= 0x80; }

// Index just past a quoted run that starts at s[i] == quote; a doubled quote
// is an escaped one. `backslash`: E'...' strings also escape with '\'.
// Unterminated: the end of the text (the database reports it).
inline std::size_t skip_quoted(std::string_view s, std::size_t i, char quote, bool backslash) {
  for (++i; i < s.size(); ++i) {
    if (backslash && s[i] == '\\') {
      ++i;
    } else if (s[i] == quote) {
      if (i + 1 < s.size() && s[i + 1] == quote) {
        ++i;
      } else {
        return i + 1;
      }
    }
  }
  return s.size();
}

// PostgreSQL nests block comments; for other engines nesting only matters in
// SQL they would refuse anyway.
inline std::size_t skip_block_comment(std::string_view s, std::size_t i) {
  int depth = 0;
  while (i < s.size()) {
    if (s.compare(i, 2, "/*") == 0) {
      ++depth;
      i += 2;
    } else if (s.compare(i, 2, "*/") == 0) {
      i += 2;
      if (--depth == 0) return i;
    } else {
      ++i;
    }
  }
  return s.size();
}

// The length of a dollar-quote opener ($$ or $tag$) at s[i], or 0.
inline std::size_t dollar_tag_length(std::string_view s, std::size_t i) {
  std::size_t j = i + 1;
  if (j < s.size() && ident_start(s[j])) {
    while (j < s.size() && ident_char(s[j])) ++j;
  }
  return j < s.size() && s[j] == '$' ? j - i + 1 : 0;
}
}  // namespace detail

/// Every `:name` and bare `?` in `sql`, in order; a name used twice appears twice.
inline scan_result scan(std::string_view sql) {
  scan_result out;
  std::size_t i = 0;
  while (i < sql.size()) {
    const char c = sql[i];
    const char prev = i > 0 ? sql[i - 1] : ' ';
    if (c == '\'') {
      const bool escapes = (prev == 'E' || prev == 'e') && (i < 2 || !detail::word_char(sql[i - 2]));
      i = detail::skip_quoted(sql, i, c, escapes);
    } else if (c == '"' || c == '`') {
      i = detail::skip_quoted(sql, i, c, false);
    } else if (c == '-' && i + 1 < sql.size() && sql[i + 1] == '-') {
      const std::size_t nl = sql.find('\n', i);
      i = nl == std::string_view::npos ? sql.size() : nl + 1;
    } else if (c == '/' && i + 1 < sql.size() && sql[i + 1] == '*') {
      i = detail::skip_block_comment(sql, i);
    } else if (c == '$' && !detail::word_char(prev) && detail::dollar_tag_length(sql, i) > 0) {
      const std::string_view tag = sql.substr(i, detail::dollar_tag_length(sql, i));
      const std::size_t close = sql.find(tag, i + tag.size());
      i = close == std::string_view::npos ? sql.size() : close + tag.size();
    } else if (c == ':' && i + 1 < sql.size() && sql[i + 1] == ':') {
      i += 2;  // a cast, `value::type`
    } else if (c == ':' && i + 1 < sql.size() && detail::ident_start(sql[i + 1])) {
      std::size_t j = i + 1;
      while (j < sql.size() && detail::ident_char(sql[j])) ++j;
      out.named.push_back({sql.substr(i + 1, j - i - 1), i, j - i});
      i = j;
    } else {
      if (c == '?') out.positional.push_back(i);
      ++i;
    }
  }
  return out;
}

/// Every `:name` in `sql`, in order.
inline std::vector<named_parameter> named_parameters(std::string_view sql) { return scan(sql).named; }

/// The distinct names of `named_parameters(sql)`, in order of first use.
inline std::vector<std::string> parameter_names(std::string_view sql) {
  std::vector<std::string> names;
  for (const auto& p : named_parameters(sql)) {
    bool seen = false;
    for (const auto& n : names) seen = seen || n == p.name;
    if (!seen) names.emplace_back(p.name);
  }
  return names;
}

}  // namespace trellis::sql

#endif  // TRELLIS_SQL_HPP
