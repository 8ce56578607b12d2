#include "trellis/host/result_format.hpp"

#include <charconv>
#include <cmath>
#include <vector>

#include <sodium.h>

namespace trellis::host {
namespace {

std::string_view view(trellis_str s) { return s.size == 0 ? std::string_view{} : std::string_view{s.data, s.size}; }

std::string_view type_label(trellis_value_type t) {
  switch (t) {
    case TRELLIS_VALUE_INT64: return "integer";
    case TRELLIS_VALUE_DOUBLE: return "real";
    case TRELLIS_VALUE_TEXT: return "text";
    case TRELLIS_VALUE_BLOB: return "blob";
    default: return "unknown";
  }
}

// Length of the valid UTF-8 sequence at s[i], or 0 when it is not one.
std::size_t utf8_sequence(std::string_view s, std::size_t i) {
  const auto b = [&](std::size_t k) { return static_cast<unsigned char>(s[i + k]); };
  const unsigned char c = b(0);
  const auto cont = [&](std::size_t k) { return i + k < s.size() && (b(k) & 0xC0U) == 0x80U; };
  if (c >= 0xC2 && c <= 0xDF) return cont(1) ? 2 : 0;
  if (c >= 0xE0 && c <= 0xEF) {
    if (!cont(1) || !cont(2)) return 0;
    if (c == 0xE0 && b(1) < 0xA0) return 0;  // overlong
    if (c == 0xED && b(1) > 0x9F) return 0;  // surrogates
    return 3;
  }
  if (c >= 0xF0 && c <= 0xF4) {
    if (!cont(1) || !cont(2) || !cont(3)) return 0;
    if (c == 0xF0 && b(1) < 0x90) return 0;
    if (c == 0xF4 && b(1) > 0x8F) return 0;
    return 4;
  }
  return 0;
}

void append_number(std::string& out, std::int64_t v) {
  char buf[24];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, end);
}

// Shortest text that reads back as the same double, and reads as a real:
// 663.0, not 663, so typed readers do not take it for an integer.
void append_number(std::string& out, double v) {
  char buf[32];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, end);
  if (std::isfinite(v) && std::string_view(buf, static_cast<std::size_t>(end - buf)).find_first_of(".e") == std::string_view::npos) {
    out += ".0";
  }
}

void append_base64(std::string& out, std::string_view bytes) {
  const std::size_t size = sodium_base64_ENCODED_LEN(bytes.size(), sodium_base64_VARIANT_ORIGINAL);
  const std::size_t at = out.size();
  out.resize(at + size);
  sodium_bin2base64(out.data() + at, size, reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size(),
                    sodium_base64_VARIANT_ORIGINAL);
  out.resize(at + size - 1);  // the encoder writes a NUL
}

void append_json_value(std::string& out, const trellis_value& v) {
  switch (v.type) {
    case TRELLIS_VALUE_INT64: append_number(out, v.as.i64); break;
    case TRELLIS_VALUE_DOUBLE:
      if (std::isfinite(v.as.f64)) {
        append_number(out, v.as.f64);
      } else {
        out += "null";
      }
      break;
    case TRELLIS_VALUE_TEXT: append_json_string(out, view(v.as.bytes)); break;
    case TRELLIS_VALUE_BLOB:
      out += '"';
      append_base64(out, view(v.as.bytes));
      out += '"';
      break;
    default: out += "null";
  }
}

class json_encoder final : public result_encoder {
 public:
  void columns(const trellis_column* cols, std::size_t n, std::string& out) override {
    columns_ = n;
    out += "{\"columns\":[";
    for (std::size_t i = 0; i < n; ++i) {
      if (i > 0) out += ',';
      out += "{\"name\":";
      append_json_string(out, view(cols[i].name));
      out += ",\"type\":\"";
      out += type_label(cols[i].type);
      out += "\"}";
    }
    out += "],\"rows\":[";
    started_ = true;
  }
  void rows(const trellis_value* values, std::size_t row_count, std::string& out) override {
    for (std::size_t r = 0; r < row_count; ++r) {
      out += rows_ == 0 ? "\n[" : ",\n[";
      for (std::size_t c = 0; c < columns_; ++c) {
        if (c > 0) out += ',';
        append_json_value(out, values[r * columns_ + c]);
      }
      out += ']';
      ++rows_;
    }
  }
  void finish(const call_status& status, std::string& out) override {
    if (!started_) columns(nullptr, 0, out);
    out += "],\"row_count\":";
    append_number(out, static_cast<std::int64_t>(rows_));
    if (!status.ok()) {
      out += ",\"error\":{\"message\":";
      append_json_string(out, status.message);
      if (!status.sqlstate.empty()) {
        out += ",\"sqlstate\":";
        append_json_string(out, status.sqlstate);
      }
      out += '}';
    }
    out += "}\n";
  }

 private:
  std::size_t columns_ = 0;
  std::size_t rows_ = 0;
  bool started_ = false;
};

// RFC 4180: fields with a comma, quote or line break are quoted; NULL is empty.
void append_csv_field(std::string& out, std::string_view text) {
  if (text.find_first_of(",\"\r\n") == std::string_view::npos && (text.empty() || (text.front() != ' ' && text.back() != ' '))) {
    out += text;
    return;
  }
  out += '"';
  for (char c : text) {
    if (c == '"') out += '"';
    out += c;
  }
  out += '"';
}

class csv_encoder final : public result_encoder {
 public:
  void columns(const trellis_column* cols, std::size_t n, std::string& out) override {
    columns_ = n;
    for (std::size_t i = 0; i < n; ++i) {
      if (i > 0) out += ',';
      append_csv_field(out, view(cols[i].name));
    }
    out += "\r\n";
  }
  void rows(const trellis_value* values, std::size_t row_count, std::string& out) override {
    for (std::size_t r = 0; r < row_count; ++r) {
      for (std::size_t c = 0; c < columns_; ++c) {
        if (c > 0) out += ',';
        const trellis_value& v = values[r * columns_ + c];
        switch (v.type) {
          case TRELLIS_VALUE_INT64: append_number(out, v.as.i64); break;
          case TRELLIS_VALUE_DOUBLE: append_number(out, v.as.f64); break;
          case TRELLIS_VALUE_TEXT: append_csv_field(out, view(v.as.bytes)); break;
          case TRELLIS_VALUE_BLOB: append_base64(out, view(v.as.bytes)); break;
          default: break;
        }
      }
      out += "\r\n";
    }
  }
  void finish(const call_status&, std::string&) override {}

 private:
  std::size_t columns_ = 0;
};

// Code points, for column widths.
std::size_t display_width(std::string_view s) {
  std::size_t n = 0;
  for (char c : s) n += (static_cast<unsigned char>(c) & 0xC0U) != 0x80U ? 1 : 0;
  return n;
}

// A cell as a person should see it: one line, no control characters (a
// value must not be able to move the cursor or recolour the terminal),
// at most max_cell code points.
constexpr std::size_t max_cell = 60;

std::string printable(std::string_view s) {
  std::string out;
  std::size_t width = 0;
  for (std::size_t i = 0; i < s.size() && width < max_cell;) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      if (c == '\n') {
        out += "\\n";
      } else if (c == '\t') {
        out += "\\t";
      } else if (c < 0x20 || c == 0x7F) {
        out += '?';
      } else {
        out += static_cast<char>(c);
      }
      ++i;
    } else if (std::size_t len = utf8_sequence(s, i); len != 0) {
      // U+0080-U+009F are the C1 controls (U+009B is a one-character CSI).
      if (c == 0xC2 && static_cast<unsigned char>(s[i + 1]) < 0xA0) {
        out += '?';
      } else {
        out.append(s.substr(i, len));
      }
      i += len;
    } else {
      out += "\xEF\xBF\xBD";
      ++i;
    }
    ++width;
    if (width == max_cell && i < s.size()) {
      out += "\xE2\x80\xA6";  // …
    }
  }
  return out;
}

class table_encoder final : public result_encoder {
 public:
  void columns(const trellis_column* cols, std::size_t n, std::string&) override {
    for (std::size_t i = 0; i < n; ++i) {
      names_.push_back(printable(view(cols[i].name)));
      numeric_.push_back(cols[i].type == TRELLIS_VALUE_INT64 || cols[i].type == TRELLIS_VALUE_DOUBLE);
    }
  }
  void rows(const trellis_value* values, std::size_t row_count, std::string&) override {
    const std::size_t n = names_.size();
    for (std::size_t r = 0; r < row_count; ++r) {
      for (std::size_t c = 0; c < n; ++c) {
        const trellis_value& v = values[r * n + c];
        std::string cell;
        switch (v.type) {
          case TRELLIS_VALUE_INT64: append_number(cell, v.as.i64); break;
          case TRELLIS_VALUE_DOUBLE: append_number(cell, v.as.f64); break;
          case TRELLIS_VALUE_TEXT: cell = printable(view(v.as.bytes)); break;
          case TRELLIS_VALUE_BLOB: cell = "(" + std::to_string(v.as.bytes.size) + " bytes)"; break;
          default: cell = "NULL";
        }
        cells_.push_back(std::move(cell));
      }
    }
  }
  void finish(const call_status&, std::string& out) override {
    const std::size_t n = names_.size();
    if (n == 0) {
      out += "(no result set)\n";
      return;
    }
    const std::size_t row_count = cells_.size() / n;
    std::vector<std::size_t> width(n);
    for (std::size_t c = 0; c < n; ++c) width[c] = display_width(names_[c]);
    for (std::size_t i = 0; i < cells_.size(); ++i) width[i % n] = std::max(width[i % n], display_width(cells_[i]));
    auto line = [&](auto cell_at, bool header) {
      for (std::size_t c = 0; c < n; ++c) {
        const std::string& cell = cell_at(c);
        const std::string pad(width[c] - display_width(cell), ' ');
        if (c > 0) out += " | ";
        if (numeric_[c] && !header) {
          out += pad + cell;
        } else {
          out += cell;
          if (c + 1 < n) out += pad;
        }
      }
      out += '\n';
    };
    line([&](std::size_t c) -> const std::string& { return names_[c]; }, true);
    for (std::size_t c = 0; c < n; ++c) out += (c > 0 ? "-+-" : "") + std::string(width[c], '-');
    out += '\n';
    for (std::size_t r = 0; r < row_count; ++r) {
      line([&](std::size_t c) -> const std::string& { return cells_[r * n + c]; }, false);
    }
    out += "(" + std::to_string(row_count) + (row_count == 1 ? " row)\n" : " rows)\n");
  }

 private:
  std::vector<std::string> names_;
  std::vector<bool> numeric_;
  std::vector<std::string> cells_;
};

}  // namespace

std::optional<result_format> parse_result_format(std::string_view name) {
  if (name == "table") return result_format::table;
  if (name == "json") return result_format::json;
  if (name == "csv") return result_format::csv;
  return std::nullopt;
}

std::unique_ptr<result_encoder> make_result_encoder(result_format format) {
  switch (format) {
    case result_format::json: return std::make_unique<json_encoder>();
    case result_format::csv: return std::make_unique<csv_encoder>();
    default: return std::make_unique<table_encoder>();
  }
}

void append_json_string(std::string& out, std::string_view s) {
  static constexpr char hex[] = "0123456789abcdef";
  out += '"';
  std::size_t run = 0;  // start of the bytes that need no escaping
  for (std::size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c != '"' && c != '\\' && c < 0x80) {
      ++i;
      continue;
    }
    if (c >= 0x80) {
      if (std::size_t len = utf8_sequence(s, i); len != 0) {
        i += len;
        continue;
      }
    }
    out.append(s.substr(run, i - run));
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c >= 0x80) {
          out += "\xEF\xBF\xBD";
        } else {
          out += "\\u00";
          out += hex[c >> 4U];
          out += hex[c & 0xFU];
        }
    }
    ++i;
    run = i;
  }
  out.append(s.substr(run));
  out += '"';
}

}  // namespace trellis::host
