#include "data.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <map>

#include "options.hpp"

namespace trellis::echarts {
namespace {

bool digits(std::string_view text, std::size_t pos, std::size_t count, int& out) {
  if (pos + count > text.size()) return false;
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

// At most `n` characters (UTF-8 aware), "…" when cut: for values in messages.
std::string shortened(std::string_view text, std::size_t n) {
  std::size_t chars = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if ((static_cast<unsigned char>(text[i]) & 0xC0) == 0x80) continue;
    if (chars++ == n) return std::string(text.substr(0, i)) + "…";
  }
  return std::string(text);
}

}  // namespace

std::optional<std::int64_t> parse_time(std::string_view text) {
  int y = 0;
  int m = 0;
  int d = 0;
  if (text.size() < 10 || !digits(text, 0, 4, y) || text[4] != '-' || !digits(text, 5, 2, m) || text[7] != '-' ||
      !digits(text, 8, 2, d)) {
    return std::nullopt;
  }
  int hh = 0;
  int mm = 0;
  int ss = 0;
  int ms = 0;
  int offset_minutes = 0;
  std::size_t pos = 10;
  if (pos < text.size()) {
    if ((text[pos] != 'T' && text[pos] != ' ') || !digits(text, pos + 1, 2, hh) || pos + 3 >= text.size() ||
        text[pos + 3] != ':' || !digits(text, pos + 4, 2, mm)) {
      return std::nullopt;
    }
    pos += 6;
    if (pos < text.size() && text[pos] == ':') {
      if (!digits(text, pos + 1, 2, ss)) return std::nullopt;
      pos += 3;
      if (pos < text.size() && text[pos] == '.') {
        std::size_t end = pos + 1;
        while (end < text.size() && text[end] >= '0' && text[end] <= '9') ++end;
        if (end == pos + 1 || end - pos - 1 > 9) return std::nullopt;
        int scale = 100;
        for (std::size_t i = pos + 1; i < end && scale > 0; ++i, scale /= 10) ms += (text[i] - '0') * scale;
        pos = end;
      }
    }
    if (pos < text.size() && text[pos] == 'Z') {
      ++pos;
    } else if (pos < text.size() && (text[pos] == '+' || text[pos] == '-')) {
      int oh = 0;
      int om = 0;
      const bool colon = pos + 3 < text.size() && text[pos + 3] == ':';
      if (!digits(text, pos + 1, 2, oh) || !digits(text, pos + (colon ? 4 : 3), 2, om) || oh > 23 || om > 59) {
        return std::nullopt;
      }
      offset_minutes = (text[pos] == '-' ? -1 : 1) * (oh * 60 + om);
      pos += colon ? 6 : 5;
    }
    if (pos != text.size() || hh > 23 || mm > 59 || ss > 59) return std::nullopt;
  }
  using namespace std::chrono;
  const year_month_day ymd{year{y}, month{static_cast<unsigned>(m)}, day{static_cast<unsigned>(d)}};
  if (!ymd.ok()) return std::nullopt;
  const std::int64_t days = sys_days{ymd}.time_since_epoch().count();
  const std::int64_t seconds = days * 86400 + hh * 3600 + (mm - offset_minutes) * 60 + ss;
  return seconds * 1000 + ms;
}

std::string iso_time(std::int64_t ms) {
  using namespace std::chrono;
  const std::int64_t day_ms = 86400000;
  std::int64_t days = ms / day_ms;
  std::int64_t rest = ms % day_ms;
  if (rest < 0) {
    rest += day_ms;
    --days;
  }
  const year_month_day ymd{sys_days{std::chrono::days{days}}};
  std::array<char, 48> out{};
  const auto s = rest / 1000;
  const auto frac = rest % 1000;
  int n = std::snprintf(out.data(), out.size(), "%04d-%02u-%02uT%02d:%02d:%02d", static_cast<int>(ymd.year()),
                        static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()),
                        static_cast<int>(s / 3600), static_cast<int>(s / 60 % 60), static_cast<int>(s % 60));
  std::string text(out.data(), static_cast<std::size_t>(n));
  if (frac != 0) {
    std::snprintf(out.data(), out.size(), ".%03d", static_cast<int>(frac));
    text += out.data();
  }
  return text + "Z";
}

std::size_t table::column(std::string_view name, std::string_view option) const {
  std::string names;
  for (std::size_t c = 0; c < columns(); ++c) {
    if (this->name(c) == name) return c;
    names += (c == 0 ? "" : ", ") + std::string(this->name(c));
  }
  invalid("column '" + std::string(name) + "' is not in the data (columns: " + names + "), named by option '" +
          std::string(option) + "' of " + type_);
}

std::size_t table::numeric_column(std::string_view name, std::string_view option) const {
  const std::size_t c = column(name, option);
  for (std::size_t r = 0; r < rows(); ++r) {
    const trellis_value& v = at(r, c);
    if (v.type == TRELLIS_VALUE_NULL || v.type == TRELLIS_VALUE_INT64 || v.type == TRELLIS_VALUE_DOUBLE) continue;
    const std::string shown = v.type == TRELLIS_VALUE_TEXT ? " '" + shortened(text(r, c), 40) + "'" : "";
    invalid("column '" + std::string(name) + "' (option '" + std::string(option) + "' of " + type_ +
            ") must hold numbers, but row " + std::to_string(r + 1) + " holds " + std::string(type_word(v.type)) +
            shown);
  }
  return c;
}

axis_kind table::kind_of(std::size_t column) const {
  bool numbers = true;
  bool times = true;
  bool any = false;
  for (std::size_t r = 0; r < rows(); ++r) {
    const trellis_value& v = at(r, column);
    if (v.type == TRELLIS_VALUE_NULL) continue;
    any = true;
    numbers = numbers && (v.type == TRELLIS_VALUE_INT64 || v.type == TRELLIS_VALUE_DOUBLE);
    times = times && v.type == TRELLIS_VALUE_TEXT && parse_time(to_view(v.as.bytes)).has_value();
    if (!numbers && !times) return axis_kind::category;
  }
  if (!any) return axis_kind::category;
  return numbers ? axis_kind::value : axis_kind::time;
}

std::optional<double> table::number(std::size_t row, std::size_t column) const {
  const trellis_value& v = at(row, column);
  if (v.type == TRELLIS_VALUE_INT64) return static_cast<double>(v.as.i64);
  if (v.type == TRELLIS_VALUE_DOUBLE && std::isfinite(v.as.f64)) return v.as.f64;
  return std::nullopt;
}

std::optional<std::int64_t> table::time(std::size_t row, std::size_t column) const {
  const trellis_value& v = at(row, column);
  if (v.type != TRELLIS_VALUE_TEXT) return std::nullopt;
  return parse_time(to_view(v.as.bytes));
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

category_axis categories(const table& t, std::size_t column, bool sorted, const std::vector<std::string>& first) {
  category_axis out;
  out.slot.resize(t.rows());
  std::map<std::string, std::size_t, std::less<>> index;
  auto add = [&](const std::string& label) {
    auto [it, added] = index.emplace(label, out.labels.size());
    if (added) out.labels.push_back(label);
    return it->second;
  };
  for (const auto& label : first) add(label);

  std::vector<std::size_t> rows;
  for (std::size_t r = 0; r < t.rows(); ++r) {
    if (!t.is_null(r, column)) rows.push_back(r);
  }
  const axis_kind kind = sorted ? t.kind_of(column) : axis_kind::category;
  if (kind == axis_kind::value) {
    std::stable_sort(rows.begin(), rows.end(), [&](std::size_t a, std::size_t b) {
      return t.number(a, column).value_or(0) < t.number(b, column).value_or(0);
    });
  } else if (kind == axis_kind::time) {
    std::stable_sort(rows.begin(), rows.end(),
                     [&](std::size_t a, std::size_t b) { return t.time(a, column) < t.time(b, column); });
  }
  for (std::size_t r : rows) out.slot[r] = add(t.text(r, column));
  return out;
}

series_set gather(const table& t, std::string_view x, const std::vector<std::string>& y, std::string_view series_column,
                  bool categorical) {
  series_set out;
  const std::size_t xc = t.column(x, "x");
  out.kind = categorical ? axis_kind::category : t.kind_of(xc);
  std::vector<std::size_t> yc;
  for (const auto& name : y) yc.push_back(t.numeric_column(name, "y"));
  std::optional<std::size_t> sc;
  if (!series_column.empty()) {
    sc = t.column(series_column, "series");
    if (yc.size() != 1) {
      invalid("option 'series' of " + std::string(t.type()) + " needs exactly one 'y' column, not " +
              std::to_string(yc.size()));
    }
  }

  // Where each row goes on the x axis.
  std::vector<std::optional<std::size_t>> slot(t.rows());
  if (out.kind == axis_kind::category) {
    category_axis axis = categories(t, xc, false);
    out.labels = std::move(axis.labels);
    slot = std::move(axis.slot);
  } else {
    std::map<double, std::size_t> index;
    for (std::size_t r = 0; r < t.rows(); ++r) {
      std::optional<double> p;
      if (out.kind == axis_kind::time) {
        if (auto ms = t.time(r, xc)) p = static_cast<double>(*ms);
      } else {
        p = t.number(r, xc);
      }
      if (p) index.emplace(*p, 0);
    }
    std::size_t i = 0;
    for (auto& [p, n] : index) {
      n = i++;
      if (out.kind == axis_kind::time) {
        out.times.push_back(static_cast<std::int64_t>(p));
      } else {
        out.numbers.push_back(p);
      }
    }
    out.labels.resize(index.size());
    for (std::size_t r = 0; r < t.rows(); ++r) {
      std::optional<double> p;
      if (out.kind == axis_kind::time) {
        if (auto ms = t.time(r, xc)) p = static_cast<double>(*ms);
      } else {
        p = t.number(r, xc);
      }
      if (!p) continue;
      slot[r] = index.at(*p);
      if (out.labels[*slot[r]].empty()) out.labels[*slot[r]] = t.text(r, xc);
    }
  }

  auto add = [&](std::size_t s, std::size_t i, std::optional<double> v) {
    out.items[s].present[i] = true;
    if (!v) return;
    auto& cell = out.items[s].values[i];
    cell = cell.value_or(0) + *v;
  };
  const std::size_t n = out.labels.size();
  if (sc) {
    std::map<std::string, std::size_t, std::less<>> names;
    for (std::size_t r = 0; r < t.rows(); ++r) {
      if (!slot[r]) continue;
      std::string name = t.is_null(r, *sc) ? std::string("(none)") : t.text(r, *sc);
      auto [it, added] = names.emplace(name, out.items.size());
      if (added) out.items.push_back({name, std::vector<std::optional<double>>(n), std::vector<bool>(n)});
      add(it->second, *slot[r], t.number(r, yc[0]));
    }
  } else {
    for (const auto& name : y) out.items.push_back({name, std::vector<std::optional<double>>(n), std::vector<bool>(n)});
    for (std::size_t r = 0; r < t.rows(); ++r) {
      if (!slot[r]) continue;
      for (std::size_t s = 0; s < yc.size(); ++s) add(s, *slot[r], t.number(r, yc[s]));
    }
  }
  return out;
}

}  // namespace trellis::echarts
