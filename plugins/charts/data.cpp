#include "data.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <chrono>
#include <cmath>
#include <map>

#include "format.hpp"

namespace trellis::charts {
namespace {

[[noreturn]] void invalid(const std::string& message) { throw error(message, TRELLIS_INVALID_ARGUMENT); }

bool read_digits(std::string_view text, std::size_t pos, std::size_t count, int& out) {
  out = 0;
  for (std::size_t i = pos; i < pos + count; ++i) {
    if (text[i] < '0' || text[i] > '9') return false;
    out = out * 10 + (text[i] - '0');
  }
  return true;
}

std::string_view type_word(trellis_value_type t) {
  switch (t) {
    case TRELLIS_VALUE_INT64: return "INT64";
    case TRELLIS_VALUE_DOUBLE: return "DOUBLE";
    case TRELLIS_VALUE_TEXT: return "TEXT";
    case TRELLIS_VALUE_BLOB: return "BLOB";
    default: return "NULL";
  }
}

}  // namespace

std::optional<std::int64_t> parse_time(std::string_view text) {
  if (text.size() != 10 && text.size() != 19 && text.size() != 20) return std::nullopt;
  int y = 0;
  int m = 0;
  int d = 0;
  if (!read_digits(text, 0, 4, y) || text[4] != '-' || !read_digits(text, 5, 2, m) || text[7] != '-' ||
      !read_digits(text, 8, 2, d)) {
    return std::nullopt;
  }
  int hh = 0;
  int mm = 0;
  int ss = 0;
  if (text.size() > 10) {
    if ((text[10] != 'T' && text[10] != ' ') || !read_digits(text, 11, 2, hh) || text[13] != ':' ||
        !read_digits(text, 14, 2, mm) || text[16] != ':' || !read_digits(text, 17, 2, ss)) {
      return std::nullopt;
    }
    if (text.size() == 20 && text[19] != 'Z') return std::nullopt;
    if (hh > 23 || mm > 59 || ss > 59) return std::nullopt;
  }
  using namespace std::chrono;
  year_month_day ymd{year{y}, month{static_cast<unsigned>(m)}, day{static_cast<unsigned>(d)}};
  if (!ymd.ok()) return std::nullopt;
  std::int64_t days = sys_days{ymd}.time_since_epoch().count();
  return days * 86400 + hh * 3600 + mm * 60 + ss;
}

std::size_t table::column(std::string_view name, std::string_view option) const {
  std::string names;
  for (std::size_t c = 0; c < columns(); ++c) {
    if (this->name(c) == name) return c;
    names += (c == 0 ? "" : ", ") + std::string(this->name(c));
  }
  invalid("column '" + std::string(name) + "' is not in the data (columns: " + names + "), named by option '" +
          std::string(option) + "' of " + noun_);
}

std::size_t table::numeric_column(std::string_view name, std::string_view option) const {
  std::size_t c = column(name, option);
  for (std::size_t r = 0; r < rows(); ++r) {
    const trellis_value& v = at(r, c);
    if (v.type == TRELLIS_VALUE_NULL || v.type == TRELLIS_VALUE_INT64 || v.type == TRELLIS_VALUE_DOUBLE) continue;
    std::string shown = v.type == TRELLIS_VALUE_TEXT ? " '" + ellipsize(text(r, c), 40) + "'" : "";
    invalid("column '" + std::string(name) + "' (option '" + std::string(option) + "' of " + noun_ +
            ") must hold numbers, but row " + std::to_string(r + 1) + " holds " + std::string(type_word(v.type)) +
            shown);
  }
  return c;
}

std::size_t table::ordered_column(std::string_view name, std::string_view option, x_kind& kind) const {
  std::size_t c = column(name, option);
  kind = kind_of(c);
  bool any = false;
  for (std::size_t r = 0; r < rows() && !any; ++r) any = !is_null(r, c);
  if (!any) kind = x_kind::number;  // nothing to place: any axis will do
  if (kind == x_kind::category) {
    for (std::size_t r = 0; r < rows(); ++r) {
      if (is_null(r, c) || number(r, c) || parse_time(text(r, c))) continue;
      invalid("column '" + std::string(name) + "' (option '" + std::string(option) + "' of " + noun_ +
              ") must hold numbers or dates (YYYY-MM-DD, YYYY-MM-DDTHH:MM:SSZ), but row " + std::to_string(r + 1) +
              " holds " + std::string(type_word(at(r, c).type)) + " '" + ellipsize(text(r, c), 40) + "'");
    }
    invalid("column '" + std::string(name) + "' (option '" + std::string(option) + "' of " + noun_ +
            ") mixes numbers and dates");
  }
  return c;
}

x_kind table::kind_of(std::size_t column) const {
  bool numbers = true;
  bool times = true;
  bool any = false;
  for (std::size_t r = 0; r < rows(); ++r) {
    const trellis_value& v = at(r, column);
    if (v.type == TRELLIS_VALUE_NULL) continue;
    any = true;
    numbers = numbers && (v.type == TRELLIS_VALUE_INT64 || v.type == TRELLIS_VALUE_DOUBLE);
    times = times && v.type == TRELLIS_VALUE_TEXT && parse_time(to_view(v.as.bytes)).has_value();
    if (!numbers && !times) return x_kind::category;
  }
  if (!any) return x_kind::category;
  return numbers ? x_kind::number : x_kind::time;
}

std::optional<double> table::number(std::size_t row, std::size_t column) const {
  const trellis_value& v = at(row, column);
  if (v.type == TRELLIS_VALUE_INT64) return static_cast<double>(v.as.i64);
  if (v.type == TRELLIS_VALUE_DOUBLE && std::isfinite(v.as.f64)) return v.as.f64;
  return std::nullopt;
}

std::optional<double> table::position(std::size_t row, std::size_t column, x_kind kind) const {
  if (kind == x_kind::time) {
    const trellis_value& v = at(row, column);
    if (v.type != TRELLIS_VALUE_TEXT) return std::nullopt;
    auto t = parse_time(to_view(v.as.bytes));
    if (!t) return std::nullopt;
    return static_cast<double>(*t);
  }
  return number(row, column);
}

std::string table::text(std::size_t row, std::size_t column) const {
  const trellis_value& v = at(row, column);
  switch (v.type) {
    case TRELLIS_VALUE_INT64: return std::to_string(v.as.i64);
    case TRELLIS_VALUE_DOUBLE: {
      std::array<char, 64> buffer{};
      auto [end, ec] = std::to_chars(buffer.data(), buffer.data() + buffer.size(), v.as.f64);
      return ec == std::errc{} ? std::string(buffer.data(), end) : std::string("?");
    }
    case TRELLIS_VALUE_TEXT: return std::string(to_view(v.as.bytes));
    case TRELLIS_VALUE_BLOB: return "(" + std::to_string(v.as.bytes.size) + " bytes)";
    default: return {};
  }
}

series_set gather(const table& t, std::string_view x, const std::vector<std::string>& y, std::string_view series_column,
                  bool categorical) {
  series_set out;
  std::size_t xc = t.column(x, "x");
  out.kind = categorical ? x_kind::category : t.kind_of(xc);
  std::vector<std::size_t> yc;
  for (const auto& name : y) yc.push_back(t.numeric_column(name, "y"));
  std::optional<std::size_t> sc;
  if (!series_column.empty()) {
    sc = t.column(series_column, "series");
    if (yc.size() != 1) {
      throw error("option 'series' needs exactly one 'y' column, not " + std::to_string(yc.size()),
                  TRELLIS_INVALID_ARGUMENT);
    }
  }

  // Where each row goes on the x axis.
  std::vector<std::optional<std::size_t>> slot(t.rows());
  if (out.kind == x_kind::category) {
    std::map<std::string, std::size_t, std::less<>> seen;
    for (std::size_t r = 0; r < t.rows(); ++r) {
      if (t.is_null(r, xc)) continue;
      std::string label = t.text(r, xc);
      auto [it, added] = seen.emplace(label, out.x_labels.size());
      if (added) out.x_labels.push_back(label);
      slot[r] = it->second;
    }
  } else {
    std::map<double, std::string> positions;
    for (std::size_t r = 0; r < t.rows(); ++r) {
      if (auto p = t.position(r, xc, out.kind)) positions.emplace(*p, t.text(r, xc));
    }
    std::map<double, std::size_t> index;
    for (const auto& [p, label] : positions) {
      index.emplace(p, out.x_values.size());
      out.x_values.push_back(p);
      out.x_labels.push_back(label);
    }
    for (std::size_t r = 0; r < t.rows(); ++r) {
      if (auto p = t.position(r, xc, out.kind)) slot[r] = index.at(*p);
    }
  }

  auto add = [&](std::size_t s, std::size_t i, std::optional<double> v) {
    if (!v) return;
    auto& cell = out.items[s].values[i];
    cell = cell.value_or(0) + *v;
  };
  if (sc) {
    std::map<std::string, std::size_t, std::less<>> names;
    for (std::size_t r = 0; r < t.rows(); ++r) {
      if (!slot[r]) continue;
      std::string name = t.is_null(r, *sc) ? std::string("(none)") : t.text(r, *sc);
      auto [it, added] = names.emplace(name, out.items.size());
      if (added) out.items.push_back({name, std::vector<std::optional<double>>(out.x_labels.size())});
      add(it->second, *slot[r], t.number(r, yc[0]));
    }
  } else {
    for (const auto& name : y) out.items.push_back({name, std::vector<std::optional<double>>(out.x_labels.size())});
    for (std::size_t r = 0; r < t.rows(); ++r) {
      if (!slot[r]) continue;
      for (std::size_t s = 0; s < yc.size(); ++s) add(s, *slot[r], t.number(r, yc[s]));
    }
  }
  return out;
}

}  // namespace trellis::charts
