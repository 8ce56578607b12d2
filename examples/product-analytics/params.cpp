#include "params.hpp"

#include <charconv>
#include <cstdio>

namespace product_analytics {

std::optional<day> parse_day(std::string_view text) {
  if (text.size() != 10 || text[4] != '-' || text[7] != '-') return std::nullopt;
  auto number = [&](std::size_t at, std::size_t n) -> std::optional<unsigned> {
    unsigned v = 0;
    for (std::size_t i = at; i < at + n; ++i) {
      if (text[i] < '0' || text[i] > '9') return std::nullopt;
      v = v * 10 + static_cast<unsigned>(text[i] - '0');
    }
    return v;
  };
  auto y = number(0, 4);
  auto m = number(5, 2);
  auto d = number(8, 2);
  if (!y || !m || !d) return std::nullopt;
  day out{std::chrono::year{static_cast<int>(*y)}, std::chrono::month{*m}, std::chrono::day{*d}};
  if (!out.ok()) return std::nullopt;
  return out;
}

std::string format_day(const day& d) {
  char buffer[16];
  const int n = std::snprintf(buffer, sizeof buffer, "%04d-%02u-%02u", static_cast<int>(d.year()),
                              static_cast<unsigned>(d.month()), static_cast<unsigned>(d.day()));
  return std::string(buffer, n > 0 ? static_cast<std::size_t>(n) : 0);
}

day add_days(const day& d, long n) { return day{std::chrono::sys_days{d} + std::chrono::days{n}}; }

long days_between(const day& a, const day& b) {
  return static_cast<long>((std::chrono::sys_days{b} - std::chrono::sys_days{a}).count());
}

std::optional<std::int64_t> parse_positive(std::string_view text) {
  if (text.empty() || text.size() > 13) return std::nullopt;
  std::int64_t v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  // from_chars accepts a leading '-': refuse anything but digits.
  if (ec != std::errc{} || end != text.data() + text.size() || text.front() == '-') return std::nullopt;
  if (v < 1 || v > 1'000'000'000'000) return std::nullopt;
  return v;
}

std::string quoted(std::string_view value) {
  constexpr std::size_t longest = 40;
  std::string out = "'";
  for (std::size_t i = 0; i < value.size() && i < longest; ++i) {
    const auto c = static_cast<unsigned char>(value[i]);
    out += c < 0x20 || c == 0x7f ? '?' : value[i];
  }
  if (value.size() > longest) out += "...";
  return out + "'";
}

std::optional<std::string> range_choice::previous_day() const {
  const long length = days_between(chosen.from, chosen.to) + 1;
  const day start = add_days(chosen.from, -length);
  if (std::chrono::sys_days{start} < std::chrono::sys_days{data.from}) return std::nullopt;
  return format_day(start);
}

range_choice choose_range(std::optional<std::string_view> from, std::optional<std::string_view> to,
                          const day_range& data) {
  range_choice r{data, data, {}};
  std::optional<day> f;
  std::optional<day> t;
  if (from && !from->empty()) {
    f = parse_day(*from);
    if (!f) {
      r.problems.push_back("from: " + quoted(*from) + " is not a date written YYYY-MM-DD; showing from " +
                           format_day(data.from) + ", the first day of the data.");
    }
  }
  if (to && !to->empty()) {
    t = parse_day(*to);
    if (!t) {
      r.problems.push_back("to: " + quoted(*to) + " is not a date written YYYY-MM-DD; showing up to " +
                           format_day(data.to) + ", the last day of the data.");
    }
  }
  const day first = f.value_or(data.from);
  const day last = t.value_or(data.to);
  if (std::chrono::sys_days{first} > std::chrono::sys_days{last}) {
    r.problems.push_back("from (" + format_day(first) + ") is after to (" + format_day(last) +
                         "); showing the whole range of the data.");
    return r;
  }
  r.chosen = {first, last};
  return r;
}

std::string_view to_string(sort_column c) {
  switch (c) {
    case sort_column::price:
      return "price";
    case sort_column::units:
      return "units";
    case sort_column::revenue:
      return "revenue";
    default:
      return "name";
  }
}

std::optional<sort_column> parse_sort(std::string_view text) {
  for (sort_column c : {sort_column::name, sort_column::price, sort_column::units, sort_column::revenue}) {
    if (text == to_string(c)) return c;
  }
  return std::nullopt;
}

bool descending_by_default(sort_column c) { return c != sort_column::name; }

list_choice choose_list(std::optional<std::string_view> q, std::optional<std::string_view> category,
                        std::optional<std::string_view> sort, std::optional<std::string_view> dir,
                        std::optional<std::string_view> page) {
  list_choice l;
  if (q) {
    if (q->size() > max_search_length) {
      l.problems.push_back("q: the search is " + std::to_string(q->size()) + " characters long; at most " +
                           std::to_string(max_search_length) + " are allowed. Showing all products.");
    } else {
      l.q = std::string(*q);
    }
  }
  if (category && !category->empty()) {
    l.category = parse_positive(*category);
    if (!l.category) {
      l.problems.push_back("category: " + quoted(*category) + " is not a category number; showing all categories.");
    }
  }
  if (sort && !sort->empty()) {
    if (auto s = parse_sort(*sort)) {
      l.sort = *s;
    } else {
      l.problems.push_back("sort: " + quoted(*sort) +
                           " is not a column to sort by (name, price, units or revenue); sorting by name.");
    }
  }
  l.descending = descending_by_default(l.sort);
  if (dir && !dir->empty()) {
    if (*dir == "asc" || *dir == "desc") {
      l.descending = *dir == "desc";
    } else {
      l.problems.push_back("dir: " + quoted(*dir) + " is not asc or desc; sorting " +
                           (l.descending ? "largest first." : "A to Z."));
    }
  }
  if (page && !page->empty()) {
    if (auto n = parse_positive(*page)) {
      l.page = *n;
    } else {
      l.problems.push_back("page: " + quoted(*page) + " is not a page number (1, 2, 3, ...); showing page 1.");
    }
  }
  return l;
}

std::string contains_pattern(std::string_view text) {
  std::string out = "%";
  for (char c : text) {
    if (c == '%' || c == '_' || c == '\\') out += '\\';
    out += c;
  }
  return out + "%";
}

}  // namespace product_analytics
