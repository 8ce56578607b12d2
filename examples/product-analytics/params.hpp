// params.hpp -- the GET parameters of the app's pages, read and checked.
//
// Every parameter is optional and every bad value has a fallback: the page
// shows what the fallback gives, with a message that names the parameter
// and the value (and answers 400, so a script notices). Nothing a visitor
// types reaches the SQL except as a bound parameter.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace product_analytics {

using day = std::chrono::year_month_day;

/// A date written YYYY-MM-DD that exists in the calendar; nullopt otherwise.
std::optional<day> parse_day(std::string_view text);
/// YYYY-MM-DD.
std::string format_day(const day& d);
/// `d` plus `n` days (n may be negative).
day add_days(const day& d, long n);
/// Days from `a` to `b`: 0 when equal.
long days_between(const day& a, const day& b);

/// A whole number from 1 to 10^12 written in decimal digits only.
std::optional<std::int64_t> parse_positive(std::string_view text);

/// A closed range of days.
struct day_range {
  day from;
  day to;
};

/// The range a page shows: `from` and `to` as the visitor gave them, checked
/// against the data's range; `problems` says what was wrong with them.
struct range_choice {
  day_range data;    ///< what the database covers (demo_info)
  day_range chosen;  ///< what the page shows
  std::vector<std::string> problems;

  bool whole() const { return chosen.from == data.from && chosen.to == data.to; }
  std::string from_day() const { return format_day(chosen.from); }
  std::string to_day() const { return format_day(chosen.to); }
  /// The day after the last one shown, for SQL's `ordered_at < :before_day`.
  std::string before_day() const { return format_day(add_days(chosen.to, 1)); }
  /// The first day of the period of the same length just before the chosen
  /// one; nullopt when that period would start before the data.
  std::optional<std::string> previous_day() const;
};

/// Reads ?from= and ?to=. Absent or empty: the data's first or last day. A
/// value that is not a date, or a from after to, is a problem; the page then
/// falls back to the data's range for that parameter (for both, when they
/// are in the wrong order).
range_choice choose_range(std::optional<std::string_view> from, std::optional<std::string_view> to,
                          const day_range& data);

/// The columns the product list sorts by.
enum class sort_column { name, price, units, revenue };
std::string_view to_string(sort_column c);
std::optional<sort_column> parse_sort(std::string_view text);
/// Name sorts A to Z by default; the figures largest first.
bool descending_by_default(sort_column c);

inline constexpr std::int64_t page_size = 25;
inline constexpr std::size_t max_search_length = 100;

/// The product list's parameters: ?q= ?category= ?sort= ?dir= ?page=.
struct list_choice {
  std::string q;
  std::optional<std::int64_t> category;
  sort_column sort = sort_column::name;
  bool descending = false;
  std::int64_t page = 1;
  std::vector<std::string> problems;
};

/// Reads the list's parameters; whether `category` names a category is for
/// the page to check (it knows the categories).
list_choice choose_list(std::optional<std::string_view> q, std::optional<std::string_view> category,
                        std::optional<std::string_view> sort, std::optional<std::string_view> dir,
                        std::optional<std::string_view> page);

/// `text` as a LIKE pattern that finds it anywhere in a name, with '\' escaping
/// the pattern characters % and _ (and '\' itself).
std::string contains_pattern(std::string_view text);

/// Quotes a value for a message: 'abc', shortened when long, control
/// characters shown as '?'.
std::string quoted(std::string_view value);

}  // namespace product_analytics
