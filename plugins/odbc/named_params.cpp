#include "named_params.hpp"

#include <stdexcept>

#include <trellis/sql.hpp>

namespace trellis::odbc {
rewritten_sql rewrite_named_parameters(std::string_view sql) {
  const sql::scan_result found = sql::scan(sql);
  if (!found.positional.empty()) {
    throw std::invalid_argument("the SQL contains a '?' at offset " + std::to_string(found.positional.front()) +
                                "; write parameters as :name (a '?' operator must be spelled as a function, "
                                "e.g. jsonb_exists)");
  }
  rewritten_sql out;
  out.sql.reserve(sql.size());
  std::size_t copied = 0;
  for (const auto& p : found.named) {
    out.sql.append(sql.substr(copied, p.offset - copied));
    out.sql += '?';
    out.markers.emplace_back(p.name);
    copied = p.offset + p.length;
  }
  out.sql.append(sql.substr(copied));
  return out;
}

std::string redact_secrets(std::string text, const std::vector<std::string>& secrets) {
  for (const std::string& secret : secrets) {
    if (secret.size() < 4) continue;
    for (std::size_t at = text.find(secret); at != std::string::npos; at = text.find(secret, at + 3)) {
      text.replace(at, secret.size(), "***");
    }
  }
  auto lower = [](std::string s) {
    for (char& ch : s) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    return s;
  };
  for (std::string_view key : {"pwd=", "password="}) {
    std::string folded = lower(text);
    std::size_t at = folded.find(key);
    while (at != std::string::npos) {
      bool starts_key = at == 0 || !sql::detail::ident_char(folded[at - 1]);
      std::size_t value = at + key.size();
      if (!starts_key) {
        at = folded.find(key, value);
        continue;
      }
      std::size_t end = value;
      if (end < text.size() && text[end] == '{') {
        // A braced value ends at the first '}' that is not doubled.
        for (++end; end < text.size(); ++end) {
          if (text[end] == '}') {
            if (end + 1 < text.size() && text[end + 1] == '}') {
              ++end;
            } else {
              ++end;
              break;
            }
          }
        }
      } else {
        while (end < text.size() && text[end] != ';' && text[end] != '\'' && text[end] != '"' &&
               std::isspace(static_cast<unsigned char>(text[end])) == 0) {
          ++end;
        }
      }
      text.replace(value, end - value, "***");
      folded = lower(text);
      at = folded.find(key, value + 3);
    }
  }
  return text;
}

}  // namespace trellis::odbc
