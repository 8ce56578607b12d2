// Named parameters (`:name`) rewritten into ODBC `?` markers, and the
// redaction of secrets from driver messages. Plain functions without ODBC, so
// tests can check them directly.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace trellis::odbc {

/// SQL with `?` markers and the parameter name of each marker, in order.
/// A name used several times appears at each of its positions.
struct rewritten_sql {
  std::string sql;
  std::vector<std::string> markers;
};

/// Replaces every `:name` outside string literals ('...', E'...'), quoted
/// identifiers ("...", `...`), comments (-- and nested /* */), dollar-quoted strings
/// ($$...$$, $tag$...$tag$) and `::` casts with `?`. A name is a letter or
/// '_' followed by letters, digits and '_'. Throws std::invalid_argument for a
/// bare `?` (the driver would count it as a marker of its own).
rewritten_sql rewrite_named_parameters(std::string_view sql);

/// Replaces the values of password keys (PWD=, Password=, any case; plain or
/// {braced}) with "***", and every occurrence of the given secrets that are at
/// least 4 characters long (shorter ones would mask ordinary words).
std::string redact_secrets(std::string text, const std::vector<std::string>& secrets);

}  // namespace trellis::odbc
