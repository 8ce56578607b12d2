// Reading a data set for a chart: columns by name with errors that list the
// columns there are, numbers, dates, and the values of each series.
#pragma once

#include <trellis/sdk.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace trellis::echarts {

/// Milliseconds since 1970-01-01T00:00:00Z of "YYYY-MM-DD" or
/// "YYYY-MM-DD[T ]HH:MM[:SS[.fff]]" with an optional "Z" or "+HH:MM" zone.
/// Times without a zone are UTC, as SQLite's datetime() writes them. nullopt
/// for anything else.
std::optional<std::int64_t> parse_time(std::string_view text);

/// "2024-01-05T10:00:00Z", with ".250" when the time has milliseconds.
std::string iso_time(std::int64_t ms);

/// What the values of a column are, which decides the kind of axis.
enum class axis_kind { category, value, time };

/// The columns of a data set and checked access to them.
class table {
 public:
  table(const dataset& data, std::string type) : data_(data), type_(std::move(type)) {}

  std::size_t rows() const { return data_.row_count(); }
  std::size_t columns() const { return data_.column_count(); }
  std::string_view name(std::size_t column) const { return data_.column_name(column); }
  const std::string& type() const { return type_; }

  /// The index of a column. Throws INVALID_ARGUMENT naming the column, the
  /// columns there are and the option that named it.
  std::size_t column(std::string_view name, std::string_view option) const;
  /// As column(), and every non-NULL value must be a number.
  std::size_t numeric_column(std::string_view name, std::string_view option) const;

  /// All numbers: value; all dates: time; anything else (or nothing): category.
  axis_kind kind_of(std::size_t column) const;
  /// A finite number; nullopt for NULL, text, blobs, NaN and infinities.
  std::optional<double> number(std::size_t row, std::size_t column) const;
  /// The time of a date text; nullopt otherwise.
  std::optional<std::int64_t> time(std::size_t row, std::size_t column) const;
  /// The value as text, for labels: NULL is "".
  std::string text(std::size_t row, std::size_t column) const;
  bool is_null(std::size_t row, std::size_t column) const { return at(row, column).type == TRELLIS_VALUE_NULL; }

 private:
  const trellis_value& at(std::size_t row, std::size_t column) const { return data_.at(row, column); }
  const dataset& data_;
  std::string type_;
};

/// The distinct values of a column as axis categories, and where each row goes.
struct category_axis {
  std::vector<std::string> labels;
  std::vector<std::optional<std::size_t>> slot;  ///< per row; nullopt for NULL
};

/// Categories in the order of first appearance, or sorted when the column
/// holds only numbers or only dates (`sorted`). Values listed in `first` come
/// first, in that order, even when the data lacks them.
category_axis categories(const table& t, std::size_t column, bool sorted, const std::vector<std::string>& first = {});

/// One named series: a value (or none) at each x of the chart.
struct series {
  std::string name;
  std::vector<std::optional<double>> values;
  std::vector<bool> present;  ///< a row gave this x a value, perhaps NULL (a gap)
};

/// Values gathered for x/y charts: the x positions and one series per y
/// column or per distinct value of the series column.
struct series_set {
  axis_kind kind = axis_kind::category;
  std::vector<std::string> labels;  ///< categories; for value and time axes, the data's text
  std::vector<double> numbers;      ///< value axis: the x numbers, ascending
  std::vector<std::int64_t> times;  ///< time axis: the x times (ms), ascending
  std::vector<series> items;
};

/// Reads x/y data. Categories keep the order of the data; numbers and times
/// are sorted. Values of repeated (x, series) pairs are added up. Rows with a
/// NULL x are skipped. `categorical` forces a category axis (bars).
series_set gather(const table& t, std::string_view x, const std::vector<std::string>& y, std::string_view series_column,
                  bool categorical);

}  // namespace trellis::echarts
